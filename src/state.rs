//! The shared state of a server over an open ledger: its metrics, its
//! anchoring thread when witnesses are configured, the service's own trust
//! policy and admission control. `serve` and the demo both build it here.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anchor::AnchorConfig;
use ledger::Ledger;
use verifier::policy::TrustPolicy;

use crate::api::admission::{Admission, AdmissionConfig};
use crate::api::AppState;
use crate::metrics::Metrics;

/// Builds the shared state of a server over an open ledger, starting the
/// anchoring thread when witnesses are configured.
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
    let config = AnchorConfig::load(&ledger).map_err(|e| e.to_string())?;
    let witnesses = config.partners.iter().map(|p| (p.name.clone(), p.vkey.clone())).collect();
    let trust = service_policy(&ledger, &config)?;
    let anchor = if !config.is_active() {
        None
    } else {
        Some(anchor::Anchorer::start(ledger.clone()).map_err(|e| e.to_string())?)
    };
    Ok(Arc::new(AppState {
        ledger,
        metrics: Metrics::new().map_err(|e| e.to_string())?,
        witnesses,
        trust,
        anchor,
        ready: AtomicBool::new(true),
        auth_failures: crate::api::authlimit::AuthLimiter::new(
            admission.auth_failure_limit,
            admission.auth_failure_window,
        ),
        admission: Admission::new(admission),
        public_url,
    }))
}

/// The service's own trust anchors, as a policy: its log key, its
/// witnesses with the anchoring quorum, its TSA roots. `POST /v1/verify`
/// and reports check against it (docs/trust-policy.md §4).
fn service_policy(ledger: &Ledger, config: &AnchorConfig) -> Result<TrustPolicy, String> {
    let mut policy = TrustPolicy { suite: ledger.suite(), ..TrustPolicy::default() };
    policy.add_log(ledger.vkey())?;
    for p in &config.partners {
        // One key under two names is one witness (the policy counts keys).
        if let Err(e) = policy.add_witness(&p.vkey) {
            tracing::warn!("witness {} left out of the service's trust policy: {e}", p.name);
        }
    }
    let distinct = policy.distinct_witness_keys().len();
    policy.quorum =
        Some(if config.partners.is_empty() { 0 } else { config.threshold().min(distinct) });
    for t in ledger.tsa_records().map_err(|e| e.to_string())? {
        policy.add_tsa(&t.name, &t.root_pem)?;
    }
    Ok(policy)
}
