//! End-to-end abuse suite (issue 24): short, bounded loads against a real
//! server that try to break a limit, and assert on what must hold —
//! counts, statuses, records — never on timing.
//!
//! - abandoned work (clients that send a request and hang up) stays within
//!   the verify slots, the per-client share and the submission admission;
//! - connections per client address are capped, keyed on the address the
//!   service trusts; a body over the tenant's bytes is refused on its
//!   `Content-Length`, before it is sent;
//! - a report flood by one tenant leaves another tenant's receipts and
//!   reports flowing;
//! - a 401 flood writes nothing to the store, and past a few failures its
//!   address is answered 429 before any token work while other addresses
//!   are served;
//! - a token's own flood of 404s cannot evict the record of its read;
//! - another tenant's entries never appear as a document's records on the
//!   public lookup, and a hidden document answers as an unknown hash;
//! - the platform mints no tenant's legal/notary tokens and registers no
//!   tenant's signer keys; retention has a floor and a delay;
//! - the service refuses to start with too few file descriptors.
//!
//! (A child token dying with its parent: tests/tenancy.rs,
//! `a_minted_token_neither_outlives_nor_survives_its_minter`.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use evidence_ledger::flows::{contract_flow_for, signed_event_for, Services};
use serde_json::{json, Value};
use verifier::Hash;

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn addr(s: &Server) -> String {
    s.url.trim_start_matches("http://").to_string()
}

/// One value of the service's `/metrics`, e.g.
/// `evidence_work_in_flight_peak{kind="verify"}`; 0 when absent.
fn metric(s: &Server, series: &str) -> f64 {
    let (_, text) = s.get("/metrics", None);
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Sends a whole request on a new connection and hangs up without reading
/// the answer.
fn abandon(s: &Server, head: &str, payload: &[u8]) {
    let mut c = TcpStream::connect(addr(s)).unwrap();
    let _ = c.write_all(head.as_bytes());
    let _ = c.write_all(payload);
    let _ = c.flush();
    drop(c);
}

/// Sends a whole request on a new connection, waits (bounded) until work
/// of `kind` has started, then hangs up without reading the answer: the
/// work is abandoned while it runs, not before its body was read.
fn abandon_running(s: &Server, head: &str, payload: &[u8], kind: &str) {
    let mut c = TcpStream::connect(addr(s)).unwrap();
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(payload).unwrap();
    c.flush().unwrap();
    let series = format!("evidence_work_in_flight_peak{{kind=\"{kind}\"}}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(s, &series) < 1.0 {
        assert!(Instant::now() < deadline, "the {kind} work never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
}

/// Waits (bounded) until no work of `kind` runs.
fn drained(s: &Server, kind: &str) {
    let series = format!("evidence_work_in_flight{{kind=\"{kind}\"}}");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Give the last abandoned request time to reach its work first.
    std::thread::sleep(Duration::from_millis(500));
    while metric(s, &series) > 0.0 {
        assert!(Instant::now() < deadline, "{kind} work never ended");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A contract of `n` signed events for `tenant`, submitted.
fn submit_many(s: &Server, token: &str, tenant: &str, doc: &str, n: usize) {
    let h = Hash::digest(doc.as_bytes()).to_hex();
    let events: Vec<_> = (0..n)
        .map(|i| signed_event_for(tenant, &s.services.idp, &format!("{doc}-{i}"), doc, &h))
        .collect();
    let (st, b) = s.post("/v1/events", Some(token), body(&json!({ "events": events })));
    assert_eq!(st, 200, "{b}");
}

/// Abandoned `POST /v1/verify` requests keep their slot and their client's
/// share until their verification really ends: one client's run one at a
/// time, several clients' at most two at a time (the slots).
#[test]
fn abandoned_verifications_stay_within_their_limits() {
    let mut s = Server::prepare();
    // The test's requests come "through a proxy" on 127.0.0.1, each
    // naming its client: per-client shares key on those names.
    s.spawn_with(&["--trusted-proxy", "127.0.0.1"]);
    submit_many(&s, &s.tokens.submitter, TENANT, "doc-heavy", 400);
    let (st, bundle) = s.get("/v1/documents/doc-heavy/bundle", Some(&s.tokens.legal));
    assert_eq!(st, 200);
    let bundle: Value = serde_json::from_str(&bundle).unwrap();
    let one = serde_json::to_vec(&bundle).unwrap().len();
    let copies = ((12 << 20) / one).clamp(1, 100);
    let items: Vec<Value> = (0..copies).map(|_| json!({ "bundle": bundle })).collect();
    let payload = body(&json!({ "bundles": items }));
    let head = |client: &str| {
        format!(
            "POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        )
    };
    // One client, eight times: the first hangs up once its verification
    // runs, the rest at once after it.
    abandon_running(&s, &head("198.51.100.1"), &payload, "verify");
    for _ in 0..7 {
        abandon(&s, &head("198.51.100.1"), &payload);
    }
    drained(&s, "verify");
    let peak = metric(&s, "evidence_work_in_flight_peak{kind=\"verify\"}");
    assert!(peak >= 1.0, "the abandoned verifications ran");
    assert!(peak <= 1.0, "one client's verifications ran {peak} at once");
    // Four clients, three times each, all at once.
    let threads: Vec<_> = (0..4)
        .map(|c| {
            let (h, p, a) = (head(&format!("198.51.100.{}", 10 + c)), payload.clone(), addr(&s));
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let mut t = TcpStream::connect(&a).unwrap();
                    let _ = t.write_all(h.as_bytes());
                    let _ = t.write_all(&p);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    drained(&s, "verify");
    let peak = metric(&s, "evidence_work_in_flight_peak{kind=\"verify\"}");
    assert!(peak <= 2.0, "{peak} verifications at once, over the 2 slots");
    // The service still verifies.
    let resp = s.client().post(format!("{}/v1/verify", s.url)).body("{}").send().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

/// Abandoned submissions keep their admission until their batch is done:
/// with `--max-in-flight-requests 2` (a tenant's share: 1), no more than
/// that ever runs, however many clients hang up.
#[test]
fn abandoned_submissions_stay_within_admission() {
    let mut s = Server::prepare();
    s.spawn_with(&["--max-in-flight-requests", "2"]);
    let h = Hash::digest(b"doc-ab").to_hex();
    let batch = |t: usize| {
        let events: Vec<_> = (0..1000)
            .map(|i| {
                signed_event_for(TENANT, &s.services.idp, &format!("ab-{t}-{i}"), "doc-ab", &h)
            })
            .collect();
        let payload = body(&json!({ "events": events }));
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            s.tokens.submitter,
            payload.len()
        );
        (head, payload)
    };
    // Signed before the clock matters: the first hangs up once its batch
    // is being checked, and 23 more follow at once.
    let mut batches: Vec<_> = (0..24).map(batch).collect();
    let (head, payload) = batches.remove(0);
    abandon_running(&s, &head, &payload, "submit");
    let threads: Vec<_> = batches
        .into_iter()
        .map(|(head, payload)| {
            let a = addr(&s);
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(&a).unwrap();
                let _ = c.write_all(head.as_bytes());
                let _ = c.write_all(&payload);
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    drained(&s, "submit");
    let peak = metric(&s, "evidence_work_in_flight_peak{kind=\"submit\"}");
    assert!(peak >= 1.0, "the abandoned batches ran");
    assert!(peak <= 1.0, "one tenant's submissions ran {peak} at once, over its share");
    // Everything admitted was released: the tenant is served again.
    let ev = signed_event_for(TENANT, &s.services.idp, "ab-after", "doc-ab", &h);
    assert_eq!(s.submit(&ev).0, 200);
}

/// One address holds at most `--max-connections-per-client` connections;
/// the next is answered 429 and closed, and a place comes back when one
/// of its connections closes.
#[test]
fn connections_per_client_are_capped() {
    let mut s = Server::prepare();
    s.spawn_with(&["--max-connections-per-client", "4"]);
    let held: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr(&s)).unwrap()).collect();
    // Let the accept loop take all four.
    std::thread::sleep(Duration::from_millis(300));
    let mut fifth = TcpStream::connect(addr(&s)).unwrap();
    fifth.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = String::new();
    fifth.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(answer.contains("too_many_connections"), "{answer}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match s.client().get(format!("{}/healthz", s.url)).send() {
            Ok(r) if r.status().as_u16() == 200 => break,
            _ => assert!(Instant::now() < deadline, "the places did not come back"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A body over the tenant's bytes for the day is refused on its declared
/// length, before a byte of it is sent; the refusal is charged nothing
/// else and the other tenant goes on.
#[test]
fn bytes_are_charged_from_content_length_before_the_body() {
    let mut s = Server::prepare();
    s.spawn_with(&["--tenant-quota", &format!("{TENANT}=0:4000")]);
    let mut c = TcpStream::connect(addr(&s)).unwrap();
    write!(
        c,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
        s.tokens.submitter
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    let n = c.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 429"), "answered without the body: {head}");
    // Writes other than events are charged too: a token request the quota
    // cannot hold is refused before its body is read.
    let h = Hash::digest(b"doc-cl").to_hex();
    let ev = signed_event_for(OTHER, &s.services.idp, "cl-1", "doc-cl", &h);
    assert_eq!(s.post("/v1/events", Some(&s.tokens.other_submitter), body(&ev)).0, 200);
}

/// One tenant's report flood (many at once, half of them abandoned) gets
/// 429s past its queue and never a 5xx, while another tenant's receipts
/// and its own report keep coming.
#[test]
fn a_report_flood_leaves_another_tenants_receipts_and_reports_flowing() {
    let s = Server::start();
    submit_many(&s, &s.tokens.submitter, TENANT, "doc-r", 50);
    submit_many(&s, &s.tokens.other_submitter, OTHER, "doc-o", 5);
    let url = format!("{}/v1/documents/doc-r/reports", s.url);
    let flood: Vec<_> = (0..16)
        .map(|i| {
            let (url, token, a) = (url.clone(), s.tokens.legal.clone(), addr(&s));
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    let mut c = TcpStream::connect(a).unwrap();
                    let head = format!(
                        "POST /v1/documents/doc-r/reports HTTP/1.1\r\nHost: x\r\n\
                         Authorization: Bearer {token}\r\nIdempotency-Key: flood-{i}\r\n\
                         Content-Length: 0\r\n\r\n"
                    );
                    let _ = c.write_all(head.as_bytes());
                    return None;
                }
                let client = reqwest::blocking::Client::new();
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", format!("flood-{i}"))
                    .send()
                    .unwrap();
                Some(r.status().as_u16())
            })
        })
        .collect();
    // Meanwhile the other tenant submits and asks for its report.
    let h = Hash::digest(b"doc-o2").to_hex();
    for i in 0..20 {
        let ev = signed_event_for(OTHER, &s.services.idp, &format!("o2-{i}"), "doc-o2", &h);
        let (st, b) = s.post("/v1/events", Some(&s.tokens.other_submitter), body(&ev));
        assert_eq!(st, 200, "{b}");
    }
    let r = s
        .client()
        .post(format!("{}/v1/documents/doc-o/reports", s.url))
        .bearer_auth(&s.tokens.other_legal)
        .header("Idempotency-Key", "mine")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    for t in flood {
        if let Some(status) = t.join().unwrap() {
            assert!(status == 200 || status == 429, "the flood got {status}");
        }
    }
}

/// A tenant's flood of erasures holds at most its queue's places
/// (`MAX_REPORTS_QUEUED_PER_TENANT`, shared with its reports and lookup
/// switches): each answer is the erasure (200) or 429 and nothing erased,
/// and no more than 4 ran or waited at once.
#[test]
fn an_erasure_flood_is_bounded_per_tenant() {
    let s = Server::start();
    let docs: Vec<String> = (0..24).map(|i| format!("flood-e{i}")).collect();
    for d in &docs {
        submit_many(&s, &s.tokens.submitter, TENANT, d, 2);
    }
    let flood: Vec<_> = docs
        .iter()
        .map(|d| {
            let (url, token, d) = (s.url.clone(), s.tokens.admin.clone(), d.clone());
            std::thread::spawn(move || {
                let r = reqwest::blocking::Client::new()
                    .post(format!("{url}/v1/documents/{d}/erase"))
                    .bearer_auth(token)
                    .body(r#"{"reason_code":"consent_withdrawn"}"#)
                    .send()
                    .unwrap();
                (d, r.status().as_u16(), r.text().unwrap())
            })
        })
        .collect();
    for t in flood {
        let (d, status, text) = t.join().unwrap();
        let (_, bundle) = s.get(&format!("/v1/documents/{d}/bundle"), Some(&s.tokens.legal));
        match status {
            200 => assert!(bundle.contains("\"erased\""), "{d}: answered 200, not erased"),
            429 => assert!(!bundle.contains("\"erased\""), "{d}: answered 429, erased"),
            other => panic!("{d}: {other} {text}"),
        }
    }
    let peak = metric(&s, "evidence_work_in_flight_peak{kind=\"erase\"}");
    assert!((1.0..=4.0).contains(&peak), "erasures at once: {peak}");
}

/// Anonymous requests with bad tokens and long paths are counted, not
/// stored: the access log holds no more records after the flood, and the
/// count says how many were refused.
#[test]
fn a_401_flood_leaves_the_store_flat() {
    let mut s = Server::prepare();
    // Counted with the server stopped: a read-only open beside a running
    // server can race its compactions.
    let records = |s: &Server| {
        let l = ledger::Ledger::open_read_only(s.data()).unwrap();
        l.aux_scan(b"access-log\0").unwrap().len()
    };
    let before = records(&s);
    s.spawn();
    let long = "x".repeat(8 << 10);
    let client = s.client();
    let mut refused = 0;
    for i in 0..1500 {
        let path = format!("{}/v1/documents/{long}{i}/bundle", s.url);
        let r = client.get(path).bearer_auth("elt_nobody").send().unwrap();
        // The first failures of the window are 401s; then the address is
        // refused before any token work (429), and nothing is stored.
        match r.status().as_u16() {
            401 => assert_eq!(refused, 0, "a 401 after the address was refused"),
            429 => refused += 1,
            other => panic!("{other}"),
        }
    }
    let failures = 1500 - refused;
    assert_eq!(failures, 50, "the default limit of failures per window");
    assert!(metric(&s, "evidence_auth_failures_total") >= failures as f64);
    assert!(s.terminate());
    assert_eq!(records(&s), before, "a 401 flood wrote access-log records");
}

/// A legal token reads a bundle, then floods its tenant's trail with cheap
/// 404s: the trail fills up and further privileged requests are refused
/// (429), but the record of the read is still there; submissions go on.
#[test]
fn a_tokens_own_404_flood_cannot_evict_its_access_record() {
    let mut s = Server::prepare();
    s.spawn_with(&["--access-log-max-records", "40"]);
    submit_many(&s, &s.tokens.submitter, TENANT, "doc-ev", 2);
    assert_eq!(s.get("/v1/documents/doc-ev/bundle", Some(&s.tokens.legal)).0, 200);
    let mut refused = 0;
    for i in 0..60 {
        match s.get(&format!("/v1/documents/none-{i}/bundle"), Some(&s.tokens.legal)).0 {
            404 => {}
            429 => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert!(refused >= 20, "the full trail refused only {refused}");
    // The admin's read of the trail is privileged too, and refused while it
    // is full; the records are read here from the store itself.
    assert_eq!(s.get("/v1/access-log", Some(&s.tokens.admin)).0, 429);
    // Other tenants' trails, and the tenant's submissions, are untouched.
    assert_eq!(s.get("/v1/documents/nope/bundle", Some(&s.tokens.other_legal)).0, 404);
    submit_many(&s, &s.tokens.submitter, TENANT, "doc-ev2", 1);
    assert!(s.terminate());
    let l = ledger::Ledger::open_read_only(s.data()).unwrap();
    let prefix = format!("access-log\0{TENANT}\0");
    let rows = l.aux_scan(prefix.as_bytes()).unwrap();
    assert_eq!(rows.len(), 40);
    // Sealed at rest (issue 25): read back through the service, with room
    // in the trail again, oldest (the first page's last) being the read.
    assert!(rows.iter().all(|(_, v)| !v.starts_with(b"{")), "records are sealed at rest");
    drop(l);
    s.spawn_with(&["--access-log-max-records", "1000"]);
    let (st, body) = s.get("/v1/access-log", Some(&s.tokens.admin));
    assert_eq!(st, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let records = page["records"].as_array().unwrap();
    assert!(page["next_cursor"].is_null() && records.len() <= 41, "{page}");
    let first = records.last().unwrap();
    assert_eq!(first["action"], "bundle_read");
    assert_eq!(first["path"], "/v1/documents/doc-ev/bundle");
    assert_eq!(first["status"], 200);
    assert_eq!(first["client"], "127.0.0.1");
}

/// Tenant B logs `registered`, `signed` and `revoked` under the hash of
/// tenant A's document. The lookup groups entries per (tenant, contract)
/// and never puts B's entries in A's group; once A hides its document only
/// B's group remains, labelled as such; with B's gone too, the answer is
/// exactly that of an unknown hash.
#[test]
fn another_tenants_entries_never_appear_as_a_documents_records() {
    let s = Server::start();
    let file = b"the contract file of acme";
    let services = Services {
        idp: evidence_ledger::flows::Issuer::from_seed(
            &s.services.idp.name,
            s.services.idp.key.to_bytes(),
        ),
        intent: evidence_ledger::flows::Issuer::from_seed(
            &s.services.intent.name,
            s.services.intent.key.to_bytes(),
        ),
    };
    let mine = contract_flow_for(TENANT, &services, &[&s.signers[0]], "doc-mine", file);
    assert_eq!(s.submit(&json!({ "events": mine })).0, 200);
    let h = Hash::digest(file).to_hex();
    let before = s.get_json(&format!("/v1/lookup?document_hash={h}"));
    let mine_n = before["entries"].as_array().unwrap().len();
    let my_group = before["entries"][0]["group"].as_str().unwrap().to_owned();
    // The forger: another tenant logs a whole contract of its own,
    // registered to signed to completed, under the same hash.
    let forged = contract_flow_for(OTHER, &services, &[&s.signers[0]], "fake", file);
    let forged_n = forged.len();
    let (st, b) =
        s.post("/v1/events", Some(&s.tokens.other_submitter), body(&json!({ "events": forged })));
    assert_eq!(st, 200, "{b}");
    let after = s.get_json(&format!("/v1/lookup?document_hash={h}"));
    assert!(after["grouping"].as_str().unwrap().contains("not your document's record"));
    let groups = after["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{after}");
    assert_eq!(groups[0]["group"], my_group.as_str());
    assert_eq!(groups[0]["entries"], mine_n);
    assert_eq!(groups[1]["entries"], forged_n);
    assert_eq!(groups[1]["registers_this_hash"], true);
    let entries = after["entries"].as_array().unwrap();
    let in_mine = entries.iter().filter(|e| e["group"] == my_group.as_str()).count();
    assert_eq!(in_mine, mine_n, "another tenant's entries counted as the document's");
    // Hidden by its tenant: only the forger's group is left, as its own.
    let off = body(&json!({"enabled": false}));
    assert_eq!(s.post("/v1/documents/doc-mine/lookup", Some(&s.tokens.admin), off).0, 200);
    let hidden = s.get_json(&format!("/v1/lookup?document_hash={h}"));
    let entries = hidden["entries"].as_array().unwrap();
    assert_eq!(entries.len(), forged_n);
    assert!(entries.iter().all(|e| e["group"] != my_group.as_str()));
    // A hash only a hidden document cites answers like one nobody cites.
    let lone = b"a lone file";
    let flow = contract_flow_for(TENANT, &services, &[&s.signers[0]], "doc-lone", lone);
    assert_eq!(s.submit(&json!({ "events": flow })).0, 200);
    let off = body(&json!({"enabled": false}));
    assert_eq!(s.post("/v1/documents/doc-lone/lookup", Some(&s.tokens.admin), off).0, 200);
    let hidden = s.get(&format!("/v1/lookup?document_hash={}", Hash::digest(lone).to_hex()), None);
    let unknown =
        s.get(&format!("/v1/lookup?document_hash={}", Hash::digest(b"never").to_hex()), None);
    assert_eq!(hidden, unknown);
    assert_eq!(hidden.0, 404);
}

/// The platform mints a tenant's submitter tokens and its first admin
/// token, nothing else, and registers no tenant's signer keys; retention
/// below the floor is refused and a shorter one waits for its delay.
#[test]
fn the_platform_does_not_act_for_a_tenant() {
    let s = Server::start();
    let platform = &s.tokens.platform;
    let mint = |tenant: &str, role: &str| {
        s.post("/v1/tokens", Some(platform), body(&json!({"tenant": tenant, "role": role}))).0
    };
    assert_eq!(mint(TENANT, "legal"), 403);
    assert_eq!(mint(TENANT, "notary"), 403);
    assert_eq!(mint(TENANT, "admin"), 403, "the tenant has an admin, who mints admins");
    assert_eq!(mint(TENANT, "submitter"), 200);
    // A new tenant gets its first admin from the platform, and only one.
    assert_eq!(mint("newco", "admin"), 200);
    assert_eq!(mint("newco", "admin"), 403);
    // The tenant's admin still mints its own.
    let (st, _) = s.post("/v1/tokens", Some(&s.tokens.admin), body(&json!({"role": "legal"})));
    assert_eq!(st, 200);
    let signer = evidence_ledger::flows::Issuer::random("signer:u-77");
    let b = json!({"name": signer.name, "public_key": signer.public_key_b64(), "tenant": TENANT});
    assert_eq!(s.post("/v1/issuers", Some(platform), body(&b)).0, 403);
    let b = json!({"name": signer.name, "public_key": signer.public_key_b64()});
    assert_eq!(s.post("/v1/issuers", Some(&s.tokens.admin), body(&b)).0, 200);
    // Retention: the floor, then a delay for a policy that erases sooner.
    let set = |days: Value| {
        s.post("/v1/retention", Some(&s.tokens.admin), body(&json!({"erase_after_days": days})))
    };
    assert_eq!(set(json!(0)).0, 400);
    assert_eq!(set(json!(29)).0, 400);
    let (st, got) = set(json!(30));
    assert_eq!(st, 200, "{got}");
    assert!(got["in_force_until_then"].is_null());
    let (_, now) = s.get("/v1/retention", Some(&s.tokens.admin));
    let now: Value = serde_json::from_str(&now).unwrap();
    assert_eq!(now["erase_after_days"], 30);
    assert!(now["in_force"].is_null(), "a sooner erasure is not in force yet: {now}");
    // The ledger's own entries are no tenant's document to read or erase
    // (refusing to erase one is a 400 that says so: tests/erasure.rs).
    let reason = body(&json!({"reason": "x"}));
    assert_eq!(
        s.post("/v1/documents/retention:policy/erase", Some(&s.tokens.admin), reason).0,
        400
    );
    assert_eq!(s.get("/v1/documents/retention:policy/bundle", Some(&s.tokens.legal)).0, 404);
}

/// With fewer file descriptors than the store and a minimum of connections
/// need, the service refuses to start and says which limit to raise.
#[test]
fn too_few_file_descriptors_refuse_to_start() {
    let s = Server::prepare();
    let cmd = format!(
        "ulimit -n 1100 && exec {BIN} serve --data {} --listen 127.0.0.1:0",
        s.data().display()
    );
    let out = std::process::Command::new("sh").args(["-c", &cmd]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("open-file limit 1100"), "{err}");
    assert!(err.contains("LimitNOFILE"), "{err}");
}

/// One address floods with bad tokens: past `--auth-failure-limit` in the
/// window it gets 429 + `Retry-After` (even with a good token: nothing is
/// looked up), while another address, and a client behind the trusted
/// proxy with its own forwarded address, are served as before.
#[test]
fn a_401_flood_from_one_address_is_refused_and_others_are_served() {
    let mut s = Server::prepare();
    s.spawn_with(&["--auth-failure-limit", "20", "--trusted-proxy", "127.0.0.3"]);
    let from = |ip: &str| {
        reqwest::blocking::Client::builder()
            .local_address(Some(ip.parse().unwrap()))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
    };
    let (flooder, bystander, proxy) = (from("127.0.0.2"), from("127.0.0.1"), from("127.0.0.3"));
    let tokens_at = |c: &reqwest::blocking::Client, token: &str, xff: Option<&str>| {
        let mut r = c.get(format!("{}/v1/tokens", s.url)).bearer_auth(token);
        if let Some(a) = xff {
            r = r.header("x-forwarded-for", a);
        }
        let r = r.send().unwrap();
        let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), retry)
    };
    let mut statuses = Vec::new();
    for i in 0..200 {
        statuses.push(tokens_at(&flooder, &format!("elt_bad{i}"), None).0);
        // Another client at once, with its own good token: served.
        if i % 20 == 0 {
            assert_eq!(tokens_at(&bystander, &s.tokens.admin, None).0, 200);
        }
    }
    assert!(statuses[..20].iter().all(|&c| c == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|&c| c == 429), "{statuses:?}");
    // Refused before the token is looked at: a good token is refused too.
    let (status, retry) = tokens_at(&flooder, &s.tokens.admin, None);
    assert_eq!(status, 429);
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Behind the trusted proxy, each forwarded client counts on its own.
    for i in 0..25 {
        let (status, _) = tokens_at(&proxy, &format!("elt_bad{i}"), Some("198.51.100.7"));
        assert_eq!(status, if i < 20 { 401 } else { 429 }, "{i}");
    }
    assert_eq!(tokens_at(&proxy, &s.tokens.admin, Some("198.51.100.8")).0, 200);
    // The proxy itself (no forwarded client) is not held to the limit.
    for i in 0..25 {
        assert_eq!(tokens_at(&proxy, &format!("elt_bad{i}"), None).0, 401);
    }
    assert_eq!(tokens_at(&bystander, &s.tokens.admin, None).0, 200);
    assert!(metric(&s, "evidence_auth_failures_total") >= 65.0);
}
