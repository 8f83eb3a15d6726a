//! The contract PDF's own signatures (docs/pdf-signatures.md), end to end:
//! PDFs signed at run time by pyHanko (`verifier/tests/data/pdf/sign_pdf.py`,
//! installed by scripts/env.sh) with certificates made here by `openssl`,
//! and a signature timestamp from a real TSA (`openssl ts -reply` on the
//! fixtures of verifier/tests/data/tsa), checked by the library and by
//! `verifier pdf`.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;
mod pdf_pki;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use pdf_pki::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use verifier::pdf::{verify_pdf, PdfReport, PdfVerdictStatus, SignatureStatus, TimeSource};
use verifier::policy::TrustPolicy;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn cli(pki: &Pki, args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .arg("pdf")
        .args(args)
        .current_dir(pki.dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

fn statuses(r: &PdfReport) -> Vec<SignatureStatus> {
    r.signatures.iter().map(|s| s.status).collect()
}

#[test]
fn two_signers_in_two_revisions_are_both_valid_with_their_certificates() {
    let pki = Pki::new();
    let (one, two) = pki.two_signers();
    let report = verify_pdf(&two, &pki.policy(&["root"], false), now());
    assert_eq!(
        statuses(&report),
        [SignatureStatus::Valid, SignatureStatus::Valid],
        "{}",
        report.to_text()
    );
    assert_eq!(report.verdict.status, PdfVerdictStatus::Verified);
    assert!(report.passed);
    assert_eq!(report.revisions, 3);
    assert_eq!(report.bytes_after_last_signature, Some(0));
    let (alice, bob) = (&report.signatures[0], &report.signatures[1]);
    assert_eq!((alice.field.as_deref(), bob.field.as_deref()), (Some("Alice"), Some("Bob")));
    assert_eq!(alice.sub_filter, "ETSI.CAdES.detached");
    assert_eq!(bob.sub_filter, "adbe.pkcs7.detached");
    let a = alice.signer.as_ref().unwrap();
    assert_eq!(a.subject, "CN=Alice Signer,O=Acme,C=CN");
    assert_eq!(a.issuer, "CN=Test Signing Root,O=Test CA,C=CN");
    assert_eq!(a.serial, pki.serial("a"));
    assert_eq!(a.trusted_root.as_deref(), Some("root"));
    let b = bob.signer.as_ref().unwrap();
    assert_eq!(b.subject, "CN=Bob Signer,O=Beta,C=CN");
    assert_eq!(b.issuer, "CN=Test Signing Intermediate,O=Test CA,C=CN");
    assert_eq!(b.serial, pki.serial("b"));
    assert!(b.not_before < b.not_after);
    // Each revision's hash is the file as that signer signed it.
    assert_eq!(alice.revision_end, Some(one.len()));
    assert_eq!(alice.revision_sha256.as_deref(), Some(sha256_hex(&one).as_str()));
    assert_eq!(bob.revision_sha256.as_deref(), Some(sha256_hex(&two).as_str()));
    // Without a timestamp, times are claims: PAdES's /M, PKCS#7's signingTime.
    assert_eq!(alice.signing_time.as_ref().unwrap().source, TimeSource::SignatureDictionary);
    assert_eq!(bob.signing_time.as_ref().unwrap().source, TimeSource::SigningTimeAttribute);

    // The command line, with a policy file.
    std::fs::write(pki.path("court.policy"), format!("# court\nca test-root\n{}", pki.pem("root")))
        .unwrap();
    let (out, text) = cli(&pki, &["two.pdf", "--policy", "court.policy"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Signature 1 (field Alice): VALID"), "{text}");
    assert!(text.contains("  signer: CN=Bob Signer,O=Beta,C=CN"), "{text}");
    // Wrapped to 80 columns: the hash may start a continuation line.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&format!("SHA-256 {}", sha256_hex(&one))), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let (out, json) = cli(&pki, &["--json", "two.pdf", "--policy=court.policy"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"]["status"], "verified");
    assert_eq!(v["signatures"][1]["signer"]["trusted_root"], "test-root");
}

#[test]
fn a_byte_changed_inside_a_signed_range_fails_that_signature() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    let policy = pki.policy(&["root"], false);
    // Bob's revision only: Alice's signature still holds.
    let mut tampered = two.clone();
    let at = tampered.windows(5).rposition(|w| w == b"(Bob)").unwrap();
    tampered[at + 1] = b'R';
    let report = verify_pdf(&tampered, &policy, now());
    assert_eq!(
        statuses(&report),
        [SignatureStatus::Valid, SignatureStatus::Invalid],
        "{}",
        report.to_text()
    );
    assert!(report.signatures[1].problems[0].contains("message digest does not match"));
    assert_eq!(report.verdict.status, PdfVerdictStatus::Failed);
    // The page text, which both signed.
    let mut tampered = two.clone();
    let at = tampered.windows(10).position(|w| w == b"(contract)").unwrap();
    tampered[at + 1] = b'C';
    let report = verify_pdf(&tampered, &policy, now());
    assert_eq!(statuses(&report), [SignatureStatus::Invalid, SignatureStatus::Invalid]);
    std::fs::write(pki.path("tampered.pdf"), &tampered).unwrap();
    let (out, text) = cli(&pki, &["tampered.pdf", "--ca-root", "r=root.pem"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("INVALID"), "{text}");
}

#[test]
fn bytes_appended_after_the_last_signature_are_reported() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    let amended = append_update(&two);
    let report = verify_pdf(&amended, &pki.policy(&["root"], false), now());
    assert_eq!(
        statuses(&report),
        [SignatureStatus::Valid, SignatureStatus::Valid],
        "{}",
        report.to_text()
    );
    assert_eq!(report.bytes_after_last_signature, Some(amended.len() - two.len()));
    assert_eq!(report.revisions_after_last_signature, 1);
    assert_eq!(report.verdict.status, PdfVerdictStatus::ModifiedAfterSigning);
    std::fs::write(pki.path("amended.pdf"), &amended).unwrap();
    let (out, text) = cli(&pki, &["amended.pdf", "--ca-root", "r=root.pem"]);
    assert_eq!(out.status.code(), Some(7), "{text}");
    assert!(
        text.contains(&format!(
            "Bytes added after the last signature: {}",
            amended.len() - two.len()
        )),
        "{text}"
    );
}

#[test]
fn a_signer_whose_ca_is_not_in_the_policy_is_not_trusted() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    // A policy that trusts another CA only.
    let report = verify_pdf(&two, &pki.policy(&["other-root"], false), now());
    assert_eq!(statuses(&report), [SignatureStatus::Untrusted, SignatureStatus::Untrusted]);
    assert!(report.signatures[0].untrusted[0].contains("not issued by a CA of your policy"));
    assert_eq!(report.verdict.status, PdfVerdictStatus::Untrusted);
    // Mallory, under the forged root, against the real policy.
    let forged = pki.sign("plain.pdf", "forged.pdf", "c", "Mallory", &[]);
    let report = verify_pdf(&forged, &pki.policy(&["root"], false), now());
    assert_eq!(statuses(&report), [SignatureStatus::Untrusted]);
    assert_eq!(report.signatures[0].signer.as_ref().unwrap().trusted_root, None);
    let (out, text) = cli(&pki, &["forged.pdf", "--ca-root", "r=root.pem"]);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(text.contains("INTACT BUT UNTRUSTED"), "{text}");
    // No policy at all trusts no signer.
    let (out, _) = cli(&pki, &["two.pdf"]);
    assert_eq!(out.status.code(), Some(6));
}

/// genTime of the signature timestamp, as pyHanko's own reader sees it.
fn gen_time_by_pyhanko(pdf: &Path) -> String {
    let script = "import sys\n\
from pyhanko.pdf_utils.reader import PdfFileReader\n\
r = PdfFileReader(open(sys.argv[1], 'rb'))\n\
si = r.embedded_signatures[0].signer_info\n\
tst = si['unsigned_attrs'][0]['values'][0]\n\
t = tst['content']['encap_content_info']['content'].parsed['gen_time'].native\n\
print(t.strftime('%Y-%m-%dT%H:%M:%SZ'))\n";
    let out = Command::new("python3").args(["-c", script]).arg(pdf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_signature_timestamp_gives_the_signing_time() {
    let pki = Pki::new();
    let stamped = pki.sign("plain.pdf", "stamped.pdf", "a", "Alice", &["--tsa-dir", "tsa"]);
    let gen_time = gen_time_by_pyhanko(&pki.path("stamped.pdf"));
    let report = verify_pdf(&stamped, &pki.policy(&["root"], true), now());
    assert_eq!(statuses(&report), [SignatureStatus::Valid], "{}", report.to_text());
    let t = report.signatures[0].signing_time.clone().unwrap();
    assert_eq!(t.source, TimeSource::Timestamp);
    assert_eq!(t.tsa.as_deref(), Some("test-tsa"));
    assert_eq!(t.time, gen_time);
    assert_eq!(report.last_signing_time, Some(t));
    let (out, text) =
        cli(&pki, &["stamped.pdf", "--ca-root", "r=root.pem", "--tsa-root", "t=tsa/root-ca.pem"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("signed at: {gen_time} (signature timestamp by t")), "{text}");
    // Without the TSA root the time is a claim, and the verdict says so.
    let report = verify_pdf(&stamped, &pki.policy(&["root"], false), now());
    assert_eq!(statuses(&report), [SignatureStatus::Untrusted]);
    let t = report.signatures[0].signing_time.clone().unwrap();
    assert_eq!((t.source, t.time.as_str()), (TimeSource::UntrustedTimestamp, gen_time.as_str()));
}

#[test]
fn signed_revisions_are_matched_to_the_bundles_signed_events() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    // The ledger logged the fully signed file.
    let mut world = World::new();
    world.document = two.clone();
    let bundle = world.bundle(&world.contract_flow());
    std::fs::write(pki.path("bundle.json"), bundle.to_json()).unwrap();
    let policy = format!("{}ca test-root\n{}", world.policy().to_text(), pki.pem("root"));
    std::fs::write(pki.path("court.policy"), policy).unwrap();
    let (out, json) =
        cli(&pki, &["two.pdf", "--policy", "court.policy", "--bundle", "bundle.json", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["bundle"]["verified"], true, "{json}");
    assert_eq!(v["bundle"]["matched_revisions"], 1);
    assert_eq!(v["signatures"][0]["bundle_events"], serde_json::json!([]));
    let ids: Vec<&str> = v["signatures"][1]["bundle_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e-u-1-sign", "e-u-2-sign"]);
    // A v2 bundle: the hashes are in the opened records.
    let v2 = world.bundle_v2(&world.contract_flow_v2());
    std::fs::write(pki.path("bundle-v2.json"), v2.to_json()).unwrap();
    let (out, text) =
        cli(&pki, &["two.pdf", "--policy", "court.policy", "--bundle", "bundle-v2.json"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("bundle: signed event e-u-2-sign"), "{text}");
    // A bundle about another file backs no revision.
    world.document = b"%PDF-1.7 another file".to_vec();
    std::fs::write(pki.path("other.json"), world.bundle(&world.contract_flow()).to_json()).unwrap();
    let (out, text) = cli(&pki, &["two.pdf", "--policy", "court.policy", "--bundle", "other.json"]);
    assert_eq!(out.status.code(), Some(8), "{text}");
}

#[test]
fn not_a_pdf_and_no_signature_fail() {
    let policy = TrustPolicy::default();
    let report = verify_pdf(b"hello", &policy, now());
    assert_eq!(report.verdict.status, PdfVerdictStatus::Failed);
    assert!(report.unreadable.is_some());
    let report = verify_pdf(&minimal_pdf(), &policy, now());
    assert_eq!(report.verdict.status, PdfVerdictStatus::Failed);
    assert!(report.signatures.is_empty());
    assert_eq!(report.verdict.summary, "NOT VERIFIED: the file has no signature");
}

/// One case of the set the page must agree on: the PDF, the policy file
/// (None: no policy), the bundle (None: no `--bundle`).
struct Case {
    name: String,
    pdf: String,
    policy: Option<&'static str>,
    bundle: Option<&'static str>,
}

/// How many byte mutations and truncations of signed files the shared
/// case set holds.
const MUTATIONS: usize = 400;

/// `bytes` with one to three bytes overwritten at positions and with
/// values drawn from `seed` (an LCG): a deterministic mutation. Positions
/// inside stream data are drawn again: where zlib data is corrupt, lopdf
/// keeps as much of it as its read buffering happened to return, which
/// the page does not mirror (docs/pdf-signatures.md §11).
fn mutate(bytes: &[u8], seed: u64) -> Vec<u8> {
    let streams = stream_data(bytes);
    let mut out = bytes.to_vec();
    let mut x =
        seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    let mut edits = 0;
    while edits < 1 + seed % 3 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let at = (x >> 33) as usize % out.len();
        if streams.iter().any(|r| r.contains(&at)) {
            continue;
        }
        out[at] = (x >> 17) as u8;
        edits += 1;
    }
    out
}

/// Where the data of each stream lies (`stream` EOL to `endstream`).
fn stream_data(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(6).position(|w| w == b"stream") {
        let keyword = from + at;
        from = keyword + 6;
        if keyword >= 3 && &bytes[keyword - 3..keyword] == b"end" {
            continue;
        }
        let Some(len) = bytes[from..].windows(9).position(|w| w == b"endstream") else { break };
        out.push(from..from + len);
        from += len + 9;
    }
    out
}

/// The page's checker (web/verifier/pdf.js, run in Node by
/// tests/browser/pdf.test.mjs) and `verifier pdf --json` give the same
/// report, signature by signature, on a shared case set: signed once,
/// twice by two signers (PAdES and PKCS#7, RSA and ECDSA through an
/// intermediate), with a signature timestamp (trusted, and with its TSA
/// left out of the policy), one byte changed after signing, bytes
/// appended, a signature dictionary redefined later (to hide it), an
/// untrusted CA, no policy, an expired certificate, a file with
/// cross-reference and object streams, the last gap's hex in upper case,
/// no signature, no PDF, a matching and a foreign bundle, and
/// deterministic byte mutations and truncations of two signed files.
#[test]
fn the_page_agrees_with_verifier_pdf_on_the_shared_cases() {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "this test needs node (scripts/env.sh)");
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    let write = |name: &str, bytes: &[u8]| std::fs::write(pki.path(name), bytes).unwrap();
    let policy = |name: &str, cas: &[&str], tsa: bool| {
        let mut text = String::from("# the shared PDF cases\n");
        for ca in cas {
            text.push_str(&format!("ca {ca}-ca\n{}", pki.pem(ca)));
        }
        if tsa {
            text.push_str(&format!("tsa test-tsa\n{}", pki.pem("tsa/root-ca")));
        }
        write(name, text.as_bytes());
    };
    policy("root.policy", &["root"], false);
    policy("other.policy", &["other-root"], false);
    policy("tsa.policy", &["root"], true);
    pki.sign("plain.pdf", "forged.pdf", "c", "Mallory", &[]);
    pki.sign("plain.pdf", "stamped.pdf", "a", "Alice", &["--tsa-dir", "tsa"]);
    pki.expired_signer();
    pki.sign("plain.pdf", "expired.pdf", "x", "Old", &[]);
    pki.xref_stream_pdf("xs.pdf");
    pki.sign("xs.pdf", "xs1.pdf", "a", "Alice", &[]);
    pki.sign("xs1.pdf", "xs2.pdf", "b", "Bob", &["--pkcs7"]);
    let mut t = two.clone();
    let at = t.windows(5).rposition(|w| w == b"(Bob)").unwrap();
    t[at + 1] = b'R';
    write("tampered-bob.pdf", &t);
    let mut t = two.clone();
    let at = t.windows(10).position(|w| w == b"(contract)").unwrap();
    t[at + 1] = b'C';
    write("tampered-text.pdf", &t);
    write("amended.pdf", &append_update(&two));
    // A shadow update: Alice's signature dictionary redefined without a
    // /ByteRange, so that the merged last revision no longer holds it.
    let first = two.windows(10).position(|w| w == b"/ByteRange").unwrap();
    let head = two[..first].windows(6).rposition(|w| w == b" 0 obj").unwrap();
    let start = two[..head].iter().rposition(|b| !b.is_ascii_digit()).unwrap() + 1;
    let alice: u32 = std::str::from_utf8(&two[start..head]).unwrap().parse().unwrap();
    let hidden = b"<< /Type /Sig /SubFilter /ETSI.CAdES.detached /Contents <00> >>";
    write("shadowed.pdf", &append_object(&two, alice, hidden));
    let report = verify_pdf(&two, &TrustPolicy::default(), now());
    let gap = &report.signatures[1].byte_range[1..3];
    let mut upper = two.clone();
    upper[gap[0] as usize..gap[1] as usize].make_ascii_uppercase();
    write("upper-hex.pdf", &upper);
    write("not-a.pdf", b"hello, not a PDF");
    // Bundles: one that logged the file, one about another file.
    let mut world = World::new();
    world.document = two.clone();
    write("bundle.json", &world.bundle(&world.contract_flow()).to_json());
    let court = format!("{}ca test-root\n{}", world.policy().to_text(), pki.pem("root"));
    write("court.policy", court.as_bytes());
    world.document = b"%PDF-1.7 another file".to_vec();
    write("other-bundle.json", &world.bundle(&world.contract_flow()).to_json());

    let case = |name: &str, pdf: &str, policy: Option<&'static str>, bundle| Case {
        name: name.to_owned(),
        pdf: pdf.to_owned(),
        policy,
        bundle,
    };
    let mut cases = vec![
        case("signed once (PAdES, RSA)", "one.pdf", Some("root.policy"), None),
        case("two signers", "two.pdf", Some("root.policy"), None),
        case("two signers, no policy", "two.pdf", None, None),
        case("two signers, another CA trusted", "two.pdf", Some("other.policy"), None),
        case("a signer of a forged root", "forged.pdf", Some("root.policy"), None),
        case("timestamped, TSA trusted", "stamped.pdf", Some("tsa.policy"), None),
        case("timestamped, TSA not in the policy", "stamped.pdf", Some("root.policy"), None),
        case("an expired signer certificate", "expired.pdf", Some("root.policy"), None),
        case("xref and object streams, two signers", "xs2.pdf", Some("root.policy"), None),
        case("one byte changed in Bob's revision", "tampered-bob.pdf", Some("root.policy"), None),
        case("one byte changed in the page text", "tampered-text.pdf", Some("root.policy"), None),
        case("bytes appended after the last signature", "amended.pdf", Some("root.policy"), None),
        case("a signature dictionary redefined later", "shadowed.pdf", Some("root.policy"), None),
        case("the last gap's hex in upper case", "upper-hex.pdf", Some("root.policy"), None),
        case("no signature", "plain.pdf", Some("root.policy"), None),
        case("not a PDF", "not-a.pdf", Some("root.policy"), None),
        case(
            "with the bundle that logged it",
            "two.pdf",
            Some("court.policy"),
            Some("bundle.json"),
        ),
        case(
            "with a bundle of another file",
            "two.pdf",
            Some("court.policy"),
            Some("other-bundle.json"),
        ),
    ];
    // Mutations of a signed file with an xref table and of one with xref
    // and object streams, then truncations.
    let xs2 = std::fs::read(pki.path("xs2.pdf")).unwrap();
    for i in 0..MUTATIONS {
        let (source, name) = if i % 2 == 0 { (&two, "two") } else { (&xs2, "xs2") };
        let bytes = if i < MUTATIONS - 16 {
            mutate(source, i as u64)
        } else {
            source[..source.len() * (i % 8 + 1) / 9].to_vec()
        };
        let file = format!("mutated-{i}.pdf");
        write(&file, &bytes);
        cases.push(case(&format!("mutation {i} of {name}.pdf"), &file, Some("root.policy"), None));
    }

    let mut listed = Vec::new();
    for c in &cases {
        let mut args = vec!["--json", c.pdf.as_str()];
        if let Some(p) = c.policy {
            args.extend(["--policy", p]);
        }
        if let Some(b) = c.bundle {
            args.extend(["--bundle", b]);
        }
        let (out, json) = cli(&pki, &args);
        assert!(out.status.code().is_some_and(|c| c != 2), "{}: {json}", c.name);
        let path = |f: &str| pki.path(f).to_str().unwrap().to_owned();
        listed.push(serde_json::json!({
            "name": c.name,
            "pdf": path(&c.pdf),
            "policy": c.policy.map(path),
            "bundle": c.bundle.map(path),
            "mutation": c.name.starts_with("mutation"),
            "expected": serde_json::from_str::<Value>(&json).unwrap(),
        }));
    }
    // The shadowed signature is still found (each revision is read on its
    // own), and the update after it is reported.
    let shadowed = &listed.iter().find(|c| c["name"] == "a signature dictionary redefined later");
    let shadowed = &shadowed.unwrap()["expected"];
    assert_eq!(shadowed["signatures"].as_array().unwrap().len(), 2, "{shadowed}");
    assert_eq!(shadowed["verdict"]["status"], "modified_after_signing");
    // The cases are meant to cover every verdict and signature status.
    let statuses: std::collections::BTreeSet<String> = listed
        .iter()
        .flat_map(|c| {
            let e = &c["expected"];
            let sigs = e["signatures"].as_array().unwrap().iter().map(|s| s["status"].to_string());
            std::iter::once(e["verdict"]["status"].to_string()).chain(sigs).collect::<Vec<_>>()
        })
        .collect();
    for want in ["verified", "failed", "modified_after_signing", "untrusted", "bundle_mismatch"] {
        assert!(statuses.contains(&format!("\"{want}\"")), "no case is {want}: {statuses:?}");
    }
    for want in ["valid", "invalid"] {
        assert!(statuses.contains(&format!("\"{want}\"")), "no signature is {want}");
    }
    write("cases.json", serde_json::to_string_pretty(&listed).unwrap().as_bytes());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new("node")
        .args(["--test", "tests/browser/pdf.test.mjs"])
        .current_dir(repo)
        .env("EL_PDF_CASES", pki.path("cases.json"))
        .output()
        .unwrap();
    if !out.status.success() && std::env::var_os("EL_KEEP_PDF_CASES").is_some() {
        eprintln!("the cases are kept in {}", pki.dir.keep().display());
        panic!("the page and verifier pdf disagree: {}", String::from_utf8_lossy(&out.stdout));
    }
    assert!(
        out.status.success(),
        "the page and verifier pdf disagree (EL_KEEP_PDF_CASES=1 keeps the files):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("# pass 6") && stdout.contains("# skipped 0"), "{stdout}");
}

mod never_panics {
    //! Whatever the bytes, `verify_pdf` returns a report: mutated real
    //! signed PDFs, PDF-token soup and arbitrary `/ByteRange` numbers.
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use proptest::sample::Index;
    use verifier::pdf::{check_byte_range, revision_ends, verify_pdf};
    use verifier::policy::TrustPolicy;

    use super::Pki;

    /// A real two-signature PDF and the policy that trusts its signers.
    fn sample() -> &'static (Vec<u8>, TrustPolicy) {
        static SAMPLE: OnceLock<(Vec<u8>, TrustPolicy)> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let pki = Pki::new();
            let (_, two) = pki.two_signers();
            (two, pki.policy(&["root"], false))
        })
    }

    const TOKENS: [&[u8]; 16] = [
        b"%PDF-1.7\n",
        b"1 0 obj\n",
        b"endobj\n",
        b"<< /ByteRange [0 10 20 5] ",
        b"/Contents <3082>",
        b" >>",
        b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \n",
        b"trailer\n<< /Size 2 /Root 1 0 R >>\n",
        b"startxref\n",
        b"9\n",
        b"%%EOF\n",
        b"/Type /Sig /SubFilter /ETSI.CAdES.detached ",
        b"<< /FT /Sig /T (S) /V 1 0 R >>",
        b"stream\nxx\nendstream\n",
        b"/Prev 0 ",
        b"[0 -1 99999999999 4]",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn on_mutated_signed_pdfs(
            edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..6),
            cut in proptest::option::of(any::<Index>()),
        ) {
            let (pdf, policy) = sample();
            let mut bytes = pdf.clone();
            for (at, b) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            let report = verify_pdf(&bytes, policy, 1_800_000_000);
            let _ = report.to_text();
            // The signed file verifies. A file that differs from it never
            // does, but for one thing: the last gap is unsigned, and a hex
            // digit written in the other case decodes to the same
            // signature (docs/pdf-signatures.md §2).
            if &bytes == pdf {
                prop_assert!(report.passed, "{}", report.to_text());
            } else if report.passed {
                let gap = &report.signatures.last().unwrap().byte_range[1..3];
                let gap = gap[0] as usize..gap[1] as usize;
                let only_case_in_gap = bytes.len() == pdf.len()
                    && bytes.iter().zip(pdf).enumerate().all(|(i, (a, b))| {
                        a == b || (gap.contains(&i) && a.eq_ignore_ascii_case(b))
                    });
                prop_assert!(only_case_in_gap, "a changed file verifies: {}", report.to_text());
            }
        }

        #[test]
        fn on_token_soup(parts in prop::collection::vec(0..TOKENS.len(), 0..40)) {
            let bytes: Vec<u8> = parts.iter().flat_map(|i| TOKENS[*i].iter().copied()).collect();
            let _ = verify_pdf(&bytes, &TrustPolicy::default(), 1_800_000_000).to_text();
        }

        #[test]
        fn on_arbitrary_byte_ranges(
            file in prop::collection::vec(any::<u8>(), 0..64),
            br in prop::collection::vec(any::<i64>(), 0..6),
        ) {
            let _ = check_byte_range(&file, &br, &revision_ends(&file));
        }
    }
}
