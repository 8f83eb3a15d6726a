//! `POST /v1/audit` (role platform): the store audit of `evidence-ledger audit`,
//! run on a read-only snapshot of the live store; its outcome also goes to
//! the metrics (`evidence_audit_findings`, `evidence_audit_last_unix`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ledger::Role;
use serde_json::json;
use warp::http::StatusCode;

use super::{json, Answer, AppState};
use crate::auth::{require, Caller};
use crate::error::ApiError;

/// One audit at a time: it reads the whole store.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Runs the audit and answers what it checked and found.
pub(crate) async fn post(state: &Arc<AppState>, caller: Caller) -> Answer {
    require(&caller, &[Role::Platform])?;
    if RUNNING.swap(true, Ordering::AcqRel) {
        return Err(ApiError::new(StatusCode::CONFLICT, "audit_running", "an audit is running"));
    }
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        ledger::audit::audit_dir(st.ledger.dir(), &[anchor::store::CHECKPOINT_PREFIX])
    })
    .await;
    RUNNING.store(false, Ordering::Release);
    let r = match result.map_err(|e| ApiError::internal("audit task", e))? {
        Ok(r) => r,
        Err(e) => {
            state.metrics.audit_errors.inc();
            return Err(e.into());
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    state.metrics.audit_findings.set(r.findings_total as i64);
    state.metrics.audit_last_unix.set(now);
    if !r.is_clean() {
        tracing::error!(findings = r.findings_total, first = %r.findings[0], "store audit failed");
    }
    Ok(json(&json!({
        "clean": r.is_clean(),
        "tree_size": r.tree_size,
        "root": r.root.to_base64(),
        "leaves": r.leaves,
        "stored_hashes": r.stored_hashes,
        "checkpoints": r.checkpoints,
        "index_records": r.index_records,
        "findings_total": r.findings_total,
        "findings": r.findings.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
    })))
}
