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
        let bundle = world.bundle(&events);
        let path = dir.join(format!("parties-{n}.json"));
        std::fs::write(&path, bundle.to_json()).expect("write");
        println!("{}: {} bytes", path.display(), std::fs::metadata(&path).expect("meta").len());
    }
}

/// The tests' fast proofs (`Levels`, which `World::bundle` uses) are
/// RFC 9162's PATH and MTH, as the plain recursive `path` computes them.
#[test]
fn fast_proofs_are_the_rfc_proofs() {
    use verifier::hash::{leaf_hash, root_from_leaf_hashes};
    for n in 1..=40usize {
        let hashes: Vec<_> = (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
        let levels = Levels::new(hashes.clone());
        assert_eq!(levels.root(0, n), root_from_leaf_hashes(&hashes), "size {n}");
        for m in 0..n {
            assert_eq!(levels.path(m, 0, n), path(m, &hashes), "leaf {m} of {n}");
        }
    }
}
