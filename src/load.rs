//! `evidence-ledger load`: drives the HTTP API with realistic signed events
//! from many clients and prints events/s and latency percentiles.
//!
//! Without `--url` it runs a server of its own as a child process on a
//! fresh data directory (init, tokens, issuer, serve on 127.0.0.1:0), so one
//! command measures the whole path. Request bodies are built and signed
//! before the clock starts: the numbers are the server's, not the signer's.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use verifier::Hash;

use crate::cmd::{runtime, CliResult};
use crate::flows::{signed_event_for, Issuer};

mod abuse;
mod ceiling;
use abuse::Abuse;

/// Options of the load tool.
#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// Base URL of a running server; omit to start one.
    #[arg(long)]
    url: Option<String>,
    /// Submitter token (with --url).
    #[arg(long)]
    token: Option<String>,
    /// Tenant of the submitter token: attestations v2 are bound to it
    /// (with --url; the tool's own server uses `load`).
    #[arg(long, default_value = "load")]
    tenant: String,
    /// Platform token to register the load issuer, platform-wide (with --url).
    #[arg(long)]
    admin_token: Option<String>,
    /// The store of the tool's own server (without --url): `rocksdb` (the
    /// default) or a `postgres://` URL of an empty database.
    #[arg(long)]
    store: Option<String>,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Events per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Total events (closed loop).
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Open loop: offer this many requests/s instead, for --seconds.
    #[arg(long)]
    rate: Option<u64>,
    /// Duration of an open-loop run (each step of a sweep).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Open-loop sweep: offer FROM, FROM+STEP, ... TO requests/s in turn
    /// (e.g. 1000:10000:1000) and print the curve: achieved, shed
    /// (429/503), failed, receipt latency of the served.
    #[arg(long, conflicts_with = "rate")]
    sweep: Option<String>,
    /// Abuse beside an open loop (--rate): this many clients each posting
    /// 16 MiB bodies to the public `POST /v1/verify` back to back.
    #[arg(long, default_value_t = 0)]
    verify_flood: usize,
    /// Abuse beside an open loop (--rate): this many connections trickling
    /// a `POST /v1/events` body at one byte per second.
    #[arg(long, default_value_t = 0)]
    slow_bodies: usize,
    /// Submitter token of another tenant for the slow bodies (with --url;
    /// without it they use a token that does not exist). Without --url the
    /// tool's own server issues one for tenant `abuser`.
    #[arg(long)]
    abuse_token: Option<String>,
    /// Abuse beside an open loop (--rate): this many clients sending
    /// requests with a bad token and an 8 KiB path back to back (401s).
    #[arg(long, default_value_t = 0)]
    auth_flood: usize,
    /// Abuse beside an open loop (--rate): this many clients of the abuser
    /// tenant issuing evidence reports back to back (needs the tool's own
    /// server, which issues the abuser's legal token and contract).
    #[arg(long, default_value_t = 0)]
    report_flood: usize,
    /// Closed loop: after the HTTP run, print this machine's ceilings for
    /// the same events without HTTP (parse; Ed25519 `verify_strict` on 1
    /// and 2 threads; the ledger's append in this process, serially and
    /// from --clients threads).
    #[arg(long)]
    ceilings: bool,
}

/// Runs the load.
pub fn run(args: LoadArgs) -> CliResult {
    let mut own = None;
    let mut abuse_token = args.abuse_token.clone();
    let mut abuse_legal: Option<String> = None;
    let (url, token, admin) = match &args.url {
        Some(u) => (
            u.clone(),
            args.token.clone().ok_or("--token is required with --url")?,
            args.admin_token.clone(),
        ),
        None => {
            let s = OwnServer::start(args.store.as_deref())?;
            let t = (s.url.clone(), s.submitter.clone(), Some(s.admin.clone()));
            abuse_token = Some(s.abuser.clone());
            abuse_legal = Some(s.abuser_legal.clone());
            own = Some(s);
            t
        }
    };
    let issuer = Issuer::random(&format!("load-{}", std::process::id()));
    let rt = runtime()?;
    let result = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()
            .map_err(|e| e.to_string())?;
        if let Some(admin) = &admin {
            register(&client, &url, admin, &issuer).await?;
        }
        if let Some(spec) = &args.sweep {
            return sweep(&client, &url, (&token, &args.tenant), &issuer, spec, args.seconds).await;
        }
        match args.rate {
            Some(rate) => {
                let bogus = format!("elt_{}", "A".repeat(43));
                let abuser = abuse_token.as_deref().unwrap_or(&bogus);
                let mut abuse = Abuse::start(&url, abuser, args.verify_flood, args.slow_bodies);
                abuse.floods(&url, args.auth_flood);
                if args.report_flood > 0 {
                    let legal = abuse_legal
                        .as_deref()
                        .ok_or("--report-flood needs the tool's own server")?;
                    abuse
                        .reports(client.clone(), &url, (abuser, legal), &issuer, args.report_flood)
                        .await?;
                }
                let r =
                    open_loop(&client, &url, (&token, &args.tenant), &issuer, rate, args.seconds)
                        .await;
                abuse.stop().await;
                r
            }
            None => closed_loop(&client, &url, &token, &issuer, &args).await,
        }
    });
    if let Some(s) = own {
        s.stop();
    }
    result
}

async fn register(client: &reqwest::Client, url: &str, admin: &str, issuer: &Issuer) -> CliResult {
    let resp = client
        .post(format!("{url}/v1/issuers"))
        .bearer_auth(admin)
        .json(&json!({"name": issuer.name, "public_key": issuer.public_key_b64()}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("registering the load issuer: {}", resp.status()));
    }
    Ok(())
}

/// Builds `count` request bodies of `batch` signed events each.
fn bodies(tenant: &str, issuer: &Issuer, count: usize, batch: usize, tag: &str) -> Vec<Vec<u8>> {
    (0..count)
        .map(|r| {
            let events: Vec<Value> = (0..batch)
                .map(|i| {
                    let doc = format!("load-doc-{}", (r * batch + i) % 50_000);
                    let h = Hash::digest(doc.as_bytes()).to_hex();
                    signed_event_for(tenant, issuer, &format!("{tag}-{r}-{i}"), &doc, &h)
                })
                .collect();
            let body = if batch == 1 { events[0].clone() } else { json!({"events": events}) };
            serde_json::to_vec(&body).unwrap_or_default()
        })
        .collect()
}

/// Outcome of one request of an open loop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 200: receipts.
    Served,
    /// 429 or 503: refused at once by quota or admission control.
    Shed,
    /// Anything else (transport errors, 5xx, timeouts).
    Failed,
}

async fn send_outcome(client: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> Outcome {
    let resp = post_events(client, url, token, body).send().await;
    let Ok(resp) = resp else { return Outcome::Failed };
    let status = resp.status().as_u16();
    if resp.bytes().await.is_err() {
        return Outcome::Failed;
    }
    match status {
        200 => Outcome::Served,
        429 | 503 => Outcome::Shed,
        _ => Outcome::Failed,
    }
}

/// One open-loop step's numbers.
struct Step {
    offered: u64,
    achieved: f64,
    shed: usize,
    failed: usize,
    served_latency: Vec<Duration>,
}

/// Offers `rate` single-event requests/s for `seconds`.
async fn open_step(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bodies: Vec<Vec<u8>>,
    rate: u64,
) -> Step {
    let count = bodies.len();
    let results = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for (i, body) in bodies.into_iter().enumerate() {
        let scheduled = started + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, url, token, results) =
            (client.clone(), url.to_string(), token.to_string(), results.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = send_outcome(&client, &url, &token, body).await;
            if let Ok(mut r) = results.lock() {
                r.push((outcome, scheduled.elapsed()));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let results = results.lock().map(|r| r.clone()).unwrap_or_default();
    let count_of = |o: Outcome| results.iter().filter(|(x, _)| *x == o).count();
    Step {
        offered: rate,
        achieved: count_of(Outcome::Served) as f64 / elapsed,
        shed: count_of(Outcome::Shed),
        failed: count_of(Outcome::Failed),
        served_latency: results
            .iter()
            .filter(|(o, _)| *o == Outcome::Served)
            .map(|(_, d)| *d)
            .collect(),
    }
}

/// `--sweep FROM:TO:STEP`: one open-loop step per rate, then the curve.
async fn sweep(
    client: &reqwest::Client,
    url: &str,
    (token, tenant): (&str, &str),
    issuer: &Issuer,
    spec: &str,
    seconds: u64,
) -> CliResult {
    let parts: Vec<u64> = spec.split(':').map(|p| p.parse().unwrap_or(0)).collect();
    let [from, to, step] = parts[..] else {
        return Err(format!("--sweep {spec:?}: expected FROM:TO:STEP"));
    };
    if from == 0 || step == 0 || to < from {
        return Err(format!("--sweep {spec:?}: expected 0 < FROM <= TO and STEP > 0"));
    }
    println!("offered/s  achieved/s  shed(429/503)  failed  p50 ms  p99 ms  max ms");
    let mut rate = from;
    while rate <= to {
        let tag = format!("s{}-{rate}", std::process::id());
        let bodies = bodies(tenant, issuer, (rate * seconds) as usize, 1, &tag);
        let mut st = open_step(client, url, token, bodies, rate).await;
        st.served_latency.sort_unstable();
        let p = |q: f64| {
            let v = &st.served_latency;
            if v.is_empty() {
                return f64::NAN;
            }
            v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0
        };
        println!(
            "{:>9}  {:>10.0}  {:>13}  {:>6}  {:>6.1}  {:>6.1}  {:>6.1}",
            st.offered,
            st.achieved,
            st.shed,
            st.failed,
            p(0.5),
            p(0.99),
            p(1.0)
        );
        // Let the server drain between steps.
        tokio::time::sleep(Duration::from_secs(2)).await;
        rate += step;
    }
    Ok(())
}

/// `POST /v1/events` with a submitter token and a JSON body.
fn post_events(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{url}/v1/events"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(), String> {
    let resp = post_events(client, url, token, body).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let _ = resp.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

async fn closed_loop(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    issuer: &Issuer,
    args: &LoadArgs,
) -> CliResult {
    let count = args.events.div_ceil(args.batch);
    eprintln!("signing {} events...", count * args.batch);
    let bodies = Arc::new(bodies(
        &args.tenant,
        issuer,
        count,
        args.batch,
        &format!("c{}", std::process::id()),
    ));
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
            let (bodies, next, lat, errors) =
                (bodies.clone(), next.clone(), latencies.clone(), errors.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    if let Err(e) = send(&client, &url, &token, body.clone()).await {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first error: {e}");
                        }
                    }
                    if let Ok(mut l) = lat.lock() {
                        l.push(t.elapsed());
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    let total = count * args.batch;
    println!(
        "closed loop: {total} events, {} clients, {} events/request: {:.2} s, {:.0} events/s durable, {} failed requests",
        args.clients,
        args.batch,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        errors.load(Ordering::Relaxed)
    );
    print_percentiles("request latency", &mut latencies.lock().map_err(|e| e.to_string())?);
    if args.ceilings {
        ceiling::print(&args.tenant, issuer, &bodies, args.clients)?;
    }
    Ok(())
}

async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    (token, tenant): (&str, &str),
    issuer: &Issuer,
    rate: u64,
    seconds: u64,
) -> CliResult {
    let count = (rate * seconds) as usize;
    eprintln!("signing {count} single-event requests...");
    let bodies = bodies(tenant, issuer, count, 1, &format!("o{}", std::process::id()));
    // Latency counts from the scheduled send time (open_step), so a
    // stalled server is not hidden by the generator waiting for it.
    let mut st = open_step(client, url, token, bodies, rate).await;
    println!(
        "open loop: {count} single-event requests offered at {rate}/s over {seconds} s: served {:.0} requests/s, {} shed (429/503 with Retry-After), {} failed",
        st.achieved, st.shed, st.failed
    );
    print_percentiles("receipt latency (served)", &mut st.served_latency);
    Ok(())
}

fn print_percentiles(what: &str, v: &mut [Duration]) {
    if v.is_empty() {
        return;
    }
    v.sort_unstable();
    let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "{what}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p(0.5),
        p(0.9),
        p(0.99),
        p(1.0)
    );
}

/// A server child process on a fresh data directory.
struct OwnServer {
    child: Child,
    url: String,
    submitter: String,
    admin: String,
    abuser: String,
    abuser_legal: String,
    dir: std::path::PathBuf,
}

impl OwnServer {
    fn start(store: Option<&str>) -> Result<OwnServer, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!("evidence-ledger-load-{}", std::process::id()));
        let d = dir.to_string_lossy().to_string();
        let cli = |args: &[&str]| -> Result<String, String> {
            let out = Command::new(&exe).args(args).output().map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).to_string());
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let mut init = vec!["init", "--data", &d, "--origin", "load.evidence-ledger.local/log"];
        if let Some(store) = store {
            init.extend(["--store", store]);
        }
        cli(&init)?;
        let submitter =
            cli(&["token", "issue", "--data", &d, "--tenant", "load", "--role", "submitter"])?;
        // The load issuer is platform-wide: only the platform role registers those.
        let admin = cli(&["token", "issue", "--data", &d, "--role", "platform"])?;
        let abuser =
            cli(&["token", "issue", "--data", &d, "--tenant", "abuser", "--role", "submitter"])?;
        let abuser_legal =
            cli(&["token", "issue", "--data", &d, "--tenant", "abuser", "--role", "legal"])?;
        // The tool measures the service's capacity: the per-tenant event
        // quota (5,000/s by default) is lifted for its tenant, and its
        // clients, all on one address, may open as many connections as the
        // service serves (the per-client cap is for fairness between
        // addresses, which one machine's load cannot show).
        let mut child = Command::new(&exe)
            .args(["serve", "--data", &d, "--listen", "127.0.0.1:0"])
            .args(["--tenant-quota", "load=0:0", "--max-connections-per-client", "1024"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let url = read_listen_line(&mut child)?;
        Ok(OwnServer { child, url, submitter, admin, abuser, abuser_legal, dir })
    }

    fn stop(mut self) {
        // SIGTERM for a clean shutdown.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads `listening on <addr>` from a child's stdout.
pub fn read_listen_line(child: &mut Child) -> Result<String, String> {
    use std::io::BufRead;
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(out).read_line(&mut line).map_err(|e| e.to_string())?;
    let addr =
        line.trim().strip_prefix("listening on ").ok_or_else(|| format!("unexpected: {line}"))?;
    Ok(format!("http://{addr}"))
}
