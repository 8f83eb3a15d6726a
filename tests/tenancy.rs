//! End-to-end: who may manage what (platform administrator vs a tenant's
//! admin), tenant-scoped signer keys, tokens issued, listed and revoked
//! while the server runs, and the registry's history in the log.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use base64::Engine as _;
use common::*;
use ed25519_dalek::Signature;
use evidence_ledger::flows::{signed_event, signed_event_for, Issuer};
use serde_json::{json, Value};
use verifier::attest::{attestation_message_v2, AttestationV2};
use verifier::bundle::{verify_bundle, Bundle, VerifyOptions};
use verifier::note::NoteVerifier;
use verifier::v2::{open_leaf, parse_any_leaf, Leaf};
use verifier::Hash;

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn add_issuer(s: &Server, token: &str, iss: &Issuer, tenant: Option<&str>) -> (u16, Value) {
    let mut b = json!({"name": iss.name, "public_key": iss.public_key_b64()});
    if let Some(t) = tenant {
        b["tenant"] = json!(t);
    }
    s.post("/v1/issuers", Some(token), body(&b))
}

fn issue_token(s: &Server, by: &str, req: &Value) -> (u16, Value) {
    s.post("/v1/tokens", Some(by), body(req))
}

fn submit_as(s: &Server, token: &str, ev: &Value) -> (u16, Value) {
    s.post("/v1/events", Some(token), body(ev))
}

fn court(s: &Server) -> VerifyOptions {
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_string();
    let mut policy = verifier::policy::TrustPolicy::default();
    policy.add_log(&vkey).unwrap();
    VerifyOptions::with_policy(policy, "the test court's policy")
}

/// A tenant's admin gets 403 on platform-wide issuers, on another tenant's
/// issuers and tokens, on platform tokens and on anchoring.
#[test]
fn tenant_admin_is_confined_to_its_own_tenant() {
    let s = Server::start();
    let admin = &s.tokens.admin;
    let evil = Issuer::random("idp-gov-2");
    assert_eq!(add_issuer(&s, admin, &evil, None).0, 403, "platform-wide name");
    let signer = Issuer::random("signer:u-50");
    assert_eq!(add_issuer(&s, admin, &signer, Some(OTHER)).0, 403, "another tenant");
    assert_eq!(s.post("/v1/issuers/idp-gov/revoke", Some(admin), "").0, 403);
    assert_eq!(s.post("/v1/issuers/signer:u-1/revoke", Some(admin), "").0, 403);
    let (status, _) =
        s.post(&format!("/v1/issuers/signer:u-50/revoke?tenant={OTHER}"), Some(admin), "");
    assert_eq!(status, 403);
    // The platform-wide issuer is untouched: a flow citing it still goes in.
    let h = Hash::digest(b"doc-a").to_hex();
    assert_eq!(s.submit(&signed_event(&s.services.idp, "e-1", "doc-a", &h)).0, 200);

    // Tokens: another tenant's, and platform tokens, are out of reach.
    let (status, other) = issue_token(
        &s,
        &s.tokens.platform,
        &json!({"tenant": OTHER, "role": "submitter", "expires_in": 3600}),
    );
    assert_eq!(status, 200, "{other}");
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(s.post(&format!("/v1/tokens/{other_id}/revoke"), Some(admin), "").0, 403);
    let req = json!({"tenant": OTHER, "role": "submitter"});
    assert_eq!(issue_token(&s, admin, &req).0, 403);
    assert_eq!(issue_token(&s, admin, &json!({"role": "platform"})).0, 403);
    assert_eq!(s.get(&format!("/v1/tokens?tenant={OTHER}"), Some(admin)).0, 403);
    let (status, list) = s.get("/v1/tokens", Some(admin));
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).unwrap();
    let tenants: Vec<&str> =
        list["tokens"].as_array().unwrap().iter().map(|t| t["tenant"].as_str().unwrap()).collect();
    assert!(!tenants.is_empty() && tenants.iter().all(|t| *t == TENANT), "{tenants:?}");
    // Its own tenant's tokens it manages.
    let (status, own) = issue_token(&s, admin, &json!({"role": "legal", "expires_in": 60}));
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["tenant"], TENANT);
    let own_id = own["id"].as_str().unwrap();
    assert_eq!(s.post(&format!("/v1/tokens/{own_id}/revoke"), Some(admin), "").0, 200);
    // Anchoring is the platform's.
    assert_eq!(s.post("/v1/anchor", Some(admin), "").0, 403);
    assert_eq!(s.get("/v1/anchor", Some(admin)).0, 403);
    // The platform is not a tenant: it reads no tenant's evidence.
    assert_eq!(s.get("/v1/documents/doc-a/bundle", Some(&s.tokens.platform)).0, 403);
}

/// Two tenants each register `signer:u-9` with their own key; each key
/// attests only its own tenant's events, and each tenant's bundle carries
/// its own key and verifies.
#[test]
fn signer_names_do_not_collide_across_tenants() {
    let s = Server::start();
    let (status, other_admin) =
        issue_token(&s, &s.tokens.platform, &json!({"tenant": OTHER, "role": "admin"}));
    assert_eq!(status, 200, "{other_admin}");
    let other_admin = other_admin["token"].as_str().unwrap().to_string();
    let a = Issuer::random("signer:u-9");
    let b = Issuer::random("signer:u-9");
    let (status, rec) = add_issuer(&s, &s.tokens.admin, &a, None);
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["tenant"], TENANT);
    let (status, rec) = add_issuer(&s, &other_admin, &b, None);
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["tenant"], OTHER);
    // The same name again with another key, in the same scope: refused.
    assert_eq!(add_issuer(&s, &s.tokens.admin, &b, None).0, 409);
    // A platform-wide name cannot be taken by a tenant, nor a tenant's by the platform.
    assert_eq!(add_issuer(&s, &s.tokens.admin, &Issuer::random("signer:u-1"), None).0, 409);
    assert_eq!(add_issuer(&s, &s.tokens.platform, &Issuer::random("signer:u-9"), None).0, 409);

    let h = Hash::digest(b"shared").to_hex();
    let acme = &s.tokens.submitter;
    let globex = &s.tokens.other_submitter;
    // Each event is signed (attestation v2) for the tenant it is submitted
    // under, so a refusal below is for the key alone: under each tenant,
    // `signer:u-9` names that tenant's own key.
    let for_acme = |iss: &Issuer, id: &str| signed_event_for(TENANT, iss, id, "doc-9", &h);
    let for_globex = |iss: &Issuer, id: &str| signed_event_for(OTHER, iss, id, "doc-9", &h);
    assert_eq!(submit_as(&s, acme, &for_acme(&b, "x-1")).0, 422);
    assert_eq!(submit_as(&s, globex, &for_globex(&a, "x-1")).0, 422);
    assert_eq!(submit_as(&s, acme, &for_acme(&a, "x-1")).0, 200);
    assert_eq!(submit_as(&s, globex, &for_globex(&b, "x-1")).0, 200);
    // An event signed for one tenant does not go in under the other, even
    // with the right key (the v2 message binds the tenant).
    assert_eq!(submit_as(&s, globex, &for_acme(&b, "x-3")).0, 422);

    for (legal, key) in [(&s.tokens.legal, &a), (&s.tokens.other_legal, &b)] {
        let (status, raw) = s.get("/v1/documents/doc-9/bundle", Some(legal));
        assert_eq!(status, 200, "{raw}");
        let bundle = Bundle::parse(raw.as_bytes()).unwrap();
        let issuers: Vec<_> =
            bundle.issuers.iter().map(|i| (i.name.as_str(), i.public_key.clone())).collect();
        assert_eq!(issuers, [("signer:u-9", key.public_key_b64())]);
        let report = verify_bundle(&bundle, &court(&s));
        assert!(report.passed, "{:?}", report.checks);
    }
    // Revoking its own signer: that tenant's later events are refused, the other's not.
    assert_eq!(s.post("/v1/issuers/signer:u-9/revoke", Some(&s.tokens.admin), "").0, 200);
    assert_eq!(submit_as(&s, acme, &for_acme(&a, "x-2")).0, 422);
    assert_eq!(submit_as(&s, globex, &for_globex(&b, "x-2")).0, 200);
}

/// Tokens issued over the API work at once; revoked or expired ones are
/// refused on the next request, with the server running.
#[test]
fn tokens_are_issued_and_revoked_online_and_expire() {
    let s = Server::start();
    let platform = &s.tokens.platform;
    let h = Hash::digest(b"doc-t").to_hex();
    let (status, t) = issue_token(
        &s,
        platform,
        &json!({"tenant": TENANT, "role": "submitter", "expires_in": 600}),
    );
    assert_eq!(status, 200, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    assert!(t["expires_at"].is_string());
    assert_eq!(submit_as(&s, &token, &signed_event(&s.services.idp, "t-1", "doc-t", &h)).0, 200);
    let id = t["id"].as_str().unwrap();
    let (status, _) = s.post(&format!("/v1/tokens/{id}/revoke"), Some(platform), "");
    assert_eq!(status, 200);
    let (status, _) = submit_as(&s, &token, &signed_event(&s.services.idp, "t-2", "doc-t", &h));
    assert_eq!(status, 401, "revoked: refused on the next request");
    assert_eq!(s.post("/v1/tokens/000000000000/revoke", Some(platform), "").0, 404);

    let (status, t) =
        issue_token(&s, platform, &json!({"tenant": TENANT, "role": "submitter", "expires_in": 1}));
    assert_eq!(status, 200, "{t}");
    let short = t["token"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (status, _) = submit_as(&s, &short, &signed_event(&s.services.idp, "t-3", "doc-t", &h));
    assert_eq!(status, 401, "expired");
    for bad in
        [json!({"tenant": TENANT, "role": "submitter", "expires_in": 0}), json!({"role": "nobody"})]
    {
        assert_eq!(issue_token(&s, platform, &bad).0, 400, "{bad}");
    }
}

/// A token minted over the API works only while the token that minted it
/// does, and cannot outlive it: revoking a parent ends its children and
/// grandchildren at once.
#[test]
fn a_minted_token_neither_outlives_nor_survives_its_minter() {
    let s = Server::start();
    let h = Hash::digest(b"doc-m").to_hex();
    let mint = |by: &str, req: Value| issue_token(&s, by, &req);
    let (status, admin) = mint(&s.tokens.admin, json!({"role": "admin", "expires_in": 600}));
    assert_eq!(status, 200, "{admin}");
    let admin_token = admin["token"].as_str().unwrap().to_string();
    // Longer than the minter: refused, saying why.
    let (status, body) = mint(&admin_token, json!({"role": "submitter", "expires_in": 3600}));
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("cannot outlive"), "{body}");
    // The default lifetime (90 days) is cut to the minter's.
    let (status, child) = mint(&admin_token, json!({"role": "admin"}));
    assert_eq!(status, 200, "{child}");
    assert!(
        child["expires_at"].as_str().unwrap() <= admin["expires_at"].as_str().unwrap(),
        "{child} {admin}"
    );
    let child_token = child["token"].as_str().unwrap().to_string();
    let (status, grandchild) = mint(&child_token, json!({"role": "submitter", "expires_in": 60}));
    assert_eq!(status, 200, "{grandchild}");
    let submitter = grandchild["token"].as_str().unwrap().to_string();
    assert_eq!(
        submit_as(&s, &submitter, &signed_event(&s.services.idp, "m-1", "doc-m", &h)).0,
        200
    );
    // The admin token is revoked: its child and grandchild stop too.
    let id = admin["id"].as_str().unwrap();
    assert_eq!(s.post(&format!("/v1/tokens/{id}/revoke"), Some(&s.tokens.platform), "").0, 200);
    let (status, body) =
        submit_as(&s, &submitter, &signed_event(&s.services.idp, "m-2", "doc-m", &h));
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("minted this one"), "{body}");
    assert_eq!(s.get("/v1/tokens", Some(&child_token)).0, 401);
    // Tokens the operator's CLI issued have no minter: unaffected.
    assert_eq!(
        submit_as(&s, &s.tokens.submitter, &signed_event(&s.services.idp, "m-3", "doc-m", &h)).0,
        200
    );
}

/// `token issue|list|revoke --server` work while the server holds the store.
#[test]
fn token_cli_talks_to_the_running_server() {
    let s = Server::start();
    let cli_env = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("EVIDENCE_LEDGER_TOKEN", &s.tokens.platform)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let d = s.data().to_str().unwrap().to_string();
    // Offline use is refused while the server runs, with a pointer to --server.
    let out = Command::new(BIN)
        .args(["token", "issue", "--data", &d, "--tenant", TENANT, "--role", "legal"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server"));

    // The platform mints a tenant's submitter tokens (not its legal ones).
    let args = ["token", "issue", "--server", &s.url, "--tenant", TENANT, "--role", "submitter"];
    let token = cli_env(&[&args[..], &["--expires-in", "300"]].concat());
    assert!(token.starts_with("elt_"));
    // Authenticated (403: not a reader's role, rather than 401).
    assert_eq!(s.get("/v1/documents/none/bundle", Some(&token)).0, 403, "works at once");
    let list = cli_env(&["token", "list", "--server", &s.url]);
    let line =
        list.lines().find(|l| l.contains("role=submitter") && l.contains("expires")).unwrap();
    let id = line.split_whitespace().next().unwrap();
    assert!(cli_env(&["token", "revoke", "--server", &s.url, "--id", id]).contains(id));
    assert_eq!(s.get("/v1/documents/none/bundle", Some(&token)).0, 401, "revoked at once");
}

/// Every issuer and token change is a `registry_changed` entry in the log,
/// attested by the log key: an issuer key's history is provable.
#[test]
fn registry_changes_are_logged_and_attested_by_the_log() {
    let mut s = Server::start();
    let log = NoteVerifier::from_vkey(s.get_json("/v1/log")["vkey"].as_str().unwrap()).unwrap();
    let iss = Issuer::random("signer:u-70");
    let (status, added) = add_issuer(&s, &s.tokens.admin, &iss, None);
    assert_eq!(status, 200, "{added}");
    let (status, revoked) = s.post("/v1/issuers/signer:u-70/revoke", Some(&s.tokens.admin), "");
    assert_eq!(status, 200, "{revoked}");
    let key_hash = Hash::digest(&b64d(&iss.public_key_b64())).to_hex();
    // The registry document's bundle, as the tenant's legal team reads it:
    // the records of its registry_changed entries.
    let doc = "issuer:signer:u-70";
    let records = records_of(&s, &s.tokens.legal, doc);
    for (rec, action) in [(&added, "issuer_added"), (&revoked, "issuer_revoked")] {
        let field = if action == "issuer_added" { "added_entry" } else { "revoked_entry" };
        let index = rec[field].as_u64().unwrap();
        let entry = s.get_json(&format!("/v1/entries/{index}"));
        // The public leaf shows neither tenant nor event ...
        assert_public_leaf_is_v2(&entry);
        // ... the record does.
        let record = records
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("entry {index} not in the bundle of {doc}"));
        assert_eq!(record["tenant"], TENANT);
        let ev = &record["event"];
        assert_eq!(ev["kind"], "registry_changed");
        assert_eq!(ev["document_id"], doc);
        assert_eq!(ev["document_hash"], key_hash, "the record names the key by its SHA-256");
        let a = &ev["attestations"][0];
        assert_eq!(a["issuer"], ledger::LOG_ISSUER);
        assert_eq!(a["v"], 2);
        assert_eq!(a["claim"]["action"], action);
        assert_eq!(a["claim"]["public_key"], iss.public_key_b64());
        let msg = attestation_message_v2(&AttestationV2 {
            tenant: TENANT,
            document_id: doc,
            document_hash_hex: ev["document_hash"].as_str().unwrap(),
            event_id: ev["event_id"].as_str().unwrap(),
            kind: "registry_changed",
            actor_id: ev["actor"]["id"].as_str().unwrap(),
            issuer: ledger::LOG_ISSUER,
            claim: &a["claim"],
        });
        let sig: [u8; 64] = b64d(a["signature"].as_str().unwrap()).try_into().unwrap();
        log.key.verify_strict(&msg, &Signature::from_bytes(&sig)).unwrap();
    }
    // Another tenant does not read this tenant's registry document.
    assert_eq!(s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.other_legal)).0, 404);
    // Not on the public lookup by the key's hash, which anyone holding
    // the key can compute: it would tell when a signer's key was
    // registered and in how many tenants (issue 25).
    let (st, body) = s.get(&format!("/v1/lookup?document_hash={key_hash}"), None);
    assert_eq!(st, 404, "{body}");
    // A token's issue is logged under its tenant, without the token.
    let (status, t) =
        issue_token(&s, &s.tokens.platform, &json!({"tenant": OTHER, "role": "submitter"}));
    assert_eq!(status, 200);
    let size = s.tree_size_latest();
    let last = s.get_json(&format!("/v1/entries/{}", size - 1));
    assert_public_leaf_is_v2(&last);
    let token_doc = format!("token:{}", t["id"].as_str().unwrap());
    // Token records are the tenant admin's affairs: no legal or notary
    // token reads them as a contract, its own tenant's or another's.
    let path = format!("/v1/documents/{token_doc}/bundle");
    assert_eq!(s.get(&path, Some(&s.tokens.other_legal)).0, 404);
    assert_eq!(s.get(&path, Some(&s.tokens.legal)).0, 404);
    // The record, read from the store with the server stopped.
    assert!(s.terminate());
    let l = ledger::Ledger::open_read_only(s.data()).unwrap();
    let ledger::Opening::Record { record, .. } = l.opening(size - 1).unwrap() else {
        panic!("entry {}: no record", size - 1)
    };
    assert_eq!(record["tenant"], OTHER);
    assert_eq!(record["event"]["kind"], "registry_changed");
    assert_eq!(record["event"]["document_id"], token_doc);
    let token = t["token"].as_str().unwrap();
    assert!(!serde_json::to_string(&last).unwrap().contains(token));
    assert!(!serde_json::to_string(&record).unwrap().contains(token));
}

/// A public `/v1/entries/{i}` answer holds a v2 leaf: a commitment and a
/// time, no tenant and no event.
fn assert_public_leaf_is_v2(entry: &Value) {
    let leaf = &entry["entry"];
    assert_eq!(leaf["format"], "evidence-leaf/v2", "{entry}");
    for hidden in ["event", "tenant"] {
        assert!(leaf.get(hidden).is_none(), "public leaf shows {hidden}: {entry}");
    }
}

/// (index, record) of every entry of `document_id`'s bundle read with
/// `token`, each record checked to open its public leaf.
fn records_of(s: &Server, token: &str, document_id: &str) -> Vec<(u64, Value)> {
    let (status, raw) = s.get(&format!("/v1/documents/{document_id}/bundle"), Some(token));
    assert_eq!(status, 200, "{raw}");
    let bundle = Bundle::parse(raw.as_bytes()).unwrap();
    assert_eq!(bundle.format, "evidence-bundle/v2");
    let report = verify_bundle(&bundle, &court(s));
    assert!(report.passed, "{:?}", report.checks);
    bundle
        .entries
        .into_iter()
        .map(|e| {
            let Leaf::V2(v2) = parse_any_leaf(&b64d(&e.leaf)).unwrap() else {
                panic!("entry {}: v1 leaf", e.index)
            };
            let record = e.record.unwrap_or_else(|| panic!("entry {}: no record", e.index));
            open_leaf(&v2, &record).expect("the record opens the leaf");
            (e.index, record)
        })
        .collect()
}

fn b64d(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Every answer, errors included, carries nosniff and frame-ancestors;
/// HSTS only behind a TLS proxy; the data directory is the service's alone.
#[test]
fn answers_carry_security_headers_and_the_data_dir_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start();
    for path in ["/v1/log", "/v1/nothing", "/v1/documents/x/bundle", "/verify"] {
        let resp = s.client().get(format!("{}{path}", s.url)).send().unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(h.get("strict-transport-security").is_none(), "{path}: plain HTTP");
    }
    let resp = s
        .client()
        .get(format!("{}/v1/log", s.url))
        .header("X-Forwarded-Proto", "https")
        .send()
        .unwrap();
    assert!(resp.headers().contains_key("strict-transport-security"));
    let mode = std::fs::metadata(s.data()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

/// Bundle reads, token changes and failed authentications are in the
/// tenant's access log, which its admin reads and another tenant's cannot.
#[test]
fn the_access_log_records_privileged_actions_per_tenant() {
    let s = Server::start();
    let h = Hash::digest(b"doc-al").to_hex();
    assert_eq!(s.submit(&signed_event(&s.services.idp, "al-1", "doc-al", &h)).0, 200);
    assert_eq!(s.get("/v1/documents/doc-al/bundle", Some(&s.tokens.legal)).0, 200);
    let (status, t) = issue_token(&s, &s.tokens.admin, &json!({"role": "notary"}));
    assert_eq!(status, 200);
    let id = t["id"].as_str().unwrap();
    assert_eq!(s.post(&format!("/v1/tokens/{id}/revoke"), Some(&s.tokens.admin), "").0, 200);
    let revoked = t["token"].as_str().unwrap();
    // Failed authentications are counted, not stored (a flood writes nothing).
    assert_eq!(s.get("/v1/documents/doc-al/bundle", Some(revoked)).0, 401);
    assert_eq!(s.get("/v1/documents/doc-al/bundle", Some("elt_nobody")).0, 401);
    // A refusal (403) is recorded: a submitter asking for a bundle.
    assert_eq!(s.get("/v1/documents/doc-al/bundle", Some(&s.tokens.submitter)).0, 403);
    // So are erasure attempts, lookup switches and retention changes.
    let off = serde_json::to_vec(&json!({"enabled": false})).unwrap();
    assert_eq!(s.post("/v1/documents/doc-al/lookup", Some(&s.tokens.admin), off).0, 200);

    let (status, log) = s.get("/v1/access-log", Some(&s.tokens.admin));
    assert_eq!(status, 200, "{log}");
    let log: Value = serde_json::from_str(&log).unwrap();
    let actions: Vec<(&str, u64)> = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    // Newest first: the lookup switch, the submitter's refused read, the
    // revocation, the issue, the legal team's bundle read.
    assert_eq!(
        actions,
        [
            ("lookup_switch", 200),
            ("bundle_read", 403),
            ("token_change", 200),
            ("token_change", 200),
            ("bundle_read", 200)
        ]
    );
    let first = &log["records"][0];
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(log["records"][2]["token_id"].as_str().map(str::len), Some(12));
    // Nothing of the failed logins is stored, the platform's trail neither.
    let (_, plat) = s.get("/v1/access-log", Some(&s.tokens.platform));
    assert!(!plat.contains("auth_failed"), "{plat}");
    let (_, metrics) = s.get("/metrics", None);
    assert!(metrics.contains("evidence_auth_failures_total 2"), "{metrics}");
    let path = format!("/v1/access-log?tenant={OTHER}");
    assert_eq!(s.get(&path, Some(&s.tokens.admin)).0, 403);
    assert_eq!(s.get("/v1/access-log", Some(&s.tokens.legal)).0, 403);
    assert_eq!(s.get(&path, Some(&s.tokens.platform)).0, 200);
}

/// The (tenant, id) of the tokens `GET /v1/tokens{query}` lists, sorted.
fn token_ids(s: &Server, token: &str, query: &str) -> Vec<(String, String)> {
    let (status, body) = s.get(&format!("/v1/tokens{query}"), Some(token));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mut out: Vec<(String, String)> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tenant"].as_str().unwrap().into(), t["id"].as_str().unwrap().into()))
        .collect();
    out.sort();
    out
}

/// Tokens are listed through a per-tenant index and found by id with one
/// keyed read: an admin's list and the platform's `?tenant=` list hold
/// that tenant's tokens only; with a tenant's index rows gone (and the
/// index marked built) its list is empty, which shows the list reads the
/// index, not every token; a store without the index gets it rebuilt at
/// open.
#[test]
fn tokens_are_listed_through_a_per_tenant_index() {
    let mut s = Server::start();
    let (status, minted) = issue_token(&s, &s.tokens.admin, &json!({"role": "notary"}));
    assert_eq!(status, 200, "{minted}");
    let mine = token_ids(&s, &s.tokens.admin, "");
    assert_eq!(mine.len(), 5, "{mine:?}"); // submitter, legal, notary, admin, the minted one
    assert!(mine.iter().all(|(t, _)| t == TENANT), "{mine:?}");
    assert!(mine.iter().any(|(_, id)| id == minted["id"].as_str().unwrap()));
    let theirs = token_ids(&s, &s.tokens.platform, &format!("?tenant={OTHER}"));
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    assert!(theirs.iter().all(|(t, _)| t == OTHER), "{theirs:?}");
    // Revocation by id, another tenant's for the platform.
    let other_id = &theirs[0].1;
    let path = format!("/v1/tokens/{other_id}/revoke");
    assert_eq!(s.post(&path, Some(&s.tokens.admin), "").0, 403);
    assert_eq!(s.post(&path, Some(&s.tokens.platform), "").0, 200);
    assert_eq!(s.post("/v1/tokens/0123456789ab/revoke", Some(&s.tokens.platform), "").0, 404);
    assert_eq!(s.post("/v1/tokens/not-an-id/revoke", Some(&s.tokens.platform), "").0, 404);

    // The tenant's index rows removed, the marker kept: its list is empty
    // (the other tenant's is whole), so listing reads the index alone.
    assert!(s.terminate());
    let prefix = format!("token-index\0{TENANT}\0");
    {
        let l = ledger::Ledger::open(s.data(), ledger::LedgerOptions::default()).unwrap();
        let end = format!("token-index\0{TENANT}\u{1}");
        l.aux_delete_range(prefix.as_bytes(), end.as_bytes()).unwrap();
    }
    s.spawn();
    assert!(token_ids(&s, &s.tokens.admin, "").is_empty());
    assert_eq!(token_ids(&s, &s.tokens.platform, &format!("?tenant={OTHER}")).len(), 2);
    // Authentication is one keyed read of the token's hash, index or not.
    assert_eq!(s.get("/v1/documents/none/bundle", Some(&s.tokens.legal)).0, 404);

    // A store without the index (its marker gone too) is indexed at open.
    assert!(s.terminate());
    {
        let l = ledger::Ledger::open_read_only(s.data()).unwrap();
        assert!(l.aux_get(b"token-index-built").unwrap().is_some());
    }
    {
        let l = ledger::Ledger::open(s.data(), ledger::LedgerOptions::default()).unwrap();
        l.aux_delete_synced(b"token-index-built").unwrap();
    }
    s.spawn();
    assert_eq!(token_ids(&s, &s.tokens.admin, ""), mine);
}

/// A tenant's admin exports its trail (JSON lines, oldest first, records
/// opened) and trims what it exported; the records of its own token stay,
/// the export and the trim are themselves recorded, a trim past the
/// export is refused, and no one else trims the tenant's trail.
#[test]
fn the_access_log_is_exported_then_trimmed() {
    let s = Server::start();
    let h = Hash::digest(b"doc-x").to_hex();
    assert_eq!(s.submit(&signed_event(&s.services.idp, "x-1", "doc-x", &h)).0, 200);
    assert_eq!(s.get("/v1/documents/doc-x/bundle", Some(&s.tokens.legal)).0, 200);
    assert_eq!(s.get("/v1/documents/doc-x/bundle", Some(&s.tokens.notary)).0, 200);
    // A legal token the admin minted reads too: its record is the
    // admin's lineage's, which the admin's trim keeps.
    let (status, minted) = issue_token(&s, &s.tokens.admin, &json!({"role": "legal"}));
    assert_eq!(status, 200, "{minted}");
    let minted = minted["token"].as_str().unwrap().to_string();
    assert_eq!(s.get("/v1/documents/doc-x/bundle", Some(&minted)).0, 200);
    // Nothing exported yet: nothing to trim.
    let zero = "0".repeat(32);
    let (status, body) =
        s.post(&format!("/v1/access-log/trim?through={zero}"), Some(&s.tokens.admin), "");
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("not_exported")), "{body}");

    let resp = s
        .client()
        .get(format!("{}/v1/access-log/export", s.url))
        .bearer_auth(&s.tokens.admin)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let through = resp.headers()["x-export-through"].to_str().unwrap().to_string();
    let lines: Vec<Value> =
        resp.text().unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (end, records) = lines.split_last().unwrap();
    let actions: Vec<&str> =
        records.iter().map(|r| r["record"]["action"].as_str().unwrap()).collect();
    // Oldest first: the two reads, the issue, the minted token's read,
    // the refused trim.
    let expected = ["bundle_read", "bundle_read", "token_change", "bundle_read", "access_log_trim"];
    assert_eq!(actions, expected);
    assert_eq!(end["end"]["records"], 5);
    assert_eq!(end["end"]["cursor"], through.as_str());
    assert_eq!(records[0]["record"]["path"], "/v1/documents/doc-x/bundle");

    // No one but the trail's owner trims it; not past the export.
    let trim =
        |token: &str, query: &str| s.post(&format!("/v1/access-log/trim?{query}"), Some(token), "");
    assert_eq!(trim(&s.tokens.legal, &format!("through={through}")).0, 403);
    let q = format!("through={through}&tenant={TENANT}");
    assert_eq!(trim(&s.tokens.platform, &q).0, 403);
    assert_eq!(trim(&s.tokens.admin, &format!("through={}", "f".repeat(32))).0, 409);
    assert_eq!(trim(&s.tokens.admin, "through=xyz").0, 400);
    let (status, done) = trim(&s.tokens.admin, &format!("through={through}"));
    assert_eq!(status, 200, "{done}");
    // The CLI-issued tokens' reads go; the admin's own records (the issue,
    // the refused trim) and its minted token's read stay.
    assert_eq!((done["deleted"].as_u64(), done["kept"].as_u64()), (Some(2), Some(3)), "{done}");

    let (status, page) = s.get("/v1/access-log", Some(&s.tokens.admin));
    assert_eq!(status, 200, "{page}");
    let page: Value = serde_json::from_str(&page).unwrap();
    let left: Vec<(&str, u64)> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    // Newest first: this read is not in its own page; the trim, the
    // export, the refused trims (each recorded), the issue.
    assert_eq!(left[0], ("access_log_trim", 200), "{left:?}");
    assert!(left.contains(&("access_log_export", 200)), "{left:?}");
    let reads: Vec<&Value> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "bundle_read")
        .collect();
    assert_eq!(reads.len(), 1, "{left:?}");
    assert_eq!(reads[0]["token_id"], records[3]["record"]["token_id"]);
    assert!(left.contains(&("token_change", 200)), "{left:?}");
    let trim_rec = &page["records"][0];
    assert_eq!(trim_rec["query"], format!("through={through}"));
    // A resumed export starts after the last cursor; one past it is refused.
    let (status, _) =
        s.get(&format!("/v1/access-log/export?after={through}"), Some(&s.tokens.admin));
    assert_eq!(status, 200);
    let (status, _) =
        s.get(&format!("/v1/access-log/export?after={}", "f".repeat(32)), Some(&s.tokens.admin));
    assert_eq!(status, 409);
    // The platform exports its own trail, not a tenant's.
    assert_eq!(s.get("/v1/access-log/export", Some(&s.tokens.platform)).0, 200);
    let q = format!("/v1/access-log/export?tenant={TENANT}");
    assert_eq!(s.get(&q, Some(&s.tokens.platform)).0, 403);
}
