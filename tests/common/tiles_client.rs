//! A C2SP tlog-tiles client written from the spec (tests/tiles.rs,
//! tests/publish.rs): it fetches `checkpoint` and `tile/...` paths under a
//! base URL (the server, or a bucket of an S3-compatible store), verifies
//! the checkpoint with the log's key, and serves the tiles to the
//! `tlog_tiles` crate's `TileHashReader`, which authenticates each tile up
//! to the checkpoint's root. Plus the log fill both tests use.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use ledger::{Ledger, LedgerOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tlog_tiles::tile::{Tile, TileHashReader, TileReader};
use tlog_tiles::tlog::{self, HashReader};
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::NoteVerifier;

use super::{Server, TENANT};

/// C2SP tlog-tiles: tiles of height 8, 256 hashes of 32 bytes.
pub const HEIGHT: u8 = 8;
pub const WIDTH: u64 = 256;
pub const HASH: usize = 32;
/// Events per append (the API's batch limit).
pub const BATCH: u64 = 1000;

// ---- the client, from the spec ------------------------------------------

/// `<N>` as 3-digit groups, all but the last prefixed with `x`.
pub fn encode_index(mut n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    s
}

/// `tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for a data tile.
pub fn tile_path(t: &Tile) -> String {
    let level = if t.is_data() { "entries".to_string() } else { t.level().to_string() };
    let partial =
        if u64::from(t.width()) == WIDTH { String::new() } else { format!(".p/{}", t.width()) };
    format!("tile/{level}/{}{partial}", encode_index(t.level_index()))
}

/// RFC 6962 leaf hash.
pub fn leaf_hash(leaf: &[u8]) -> tlog::Hash {
    tlog::Hash(Sha256::new().chain_update([0u8]).chain_update(leaf).finalize().into())
}

/// Fetches tiles over HTTP. What it hands out is unauthenticated; the
/// `TileHashReader` built over it checks every tile against the
/// checkpoint's root before using a hash.
pub struct TileClient {
    pub http: reqwest::blocking::Client,
    pub base: String,
    /// Bodies by path (tiles never change; unverified, like a CDN's cache).
    pub cache: RefCell<HashMap<String, Vec<u8>>>,
    pub requests: Cell<u64>,
}

impl TileClient {
    pub fn new(base: &str) -> TileClient {
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

    pub fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        self.requests.set(self.requests.get() + 1);
        let r = self.http.get(format!("{}/{path}", self.base)).send().unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.bytes().unwrap().to_vec())
    }

    /// A tile or bundle: 200, octet-stream, and cacheable as the spec
    /// says (full: immutable; partial: briefly).
    pub fn fetch(&self, path: &str, full: bool) -> Vec<u8> {
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
    pub fn checkpoint(&self, log: &NoteVerifier) -> (u64, tlog::Hash) {
        let (status, headers, body) = self.get("checkpoint");
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"));
        let cache = headers["cache-control"].to_str().unwrap();
        assert!(cache.contains("max-age=") && !cache.contains("immutable"), "{cache}");
        let cp = SignedCheckpoint::verify(&body, log).expect("checkpoint signed by the log");
        (cp.checkpoint.size, tlog::Hash(cp.checkpoint.root.0))
    }

    /// The width of tile `n` of a level holding `count` hashes.
    pub fn width(count: u64, n: u64) -> u32 {
        (count - n * WIDTH).min(WIDTH) as u32
    }

    /// Entry bundle `n` of the tree of `size`, split into entries.
    pub fn bundle(&self, size: u64, n: u64) -> Vec<Vec<u8>> {
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
pub fn check_all_entries(c: &TileClient, thr: &TileHashReader<'_>, size: u64) -> Vec<tlog::Hash> {
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

pub fn events(s: &Server, from: u64, to: u64) -> Vec<Value> {
    let h = verifier::Hash::digest(b"tiles").to_hex();
    (from..to)
        .map(|i| {
            let doc = format!("tiles-{}", i / 100);
            evidence_ledger::flows::signed_event(&s.services.idp, &format!("t-{i}"), &doc, &h)
        })
        .collect()
}

/// Appends through the library, on the stopped server's data directory.
pub fn fill_library(s: &Server, to: u64) {
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

pub fn sample(size: u64) -> Vec<u64> {
    let mut v = vec![0, 1, WIDTH - 1, WIDTH, size / 2, size - 2, size - 1];
    v.extend((0..size).step_by((size / 25).max(1) as usize).map(|i| (i * 7 + 3) % size));
    v.retain(|i| *i < size);
    v.sort_unstable();
    v.dedup();
    v
}

/// What a tiles-only client checks of two checkpoints A (older) and B of
/// one log, from the tiles alone: B's root from its tiles; A's root from
/// B's tiles and an RFC 9162 consistency proof A -> B (a wrong root
/// refused); every entry bundle against B's level-0 tiles; inclusion of
/// sampled entries in B, and in A from A's own (partial) tiles (a wrong
/// leaf refused).
pub fn verify_from_tiles(
    c: &TileClient,
    (size_a, root_a): (u64, tlog::Hash),
    (size_b, root_b): (u64, tlog::Hash),
) {
    let thr_a = TileHashReader::new(size_a, root_a, c);
    let thr_b = TileHashReader::new(size_b, root_b, c);
    assert_eq!(tlog::tree_hash(size_b, &thr_b).unwrap(), root_b);
    assert_eq!(tlog::tree_hash(size_a, &thr_b).unwrap(), root_a);
    let proof = tlog::prove_tree(size_b, size_a, &thr_b).unwrap();
    tlog::check_tree(&proof, size_b, root_b, size_a, root_a).expect("consistency A -> B");
    let mut wrong = root_a;
    wrong.0[0] ^= 1;
    assert!(tlog::check_tree(&proof, size_b, root_b, size_a, wrong).is_err());
    let leaves = check_all_entries(c, &thr_b, size_b);
    for i in sample(size_b) {
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
}
