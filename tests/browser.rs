//! The public verifier page in a real browser: starts the real server,
//! writes a contract flow, fetches its evidence bundle, and runs
//! tests/browser/verify.test.mjs and v2-page.test.mjs (Debian's headless Chromium driven by
//! playwright-core) over a valid bundle, a tampered one, a different file,
//! a file-only lookup, a bundle forged with its own log key, an invented
//! witness line, escape sequences in a record, a trust policy loaded on
//! the page, and a bundle whose event carries an RFC 3161 token checked
//! against a policy holding the TSA's root. Then compares the checks the JavaScript verifier
//! showed with the Rust verifier's report of the same inputs: two
//! independent implementations of docs/bundle-format.md must agree.
//!
//! Needs `node`, `/usr/bin/chromium` and `tests/browser/node_modules`;
//! `./scripts/test` installs them (scripts/env.sh).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::*;
use ed25519_dalek::SigningKey;
use evidence_ledger::flows::contract_flow;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle_bytes, verify_lookup_bytes, VerifyOptions};
use verifier::checkpoint::SignedCheckpoint;
use verifier::cosignature::CosignatureSigner;
use verifier::hash::leaf_hash;
use verifier::note::NoteSigner;
use verifier::note::NoteVerifier;
use verifier::policy::TrustPolicy;
use verifier::proof::verify_inclusion;
use verifier::v2::{
    leaf_bytes, leaf_v2_bytes, parse_any_leaf, record_commitment, CommitmentAlg, Leaf,
};
use verifier::Hash;

const CHROMIUM: &str = "/usr/bin/chromium";
const DOCUMENT_ID: &str = "contract-browser-1";
const WITNESS: &str = "notary.test/w1";
const STAMPED_ID: &str = "contract-browser-stamped";
const TSA_NAME: &str = "test-tsa";

/// The RFC 3161 fixtures (verifier/tests/data/tsa): a TSA root, and a token
/// from `openssl ts` over document.txt.
fn tsa_fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("verifier/tests/data/tsa").join(name)).unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails (never skips) when the browser toolchain is missing.
fn require_toolchain() {
    let node = Command::new("node").arg("--version").output();
    let mut missing = Vec::new();
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("node".to_string());
    }
    if !Path::new(CHROMIUM).exists() {
        missing.push(CHROMIUM.to_string());
    }
    let pw = repo().join("tests/browser/node_modules/playwright-core/package.json");
    if !pw.exists() {
        missing.push("tests/browser/node_modules (playwright-core)".to_string());
    }
    assert!(
        missing.is_empty(),
        "the browser test needs {}: run ./scripts/test, which installs chromium and \
         playwright-core (scripts/env.sh), or `apt-get install chromium && npm ci --prefix tests/browser`",
        missing.join(", ")
    );
}

/// The bundle's checkpoint countersigned by a test witness, as a partner's
/// witness would: exercises the page's cosignature/v1 check.
fn add_cosignature(bundle: &mut Value) {
    let witness = CosignatureSigner::new(WITNESS, SigningKey::from_bytes(&[7; 32])).unwrap();
    let note = bundle["checkpoint"].as_str().unwrap().to_string();
    let body = format!("{}\n", note.split("\n\n").next().unwrap());
    // Dated now: a cosignature cannot predate the entries it covers.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let line = witness.cosign(&body, now).to_line();
    bundle["checkpoint"] = json!(format!("{note}{line}"));
    bundle["witnesses"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": WITNESS, "vkey": witness.vkey()}));
}

/// The bundle with the identity method of its first identity check changed
/// (still canonical JSON): its inclusion proof and attestation must fail.
fn tamper(bundle: &Value) -> Value {
    replace_in_record(bundle, "phone_3_factor", "face")
}

/// The bundle with `from` replaced by `to` in the record that holds it,
/// and that entry's v2 leaf recomputed to commit to the altered record (a
/// consistent forgery: the record still opens its leaf, but that leaf is
/// not the one the log holds, and the attestations no longer match).
fn replace_in_record(bundle: &Value, from: &str, to: &str) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut t = bundle.clone();
    let entry = t["entries"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["record"].to_string().contains(from))
        .expect("a record holding the text");
    let record: Value =
        serde_json::from_str(&serde_json::to_string(&entry["record"]).unwrap().replace(from, to))
            .unwrap();
    let leaf = b64.decode(entry["leaf"].as_str().unwrap()).unwrap();
    let Leaf::V2(old) = parse_any_leaf(&leaf).unwrap() else { panic!("a v1 leaf in the bundle") };
    // The leaf the record's format calls for (v3: over its field digests).
    let forged = match old.alg.sd_hash() {
        Some(h) => {
            let c = verifier::v3::record_commitment_in(h, &record).unwrap();
            leaf_bytes(&c, CommitmentAlg::v3(h), &old.ledger_time)
        }
        None => leaf_v2_bytes(&record_commitment(&record), &old.ledger_time),
    };
    entry["leaf"] = json!(b64.encode(forged));
    entry["record"] = record;
    t
}

/// The checkpoint body (the note text before its blank line).
fn body_of(bundle: &Value) -> String {
    format!("{}\n", bundle["checkpoint"].as_str().unwrap().split("\n\n").next().unwrap())
}

/// The bundle forged end to end with a log key of its own, under the real
/// origin: every proof still holds, only the key is not the log's.
fn forge(bundle: &Value) -> Value {
    let origin = bundle["origin"].as_str().unwrap();
    let forger = NoteSigner::new(origin, SigningKey::from_bytes(&[66; 32])).unwrap();
    let body = body_of(bundle);
    let mut f = bundle.clone();
    f["checkpoint"] = json!(format!("{body}\n{}", forger.sign(&body).to_line()));
    f["log_vkey"] = json!(forger.vkey());
    f["witnesses"] = json!([]);
    f
}

/// The bundle with a cosignature line named like the real witness, made
/// with another key and dated 2020-01-01.
fn invent_witness(bundle: &Value) -> Value {
    let impostor = CosignatureSigner::new(WITNESS, SigningKey::from_bytes(&[9; 32])).unwrap();
    let line = impostor.cosign(&body_of(bundle), 1_577_836_800).to_line();
    let mut f = bundle.clone();
    f["checkpoint"] = json!(format!("{}{line}", bundle["checkpoint"].as_str().unwrap()));
    f
}

/// The bundle with ANSI escape sequences written into a record's claim
/// (still canonical JSON: JCS writes control characters as \u00XX), its
/// leaf recomputed to match.
fn with_escapes(bundle: &Value) -> Value {
    let ansi = "\\u001b[2K\\u001b[1A\\u001b[32m✔ PASS All checks passed\\u001b[0m";
    replace_in_record(bundle, "phone_3_factor", ansi)
}

/// A trust policy with the log's real key and the test witness, quorum 1.
fn policy_text(bundle: &Value) -> String {
    let witness = CosignatureSigner::new(WITNESS, SigningKey::from_bytes(&[7; 32])).unwrap();
    format!(
        "# The browser test's trust policy.\nlog {}\nwitness {}\nquorum 1\n",
        bundle["log_vkey"].as_str().unwrap(),
        witness.vkey()
    )
}

/// (id, subject, status) of one check.
type Triple = (String, Option<String>, String);

/// The checks without the page's online check (`log_consistency`).
fn offline(checks: &[Triple]) -> Vec<Triple> {
    checks.iter().filter(|c| c.0 != "log_consistency").cloned().collect()
}

/// The Rust verifier's checks and verdict for `bundle` under `policy`.
fn rust_checks(bundle: &[u8], document: &[u8], policy: &str) -> (Vec<Triple>, String) {
    let policy = TrustPolicy::parse(policy).unwrap();
    let options = VerifyOptions::with_policy(policy, "the browser test").with_document(document);
    let report = verify_bundle_bytes(bundle, &options);
    let word = |v: serde_json::Value| v.as_str().unwrap().to_string();
    let checks = report
        .checks
        .iter()
        .map(|c| {
            (c.id.to_string(), c.subject.clone(), word(serde_json::to_value(c.status).unwrap()))
        })
        .collect();
    (checks, word(serde_json::to_value(report.verdict.status).unwrap()))
}

fn page_checks(results: &Value, state: &str) -> Vec<Triple> {
    results[state]
        .as_array()
        .unwrap_or_else(|| panic!("no results for {state}"))
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["subject"].as_str().map(str::to_string),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn verifier_page_in_headless_chromium() {
    require_toolchain();
    // The server trusts the fixtures' TSA root, so that it takes the event
    // carrying the fixture token.
    let mut s = Server::prepare();
    let root = repo().join("verifier/tests/data/tsa/root-ca.pem");
    let data = s.data().to_str().unwrap().to_string();
    cli(&[
        "tsa",
        "add",
        "--data",
        &data,
        "--name",
        TSA_NAME,
        "--root-cert",
        root.to_str().unwrap(),
    ]);
    s.spawn();
    let signers: Vec<_> = s.signers.iter().collect();
    let stamped_doc = tsa_fixture("document.txt");
    let mut stamped_flow = contract_flow(&s.services, &signers, STAMPED_ID, &stamped_doc);
    let token = base64::engine::general_purpose::STANDARD.encode(tsa_fixture("token-rsa.der"));
    stamped_flow[0]["timestamp_token"] = json!(token);
    let (status, body) = s.submit(&json!({ "events": stamped_flow }));
    assert_eq!(status, 200, "{body}");
    let (status, text) =
        s.get(&format!("/v1/documents/{STAMPED_ID}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{text}");
    let mut stamped: Value = serde_json::from_str(&text).unwrap();
    add_cosignature(&mut stamped);

    let document = "电子合同 第42号：甲方王*与乙方李*签署的买卖合同。\n".repeat(50);
    let events = contract_flow(&s.services, &signers, DOCUMENT_ID, document.as_bytes());
    let (status, body) = s.submit(&json!({ "events": events }));
    assert_eq!(status, 200, "{body}");

    let (status, text) =
        s.get(&format!("/v1/documents/{DOCUMENT_ID}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{text}");
    let mut bundle: Value = serde_json::from_str(&text).unwrap();
    add_cosignature(&mut bundle);
    // The log grows after the bundle was made: the page must prove, with a
    // consistency proof, that today's log extends the bundle's checkpoint.
    let later = contract_flow(&s.services, &signers, "contract-later", b"another contract");
    assert_eq!(s.submit(&json!({ "events": later })).0, 200);

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let bundle_bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    let tampered_bytes = serde_json::to_vec_pretty(&tamper(&bundle)).unwrap();
    let forged_bytes = serde_json::to_vec_pretty(&forge(&bundle)).unwrap();
    let invented_bytes = serde_json::to_vec_pretty(&invent_witness(&bundle)).unwrap();
    let ansi_bytes = serde_json::to_vec_pretty(&with_escapes(&bundle)).unwrap();
    let policy = policy_text(&bundle);
    let other = b"a different file, never signed\n".to_vec();
    let file = write("合同-42.txt", document.as_bytes());
    let other_file = write("other.txt", &other);
    let bundle_path = write("bundle.json", &bundle_bytes);
    let tampered_path = write("bundle-tampered.json", &tampered_bytes);
    let forged_path = write("bundle-forged.json", &forged_bytes);
    let invented_path = write("bundle-invented-witness.json", &invented_bytes);
    let ansi_path = write("bundle-escapes.json", &ansi_bytes);
    let policy_path = write("court.policy", policy.as_bytes());
    let stamped_bytes = serde_json::to_vec_pretty(&stamped).unwrap();
    let root_pem = String::from_utf8(tsa_fixture("root-ca.pem")).unwrap();
    let stamped_policy = format!("{policy}tsa {TSA_NAME}\n{}\n", root_pem.trim());
    let stamped_file = write("document.txt", &stamped_doc);
    let stamped_path = write("bundle-stamped.json", &stamped_bytes);
    let stamped_policy_path = write("court-with-tsa.policy", stamped_policy.as_bytes());
    let results_path = dir.path().join("results.json");
    let screenshots = repo().join("tests/browser/screenshots");

    let out = Command::new("node")
        .current_dir(repo().join("tests/browser"))
        .args(["--test", "verifier.test.mjs", "verify.test.mjs", "v2-page.test.mjs"])
        .env("EL_URL", &s.url)
        .env("EL_FILE", &file)
        .env("EL_OTHER_FILE", &other_file)
        .env("EL_BUNDLE", &bundle_path)
        .env("EL_TAMPERED", &tampered_path)
        .env("EL_FORGED", &forged_path)
        .env("EL_INVENTED", &invented_path)
        .env("EL_ANSI", &ansi_path)
        .env("EL_POLICY", &policy_path)
        .env("EL_STAMPED_FILE", &stamped_file)
        .env("EL_STAMPED", &stamped_path)
        .env("EL_STAMPED_POLICY", &stamped_policy_path)
        .env("EL_SCREENSHOTS", &screenshots)
        .env("EL_RESULTS", &results_path)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("screenshots in {}", screenshots.display());

    let results: Value =
        serde_json::from_slice(&std::fs::read(&results_path).expect("results written")).unwrap();
    // Without a policy the page verifies as the CLI does without one (no
    // anchors: never "verified"); what GET /v1/log's keys would say is
    // only shown beside it, as that server's claim.
    let server = String::new();
    let doc = document.as_bytes();
    for (state, bytes, file, anchors) in [
        ("verified", &bundle_bytes, doc, &server),
        ("tampered", &tampered_bytes, doc, &server),
        ("other_file", &bundle_bytes, other.as_slice(), &server),
        ("forged", &forged_bytes, doc, &server),
        ("policy", &bundle_bytes, doc, &policy),
        ("invented", &invented_bytes, doc, &policy),
        ("ansi", &ansi_bytes, doc, &policy),
        ("stamped", &stamped_bytes, stamped_doc.as_slice(), &stamped_policy),
    ] {
        let (checks, verdict) = rust_checks(bytes, file, anchors);
        assert_eq!(
            offline(&page_checks(&results, state)),
            checks,
            "the page and the Rust verifier disagree on {state}"
        );
        // The page also checks the bundle's checkpoint against the live log
        // (log_consistency, online only): when that fails, so does its
        // verdict; otherwise it is the offline verifier's.
        let live_failed =
            page_checks(&results, state).iter().any(|c| c.0 == "log_consistency" && c.2 == "fail");
        let want = if live_failed { "failed".to_string() } else { verdict };
        assert_eq!(results["verdicts"][state], want, "verdict of {state}");
    }
    let verdicts = &results["verdicts"];
    for (state, want) in [
        ("verified", "no_trusted_log_key"),
        ("policy", "verified"),
        ("tampered", "failed"),
        // Self-keyed: not verified offline, and the live log is not
        // signed by the bundle's key.
        ("forged", "failed"),
        ("invented", "failed"),
        ("ansi", "failed"),
        ("stamped", "verified"),
    ] {
        assert_eq!(verdicts[state], want, "{state}");
    }
    let stamp = page_checks(&results, "stamped");
    assert!(
        stamp.iter().any(|c| c.0 == "event_timestamp" && c.2 == "pass"),
        "the page checked the token: {stamp:?}"
    );
    let (tampered, _) = rust_checks(&tampered_bytes, doc, &server);
    let failed: Vec<_> = tampered.iter().filter(|c| c.2 == "fail").map(|c| &c.0).collect();
    // The altered leaf is not the one the log holds (inclusion), its claim
    // is not what the issuer signed (attestations), and the next entry of
    // the contract names the genuine leaf as its previous (completeness).
    assert_eq!(failed, ["completeness", "inclusion", "attestations"], "{tampered:?}");
}

/// `GET /v1/lookup` and the page's files, without a browser.
#[test]
fn lookup_and_page_files() {
    let s = Server::start();
    let signers: Vec<_> = s.signers.iter().collect();
    let document = b"contract text for lookup";
    let events = contract_flow(&s.services, &signers, "contract-lookup", document);
    assert_eq!(s.submit(&json!({ "events": events.clone() })).0, 200);

    let hash = verifier::Hash::digest(document).to_hex();
    let answer = s.get_json(&format!("/v1/lookup?document_hash={hash}"));
    assert_eq!(answer["format"], "evidence-lookup/v2");
    assert_eq!(answer["document_hash"], hash);
    assert_eq!(answer["total_entries"], events.len());
    assert_eq!(answer["truncated"], false);
    // The holder of the file sees the ledger's summary per entry: kinds in
    // order, numbered parties (platform, then each signer), platform-wide
    // issuer names ("signer" for a signer's own key), checked on ingest.
    let entries = answer["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e["summary"]["kind"].as_str().unwrap()).collect();
    let want: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, want);
    let parties: Vec<u64> =
        entries.iter().map(|e| e["summary"]["party"].as_u64().unwrap()).collect();
    assert_eq!(parties, [1, 2, 2, 2, 3, 3, 3, 1]);
    let issuers: Vec<&Value> = entries.iter().map(|e| &e["summary"]["issuers"]).collect();
    assert_eq!(issuers[1], &json!(["idp-gov"]));
    assert_eq!(issuers[2], &json!(["intent-svc"]));
    assert_eq!(issuers[3], &json!(["signer"]));
    assert!(entries.iter().all(|e| e["summary"]["checked_on_ingest"] == true));
    // ... and nothing about who: no tenant, contract id, actor, name or claim.
    assert!(answer.get("tenant").is_none() && answer.get("document_id").is_none());
    let text = answer.to_string();
    let tenant = format!("\"{TENANT}\"");
    for hidden in
        [&tenant, "contract-lookup", "u-1", "u-2", "王*", "李*", "phone_3_factor", "sms_code"]
    {
        assert!(!text.contains(hidden), "the lookup shows {hidden}: {text}");
    }
    // Every leaf is a v2 leaf of the summary's time, in the log: its
    // inclusion proof verifies against the answer's checkpoint, signed by
    // the log's key.
    let log = NoteVerifier::from_vkey(answer["log_vkey"].as_str().unwrap()).unwrap();
    assert_eq!(answer["log_vkey"], s.get_json("/v1/log")["vkey"]);
    let cp = SignedCheckpoint::verify(answer["checkpoint"].as_str().unwrap().as_bytes(), &log)
        .unwrap()
        .checkpoint;
    assert_eq!(answer["tree_size"], cp.size);
    let b64 = base64::engine::general_purpose::STANDARD;
    for e in entries {
        let leaf = b64.decode(e["leaf"].as_str().unwrap()).unwrap();
        let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else { panic!("a v1 leaf: {e}") };
        assert_eq!(e["summary"]["ledger_time"], v2.ledger_time);
        let proof: Vec<Hash> = e["inclusion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
            .collect();
        verify_inclusion(
            &leaf_hash(&leaf),
            e["index"].as_u64().unwrap(),
            cp.size,
            &proof,
            &cp.root,
        )
        .unwrap();
    }
    // The authorized view (the contract's bundle, as legal) holds the same
    // leaves with the records that open them, and passes every check
    // against the log's key with the file.
    let (status, raw) = s.get("/v1/documents/contract-lookup/bundle", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{raw}");
    let bundle: Value = serde_json::from_str(&raw).unwrap();
    let leaves = |v: &Value| -> Vec<(Value, Value)> {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["index"].clone(), e["leaf"].clone()))
            .collect()
    };
    assert_eq!(leaves(&bundle), leaves(&answer));
    for e in bundle["entries"].as_array().unwrap() {
        assert_eq!(e["record"]["event"]["document_hash"], hash);
        assert_eq!(e["record"]["tenant"], TENANT);
    }
    let policy =
        TrustPolicy::parse(&format!("log {}\n", answer["log_vkey"].as_str().unwrap())).unwrap();
    let report = verify_bundle_bytes(
        raw.as_bytes(),
        &VerifyOptions::with_policy(policy, "the log's key").with_document(document),
    );
    assert!(report.passed, "{}", report.to_text());

    // Record v3: the contract's chain runs from its first entry through
    // completion.
    let chain = report.completeness.as_ref().expect("a v3 bundle has a completeness fact");
    assert!(chain.complete && chain.through_completion, "{chain:?}");
    assert_eq!(chain.entries, events.len() as u64);

    // Each entry discloses its document hash and kind, with the digests
    // of the other nine fields: the Rust verifier and POST /v1/verify
    // check them against the leaves and call the answer verified for this
    // file, under the log's key alone.
    for e in entries {
        let names: Vec<&str> =
            e["disclosures"].as_array().unwrap().iter().map(|d| d[1].as_str().unwrap()).collect();
        assert_eq!(names, ["event.document_hash", "event.kind"]);
        assert_eq!(e["disclosures"][0][2], hash);
        assert_eq!(e["digests"].as_object().unwrap().len(), 9);
    }
    let lookup_policy = format!("log {}\n", answer["log_vkey"].as_str().unwrap());
    let options = |file: &[u8]| {
        VerifyOptions::with_policy(TrustPolicy::parse(&lookup_policy).unwrap(), "the log's key")
            .with_document(file)
    };
    let answer_bytes = serde_json::to_vec(&answer).unwrap();
    let lookup_report = verify_lookup_bytes(&answer_bytes, &options(document));
    assert!(lookup_report.passed, "{}", lookup_report.to_text());
    let item = json!({"lookup": answer, "policy": lookup_policy, "document_sha256": hash});
    let (status, verdict) = s.post("/v1/verify", None, serde_json::to_vec(&item).unwrap());
    assert_eq!((status, &verdict["verdict"]["status"]), (200, &json!("verified")), "{verdict}");
    // The same genuine answer, presented as the answer for a file that was
    // never logged: the disclosures name the logged document, not it.
    let never = b"a file that was never logged";
    let mut forged = answer.clone();
    forged["document_hash"] = json!(verifier::Hash::digest(never).to_hex());
    let forged_bytes = serde_json::to_vec(&forged).unwrap();
    let forged_report = verify_lookup_bytes(&forged_bytes, &options(never));
    assert_eq!(serde_json::to_value(forged_report.verdict.status).unwrap(), "failed");
    let failed: Vec<&str> = forged_report.failures().map(|c| c.id).collect();
    assert!(failed.iter().all(|id| *id == "lookup_summary"), "{failed:?}");

    let unknown = verifier::Hash::digest(b"never logged").to_hex();
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={unknown}"), None).0, 404);
    for bad in [
        String::new(),
        "document_hash=xyz".into(),
        format!("document_hash={}", hash.to_uppercase()),
        format!("document_hash={hash}&document_hash={hash}"),
        format!("document_hash={hash}&tenant=acme"),
    ] {
        let (status, body) = s.get(&format!("/v1/lookup?{bad}"), None);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("bad_query"), "{body}");
    }

    for (path, kind) in [
        ("/verify", "text/html"),
        ("/verify/", "text/html"),
        ("/verify/verify.js", "text/javascript"),
        ("/verify/verifier.js", "text/javascript"),
        ("/verify/verifier/error.js", "text/javascript"),
        ("/verify/verifier/std.js", "text/javascript"),
        ("/verify/verifier/hash.js", "text/javascript"),
        ("/verify/verifier/jcs.js", "text/javascript"),
        ("/verify/verifier/ed25519.js", "text/javascript"),
        ("/verify/verifier/note.js", "text/javascript"),
        ("/verify/verifier/checkpoint.js", "text/javascript"),
        ("/verify/verifier/cosignature.js", "text/javascript"),
        ("/verify/verifier/proof.js", "text/javascript"),
        ("/verify/verifier/entry.js", "text/javascript"),
        ("/verify/verifier/attest.js", "text/javascript"),
        ("/verify/verifier/v2.js", "text/javascript"),
        ("/verify/verifier/v3.js", "text/javascript"),
        ("/verify/verifier/tsa.js", "text/javascript"),
        ("/verify/verifier/tsa/asn1.js", "text/javascript"),
        ("/verify/verifier/tsa/crypto.js", "text/javascript"),
        ("/verify/verifier/tsa/chain.js", "text/javascript"),
        ("/verify/vendor/pki.js", "text/javascript"),
        ("/verify/verifier/policy.js", "text/javascript"),
        ("/verify/verifier/report.js", "text/javascript"),
        ("/verify/verifier/verdict.js", "text/javascript"),
        ("/verify/verifier/bundle.js", "text/javascript"),
        ("/verify/verifier/bundle/decode.js", "text/javascript"),
        ("/verify/verifier/bundle/content.js", "text/javascript"),
        ("/verify/verifier/bundle/commitments.js", "text/javascript"),
        ("/verify/verifier/bundle/completeness.js", "text/javascript"),
        ("/verify/verifier/bundle/signatures.js", "text/javascript"),
        ("/verify/verifier/bundle/attestations.js", "text/javascript"),
        ("/verify/verifier/bundle/timeline.js", "text/javascript"),
        ("/verify/verifier/bundle/timestamps.js", "text/javascript"),
        ("/verify/verifier/consistency.js", "text/javascript"),
        ("/verify/verifier/lookup.js", "text/javascript"),
        ("/verify/i18n.js", "text/javascript"),
        ("/verify/verify.css", "text/css"),
    ] {
        let resp = s.client().get(format!("{}{path}", s.url)).send().unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let h = resp.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"));
    }
    assert_eq!(s.get("/verify/nope.js", None).0, 404);
    assert_eq!(s.get("/verify/verifier/nope.js", None).0, 404);
}
