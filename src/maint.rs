//! Operator maintenance commands: the store audit, backup and restore
//! (docs/durability.md).

use std::path::Path;

use crate::cmd::CliResult;

/// `evidence-ledger audit --data DIR`: prints what was checked and every
/// finding; fails (exit code 1) on any.
pub fn audit(data: &Path) -> CliResult {
    let r = ledger::audit::audit_dir(data, &[anchor::store::CHECKPOINT_PREFIX])
        .map_err(|e| e.to_string())?;
    println!(
        "tree size {}, root {}\nchecked {} leaves, {} stored hashes, {} signed checkpoints, {} index records",
        r.tree_size, r.root, r.leaves, r.stored_hashes, r.checkpoints, r.index_records
    );
    if r.is_clean() {
        println!("audit: clean");
        return Ok(());
    }
    for f in &r.findings {
        println!("{f}");
    }
    if r.findings_total > r.findings.len() as u64 {
        println!("... and {} more", r.findings_total - r.findings.len() as u64);
    }
    let first = r.findings.first().map(|f| f.to_string()).unwrap_or_default();
    Err(format!("audit found {} inconsistencies; the first: {first}", r.findings_total))
}

/// `evidence-ledger backup --data DIR --to DIR2`.
pub fn backup(data: &Path, to: &Path) -> CliResult {
    let r = ledger::backup::backup(data, to, &[anchor::store::CHECKPOINT_PREFIX])
        .map_err(|e| e.to_string())?;
    println!(
        "backed up {} records to {}: tree size {}, root {}; audit clean",
        r.records,
        to.display(),
        r.tree_size,
        r.root
    );
    Ok(())
}

/// `evidence-ledger restore --from DIR2 --data DIR`.
pub fn restore(from: &Path, data: &Path) -> CliResult {
    let r = ledger::backup::restore(from, data, &[anchor::store::CHECKPOINT_PREFIX])
        .map_err(|e| e.to_string())?;
    println!(
        "restored {} records into {}: tree size {}, root {}; audit clean\n\
         if checkpoints newer than this were handed out, `serve` refuses this store \
         until started with --allow-rollback",
        r.records,
        data.display(),
        r.tree_size,
        r.root
    );
    Ok(())
}
