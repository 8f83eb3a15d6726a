//! Clients that append without pause to a ledger whose URL may move (a
//! failover), retrying a refused batch until it is acknowledged, and
//! recording every receipt and every checkpoint they are handed: the
//! history the PostgreSQL failover tests check.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use evidence_ledger::flows::{signed_event, Issuer};
use serde_json::{json, Value};
use verifier::checkpoint::SignedCheckpoint;
use verifier::Hash;

/// What the clients saw.
#[derive(Default)]
pub struct Seen {
    /// event id -> (index, leaf hash) of every receipt.
    pub acked: HashMap<String, (u64, String)>,
    /// Every checkpoint in a receipt: size -> distinct roots (base64).
    pub roots: BTreeMap<u64, Vec<String>>,
    /// One note per distinct (size, root).
    pub notes: HashMap<(u64, String), String>,
    /// Answers 503 with `Retry-After`.
    pub refused: u64,
    /// Answers breaking the rules: anything but 200 or 503 + Retry-After.
    pub bad: Vec<String>,
}

impl Seen {
    fn receipt(&mut self, r: &Value) {
        let id = r["event_id"].as_str().unwrap().to_string();
        let got = (r["index"].as_u64().unwrap(), r["leaf_hash"].as_str().unwrap().to_string());
        if let Some(before) = self.acked.insert(id.clone(), got.clone()) {
            if before != got {
                self.bad.push(format!("{id} acknowledged as {before:?}, then {got:?}"));
            }
        }
        let note = r["checkpoint"].as_str().unwrap();
        let cp = SignedCheckpoint::parse(note.as_bytes()).unwrap();
        let (size, root) = (cp.checkpoint.size, cp.checkpoint.root.to_base64());
        let roots = self.roots.entry(size).or_default();
        if !roots.contains(&root) {
            roots.push(root.clone());
        }
        self.notes.entry((size, root)).or_insert_with(|| note.to_string());
    }

    /// Sizes handed out with two roots: forks.
    pub fn forks(&self) -> Vec<(u64, Vec<String>)> {
        self.roots.iter().filter(|(_, r)| r.len() > 1).map(|(s, r)| (*s, r.clone())).collect()
    }
}

/// Appending clients, running until [`Appenders::stop`].
pub struct Appenders {
    url: Arc<RwLock<String>>,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Appenders {
    /// `clients` clients appending batches of 5 events (ids `{tag}-c-b-i`,
    /// signed by `issuer`) to the ledger at `url`.
    pub fn start(url: &str, token: &str, issuer: &Issuer, clients: usize, tag: &str) -> Appenders {
        let url = Arc::new(RwLock::new(url.to_string()));
        let (seen, stop): (Arc<Mutex<Seen>>, Arc<AtomicBool>) = Default::default();
        let threads = (0..clients)
            .map(|c| {
                let (url, seen, stop) = (url.clone(), seen.clone(), stop.clone());
                let issuer = Issuer { name: issuer.name.clone(), key: issuer.key.clone() };
                let (token, tag) = (token.to_string(), tag.to_string());
                std::thread::spawn(move || {
                    client(&url, &seen, &stop, &token, &issuer, &format!("{tag}-{c}"))
                })
            })
            .collect();
        Appenders { url, seen, stop, threads }
    }

    /// Sends the next requests to `url` (a failover).
    pub fn point_at(&self, url: &str) {
        *self.url.write().unwrap() = url.to_string();
    }

    /// Events acknowledged so far.
    pub fn acked(&self) -> usize {
        self.seen.lock().unwrap().acked.len()
    }

    /// Answers 503 so far.
    pub fn refused(&self) -> u64 {
        self.seen.lock().unwrap().refused
    }

    /// Stops the clients (after their current request) and returns what they saw.
    pub fn stop(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn client(
    url: &RwLock<String>,
    seen: &Mutex<Seen>,
    stop: &AtomicBool,
    token: &str,
    issuer: &Issuer,
    tag: &str,
) {
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let h = Hash::digest(tag.as_bytes()).to_hex();
    let mut b = 0;
    while !stop.load(Ordering::Relaxed) {
        // The same batch until it is acknowledged (a replay after an
        // unknown outcome is the interesting case).
        let events: Vec<Value> = (0..5)
            .map(|i| signed_event(issuer, &format!("{tag}-{b}-{i}"), &format!("doc-{tag}"), &h))
            .collect();
        let to = url.read().unwrap().clone();
        let sent = http
            .post(format!("{to}/v1/events"))
            .bearer_auth(token)
            .json(&json!({ "events": events }));
        let Ok(resp) = sent.send() else {
            std::thread::sleep(Duration::from_millis(100)); // gone, or stopped
            continue;
        };
        let status = resp.status().as_u16();
        let retry = resp.headers().contains_key("retry-after");
        let text = resp.text().unwrap_or_default();
        let mut seen = seen.lock().unwrap();
        if status == 200 {
            let body: Value = serde_json::from_str(&text).unwrap();
            for r in body["receipts"].as_array().unwrap() {
                seen.receipt(r);
            }
            b += 1;
        } else if status == 503 && retry {
            seen.refused += 1;
            drop(seen);
            std::thread::sleep(Duration::from_millis(100));
        } else {
            seen.bad.push(format!("{status} (Retry-After: {retry}): {text}"));
        }
    }
}
