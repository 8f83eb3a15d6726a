//! The shared state of a server over an open ledger: its metrics, its
//! anchoring thread, the service's own trust policy, admission control and
//! the tenant records. `serve` and the demo both build it here.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use ledger::Ledger;

use crate::api::admission::{Admission, AdmissionConfig};
use crate::api::AppState;
use crate::metrics::Metrics;

/// Builds the shared state of a server over an open ledger, starting the
/// anchoring thread (idle until a witness or a TSA is configured).
pub fn app_state(ledger: Ledger) -> Result<Arc<AppState>, String> {
    app_state_with(ledger, AdmissionConfig::default(), None)
}

/// [`app_state`] with admission settings and the public base URL (checked
/// by [`crate::report::qr::check_public_url`]).
pub fn app_state_with(
    ledger: Ledger,
    admission: AdmissionConfig,
    public_url: Option<String>,
) -> Result<Arc<AppState>, String> {
    let anchorer = anchor::Anchorer::start(ledger.clone()).map_err(|e| e.to_string())?;
    let trust =
        RwLock::new(Arc::new(crate::api::anchoring::service_policy(&ledger, &anchorer.config())?));
    let tenants = crate::api::tenant_records::Tenants::load(&ledger).map_err(|e| e.message)?;
    let auth_failures = crate::api::authlimit::AuthLimiter::new(
        admission.auth_failure_limit,
        admission.auth_failure_window,
    );
    let admission = Admission::new(admission);
    for r in tenants.list() {
        admission.set_tenant_quota(&r.tenant, r.quota.map(|q| q.quota()));
    }
    Ok(Arc::new(AppState {
        ledger,
        metrics: Metrics::new().map_err(|e| e.to_string())?,
        trust,
        anchorer,
        ready: AtomicBool::new(true),
        auth_failures,
        admission,
        public_url,
        tenants,
    }))
}
