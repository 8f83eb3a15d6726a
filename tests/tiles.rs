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

use std::time::Instant;

use common::tiles_client::*;
use common::*;
use serde_json::json;
use verifier::note::NoteVerifier;

// ---- filling the log through the API ----------------------------------

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
    // Consistency A -> B, every entry, and sampled inclusion in A and B,
    // from the tiles alone (common::tiles_client::verify_from_tiles).
    verify_from_tiles(&c, (size_a, root_a), (size_b, root_b));
    let samples = sample(size_b);
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
