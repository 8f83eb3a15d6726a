//! Verifier cost against bundle size (docs/performance.md, "Verifier cost"):
//! bundles of N entries, each event by a different party, written to files
//! for the CLI and the page to be timed on. Not a test of behaviour; run
//! on demand:
//!
//! ```text
//! EL_SCALE_DIR=/tmp/scale EL_SCALE_SIZES=1,1000,10000,100000 \
//!   cargo test --release -p evidence-verifier --test scale -- --ignored --nocapture
//! ```
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use verifier::bundle::{Bundle, BundleEntry};
use verifier::entry::{format_ledger_time, leaf_bytes, Event};
use verifier::hash::{largest_power_of_two_below, leaf_hash, node_hash};
use verifier::Hash;

/// RFC 9162 subtree roots and inclusion proofs over precomputed levels:
/// O(log² n) a proof (the tests' `path` is O(n), too slow at 10^5).
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn new(leaves: Vec<Hash>) -> Levels {
        let mut levels = vec![leaves];
        while levels.last().expect("level").len() > 1 {
            let up = levels
                .last()
                .expect("level")
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(up);
        }
        Levels(levels)
    }

    /// MTH(D[lo:hi]).
    fn root(&self, lo: usize, hi: usize) -> Hash {
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            return self.0[n.trailing_zeros() as usize][lo / n];
        }
        let k = largest_power_of_two_below(n as u64) as usize;
        node_hash(&self.root(lo, lo + k), &self.root(lo + k, hi))
    }

    /// PATH(m, D[lo:hi]).
    fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n <= 1 {
            return Vec::new();
        }
        let k = largest_power_of_two_below(n as u64) as usize;
        let (mut p, sibling) = if m < lo + k {
            (self.path(m, lo, lo + k), self.root(lo + k, hi))
        } else {
            (self.path(m, lo + k, hi), self.root(lo, lo + k))
        };
        p.push(sibling);
        p
    }
}

/// [`World::bundle`] with fast proofs.
fn bundle(world: &World, events: &[serde_json::Value]) -> Bundle {
    let mut leaves: Vec<Vec<u8>> = Vec::new();
    let mut ours = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        leaves.push(format!("other leaf {i}a").into_bytes());
        leaves.push(format!("other leaf {i}b").into_bytes());
        let event = Event::from_value(ev.clone(), true).expect("valid event");
        ours.push(leaves.len());
        leaves.push(leaf_bytes(&event, TENANT, &format_ledger_time(T0 + i as i64 * 1_000_000)));
    }
    leaves.push(b"a later leaf".to_vec());
    let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let levels = Levels::new(hashes.clone());
    let mut b = world.bundle(&events[..1]);
    b.checkpoint = world.checkpoint(&hashes);
    b.entries = ours
        .iter()
        .map(|&m| {
            let proof = levels.path(m, 0, hashes.len());
            BundleEntry::new(m as u64, b64(&leaves[m]), proof.iter().map(Hash::to_base64).collect())
        })
        .collect();
    b
}

#[test]
#[ignore = "writes large bundles; run on demand (see the file's docs)"]
fn write_bundles_of_many_parties() {
    let dir = std::path::PathBuf::from(std::env::var("EL_SCALE_DIR").expect("EL_SCALE_DIR"));
    std::fs::create_dir_all(&dir).expect("dir");
    let sizes = std::env::var("EL_SCALE_SIZES").unwrap_or_else(|_| "1,1000,10000,100000".into());
    let world = World::new();
    std::fs::write(dir.join("court.policy"), world.policy().to_text()).expect("policy");
    std::fs::write(dir.join("document"), &world.document).expect("document");
    for n in sizes.split(',').map(|s| s.trim().parse::<usize>().expect("size")) {
        let events: Vec<_> = (0..n)
            .map(|i| {
                world.event(
                    &format!("e-{i}"),
                    "approved",
                    &format!("party-{i}"),
                    &[("idp-gov", json!({"method": "phone_3_factor", "result": "pass"}))],
                )
            })
            .collect();
        let bundle = bundle(&world, &events);
        let path = dir.join(format!("parties-{n}.json"));
        std::fs::write(&path, bundle.to_json()).expect("write");
        println!("{}: {} bytes", path.display(), std::fs::metadata(&path).expect("meta").len());
        if n <= 1000 {
            // The fast proofs are the tests' proofs.
            assert_eq!(bundle.to_json(), world.bundle(&events).to_json());
        }
    }
}
