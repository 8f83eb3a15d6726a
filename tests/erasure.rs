//! Erasure, round two (issue 25): an erasure's clean-up completes after a
//! crash at any step, no oracle is left behind for a guessed identity,
//! the public lookup finds no service entry by a hash a stranger can
//! compute, and the ledger's own entries are not a tenant's to erase.
//! docs/evidence-v2.md ("Erasure") is the promise these tests hold.
//!
//! The crash test needs `ledger::fault` (the `fault-injection` feature,
//! which the tests' dev-dependency turns on): the server aborts at the
//! named point, as a SIGKILL would stop it.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::{Server, BIN, TENANT};
use evidence_ledger::flows::{contract_flow_for, Issuer, Services, Signer};
use serde_json::{json, Value};
use verifier::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Every file under `dir`, read whole.
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
}

/// `text` as it may sit in a file: in clear, in lower and upper hex, and
/// inside any base64 string whatever its alignment (the middle of its
/// encoding after 0, 1 or 2 leading bytes).
fn forms(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("clear".to_owned(), text.as_bytes().to_vec()),
        ("hex".to_owned(), hex::encode(text).into_bytes()),
        ("HEX".to_owned(), hex::encode_upper(text).into_bytes()),
    ];
    for pad in 0..3 {
        let mut b = vec![b'x'; pad];
        b.extend_from_slice(text.as_bytes());
        let enc = B64.encode(&b);
        if enc.len() > 8 {
            out.push((format!("base64+{pad}"), enc.as_bytes()[4..enc.len() - 4].to_vec()));
        }
    }
    out
}

/// Where any form of any marker sits in any file under `dir`.
fn scan(dir: &Path, markers: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    files(dir, &mut all);
    let mut hits = Vec::new();
    for m in markers {
        for (form, needle) in forms(m) {
            for (path, bytes) in &all {
                if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                    let around =
                        &bytes[at.saturating_sub(48)..(at + needle.len() + 16).min(bytes.len())];
                    let around = String::from_utf8_lossy(around).escape_debug().to_string();
                    hits.push(format!("{m:?} ({form}) in {path}: …{around}…"));
                }
            }
        }
    }
    hits
}

fn rand_hex() -> String {
    let mut b = [0u8; 6];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

fn clone_issuer(i: &Issuer) -> Issuer {
    Issuer::from_seed(&i.name, i.key.to_bytes())
}

fn services(s: &Server) -> Services {
    Services { idp: clone_issuer(&s.services.idp), intent: clone_issuer(&s.services.intent) }
}

/// A person with a real identity whose name and ID number are markers.
fn person(actor: &str, name: &str, number: &str) -> Signer {
    Signer::random(actor, "某*").with_identity(json!({
        "name": name, "id_type": "resident_id", "id_number": number, "phone": "+86 139 5550 0042",
    }))
}

/// A person whose actor id, masked name, name and ID number are markers,
/// signing with a key registered as `issuer`.
fn marked_person(actor: &str, display: &str, name: &str, number: &str, issuer: &str) -> Signer {
    Signer::with_issuer(actor, display, Issuer::random(issuer)).with_identity(json!({
        "name": name, "id_type": "resident_id", "id_number": number, "phone": "+86 139 5550 0042",
    }))
}

/// The legal bundle of `doc`: it verifies under a policy with the log's
/// key, and `redacted` of its records hold the actor and attestations
/// as digests only. Returns its text.
fn redacted_bundle_verifies(s: &Server, doc: &str, redacted: usize) -> String {
    use verifier::bundle::{verify_bundle_bytes, VerifyOptions};
    let (st, raw) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(st, 200, "{raw}");
    let bundle: Value = serde_json::from_str(&raw).unwrap();
    let held = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"].get("redacted").is_some())
        .count();
    assert_eq!(held, redacted, "redacted records: {raw}");
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_owned();
    let policy = verifier::policy::TrustPolicy::parse(&format!("log {vkey}\n")).unwrap();
    let report = verify_bundle_bytes(raw.as_bytes(), &VerifyOptions::with_policy(policy, "test"));
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).map(|c| &c.id).collect();
    assert!(failed.is_empty(), "failed {failed:?}: {}", report.to_text());
    raw
}

fn register(s: &Server, signer: &Signer) {
    let body = json!({"name": signer.issuer.name, "public_key": signer.issuer.public_key_b64()});
    let (st, body) =
        s.post("/v1/issuers", Some(&s.tokens.platform), serde_json::to_vec(&body).unwrap());
    assert_eq!(st, 200, "{body}");
}

fn issue_report(s: &Server, doc: &str, key: &str) -> String {
    let resp = s
        .client()
        .post(format!("{}/v1/documents/{doc}/reports", s.url))
        .bearer_auth(&s.tokens.legal)
        .header("idempotency-key", key)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.headers()["x-report-event-id"].to_str().unwrap().to_owned()
}

/// Serves `s` with `EVIDENCE_LEDGER_FAULT` set to `fault`.
fn spawn_faulty(s: &mut Server, fault: &str) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", s.data().to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .env(ledger::fault::FAULT_ENV, fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    s.url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
    s.child = Some(child);
}

/// One run: a contract of a person with planted markers, two stored
/// reports (which print the identity in full), access-log records of
/// its reads; the erasure crashes the server at `fault`; restarted, the
/// clean-up must be complete.
fn crash_at(fault: &str, subject: bool) {
    let mut s = Server::prepare();
    spawn_faulty(&mut s, fault);
    let mark = rand_hex();
    let (name, number) = (format!("姓名MARK{mark}"), format!("1101011990{mark}"));
    let doc = format!("contract-mark-{mark}");
    let key = format!("report-key-{mark}");
    let actor = format!("u-mark-{mark}");
    let display = format!("某{mark}*");
    // The signer's key is registered under a name without the actor id:
    // issuer names are kept in clear (evidence-v2.md, "What survives"),
    // and this test is about what an erasure removes.
    let p = marked_person(&actor, &display, &name, &number, &format!("signer:k-{mark}"));
    register(&s, &p);
    let events = contract_flow_for(TENANT, &services(&s), &[&p], &doc, doc.as_bytes());
    let (st, body) = s.submit(&json!({"events": events}));
    assert_eq!(st, 200, "{body}");
    let reports = [issue_report(&s, &doc, &key), issue_report(&s, &doc, "second")];
    let (st, bundle) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(st, 200);
    assert!(bundle.contains(&number), "the bundle opens the identity before the erasure");
    // The markers are written (sealed) before the erasure: the scan can
    // see them only if a step leaves them in clear.
    let (path, markers): (String, Vec<&str>) = if subject {
        (format!("/v1/subjects/{actor}/erase"), vec![&name, &number, &actor, &display])
    } else {
        (format!("/v1/documents/{doc}/erase"), vec![&name, &number, &doc, &key])
    };
    let sent = s
        .client()
        .post(format!("{}{path}", s.url))
        .bearer_auth(&s.tokens.admin)
        .body(serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap())
        .send();
    assert!(sent.is_err(), "{fault}: the server crashed before answering: {sent:?}");
    s.child.take().unwrap().wait().unwrap();

    s.spawn();
    let hits = scan(s.data(), &markers);
    assert!(hits.is_empty(), "{fault} (subject {subject}): after restart: {hits:#?}");
    for r in &reports {
        let (st, _) = s.get(&format!("/v1/documents/{doc}/reports/{r}"), Some(&s.tokens.legal));
        assert_eq!(st, 404, "{fault}: stored report {r} is gone");
    }
    if subject {
        // The surviving records no longer hold the actor or the claims,
        // and the bundle still verifies.
        // (The flow's event ids spell the actor id: event ids stay.)
        let bundle = redacted_bundle_verifies(&s, &doc, 3);
        let actor_member = format!("\"id\":\"{actor}\"");
        let claims = ["phone_3_factor", "sms_code", "\"action\":\"sign\""];
        let mut gone: Vec<&str> = vec![&actor_member, &display, &name, &number];
        gone.extend(claims);
        for gone in gone {
            assert!(!bundle.contains(gone), "{fault}: {gone} still in the bundle");
        }
    }
    // Done: a repeat finds nothing more to do.
    let (st, body) = s.post(
        &path,
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "again"})).unwrap(),
    );
    assert_eq!(st, if subject { 404 } else { 409 }, "{body}");
    let l = {
        s.terminate();
        ledger::Ledger::open_read_only(s.data()).unwrap()
    };
    assert!(l.pending_cleanups().unwrap().is_empty(), "{fault}: no clean-up left pending");
    assert!(!l.purge_pending().unwrap(), "{fault}: purged");
}

#[test]
fn a_document_erasure_completes_after_a_crash_at_each_step() {
    for fault in ["erase-cleanup-reports", "erase-committed", "purge-flushed"] {
        crash_at(fault, false);
    }
}

#[test]
fn a_subject_erasure_completes_after_a_crash_at_each_step() {
    for fault in
        ["erase-committed", "erase-cleanup-records", "erase-cleanup-reports", "purge-flushed"]
    {
        crash_at(fault, true);
    }
}

/// The answer to a resubmission of `event` with the ID number `number`.
fn resubmit(s: &Server, event: &Value, number: &str) -> (u16, Value) {
    let mut e = event.clone();
    e["identity"]["id_number"] = json!(number);
    s.submit(&e)
}

#[test]
fn a_guessed_identity_gets_the_answer_of_a_wrong_guess_after_erasure() {
    let s = Server::start();
    let (right, wrong) = ("110101199003071234", "110101199003075678");
    for (i, subject) in [false, true].into_iter().enumerate() {
        let actor = format!("u-oracle-{i}");
        let p = person(&actor, "某某某", right);
        register(&s, &p);
        let doc = format!("oracle-{i}");
        let events = contract_flow_for(TENANT, &services(&s), &[&p], &doc, doc.as_bytes());
        assert_eq!(s.submit(&json!({"events": events})).0, 200);
        let with_identity = events.iter().find(|e| e.get("identity").is_some()).unwrap().clone();
        // Before the erasure the idempotency record tells the two apart
        // (what the erasure must end).
        assert_eq!(resubmit(&s, &with_identity, right).0, 200);
        assert_eq!(resubmit(&s, &with_identity, wrong).0, 409);
        let path = if subject {
            format!("/v1/subjects/{actor}/erase")
        } else {
            format!("/v1/documents/{doc}/erase")
        };
        let (st, body) = s.post(
            &path,
            Some(&s.tokens.admin),
            serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
        );
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["erased"]["pending"], json!([]), "{body}");
        let guessed = resubmit(&s, &with_identity, right);
        let wrong_guess = resubmit(&s, &with_identity, wrong);
        assert_eq!(guessed, wrong_guess, "subject erasure {subject}: an oracle");
        assert_eq!(guessed.0, 410, "{guessed:?}");
    }
}

#[test]
fn service_entries_are_not_found_by_hashes_a_stranger_can_compute() {
    let s = Server::start();
    let p = person("u-guess-1", "某某某", "110101199003070001");
    register(&s, &p);
    let doc = "guess-doc";
    let events = contract_flow_for(TENANT, &services(&s), &[&p], doc, b"guess document");
    assert_eq!(s.submit(&json!({"events": events})).0, 200);
    // Service entries: a retention policy, a token minted over the API, a
    // subject erasure; the signer's key registration above.
    let (st, body) = s.post(
        "/v1/retention",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"erase_after_days": 3650})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    let (st, tok) = s.post(
        "/v1/tokens",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"role": "legal"})).unwrap(),
    );
    assert_eq!(st, 200, "{tok}");
    let token_id = tok["id"].as_str().unwrap_or_default().to_owned();
    let (st, body) = s.post(
        "/v1/subjects/u-guess-1/erase",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    // The lookup works for the file itself ...
    let h = Hash::digest(b"guess document").to_hex();
    assert_eq!(s.get(&format!("/v1/lookup?document_hash={h}"), None).0, 200);
    // ... and for none of the hashes a stranger can compute.
    let key = B64.decode(p.issuer.public_key_b64()).unwrap();
    let guessable = [
        ("retention", Hash::digest(format!("evidence-ledger retention {TENANT}").as_bytes())),
        ("signer key", Hash::digest(&key)),
        ("token", Hash::digest(format!("evidence-ledger token {token_id}").as_bytes())),
        ("subject", Hash::digest(b"evidence-ledger subject u-guess-1")),
        ("idp key", Hash::digest(&B64.decode(s.services.idp.public_key_b64()).unwrap())),
    ];
    for (what, hash) in guessable {
        let (st, body) = s.get(&format!("/v1/lookup?document_hash={}", hash.to_hex()), None);
        assert_eq!(st, 404, "{what}: found by a guessable hash: {body}");
    }
}

#[test]
fn the_ledgers_own_entries_are_not_the_tenants_to_erase() {
    let mut s = Server::start();
    let p = person("u-own-1", "某某某", "110101199003070002");
    register(&s, &p);
    let events = contract_flow_for(TENANT, &services(&s), &[&p], "own-doc", b"own");
    assert_eq!(s.submit(&json!({"events": events})).0, 200);
    let (st, body) = s.post(
        "/v1/retention",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"erase_after_days": 3650})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.post(
        "/v1/subjects/u-own-1/erase",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    let own = ["retention:policy", "subject:u-own-1", "issuer:signer:u-own-1", "token:x"];
    for doc in own {
        let (st, body) = s.post(
            &format!("/v1/documents/{doc}/erase"),
            Some(&s.tokens.admin),
            serde_json::to_vec(&json!({"reason": "tenant wants it gone"})).unwrap(),
        );
        assert_eq!(st, 400, "{doc}: {body}");
    }
    s.terminate();
    let l = ledger::Ledger::open_read_only(s.data()).unwrap();
    for doc in ["retention:policy", "subject:u-own-1"] {
        let entries = l.document_entries(TENANT, doc).unwrap();
        assert!(!entries.is_empty(), "{doc} was logged");
        for i in entries {
            assert!(
                matches!(l.opening(i).unwrap(), ledger::Opening::Record { .. }),
                "{doc}: entry {i} still opens"
            );
        }
    }
}

#[test]
fn a_backup_holds_no_contract_id_client_address_or_reason_in_clear() {
    let s = Server::start();
    let mark = rand_hex();
    let p = person(&format!("u-bk-{mark}"), "某某某", "110101199003070003");
    register(&s, &p);
    let (kept, erased) = (format!("contract-bk-{mark}"), format!("contract-gone-{mark}"));
    for doc in [&kept, &erased] {
        let events = contract_flow_for(TENANT, &services(&s), &[&p], doc, doc.as_bytes());
        assert_eq!(s.submit(&json!({"events": events})).0, 200);
        // Access-log records (path, client address) and a stored report
        // with its idempotency key, for each document.
        assert_eq!(s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal)).0, 200);
        issue_report(&s, doc, &format!("key-{mark}-{doc}"));
    }
    let reason = format!("REASON-{mark} request of 王某");
    let (st, body) = s.post(
        &format!("/v1/documents/{erased}/erase"),
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": reason})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    // The access log still reads back in clear for its admin.
    let (st, log) = s.get("/v1/access-log", Some(&s.tokens.admin));
    assert_eq!(st, 200, "{log}");
    assert!(log.contains(&kept) && log.contains("127.0.0.1"), "{log}");
    // The bundle of the erased document still gives the reason.
    let (st, bundle) = s.get(&format!("/v1/documents/{erased}/bundle"), Some(&s.tokens.legal));
    assert_eq!(st, 200);
    assert!(bundle.contains(&reason), "the reason opens for the tenant");

    let to = tempfile::tempdir().unwrap();
    let backup = to.path().join("backup");
    common::cli(&[
        "backup",
        "--data",
        s.data().to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    let key_kept = format!("key-{mark}-{kept}");
    let markers = [
        kept.as_str(),
        erased.as_str(),
        key_kept.as_str(),
        &reason,
        &format!("REASON-{mark}"),
        "127.0.0.1",
    ];
    let hits = scan(&backup, &markers);
    assert!(hits.is_empty(), "the backup holds in clear: {hits:#?}");
    // Issuer names (here `signer:<actor id>`) are keyed and sealed, so
    // neither the signer's issuer name nor its actor id is in the backup.
    let (issuer, actor) = (format!("signer:u-bk-{mark}"), format!("u-bk-{mark}"));
    let hits = scan(&backup, &[&issuer, &actor]);
    assert!(hits.is_empty(), "the backup holds an issuer name or actor id: {hits:#?}");
    // The scan does see what is still in clear (tenant names:
    // evidence-v2.md "What survives").
    assert!(!scan(&backup, &[TENANT]).is_empty(), "the scan reads the backup");
}

#[test]
fn public_metrics_do_not_count_erasures_reports_or_registry_changes_by_route() {
    let s = Server::start();
    let p = person("u-metrics-1", "某某某", "110101199003070004");
    register(&s, &p);
    let events = contract_flow_for(TENANT, &services(&s), &[&p], "metrics-doc", b"metrics");
    assert_eq!(s.submit(&json!({"events": events})).0, 200);
    issue_report(&s, "metrics-doc", "metrics-key");
    assert_eq!(s.get("/v1/documents/metrics-doc/bundle", Some(&s.tokens.legal)).0, 200);
    let (st, _) = s.post(
        "/v1/retention",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"erase_after_days": 3650})).unwrap(),
    );
    assert_eq!(st, 200);
    let (st, body) = s.post(
        "/v1/documents/metrics-doc/erase",
        Some(&s.tokens.admin),
        serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
    );
    assert_eq!(st, 200, "{body}");
    let (st, metrics) = s.get("/metrics", None);
    assert_eq!(st, 200);
    for route in [
        "erase",
        "report",
        "bundle",
        "retention",
        "tokens",
        "issuers",
        "lookup_switch",
        "access_log",
    ] {
        let label = format!("route=\"{route}\"");
        assert!(!metrics.contains(&label), "/metrics counts {route} by route:\n{metrics}");
    }
    assert!(metrics.contains("route=\"privileged\""), "{metrics}");
    assert!(metrics.contains("route=\"events\""), "public routes keep their label");
}

/// The table files of the store, by name and size.
fn table_files(data: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(data.join("db"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sst"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_repeated_erasure_rewrites_nothing() {
    let s = Server::start();
    let p = person("u-repeat-1", "某某某", "110101199003070005");
    register(&s, &p);
    for doc in ["repeat-doc", "repeat-kept"] {
        let events = contract_flow_for(TENANT, &services(&s), &[&p], doc, doc.as_bytes());
        assert_eq!(s.submit(&json!({"events": events})).0, 200);
    }
    let erase = |path: &str| {
        s.post(
            path,
            Some(&s.tokens.admin),
            serde_json::to_vec(&json!({"reason": "data subject request"})).unwrap(),
        )
    };
    let (st, body) = erase("/v1/documents/repeat-doc/erase");
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["erased"]["purged"], true);
    let (st, body) = erase("/v1/subjects/u-repeat-1/erase");
    assert_eq!(st, 200, "{body}");
    let before = table_files(s.data());
    assert!(!before.is_empty(), "the purges wrote table files");
    // Repeats: a 409 and a 404, and not one table file flushed or rewritten
    // (they used to flush and compact the whole store each time).
    for _ in 0..3 {
        assert_eq!(erase("/v1/documents/repeat-doc/erase").0, 409);
        assert_eq!(erase("/v1/subjects/u-repeat-1/erase").0, 404);
    }
    assert_eq!(table_files(s.data()), before);
}

#[test]
fn erasure_reasons_are_codes_with_an_optional_note() {
    let s = Server::start();
    let p = person("u-code-1", "某某某", "110101199003070006");
    register(&s, &p);
    let events = contract_flow_for(TENANT, &services(&s), &[&p], "code-doc", b"code");
    assert_eq!(s.submit(&json!({"events": events})).0, 200);
    let erase = |body: Value| {
        s.post(
            "/v1/documents/code-doc/erase",
            Some(&s.tokens.admin),
            serde_json::to_vec(&body).unwrap(),
        )
    };
    for bad in [
        json!({"reason_code": "because"}),
        json!({"reason": "x", "reason_code": "other"}),
        json!({"note": "only a note"}),
        json!({}),
    ] {
        let (st, body) = erase(bad.clone());
        assert_eq!(st, 400, "{bad}: {body}");
    }
    assert!(s.get("/v1/documents/code-doc/bundle", Some(&s.tokens.legal)).1.contains("\"record\""));
    let (st, body) = erase(json!({"reason_code": "data_subject_request", "note": "ticket 7"}));
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["erased"]["reason_code"], "data_subject_request");
    assert_eq!(body["erased"]["note"], "ticket 7");
    let (st, bundle) = s.get("/v1/documents/code-doc/bundle", Some(&s.tokens.legal));
    assert_eq!(st, 200);
    assert!(bundle.contains("data_subject_request: ticket 7"), "{bundle}");
}
