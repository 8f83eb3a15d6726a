//! GM/T 0033 trusted timestamps on ingest (issue 26 item 5): a server that
//! trusts an SM2 TSA root accepts events whose `timestamp_token` (SHA-256
//! imprint of the document hash) and `event_timestamp_token` (SM3 imprint
//! of the event's canonical JSON) are signed SM2 over SM3, refuses a
//! tampered token, a wrong imprint and an untrusted SM2 TSA with 422 and
//! writes nothing, and the bundle's timestamps verify offline.
//! The tokens are made by verifier/tests/gm_pki (OpenSSL 3).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../verifier/tests/gm_pki/mod.rs"]
mod gm_pki;

use base64::Engine as _;
use common::*;
use evidence_ledger::flows::signed_event;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle, Bundle, VerifyOptions};
use verifier::policy::TrustPolicy;
use verifier::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn event(s: &Server, id: &str, doc_hash: &str) -> Value {
    signed_event(&s.signers[0].issuer, id, "contract-sm2-ts", doc_hash)
}

#[test]
fn sm2_tokens_are_verified_on_ingest_and_in_the_bundle() {
    let pki = gm_pki::GmPki::new();
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    let root = pki.path("root.pem");
    cli(&["tsa", "add", "--data", &d, "--name", "sm2-tsa", "--root-cert", root.to_str().unwrap()]);
    s.spawn();

    let doc = b"purchase contract no. 8, signed under the national suite";
    let h = Hash::digest(doc);
    let sm2_token = |data: &[u8], digest: &str, tsa: &str, chain: &[&str]| {
        pki.sm2_token(&pki.tst_info(data, digest), tsa, chain, gm_pki::SM2_WITH_SM3)
    };
    // The document's token: SHA-256 imprint (the event's document_hash).
    let good = sm2_token(doc, "sha256", "tsa", &["tsa", "inter"]);
    let mut ev = event(&s, "sm2-ts-ok", &h.to_hex());
    ev["timestamp_token"] = json!(B64.encode(&good));
    // The event's own token: SM3 of its canonical JSON, as a GM/T 0033
    // TSA imprints it.
    let content = verifier::jcs::to_canonical(&ev);
    ev["event_timestamp_token"] =
        json!(B64.encode(sm2_token(&content, "sm3", "tsa", &["tsa", "inter"])));
    let (status, body) = s.submit(&ev);
    assert_eq!(status, 200, "{body}");

    let size = s.tree_size();
    let mut tampered = good.clone();
    let n = tampered.len();
    tampered[n - 1] ^= 0x01; // the last byte of the SM2 signature
    let other_doc = sm2_token(b"another document", "sha256", "tsa", &["tsa", "inter"]);
    let sm3_doc = sm2_token(doc, "sm3", "tsa", &["tsa", "inter"]);
    let untrusted = sm2_token(doc, "sha256", "other-tsa", &["other-tsa", "other-root"]);
    let cases = [
        ("tampered SM2 signature", tampered, "signature does not verify"),
        ("token over another document", other_doc, "message imprint does not match"),
        ("SM3 imprint of a SHA-256 document hash", sm3_doc, "not SHA-256"),
        ("SM2 TSA under an untrusted root", untrusted, "not issued by a trusted TSA"),
    ];
    for (i, (name, token, why)) in cases.into_iter().enumerate() {
        let mut ev = event(&s, &format!("sm2-ts-bad-{i}"), &h.to_hex());
        ev["timestamp_token"] = json!(B64.encode(&token));
        let (status, body) = s.submit(&ev);
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(body["error"]["code"], "timestamp_failed", "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{name}: {body}");
        assert_eq!(s.tree_size(), size, "{name} wrote something");
    }
    // An event token over another event's content.
    let mut wrong = event(&s, "sm2-ts-event-bad", &h.to_hex());
    wrong["event_timestamp_token"] =
        json!(B64.encode(sm2_token(&content, "sm3", "tsa", &["tsa", "inter"])));
    let (status, body) = s.submit(&wrong);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("event_timestamp_token"), "{body}");
    assert_eq!(s.tree_size(), size);

    // Offline, the bundle's two SM2 tokens verify under the SM2 root.
    let (status, text) = s.get("/v1/documents/contract-sm2-ts/bundle", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{text}");
    let bundle = Bundle::parse(text.as_bytes()).unwrap();
    let policy = TrustPolicy::from_log_json(&s.get_json("/v1/log")).unwrap();
    let options = VerifyOptions::with_policy(policy, "the server's /v1/log").with_document(doc);
    let report = verify_bundle(&bundle, &options);
    for id in ["event_timestamp", "event_content_timestamp"] {
        let checks: Vec<_> = report.checks.iter().filter(|c| c.id == id).collect();
        assert_eq!(checks.len(), 1, "{id}");
        assert!(checks[0].passed, "{:?}", checks[0]);
    }
    assert!(report.timestamps.iter().all(|t| t.tsa == "sm2-tsa"), "{report:?}");
    assert!(report.passed, "{}", report.to_text());
    let _ = s.terminate();
}
