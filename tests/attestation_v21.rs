//! End-to-end: attestation v2.1 (issue 25 item 7; docs/evidence-v2.md
//! "Attestation v2.1"). A contract whose attestations are v2.1 is logged
//! and verified by the Rust verifier and `POST /v1/verify`, with the
//! binding said in words; v2 stays accepted and is labelled with what it
//! does not bind; every forgery (the person swapped, an attestation made
//! for another log, `v` downgraded, the v2.1 members signed under the v2
//! context, the identity left out) is refused with 422
//! `attestation_failed` and writes nothing; a v2.1 contract logged on one
//! ledger and replayed on a second one (same tenant name, same issuers) is
//! refused there; certified SM2 issuers attest v2.1 on an `sm2-sm3` log;
//! a subject erasure leaves the bundle verifiable; and the identity
//! digest's documented known-answer vector holds (also under `openssl
//! dgst`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../verifier/tests/gm_pki/mod.rs"]
mod gm_pki;
#[path = "sm_pki/mod.rs"]
mod sm_pki;

use common::*;
use ed25519_dalek::Signer as _;
use evidence_ledger::flows::{contract_flow, contract_flow_on, identity_digest_of, Issuer, Signer};
use serde_json::{json, Value};
use verifier::attest::{Binding, Person, ATTESTATION_CONTEXT_V2};
use verifier::bundle::{verify_bundle, Bundle, VerifyOptions};
use verifier::entry::Event;
use verifier::report::{Report, V2_1_BINDING, V2_1_NO_PERSON_BINDING, V2_BINDING};
use verifier::suite::Suite;

const DOC: &str = "contract-v21";
const V2_DOC: &str = "contract-v2";
/// Another ledger, whose tenant is also called `acme`.
const OTHER_LOG: &str = "other-ledger.example/log";

fn origin(s: &Server) -> String {
    s.get_json("/v1/log")["origin"].as_str().unwrap().to_owned()
}

/// The server's two signers (registered keys) with real identities.
fn signers(s: &Server) -> Vec<Signer> {
    let people = [("王小明", "11010119900307777X"), ("李华", "110101199203070022")];
    s.signers
        .iter()
        .zip(people)
        .map(|(p, (name, number))| {
            let key = Issuer { name: p.issuer.name.clone(), key: p.issuer.key.clone() };
            Signer::with_issuer(&p.id, &p.display, key)
                .with_identity(json!({"name": name, "id_type": "resident_id", "id_number": number}))
        })
        .collect()
}

fn flow_v21(s: &Server, doc: &str) -> Vec<Value> {
    let people = signers(s);
    let refs: Vec<&Signer> = people.iter().collect();
    let origin = origin(s);
    contract_flow_on(&origin, Suite::Ed25519Sha256, TENANT, &s.services, &refs, doc, doc.as_bytes())
}

fn court(s: &Server) -> VerifyOptions {
    let mut policy = verifier::policy::TrustPolicy::default();
    policy.add_log(s.get_json("/v1/log")["vkey"].as_str().unwrap()).unwrap();
    VerifyOptions::with_policy(policy, "the test court's policy")
}

fn bundle(s: &Server, doc: &str) -> Bundle {
    let (status, body) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{body}");
    Bundle::parse(body.as_bytes()).unwrap()
}

/// The binding words of each attestation of the report's timeline, by kind.
fn bindings(report: &Report) -> Vec<(String, String, bool)> {
    (report.timeline.iter())
        .flat_map(|t| t.attestations.iter().map(|a| (t.kind.clone(), a.binding.clone(), a.valid)))
        .collect()
}

/// Re-signs attestation 0 of `ev` (by `key`) over `message`.
fn resign(ev: &mut Value, key: &ed25519_dalek::SigningKey, message: &[u8]) {
    use base64::Engine as _;
    let sig = key.sign(message).to_bytes();
    ev["attestations"][0]["signature"] =
        json!(base64::engine::general_purpose::STANDARD.encode(sig));
}

/// The v2.1 message of attestation 0 of `ev` for this tenant on `log`,
/// bound to `person`.
fn message(ev: &Value, log: &str, person: Person) -> Vec<u8> {
    let event = Event::from_value(ev.clone(), false).unwrap();
    let binding = Binding { tenant: TENANT, log: Some(log), person };
    event.attestation_message_for(0, &binding).unwrap()
}

#[test]
fn a_v2_1_contract_is_logged_and_both_verifiers_report_its_binding() {
    let s = Server::start();
    let (status, body) = s.submit(&json!({"events": flow_v21(&s, DOC)}));
    assert_eq!(status, 200, "{body}");
    // v2 is still accepted, and labelled with what it does not bind.
    let refs: Vec<&Signer> = s.signers.iter().collect();
    let v2 = contract_flow(&s.services, &refs, V2_DOC, V2_DOC.as_bytes());
    let (status, body) = s.submit(&json!({"events": v2}));
    assert_eq!(status, 200, "{body}");

    let report = verify_bundle(&bundle(&s, DOC), &court(&s));
    assert!(report.passed, "{:#?}", report.checks.iter().filter(|c| !c.passed).collect::<Vec<_>>());
    let got = bindings(&report);
    assert_eq!(got.len(), 6, "{got:?}");
    for (kind, words, valid) in &got {
        assert!(valid, "{kind}: {words}");
        let want = if kind == "identity_verified" { V2_1_BINDING } else { V2_1_NO_PERSON_BINDING };
        assert_eq!(words, want, "{kind}");
    }
    assert!(V2_1_BINDING.contains("the person's identity and the log"));
    let v2_report = verify_bundle(&bundle(&s, V2_DOC), &court(&s));
    assert!(v2_report.passed);
    assert!(bindings(&v2_report).iter().all(|(_, w, v)| *v && w == V2_BINDING));
    assert!(V2_BINDING.contains("not the person's identity, nor the log"));

    // POST /v1/verify (the service's trust) says the same.
    let (raw_status, raw) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(raw_status, 200);
    let (status, out) = s.post("/v1/verify", None, raw.into_bytes());
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["verdict"]["status"], "verified", "{out:#}");
    let timeline = out["timeline"].as_array().unwrap();
    let id_check = timeline.iter().find(|t| t["kind"] == "identity_verified").unwrap();
    assert_eq!(id_check["attestations"][0]["binding"], V2_1_BINDING);
    assert_eq!(id_check["attestations"][0]["minor"], 1);
}

/// After a subject erasure, a v2.1 attestation's binding to the erased
/// person can no longer be checked: the bundle still verifies, no
/// attestation fails, and the other signer's person binding still holds.
#[test]
fn after_a_subject_erasure_the_bundle_still_verifies() {
    let s = Server::start();
    let (status, body) = s.submit(&json!({"events": flow_v21(&s, DOC)}));
    assert_eq!(status, 200, "{body}");
    let reason = serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap();
    let (status, body) = s.post("/v1/subjects/u-1/erase", Some(&s.tokens.admin), reason);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erased"]["pending"], json!([]), "{body}");

    let report = verify_bundle(&bundle(&s, DOC), &court(&s));
    assert!(report.passed, "{:#?}", report.checks.iter().filter(|c| !c.passed).collect::<Vec<_>>());
    let facts: Vec<_> = report.timeline.iter().flat_map(|t| &t.attestations).collect();
    assert!(facts.iter().all(|f| f.valid || f.unchecked.is_some()), "{facts:#?}");
    let u2 = report
        .timeline
        .iter()
        .find(|t| t.kind == "identity_verified" && t.actor_id == "u-2")
        .expect("u-2's identity check");
    assert_eq!(u2.attestations[0].binding, V2_1_BINDING);
    assert!(u2.attestations[0].valid);
    assert!(
        !report.timeline.iter().any(|t| t.actor_id == "u-1" && !t.attestations.is_empty()),
        "u-1's attestations are redacted from the v3 records"
    );
}

#[test]
fn forged_v2_1_attestations_are_refused_and_nothing_is_written() {
    let s = Server::start();
    let log = origin(&s);
    let flow = flow_v21(&s, DOC);
    let idp = &s.services.idp.key;
    // Entry 1: u-1's identity check by idp-gov, with u-1's identity.
    let genuine = flow[1].clone();
    let someone =
        json!({"name": "张三", "id_type": "resident_id", "id_number": "110101199003070011"});
    let digest = |id: &Value| Person::Digest(identity_digest_of(id, Suite::Ed25519Sha256));

    // The identity provider vouched for 张三; the pass is put beside u-1.
    let mut swapped = genuine.clone();
    resign(&mut swapped, idp, &message(&genuine, &log, digest(&someone)));
    // The same attestation with the person in the event swapped instead.
    let mut other_person = genuine.clone();
    other_person["identity"] = someone.clone();
    // Made on another ledger, for a tenant of the same name: replayed here.
    let mut replayed = genuine.clone();
    resign(&mut replayed, idp, &message(&genuine, OTHER_LOG, digest(&genuine["identity"])));
    // "v" downgraded to 2, to escape the person and the log.
    let mut downgraded = genuine.clone();
    downgraded["attestations"][0]["v"] = json!(2);
    // The v2.1 members signed under the v2 context, as "v": 2.
    let mut as_v2 = genuine.clone();
    let text = String::from_utf8(message(&genuine, &log, digest(&genuine["identity"]))).unwrap();
    let text = text
        .replace("\"evidence-ledger/attestation/v2.1\"", &format!("\"{ATTESTATION_CONTEXT_V2}\""));
    resign(&mut as_v2, idp, text.as_bytes());
    as_v2["attestations"][0]["v"] = json!(2);
    // The identity left out of the event the provider's signature binds.
    let mut without = genuine.clone();
    without.as_object_mut().unwrap().remove("identity");

    let before = s.tree_size_latest();
    let forgeries = [
        ("identity swapped (signed for another)", swapped),
        ("identity swapped (in the event)", other_person),
        ("made for another log", replayed),
        ("v downgraded", downgraded),
        ("v2.1 members signed as v2", as_v2),
        ("identity left out", without),
    ];
    for (what, forged) in forgeries {
        // Alone, and at position 1 of an otherwise genuine batch.
        let mut batch = flow.clone();
        batch[1] = forged.clone();
        for (body, position) in [(forged, 0), (json!({"events": batch}), 1)] {
            let (status, err) = s.submit(&body);
            assert_eq!(status, 422, "{what}: {err}");
            assert_eq!(err["error"]["code"], "attestation_failed", "{what}: {err}");
            let msg = err["error"]["message"].as_str().unwrap();
            if position > 0 {
                assert!(msg.starts_with(&format!("events[{position}]")), "{what}: {msg}");
            }
        }
        assert_eq!(s.tree_size_latest(), before, "{what}: nothing written");
    }
    let (status, _) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 404, "no entry of the contract was written");

    // The genuine batch is then taken whole.
    let (status, body) = s.submit(&json!({"events": flow}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.tree_size_latest(), before + flow.len() as u64);
}

/// A second ledger, whose origin is `origin`, with a tenant also named
/// `acme` and the same issuers (keys) registered as on `a`: only the log
/// differs.
fn second_ledger(a: &Server, origin: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    cli(&["init", "--data", &d, "--origin", origin]);
    let tokens = Tokens::issue(&d);
    let copy = |i: &Issuer| Issuer { name: i.name.clone(), key: i.key.clone() };
    let services = evidence_ledger::flows::Services {
        idp: copy(&a.services.idp),
        intent: copy(&a.services.intent),
    };
    let signers: Vec<Signer> =
        a.signers.iter().map(|p| Signer::with_issuer(&p.id, &p.display, copy(&p.issuer))).collect();
    let all = [&services.idp, &services.intent, &signers[0].issuer, &signers[1].issuer];
    for iss in all {
        let key = iss.public_key_b64();
        cli(&["issuer", "add", "--data", &d, "--name", &iss.name, "--public-key", &key]);
    }
    let mut b = Server { child: None, url: String::new(), dir, tokens, services, signers };
    b.spawn();
    b
}

/// A contract's v2.1 attestations, logged on one ledger, replayed on
/// another (same tenant name, same issuers): refused there, nothing
/// written. Its v2 attestations replay (what v2 does not bind, and why
/// v2.1 exists).
#[test]
fn a_v2_1_contract_replayed_on_another_ledger_is_refused() {
    let a = Server::start();
    let b = second_ledger(&a, OTHER_LOG);
    assert_eq!(origin(&b), OTHER_LOG);
    let flow = flow_v21(&a, DOC);
    let (status, body) = a.submit(&json!({"events": flow}));
    assert_eq!(status, 200, "{body}");
    let before = b.tree_size_latest();
    let (status, err) = b.submit(&json!({"events": flow}));
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "attestation_failed", "{err}");
    assert_eq!(b.tree_size_latest(), before, "nothing written");
    // The same contract on `b` is taken when signed for `b`'s log.
    let (status, body) = b.submit(&json!({"events": flow_v21(&b, DOC)}));
    assert_eq!(status, 200, "{body}");
    // v2 binds no log: the same v2 events replay onto the other ledger.
    let refs: Vec<&Signer> = a.signers.iter().collect();
    let v2 = contract_flow(&a.services, &refs, V2_DOC, V2_DOC.as_bytes());
    assert_eq!(a.submit(&json!({"events": v2})).0, 200);
    assert_eq!(b.submit(&json!({"events": v2})).0, 200, "v2 does not bind the log");
}

/// Certified SM2 issuers (X.509, GM/T 0015) attest v2.1 on an `sm2-sm3`
/// log: the identity digest is SM3; a contract whose every attestation is
/// certified v2.1 is taken and verified by `POST /v1/verify` (the
/// service's trust holds the registered CA); the identity provider's
/// attestation bound with the SHA-256 digest, or made for another log, is
/// refused with nothing written.
#[test]
fn certified_sm2_issuers_attest_v2_1_on_an_sm2_sm3_log() {
    let mut s = Server::prepare_with(&["--suite", "sm2-sm3"]);
    s.spawn_with(&["--suite", "sm2-sm3"]);
    let pki = sm_pki::pki_with(&[
        ("idp-sm2", "idp-sm2"),
        ("intent-sm2", "intent-sm2"),
        ("signer-u-3", "signer:u-3"),
    ]);
    let body = json!({"name": sm_pki::CA_NAME, "root_pem": pki.pem("root")});
    let (code, rec) =
        s.post("/v1/issuer-cas", Some(&s.tokens.platform), serde_json::to_vec(&body).unwrap());
    assert_eq!(code, 200, "{rec}");
    let log = origin(&s);
    let person = Signer::random("u-3", "张*").with_identity(
        json!({"name": "张三", "id_type": "resident_id", "id_number": "110101199003070011"}),
    );
    let mut flow =
        contract_flow_on(&log, Suite::Sm2Sm3, TENANT, &s.services, &[&person], DOC, b"sm doc");
    let map = [
        (s.services.idp.name.as_str(), "idp-sm2", "idp-sm2"),
        (s.services.intent.name.as_str(), "intent-sm2", "intent-sm2"),
        ("signer:u-3", "signer:u-3", "signer-u-3"),
    ];
    for ev in &mut flow {
        for j in 0..ev["attestations"].as_array().map_or(0, Vec::len) {
            let old = ev["attestations"][j]["issuer"].as_str().unwrap().to_owned();
            let (_, new, cert) = map.iter().find(|(o, _, _)| *o == old).unwrap();
            sm_pki::certify_v21(&pki, ev, j, (TENANT, &log), None, new, cert, &[cert, "inter"]);
        }
    }
    let at = flow.iter().position(|e| e["kind"] == "identity_verified").unwrap();
    let sha256 = Person::Digest(identity_digest_of(&flow[at]["identity"], Suite::Ed25519Sha256));
    let chain = ["idp-sm2", "inter"];
    let mut wrong_hash = flow[at].clone();
    sm_pki::certify_v21(
        &pki,
        &mut wrong_hash,
        0,
        (TENANT, &log),
        Some(sha256),
        "idp-sm2",
        "idp-sm2",
        &chain,
    );
    let mut replayed = flow[at].clone();
    sm_pki::certify_v21(
        &pki,
        &mut replayed,
        0,
        (TENANT, OTHER_LOG),
        None,
        "idp-sm2",
        "idp-sm2",
        &chain,
    );
    let size = s.tree_size_latest();
    for (what, forged) in [("SHA-256 digest on an SM3 log", wrong_hash), ("another log", replayed)]
    {
        let (code, err) = s.submit(&forged);
        assert_eq!(code, 422, "{what}: {err}");
        assert_eq!(err["error"]["code"], "attestation_failed", "{what}: {err}");
    }
    assert_eq!(s.tree_size_latest(), size, "nothing written");

    let (code, body) = s.submit(&json!({"events": flow}));
    assert_eq!(code, 200, "{body}");
    let (code, raw) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(code, 200, "{raw}");
    let (code, out) = s.post("/v1/verify", None, raw.into_bytes());
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["verdict"]["status"], "verified", "{out:#}");
    let timeline = out["timeline"].as_array().unwrap();
    let id_check = timeline.iter().find(|t| t["kind"] == "identity_verified").unwrap();
    assert_eq!(id_check["attestations"][0]["binding"], V2_1_BINDING, "{id_check:#}");
    assert_eq!(id_check["attestations"][0]["valid"], true, "{id_check:#}");
}

/// The known-answer vector of docs/evidence-v2.md "Attestation v2.1": the
/// documented input is what the identity gives, and its SHA-256 and SM3
/// digests are what the code and `openssl dgst` compute.
#[test]
fn the_documented_identity_digest_vector_holds() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/evidence-v2.md"),
    )
    .unwrap();
    let block = doc.split("```identity-digest-vector\n").nth(1).expect("the vector block");
    let block = block.split("```").next().unwrap();
    let field = |name: &str| {
        let line = block.lines().find(|l| l.starts_with(&format!("{name} "))).expect(name);
        line[name.len()..].trim().to_owned()
    };
    let identity: Value = serde_json::from_str(&field("identity")).unwrap();
    let input = field("input").replace("\\n", "\n");
    let s = |k: &str| identity[k].as_str().unwrap();
    let want = verifier::attest::identity_digest_input(s("name"), s("id_type"), s("id_number"));
    assert_eq!(input.as_bytes(), want.as_slice());
    for (suite, name, flag) in
        [(Suite::Ed25519Sha256, "sha256", "-sha256"), (Suite::Sm2Sm3, "sm3", "-sm3")]
    {
        assert_eq!(identity_digest_of(&identity, suite), field(name), "{name}");
        assert_eq!(openssl_dgst(flag, input.as_bytes()), field(name), "openssl dgst {flag}");
    }
}

/// `openssl dgst FLAG` of `data`, as lowercase hex.
fn openssl_dgst(flag: &str, data: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", flag, "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl (scripts/env.sh installs it)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl dgst {flag}");
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}
