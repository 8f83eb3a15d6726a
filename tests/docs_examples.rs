//! Docs you can execute: every request example of docs/api.md (its
//! ```` ```http ```` blocks, each followed by an ```` ```http-answer ````
//! block) and every request `examples` value of docs/openapi.yaml runs
//! against a live server, set up the way the docs say (`init`, `token
//! issue`, `issuer add`, `serve`), and must get the documented answer:
//! the status, and every member the answer shows (recursively; in an
//! array, its first element), with `code` and `format` equal. docs/api.md
//! "Examples you can run" states these rules for readers.
//!
//! And formats.md §8.2, the check of a signed receipt, followed step by
//! step.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use common::{cli, BIN};
use serde_json::Value;
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::{Note, NoteVerifier};
use verifier::Hash;

/// The origin of formats.md §10 and the api.md examples.
const ORIGIN: &str = "ledger.example/evidence";

fn read(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A server set up as README.md's "Five minutes with curl" does, with
/// the tokens the examples name ($SUBMIT, $LEGAL, $NOTARY, $ADMIN,
/// $PLATFORM).
struct Live {
    child: Child,
    url: String,
    vars: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

impl Live {
    fn start(issuers: &[(&str, &str)]) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        cli(&["init", "--data", &d, "--origin", ORIGIN]);
        let mut vars = HashMap::new();
        for (var, role) in [
            ("$SUBMIT", "submitter"),
            ("$LEGAL", "legal"),
            ("$NOTARY", "notary"),
            ("$ADMIN", "admin"),
        ] {
            vars.insert(
                var,
                cli(&["token", "issue", "--data", &d, "--tenant", "acme", "--role", role]),
            );
        }
        vars.insert("$PLATFORM", cli(&["token", "issue", "--data", &d, "--role", "platform"]));
        for (name, key) in issuers {
            cli(&["issuer", "add", "--data", &d, "--name", name, "--public-key", key]);
        }
        let mut child = Command::new(BIN)
            .args(["serve", "--data", &d, "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = evidence_ledger::load::read_listen_line(&mut child).unwrap();
        Live { child, url, vars, _dir: dir }
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (var, value) in &self.vars {
            out = out.replace(var, value);
        }
        out
    }

    /// Sends one request; answers the status and the body.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> (u16, String) {
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        let url = format!("{}{path}", self.url);
        let mut req = match method {
            "GET" => client.get(url),
            "POST" => client.post(url),
            m => panic!("method {m}"),
        };
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if !body.is_empty() {
            req = req.body(body.to_string());
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request of api.md and the answer documented for it.
#[derive(Debug)]
struct Example {
    step: u32,
    line: usize,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    status: u16,
    answer: String,
}

/// The fenced blocks of `md` whose info string starts with `lang`
/// (exactly, or followed by a space): (line, info string, text).
fn blocks(md: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut lines = md.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```").filter(|i| !i.is_empty()) {
            let text: Vec<&str> =
                lines.by_ref().map(|(_, l)| l).take_while(|l| *l != "```").collect();
            out.push((n + 1, info.to_string(), text.join("\n")));
        }
    }
    out
}

fn api_md_examples() -> Vec<Example> {
    let md = read("docs/api.md");
    let all = blocks(&md);
    let mut examples = Vec::new();
    for (i, (line, info, text)) in all.iter().enumerate() {
        let mut words = info.split_whitespace();
        if words.next() != Some("http") {
            continue;
        }
        let step = words
            .find_map(|w| w.strip_prefix("step="))
            .unwrap_or_else(|| panic!("api.md:{line}: an http block without step=N"))
            .parse()
            .unwrap();
        let (_, answer_info, answer) = all
            .get(i + 1)
            .filter(|b| b.1 == "http-answer")
            .unwrap_or_else(|| panic!("api.md:{line}: no http-answer block after the request"));
        assert_eq!(answer_info, "http-answer");
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut head = head.lines();
        let (method, path) = head.next().unwrap().split_once(' ').unwrap();
        let headers = head
            .map(|h| h.split_once(": ").unwrap_or_else(|| panic!("api.md:{line}: header {h}")))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (status, answer) = answer.split_once('\n').unwrap_or((answer, ""));
        examples.push(Example {
            step,
            line: *line,
            method: method.to_string(),
            path: path.to_string(),
            headers,
            body: body.to_string(),
            status: status.trim().parse().unwrap_or_else(|_| panic!("api.md:{line}: status")),
            answer: answer.to_string(),
        });
    }
    examples.sort_by_key(|e| (e.step, e.line));
    examples
}

/// Whether `actual` holds every member `expected` shows: objects
/// recursively, arrays by their first element, `code` and `format` equal.
fn shows(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{at}.{k} missing"))?;
                if (k == "code" || k == "format") && ev != av {
                    return Err(format!("{at}.{k}: {av} instead of {ev}"));
                }
                shows(ev, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => match (e.first(), a.first()) {
            (None, _) => Ok(()),
            (Some(ev), Some(av)) => shows(ev, av, &format!("{at}[0]")),
            (Some(_), None) => Err(format!("{at}: empty")),
        },
        (Value::Object(_) | Value::Array(_), other) => Err(format!("{at}: {other} is not alike")),
        _ => Ok(()),
    }
}

/// Checks an answer against the documented one: JSON by [`shows`], text
/// by its first line.
fn check_answer(documented: &str, body: &str) -> Result<(), String> {
    let documented = documented.trim();
    if documented.is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<Value>(documented) {
        Ok(expected) => {
            let actual: Value =
                serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))?;
            shows(&expected, &actual, "$")
        }
        Err(_) => {
            let first = documented.lines().next().unwrap();
            (body.lines().next() == Some(first))
                .then_some(())
                .ok_or_else(|| format!("first line {first:?} expected"))
        }
    }
}

#[test]
fn every_request_example_of_api_md_gets_its_documented_answer() {
    let examples = api_md_examples();
    assert!(examples.len() >= 20, "too few examples found: {}", examples.len());
    let mut live = Live::start(&[]);
    for ex in &examples {
        let path = live.substitute(&ex.path);
        let headers: Vec<_> =
            ex.headers.iter().map(|(k, v)| (k.clone(), live.substitute(v))).collect();
        let body = live.substitute(&ex.body);
        let (status, answer) = live.send(&ex.method, &path, &headers, &body);
        let what = format!("api.md:{} {} {}", ex.line, ex.method, ex.path);
        assert_eq!(status, ex.status, "{what}: {answer}");
        if let Err(e) = check_answer(&ex.answer, &answer) {
            panic!("{what}: {e}\nanswer: {answer}");
        }
        if path.ends_with("/bundle") {
            live.vars.insert("$BUNDLE", answer);
        }
    }
}

/// One request example of openapi.yaml: operation, example name, value.
fn openapi_examples(yaml: &str) -> Vec<(String, String, String, Value)> {
    let paths = &yaml[yaml.find("\npaths:\n").unwrap()..yaml.find("\ncomponents:\n").unwrap()];
    let (mut path, mut method, mut name) = (String::new(), String::new(), String::new());
    let mut in_examples = false;
    let mut out = Vec::new();
    for (n, line) in paths.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 2 && t.ends_with(':') {
            path = t.trim_end_matches(':').to_string();
        } else if indent == 4 && t.ends_with(':') {
            method = t.trim_end_matches(':').to_uppercase();
            in_examples = false;
        } else if t == "examples:" && indent == 12 {
            in_examples = true;
        } else if in_examples && indent == 14 && t.ends_with(':') {
            name = t.trim_end_matches(':').to_string();
        } else if in_examples && indent == 16 && t.starts_with("value:") {
            let rest: String = paths.lines().skip(n).collect::<Vec<_>>().join("\n");
            let json = &rest[rest.find("value:").unwrap() + 6..];
            let value = serde_json::Deserializer::from_str(json)
                .into_iter::<Value>()
                .next()
                .unwrap()
                .unwrap_or_else(|e| {
                    panic!("openapi {method} {path} {name}: value is not JSON: {e}")
                });
            out.push((method.clone(), path.clone(), name.clone(), value));
        } else if indent <= 10 && !t.is_empty() {
            in_examples = false;
        }
    }
    out
}

/// The members the 200 answer of `method path` requires: the inline
/// schema's, or the referenced component's.
fn required_of_200(yaml: &str, method: &str, path: &str) -> Vec<String> {
    let op = &yaml[yaml.find(&format!("\n  {path}:\n")).unwrap()..];
    let op = &op[op.find(&format!("\n    {}:\n", method.to_lowercase())).unwrap()..];
    let ok = &op[op.find("\"200\":").expect("a 200 answer")..];
    let ok = &ok[..ok.find("\n        \"").unwrap_or(ok.len())];
    let list = |s: &str| -> Vec<String> {
        let at = s.find("required: [").map(|i| i + 11);
        at.map(|i| {
            s[i..i + s[i..].find(']').unwrap()].split(',').map(|x| x.trim().to_string()).collect()
        })
        .unwrap_or_default()
    };
    const REF: &str = "$ref: \"#/components/schemas/";
    let reference = ok.find(REF).map(|r| r + REF.len());
    let required = ok.find("required: [");
    match (reference, required) {
        (Some(r), req) if req.is_none_or(|q| r < q) => {
            let name = &ok[r..r + ok[r..].find('"').unwrap()];
            let schema = &yaml[yaml.find(&format!("\n    {name}:\n")).unwrap()..];
            list(schema)
        }
        _ => list(ok),
    }
}

/// Concrete path and token for the operations whose request examples
/// openapi.yaml carries (path parameters and a caller of the right role).
fn openapi_call(method: &str, path: &str) -> (String, &'static str) {
    match (method, path) {
        ("POST", "/v1/events") => (path.into(), "$SUBMIT"),
        ("POST", "/v1/issuers") => (path.into(), "$PLATFORM"),
        ("POST", "/v1/tokens") => (path.into(), "$ADMIN"),
        ("POST", "/v1/retention") => (path.into(), "$ADMIN"),
        ("POST", "/v1/documents/{document_id}/lookup") => {
            ("/v1/documents/contract-42/lookup".into(), "$ADMIN")
        }
        other => panic!("openapi.yaml has a request example for {other:?}: add its caller here"),
    }
}

#[test]
fn every_request_example_of_openapi_yaml_gets_a_documented_200() {
    let yaml = read("docs/openapi.yaml");
    let examples = openapi_examples(&yaml);
    assert!(examples.len() >= 6, "too few examples found: {examples:?}");
    // idp-gov with formats.md §10.1's test key, registered by the CLI.
    let live = Live::start(&[("idp-gov", "gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=")]);
    for (method, path, name, value) in &examples {
        let (concrete, token) = openapi_call(method, path);
        let auth = vec![("Authorization".to_string(), format!("Bearer {}", live.vars[token]))];
        let (status, answer) = live.send(method, &concrete, &auth, &value.to_string());
        assert_eq!(status, 200, "openapi {method} {path} example {name}: {answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        for member in required_of_200(&yaml, method, path) {
            assert!(answer.get(&member).is_some(), "{method} {path} {name}: no {member}: {answer}");
        }
    }
}

/// formats.md §8.2, step by step, on the api.md event.
#[test]
fn a_signed_receipt_checks_as_formats_md_8_2_says() {
    let live = Live::start(&[("idp-gov", "gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=")]);
    let yaml = read("docs/openapi.yaml");
    let event = openapi_examples(&yaml).into_iter().find(|e| e.2 == "single").unwrap().3;
    let sent = serde_json::to_string_pretty(&event).unwrap(); // any spacing, any order
    let auth = vec![("Authorization".to_string(), format!("Bearer {}", live.vars["$SUBMIT"]))];
    let (status, answer) = live.send("POST", "/v1/events?receipt=signed", &auth, &sent);
    assert_eq!(status, 200, "{answer}");
    let receipt = &serde_json::from_str::<Value>(&answer).unwrap()["receipts"][0];
    let (_, log) = live.send("GET", "/v1/log", &[], "");
    let vkey = serde_json::from_str::<Value>(&log).unwrap()["vkey"].as_str().unwrap().to_string();

    // 1. The note verifies with the log's vkey.
    let log_key = NoteVerifier::from_vkey(&vkey).unwrap();
    let note = Note::parse(receipt["signed_receipt"].as_str().unwrap().as_bytes()).unwrap();
    log_key.verify_note(&note).unwrap();
    // 2. Its eight lines.
    let lines: Vec<&str> = note.text.lines().collect();
    assert_eq!(lines.len(), 8, "{}", note.text);
    assert_eq!(lines[0], "evidence-ledger/receipt/v1");
    assert_eq!(lines[1], ORIGIN);
    assert_eq!(lines[2], "acme");
    assert_eq!(lines[3], "ev-2026-000002");
    // 3. SHA-256 of the canonical JSON of the event as sent.
    let parsed: Value = serde_json::from_str(&sent).unwrap();
    let content = Hash::digest(&verifier::jcs::to_canonical(&parsed));
    assert_eq!(lines[4], content.to_base64());
    // 4. Index, leaf hash and ledger time are the receipt's.
    assert_eq!(lines[5], receipt["index"].to_string());
    assert_eq!(lines[6], receipt["leaf_hash"].as_str().unwrap());
    assert_eq!(lines[7], receipt["ledger_time"].as_str().unwrap());
    // 5. §8.1: the checkpoint and the inclusion proof.
    let checkpoint =
        SignedCheckpoint::verify(receipt["checkpoint"].as_str().unwrap().as_bytes(), &log_key)
            .unwrap();
    assert_eq!(checkpoint.checkpoint.size, receipt["tree_size"].as_u64().unwrap());
    let b64 = |v: &Value| Hash::from_base64(v.as_str().unwrap()).unwrap();
    let proof: Vec<Hash> = receipt["inclusion"].as_array().unwrap().iter().map(b64).collect();
    verifier::proof::verify_inclusion(
        &b64(&receipt["leaf_hash"]),
        receipt["index"].as_u64().unwrap(),
        checkpoint.checkpoint.size,
        &proof,
        &checkpoint.checkpoint.root,
    )
    .unwrap();
    // 6. The leaf at the index hashes to leaf_hash and holds the time.
    let (_, entry) = live.send("GET", &format!("/v1/entries/{}", lines[5]), &[], "");
    let entry: Value = serde_json::from_str(&entry).unwrap();
    let leaf =
        base64::engine::general_purpose::STANDARD.decode(entry["leaf"].as_str().unwrap()).unwrap();
    assert_eq!(verifier::hash::leaf_hash(&leaf).to_base64(), lines[6]);
    assert_eq!(entry["entry"]["ledger_time"].as_str().unwrap(), lines[7]);

    // The verifier's own check (steps 1 to 3) agrees.
    let stated = verifier::receipt::ReceiptStatement::verify(
        receipt["signed_receipt"].as_str().unwrap().as_bytes(),
        &log_key,
        "acme",
        &parsed,
    )
    .unwrap();
    assert_eq!(stated.text(), note.text);
    assert!(verifier::receipt::ReceiptStatement::verify(
        receipt["signed_receipt"].as_str().unwrap().as_bytes(),
        &log_key,
        "globex",
        &parsed
    )
    .is_err());

    // A replay is signed over the original index, leaf hash and time.
    let (status, again) = live.send("POST", "/v1/events?receipt=signed", &auth, &event.to_string());
    assert_eq!(status, 200, "{again}");
    let again = &serde_json::from_str::<Value>(&again).unwrap()["receipts"][0];
    let note2 = Note::parse(again["signed_receipt"].as_str().unwrap().as_bytes()).unwrap();
    log_key.verify_note(&note2).unwrap();
    assert_eq!(note2.text, note.text);
    // Without the parameter the answer is as before: no signed_receipt.
    let (_, plain) = live.send("POST", "/v1/events", &auth, &event.to_string());
    assert!(serde_json::from_str::<Value>(&plain).unwrap()["receipts"][0]
        .get("signed_receipt")
        .is_none());
    // A bad value is a 400 that writes nothing.
    let (status, bad) = live.send("POST", "/v1/events?receipt=yes", &auth, &event.to_string());
    assert_eq!(status, 400, "{bad}");
    assert!(bad.contains("bad_query"));
}

/// The v2 attestation message of formats.md §12.1 for `event` of tenant
/// `acme`, signed by `idp-gov`'s test key (formats.md §10.1: seed 02×32),
/// as formats.md §12.3 produces it.
fn idp_gov_signature(event: &Value, claim: &Value) -> String {
    use ed25519_dalek::Signer as _;
    let message = serde_json::json!({
        "actor_id": event["actor"]["id"], "claim": claim,
        "context": "evidence-ledger/attestation/v2",
        "document_hash": event["document_hash"], "document_id": event["document_id"],
        "event_id": event["event_id"], "issuer": "idp-gov", "kind": event["kind"],
        "tenant": "acme",
    });
    let key = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
    let sig = key.sign(&verifier::jcs::to_canonical(&message));
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

/// Every attestation of an example the docs answer with 200 is produced
/// the way they say: the test key signs the v2 message, and the bytes are
/// the ones printed.
#[test]
fn the_examples_signatures_are_made_as_formats_md_12_3_says() {
    let mut events = Vec::new();
    for ex in api_md_examples()
        .into_iter()
        .filter(|e| e.status == 200 && e.path.starts_with("/v1/events"))
    {
        let body: Value = serde_json::from_str(&ex.body).unwrap();
        events.extend(body.get("events").and_then(Value::as_array).cloned().unwrap_or(vec![body]));
    }
    let yaml = read("docs/openapi.yaml");
    for (_, path, _, value) in openapi_examples(&yaml).into_iter().filter(|e| e.1 == "/v1/events") {
        assert_eq!(path, "/v1/events");
        events
            .extend(value.get("events").and_then(Value::as_array).cloned().unwrap_or(vec![value]));
    }
    let mut checked = 0;
    for event in &events {
        for a in event["attestations"].as_array().unwrap() {
            assert_eq!(a["issuer"], "idp-gov", "{event}");
            assert_eq!(
                a["signature"].as_str().unwrap(),
                idp_gov_signature(event, &a["claim"]),
                "{event}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked} signatures checked");
}
