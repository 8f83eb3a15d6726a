//! RFC 3161 trusted timestamps end to end, with a real TSA: `openssl ts
//! -reply` (test CA and a TSA certificate with the timeStamping EKU, from
//! verifier/tests/data/tsa) behind a small HTTP wrapper on loopback.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use evidence_ledger::flows::signed_event;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle, Bundle, VerifyOptions};
use verifier::policy::TrustPolicy;
use verifier::report::VerdictStatus;
use verifier::tsa::{verify_timestamp_token, TrustedTsa};
use verifier::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("verifier/tests/data/tsa")
}

/// A working copy of the TSA fixtures (openssl writes its serial file there).
fn tsa_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["tsa.cnf", "tsa-rsa.pem", "tsa-rsa.key", "root-ca.pem"] {
        std::fs::copy(fixtures().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// `openssl ts -reply` on a query file; `faketime` shifts the TSA's clock.
fn reply(dir: &Path, query: &Path, out: &Path, token_only: bool, faketime: Option<&str>) -> bool {
    let mut args: Vec<String> = Vec::new();
    if let Some(f) = faketime {
        args.extend(["-f".into(), f.into(), "openssl".into()]);
    }
    args.extend(
        ["ts", "-reply", "-config", "tsa.cnf", "-section", "tsa_rsa", "-queryfile"]
            .map(String::from),
    );
    args.push(query.to_str().unwrap().into());
    args.extend(["-out".into(), out.to_str().unwrap().into()]);
    if token_only {
        args.push("-token_out".into());
    }
    let program = if faketime.is_some() { "faketime" } else { "openssl" };
    let status = Command::new(program).args(&args).current_dir(dir).output().expect(program);
    status.status.success()
}

/// A token over `digest_hex` (SHA-256) from the test TSA.
fn token_over(dir: &Path, digest_hex: &str, faketime: Option<&str>) -> Vec<u8> {
    let q = dir.join(format!("q-{digest_hex}.tsq"));
    let ok = Command::new("openssl")
        .args(["ts", "-query", "-digest", digest_hex, "-sha256", "-cert", "-out"])
        .arg(&q)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl ts -query");
    let t = dir.join(format!("t-{digest_hex}.der"));
    assert!(reply(dir, &q, &t, true, faketime), "openssl ts -reply (faketime {faketime:?})");
    std::fs::read(t).unwrap()
}

/// The TSA over HTTP: POST application/timestamp-query -> timestamp-reply.
struct HttpTsa {
    url: String,
    up: Arc<AtomicBool>,
}

fn serve_tsa(dir: PathBuf) -> HttpTsa {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let up = Arc::new(AtomicBool::new(true));
    let flag = up.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            if !flag.load(Ordering::SeqCst) {
                let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                continue;
            }
            let (q, r) = (dir.join(format!("h{n}.tsq")), dir.join(format!("h{n}.tsr")));
            std::fs::write(&q, &body).unwrap();
            let answer = if reply(&dir, &q, &r, false, None) {
                std::fs::read(&r).unwrap()
            } else {
                Vec::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/timestamp-reply\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&answer);
        }
    });
    HttpTsa { url, up }
}

/// A self-made root "National Time Service Center" and a TSA under it, in
/// `dir` (section `tsa_fake` of its tsa.cnf): what a forger makes in a
/// minute. Returns the root's PEM.
fn self_made_tsa(dir: &Path) -> String {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(dir.join("fake-ext.cnf"), "extendedKeyUsage=critical,timeStamping\n").unwrap();
    for key in ["fake-root.key", "fake-tsa.key"] {
        run(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key]);
    }
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "fake-root.key",
        "-out",
        "fake-root.pem",
        "-days",
        "3650",
        "-subj",
        "/C=CN/O=National Time Service Center/CN=National Time Service Center Root",
    ]);
    run(&[
        "req",
        "-new",
        "-key",
        "fake-tsa.key",
        "-out",
        "fake-tsa.csr",
        "-subj",
        "/C=CN/O=National Time Service Center/CN=NTSC TSA",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "fake-tsa.csr",
        "-CA",
        "fake-root.pem",
        "-CAkey",
        "fake-root.key",
        "-CAcreateserial",
        "-out",
        "fake-tsa.pem",
        "-days",
        "365",
        "-extfile",
        "fake-ext.cnf",
    ]);
    let mut cnf = std::fs::read_to_string(dir.join("tsa.cnf")).unwrap();
    cnf.push_str(
        "[tsa_fake]\nserial = fake-serial\ncrypto_device = builtin\nsigner_cert = fake-tsa.pem\n\
         signer_key = fake-tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
         digests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n",
    );
    std::fs::write(dir.join("tsa.cnf"), cnf).unwrap();
    std::fs::read_to_string(dir.join("fake-root.pem")).unwrap()
}

/// A token over `digest_hex` from the self-made TSA of [`self_made_tsa`].
fn self_made_token(dir: &Path, digest_hex: &str) -> Vec<u8> {
    let q = dir.join("fake.tsq");
    let t = dir.join("fake.der");
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["ts", "-query", "-digest", digest_hex, "-sha256", "-cert", "-out", q.to_str().unwrap()]);
    run(&[
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-section",
        "tsa_fake",
        "-queryfile",
        q.to_str().unwrap(),
        "-out",
        t.to_str().unwrap(),
        "-token_out",
    ]);
    std::fs::read(t).unwrap()
}

/// The policy `verifier policy fetch` would write from this server's
/// `/v1/log` (its log key, witnesses and TSA roots).
fn log_policy(s: &Server) -> VerifyOptions {
    let policy = TrustPolicy::from_log_json(&s.get_json("/v1/log")).unwrap();
    VerifyOptions::with_policy(policy, "the server's /v1/log")
}

fn event_with_token(s: &Server, id: &str, doc_hash: &str, token: Option<&[u8]>) -> Value {
    let mut e = signed_event(&s.signers[0].issuer, id, "contract-ts", doc_hash);
    if let Some(t) = token {
        e["timestamp_token"] = Value::String(B64.encode(t));
    }
    e
}

#[test]
fn event_tokens_are_verified_on_ingest_and_in_the_bundle() {
    let tsa = tsa_dir();
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    cli(&[
        "tsa",
        "add",
        "--data",
        &d,
        "--name",
        "test-tsa",
        "--root-cert",
        fixtures().join("root-ca.pem").to_str().unwrap(),
    ]);
    s.spawn();

    let doc = b"purchase contract no. 7";
    let h = Hash::digest(doc).to_hex();
    let good = token_over(tsa.path(), &h, None);
    let (status, body) = s.submit(&event_with_token(&s, "ts-ok", &h, Some(&good)));
    assert_eq!(status, 200, "{body}");
    // A token over the event itself (its canonical JSON without the
    // member): the event, not only the document, existed by genTime.
    let mut ev = event_with_token(&s, "ts-event", &h, None);
    let imprint = Hash::digest(&verifier::jcs::to_canonical(&ev)).to_hex();
    ev["event_timestamp_token"] = json!(B64.encode(token_over(tsa.path(), &imprint, None)));
    let (status, body) = s.submit(&ev);
    assert_eq!(status, 200, "{body}");
    // The document's token in its place does not cover the event: 422.
    let mut wrong = event_with_token(&s, "ts-event-bad", &h, None);
    wrong["event_timestamp_token"] = json!(B64.encode(&good));
    let (status, body) = s.submit(&wrong);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "timestamp_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("event_timestamp_token"));

    let size = s.tree_size();
    let fixture_hash =
        Hash::digest(&std::fs::read(fixtures().join("document.txt")).unwrap()).to_hex();
    let mut corrupted = good.clone();
    let n = corrupted.len();
    corrupted[n - 10] ^= 0x01; // inside the signature at the end of SignerInfo
    let other = token_over(tsa.path(), &Hash::digest(b"another document").to_hex(), None);
    let future = token_over(tsa.path(), &h, Some("+400d"));
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        ("token over another hash", h.clone(), other),
        (
            "token from an untrusted TSA",
            fixture_hash.clone(),
            std::fs::read(fixtures().join("token-untrusted.der")).unwrap(),
        ),
        (
            "certificate without the timeStamping EKU",
            fixture_hash.clone(),
            std::fs::read(fixtures().join("token-noeku.der")).unwrap(),
        ),
        ("corrupted signature", h.clone(), corrupted),
        ("genTime in the future", h.clone(), future),
        ("garbage bytes", h.clone(), b"definitely not DER".to_vec()),
    ];
    for (i, (name, hash, token)) in cases.into_iter().enumerate() {
        let (status, body) =
            s.submit(&event_with_token(&s, &format!("ts-bad-{i}"), &hash, Some(&token)));
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(body["error"]["code"], "timestamp_failed", "{name}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("timestamp_token"),
            "{name}: {body}"
        );
        assert_eq!(s.tree_size(), size, "{name} wrote something");
    }

    // The bundle carries the TSA root; the verifier re-checks the token.
    let (status, text) = s.get("/v1/documents/contract-ts/bundle", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{text}");
    let bundle = Bundle::parse(text.as_bytes()).unwrap();
    assert_eq!(bundle.timestamp_authorities.len(), 1);
    let report = verify_bundle(&bundle, &log_policy(&s).with_document(doc));
    let ts: Vec<_> = report.checks.iter().filter(|c| c.id == "event_timestamp").collect();
    assert_eq!(ts.len(), 1);
    assert!(ts[0].passed, "{:?}", ts[0]);
    let own: Vec<_> = report.checks.iter().filter(|c| c.id == "event_content_timestamp").collect();
    assert_eq!(own.len(), 1);
    assert!(own[0].passed, "{:?}", own[0]);
    assert_eq!(report.timestamps.len(), 2);
    assert!(report.timestamps.iter().all(|t| t.tsa == "test-tsa"));
    assert!(report.timestamps[0].subject.starts_with("the document of entry"), "{report:?}");
    assert_eq!(report.timestamps[0].covers, verifier::report::TimestampCovers::Document);
    assert_eq!(report.timestamps[1].covers, verifier::report::TimestampCovers::Event);
    assert!(report.timestamps[1].subject.starts_with("the event of entry"), "{report:?}");
    assert!(report.passed, "{}", report.to_text());
    let serial = report.timestamps[0].serial.clone();
    // Without the TSA root in the policy, the token's time is only a claim.
    let mut no_root = log_policy(&s);
    no_root.policy.tsas.clear();
    let claimed = verify_bundle(&bundle, &no_root);
    assert_eq!(claimed.verdict.status, VerdictStatus::UntrustedTimestamps, "{}", claimed.to_text());
    assert!(claimed.timestamps.is_empty());
    // The legal team's report shows the trusted time and who vouched for it.
    let (status, html) = s.get("/v1/documents/contract-ts/report", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Trusted timestamps") && html.contains("test-tsa"), "{html}");
    assert!(html.contains(&serial), "{html}");
    // Each token is worded by what it covers: the document, the event.
    assert!(
        html.contains("the document of entry") && html.contains("the event of entry"),
        "{html}"
    );
    assert!(!html.contains("the log's state"), "no checkpoint token here: {html}");
    let _ = s.terminate();
}

fn wait_for<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn anchored_checkpoints_get_tsa_tokens_and_ingest_survives_the_tsa_being_down() {
    let tsa = tsa_dir();
    let http = serve_tsa(tsa.path().to_path_buf());
    let mut s = Server::prepare();
    let d = s.data().to_str().unwrap().to_string();
    let root = fixtures().join("root-ca.pem");
    cli(&[
        "tsa",
        "add",
        "--data",
        &d,
        "--name",
        "test-tsa",
        "--root-cert",
        root.to_str().unwrap(),
        "--anchor-url",
        &http.url,
    ]);
    cli(&["anchor", "policy", "--data", &d, "--interval", "1"]);
    s.spawn();
    let roots =
        vec![TrustedTsa::from_pem("test-tsa", &std::fs::read_to_string(&root).unwrap()).unwrap()];
    let h = Hash::digest(b"doc").to_hex();
    let stamped = |size: u64| {
        let (status, body) = s.get("/v1/checkpoint/timestamp", None);
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).unwrap();
        (v["tree_size"] == size).then_some(v)
    };

    assert_eq!(s.submit(&event_with_token(&s, "a-1", &h, None)).0, 200);
    let size = s.tree_size();
    let v = wait_for("a checkpoint timestamp", || stamped(size));
    let cp =
        verifier::checkpoint::SignedCheckpoint::parse(v["checkpoint"].as_str().unwrap().as_bytes())
            .unwrap();
    let token = B64.decode(v["token"].as_str().unwrap()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let info =
        verify_timestamp_token(&token, &Hash::digest(cp.note.text.as_bytes()), &roots, now, 300)
            .unwrap();
    assert_eq!(info.tsa, "test-tsa");
    assert_eq!(v["gen_time"], info.gen_time.as_str());

    // The certificate watch (crate::certwatch) names when the root and the
    // signer of the newest checkpoint token expire, as OpenSSL reads them.
    let not_after = |pem: &Path| {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-in", pem.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let date = text.trim().strip_prefix("notAfter=").unwrap().to_string();
        let out = Command::new("date").args(["-u", "-d", &date, "+%s"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let metrics = s.get("/metrics", None).1;
    for (kind, pem) in [("tsa_root", root.clone()), ("tsa_signer", tsa.path().join("tsa-rsa.pem"))]
    {
        let series = format!(
            "evidence_certificate_not_after_seconds{{kind=\"{kind}\",name=\"test-tsa\"}} {}",
            not_after(&pem)
        );
        assert!(metrics.contains(&series), "{series} not in\n{metrics}");
    }

    // The TSA goes down: ingest goes on, lag shows, and it catches up after.
    http.up.store(false, Ordering::SeqCst);
    for i in 0..3 {
        assert_eq!(s.submit(&event_with_token(&s, &format!("b-{i}"), &h, None)).0, 200);
    }
    let size2 = s.tree_size();
    wait_for("a failed TSA attempt", || {
        let m = s.get("/metrics", None).1;
        m.contains("evidence_anchor_failures{kind=\"unreachable\",witness=\"tsa:test-tsa\"}")
            .then_some(())
    });
    assert!(stamped(size2).is_none());
    http.up.store(true, Ordering::SeqCst);
    assert_eq!(s.post("/v1/anchor", Some(&s.tokens.platform), "").0, 200);
    wait_for("the TSA catching up", || stamped(size2));

    // The bundle of an idle log carries the checkpoint's token, and it verifies.
    let (status, text) = s.get("/v1/documents/contract-ts/bundle", Some(&s.tokens.legal));
    assert_eq!(status, 200, "{text}");
    let bundle = Bundle::parse(text.as_bytes()).unwrap();
    assert!(bundle.checkpoint_timestamp.is_some(), "{text}");
    let report = verify_bundle(&bundle, &log_policy(&s));
    let c = report.checks.iter().find(|c| c.id == "checkpoint_timestamp").unwrap();
    assert!(c.passed, "{c:?}");
    assert!(report.passed, "{}", report.to_text());

    // The same genuine bundle with the checkpoint token swapped for one from
    // a self-made "National Time Service Center" root that the bundle
    // carries: its date is a claim, and the verdict is not "verified".
    let fake_root = self_made_tsa(tsa.path());
    let body = format!("{}\n", bundle.checkpoint.split_once("\n\n").unwrap().0);
    let token = self_made_token(tsa.path(), &Hash::digest(body.as_bytes()).to_hex());
    let mut backdated = bundle.clone();
    backdated.checkpoint_timestamp = Some(verifier::bundle::BundleTimestamp {
        tsa: "National Time Service Center".into(),
        token: B64.encode(token),
    });
    backdated.timestamp_authorities = vec![verifier::bundle::BundleTsa {
        name: "National Time Service Center".into(),
        root_pem: fake_root,
    }];
    let report = verify_bundle(&backdated, &log_policy(&s));
    assert_eq!(report.verdict.status, VerdictStatus::UntrustedTimestamps, "{}", report.to_text());
    let c = report.checks.iter().find(|c| c.id == "checkpoint_timestamp").unwrap();
    assert_eq!(c.status, verifier::report::CheckStatus::Unanchored, "{c:?}");
    assert!(report.timestamps.is_empty(), "no trusted time from a self-made root");
    assert!(report.claims.iter().any(|c| c.contains("National Time Service Center")));
    assert!(!report.to_text().contains("Trusted time:"), "{}", report.to_text());
    // POST /v1/verify (the service's own anchors) refuses it too.
    let (status, answer) = s.post("/v1/verify", None, serde_json::to_vec(&backdated).unwrap());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["verdict"]["status"], "untrusted_timestamps", "{answer:#}");
}
