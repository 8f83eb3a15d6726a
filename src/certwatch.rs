//! The certificates the service relies on and when each expires, for the
//! alert that fires a month ahead (`EvidenceCertificateExpiring` in
//! deploy/prometheus/alerts.yml):
//! `evidence_certificate_not_after_seconds{kind, name}`, unix seconds.
//!
//! - `tsa_root`: each trusted TSA's root certificate (`tsa add`), by the
//!   TSA's name: tokens it vouches for stop verifying after it;
//! - `tsa_signer`: the signing certificate in the newest checkpoint
//!   timestamp, by the TSA's name: the TSA must have a new one before it;
//! - `tsa_https_ca`, `witness_https_ca`: the private CA pinned for the
//!   TSA's HTTPS URL and for each witness's (`--ca-cert`), by name: past
//!   it, anchoring fails.
//!
//! For a PEM with several certificates the earliest counts. A certificate
//! that cannot be read is logged and left out (the alert on anchoring lag
//! covers what then fails). Read on every `/metrics` scrape: a few
//! records and certificates, microseconds.

use ledger::Ledger;

use crate::metrics::Metrics;

/// Sets the gauges from what the service relies on now.
pub fn refresh(ledger: &Ledger, metrics: &Metrics) {
    for (kind, name, not_after) in read(ledger) {
        metrics.cert_not_after.with_label_values(&[kind, &name]).set(not_after);
    }
}

/// Every (kind, name, earliest notAfter) the service relies on now.
pub fn read(ledger: &Ledger) -> Vec<(&'static str, String, i64)> {
    let mut out = Vec::new();
    let mut pem = |kind: &'static str, name: &str, pem: &str| {
        match verifier::tsa::pem_certificates_not_after(pem) {
            Ok(certs) => {
                if let Some(min) = certs.iter().map(|c| c.0).min() {
                    out.push((kind, name.to_owned(), min));
                }
            }
            Err(e) => tracing::warn!("certificate watch: {kind} {name}: {e}"),
        }
    };
    match ledger.tsa_records() {
        Ok(tsas) => tsas.iter().for_each(|t| pem("tsa_root", &t.name, &t.root_pem)),
        Err(e) => tracing::warn!("certificate watch: TSA records: {e}"),
    }
    match anchor::AnchorConfig::load(ledger) {
        Ok(config) => {
            for p in &config.partners {
                if let Some(ca) = &p.ca_pem {
                    pem("witness_https_ca", &p.name, ca);
                }
            }
            if let Some(ca) = config.tsa.as_ref().and_then(|t| t.ca_pem.as_ref().map(|c| (t, c))) {
                pem("tsa_https_ca", &ca.0.name, ca.1);
            }
        }
        Err(e) => tracing::warn!("certificate watch: anchoring configuration: {e}"),
    }
    let newest = anchor::store::latest_timestamped_size(ledger)
        .ok()
        .flatten()
        .and_then(|size| anchor::store::checkpoint_timestamp(ledger, size).ok().flatten());
    if let Some(ts) = newest {
        if let Some(not_after) = verifier::tsa::token_signer_not_after(&ts.token) {
            out.push(("tsa_signer", ts.tsa.clone(), not_after));
        }
    }
    out
}
