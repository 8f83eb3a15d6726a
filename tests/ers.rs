//! RFC 4998 evidence records end to end (docs/long-term.md): export over
//! HTTP, timestamp renewal, hash-tree renewals to SHA-512, SHA3-512 and SM3,
//! verification by our verifier (library and CLI), decoding and hash-tree
//! recomputation by an independent implementation (pyasn1-alt-modules'
//! RFC 4998 module, tests/ers/decode.py), every token checked with
//! `openssl ts -verify`; tampering refused; the service's scheduled renewal
//! before a short-lived TSA certificate expires.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "ers/tsa.rs"]
mod tsa;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use der::{Decode, Encode};
use evidence_ledger::flows::signed_event;
use tsa::{make_tsa, past_tsa, run, serve_tsa, token_at};
use verifier::ers::{bundle_data_objects, verify_evidence_record, ErsHash, EvidenceRecord};
use verifier::tsa::TrustedTsa;
use verifier::Hash;

const VENV: &str = "/var/cache/evidence-ledger/ers-venv";
const PYASN1_ALT: &str = "pyasn1-alt-modules==0.4.10";

/// The verifier CLI, built beside ours by `cargo test --workspace`.
fn verifier_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("verifier");
    assert!(bin.exists(), "{} missing: cargo build --release -p evidence-verifier", bin.display());
    bin
}

/// The independent decoder's Python, installed once (idempotent).
fn python() -> String {
    let py = format!("{VENV}/bin/python");
    let ready = |py: &str| {
        Command::new(py)
            .args(["-c", "from pyasn1_alt_modules import rfc4998"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&py) {
        let ok = Command::new("python3").args(["-m", "venv", VENV]).status().unwrap().success();
        assert!(ok, "python3 -m venv {VENV}");
        let pip = format!("{VENV}/bin/pip");
        let ok = Command::new(pip).args(["install", "-q", PYASN1_ALT]).status().unwrap().success();
        assert!(ok, "pip install {PYASN1_ALT}");
    }
    py
}

/// A server trusting the test TSA and timestamping with it.
fn ers_server(tsa_dir: &Path, tsa_url: &str, serve: &[&str]) -> Server {
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    let root = tsa_dir.join("root.pem");
    cli(&[
        "tsa",
        "add",
        "--data",
        &d,
        "--name",
        "test-tsa",
        "--root-cert",
        root.to_str().unwrap(),
        "--anchor-url",
        tsa_url,
    ]);
    s.spawn_with(serve);
    s
}

fn submit_contract(s: &Server, document_id: &str, document: &[u8]) {
    let h = Hash::digest(document).to_hex();
    for (i, signer) in s.signers.iter().enumerate() {
        let e = signed_event(&signer.issuer, &format!("{document_id}-{i}"), document_id, &h);
        let (status, body) = s.submit(&e);
        assert_eq!(status, 200, "{body}");
    }
}

fn ers_cli(s: &Server, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("ers")
        .args(args)
        .env("EVIDENCE_LEDGER_TOKEN", &s.tokens.legal)
        .output()
        .unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn roots(tsa_dir: &Path) -> Vec<TrustedTsa> {
    let pem = std::fs::read_to_string(tsa_dir.join("root.pem")).unwrap();
    vec![TrustedTsa::from_pem("test-tsa", &pem).unwrap()]
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn verify(der: &[u8], bundle: &[u8], tsa_dir: &Path) -> Result<verifier::ers::ErsCoverage, String> {
    let objects = bundle_data_objects(bundle).map_err(|e| e.to_string())?;
    verify_evidence_record(der, &objects, &roots(tsa_dir), now()).map_err(|e| e.to_string())
}

/// The independent implementation: decode, recompute every root, and
/// `openssl ts -verify` every token over its root.
fn independent_check(work: &Path, tsa_dir: &Path, record: &Path, bundle: &Path) -> usize {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ers/decode.py");
    let out_dir = work.join(format!("indep-{}", record.file_name().unwrap().to_str().unwrap()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let lines = run(
        work,
        &python(),
        &[
            script.to_str().unwrap(),
            record.to_str().unwrap(),
            bundle.to_str().unwrap(),
            out_dir.to_str().unwrap(),
        ],
    );
    let mut tokens = 0;
    for line in lines.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [_, _, _, root, token] = f.as_slice() else { panic!("{line}") };
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-digest", root, "-in", token, "-token_in", "-CAfile"])
            .arg(tsa_dir.join("root.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Verification: OK"),
            "{line}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokens += 1;
    }
    tokens
}

fn decode(der: &[u8]) -> EvidenceRecord {
    EvidenceRecord::from_der(der).unwrap()
}

#[test]
fn export_renew_verify_and_refuse_tampering() {
    let tsa = tempfile::tempdir().unwrap();
    make_tsa(tsa.path());
    let (url, _section) = serve_tsa(tsa.path().to_path_buf());
    let s = ers_server(tsa.path(), &url, &[]);
    let d = s.data().to_str().unwrap().to_string();
    let document = b"purchase contract no. 4998".as_slice();
    submit_contract(&s, "contract-ers", document);
    submit_contract(&s, "contract-other", b"another contract");
    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name);
    let p = |name: &str| w(name).to_str().unwrap().to_string();

    // Export over the API, through the operator CLI.
    let said = ok(ers_cli(
        &s,
        &["export", "--server", &s.url, "--document", "contract-ers", "--out", &p("r1.ers")],
    ));
    assert!(said.contains("evidence record written"), "{said}");
    let bundle = std::fs::read(w("r1.ers.bundle.json")).unwrap();
    let r1 = std::fs::read(w("r1.ers")).unwrap();
    let c1 = verify(&r1, &bundle, tsa.path()).unwrap();
    assert_eq!(c1.algorithms, [ErsHash::Sha256]);
    assert_eq!(c1.timestamps.len(), 1);
    // The service keeps it: GET gives it back, to legal and notary only.
    let (status, kept) =
        get_bytes(&s, "/v1/documents/contract-ers/evidence-record", &s.tokens.notary);
    assert_eq!(status, 200);
    assert_eq!(kept, r1);
    assert_eq!(
        get_bytes(&s, "/v1/documents/contract-ers/evidence-record", &s.tokens.submitter).0,
        403
    );
    assert_eq!(
        get_bytes(&s, "/v1/documents/contract-ers/evidence-record", &s.tokens.other_legal).0,
        404
    );
    let (status, body) =
        s.post("/v1/documents/contract-ers/evidence-record?hash=md5", Some(&s.tokens.legal), "");
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        s.post("/v1/documents/nothing-here/evidence-record", Some(&s.tokens.legal), "");
    assert_eq!(status, 404, "{body}");

    // Timestamp renewal, then hash-tree renewals to SHA-512, SHA3-512, SM3.
    let said =
        ok(ers_cli(&s, &["renew", "--data", &d, "--in", &p("r1.ers"), "--out", &p("r2.ers")]));
    assert!(said.contains("timestamp renewal (sha256)"), "{said}");
    let b = p("r1.ers.bundle.json");
    let out = ers_cli(
        &s,
        &["renew", "--data", &d, "--in", &p("r2.ers"), "--out", &p("r3.ers"), "--hash", "sha512"],
    );
    assert!(!out.status.success(), "a hash-tree renewal without the bundle must fail");
    assert!(!w("r3.ers").exists());
    let said = ok(ers_cli(
        &s,
        &[
            "renew",
            "--data",
            &d,
            "--in",
            &p("r2.ers"),
            "--out",
            &p("r3.ers"),
            "--hash",
            "sha512",
            "--bundle",
            &b,
        ],
    ));
    assert!(said.contains("hash-tree renewal (sha512)"), "{said}");
    ok(ers_cli(&s, &["renew", "--data", &d, "--in", &p("r3.ers"), "--out", &p("r4.ers")]));
    ok(ers_cli(
        &s,
        &[
            "renew",
            "--data",
            &d,
            "--in",
            &p("r4.ers"),
            "--out",
            &p("r5.ers"),
            "--hash",
            "sha3-512",
            "--bundle",
            &b,
        ],
    ));
    ok(ers_cli(
        &s,
        &[
            "renew",
            "--data",
            &d,
            "--in",
            &p("r5.ers"),
            "--out",
            &p("r6.ers"),
            "--hash",
            "sm3",
            "--bundle",
            &b,
        ],
    ));
    let r6 = std::fs::read(w("r6.ers")).unwrap();
    let c6 = verify(&r6, &bundle, tsa.path()).unwrap();
    assert_eq!(c6.algorithms, [ErsHash::Sha256, ErsHash::Sha512, ErsHash::Sha3_512, ErsHash::Sm3]);
    assert_eq!(c6.timestamps.len(), 6);
    assert_eq!(c6.from, c1.from);
    // docs/long-term.md quotes these sizes.
    eprintln!(
        "record sizes: export {} B, all four algorithms and six tokens {} B",
        r1.len(),
        r6.len()
    );
    let shape: Vec<usize> = decode(&r6).archive_time_stamp_sequence.iter().map(Vec::len).collect();
    assert_eq!(shape, [2, 2, 1, 1]);

    // The independent implementation agrees on every record, and OpenSSL
    // verifies every token over the root it computed.
    for (name, n) in [("r1.ers", 1), ("r2.ers", 2), ("r3.ers", 3), ("r6.ers", 6)] {
        assert_eq!(
            independent_check(work.path(), tsa.path(), &w(name), &w("r1.ers.bundle.json")),
            n,
            "{name}"
        );
    }

    // The verifier CLI: covered from, to, by which hashes; with the document.
    std::fs::write(w("contract.txt"), document).unwrap();
    let root_arg = format!("test-tsa={}", tsa.path().join("root.pem").display());
    let out = Command::new(verifier_bin())
        .args([
            "ers",
            &p("r6.ers"),
            "--bundle",
            &b,
            "--document",
            &p("contract.txt"),
            "--tsa-root",
            &root_arg,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("verifier ers:\n{text}");
    assert!(
        text.contains(&format!("VERIFIED: evidence record: covered from {} to ", c1.from)),
        "{text}"
    );
    assert!(text.contains("by sha256, sha512, sha3-512, sm3"), "{text}");

    // Refused: a changed document, a changed bundle, a removed renewal, a
    // token from another record, a broken chain, an untrusted TSA.
    std::fs::write(w("changed.txt"), b"purchase contract no. 4999").unwrap();
    let out = Command::new(verifier_bin())
        .args([
            "ers",
            &p("r6.ers"),
            "--bundle",
            &b,
            "--document",
            &p("changed.txt"),
            "--tsa-root",
            &root_arg,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("[FAILED] document") && text.contains("NOT VERIFIED"), "{text}");

    let mut changed: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    changed["entries"][0]["inclusion"] = serde_json::json!([]);
    let changed = serde_json::to_vec(&changed).unwrap();
    let err = verify(&r6, &changed, tsa.path()).unwrap_err();
    assert!(err.contains("chain 0, timestamp 0") && err.contains("does not cover"), "{err}");
    // Reformatting is not a change: the bundle's data object is its JCS.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&bundle).unwrap())
            .unwrap();
    assert!(verify(&r6, &pretty, tsa.path()).is_ok());

    let mut removed = decode(&r6);
    removed.archive_time_stamp_sequence[0].remove(1);
    let err = verify(&removed.to_der().unwrap(), &bundle, tsa.path()).unwrap_err();
    assert!(err.contains("chain 1, timestamp 0") && err.contains("hash-tree renewal"), "{err}");

    let other = ok(ers_cli(
        &s,
        &["export", "--server", &s.url, "--document", "contract-other", "--out", &p("other.ers")],
    ));
    assert!(other.contains("written"));
    let other = decode(&std::fs::read(w("other.ers")).unwrap());
    let mut swapped = decode(&r6);
    swapped.archive_time_stamp_sequence[0][0].time_stamp =
        other.archive_time_stamp_sequence[0][0].time_stamp.clone();
    let err = verify(&swapped.to_der().unwrap(), &bundle, tsa.path()).unwrap_err();
    assert!(err.contains("chain 0, timestamp 0") && err.contains("imprint"), "{err}");

    let mut broken = decode(&r6);
    broken.archive_time_stamp_sequence.swap(1, 2);
    let err = verify(&broken.to_der().unwrap(), &bundle, tsa.path()).unwrap_err();
    assert!(err.contains("chain 1, timestamp 0"), "{err}");
    let mut broken = decode(&r6);
    let list = broken.archive_time_stamp_sequence[0][0].reduced_hashtree.as_mut().unwrap();
    let mut first = list[0][0].as_bytes().to_vec();
    first[0] ^= 1;
    list[0][0] = der::asn1::OctetString::new(first).unwrap();
    let err = verify(&broken.to_der().unwrap(), &bundle, tsa.path()).unwrap_err();
    assert!(err.contains("chain 0, timestamp 0"), "{err}");
    let mut truncated = r6.clone();
    truncated.pop();
    assert!(verify(&truncated, &bundle, tsa.path())
        .unwrap_err()
        .contains("malformed evidence record"));

    let objects = bundle_data_objects(&bundle).unwrap();
    let err = verify_evidence_record(&r6, &objects, &[], now()).unwrap_err().to_string();
    assert!(err.contains("not issued by a trusted TSA"), "{err}");
}

fn get_bytes(s: &Server, path: &str, token: &str) -> (u16, Vec<u8>) {
    let r = s.client().get(format!("{}{path}", s.url)).bearer_auth(token).send().unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

#[test]
fn the_service_renews_kept_records_before_the_tsa_certificate_expires() {
    let tsa = tempfile::tempdir().unwrap();
    make_tsa(tsa.path());
    let (url, section) = serve_tsa(tsa.path().to_path_buf());
    // The short certificate ends within a day: inside a two-day margin.
    *section.lock().unwrap() = "tsa_short";
    let s = ers_server(
        tsa.path(),
        &url,
        &["--ers-renew-margin-secs", "172800", "--ers-renew-interval-secs", "1"],
    );
    submit_contract(&s, "contract-due", b"a lease for seventy years");
    let (status, body) =
        s.post("/v1/documents/contract-due/evidence-record", Some(&s.tokens.legal), "");
    assert_eq!(status, 200, "{body}");
    let first = base64_decode(body["evidence_record"].as_str().unwrap());
    let bundle = serde_json::to_vec(&body["bundle"]).unwrap();
    let c = verify(&first, &bundle, tsa.path()).unwrap();
    assert!(c.until_unix < now() + 86_400 + 60, "{c:?}");
    // The TSA moves to its long-lived certificate; the service renews the
    // kept record (timestamp renewal) and then leaves it alone.
    *section.lock().unwrap() = "tsa_long";
    let deadline = Instant::now() + Duration::from_secs(60);
    let renewed = loop {
        let (status, der) =
            get_bytes(&s, "/v1/documents/contract-due/evidence-record", &s.tokens.legal);
        assert_eq!(status, 200);
        if let Ok(c) = verify(&der, &bundle, tsa.path()) {
            if c.until_unix > now() + 365 * 86_400 {
                break (der, c);
            }
        }
        assert!(Instant::now() < deadline, "no renewal within 60 s");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (der, c) = renewed;
    assert!(c.timestamps.len() >= 2, "{c:?}");
    assert_eq!(c.algorithms, [ErsHash::Sha256]);
    assert_eq!(decode(&der).archive_time_stamp_sequence.len(), 1, "timestamp renewals only");
    std::thread::sleep(Duration::from_secs(3));
    let (_, later) = get_bytes(&s, "/v1/documents/contract-due/evidence-record", &s.tokens.legal);
    assert_eq!(later, der, "a record not due is not renewed");
    // The evidence report says what the kept record proves.
    let (status, html) = s.get("/v1/documents/contract-due/report", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Evidence record (RFC 4998)"), "{html}");
    assert!(html.contains(&format!("covering from {} to {} by sha256", c.from, c.until)), "{html}");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("kept.ers"), &der).unwrap();
    std::fs::write(work.path().join("bundle.json"), &bundle).unwrap();
    let n = independent_check(
        work.path(),
        tsa.path(),
        &work.path().join("kept.ers"),
        &work.path().join("bundle.json"),
    );
    assert_eq!(n, c.timestamps.len());
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn each_token_must_be_renewed_before_its_certificate_ends() {
    use verifier::ers::build::{apply, export_step, renewal_step};
    use verifier::ers::tree::build_tree;
    let tsa = tempfile::tempdir().unwrap();
    let dir = tsa.path();
    make_tsa(dir);
    // "old": valid from three days ago for one day; "mid": from three days
    // ago for ten years.
    past_tsa(dir, "old", "-3d", "1");
    past_tsa(dir, "mid", "-3d", "3650");
    let objects = vec![b"the bundle".to_vec(), b"a leaf".to_vec()];
    let step = export_step(ErsHash::Sha256, &objects);
    let tree = build_tree(ErsHash::Sha256, std::slice::from_ref(&step.covered)).unwrap();
    let token = token_at(dir, "tsa_old", &tree.root, Some("-60h"));
    let first = apply(None, &step, tree.reduced[0].clone(), &token).unwrap();
    let first_der = first.to_der().unwrap();
    // Never renewed: its certificate ended two days ago.
    let err =
        verify_evidence_record(&first_der, &objects, &roots(dir), now()).unwrap_err().to_string();
    assert!(err.contains("not renewed in time"), "{err}");
    // Renewed in time (54 hours ago, while the old certificate was valid).
    let renew = renewal_step(&first, ErsHash::Sha256, None).unwrap();
    let on_time = token_at(dir, "tsa_mid", &renew.covered[0], Some("-54h"));
    let renewed = apply(Some(first.clone()), &renew, Vec::new(), &on_time).unwrap();
    let c =
        verify_evidence_record(&renewed.to_der().unwrap(), &objects, &roots(dir), now()).unwrap();
    assert_eq!(c.timestamps.len(), 2);
    assert!(c.until_unix > now() + 365 * 86_400);
    // Renewed now, after the old certificate ended: too late.
    let late = token_at(dir, "tsa_long", &renew.covered[0], None);
    let too_late = apply(Some(first), &renew, Vec::new(), &late).unwrap();
    let err = verify_evidence_record(&too_late.to_der().unwrap(), &objects, &roots(dir), now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("chain 0, timestamp 1: renewed too late"), "{err}");
}

#[test]
fn without_a_tsa_nothing_is_made_or_kept() {
    let s = Server::start();
    submit_contract(&s, "contract-no-tsa", b"a contract with no TSA configured");
    let path = "/v1/documents/contract-no-tsa/evidence-record";
    let (status, body) = s.post(path, Some(&s.tokens.legal), "");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_tsa", "{body}");
    assert_eq!(get_bytes(&s, path, &s.tokens.legal).0, 404);
    let out = ers_cli(&s, &["export", "--server", &s.url, "--document", "../x", "--out", "/tmp/x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--document"));
}
