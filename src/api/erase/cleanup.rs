//! The clean-up after an erasure (issue 25): for a subject erasure, the
//! subject's sealed records re-sealed without the actor and attestations
//! (`Ledger::redact_subject_records`); what the service kept of an erased
//! document or subject outside the log (stored reports and their
//! idempotency records, access-log paths), deleted or rewritten from the
//! clean-up record the erasure's own commit wrote; then the store purged.
//! Resumed at start, by the retention sweep and after each erasure.

use ledger::Ledger;

use crate::error::ApiError;

/// What [`resume_cleanups`] did, and what it left pending.
#[derive(Debug, Default)]
pub struct CleanupDone {
    /// Sealed records re-sealed without the erased subject's actor and
    /// attestations (subject erasures).
    pub records: usize,
    /// Stored reports deleted.
    pub reports: usize,
    /// Access-log records rewritten.
    pub redacted: usize,
    /// Whether no purge is pending any more.
    pub purged: bool,
    /// The steps not done (`records`, `reports`, `access_log`, `purge`): they stay
    /// pending and are resumed at the next start or retention sweep.
    pub pending: Vec<&'static str>,
}

/// Runs the clean-up of every erasure whose clean-up record is still
/// there (written in the erasure's own commit), then the store's purge
/// (of the keys the erasures deleted and the service's ranges the
/// clean-ups touched). Each step is idempotent; a record is deleted only
/// after its steps and the purge, and the purge marks only after the
/// purge, so a crash or failure anywhere leaves the rest to the next run.
/// Each erasure's clean-up runs under its tenant's report issuing lock (no
/// report of that tenant is rendered meanwhile), taken here unless the
/// caller holds it already (`held`: the tenant whose lock the caller has).
pub fn resume_cleanups(ledger: &Ledger, held: Option<&str>) -> CleanupDone {
    let mut done = CleanupDone::default();
    let pending = match ledger.pending_cleanups() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("erasure clean-up: reading what is pending: {e}");
            done.pending = vec!["records", "reports", "access_log", "purge"];
            return done;
        }
    };
    let (mut cleaned, mut ranges) = (Vec::new(), Vec::new());
    for c in &pending {
        // Another tenant's clean-up, while the caller holds its own
        // tenant's lock: only if that lock is free now, else it is left to
        // the next sweep (waiting could deadlock with that tenant's eraser).
        let _issuing = match held {
            None => Some(crate::api::report::issuing_lock(&c.tenant)),
            Some(t) if t == c.tenant => None,
            Some(_) => match crate::api::report::try_issuing_lock(&c.tenant) {
                Some(g) => Some(g),
                None => continue,
            },
        };
        match clean_up_one(ledger, c, &mut done) {
            Ok(mut r) => {
                cleaned.push(c);
                ranges.append(&mut r);
            }
            Err((step, e)) => {
                tracing::error!("erasure clean-up: {step}: {}", e.message);
                for s in STEPS.into_iter().skip_while(|s| *s != step) {
                    if !done.pending.contains(&s) {
                        done.pending.push(s);
                    }
                }
            }
        }
    }
    // After any clean-up, even if `Ledger::open` purged already: the
    // values the clean-up deleted or rewrote sit in the memtable, the WAL
    // and the table files that open's purge flushed.
    let purge = |p: bool| if p || !cleaned.is_empty() { ledger.purge(&ranges) } else { Ok(()) };
    let purged = ledger.purge_pending().and_then(purge);
    let finished = purged.and_then(|()| cleaned.iter().try_for_each(|c| ledger.finish_cleanup(c)));
    match finished {
        Ok(()) => done.purged = true,
        Err(e) => {
            tracing::error!("erasure clean-up: purge: {e}");
            done.pending.push("purge");
        }
    }
    done
}

/// The steps of one erasure's clean-up before the purge, in order.
const STEPS: [&str; 3] = ["records", "reports", "access_log"];

/// [`resume_cleanups`] with no lock held (at start).
pub fn resume_cleanups_now(ledger: &Ledger) -> CleanupDone {
    resume_cleanups(ledger, None)
}

/// One erasure's clean-up: a subject's records redacted, the stored
/// reports of its documents (and their idempotency records), the
/// access-log paths naming them or the subject. Returns the `aux` key
/// prefixes it deleted or rewrote under, for the purge.
fn clean_up_one(
    ledger: &Ledger,
    c: &ledger::Cleanup,
    done: &mut CleanupDone,
) -> Result<Vec<Vec<u8>>, (&'static str, ApiError)> {
    let redacted = ledger.redact_subject_records(c).map_err(|e| ("records", e.into()))?;
    done.records += redacted.records;
    if redacted.v2_records_kept > 0 {
        tracing::warn!(
            "subject erasure: {} v2 records (one commitment over the whole record) keep the actor sealed",
            redacted.v2_records_kept
        );
    }
    ledger::fault::point("erase-cleanup-records");
    let mut ranges = crate::api::access::prefixes(&c.tenant);
    for doc in &c.documents {
        done.reports += crate::api::report::erase_document_reports(ledger, &c.tenant, doc)
            .map_err(|e| ("reports", e))?;
        ranges.extend(
            crate::api::report::prefixes(ledger, &c.tenant, doc).map_err(|e| ("reports", e))?,
        );
    }
    ledger::fault::point("erase-cleanup-reports");
    let redacted = match &c.actor_id {
        Some(actor) => crate::api::access::redact_subject(ledger, &c.tenant, actor),
        None => c
            .documents
            .iter()
            .map(|d| crate::api::access::redact_document(ledger, &c.tenant, d))
            .sum::<Result<usize, _>>(),
    };
    done.redacted += redacted.map_err(|e| ("access_log", e.into()))?;
    Ok(ranges)
}
