//! Library-level benchmark of the ingest path and the read path, in one run
//! on one machine (issue 2):
//!
//! 1. a log of `BENCH_ENTRIES` (1M) entries is built (fsync off, to save
//!    time; it is not what is measured): process RSS at `BENCH_MEM_AT`
//!    (100k) and at the full size;
//! 2. inclusion and consistency proofs per second at that size, on 1 and 2
//!    threads;
//! 3. durable appends/s: `BENCH_APPENDERS` (64) threads each appending
//!    batches of `BENCH_BATCH` (32) pre-signed events (one Ed25519
//!    attestation each) to a fresh log with fsync on, `BENCH_EVENTS`
//!    (256k) events in all;
//! 4. this machine's ceilings for the same work: the same number of synced
//!    RocksDB `WriteBatch`es holding the same keys and bytes the ledger
//!    wrote, on a raw `rocksdb::DB`; Ed25519 `verify_strict` of the same
//!    signatures in the same batch size on 2 threads;
//! 5. criterion micro-benchmarks of the per-event steps (skip them with
//!    `BENCH_MICRO=0`).
//!
//! Run: `cargo bench --bench ledger`. Scale down with the env vars above.
//! `BENCH_RSS_EVERY=N` prints RSS every N entries while building,
//! `BENCH_PROOFS_AT=a,b` adds proof rates at those sizes, and
//! `BENCH_MEMORY_ONLY=1` / `BENCH_PROOFS_ONLY=1` stop after the memory part
//! / after the proofs at the full size.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{black_box, Criterion};
use ed25519_dalek::{Signature, VerifyingKey};
use evidence_ledger::flows::{signed_event_for, Issuer};
use ledger::{Ledger, LedgerOptions};
use rand::{Rng, SeedableRng};
use rocksdb::{ColumnFamilyDescriptor, DBCompressionType, Options, WriteBatch, WriteOptions, DB};
use verifier::entry::{self, Event};
use verifier::hash::leaf_hash;
use verifier::issuer::{verify_attestations, CertifiedTrust, IssuerKeys};
use verifier::Hash;

/// The service's allocator (src/main.rs), so that RSS here is the service's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const TENANT: &str = "bench";
const ORIGIN: &str = "bench.evidence-ledger.local/log";

struct Config {
    entries: u64,
    mem_at: u64,
    events: usize,
    appenders: usize,
    batch: usize,
    proof_secs: f64,
    micro: bool,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

impl Config {
    fn from_env() -> Config {
        let entries = env_num("BENCH_ENTRIES", 1_000_000).max(2);
        Config {
            entries,
            mem_at: env_num("BENCH_MEM_AT", 100_000).min(entries),
            events: env_num("BENCH_EVENTS", 256_000) as usize,
            appenders: env_num("BENCH_APPENDERS", 64).max(1) as usize,
            batch: env_num("BENCH_BATCH", 32).max(1) as usize,
            proof_secs: env_num("BENCH_PROOF_MS", 3_000) as f64 / 1000.0,
            micro: env_num("BENCH_MICRO", 1) != 0,
        }
    }
}

fn main() {
    let cfg = Config::from_env();
    let issuer = Arc::new(Issuer::random("bench-idp"));
    print_machine();

    let tmp = tempfile::tempdir().expect("temp dir");
    let big = open_ledger(&tmp.path().join("big"), &issuer, unsynced());
    let rss_empty = rss();
    build(&big, &issuer, cfg.mem_at);
    let rss_mem_at = rss();
    // BENCH_RSS_EVERY=N: RSS after every N entries, to see it stay flat.
    let every = env_num("BENCH_RSS_EVERY", 0);
    // BENCH_PROOFS_AT=1000000,5000000: proof rates at these sizes too (each
    // a multiple of BENCH_RSS_EVERY), on the way to the full size.
    let proofs_at: Vec<u64> = std::env::var("BENCH_PROOFS_AT")
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().replace('_', "").parse().ok())
        .collect();
    let mut at = every;
    while every > 0 && at < cfg.entries {
        build(&big, &issuer, at);
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let t = t.map(|d| d.as_secs()).unwrap_or(0);
        let m = big.memory().unwrap_or_default();
        println!(
            "  rss at {at:>9} entries {:>8.1} MiB; block cache {:.1} MiB (pinned {:.1}), \
             memtables {:.1} MiB, table readers {:.1} MiB (unix {t})",
            mib(rss()),
            m.cache as f64 / 1048576.0,
            m.cache_pinned as f64 / 1048576.0,
            m.memtables as f64 / 1048576.0,
            m.table_readers as f64 / 1048576.0,
        );
        if proofs_at.contains(&at) {
            print_proofs(&proofs_per_second(&big, at, cfg.proof_secs));
        }
        at += every;
    }
    build(&big, &issuer, cfg.entries);
    let rss_full = rss();
    println!("\n== memory (VmRSS of this process; RocksDB block cache bounded at 256 MiB)");
    println!("  opened, empty log      {:>8.1} MiB", mib(rss_empty));
    println!("  at {:>9} entries   {:>8.1} MiB", cfg.mem_at, mib(rss_mem_at));
    println!("  at {:>9} entries   {:>8.1} MiB", cfg.entries, mib(rss_full));
    println!("  peak (VmHWM)           {:>8.1} MiB", mib(status_kib("VmHWM:")));

    if env_num("BENCH_AUDIT", 0) != 0 {
        audit_and_backup(&big, &tmp.path().join("big"), &tmp.path().join("backup"));
        return;
    }
    if env_num("BENCH_MEMORY_ONLY", 0) != 0 {
        return;
    }
    let proofs = proofs_per_second(&big, cfg.entries, cfg.proof_secs);
    if env_num("BENCH_PROOFS_ONLY", 0) != 0 {
        print_proofs(&proofs);
        return;
    }
    if cfg.micro {
        micro_proofs(&big, cfg.entries);
    }
    big.close();
    drop(big);

    let tp = throughput(&cfg, &issuer, &tmp.path().join("append"));
    let rocks = rocksdb_ceiling(&tp, &tmp.path().join("raw"));
    let ed = ed25519_ceiling(&tp.signatures, cfg.batch);
    print_summary(&cfg, &tp, rocks, ed, &proofs);
    if cfg.micro {
        micro_ingest(&issuer);
    }
}

/// BENCH_AUDIT=1: how long a full store audit and a backup take at this size.
fn audit_and_backup(big: &Ledger, dir: &Path, to: &Path) {
    let size = big.status().tree_size;
    big.close();
    let t = Instant::now();
    let r = ledger::audit::audit_dir(dir, &[]).expect("audit");
    let secs = t.elapsed().as_secs_f64();
    assert!(r.is_clean(), "{:?}", r.findings);
    println!(
        "\n== audit of {size} entries: {secs:.1} s ({:.0} leaves/s), {} stored hashes, {} index records",
        size as f64 / secs,
        r.stored_hashes,
        r.index_records
    );
    let t = Instant::now();
    let c = ledger::backup::backup(dir, to, &[]).expect("backup");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "== backup of {size} entries: {secs:.1} s ({} records; its audit included), peak RSS {:.1} MiB",
        c.records,
        mib(status_kib("VmHWM:"))
    );
}

// ---------------------------------------------------------------- setup

fn unsynced() -> LedgerOptions {
    LedgerOptions { sync: false, ..LedgerOptions::default() }
}

/// `BENCH_SUITE=sm2-sm3`: the log under test is of that suite (issue 26:
/// SM3 tree, SM2 checkpoints); the default is ed25519-sha256.
fn suite() -> verifier::suite::Suite {
    let name = std::env::var("BENCH_SUITE").unwrap_or_else(|_| "ed25519-sha256".into());
    verifier::suite::Suite::parse(&name).expect("BENCH_SUITE")
}

fn open_ledger(dir: &Path, issuer: &Issuer, opts: LedgerOptions) -> Ledger {
    let keys = ledger::InitKeys { suite: suite(), ..ledger::InitKeys::default() };
    Ledger::init_with_keys(dir, ORIGIN, &ledger::StoreConfig::RocksDb, &keys).expect("init");
    let l = Ledger::open(dir, opts).expect("open");
    l.add_issuer(&issuer.name, issuer.key.verifying_key().as_bytes()).expect("add issuer");
    l
}

/// Signed, parsed events `tag-first .. tag-(first+n)`, signed on 2 threads.
fn make_events(issuer: &Issuer, tag: &str, first: u64, n: usize) -> Vec<Event> {
    let half = n / 2;
    let one = |from: u64, count: usize| -> Vec<Event> {
        (from..from + count as u64)
            .map(|i| {
                let doc = format!("doc-{}", i % 50_000);
                let h = Hash::digest(doc.as_bytes()).to_hex();
                let v = signed_event_for(TENANT, issuer, &format!("{tag}-{i:09}"), &doc, &h);
                Event::from_value(v, false).expect("valid event")
            })
            .collect()
    };
    std::thread::scope(|s| {
        let a = s.spawn(|| one(first, half));
        let mut b = one(first + half as u64, n - half);
        let mut out = a.join().expect("signer thread");
        out.append(&mut b);
        out
    })
}

/// Appends (2 threads, 1,000-event batches) until the log holds `target` entries.
fn build(l: &Ledger, issuer: &Arc<Issuer>, target: u64) {
    const CHUNK: u64 = 1_000;
    let start = l.status().tree_size;
    if start >= target {
        return;
    }
    let t = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(start));
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (l, issuer, next) = (l.clone(), issuer.clone(), next.clone());
            s.spawn(move || loop {
                let from = next.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                if from >= target {
                    break;
                }
                let n = CHUNK.min(target - from) as usize;
                let events = (from..from + n as u64)
                    .map(|i| {
                        let doc = format!("doc-{}", i % 50_000);
                        let h = Hash::digest(doc.as_bytes()).to_hex();
                        let v = signed_event_for(TENANT, &issuer, &format!("b-{i:09}"), &doc, &h);
                        Event::from_value(v, false).expect("valid event")
                    })
                    .collect();
                l.append(TENANT, events).expect("append");
            });
        }
    });
    eprintln!(
        "built log to {} entries in {:.1} s (fsync off; signing included)",
        l.status().tree_size,
        t.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------- proofs

struct ProofRates {
    size: u64,
    inclusion: [f64; 2],
    consistency: [f64; 2],
}

fn proofs_per_second(l: &Ledger, size: u64, secs: f64) -> ProofRates {
    let run = |threads: usize, consistency: bool| -> f64 {
        let count = std::sync::atomic::AtomicU64::new(0);
        let t = Instant::now();
        std::thread::scope(|s| {
            for k in 0..threads {
                let (l, count) = (l.clone(), &count);
                s.spawn(move || {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(k as u64);
                    let mut n = 0u64;
                    let end = Instant::now() + Duration::from_secs_f64(secs);
                    while Instant::now() < end {
                        for _ in 0..64 {
                            let p = if consistency {
                                l.consistency_proof(rng.gen_range(1..size), size)
                            } else {
                                l.inclusion_proof(rng.gen_range(0..size), size)
                            };
                            black_box(p.expect("proof"));
                        }
                        n += 64;
                    }
                    count.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                });
            }
        });
        count.into_inner() as f64 / t.elapsed().as_secs_f64()
    };
    // One untimed pass warms the block cache the way a serving log is warm.
    run(2, false);
    ProofRates {
        size,
        inclusion: [run(1, false), run(2, false)],
        consistency: [run(1, true), run(2, true)],
    }
}

// ---------------------------------------------------------------- appends

struct Throughput {
    /// Cores other processes used meanwhile.
    others: f64,
    events: usize,
    elapsed: Duration,
    /// Sorted distinct tree sizes the receipts named: one per group commit.
    group_ends: Vec<u64>,
    latencies: Vec<Duration>,
    /// The durable log, for the ceiling to copy its writes from.
    ledger: Ledger,
    signatures: Vec<(Vec<u8>, Signature, VerifyingKey)>,
}

fn throughput(cfg: &Config, issuer: &Arc<Issuer>, dir: &Path) -> Throughput {
    eprintln!("signing {} events...", cfg.events);
    let events = make_events(issuer, "t", 0, cfg.events);
    let key = issuer.key.verifying_key();
    let signatures = events
        .iter()
        .map(|e| {
            let sig = Signature::from_bytes(&e.attestations[0].signature);
            (e.attestation_message(0, TENANT), sig, key)
        })
        .collect();
    let mut per_thread: Vec<Vec<Vec<Event>>> = vec![Vec::new(); cfg.appenders];
    let mut it = events.into_iter().peekable();
    let mut k = 0;
    while it.peek().is_some() {
        per_thread[k % cfg.appenders].push(it.by_ref().take(cfg.batch).collect());
        k += 1;
    }
    let l = open_ledger(dir, issuer, LedgerOptions::default());
    let barrier = Arc::new(Barrier::new(cfg.appenders + 1));
    let handles: Vec<_> = per_thread
        .into_iter()
        .map(|batches| {
            let (l, barrier) = (l.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut sizes = Vec::new();
                let mut lat = Vec::with_capacity(batches.len());
                barrier.wait();
                for b in batches {
                    let t = Instant::now();
                    let receipts = l.append(TENANT, b).expect("append");
                    lat.push(t.elapsed());
                    sizes.extend(receipts.iter().map(|r| r.tree_size));
                }
                (sizes, lat)
            })
        })
        .collect();
    barrier.wait();
    let c = cpu();
    let t = Instant::now();
    let mut ends = BTreeSet::new();
    let mut latencies = Vec::new();
    for h in handles {
        let (sizes, lat) = h.join().expect("appender");
        ends.extend(sizes);
        latencies.extend(lat);
    }
    let elapsed = t.elapsed();
    let others = others_cores(c);
    latencies.sort_unstable();
    Throughput {
        others,
        events: cfg.events,
        elapsed,
        group_ends: ends.into_iter().collect(),
        latencies,
        ledger: l,
        signatures,
    }
}

// ---------------------------------------------------------------- ceilings

struct RocksCeiling {
    others: f64,
    batches: usize,
    keys: usize,
    bytes: usize,
    elapsed: Duration,
}

/// The stored-hash index of leaf `n` (sumdb/tlog layout): 2n - popcount(n).
fn stored_hash_index(n: u64) -> u64 {
    2 * n - u64::from(n.count_ones())
}

/// Replays, on a raw `rocksdb::DB`, the group commits the ledger made: one
/// synced `WriteBatch` per group with the same keys and values (leaves read
/// back from the log, stored hashes, the three index records, tree state and
/// checkpoint). Batches are built before the clock starts.
fn rocksdb_ceiling(tp: &Throughput, dir: &Path) -> RocksCeiling {
    let cfs = ["leaves", "hashes", "idem", "records", "docidx", "hashidx", "subjidx", "meta"];
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.increase_parallelism(2);
    opts.set_max_background_jobs(2);
    opts.set_bytes_per_sync(1 << 20);
    let descs = cfs.iter().map(|n| {
        let mut o = Options::default();
        o.set_compression_type(if *n == "hashes" {
            DBCompressionType::None
        } else {
            DBCompressionType::Lz4
        });
        ColumnFamilyDescriptor::new(*n, o)
    });
    let db = DB::open_cf_descriptors(&opts, dir, descs).expect("open raw rocksdb");
    let cf = |n: &str| db.cf_handle(n).expect("cf");
    let note = tp.ledger.status().checkpoint.to_string();
    let (mut keys, mut bytes) = (0usize, 0usize);
    let mut batches = Vec::with_capacity(tp.group_ends.len());
    let mut from = 0u64;
    for &end in &tp.group_ends {
        let mut wb = WriteBatch::default();
        for i in from..end {
            let leaf = tp.ledger.leaf(i).expect("leaf");
            // Evidence v2: the same keys and bytes as the ledger's batch:
            // the leaf, stored hashes, the keyed idempotency record, the
            // sealed record (read back), and the three keyed-hash indexes.
            let record = tp.ledger.sealed_private(i, b'r').expect("record").unwrap_or_default();
            wb.put_cf(cf("leaves"), i.to_be_bytes(), &leaf);
            let first = stored_hash_index(i);
            for h in 0..=u64::from(i.trailing_ones()) {
                let hash = Hash::digest(&(first + h).to_le_bytes()).0;
                wb.put_cf(cf("hashes"), (first + h).to_be_bytes(), hash);
            }
            let id = |tag: &[u8]| Hash::digest(&[tag, &i.to_be_bytes()[..]].concat()).0;
            wb.put_cf(cf("idem"), [&[2u8][..], &id(b"idem")].concat(), [7u8; 40]);
            wb.put_cf(cf("records"), [&i.to_be_bytes()[..], b"r"].concat(), &record);
            let at = |tag: &[u8]| [&id(tag)[..], &i.to_be_bytes()[..]].concat();
            wb.put_cf(cf("docidx"), at(b"doc"), [5u8; 64]);
            wb.put_cf(cf("hashidx"), at(b"hash"), []);
            wb.put_cf(cf("subjidx"), at(b"subject"), []);
        }
        wb.put_cf(cf("meta"), b"tree", [9u8; 48]);
        wb.put_cf(cf("meta"), b"checkpoint", note.as_bytes());
        keys += wb.len();
        bytes += wb.size_in_bytes();
        batches.push(wb);
        from = end;
    }
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    let n = batches.len();
    let c = cpu();
    let t = Instant::now();
    for wb in batches {
        db.write_opt(wb, &wo).expect("write");
    }
    RocksCeiling { others: others_cores(c), batches: n, keys, bytes, elapsed: t.elapsed() }
}

/// `verify_strict` of the same signatures (the ingest rule), on 2 threads.
fn ed25519_ceiling(sigs: &[(Vec<u8>, Signature, VerifyingKey)], batch: usize) -> (f64, f64) {
    // The ingest rule since issue 22: `verify_strict`, one signature at a
    // time (the batch equation lets a small-order `R` through).
    let verify = |part: &[(Vec<u8>, Signature, VerifyingKey)]| {
        for chunk in part.chunks(batch) {
            for (m, s, k) in chunk {
                k.verify_strict(m, s).expect("valid signature");
            }
        }
    };
    let (a, b) = sigs.split_at(sigs.len() / 2);
    let c = cpu();
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| verify(a));
        verify(b);
    });
    (sigs.len() as f64 / t.elapsed().as_secs_f64(), others_cores(c))
}

// ---------------------------------------------------------------- report

fn print_summary(
    cfg: &Config,
    tp: &Throughput,
    rocks: RocksCeiling,
    (ed, ed_others): (f64, f64),
    proofs: &ProofRates,
) {
    let rate = tp.events as f64 / tp.elapsed.as_secs_f64();
    let groups = tp.group_ends.len();
    let rocks_rate = tp.events as f64 / rocks.elapsed.as_secs_f64();
    let pct = |q: f64| {
        let i = ((tp.latencies.len() - 1) as f64 * q) as usize;
        tp.latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "\n== durable appends: {} appenders x batches of {} pre-signed events (1 Ed25519 attestation each), fsync per group",
        cfg.appenders, cfg.batch
    );
    println!(
        "  {} events in {:.2} s: {:.0} events/s; {} group commits, {:.0} events/group; append latency p50 {:.1} ms, p99 {:.1} ms",
        tp.events,
        tp.elapsed.as_secs_f64(),
        rate,
        groups,
        tp.events as f64 / groups as f64,
        pct(0.5),
        pct(0.99)
    );
    println!(
        "  other processes took {:.2} of the 2 cores meanwhile (ceilings: RocksDB {:.2}, Ed25519 {:.2})",
        tp.others, rocks.others, ed_others
    );
    println!(
        "\n== ceilings on this machine, same run\n  RocksDB: {} synced WriteBatches, {} keys, {:.1} MiB ({:.1} keys/event): {:.2} s = {:.0} events/s; ledger at {:.0}% of it",
        rocks.batches,
        rocks.keys,
        mib(rocks.bytes as u64 / 1024),
        rocks.keys as f64 / tp.events as f64,
        rocks.elapsed.as_secs_f64(),
        rocks_rate,
        100.0 * rate / rocks_rate
    );
    println!(
        "  Ed25519 verify_strict, chunks of {}, 2 threads: {:.0} signatures/s; ledger at {:.0}% of it",
        cfg.batch,
        ed,
        100.0 * rate / ed
    );
    let both = 1.0 / (1.0 / ed + 1.0 / rocks_rate);
    println!(
        "  both on the same 2 cores, one after the other (1/(1/verify + 1/write)): {both:.0} events/s; ledger at {:.0}% of it",
        100.0 * rate / both
    );
    println!("  target 40000 events/s: {}", if rate >= 40_000.0 { "met" } else { "MISSED" });
    print_proofs(proofs);
}

fn print_proofs(proofs: &ProofRates) {
    println!("\n== proofs served at {} entries (warm block cache)", proofs.size);
    println!(
        "  inclusion:   {:>8.0}/s on 1 thread, {:>8.0}/s on 2 threads",
        proofs.inclusion[0], proofs.inclusion[1]
    );
    println!(
        "  consistency: {:>8.0}/s on 1 thread, {:>8.0}/s on 2 threads",
        proofs.consistency[0], proofs.consistency[1]
    );
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores, {cpu}; RocksDB 11.8.1 (librocksdb-sys 0.19.0)");
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (clock ticks) used by the whole machine and by this process.
#[derive(Clone, Copy)]
struct Cpu {
    machine: u64,
    me: u64,
    at: Instant,
}

fn cpu() -> Cpu {
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let f: Vec<u64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal: busy = all but idle, iowait
            Some(f.iter().take(8).sum::<u64>() - f.get(3)? - f.get(4)?)
        })
        .unwrap_or(0);
    let me = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit(')').next()?.split_whitespace().collect::<Vec<_>>();
            Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Cpu { machine, me, at: Instant::now() }
}

/// Cores' worth of CPU that other processes (and steal) took since `since`:
/// this machine is shared, and every number here should be read with it.
fn others_cores(since: Cpu) -> f64 {
    let now = cpu();
    let ticks = (now.machine - since.machine).saturating_sub(now.me - since.me);
    ticks as f64 / 100.0 / now.at.duration_since(since.at).as_secs_f64()
}

fn rss() -> u64 {
    status_kib("VmRSS:")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------- micro

fn criterion() -> Criterion {
    Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

fn micro_proofs(l: &Ledger, size: u64) {
    let mut c = criterion();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    c.bench_function("inclusion proof at full size", |b| {
        b.iter(|| l.inclusion_proof(rng.gen_range(0..size), size))
    });
    c.bench_function("consistency proof at full size", |b| {
        b.iter(|| l.consistency_proof(rng.gen_range(1..size), size))
    });
}

fn micro_ingest(issuer: &Issuer) {
    let mut c = criterion();
    let events = make_events(issuer, "m", 0, 32);
    let mut keys = IssuerKeys::new();
    let key =
        verifier::anykey::AnyVerifier::ed25519_issuer(&issuer.name, issuer.key.verifying_key());
    keys.insert(issuer.name.clone(), key);
    let raw = serde_json::to_vec(&events[0].raw).expect("json");
    c.bench_function("parse + validate one event", |b| {
        b.iter(|| {
            let v = verifier::jcs::parse(&raw, &verifier::jcs::Limits::default()).expect("json");
            Event::from_value(v, false).expect("event")
        })
    });
    c.bench_function("verify_attestations, batch of 32", |b| {
        b.iter(|| {
            verify_attestations(TENANT, &events, &keys, &CertifiedTrust::NONE).expect("valid")
        })
    });
    let time = entry::format_ledger_time(1_767_225_600_000_000);
    // As the ingest path does it: the canonical event and its content hash
    // on the appender's thread, the leaf spliced from it on the sequencer.
    c.bench_function("canonical event + content hash", |b| {
        b.iter(|| Hash::digest(&verifier::jcs::to_canonical(&events[0].raw)))
    });
    let canonical = verifier::jcs::to_canonical(&events[0].raw);
    c.bench_function("leaf splice + leaf hash (v1)", |b| {
        b.iter(|| leaf_hash(&entry::leaf_bytes_from_canonical(&canonical, TENANT, &time)))
    });
    // Evidence v2, what sealing adds per event on the appender's thread
    // (Ledger::seal): a 32-byte salt from the OS, the record spliced around
    // the canonical event and its commitment, AES-256-GCM under the
    // document key, and four keyed hashes (document, document hash,
    // subject, event id); on the sequencer the v2 leaf and its hash.
    let vault = bench_vault();
    let key = [7u8; 32];
    let ev = &events[0];
    c.bench_function("v2 seal: salt + record + commitment + AES-256-GCM + 4 HMAC", |b| {
        b.iter(|| {
            let mut salt = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
            let record = verifier::v2::record_canonical(&canonical, TENANT, &salt, None);
            let commitment = verifier::v2::record_commitment_of_canonical(&record);
            let doc = vault.document_id(TENANT, &ev.document_id);
            let aad = ledger::vault::private_aad(b'r', &commitment);
            let sealed =
                ledger::vault::seal_private(vault.aead(), &key, &doc, &aad, &record).expect("seal");
            let ids = (
                vault.document_hash_id(&ev.document_hash.0),
                vault.subject_id(TENANT, &ev.actor.id),
                vault.event_id(TENANT, &ev.event_id),
            );
            black_box((sealed, ids))
        })
    });
    c.bench_function("v2 leaf splice + leaf hash", |b| {
        let commitment = Hash::digest(b"record");
        b.iter(|| leaf_hash(&verifier::v2::leaf_v2_bytes(&commitment, &time)))
    });
    // Record v3 (the default since issue 22), on the appender's thread: the
    // ten field digests (an HMAC-SHA-256 salt and a SHA-256 each) and the
    // record without its chain, AES-256-GCM; on the sequencer: the chain's
    // digest, the commitment over the eleven digests, the leaf and its hash.
    c.bench_function("v3 seal: salt + 10 field digests + record + AES-256-GCM", |b| {
        b.iter(|| {
            let mut salt = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
            let sealing = verifier::v3::Sealing::new(&ev.raw, TENANT, &salt, None);
            let record = verifier::v3::record_without_chain_canonical(
                &verifier::jcs::to_canonical(&ev.raw),
                TENANT,
                &salt,
                None,
            );
            let doc = vault.document_id(TENANT, &ev.document_id);
            let sealed = ledger::vault::seal_private(vault.aead(), &key, &doc, b"aad", &record)
                .expect("seal");
            black_box((sealing, sealed))
        })
    });
    let sealing = verifier::v3::Sealing::new(&ev.raw, TENANT, &[7; 32], None);
    let chain = verifier::v3::Chain { prev: Some(Hash::digest(b"prev")), seq: 3 };
    c.bench_function("v3 sequencer: chain digest + commitment + leaf + leaf hash", |b| {
        b.iter(|| {
            let commitment = sealing.commitment(&chain);
            let alg = verifier::v2::CommitmentAlg::SdV3;
            leaf_hash(&verifier::v2::leaf_bytes(&commitment, alg, &time))
        })
    });
    c.final_summary();
}

/// A vault over an in-memory key store, for the sealing micro-benchmark.
fn bench_vault() -> ledger::vault::Vault {
    use std::collections::HashMap;
    use std::sync::Mutex;
    #[derive(Default)]
    struct Keys(Mutex<HashMap<[u8; 32], Vec<u8>>>);
    impl ledger::vault::KeyStore for Keys {
        fn wrapped_key(&self, id: &[u8; 32]) -> ledger::error::Result<Option<Vec<u8>>> {
            Ok(self.0.lock().expect("lock").get(id).cloned())
        }
        fn put_wrapped_key(&self, id: &[u8; 32], w: &[u8]) -> ledger::error::Result<()> {
            self.0.lock().expect("lock").insert(*id, w.to_vec());
            Ok(())
        }
        fn vault_suite(&self) -> ledger::error::Result<Option<Vec<u8>>> {
            Ok(None)
        }
        fn put_vault_suite(&self, _: &[u8]) -> ledger::error::Result<()> {
            Ok(())
        }
    }
    let dir = std::env::temp_dir().join(format!("bench-vault-{}", std::process::id()));
    let master =
        ledger::vault::FileMasterKey::open_or_create(&dir.join("master.key")).expect("master key");
    ledger::vault::Vault::open(
        Box::new(master),
        &Keys::default(),
        Default::default(),
        Default::default(),
    )
    .expect("vault")
}
