//! Retention of contracts that never completed (issue 25 item 8): a
//! contract with no `completed` entry whose last entry is older than its
//! tenant's retention plus a grace is erased by the retention sweep, as
//! a completed one is after its retention. Found through the ledger's
//! open-contract index (written with a contract's first entry, deleted
//! with its completion), not by reading every contract.

use std::sync::atomic::{AtomicBool, Ordering};

use ledger::Ledger;

use super::{Policies, DAY_MICROS};
use crate::error::ApiError;

/// Days of grace, by default (`serve --retention-open-grace-days`),
/// beyond a tenant's retention before a contract that never completed is
/// erased, counted from its last entry: a contract still being signed
/// (a signer on holiday, a slow approval) is not cut short by a policy
/// written for finished contracts.
pub const RETENTION_OPEN_GRACE_DAYS: u32 = 90;

/// Erases every contract of the open-contract index whose tenant has a
/// policy in force and whose last entry is older than the policy's days
/// plus `grace_days`; drops the index records of documents erased
/// already. Returns how many it erased, and whether it touched anything
/// (then the caller runs the clean-ups). A contract that fails is logged
/// and skipped; `stop` ends the pass early.
pub(super) fn sweep_open(
    ledger: &Ledger,
    policies: &Policies,
    now: i64,
    grace_days: i64,
    stop: &AtomicBool,
) -> Result<(usize, bool), ApiError> {
    let (mut erased, mut touched) = (0, false);
    for (key, ids, last) in ledger.open_contracts()? {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match sweep_one_open(ledger, policies, now, grace_days, &key, ids, last) {
            Ok(true) => {
                erased += 1;
                touched = true;
            }
            Ok(false) => {}
            Err(e) => tracing::error!("retention: skipping one open contract: {}", e.message),
        }
    }
    Ok((erased, touched))
}

/// One contract of the open-contract index; true if it erased it.
fn sweep_one_open(
    ledger: &Ledger,
    policies: &Policies,
    now: i64,
    grace_days: i64,
    key: &[u8],
    ids: Option<(String, String)>,
    last: Option<i64>,
) -> Result<bool, ApiError> {
    let Some((tenant, doc)) = ids else {
        ledger.aux_delete_synced(key)?; // erased already: its key is gone
        return Ok(false);
    };
    let (Some((days, set_by)), Some(last)) = (policies.get(&tenant), last) else {
        return Ok(false);
    };
    let after = days.saturating_add(grace_days);
    if last.saturating_add(after.saturating_mul(DAY_MICROS)) > now {
        return Ok(false);
    }
    let _issuing = crate::api::report::issuing_lock(&tenant);
    let reason = format!(
        "retention policy: erased {days} days (and {grace_days} days of grace) after the last event of a contract that never completed"
    );
    let by = format!("retention:{set_by}");
    let erased = match ledger.erase_document(&tenant, &doc, &reason, &by) {
        Ok(_) => true,
        Err(ledger::LedgerError::AlreadyExists(_) | ledger::LedgerError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    ledger.aux_delete_synced(key)?;
    Ok(erased)
}
