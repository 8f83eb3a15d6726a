//! End-to-end: issuing evidence reports idempotently
//! (`POST /v1/documents/{id}/reports` + `Idempotency-Key`), reading them
//! back without side effects, the legacy `GET .../report`, and the
//! reports' QR code to the verifier page (decoded from the HTML's SVG and
//! from the PDF page rendered by `pdftoppm`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use evidence_ledger::flows::contract_flow;
use serde_json::json;
use serde_json::Value;
use verifier::v2::{open_leaf, parse_any_leaf, Leaf};
use verifier::Hash;

/// The record (authorized view) of entry `index` of the contract, from its
/// bundle as legal, checked to open the public leaf.
fn record_of(s: &Server, index: u64) -> Value {
    let (status, body) = s.get(&format!("/v1/documents/{DOC}/bundle"), Some(&s.tokens.legal));
    assert_eq!(status, 200, "{body}");
    let bundle = verifier::bundle::Bundle::parse(body.as_bytes()).unwrap();
    let e = bundle
        .entries
        .into_iter()
        .find(|e| e.index == index)
        .unwrap_or_else(|| panic!("entry {index} not in the bundle"));
    let leaf = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.leaf).unwrap();
    let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else { panic!("entry {index}: v1 leaf") };
    let record = e.record.expect("a record");
    open_leaf(&v2, &record).expect("the record opens the leaf");
    record
}

const DOC: &str = "contract-r";

fn server_with_contract() -> Server {
    server_with_contract_serving(&[])
}

/// A server started with extra `serve` flags, holding the contract [`DOC`].
fn server_with_contract_serving(flags: &[&str]) -> Server {
    let mut s = Server::prepare();
    s.spawn_with(flags);
    let signers: Vec<_> = s.signers.iter().collect();
    let events = contract_flow(&s.services, &signers, DOC, format!("合同 {DOC}").as_bytes());
    assert_eq!(s.submit(&json!({"events": events})).0, 200);
    s
}

/// (status, headers, body) of a request as `token`.
fn call(
    s: &Server,
    method: &str,
    path: &str,
    token: &str,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let url = format!("{}{path}", s.url);
    let mut req = match method {
        "POST" => s.client().post(url),
        _ => s.client().get(url),
    }
    .bearer_auth(token);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.bytes().unwrap().to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).unwrap_or_else(|| panic!("header {name}")).to_str().unwrap()
}

/// The same report request twice appends one entry and answers the same
/// file; reading it back appends nothing.
#[test]
fn the_same_report_request_twice_appends_one_entry() {
    let mut s = server_with_contract();
    let legal = &s.tokens.legal.clone();
    let path = format!("/v1/documents/{DOC}/reports");
    let before = s.tree_size_latest();
    let (status, h1, body1) = call(&s, "POST", &path, legal, Some("req-1"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body1));
    assert_eq!(s.tree_size_latest(), before + 1);
    let (status, h2, body2) = call(&s, "POST", &path, legal, Some("req-1"));
    assert_eq!(status, 200);
    assert_eq!(s.tree_size_latest(), before + 1, "same key: no new entry");
    assert_eq!(body1, body2, "same key: same report");
    for name in ["x-report-event-id", "x-report-entry-index", "x-report-sha256"] {
        assert_eq!(header(&h1, name), header(&h2, name), "{name}");
    }
    assert_eq!(header(&h1, "x-report-sha256"), Hash::digest(&body1).to_hex());
    assert_eq!(header(&h1, "x-report-signature-alg"), "ed25519");
    let index: u64 = header(&h1, "x-report-entry-index").parse().unwrap();
    assert_eq!(index, before);
    let entry = s.get_json(&format!("/v1/entries/{index}"));
    // The public leaf is v2 and shows neither the kind nor the event ...
    assert_eq!(entry["entry"]["format"], "evidence-leaf/v2");
    for hidden in ["event", "tenant"] {
        assert!(entry["entry"].get(hidden).is_none(), "public leaf shows {hidden}: {entry}");
    }
    // ... the contract's bundle (legal) holds the record that opens it.
    let record = record_of(&s, index);
    assert_eq!(record["tenant"], TENANT);
    assert_eq!(record["event"]["kind"], "report_issued");
    assert_eq!(record["event"]["event_id"], header(&h1, "x-report-event-id"));

    // Read back by id: the same bytes, no side effect.
    let location = header(&h1, "location").to_string();
    let id = header(&h1, "x-report-event-id");
    assert_eq!(location, format!("/v1/documents/{DOC}/reports/{id}"));
    let (status, _, body3) = call(&s, "GET", &location, legal, None);
    assert_eq!(status, 200);
    assert_eq!(body3, body1);
    assert_eq!(s.tree_size_latest(), before + 1, "reading appends nothing");
    // Another tenant's legal team, or a wrong document, finds nothing.
    assert_eq!(call(&s, "GET", &location, &s.tokens.other_legal, None).0, 404);
    let wrong = format!("/v1/documents/other-doc/reports/{id}");
    assert_eq!(call(&s, "GET", &wrong, legal, None).0, 404);
    assert_eq!(call(&s, "GET", &location, &s.tokens.notary, None).0, 403);

    // Another key: another report. The same key for another format: 409.
    let (status, h4, _) = call(&s, "POST", &path, legal, Some("req-2"));
    assert_eq!(status, 200);
    assert_ne!(header(&h4, "x-report-event-id"), id);
    assert_eq!(s.tree_size_latest(), before + 2);
    let pdf = format!("{path}?format=pdf");
    assert_eq!(call(&s, "POST", &pdf, legal, Some("req-1")).0, 409);
    // No key, or a malformed one: 400, nothing written.
    assert_eq!(call(&s, "POST", &path, legal, None).0, 400);
    assert_eq!(call(&s, "POST", &path, legal, Some("bad key")).0, 400);
    assert_eq!(s.tree_size_latest(), before + 2);
    // Idempotent across a restart too.
    s.restart();
    let (status, _, body5) = call(&s, "POST", &path, legal, Some("req-1"));
    assert_eq!(status, 200);
    assert_eq!(body5, body1);
    assert_eq!(s.tree_size_latest(), before + 2);
}

/// The legacy `GET .../report` still issues (and logs) a report per call,
/// readable back by its id.
#[test]
fn legacy_report_get_still_works() {
    let s = server_with_contract();
    let before = s.tree_size_latest();
    let (status, h, body) =
        call(&s, "GET", &format!("/v1/documents/{DOC}/report"), &s.tokens.legal, None);
    assert_eq!(status, 200);
    assert_eq!(s.tree_size_latest(), before + 1);
    let (status, _, again) = call(&s, "GET", header(&h, "location"), &s.tokens.legal, None);
    assert_eq!(status, 200);
    assert_eq!(again, body);
}

/// Reports do not grow a contract's bundle without bound: it carries the
/// newest report entries and says how many older ones it left out.
#[test]
fn bundles_carry_only_the_newest_report_entries() {
    let s = server_with_contract();
    let path = format!("/v1/documents/{DOC}/reports");
    for i in 0..12 {
        let key = format!("k-{i}");
        assert_eq!(call(&s, "POST", &path, &s.tokens.legal, Some(&key)).0, 200);
    }
    let (status, h, raw) =
        call(&s, "GET", &format!("/v1/documents/{DOC}/bundle"), &s.tokens.legal, None);
    assert_eq!(status, 200);
    assert_eq!(header(&h, "x-omitted-report-entries"), "2");
    let bundle = verifier::bundle::Bundle::parse(&raw).unwrap();
    let kinds: Vec<String> = bundle
        .entries
        .iter()
        .map(|e| {
            let leaf = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.leaf)
                .unwrap();
            let Leaf::V2(v2) = parse_any_leaf(&leaf).unwrap() else {
                panic!("entry {}: v1 leaf", e.index)
            };
            let record =
                e.record.as_ref().unwrap_or_else(|| panic!("entry {}: no record", e.index));
            let (opened, _) = open_leaf(&v2, record).expect("the record opens the leaf");
            opened.event.kind.as_str().to_string()
        })
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "report_issued").count(), 10);
    assert_eq!(kinds.len(), 8 + 10, "every contract event is kept");
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_string();
    let mut policy = verifier::policy::TrustPolicy::default();
    policy.add_log(&vkey).unwrap();
    let options = verifier::bundle::VerifyOptions::with_policy(policy, "test court");
    let report = verifier::bundle::verify_bundle(&bundle, &options);
    assert!(report.passed, "{:?}", report.checks);
}

const PUBLIC_URL: &str = "https://ledger.example.test/";

/// The SHA-256 of the contract [`server_with_contract`] writes.
fn document_hash() -> String {
    Hash::digest(format!("合同 {DOC}").as_bytes()).to_hex()
}

/// Reads the one QR code in a greyscale image (`dark(x, y)`) with an
/// independent decoder.
fn read_qr(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("the QR code decodes").1
}

/// The QR code of an HTML report, from its inline SVG: the path's runs
/// (`M{x} {y}h{n}v1h-{n}z`, one unit per module) painted 3 pixels a module.
fn qr_of_html(html: &str) -> String {
    let svg = &html[html.find("<svg").expect("an inline SVG")..];
    let svg = &svg[..svg.find("</svg>").expect("closed")];
    let attr = |name: &str| {
        let at =
            svg.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("{name}")) + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].to_string()
    };
    let side: usize = attr("viewBox").split(' ').nth(2).unwrap().parse().unwrap();
    let mut dark = vec![false; side * side];
    for run in attr("d").split('M').filter(|r| !r.is_empty()) {
        let (x, rest) = run.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let n = &rest[..rest.find('v').unwrap()];
        let (x, y, n): (usize, usize, usize) =
            (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
        assert_eq!(rest, format!("{n}v1h-{n}z"), "a run");
        for i in x..x + n {
            dark[y * side + i] = true;
        }
    }
    let scale = 3;
    read_qr(side * scale, side * scale, |x, y| dark[(y / scale) * side + x / scale])
}

/// The log key's name and key ID, and the SHA-256 fingerprint as the
/// report prints it.
fn key_fingerprints(s: &Server) -> (String, String) {
    let vkey = s.get_json("/v1/log")["vkey"].as_str().unwrap().to_string();
    let v = verifier::note::NoteVerifier::from_vkey(&vkey).unwrap();
    let digest = Hash::digest(vkey.as_bytes()).to_hex();
    let groups: Vec<&str> = (0..32).step_by(4).map(|i| &digest[i..i + 4]).collect();
    (format!("{}+{}", v.name, hex::encode(v.key_id)), groups.join(" "))
}

/// Both formats carry a QR code that opens the public verifier page with
/// the document hash filled in, and the log key's fingerprints beside it.
#[test]
fn reports_carry_a_qr_code_to_the_verifier_page() {
    let s = server_with_contract_serving(&["--public-url", PUBLIC_URL]);
    let link = format!("https://ledger.example.test/verify#sha256={}", document_hash());
    let (name_and_id, fingerprint) = key_fingerprints(&s);
    let path = format!("/v1/documents/{DOC}/reports");

    let (status, _, html) = call(&s, "POST", &path, &s.tokens.legal, Some("qr-html"));
    assert_eq!(status, 200);
    let html = String::from_utf8(html).unwrap();
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(tmp.join("evidence-report-qr.html"), &html).unwrap();
    assert_eq!(qr_of_html(&html), link);
    for needle in [
        format!("<a href=\"{link}\">"),
        "扫码核验 Scan to verify".to_string(),
        name_and_id.clone(),
        format!("SHA-256 {fingerprint}"),
    ] {
        assert!(html.contains(&needle), "HTML lacks {needle:?}");
    }
    assert!(!html.contains("--public-url"), "no note when the URL is configured");

    let (status, _, pdf) =
        call(&s, "POST", &format!("{path}?format=pdf"), &s.tokens.legal, Some("qr-pdf"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    // Vector drawing: the modules are rectangles (`re`) in the first page's
    // content stream, filled once; no image XObject.
    let content = String::from_utf8_lossy(&pdf);
    assert!(content.matches(" re\n").count() > 100, "the QR code's rectangles");
    assert!(!content.contains("/Image"), "no raster image");
    let dir = tempfile::tempdir().unwrap();
    // Kept, like the HTML, where a person can look at it (pdftoppm -png).
    let file = tmp.join("evidence-report-qr.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) is installed by scripts/env.sh");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for needle in
        ["扫码核验 Scan to verify", &link, &name_and_id, &format!("SHA-256 {fingerprint}")]
    {
        let needle: String = needle.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(squeezed.contains(&needle), "PDF text lacks {needle:?}:\n{text}");
    }
    // The first page as a reader's camera sees it: rendered, then decoded.
    let page = dir.path().join("page");
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-f", "1", "-l", "1", "-singlefile"])
        .args([file.to_str().unwrap(), page.to_str().unwrap()])
        .output()
        .expect("pdftoppm (Debian poppler-utils) is installed by scripts/env.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pgm = std::fs::read(dir.path().join("page.pgm")).unwrap();
    let (width, height, pixels) = parse_pgm(&pgm);
    assert_eq!(read_qr(width, height, |x, y| pixels[y * width + x] < 128), link);
}

/// Without `--public-url` the code holds the path alone, and the report
/// says why.
#[test]
fn without_a_public_url_the_qr_code_holds_the_path() {
    let s = server_with_contract();
    let (status, _, html) =
        call(&s, "POST", &format!("/v1/documents/{DOC}/reports"), &s.tokens.legal, Some("qr"));
    assert_eq!(status, 200);
    let html = String::from_utf8(html).unwrap();
    assert_eq!(qr_of_html(&html), format!("/verify#sha256={}", document_hash()));
    assert!(html.contains("serve --public-url"), "the note on the relative link");
}

/// (width, height, pixels) of a binary PGM (`P5`, maxval 255).
fn parse_pgm(pgm: &[u8]) -> (usize, usize, &[u8]) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&pgm[start..at]).unwrap().to_string());
    }
    assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P5", "255"));
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, &pgm[at + 1..at + 1 + w * h])
}
