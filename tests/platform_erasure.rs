//! Cross-tenant subject erasure by the platform (issue 25 item 8): one
//! request erases a person in every tenant, each tenant getting its own
//! subject-erasure entry (one commit each), and a crash between two
//! tenants is resumed at the next start. docs/api.md ("Erasure") and
//! docs/evidence-v2.md are the promise.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::{Server, BIN, OTHER, TENANT};
use evidence_ledger::flows::{contract_flow_for, Issuer, Services, Signer};
use serde_json::{json, Value};

fn clone_issuer(i: &Issuer) -> Issuer {
    Issuer::from_seed(&i.name, i.key.to_bytes())
}

/// The same person (actor id, identity) in `TENANT` and `OTHER`, one
/// contract each; returns the ID number.
fn the_person_in_both_tenants(s: &Server, actor: &str) -> String {
    let number = "110101199001017777".to_owned();
    let p = Signer::random(actor, "某*").with_identity(json!({
        "name": "某某某", "id_type": "resident_id", "id_number": number,
    }));
    let body = json!({"name": p.issuer.name, "public_key": p.issuer.public_key_b64()});
    let (st, body) =
        s.post("/v1/issuers", Some(&s.tokens.platform), serde_json::to_vec(&body).unwrap());
    assert_eq!(st, 200, "{body}");
    let services =
        Services { idp: clone_issuer(&s.services.idp), intent: clone_issuer(&s.services.intent) };
    for (tenant, token) in [(TENANT, &s.tokens.submitter), (OTHER, &s.tokens.other_submitter)] {
        let doc = format!("both-{tenant}");
        let events = contract_flow_for(tenant, &services, &[&p], &doc, doc.as_bytes());
        let body = serde_json::to_vec(&json!({"events": events})).unwrap();
        let (st, body) = s.post("/v1/events", Some(token), body);
        assert_eq!(st, 200, "{tenant}: {body}");
    }
    number
}

fn erase_everywhere(s: &Server, actor: &str) -> (u16, Value) {
    s.post(
        &format!("/v1/platform/subjects/{actor}/erase"),
        Some(&s.tokens.platform),
        serde_json::to_vec(&json!({"reason_code": "data_subject_request"})).unwrap(),
    )
}

/// Each tenant's bundle no longer opens the person's identity.
fn identity_gone(s: &Server, number: &str) {
    for (tenant, token) in [(TENANT, &s.tokens.legal), (OTHER, &s.tokens.other_legal)] {
        let (st, bundle) = s.get(&format!("/v1/documents/both-{tenant}/bundle"), Some(token));
        assert_eq!(st, 200, "{bundle}");
        assert!(!bundle.contains(number), "{tenant}: the identity still opens");
    }
}

/// Each tenant's log holds its own subject-erasure entry.
fn each_tenant_logged_it(s: &mut Server, actor: &str) {
    s.terminate();
    let l = ledger::Ledger::open_read_only(s.data()).unwrap();
    for tenant in [TENANT, OTHER] {
        let entries = l.document_entries(tenant, &ledger::subject_document(actor)).unwrap();
        assert_eq!(entries.len(), 1, "{tenant}: its own subject-erasure entry");
    }
    drop(l);
    s.spawn();
}

#[test]
fn the_platform_erases_a_person_in_every_tenant() {
    let mut s = Server::start();
    let number = the_person_in_both_tenants(&s, "u-everywhere");
    // Only the platform may.
    let (st, body) = s.post(
        "/v1/platform/subjects/u-everywhere/erase",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason_code": "data_subject_request"})).unwrap(),
    );
    assert_eq!(st, 403, "{body}");
    let (st, body) = erase_everywhere(&s, "u-everywhere");
    assert_eq!(st, 200, "{body}");
    let tenants = body["tenants"].as_array().unwrap();
    for tenant in [TENANT, OTHER] {
        let t = tenants.iter().find(|t| t["tenant"] == tenant).unwrap();
        assert_eq!(t["status"], "erased", "{body}");
        assert!(t["entry"].as_u64().is_some(), "{body}");
    }
    assert_eq!(body["pending_tenants"], json!([]), "{body}");
    assert_eq!(body["cleanup_pending"], json!([]), "{body}");
    identity_gone(&s, &number);
    each_tenant_logged_it(&mut s, "u-everywhere");
    // A repeat erases nothing more and says each tenant is done.
    let (st, again) = erase_everywhere(&s, "u-everywhere");
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["tenants"], body["tenants"], "{again}");
    // Bad input changes nothing.
    let (st, _) = s.post(
        "/v1/platform/subjects/u-everywhere/erase",
        Some(&s.tokens.platform),
        serde_json::to_vec(&json!({"reason_code": "because"})).unwrap(),
    );
    assert_eq!(st, 400);
}

#[test]
fn a_crash_between_two_tenants_is_resumed_at_start() {
    let mut s = Server::start();
    let number = the_person_in_both_tenants(&s, "u-crash");
    s.terminate();
    // Served with the fault: it aborts after the first tenant's erasure.
    let mut child = Command::new(BIN)
        .args(["serve", "--data", s.data().to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .env(ledger::fault::FAULT_ENV, "platform-erase-tenant")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    s.url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    s.child = Some(child);
    let sent = s
        .client()
        .post(format!("{}/v1/platform/subjects/u-crash/erase", s.url))
        .bearer_auth(&s.tokens.platform)
        .body(serde_json::to_vec(&json!({"reason_code": "data_subject_request"})).unwrap())
        .send();
    assert!(sent.is_err(), "the server crashed before answering: {sent:?}");
    s.child.take().unwrap().wait().unwrap();
    {
        // One tenant was erased, the other not yet.
        let l = ledger::Ledger::open_read_only(s.data()).unwrap();
        let done: Vec<usize> = [TENANT, OTHER]
            .iter()
            .map(|t| l.document_entries(t, &ledger::subject_document("u-crash")).unwrap().len())
            .collect();
        assert_eq!(done, vec![1, 0], "crashed after the first tenant");
    }
    // Restarted: the job is resumed before anything is served.
    s.spawn();
    identity_gone(&s, &number);
    each_tenant_logged_it(&mut s, "u-crash");
    let (st, body) = erase_everywhere(&s, "u-crash");
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["pending_tenants"], json!([]), "{body}");
    s.terminate();
    let l = ledger::Ledger::open_read_only(s.data()).unwrap();
    assert!(l.aux_scan(b"platform-erasure\0").unwrap().is_empty(), "no job left");
}
