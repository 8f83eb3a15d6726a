//! End-to-end: the real server process, its pinned endpoints, proofs
//! checked with the verifier crate, restart, bad input, and the auth matrix.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::*;
use evidence_ledger::flows::{contract_flow, signed_event, Issuer};
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::hash::leaf_hash;
use verifier::note::NoteVerifier;
use verifier::proof::{verify_consistency, verify_inclusion};
use verifier::v2::{open_leaf, parse_any_leaf, Leaf};
use verifier::Hash;

fn b64d(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap()).collect()
}

fn log_key(s: &Server) -> NoteVerifier {
    NoteVerifier::from_vkey(s.get_json("/v1/log")["vkey"].as_str().unwrap()).unwrap()
}

fn flow(s: &Server, doc: &str) -> Vec<Value> {
    let signers: Vec<_> = s.signers.iter().collect();
    contract_flow(&s.services, &signers, doc, format!("document {doc}").as_bytes())
}

/// Checks a receipt against the log key and the leaf the server serves.
fn check_receipt(s: &Server, log: &NoteVerifier, r: &Value, document_id: &str) {
    let cp = SignedCheckpoint::verify(r["checkpoint"].as_str().unwrap().as_bytes(), log).unwrap();
    assert_eq!(cp.checkpoint.size, r["tree_size"].as_u64().unwrap());
    let index = r["index"].as_u64().unwrap();
    let entry = s.get_json(&format!("/v1/entries/{index}"));
    let leaf = b64d(entry["leaf"].as_str().unwrap());
    let lh = Hash::from_base64(r["leaf_hash"].as_str().unwrap()).unwrap();
    assert_eq!(leaf_hash(&leaf), lh);
    // The public leaf (v2) shows a commitment and a time, nothing else.
    assert_eq!(entry["entry"]["format"], "evidence-leaf/v2");
    assert_eq!(entry["entry"]["ledger_time"], r["ledger_time"]);
    for hidden in ["event", "tenant"] {
        assert!(entry["entry"].get(hidden).is_none(), "public leaf shows {hidden}: {entry}");
    }
    let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else { panic!("v1 leaf at {index}") };
    // The authorized view (the contract's bundle, as legal) holds the
    // record that opens it: the event and the tenant.
    let (status, body) =
        s.get(&format!("/v1/documents/{document_id}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bundle["format"], "evidence-bundle/v2");
    let be = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["index"] == index)
        .unwrap_or_else(|| panic!("entry {index} not in the bundle of {document_id}"));
    assert_eq!(be["leaf"], entry["leaf"]);
    let record = &be["record"];
    assert_eq!(record["event"]["event_id"], r["event_id"]);
    assert_eq!(record["event"]["document_id"], document_id);
    assert_eq!(record["tenant"], TENANT);
    open_leaf(&v2, record).expect("the record opens the public leaf");
    verify_inclusion(&lh, index, cp.checkpoint.size, &hashes(&r["inclusion"]), &cp.checkpoint.root)
        .unwrap();
}

#[test]
fn events_get_durable_receipts_whose_proofs_verify() {
    let mut s = Server::start();
    let log = log_key(&s);
    // The operator's setup (tokens, issuers) is in the log already, as
    // registry_changed entries written before this server process started.
    let setup = s.tree_size_latest();
    // One event alone, then batches.
    let events = flow(&s, "contract-1");
    let (status, body) = s.submit(&events[0]);
    assert_eq!(status, 200, "{body}");
    let first_cp = body["receipts"][0]["checkpoint"].as_str().unwrap().to_string();
    check_receipt(&s, &log, &body["receipts"][0], "contract-1");
    let (status, body) = s.submit(&json!({"events": events[1..].to_vec()}));
    assert_eq!(status, 200, "{body}");
    let receipts = body["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), events.len() - 1);
    for (r, e) in receipts.iter().zip(&events[1..]) {
        assert_eq!(r["event_id"], e["event_id"], "receipts in submission order");
        check_receipt(&s, &log, r, e["document_id"].as_str().unwrap());
    }
    for i in 0..5 {
        assert_eq!(s.submit(&json!({"events": flow(&s, &format!("c-{i}"))})).0, 200);
    }

    // Every entry's inclusion proof against the latest checkpoint, from the API.
    let note = s.get("/v1/checkpoint", None).1;
    let latest = SignedCheckpoint::verify(note.as_bytes(), &log).unwrap().checkpoint;
    for index in 0..latest.size {
        let leaf = b64d(s.get_json(&format!("/v1/entries/{index}"))["leaf"].as_str().unwrap());
        let p = s.get_json(&format!("/v1/proof/inclusion?index={index}&tree_size={}", latest.size));
        assert_eq!(p["index"], index);
        verify_inclusion(
            &leaf_hash(&leaf),
            index,
            latest.size,
            &hashes(&p["hashes"]),
            &latest.root,
        )
        .unwrap();
    }
    // And the first checkpoint is consistent with the latest.
    let old = SignedCheckpoint::verify(first_cp.as_bytes(), &log).unwrap().checkpoint;
    let p = s.get_json(&format!("/v1/proof/consistency?old={}&new={}", old.size, latest.size));
    verify_consistency(old.size, latest.size, &old.root, &latest.root, &hashes(&p["hashes"]))
        .unwrap();

    // Metrics count what happened.
    let metrics = s.get("/metrics", None).1;
    let value = |name: &str| -> f64 {
        let line =
            metrics.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("evidence_group_commits ") >= 2.0);
    assert_eq!(value("evidence_group_commit_events "), (latest.size - setup) as f64);
    assert_eq!(value("evidence_tree_size "), latest.size as f64);
    let accepted = (latest.size - setup) as f64;
    assert_eq!(value("evidence_events_total{outcome=\"accepted\"}"), accepted);

    // Restart keeps everything, and the same proofs are served.
    s.restart();
    assert_eq!(s.tree_size(), latest.size);
    let p2 = s.get_json(&format!("/v1/proof/consistency?old={}&new={}", old.size, latest.size));
    assert_eq!(p, p2);
    let (status, _) = s.submit(&json!({"events": flow(&s, "after-restart")}));
    assert_eq!(status, 200);
}

#[test]
fn resubmission_is_idempotent_and_changed_content_conflicts() {
    let s = Server::start();
    let events = flow(&s, "contract-idem");
    let (_, a) = s.submit(&json!({"events": events}));
    let (status, b) = s.submit(&json!({"events": events}));
    assert_eq!(status, 200);
    for (x, y) in a["receipts"].as_array().unwrap().iter().zip(b["receipts"].as_array().unwrap()) {
        for k in ["event_id", "index", "leaf_hash", "ledger_time"] {
            assert_eq!(x[k], y[k]);
        }
    }
    let size = s.tree_size();
    let mut changed = events[1].clone();
    changed["actor"]["display"] = json!("赵*");
    let (status, body) = s.submit(&changed);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(s.tree_size(), size);
}

/// A table of bad submissions: each is a 4xx with a JSON error and writes nothing.
#[test]
fn bad_input_is_rejected_with_a_4xx_and_changes_nothing() {
    let s = Server::start();
    let good = || flow(&s, "contract-bad")[1].clone();
    assert_eq!(s.submit(&good()).0, 200);
    let size = s.tree_size();

    let with = |f: &dyn Fn(&mut Value)| {
        let mut e = good();
        e["event_id"] = json!(format!("bad-{}", rand_suffix()));
        f(&mut e);
        serde_json::to_vec(&e).unwrap()
    };
    let stranger = Issuer::random("idp-gov");
    let h = Hash::digest(b"x").to_hex();
    let forged =
        serde_json::to_vec(&signed_event(&stranger, "forged-1", "contract-bad", &h)).unwrap();
    let mut unknown = signed_event(&Issuer::random("nobody"), "unknown-1", "contract-bad", &h);
    unknown["kind"] = json!("intent_verified");
    let unknown = serde_json::to_vec(&unknown).unwrap();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let many: Vec<Value> = (0..1001)
        .map(|i| {
            let mut e = good();
            e["event_id"] = json!(format!("m-{i}"));
            e
        })
        .collect();
    let dup = json!({"events": [good(), good()]});
    let mut bad_third = vec![good(), good(), good()];
    for (i, e) in bad_third.iter_mut().enumerate() {
        e["event_id"] = json!(format!("p-{i}"));
    }
    bad_third[2]["document_hash"] = json!("XYZ");

    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("truncated JSON", b"{\"event_id\":".to_vec(), 400),
        ("empty body", vec![], 400),
        ("array body", b"[]".to_vec(), 400),
        ("string body", b"\"event\"".to_vec(), 400),
        ("trailing garbage", [serde_json::to_vec(&good()).unwrap(), b" x".to_vec()].concat(), 400),
        ("invalid UTF-8", b"{\"event_id\": \"\xff\xfe\"}".to_vec(), 400),
        (
            "missing event_id",
            with(&|e| {
                e.as_object_mut().unwrap().remove("event_id");
            }),
            400,
        ),
        (
            "missing document_id",
            with(&|e| {
                e.as_object_mut().unwrap().remove("document_id");
            }),
            400,
        ),
        (
            "missing kind",
            with(&|e| {
                e.as_object_mut().unwrap().remove("kind");
            }),
            400,
        ),
        (
            "missing document_hash",
            with(&|e| {
                e.as_object_mut().unwrap().remove("document_hash");
            }),
            400,
        ),
        (
            "missing actor",
            with(&|e| {
                e.as_object_mut().unwrap().remove("actor");
            }),
            400,
        ),
        (
            "missing attestations",
            with(&|e| {
                e.as_object_mut().unwrap().remove("attestations");
            }),
            400,
        ),
        ("unknown field", with(&|e| e["extra"] = json!(1)), 400),
        ("event_id a number", with(&|e| e["event_id"] = json!(42)), 400),
        ("event_id empty", with(&|e| e["event_id"] = json!("")), 400),
        ("event_id too long", with(&|e| e["event_id"] = json!("e".repeat(129))), 400),
        ("document_id with a slash", with(&|e| e["document_id"] = json!("a/b")), 400),
        ("unknown kind", with(&|e| e["kind"] = json!("deleted")), 400),
        ("service-only kind", with(&|e| e["kind"] = json!("report_issued")), 400),
        ("uppercase document_hash", with(&|e| e["document_hash"] = json!(h.to_uppercase())), 400),
        ("short document_hash", with(&|e| e["document_hash"] = json!(&h[..63])), 400),
        (
            "actor without commitment",
            with(&|e| {
                e["actor"].as_object_mut().unwrap().remove("commitment");
            }),
            400,
        ),
        ("commitment not hex", with(&|e| e["actor"]["commitment"] = json!("z".repeat(64))), 400),
        ("actor with unknown field", with(&|e| e["actor"]["name"] = json!("王小明")), 400),
        ("attestations not an array", with(&|e| e["attestations"] = json!({})), 400),
        ("no attestation on intent_verified", with(&|e| e["attestations"] = json!([])), 400),
        ("signature not base64", with(&|e| e["attestations"][0]["signature"] = json!("!!!")), 400),
        (
            "signature of 63 bytes",
            with(&|e| {
                e["attestations"][0]["signature"] =
                    json!(base64::engine::general_purpose::STANDARD.encode([1u8; 63]))
            }),
            400,
        ),
        (
            "claim altered after signing",
            with(&|e| e["attestations"][0]["claim"]["result"] = json!("fail")),
            422,
        ),
        ("signed by an untrusted key", forged, 422),
        ("unknown issuer", unknown, 422),
        ("float in claim", with(&|e| e["attestations"][0]["claim"]["score"] = json!(0.5)), 400),
        ("integer beyond 2^53", br#"{"event_id": 9007199254740993}"#.to_vec(), 400),
        ("duplicate keys", br#"{"event_id": "a", "event_id": "b"}"#.to_vec(), 400),
        ("lone surrogate", br#"{"event_id": "\ud800"}"#.to_vec(), 400),
        ("deep nesting", deep.into_bytes(), 400),
        ("timestamp_token null", with(&|e| e["timestamp_token"] = Value::Null), 400),
        ("timestamp_token not base64", with(&|e| e["timestamp_token"] = json!("%%%")), 400),
        ("empty batch", br#"{"events": []}"#.to_vec(), 400),
        (
            "batch with extra key",
            serde_json::to_vec(&json!({"events": [good()], "x": 1})).unwrap(),
            400,
        ),
        ("events not an array", br#"{"events": {}}"#.to_vec(), 400),
        ("1001 events", serde_json::to_vec(&json!({"events": many})).unwrap(), 413),
        ("repeated event_id in a batch", serde_json::to_vec(&dup).unwrap(), 400),
        ("bad third event", serde_json::to_vec(&json!({"events": bad_third})).unwrap(), 400),
        ("body over 4 MiB", vec![b' '; (4 << 20) + 1], 413),
    ];
    assert!(cases.len() >= 30);
    for (name, body, want) in cases {
        let (status, answer) = s.post("/v1/events", Some(&s.tokens.submitter), body);
        assert_eq!(status, want, "{name}: {answer}");
        let code = answer["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no error code in {answer}"));
        assert!(!code.is_empty() && answer["error"]["message"].is_string(), "{name}");
        if name == "bad third event" {
            assert!(answer["error"]["message"].as_str().unwrap().contains("events[2]"), "{answer}");
        }
        assert_eq!(s.tree_size(), size, "{name} wrote something");
    }
    // Bad query parameters too.
    for path in [
        "/v1/entries/x",
        "/v1/entries/-1",
        "/v1/proof/inclusion?index=0",
        "/v1/proof/inclusion?index=01&tree_size=1",
        "/v1/proof/consistency?old=2&new=1",
        "/v1/proof/inclusion?index=5&tree_size=99999",
    ] {
        let (status, body) = s.get(path, None);
        assert!((400..500).contains(&status), "{path}: {status} {body}");
    }
}

fn rand_suffix() -> String {
    Hash::digest(format!("{:?}", std::time::Instant::now()).as_bytes()).to_hex()[..12].to_string()
}

/// Every endpoint x every role, no token and a wrong token.
#[test]
fn auth_matrix() {
    let s = Server::start();
    assert_eq!(s.submit(&json!({"events": flow(&s, "contract-auth")})).0, 200);
    let t = &s.tokens;
    let wrong = "elt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let creds: Vec<(&str, Option<&str>)> = vec![
        ("submitter", Some(&t.submitter)),
        ("legal", Some(&t.legal)),
        ("notary", Some(&t.notary)),
        ("admin", Some(&t.admin)),
        ("platform", Some(&t.platform)),
        ("none", None),
        ("wrong", Some(wrong)),
        ("garbage", Some("not-a-token")),
    ];
    let public = [
        "/v1/checkpoint",
        "/v1/log",
        "/v1/entries/0",
        "/v1/proof/inclusion?index=0&tree_size=1",
        "/v1/proof/consistency?old=1&new=2",
        "/metrics",
        "/healthz",
        "/readyz",
    ];
    let mut n = 0;
    for (who, tok) in &creds {
        for path in public {
            assert_eq!(s.get(path, *tok).0, 200, "{who} GET {path}");
        }
        let expect = |allowed: &[&str]| match *who {
            "none" | "wrong" | "garbage" => 401,
            w if allowed.contains(&w) => 200,
            _ => 403,
        };
        let (status, body) = s.get("/v1/documents/contract-auth/bundle", *tok);
        assert_eq!(status, expect(&["legal", "notary"]), "{who} bundle: {body}");
        let (status, body) = s.get("/v1/issuers", *tok);
        assert_eq!(status, expect(&["admin", "platform"]), "{who} list issuers: {body}");
        // A signer's key: the one kind of issuer a tenant's admin may add.
        let iss = Issuer::random(&format!("signer:iss-{who}"));
        let (status, body) = s.post(
            "/v1/issuers",
            *tok,
            serde_json::to_vec(&json!({"name": iss.name, "public_key": iss.public_key_b64()}))
                .unwrap(),
        );
        assert_eq!(status, expect(&["admin", "platform"]), "{who} add issuer: {body}");
        let (status, body) = s.get("/v1/tokens", *tok);
        assert_eq!(status, expect(&["admin", "platform"]), "{who} list tokens: {body}");
        n += 1;
        let ev = flow(&s, &format!("contract-auth-{n}"));
        let (status, body) = s.post("/v1/events", *tok, serde_json::to_vec(&ev[0]).unwrap());
        assert_eq!(status, expect(&["submitter"]), "{who} submit: {body}");
        if status != 200 {
            assert!(body["error"]["code"].is_string(), "{who}: {body}");
        }
    }
    // Another tenant's document does not exist for you.
    assert_eq!(s.get("/v1/documents/contract-auth/bundle", Some(&t.other_legal)).0, 404);
    assert_eq!(s.get("/v1/documents/nope/bundle", Some(&t.legal)).0, 404);
    // Unknown paths and methods are JSON 404s, never 5xx.
    let (status, body) = s.get("/v1/nothing", None);
    assert_eq!(status, 404);
    assert!(body.contains("\"error\""));
    assert_eq!(s.post("/v1/checkpoint", None, "x").0, 404);
}

/// A signature whose `R` carries a small-order component (`R = rB + T`):
/// the strict rule every verifier applies refuses it, so ingest refuses it
/// too (422), even the ones a batch check would take (found by trying
/// values of `r`, as a signer who wants deniable evidence would).
#[test]
fn a_signature_with_a_small_order_component_gets_422() {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::Scalar;
    use sha2::{Digest, Sha512};
    let s = Server::start();
    let before = s.tree_size_latest();
    let idp = &s.services.idp;
    let h = Hash::digest(b"doc-torsion").to_hex();
    let mut event = signed_event(idp, "torsion-1", "doc-torsion", &h);
    let msg = verifier::entry::Event::from_value(event.clone(), false)
        .unwrap()
        .attestation_message(0, TENANT);
    let (a, public) = (idp.key.to_scalar(), idp.key.verifying_key());
    let torsioned = |seed: u8| {
        let r = Scalar::from_bytes_mod_order([seed; 32]);
        let big_r = (r * B + EIGHT_TORSION[4]).compress();
        let k: [u8; 64] = Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(public.as_bytes())
            .chain_update(&msg)
            .finalize()
            .into();
        let s = r + Scalar::from_bytes_mod_order_wide(&k) * a;
        ed25519_dalek::Signature::from_components(big_r.to_bytes(), s.to_bytes())
    };
    let sig = (1..=200u8)
        .map(torsioned)
        .find(|sig| ed25519_dalek::verify_batch(&[&msg], &[*sig], &[public]).is_ok())
        .expect("a batch-accepted signature");
    assert!(public.verify_strict(&msg, &sig).is_err());
    event["attestations"][0]["signature"] =
        json!(base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()));
    let (status, body) = s.submit(&event);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "attestation_failed", "{body}");
    assert_eq!(s.tree_size_latest(), before, "nothing is logged");
}

/// Issuers registered over the admin API are trusted at once; revoked ones no more.
#[test]
fn admin_registers_and_revokes_issuers_online() {
    let s = Server::start();
    let before = s.tree_size_latest();
    let iss = Issuer::random("signer:u-77");
    let (status, _) = s.post(
        "/v1/issuers",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"name": iss.name, "public_key": iss.public_key_b64()})).unwrap(),
    );
    assert_eq!(status, 200);
    let h = Hash::digest(b"doc").to_hex();
    assert_eq!(s.submit(&signed_event(&iss, "e-1", "doc", &h)).0, 200);
    // Operators can look while the server runs (read-only open).
    let d = s.data().to_str().unwrap().to_string();
    assert!(cli(&["issuer", "list", "--data", &d]).contains("signer:u-77"));
    // The issuer added over the API (a registry_changed entry), and the event.
    assert!(cli(&["status", "--data", &d]).contains(&format!("tree size: {}", before + 2)));
    let (status, _) = s.post("/v1/issuers/signer:u-77/revoke", Some(&s.tokens.admin), "");
    assert_eq!(status, 200);
    assert_eq!(s.submit(&signed_event(&iss, "e-2", "doc", &h)).0, 422);
    let (status, body) = s.post(
        "/v1/issuers",
        Some(&s.tokens.admin),
        r#"{"name": "signer:x", "public_key": "AAAA"}"#,
    );
    assert_eq!(status, 400, "{body}");
}

/// A claim may nest 8 levels deep, alone or in a batch; 9 is refused.
#[test]
fn claims_nest_as_deep_in_a_batch_as_alone() {
    let s = Server::start();
    let iss = &s.signers[0].issuer;
    let h = Hash::digest(b"deep").to_hex();
    let deep = |id: &str, levels: usize| {
        let mut claim = json!("pass");
        for _ in 0..levels - 1 {
            claim = json!({ "v": claim });
        }
        let claim = json!({ "result": claim });
        let mut e = signed_event(iss, id, "doc-deep", &h);
        let kind = e["kind"].as_str().unwrap().to_string();
        e["attestations"][0]["claim"] = claim.clone();
        let actor_id = e["actor"]["id"].as_str().unwrap().to_string();
        e["attestations"][0]["signature"] = json!(verifier::attest::sign_attestation_v2(
            &iss.key,
            &verifier::attest::AttestationV2 {
                tenant: TENANT,
                document_id: "doc-deep",
                document_hash_hex: &h,
                event_id: id,
                kind: &kind,
                actor_id: &actor_id,
                issuer: &iss.name,
                claim: &claim,
            },
        ));
        e
    };
    assert_eq!(s.submit(&deep("alone-8", 8)).0, 200);
    assert_eq!(s.submit(&json!({"events": [deep("batch-8", 8)]})).0, 200);
    assert_eq!(s.submit(&deep("alone-9", 9)).0, 400);
    assert_eq!(s.submit(&json!({"events": [deep("batch-9", 9)]})).0, 400);
}
