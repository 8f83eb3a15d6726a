//! An `sm2-sm3` log end to end (issue 26): `init --suite sm2-sm3`, events
//! whose identity checks, intent proofs and signatures come from SM2
//! issuers certified by X.509 (a CA root the platform registers; OpenSSL
//! 3 makes the PKI, verifier/tests/gm_pki) with an SM2 TSA's GM/T 0033
//! token on each signature, two SM2 witnesses (`notary-witness init
//! --suite sm2-sm3`) cosigning, a bundle verified by the verifier CLI and
//! by `POST /v1/verify` under a policy pinning the CA (`ca` line), and
//! tampered copies refused: a changed leaf, a forged checkpoint signature,
//! and an Ed25519-suite policy given the SM bundle. The same bundle and
//! tampered copies then go through the public verifier page in headless
//! Chromium (tests/browser/sm-bundle.test.mjs): VERIFIED, and refused.
//!
//! Needs `node`, `/usr/bin/chromium` and tests/browser's playwright-core
//! (scripts/env.sh installs them).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../verifier/tests/gm_pki/mod.rs"]
mod gm_pki;
#[path = "sm_pki/mod.rs"]
mod sm_pki;

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use common::witness::*;
use common::*;
use evidence_ledger::flows::{contract_flow, Signer};
use serde_json::{json, Value};
use verifier::anykey::AnyVerifier;
use verifier::bundle::Bundle;
use verifier::suite::Suite;

const DOC: &str = "contract-sm-1";
/// A contract of the same log that is never erased (lookup, report).
const DOC_KEPT: &str = "contract-sm-kept";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The verifier CLI, built beside ours.
fn verifier_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("verifier");
    assert!(bin.exists(), "{} missing: cargo build --release -p evidence-verifier", bin.display());
    bin
}

fn verify_cli(bundle: &str, policy: &str) -> (Option<i32>, String) {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("bundle.json"), bundle).unwrap();
    std::fs::write(work.path().join("policy"), policy).unwrap();
    let out = Command::new(verifier_bin())
        .arg("verify")
        .arg(work.path().join("bundle.json"))
        .arg("--policy")
        .arg(work.path().join("policy"))
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

/// The log's signature line of a bundle's checkpoint with one bit of `s` flipped.
fn forge_log_signature(bundle: &Bundle) -> Bundle {
    let mut lines: Vec<String> = bundle.checkpoint.lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.starts_with(&format!("— {} ", bundle.origin))).unwrap();
    let (head, b64) = lines[at].rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    lines[at] = format!("{head} {}", B64.encode(raw));
    let mut forged = bundle.clone();
    forged.checkpoint = format!("{}\n", lines.join("\n"));
    forged
}

/// The certified issuers' certificates: (certificate, issuer name = CN).
const CERTIFIED: &[(&str, &str)] = &[
    ("idp-sm2", "idp-sm2"),
    ("intent-sm2", "intent-sm2"),
    ("signer-u-3", "signer:u-3"),
    ("signer-u-4", "signer:u-4"),
];

/// The platform registers the PKI's root as the issuer CA; the
/// registration is itself a logged entry, and `/v1/log` lists the root.
fn register_ca(s: &Server, pki: &gm_pki::GmPki) {
    let body = json!({"name": sm_pki::CA_NAME, "root_pem": pki.pem("root")});
    let size = s.tree_size_latest();
    let (code, rec) =
        s.post("/v1/issuer-cas", Some(&s.tokens.platform), serde_json::to_vec(&body).unwrap());
    assert_eq!(code, 200, "{rec}");
    assert_eq!(rec["added_entry"], size, "{rec}");
    let (code, _) =
        s.post("/v1/issuer-cas", Some(&s.tokens.admin), serde_json::to_vec(&body).unwrap());
    assert_eq!(code, 403, "only the platform registers issuer CAs");
    assert_eq!(s.get_json("/v1/log")["issuer_cas"][0]["name"], sm_pki::CA_NAME);
}

#[test]
fn an_sm2_sm3_log_is_cosigned_by_sm2_witnesses_and_its_bundles_verify() {
    let mut s = Server::prepare_with(&["--suite", "sm2-sm3"]);
    let data = s.data().to_str().unwrap().to_string();
    let status = cli(&["status", "--data", &data]);
    let vkey = status.lines().find_map(|l| l.strip_prefix("vkey: ")).unwrap().to_string();
    assert_eq!(AnyVerifier::from_vkey(&vkey).unwrap().suite(), Suite::Sm2Sm3, "{vkey}");

    let witnesses: Vec<Witness> = ["notary.example/sm", "court.example/sm"]
        .iter()
        .map(|n| Witness::start_with(n, &vkey, None, &["--suite", "sm2-sm3"]))
        .collect();
    for w in &witnesses {
        assert_eq!(AnyVerifier::from_vkey(&w.vkey).unwrap().suite(), Suite::Sm2Sm3);
        cli(&["witness", "add", "--data", &data, "--vkey", &w.vkey, "--url", &w.url()]);
    }
    cli(&["anchor", "policy", "--data", &data, "--interval", "1", "--threshold", "2"]);

    // A later flag that names another suite is refused, and changes nothing.
    let out = Command::new(BIN)
        .args(["serve", "--data", &data, "--listen", "127.0.0.1:0", "--suite", "ed25519-sha256"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("initialised with suite sm2-sm3"), "{err}");

    // The SM2 PKI: certified issuers, and the SM2 TSA (trusted by the CLI).
    let pki = sm_pki::pki_with(CERTIFIED);
    let root = pki.path("root.pem");
    cli(&[
        "tsa",
        "add",
        "--data",
        &data,
        "--name",
        "sm2-tsa",
        "--root-cert",
        root.to_str().unwrap(),
    ]);

    s.spawn_with(&["--suite", "sm2-sm3"]);
    let info = s.get_json("/v1/log");
    assert_eq!(info["suite"], "sm2-sm3");
    assert_eq!(info["vkey"], vkey.as_str());
    register_ca(&s, &pki);

    // Signers whose keys the CA certified (none registered by key: the
    // timeline's rule still reads their attestations as `signer:<id>`).
    let people = [Signer::random("u-3", "张*"), Signer::random("u-4", "赵*")];
    let signers: Vec<_> = people.iter().collect();
    let mut events = contract_flow(&s.services, &signers, DOC, DOC.as_bytes());
    let token = pki.sm2_token(
        &pki.tst_info(DOC.as_bytes(), "sha256"),
        "tsa",
        &["tsa", "inter"],
        gm_pki::SM2_WITH_SM3,
    );
    for ev in events.iter_mut().filter(|e| e["kind"] == "signed") {
        ev["timestamp_token"] = json!(B64.encode(&token));
    }
    let map = [
        (s.services.idp.name.as_str(), "idp-sm2", "idp-sm2"),
        (s.services.intent.name.as_str(), "intent-sm2", "intent-sm2"),
        ("signer:u-3", "signer:u-3", "signer-u-3"),
        ("signer:u-4", "signer:u-4", "signer-u-4"),
    ];
    sm_pki::certify_all(&pki, &mut events, common::TENANT, &map);
    let (code, body) = s.submit(&json!({"events": events}));
    assert_eq!(code, 200, "{body}");
    let size = s.tree_size_latest();
    wait_checkpoint(&s, "two SM2 cosignatures", |cp| {
        cp.checkpoint.size == size && witnesses.iter().all(|w| cosigned_by(cp, w))
    });

    // An inclusion proof served by the log checks with SM3, not SHA-256.
    let proof = s.get_json(&format!("/v1/proof/inclusion?index=0&tree_size={size}"));
    let hashes: Vec<verifier::Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| verifier::Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf = B64.decode(s.get_json("/v1/entries/0")["leaf"].as_str().unwrap()).unwrap();
    let cp = wait_checkpoint(&s, "the checkpoint", |cp| cp.checkpoint.size == size);
    let root = cp.checkpoint.root;
    Suite::Sm2Sm3
        .verify_inclusion(&Suite::Sm2Sm3.leaf_hash(&leaf), 0, size, &hashes, &root)
        .unwrap();
    assert!(Suite::Ed25519Sha256
        .verify_inclusion(&Suite::Ed25519Sha256.leaf_hash(&leaf), 0, size, &hashes, &root)
        .is_err());

    let (code, raw) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(code, 200, "{raw}");
    let bundle = Bundle::parse(raw.as_bytes()).unwrap();
    assert!(!raw.contains("\"name\":\"idp-sm2\""), "a certified issuer lists no key");
    let ca = format!("ca {}\n{}tsa sm2-tsa\n{}", sm_pki::CA_NAME, pki.pem("root"), pki.pem("root"));
    let policy = format!(
        "suite sm2-sm3\nlog {vkey}\nwitness {}\nwitness {}\nquorum 2\n{ca}",
        witnesses[0].vkey, witnesses[1].vkey
    );
    // Without the `ca` line, no certified attestation holds.
    let no_ca = format!(
        "suite sm2-sm3\nlog {vkey}\nwitness {}\nwitness {}\nquorum 2\ntsa sm2-tsa\n{}",
        witnesses[0].vkey,
        witnesses[1].vkey,
        pki.pem("root")
    );

    // The verifier CLI: verified, both witnesses named.
    let (code, text) = verify_cli(&raw, &policy);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("notary.example/sm") && text.contains("court.example/sm"), "{text}");

    // POST /v1/verify: under the service's own anchors and under the policy.
    let post = |body: &Value| s.post("/v1/verify", None, serde_json::to_vec(body).unwrap());
    let good: Value = serde_json::from_str(&raw).unwrap();
    let (code, report) = post(&good);
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["verdict"]["status"], "verified", "{report:#}");
    let (_, report) = post(&json!({"bundle": good, "policy": policy}));
    assert_eq!(report["verdict"]["status"], "verified", "{report:#}");
    let attested =
        report["checks"].as_array().unwrap().iter().filter(|c| c["id"] == "attestations");
    let details: Vec<&str> = attested.map(|c| c["detail"].as_str().unwrap()).collect();
    assert!(details.iter().any(|d| d.contains("CN=idp-sm2")), "{details:#?}");
    let (code, text) = verify_cli(&raw, &no_ca);
    assert_ne!(code, Some(0), "{text}");
    // The CLI wraps its lines: compare the words.
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("not issued by a CA of your policy"), "{text}");
    let (_, report) = post(&json!({"bundle": good, "policy": no_ca}));
    let refused = report["checks"].as_array().unwrap().iter().filter(|c| {
        c["id"] == "attestations"
            && c["passed"] == false
            && c["detail"].as_str().unwrap().contains("not issued by a CA of your policy")
    });
    assert_eq!(refused.count(), 6, "each certified attestation refused: {report:#}");

    // A changed leaf: its SM3 proof no longer leads to the root.
    let mut tampered = bundle.clone();
    tampered.entries[3].leaf = bundle.entries[2].leaf.clone();
    let tampered_raw = serde_json::to_string(&tampered).unwrap();
    let (code, text) = verify_cli(&tampered_raw, &policy);
    assert_ne!(code, Some(0), "{text}");
    let (_, report) = post(&json!({"bundle": tampered, "policy": policy}));
    assert_eq!(report["passed"], false, "{report:#}");
    let failed = |id: &str| {
        report["checks"].as_array().unwrap().iter().any(|c| c["id"] == id && c["passed"] == false)
    };
    assert!(failed("inclusion"), "{report:#}");

    // A forged SM2 checkpoint signature.
    let forged = forge_log_signature(&bundle);
    let (code, text) = verify_cli(&serde_json::to_string(&forged).unwrap(), &policy);
    assert_ne!(code, Some(0), "{text}");
    let (_, report) = post(&json!({"bundle": forged, "policy": policy}));
    assert_eq!(check(&report, "log_signature")["passed"], false, "{report:#}");

    // An Ed25519-suite policy (no suite line) given the SM bundle: refused.
    let ed = verifier::note::NoteSigner::new(
        &bundle.origin,
        ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    )
    .unwrap();
    let ed_policy = format!("log {}\n", ed.vkey());
    let (code, text) = verify_cli(&raw, &ed_policy);
    assert_ne!(code, Some(0), "{text}");
    let (_, report) = post(&json!({"bundle": good, "policy": ed_policy}));
    let log_check = check(&report, "log_signature");
    assert_eq!(log_check["passed"], false, "{report:#}");
    assert!(log_check["detail"].as_str().unwrap().contains("suite sm2-sm3"), "{log_check:#}");
    // Trust given as options, no policy file: the SM2 log key names the
    // suite (or --suite does); a --suite that contradicts the key is a
    // usage error.
    let opts = |extra: &[&str]| {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join("bundle.json"), &raw).unwrap();
        let root = work.path().join("root.pem");
        std::fs::write(&root, pki.pem("root")).unwrap();
        let mut cmd = Command::new(verifier_bin());
        cmd.arg("verify").arg(work.path().join("bundle.json")).args(["--log-key", &vkey]);
        // The certified issuers' CA and the SM2 TSA, as options too.
        cmd.arg(format!("--ca-root={}={}", sm_pki::CA_NAME, root.display()));
        cmd.arg(format!("--tsa-root=sm2-tsa={}", root.display()));
        for w in &witnesses {
            cmd.args(["--witness", &w.vkey]);
        }
        let out = cmd.args(extra).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = opts(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(opts(&["--suite", "sm2-sm3"]).0, Some(0));
    assert_eq!(opts(&["--suite", "ed25519-sha256"]).0, Some(2));
    let w: Vec<&str> = witnesses.iter().map(|w| w.vkey.as_str()).collect();
    let (_, report) = post(&json!({"bundle": good, "log_key": vkey, "witnesses": w}));
    // The log key alone makes the suite sm2-sm3: the SM2 checkpoint and
    // cosignatures hold. These options carry no `ca` root, so the
    // certified issuers' attestations cannot (a policy text gives one).
    assert_eq!(check(&report, "log_signature")["passed"], true, "{report:#}");
    assert_ne!(report["verdict"]["status"], "verified", "{report:#}");
    let (code, _) =
        post(&json!({"bundle": good, "log_key": vkey, "witnesses": w, "suite": "ed25519-sha256"}));
    assert_eq!(code, 400);
    // A policy naming an SM2 key without `suite sm2-sm3` is itself refused.
    let (code, text) = verify_cli(&raw, &format!("log {vkey}\n"));
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("suite"), "{text}");

    // Record v3 with SM3 (sm3-jcs-sd/v3): every record of the bundle.
    for e in &bundle.entries {
        let leaf = String::from_utf8(B64.decode(&e.leaf).unwrap()).unwrap();
        assert!(leaf.contains("\"commitment_alg\":\"sm3-jcs-sd/v3\""), "{leaf}");
    }
    // The lookup answers with the log's newest checkpoint and no
    // cosignatures: it is checked under the log key alone, as for SHA-256.
    let log_policy = format!("suite sm2-sm3\nlog {vkey}\n");
    sm3_lookup_and_sm2_report(&s, &witnesses, &policy, &log_policy);

    // The document is erased: the bundle now holds the log's own `erased`
    // entry, attested with the log's SM2 key, and still verifies.
    let (code, body) = s.post(
        &format!("/v1/documents/{DOC}/erase"),
        Some(&s.tokens.admin),
        br#"{"reason_code":"consent_withdrawn"}"#.to_vec(),
    );
    assert_eq!(code, 200, "{body}");
    let size = s.tree_size_latest();
    wait_checkpoint(&s, "the erasure cosigned", |cp| {
        cp.checkpoint.size == size && witnesses.iter().all(|w| cosigned_by(cp, w))
    });
    let (code, erased) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(code, 200, "{erased}");
    assert!(erased.contains("\"erased\""), "{erased}");
    let (code, text) = verify_cli(&erased, &policy);
    assert_eq!(code, Some(0), "{text}");
    let erased: Value = serde_json::from_str(&erased).unwrap();
    let (_, report) = post(&json!({"bundle": erased, "policy": policy}));
    assert_eq!(report["verdict"]["status"], "verified", "{report:#}");

    // The public verifier page in headless Chromium: the same bundles
    // VERIFIED under the SM policy (the erased one too), the tampered
    // copies and the Ed25519 policy refused, as above.
    let work = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = work.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let page_env = [
        ("EL_FILE", write("contract-sm-1.txt", DOC.as_bytes())),
        ("EL_KEPT_FILE", write("contract-sm-kept.txt", DOC_KEPT.as_bytes())),
        ("EL_BUNDLE", write("bundle.json", raw.as_bytes())),
        ("EL_TAMPERED", write("tampered.json", tampered_raw.as_bytes())),
        ("EL_FORGED", write("forged.json", &serde_json::to_vec(&forged).unwrap())),
        ("EL_ERASED", write("erased.json", &serde_json::to_vec(&erased).unwrap())),
        ("EL_POLICY", write("sm.policy", policy.as_bytes())),
        ("EL_LOG_POLICY", write("sm-log.policy", log_policy.as_bytes())),
        ("EL_ED_POLICY", write("ed.policy", ed_policy.as_bytes())),
        ("EL_NO_CA_POLICY", write("no-ca.policy", no_ca.as_bytes())),
    ];
    run_page_test(&s.url, &page_env);

    // The audit recomputes the SM3 tree and checks the SM2 checkpoints.
    let audit = cli(&["audit", "--data", &data]);
    assert!(audit.contains("audit: clean"), "{audit}");
}

/// A second contract of the log, never erased: `GET /v1/lookup` of its
/// file discloses document hash and kind with SM3 (`sm3-jcs-sd/v3`) and
/// is `verified` by the CLI and `POST /v1/verify` (the page looks it up in
/// [`run_page_test`]); a disclosure changed is refused. Then an evidence
/// report of it, signed SM2 by the log key (`X-Report-Signature-Alg:
/// sm2-sm3`), checked by `verifier report`, and a changed copy refused.
fn sm3_lookup_and_sm2_report(s: &Server, witnesses: &[Witness], policy: &str, log_policy: &str) {
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, DOC_KEPT, DOC_KEPT.as_bytes());
    let (code, body) = s.submit(&json!({"events": events}));
    assert_eq!(code, 200, "{body}");
    let cosigned = |what: &str| {
        let size = s.tree_size_latest();
        wait_checkpoint(s, what, |cp| {
            cp.checkpoint.size >= size && witnesses.iter().all(|w| cosigned_by(cp, w))
        });
    };
    cosigned("the second contract cosigned");
    let hash = verifier::Hash::digest(DOC_KEPT.as_bytes()).to_hex();
    let (code, raw) = s.get(&format!("/v1/lookup?document_hash={hash}"), None);
    assert_eq!(code, 200, "{raw}");
    let answer: Value = serde_json::from_str(&raw).unwrap();
    assert!(answer["entries"].as_array().unwrap().iter().all(|e| e["disclosures"].is_array()));
    let mut tampered = answer.clone();
    tampered["entries"][0]["disclosures"][1][2] = json!("revoked");
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("kept.txt");
    std::fs::write(&file, DOC_KEPT).unwrap();
    let post = |body: &Value| s.post("/v1/verify", None, serde_json::to_vec(body).unwrap());
    for (what, a, want) in [("genuine", &answer, "verified"), ("tampered", &tampered, "failed")] {
        let path = work.path().join(format!("{what}.json"));
        std::fs::write(&path, serde_json::to_vec(a).unwrap()).unwrap();
        std::fs::write(work.path().join("policy"), log_policy).unwrap();
        let out = Command::new(verifier_bin())
            .arg("verify")
            .arg(&path)
            .arg("--policy")
            .arg(work.path().join("policy"))
            .arg("--document")
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code() == Some(0), want == "verified", "{what}: {text}");
        let (code, report) =
            post(&json!({"lookup": a, "policy": log_policy, "document_sha256": hash}));
        assert_eq!(code, 200, "{report}");
        assert_eq!(report["verdict"]["status"], want, "{what}: {report:#}");
        if want == "failed" {
            assert_eq!(check(&report, "lookup_summary")["passed"], false, "{report:#}");
        }
    }

    // The report: SM2 by the log key over the attestation v2 message.
    let resp = s
        .client()
        .post(format!("{}/v1/documents/{DOC_KEPT}/reports?format=html", s.url))
        .bearer_auth(&s.tokens.legal)
        .header("Idempotency-Key", "sm-report-1")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers().clone();
    let header = |n: &str| h.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("x-report-signature-alg"), "sm2-sm3");
    let report_file = resp.bytes().unwrap().to_vec();
    assert_eq!(header("x-report-sha256"), verifier::Hash::digest(&report_file).to_hex());
    cosigned("the report entry cosigned");
    let (code, raw) = s.get(&format!("/v1/documents/{DOC_KEPT}/bundle"), Some(&s.tokens.legal));
    assert_eq!(code, 200, "{raw}");
    let bundle = Bundle::parse(raw.as_bytes()).unwrap();
    let index: u64 = header("x-report-entry-index").parse().unwrap();
    let record = bundle.entries.iter().find(|e| e.index == index).unwrap().record.clone().unwrap();
    let event = verifier::entry::Event::from_value(record["event"].clone(), true).unwrap();
    let message = event.attestation_message(0, record["tenant"].as_str().unwrap());
    let signature = B64.decode(header("x-report-signature")).unwrap();
    assert_eq!(signature, event.attestations[0].signature.to_vec(), "the entry's signature");
    let log_key =
        verifier::sm2note::Sm2Verifier::from_vkey(s.get_json("/v1/log")["vkey"].as_str().unwrap())
            .unwrap();
    log_key.verify_raw(&message, &signature).expect("SM2 under the log key");
    let mut flipped = signature.clone();
    flipped[10] ^= 1;
    assert!(log_key.verify_raw(&message, &flipped).is_err());
    // `verifier report`: the file the log issued, verified; one byte
    // changed, refused (under the full policy: log key and both witnesses).
    std::fs::write(work.path().join("bundle.json"), &raw).unwrap();
    std::fs::write(work.path().join("policy"), policy).unwrap();
    let mut changed = report_file.clone();
    changed.extend_from_slice(b"\n");
    for (name, bytes, ok) in
        [("report.html", &report_file, true), ("changed.html", &changed, false)]
    {
        std::fs::write(work.path().join(name), bytes).unwrap();
        let out = Command::new(verifier_bin())
            .arg("report")
            .arg(work.path().join(name))
            .arg("--bundle")
            .arg(work.path().join("bundle.json"))
            .arg("--policy")
            .arg(work.path().join("policy"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(if ok { 0 } else { 1 }), "{name}: {text}");
        assert_eq!(text.contains("VERIFIED: the log issued this report"), ok, "{text}");
    }
}

/// Runs tests/browser/sm-bundle.test.mjs (node, playwright-core, Debian's
/// chromium) against the log at `url`; fails, never skips, without them.
fn run_page_test(url: &str, files: &[(&str, PathBuf)]) {
    let browser = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && browser.join("node_modules/playwright-core/package.json").exists(),
        "the page test needs /usr/bin/chromium and tests/browser/node_modules \
         (./scripts/test installs them: scripts/env.sh)"
    );
    let mut cmd = Command::new("node");
    cmd.current_dir(&browser).args(["--test", "sm-bundle.test.mjs"]).env("EL_URL", url);
    for (k, v) in files {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run node (scripts/env.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the page disagrees on the sm2-sm3 bundle:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("# pass 7"), "{stdout}");
}

#[test]
fn a_witness_cosigns_only_logs_of_its_own_suite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("w");
    let d = d.to_str().unwrap();
    witness_cli(&["init", "--data", d, "--name", "court.example/sm", "--suite", "sm2-sm3"]);
    let ed_log = verifier::note::NoteSigner::new(
        "log.example/ed",
        ed25519_dalek::SigningKey::from_bytes(&[3; 32]),
    )
    .unwrap();
    let out = Command::new(witness_bin())
        .args(["log", "add", "--data", d, "--vkey", &ed_log.vkey()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cosigns sm2-sm3 logs"));
}

/// An `sm2-sm3` log's private side (issue 26 item 4): its records are
/// stored SM4-GCM (layout 3) under SM4-GCM-wrapped document keys and open
/// in its bundles; the document's erasure leaves them unreadable, and the
/// bundle then says erased.
#[test]
fn an_sm2_sm3_logs_records_are_sm4_gcm_and_erasure_shreds_them() {
    use ledger::sealing::LAYOUT_SM4_GCM;
    use ledger::store::{Store, TAG_RECORD};
    let doc = "contract-sm-erase";
    let mut s = Server::prepare_with(&["--suite", "sm2-sm3"]);
    s.spawn_with(&["--suite", "sm2-sm3"]);
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, doc, doc.as_bytes());
    let (code, body) = s.submit(&json!({"events": events}));
    assert_eq!(code, 200, "{body}");
    let bundle_of = |s: &Server| {
        let (code, raw) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
        assert_eq!(code, 200, "{raw}");
        Bundle::parse(raw.as_bytes()).unwrap()
    };
    let bundle = bundle_of(&s);
    assert_eq!(bundle.entries.len(), events.len());
    for e in &bundle.entries {
        let record = e.record.as_ref().expect("the record opens");
        assert_eq!(record["event"]["document_id"], doc, "{record:#}");
    }
    let indexes: Vec<u64> = bundle.entries.iter().map(|e| e.index).collect();

    // As stored: SM4-GCM records, keys wrapped with SM4-GCM, the suite
    // recorded with the index key; and so after a master key rotation.
    assert!(s.terminate());
    cli(&["rotate-master-key", "--data", s.data().to_str().unwrap()]);
    {
        let store = Store::open_read_only(&s.data().join("db")).unwrap();
        assert_eq!(store.vault_suite().unwrap().as_deref(), Some(b"sm4-gcm/hmac-sm3".as_slice()));
        for &i in &indexes {
            let sealed = store.private(i, TAG_RECORD).unwrap().expect("stored record");
            assert_eq!(sealed[32], LAYOUT_SM4_GCM, "entry {i}: SM4-GCM");
            let key_id: [u8; 32] = sealed[..32].try_into().unwrap();
            let wrapped = store.wrapped_key(&key_id).unwrap().expect("its key");
            // Rotated: the epoch layout (4) names epoch 1, and the epoch
            // key's own wrap inside it is SM4-GCM.
            assert_eq!(wrapped[0], ledger::vault::LAYOUT_EPOCH, "entry {i}: an epoch's wrap");
            let (epoch, inner) = ledger::vault::split_wrapped(&wrapped).unwrap();
            assert_eq!((epoch, inner[0]), (1, LAYOUT_SM4_GCM), "entry {i}: wrapped with SM4-GCM");
        }
    }

    s.spawn_with(&["--suite", "sm2-sm3"]);
    assert!(bundle_of(&s).entries.iter().all(|e| e.record.is_some()), "opens after rotation");
    let (code, body) = s.post(
        &format!("/v1/documents/{doc}/erase"),
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
    );
    assert_eq!(code, 200, "{body}");
    let after = bundle_of(&s);
    for i in &indexes {
        let e = after.entries.iter().find(|e| e.index == *i).expect("still in the bundle");
        assert!(e.record.is_none() && e.erased.is_some(), "entry {i}: erased, {e:?}");
    }

    assert!(s.terminate());
    let l = ledger::Ledger::open_read_only(s.data()).unwrap();
    for &i in &indexes {
        assert_eq!(l.opening(i).unwrap(), ledger::Opening::Erased, "entry {i}");
    }
    drop(l);
    let store = Store::open_read_only(&s.data().join("db")).unwrap();
    for &i in &indexes {
        // The ciphertext is gone, or at least its key is.
        let readable = match store.private(i, TAG_RECORD).unwrap() {
            None => false,
            Some(sealed) => {
                let key_id: [u8; 32] = sealed[..32].try_into().unwrap();
                store.wrapped_key(&key_id).unwrap().is_some()
            }
        };
        assert!(!readable, "entry {i}: its record is unreadable");
    }
}

/// An `sm2-sm3` log whose vault was made before SM4 (its index key wrapped
/// with AES-256-GCM and no suite recorded, as earlier builds left it)
/// keeps AES-256-GCM and HMAC-SHA-256: its records open, new ones are
/// sealed as before, and erasure works.
#[test]
fn an_sm2_sm3_log_made_before_sm4_keeps_its_aes_records() {
    use ledger::store::{Store, TAG_RECORD};
    use ledger::vault::{master_key_path, FileMasterKey, Vault};
    let doc = "contract-sm-old";
    let mut s = Server::prepare_then(&["--suite", "sm2-sm3"], |data| {
        // What an earlier build's first open made: an AES-wrapped index
        // key, nothing else (the ed25519-sha256 vault is that one).
        let store = Store::open(&data.join("db")).unwrap();
        let master = FileMasterKey::open_or_create(&master_key_path(data)).unwrap();
        Vault::open(Box::new(master), &store, Default::default(), Suite::Ed25519Sha256).unwrap();
        assert_eq!(store.vault_suite().unwrap(), None);
    });
    s.spawn_with(&["--suite", "sm2-sm3"]);
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, doc, doc.as_bytes());
    let (code, body) = s.submit(&json!({"events": events}));
    assert_eq!(code, 200, "{body}");
    let (code, raw) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(code, 200, "{raw}");
    let bundle = Bundle::parse(raw.as_bytes()).unwrap();
    assert!(bundle.entries.iter().all(|e| e.record.is_some()), "{raw}");
    let (code, body) = s.post(
        &format!("/v1/documents/{doc}/erase"),
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
    );
    assert_eq!(code, 200, "{body}");
    assert!(s.terminate());
    let store = Store::open_read_only(&s.data().join("db")).unwrap();
    assert_eq!(store.vault_suite().unwrap(), None, "the vault's suite is not changed");
    let mut aes = 0;
    for i in 0..s_size(&store) {
        if let Some(sealed) = store.private(i, TAG_RECORD).unwrap() {
            assert_eq!(sealed[32], ledger::sealing::LAYOUT_AES_256_GCM, "entry {i}");
            aes += 1;
        }
    }
    assert!(aes > 0, "the erasure entry's record, at least, is stored");
}

fn s_size(store: &ledger::store::Store) -> u64 {
    store.tree_state().unwrap().map(|t| t.size).unwrap_or(0)
}

/// Forged certified attestations, each refused on ingest with nothing
/// written: 400 `certificate_rejected` for every failure of the chain (a
/// CA the ledger does not trust, expired or not yet valid now, an issuing
/// CA without keyCertSign, an end certificate without digitalSignature, a
/// chain swapped onto another issuer, a certificate for a name registered
/// by key), and 422 `attestation_failed` for a signature by another key
/// (DESIGN.md: a bad signature is a 422).
#[test]
fn forged_certified_attestations_are_refused_on_ingest() {
    let mut s = Server::prepare_with(&["--suite", "sm2-sm3"]);
    s.spawn_with(&["--suite", "sm2-sm3"]);
    let pki = sm_pki::pki_with(&[("idp-sm2", "idp-sm2"), ("intent-sm2", "intent-sm2")]);
    let org = sm_pki::ORG;
    pki.issue("forged", "/C=CN/O=Forger/CN=idp-sm2", "other-root", "ee", 365);
    let dated = |name: &str, from: &str, to: &str| {
        pki.issue_dated(name, &format!("{org}/CN=idp-sm2"), Some("inter"), "ee", from, to);
    };
    dated("expired", "20200101000000Z", "20210101000000Z");
    dated("future", "20400101000000Z", "20410101000000Z");
    pki.issue("nosign", &format!("{org}/CN=CA without keyCertSign"), "inter", "ca_nosign", 365);
    pki.issue("under-nosign", &format!("{org}/CN=idp-sm2"), "nosign", "ee", 365);
    pki.issue("nods", &format!("{org}/CN=idp-sm2"), "inter", "nods", 365);
    pki.issue("registered", &format!("{org}/CN={}", s.services.idp.name), "inter", "ee", 365);
    register_ca(&s, &pki);

    let signers: Vec<_> = s.signers.iter().collect();
    let flow = contract_flow(&s.services, &signers, "contract-forged", b"forged");
    let identity = flow.iter().find(|e| e["kind"] == "identity_verified").unwrap().clone();
    let attempt = |issuer: &str, key: &str, chain: &[&str]| {
        let mut ev = identity.clone();
        sm_pki::certify(&pki, &mut ev, 0, common::TENANT, issuer, key, chain);
        ev
    };
    let idp = s.services.idp.name.clone();
    let forgeries = [
        ("an unpinned CA", attempt("idp-sm2", "forged", &["forged", "other-root"]), 400),
        ("expired", attempt("idp-sm2", "expired", &["expired", "inter"]), 400),
        ("not yet valid", attempt("idp-sm2", "future", &["future", "inter"]), 400),
        (
            "no keyCertSign",
            attempt("idp-sm2", "under-nosign", &["under-nosign", "nosign", "inter"]),
            400,
        ),
        ("no digitalSignature", attempt("idp-sm2", "nods", &["nods", "inter"]), 400),
        ("swapped chain", attempt("idp-sm2", "intent-sm2", &["intent-sm2", "inter"]), 400),
        ("a registered name", attempt(&idp, "registered", &["registered", "inter"]), 400),
        ("another key", attempt("idp-sm2", "intent-sm2", &["idp-sm2", "inter"]), 422),
    ];
    let size = s.tree_size_latest();
    for (what, ev, want) in &forgeries {
        let (code, body) = s.submit(&json!({"events": [ev]}));
        assert_eq!(code, *want, "{what}: {body}");
        let code_name = if *want == 400 { "certificate_rejected" } else { "attestation_failed" };
        assert_eq!(body["error"]["code"], code_name, "{what}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("events[0]"), "{body}");
    }
    assert_eq!(s.tree_size_latest(), size, "nothing was written");
    // The same event from the genuine certificate is taken.
    let (code, body) = s.submit(&attempt("idp-sm2", "idp-sm2", &["idp-sm2", "inter"]));
    assert_eq!(code, 200, "{body}");
    // A registration that is not an SM2 CA is refused, and writes nothing.
    let size = s.tree_size_latest();
    for root_pem in [pki.pem("idp-sm2"), "not a certificate".to_owned()] {
        let body = json!({"name": "bad-ca", "root_pem": root_pem});
        let (code, rec) =
            s.post("/v1/issuer-cas", Some(&s.tokens.platform), serde_json::to_vec(&body).unwrap());
        assert_eq!(code, 400, "{rec}");
    }
    assert_eq!(s.tree_size_latest(), size);
}
