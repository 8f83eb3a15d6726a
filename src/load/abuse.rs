//! The load tool's abusive clients: they run beside a measured open loop
//! (`load --rate R --verify-flood N --slow-bodies M --auth-flood A
//! --report-flood F`) so that docs/performance.md can show a submitter's
//! latency under each abuse.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use verifier::Hash;

use crate::cmd::CliResult;
use crate::flows::{signed_event_for, Issuer};

/// Abusive clients running beside a measured open loop.
pub(super) struct Abuse {
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<(usize, usize)>>,
    slow: usize,
}

impl Abuse {
    pub(super) fn start(url: &str, token: &str, verify_clients: usize, slow: usize) -> Abuse {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        // 16 MiB minus a little: the largest body the endpoint takes.
        let big = Arc::new({
            let mut b = b"{\"bundle\": \"".to_vec();
            b.resize((16 << 20) - 16, b'A');
            b.extend_from_slice(b"\"}");
            b
        });
        for _ in 0..verify_clients {
            let (stop, url, big) = (stop.clone(), url.to_string(), big.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut served, mut refused) = (0, 0);
                while !stop.load(Ordering::Relaxed) {
                    let r = client
                        .post(format!("{url}/v1/verify"))
                        .body(big.as_ref().clone())
                        .send()
                        .await;
                    match r.map(|r| r.status().as_u16()) {
                        Ok(200) => served += 1,
                        _ => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                (served, refused)
            }));
        }
        let addr = url.trim_start_matches("http://").to_string();
        for _ in 0..slow {
            let (stop, addr, token) = (stop.clone(), addr.clone(), token.to_string());
            tasks.push(tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let Ok(mut c) = tokio::net::TcpStream::connect(&addr).await else { return (0, 1) };
                let head = format!(
                    "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                     Content-Length: 1000000\r\n\r\n"
                );
                if c.write_all(head.as_bytes()).await.is_err() {
                    return (0, 1);
                }
                while !stop.load(Ordering::Relaxed) {
                    if c.write_all(b" ").await.is_err() {
                        return (0, 1);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                (0, 0)
            }));
        }
        if verify_clients + slow > 0 {
            eprintln!("abuse: {verify_clients} verify flooders, {slow} slow-body connections");
        }
        Abuse { stop, tasks, slow }
    }

    /// Adds `n` clients flooding the service with bad-token requests. On
    /// a loopback server they send from 127.0.0.2: an attacker's own
    /// address, which the service's failed-authentication limit then
    /// refuses (429) without refusing the measured clients on 127.0.0.1.
    pub(super) fn floods(&mut self, url: &str, n: usize) {
        let long = "x".repeat(8 << 10);
        let local =
            url.starts_with("http://127.0.0.1:").then(|| std::net::IpAddr::from([127, 0, 0, 2]));
        for _ in 0..n {
            let (stop, url, long) = (self.stop.clone(), url.to_string(), long.clone());
            self.tasks.push(tokio::spawn(async move {
                let client =
                    reqwest::Client::builder().local_address(local).build().unwrap_or_default();
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = client
                        .get(format!("{url}/v1/documents/{long}{sent}/bundle"))
                        .bearer_auth("elt_nobody")
                        .send()
                        .await;
                    if r.is_err() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    sent += 1;
                }
                (0, sent)
            }));
        }
        if n > 0 {
            eprintln!("abuse: {n} clients sending bad tokens");
        }
    }

    /// Adds `n` clients of the abuser tenant issuing reports of one
    /// contract back to back (each a new `Idempotency-Key`).
    pub(super) async fn reports(
        &mut self,
        client: reqwest::Client,
        url: &str,
        (submitter, legal): (&str, &str),
        issuer: &Issuer,
        n: usize,
    ) -> CliResult {
        let h = Hash::digest(b"abuse-doc").to_hex();
        let events: Vec<Value> = (0..20)
            .map(|i| signed_event_for("abuser", issuer, &format!("abuse-{i}"), "abuse-doc", &h))
            .collect();
        let r = client
            .post(format!("{url}/v1/events"))
            .bearer_auth(submitter)
            .json(&json!({ "events": events }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("the abuser's contract: {}", r.status()));
        }
        for c in 0..n {
            let (stop, url, legal, client) =
                (self.stop.clone(), url.to_string(), legal.to_string(), client.clone());
            self.tasks.push(tokio::spawn(async move {
                let (mut served, mut refused, mut k) = (0, 0, 0);
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    let r = client
                        .post(format!("{url}/v1/documents/abuse-doc/reports"))
                        .bearer_auth(&legal)
                        .header("Idempotency-Key", format!("flood-{c}-{k}"))
                        .send()
                        .await;
                    match r.map(|r| r.status().as_u16()) {
                        Ok(200) => served += 1,
                        _ => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                (served, refused)
            }));
        }
        eprintln!("abuse: {n} clients issuing reports as tenant abuser");
        Ok(())
    }

    pub(super) async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let (mut served, mut refused) = (0, 0);
        for t in self.tasks {
            if let Ok((s, r)) = t.await {
                served += s;
                refused += r;
            }
        }
        if served + refused > 0 || self.slow > 0 {
            println!(
                "abuse: verifications and reports served {served}, refused or failed (401s \
                 included) {refused}; slow bodies {}",
                self.slow
            );
        }
    }
}
