//! C2SP tlog-tiles end to end: the real server fills a log, and a client
//! that knows only the spec (c2sp.org/tlog-tiles, tlog-checkpoint) and the
//! log's vkey checks it through `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` and
//! `/tile/entries/<N>[.p/<W>]` alone: every entry bundle against the
//! level-0 tiles, inclusion of sampled entries, and consistency between two
//! checkpoints, with the proofs computed from tiles by the client (Go
//! sumdb/tlog's TileHashReader, as ported by the `tlog_tiles` crate). It
//! uses none of the ledger's proof code and none of the `/v1/proof` routes.
//!
//! `TILES_ENTRIES` sets the log size (default 3,000: several levels and
//! partial tiles; docs/tiles.md records a run at 100,000).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use common::*;
use ledger::{Ledger, LedgerOptions};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tlog_tiles::tile::{Tile, TileHashReader, TileReader};
use tlog_tiles::tlog::{self, HashReader};
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::NoteVerifier;

/// C2SP tlog-tiles: tiles of height 8, 256 hashes of 32 bytes.
const HEIGHT: u8 = 8;
const WIDTH: u64 = 256;
const HASH: usize = 32;
/// Events per append (the API's batch limit).
const BATCH: u64 = 1000;

// ---- the client, from the spec ------------------------------------------

/// `<N>` as 3-digit groups, all but the last prefixed with `x`.
fn encode_index(mut n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    s
}

/// `tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for a data tile.
fn tile_path(t: &Tile) -> String {
    let level = if t.is_data() { "entries".to_string() } else { t.level().to_string() };
    let partial =
        if u64::from(t.width()) == WIDTH { String::new() } else { format!(".p/{}", t.width()) };
    format!("tile/{level}/{}{partial}", encode_index(t.level_index()))
}

/// RFC 6962 leaf hash.
fn leaf_hash(leaf: &[u8]) -> tlog::Hash {
    tlog::Hash(Sha256::new().chain_update([0u8]).chain_update(leaf).finalize().into())
}

/// Fetches tiles over HTTP. What it hands out is unauthenticated; the
/// `TileHashReader` built over it checks every tile against the
/// checkpoint's root before using a hash.
struct TileClient {
    http: reqwest::blocking::Client,
    base: String,
    /// Bodies by path (tiles never change; unverified, like a CDN's cache).
    cache: RefCell<HashMap<String, Vec<u8>>>,
    requests: Cell<u64>,
}

impl TileClient {
    fn new(base: &str) -> TileClient {
        TileClient {
            http: reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
            base: base.to_string(),
            cache: RefCell::new(HashMap::new()),
            requests: Cell::new(0),
        }
    }

    fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        self.requests.set(self.requests.get() + 1);
        let r = self.http.get(format!("{}/{path}", self.base)).send().unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.bytes().unwrap().to_vec())
    }

    /// A tile or bundle: 200, octet-stream, and cacheable as the spec
    /// says (full: immutable; partial: briefly).
    fn fetch(&self, path: &str, full: bool) -> Vec<u8> {
        if let Some(b) = self.cache.borrow().get(path) {
            return b.clone();
        }
        let (status, headers, body) = self.get(path);
        assert_eq!(status, 200, "GET /{path}: {}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "application/octet-stream", "{path}");
        let cache = headers["cache-control"].to_str().unwrap();
        if full {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
        } else {
            assert!(cache.contains("max-age=") && !cache.contains("immutable"), "{path}: {cache}");
        }
        self.cache.borrow_mut().insert(path.to_string(), body.clone());
        body
    }

    /// `/checkpoint`, verified with the log's key.
    fn checkpoint(&self, log: &NoteVerifier) -> (u64, tlog::Hash) {
        let (status, headers, body) = self.get("checkpoint");
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"));
        let cache = headers["cache-control"].to_str().unwrap();
        assert!(cache.contains("max-age=") && !cache.contains("immutable"), "{cache}");
        let cp = SignedCheckpoint::verify(&body, log).expect("checkpoint signed by the log");
        (cp.checkpoint.size, tlog::Hash(cp.checkpoint.root.0))
    }

    /// The width of tile `n` of a level holding `count` hashes.
    fn width(count: u64, n: u64) -> u32 {
        (count - n * WIDTH).min(WIDTH) as u32
    }

    /// Entry bundle `n` of the tree of `size`, split into entries.
    fn bundle(&self, size: u64, n: u64) -> Vec<Vec<u8>> {
        let w = Self::width(size, n);
        let t = Tile::new(HEIGHT, 0, n, w, true);
        let body = self.fetch(&tile_path(&t), u64::from(w) == WIDTH);
        let mut out = Vec::new();
        let mut rest = &body[..];
        while !rest.is_empty() {
            assert!(rest.len() >= 2, "truncated length in bundle {n}");
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            assert!(rest.len() >= 2 + len, "truncated entry in bundle {n}");
            out.push(rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
        }
        assert_eq!(out.len(), w as usize, "entries in bundle {n}");
        out
    }
}

impl TileReader for TileClient {
    fn height(&self) -> u8 {
        HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog::Error> {
        Ok(tiles.iter().map(|t| self.fetch(&tile_path(t), u64::from(t.width()) == WIDTH)).collect())
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// Checks every entry of the tree of `size` against the authenticated
/// level-0 tiles (a monitor's pass), and returns the leaf hashes.
fn check_all_entries(c: &TileClient, thr: &TileHashReader<'_>, size: u64) -> Vec<tlog::Hash> {
    let mut all = Vec::with_capacity(size as usize);
    for n in 0..size.div_ceil(WIDTH) {
        let entries = c.bundle(size, n);
        let hashes: Vec<tlog::Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        // The raw level-0 tile holds exactly these leaf hashes...
        let w = TileClient::width(size, n);
        let raw = c.fetch(&tile_path(&Tile::new(HEIGHT, 0, n, w, false)), u64::from(w) == WIDTH);
        assert_eq!(raw.len(), w as usize * HASH);
        let concat: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
        assert_eq!(raw, concat, "bundle {n} does not hash to level-0 tile {n}");
        // ...and that tile is authenticated up to the checkpoint's root.
        let idx: Vec<u64> =
            (n * WIDTH..n * WIDTH + u64::from(w)).map(|i| tlog::stored_hash_index(0, i)).collect();
        assert_eq!(thr.read_hashes(&idx).expect("level-0 tile authenticated"), hashes);
        all.extend(hashes);
    }
    all
}

// ---- filling the log ----------------------------------------------------

fn events(s: &Server, from: u64, to: u64) -> Vec<Value> {
    let h = verifier::Hash::digest(b"tiles").to_hex();
    (from..to)
        .map(|i| {
            let doc = format!("tiles-{}", i / 100);
            evidence_ledger::flows::signed_event(&s.services.idp, &format!("t-{i}"), &doc, &h)
        })
        .collect()
}

/// Appends through the library, on the stopped server's data directory.
fn fill_library(s: &Server, to: u64) {
    let ledger = Ledger::open(s.data(), LedgerOptions::default()).unwrap();
    let mut size = ledger.status().tree_size;
    while size < to {
        let next = (size + BATCH).min(to);
        let batch = events(s, size, next)
            .into_iter()
            .map(|v| verifier::entry::Event::from_value(v, false).unwrap())
            .collect();
        let r = ledger.append(TENANT, batch).unwrap();
        size = r.last().unwrap().tree_size;
    }
    ledger.close();
}

/// Appends through `POST /v1/events`.
fn fill_http(s: &Server, to: u64) {
    let mut size = s.tree_size_latest();
    while size < to {
        let next = (size + BATCH).min(to);
        let (status, body) = s.submit(&json!({"events": events(s, size, next)}));
        assert_eq!(status, 200, "{body}");
        size = s.tree_size_latest();
    }
}

fn sample(size: u64) -> Vec<u64> {
    let mut v = vec![0, 1, WIDTH - 1, WIDTH, size / 2, size - 2, size - 1];
    v.extend((0..size).step_by((size / 25).max(1) as usize).map(|i| (i * 7 + 3) % size));
    v.retain(|i| *i < size);
    v.sort_unstable();
    v.dedup();
    v
}

// ---- the test -----------------------------------------------------------

#[test]
fn a_tiles_only_client_verifies_the_log() {
    let entries: u64 = std::env::var("TILES_ENTRIES").ok().map_or(3000, |v| v.parse().unwrap());
    assert!(entries >= 600, "TILES_ENTRIES must be at least 600");
    let started = Instant::now();

    // Two thirds through the library on the data directory, then serve.
    let mut s = Server::prepare();
    let first = entries * 2 / 3;
    fill_library(&s, first);
    let filled_library = started.elapsed();
    s.spawn();
    let log = NoteVerifier::from_vkey(s.get_json("/v1/log")["vkey"].as_str().unwrap()).unwrap();
    let c = TileClient::new(&s.url);
    let (size_a, root_a) = c.checkpoint(&log);
    assert_eq!(size_a, first);

    // The rest through the API, then the second checkpoint.
    let t = Instant::now();
    fill_http(&s, entries);
    let filled_http = t.elapsed();
    let (size_b, root_b) = c.checkpoint(&log);
    assert_eq!(size_b, entries);
    // /checkpoint is the note /v1/checkpoint serves.
    let (_, _, note) = c.get("checkpoint");
    assert_eq!(String::from_utf8(note).unwrap(), s.get("/v1/checkpoint", None).1);

    // Everything below uses tiles only.
    let t = Instant::now();
    let thr_a = TileHashReader::new(size_a, root_a, &c);
    let thr_b = TileHashReader::new(size_b, root_b, &c);
    assert_eq!(tlog::tree_hash(size_b, &thr_b).unwrap(), root_b);

    // Consistency: A's root recomputed from B's tiles, and an RFC 9162
    // consistency proof built from B's tiles, checked.
    assert_eq!(tlog::tree_hash(size_a, &thr_b).unwrap(), root_a);
    let proof = tlog::prove_tree(size_b, size_a, &thr_b).unwrap();
    tlog::check_tree(&proof, size_b, root_b, size_a, root_a).expect("consistency A -> B");
    let mut wrong = root_a;
    wrong.0[0] ^= 1;
    assert!(tlog::check_tree(&proof, size_b, root_b, size_a, wrong).is_err());

    // Every entry against the level-0 tiles of B.
    let leaves = check_all_entries(&c, &thr_b, size_b);

    // Inclusion of sampled entries in B, and (older ones) in A from A's
    // partial tiles of the older widths.
    let samples = sample(size_b);
    for &i in &samples {
        let h = leaves[i as usize];
        if i < size_a {
            let p = tlog::prove_record(size_a, i, &thr_a).unwrap();
            tlog::check_record(&p, size_a, root_a, i, h).expect("inclusion in A");
        }
        let p = tlog::prove_record(size_b, i, &thr_b).unwrap();
        tlog::check_record(&p, size_b, root_b, i, h).expect("inclusion in B");
        let mut other = h;
        other.0[31] ^= 1;
        assert!(tlog::check_record(&p, size_b, root_b, i, other).is_err());
    }
    // A bundle's entry is the leaf /v1/entries serves.
    for &i in samples.iter().take(3) {
        let leaf = s.get_json(&format!("/v1/entries/{i}"))["leaf"].as_str().unwrap().to_string();
        let bundle = c.bundle(size_b, i / WIDTH);
        use base64::Engine as _;
        let want = base64::engine::general_purpose::STANDARD.decode(leaf).unwrap();
        assert_eq!(bundle[(i % WIDTH) as usize], want);
    }
    let verified = t.elapsed();

    // Several levels and partial tiles were in play.
    let paths: Vec<String> = c.cache.borrow().keys().cloned().collect();
    assert!(paths.iter().any(|p| p.starts_with("tile/1/")), "no level-1 tile fetched");
    assert!(paths.iter().any(|p| p.contains(".p/")), "no partial tile fetched");

    check_paths(&c, size_b);

    eprintln!(
        "tiles: {entries} entries; library fill {:.1?} ({first}), HTTP fill {:.1?} ({}), \
         tiles-only verification {:.1?} ({} requests, {} samples); total {:.1?}",
        filled_library,
        filled_http,
        entries - first,
        verified,
        c.requests.get(),
        samples.len(),
        started.elapsed()
    );
}

/// Strict paths: the one canonical spelling of each tile (400 otherwise),
/// and 404 for what the tree does not hold whole.
fn check_paths(c: &TileClient, size: u64) {
    let status = |p: &str| c.get(p).0;
    let full0 = size / WIDTH; // full level-0 tiles
    let w0 = size % WIDTH;
    assert_ne!(w0, 0, "choose TILES_ENTRIES not a multiple of 256");
    for bad in [
        "tile/0/1",
        "tile/0/01",
        "tile/0/0000",
        "tile/0/x000/001",
        "tile/0/x001",
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/000/",
        "tile/8/0/000",
        "tile/data/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p",
        "tile/entries/000.p/",
        "tile/entries/x018/x446/x744/x073/x709/x551/616",
        "tile",
        "tile/",
    ] {
        assert_eq!(status(bad), 400, "{bad}");
    }
    let n = encode_index(full0);
    for beyond in [
        format!("tile/0/{n}"),
        format!("tile/0/{n}.p/{}", w0 + 1),
        format!("tile/entries/{n}"),
        format!("tile/entries/{n}.p/{}", w0 + 1),
        format!("tile/0/{}", encode_index(full0 + 1)),
        format!("tile/0/{}.p/1", encode_index(full0 + 1)),
        "tile/7/000.p/1".to_string(),
        "tile/63/000.p/1".to_string(),
        "tile/0/x018/x446/x744/x073/x709/x551/615".to_string(),
    ] {
        assert_eq!(status(&beyond), 404, "{beyond}");
    }
    // Present: the partial tile of this size and narrower ones.
    assert_eq!(status(&format!("tile/0/{n}.p/{w0}")), 200);
    assert_eq!(status(&format!("tile/entries/{n}.p/1")), 200);
    // A full tile is 256 hashes.
    let (st, _, body) = c.get("tile/0/000");
    assert_eq!((st, body.len()), (200, 8192));
}
