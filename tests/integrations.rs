//! End-to-end: Documenso and DocuSeal webhooks through the adapters
//! (issue 28), against a real service and a fake platform API on
//! 127.0.0.1 that serves the PDFs (tests/fixtures/integrations, built from
//! the platforms' published schemas: SOURCES.md there).
//!
//! Each flow's bundle verifies under a court's policy that pins the log key
//! and the integration's key, and each `signed` event's attestation names
//! the SHA-256 of the PDF the platform served at that moment. A wrong
//! secret, a malformed body, a replay, an unknown event type and a
//! platform API that times out or serves too much change nothing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle, Bundle, VerifyOptions};
use verifier::Hash;

const DOCUMENSO_SECRET: &str = "documenso-webhook-secret-0123456789";
const DOCUSEAL_SECRET: &str = "docuseal-webhook-secret-0123456789";
const API_TOKEN: &str = "api_fake_token_123";

/// What the fake platform serves, and what it saw.
#[derive(Default)]
struct Fake {
    /// The document's current bytes (each revision in turn).
    pdf: Vec<u8>,
    /// Sleep this long before answering (a platform that hangs).
    delay: Duration,
    /// Requests seen: (path, the auth header the platform checks).
    seen: Vec<(String, Option<String>)>,
}

/// A fake Documenso + DocuSeal API on 127.0.0.1:0, one thread per connection.
struct FakePlatform {
    url: String,
    state: Arc<Mutex<Fake>>,
}

impl FakePlatform {
    fn start() -> FakePlatform {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(Fake::default()));
        let (st, base) = (state.clone(), url.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (st, base) = (st.clone(), base.clone());
                std::thread::spawn(move || serve(conn, &st, &base));
            }
        });
        FakePlatform { url, state }
    }

    fn set_pdf(&self, pdf: &[u8]) {
        self.state.lock().unwrap().pdf = pdf.to_vec();
    }

    fn set_delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().seen.len()
    }
}

/// One request: the documents API of each platform, with its auth.
fn serve(mut conn: TcpStream, state: &Mutex<Fake>, base: &str) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let (delay, pdf) = {
        let mut st = state.lock().unwrap();
        let auth = header("authorization").or_else(|| header("x-auth-token"));
        st.seen.push((path.clone(), auth));
        (st.delay, st.pdf.clone())
    };
    std::thread::sleep(delay);
    let (status, ctype, body) = match path.as_str() {
        // Documenso: apps/remix/server/api/download/download.ts
        "/api/v2/document/10/download"
            if header("authorization").as_deref() == Some(&format!("Bearer {API_TOKEN}")) =>
        {
            (200, "application/pdf", pdf)
        }
        // DocuSeal: docs/openapi.json getSubmissionDocuments
        p if p.starts_with("/api/submissions/")
            && p.ends_with("/documents")
            && header("x-auth-token").as_deref() == Some(API_TOKEN) =>
        {
            let list = json!({"id": 7, "documents": [
                {"name": "sample-document", "url": format!("{base}/file/sample-document.pdf")}]});
            (200, "application/json", serde_json::to_vec(&list).unwrap())
        }
        "/file/sample-document.pdf" => (200, "application/pdf", pdf),
        _ => (401, "application/json", br#"{"error":"unauthorized"}"#.to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&body));
    let _ = conn.read(&mut [0u8; 1]);
}

/// A PDF revision: distinct bytes for each stage of the signing.
fn pdf(revision: &str) -> Vec<u8> {
    format!("%PDF-1.7\n% contract.pdf, {revision}\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
        .into_bytes()
}

fn fixture(path: &str) -> Value {
    let file = format!("{}/tests/fixtures/integrations/{path}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

fn send(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let resp = s
        .client()
        .request(method, format!("{}{path}", s.url))
        .bearer_auth(token)
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// A server whose adapters may fetch from the fake platform on loopback
/// (`--integration-allow-network`; inner addresses are refused otherwise).
fn server() -> Server {
    let mut s = Server::prepare();
    s.spawn_with(&["--integration-allow-network", "127.0.0.1"]);
    s
}

fn configure(s: &Server, platform: &str, settings: &Value) -> Value {
    let path = format!("/v1/integrations/{platform}");
    let (status, body) = send(s, reqwest::Method::PUT, &path, &s.tokens.admin, settings);
    assert_eq!(status, 200, "{body}");
    body
}

fn deliver(s: &Server, platform: &str, header: (&str, &str), body: &[u8]) -> (u16, Value) {
    let resp = s
        .client()
        .post(format!("{}/v1/integrations/{platform}/{TENANT}", s.url))
        .header("content-type", "application/json")
        .header(header.0, header.1)
        .body(body.to_vec())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn documenso(s: &Server, name: &str) -> (u16, Value) {
    let body = serde_json::to_vec(&fixture(&format!("documenso/{name}"))).unwrap();
    deliver(s, "documenso", ("X-Documenso-Secret", DOCUMENSO_SECRET), &body)
}

fn docuseal(s: &Server, name: &str) -> (u16, Value) {
    let body = serde_json::to_vec(&fixture(&format!("docuseal/{name}"))).unwrap();
    deliver(s, "docuseal", ("X-Webhook-Secret", DOCUSEAL_SECRET), &body)
}

fn recorded(body: &Value) -> Vec<String> {
    body["recorded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().into())
        .collect()
}

/// The bundle of `doc` verified under a policy pinning the log key and
/// the integration's key; returns the bundle's JSON.
fn verified_bundle(s: &Server, doc: &str, issuer: &Value) -> Value {
    let (status, raw) = s.get(&format!("/v1/documents/{doc}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{raw}");
    let bundle = Bundle::parse(raw.as_bytes()).unwrap();
    let mut policy = verifier::policy::TrustPolicy::default();
    policy.add_log(s.get_json("/v1/log")["vkey"].as_str().unwrap()).unwrap();
    policy
        .add_issuer(issuer["issuer"].as_str().unwrap(), issuer["public_key"].as_str().unwrap())
        .unwrap();
    let report = verify_bundle(&bundle, &VerifyOptions::with_policy(policy, "the court's policy"));
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(report.passed && failed.is_empty(), "{:?}: {failed:#?}", report.verdict);
    let timeline = report.checks.iter().find(|c| c.id == "timeline").unwrap();
    assert!(timeline.detail.contains("reported by the tenant's signing platform"), "{timeline:?}");
    serde_json::from_str(&raw).unwrap()
}

/// (kind, event id, SHA-256 of the file the claim lists) of each entry.
fn entries(bundle: &Value) -> Vec<(String, String, String)> {
    bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let ev = &e["record"]["event"];
            let claim = &ev["attestations"][0]["claim"];
            (
                ev["kind"].as_str().unwrap().to_string(),
                ev["event_id"].as_str().unwrap().to_string(),
                claim["documents"][0]["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    Hash::digest(bytes).to_hex()
}

fn metric(s: &Server, series: &str) -> u64 {
    let (_, text) = s.get("/metrics", None);
    text.lines()
        .find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0)
}

#[test]
fn a_documenso_flow_becomes_verifiable_evidence_and_bad_deliveries_change_nothing() {
    let s = server();
    let fake = FakePlatform::start();
    let settings =
        json!({"secret": DOCUMENSO_SECRET, "base_url": fake.url, "api_token": API_TOKEN});
    // Only the tenant's admin configures it.
    for token in [&s.tokens.platform, &s.tokens.submitter] {
        let (status, _) =
            send(&s, reqwest::Method::PUT, "/v1/integrations/documenso", token, &settings);
        assert_eq!(status, 403);
    }
    // Bad settings: 400, nothing configured.
    for bad in [
        json!({"secret": "short", "base_url": fake.url, "api_token": API_TOKEN}),
        json!({"secret": DOCUMENSO_SECRET, "base_url": "ftp://x", "api_token": API_TOKEN}),
        json!({"secret": DOCUMENSO_SECRET, "base_url": fake.url, "api_token": API_TOKEN, "x": 1}),
        json!({"secret": DOCUMENSO_SECRET, "secret_header": "X-Other", "base_url": fake.url, "api_token": API_TOKEN}),
    ] {
        let (status, body) =
            send(&s, reqwest::Method::PUT, "/v1/integrations/documenso", &s.tokens.admin, &bad);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_integration")),
            "{bad}"
        );
    }
    let (status, _) = s.get("/v1/integrations/documenso", Some(&s.tokens.admin));
    assert_eq!(status, 404);
    let issuer = configure(&s, "documenso", &settings);
    assert_eq!(issuer["issuer"], "integration:documenso:1");
    let (status, shown) = s.get("/v1/integrations/documenso", Some(&s.tokens.admin));
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&shown).unwrap()["public_key"], issuer["public_key"]);
    assert_eq!(issuer["secret_header"], "x-documenso-secret");
    assert!(
        !issuer.to_string().contains(DOCUMENSO_SECRET) && !issuer.to_string().contains(API_TOKEN)
    );

    let revisions = [pdf("original"), pdf("signed by Jane"), pdf("signed by John"), pdf("sealed")];
    let steps = [
        ("document_created", vec!["documenso-10-registered"]),
        ("document_signed_1", vec!["documenso-10-signed-50"]),
        ("document_signed_2", vec!["documenso-10-signed-51"]),
        ("document_completed", vec!["documenso-10-completed"]),
    ];
    for ((name, want), revision) in steps.iter().zip(&revisions) {
        fake.set_pdf(revision);
        let started = std::time::Instant::now();
        let (status, body) = documenso(&s, name);
        eprintln!(
            "documenso {name}: {} ms (fetch, attest, durable append)",
            started.elapsed().as_millis()
        );
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(recorded(&body), *want, "{name}: {body}");
    }
    let size = s.tree_size_latest();

    // A replayed delivery adds nothing, and does not refetch the file.
    let before = fake.requests();
    let (status, body) = documenso(&s, "document_signed_2");
    assert_eq!(status, 200, "{body}");
    assert!(recorded(&body).is_empty());
    assert_eq!(
        body["already_recorded"],
        json!(["documenso-10-signed-50", "documenso-10-signed-51"])
    );
    assert_eq!(fake.requests(), before);

    // A wrong or missing secret: 401, nothing written.
    let created = serde_json::to_vec(&fixture("documenso/document_completed")).unwrap();
    let (status, _) =
        deliver(&s, "documenso", ("X-Documenso-Secret", "not-the-secret-at-all"), &created);
    assert_eq!(status, 401);
    let (status, _) = deliver(&s, "documenso", ("X-Other", DOCUMENSO_SECRET), &created);
    assert_eq!(status, 401);
    // Malformed: 400, nothing written.
    let secret = ("X-Documenso-Secret", DOCUMENSO_SECRET);
    assert_eq!(deliver(&s, "documenso", secret, b"{not json").0, 400);
    let no_payload = json!({"event": "DOCUMENT_SIGNED", "createdAt": "x", "webhookEndpoint": "y"});
    let (status, body) =
        deliver(&s, "documenso", secret, &serde_json::to_vec(&no_payload).unwrap());
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_webhook")),
        "{body}"
    );
    // Unknown and kindless event types: 200, counted, ignored.
    let mut unknown = fixture("documenso/document_created");
    unknown["event"] = json!("DOCUMENT_TELEPORTED");
    let (status, body) = deliver(&s, "documenso", secret, &serde_json::to_vec(&unknown).unwrap());
    assert_eq!((status, &body["ignored"]), (200, &json!(true)), "{body}");
    assert_eq!(documenso(&s, "document_opened").1["reason"], "no_kind");
    let series =
        "evidence_integration_ignored_total{platform=\"documenso\",reason=\"unknown_event\"}";
    assert_eq!(metric(&s, series), 1);
    assert_eq!(s.tree_size_latest(), size, "nothing was written by the bad deliveries");

    // The contract's bundle verifies; each event names the file it saw.
    let bundle = verified_bundle(&s, "documenso-10", &issuer);
    let got = entries(&bundle);
    let kinds: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, ["registered", "signed", "signed", "completed"]);
    for ((_, id, file), revision) in got.iter().zip(&revisions) {
        assert_eq!(file, &sha(revision), "{id}");
    }
    let names: Vec<&str> =
        bundle["issuers"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["integration:documenso:1"]);

    // Removed: its key is revoked and the webhook answers 401.
    let (status, _) = send(
        &s,
        reqwest::Method::DELETE,
        "/v1/integrations/documenso",
        &s.tokens.admin,
        &json!({}),
    );
    assert_eq!(status, 200);
    assert_eq!(documenso(&s, "document_completed").0, 401);
    let (_, issuers) = s.get("/v1/issuers", Some(&s.tokens.admin));
    let issuers: Value = serde_json::from_str(&issuers).unwrap();
    let old = issuers["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "integration:documenso:1");
    assert!(old.is_some_and(|i| i["revoked_entry"].is_u64()), "{issuers}");
    // Configured again: a new key under a new name (names are never reused).
    assert_eq!(configure(&s, "documenso", &settings)["issuer"], "integration:documenso:2");
}

#[test]
fn a_docuseal_flow_becomes_verifiable_evidence() {
    let s = server();
    let fake = FakePlatform::start();
    let settings = json!({"secret": DOCUSEAL_SECRET, "secret_header": "X-Webhook-Secret",
                          "base_url": format!("{}/api", fake.url), "api_token": API_TOKEN});
    let issuer = configure(&s, "docuseal", &settings);
    assert_eq!(issuer["issuer"], "integration:docuseal:1");
    let revisions = [pdf("uploaded"), pdf("signed by John"), pdf("signed by Mary"), pdf("final")];
    let steps = [
        ("submission_created", vec!["docuseal-7-registered"]),
        ("form_completed_1", vec!["docuseal-7-signed-1"]),
        ("form_completed_2", vec!["docuseal-7-signed-2"]),
        ("submission_completed", vec!["docuseal-7-completed"]),
    ];
    for ((name, want), revision) in steps.iter().zip(&revisions) {
        fake.set_pdf(revision);
        let (status, body) = docuseal(&s, name);
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(recorded(&body), *want, "{name}: {body}");
    }
    let size = s.tree_size_latest();
    assert!(recorded(&docuseal(&s, "form_completed_2").1).is_empty(), "a replay adds nothing");
    let (status, _) =
        deliver(&s, "docuseal", ("X-Webhook-Secret", "wrong-secret-wrong-secret"), b"{}");
    assert_eq!(status, 401);
    assert_eq!(s.tree_size_latest(), size);
    let bundle = verified_bundle(&s, "docuseal-7", &issuer);
    let got = entries(&bundle);
    for ((_, id, file), revision) in got.iter().zip(&revisions) {
        assert_eq!(file, &sha(revision), "{id}");
    }
    // A creation delivered after the submission's first signature cannot
    // be its first entry (timeline T2): acknowledged, not logged.
    let mut form = fixture("docuseal/form_completed_1");
    form["data"]["submission"]["id"] = json!(8);
    form["data"]["submission_id"] = json!(8);
    let secret = ("X-Webhook-Secret", DOCUSEAL_SECRET);
    let (status, body) = deliver(&s, "docuseal", secret, &serde_json::to_vec(&form).unwrap());
    assert_eq!((status, recorded(&body)), (200, vec!["docuseal-8-signed-1".to_string()]), "{body}");
    let mut created = fixture("docuseal/submission_created");
    created["data"]["id"] = json!(8);
    let (status, body) = deliver(&s, "docuseal", secret, &serde_json::to_vec(&created).unwrap());
    assert_eq!(status, 200, "{body}");
    assert!(recorded(&body).is_empty());
    assert_eq!(body["skipped"], json!(["docuseal-8-registered"]));
    // The API token went to the platform's API, never the secret.
    let seen = fake.state.lock().unwrap().seen.clone();
    assert!(seen
        .iter()
        .any(|(p, a)| p == "/api/submissions/7/documents" && a.as_deref() == Some(API_TOKEN)));
}

#[test]
fn a_platform_api_that_hangs_or_serves_too_much_is_a_retriable_error_and_writes_nothing() {
    let s = server();
    let fake = FakePlatform::start();
    let settings = json!({"secret": DOCUMENSO_SECRET, "base_url": fake.url, "api_token": API_TOKEN,
                          "fetch_timeout_secs": 1, "max_document_bytes": 4096});
    configure(&s, "documenso", &settings);
    let size = s.tree_size_latest();

    fake.set_pdf(&pdf("original"));
    fake.set_delay(Duration::from_secs(3));
    let started = std::time::Instant::now();
    let (status, body) = documenso(&s, "document_created");
    let took = started.elapsed();
    eprintln!("a hanging platform API answered 502 after {} ms", took.as_millis());
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("platform_timeout")), "{body}");
    // Three 1 s attempts and 0.5 s + 1 s of back-off, well inside the
    // platforms' own webhook timeouts (Documenso 10 s, DocuSeal 15 s read).
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(fake.requests(), 3, "three attempts");

    fake.set_delay(Duration::ZERO);
    fake.set_pdf(&vec![b'x'; 5000]);
    let (status, body) = documenso(&s, "document_created");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("platform_document_too_large")),
        "{body}"
    );
    assert_eq!(s.tree_size_latest(), size, "nothing half-written");

    // The platform redelivers once its API is back: logged once.
    fake.set_pdf(&pdf("original"));
    let (status, body) = documenso(&s, "document_created");
    assert_eq!(status, 200, "{body}");
    assert_eq!(recorded(&body), ["documenso-10-registered"]);
    assert_eq!(s.tree_size_latest(), size + 1);
    // Another tenant has no integration: 401 like a wrong secret.
    let resp = s
        .client()
        .post(format!("{}/v1/integrations/documenso/{OTHER}", s.url))
        .header("X-Documenso-Secret", DOCUMENSO_SECRET)
        .body(serde_json::to_vec(&fixture("documenso/document_created")).unwrap())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

/// Without `--integration-allow-network`, a tenant's admin cannot point the
/// adapter at the service's own network: a literal inner address is
/// refused when configured (400), and a name that resolves only to inner
/// addresses fails when fetched (502, nothing written).
#[test]
fn an_adapter_fetches_from_no_inner_address_unless_the_operator_allows_it() {
    let s = Server::start();
    let fake = FakePlatform::start();
    for base in [
        fake.url.clone(),
        "http://169.254.169.254".to_string(),
        "http://10.0.0.1:8080".to_string(),
        "http://[::1]:9".to_string(),
    ] {
        let settings =
            json!({"secret": DOCUMENSO_SECRET, "base_url": base, "api_token": API_TOKEN});
        let (status, body) = send(
            &s,
            reqwest::Method::PUT,
            "/v1/integrations/documenso",
            &s.tokens.admin,
            &settings,
        );
        assert_eq!(status, 400, "{base}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("not a public address"));
    }
    // A name: accepted when configured, refused where it is resolved.
    let port = fake.url.rsplit(':').next().unwrap();
    let by_name = json!({"secret": DOCUMENSO_SECRET, "base_url": format!("http://localhost:{port}"),
                         "api_token": API_TOKEN, "fetch_timeout_secs": 1});
    configure(&s, "documenso", &by_name);
    let size = s.tree_size_latest();
    let (status, body) = documenso(&s, "document_created");
    assert_eq!(status, 502, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no public address"), "{body}");
    assert_eq!(fake.requests(), 0, "the fake platform was never reached");
    assert_eq!(s.tree_size_latest(), size);
}
