//! Changes to the anchoring configuration — witnesses, the anchoring TSA,
//! the schedule and quorum — made the way registry changes are: checked
//! whole first, then written to the log as a `registry_changed` entry of
//! the platform, then stored. The offline CLI and the service's platform
//! API both change the configuration through here, so both write the same
//! record and the same log entries.
//!
//! Order: the entry, then the record. A crash in between leaves an entry
//! that over-claims (the change never took effect), never a change
//! without its entry. Changes are serialised in the process (one
//! read-modify-write of one record at a time); RocksDB admits one writing
//! process, and on PostgreSQL the writer holds the sequencer lease.
//!
//! A running [`crate::Anchorer`] sees a change once told to
//! ([`crate::Anchorer::reload`]); the service does that after each.

use std::sync::Mutex;

use ledger::{Ledger, TsaRecord, PLATFORM_TENANT};
use serde_json::json;
use verifier::Hash;

use crate::config::{AnchorConfig, PartnerConfig, Policy, TsaPartner};
use crate::error::{AnchorError, Result};

/// One change of the configuration at a time, in this process.
static CHANGES: Mutex<()> = Mutex::new(());

/// Loads the configuration, lets `change` alter it (returning what to
/// log: document id, hash, claim), checks the result, logs the change and
/// stores the configuration. Nothing is logged or stored if `change` or
/// the check fails.
fn change<T>(
    ledger: &Ledger,
    by: &str,
    change: impl FnOnce(&mut AnchorConfig) -> Result<(T, String, Hash, serde_json::Value)>,
) -> Result<(T, AnchorConfig)> {
    let _one = CHANGES.lock().unwrap_or_else(|p| p.into_inner());
    let mut config = AnchorConfig::load(ledger)?;
    let (out, document, hash, claim) = change(&mut config)?;
    config.validate()?;
    ledger.log_registry_change(PLATFORM_TENANT, &document, &hash, claim, by)?;
    config.save(ledger)?;
    Ok((out, config))
}

fn witness_document(name: &str) -> String {
    ledger::service_document("witness", name)
}

/// Adds a witness (a notary office's or court's tlog-witness) by its
/// cosignature vkey and URL; `ca_pem` trusts a private CA for its HTTPS
/// URL. Logged as `witness_added`.
pub fn add_witness(
    ledger: &Ledger,
    vkey: &str,
    url: &str,
    ca_pem: Option<String>,
    by: &str,
) -> Result<PartnerConfig> {
    let (p, _) = change(ledger, by, |c| {
        let p = c.add_partner_with_ca(vkey, url, ca_pem)?.clone();
        let claim =
            json!({"action": "witness_added", "name": p.name, "vkey": p.vkey, "url": p.url});
        Ok((p.clone(), witness_document(&p.name), Hash::digest(p.vkey.as_bytes()), claim))
    })?;
    Ok(p)
}

/// Changes a witness's URL and, when `ca_pem` is given, the CA trusted
/// for it (`Some(None)` drops a private CA). Its key and name stay: a
/// new key is a new witness. Logged as `witness_changed`.
pub fn change_witness(
    ledger: &Ledger,
    name: &str,
    url: Option<&str>,
    ca_pem: Option<Option<String>>,
    by: &str,
) -> Result<PartnerConfig> {
    let (p, _) = change(ledger, by, |c| {
        let p = c
            .partners
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| AnchorError::UnknownPartner(name.into()))?;
        if let Some(u) = url {
            p.url = crate::config::check_url("witness", u)?;
        }
        if let Some(ca) = ca_pem {
            crate::config::check_ca(ca.as_deref())?;
            p.ca_pem = ca;
        }
        let p = p.clone();
        let claim = json!({"action": "witness_changed", "name": p.name, "url": p.url,
                           "private_ca": p.ca_pem.is_some()});
        Ok((p.clone(), witness_document(&p.name), Hash::digest(p.vkey.as_bytes()), claim))
    })?;
    Ok(p)
}

/// Retires a witness: it is asked for no more cosignatures and no longer
/// counts towards the quorum (it leaves `required` too); its past
/// cosignatures stay in the store. Refused when the quorum could then not
/// be met (lower the threshold first). Logged as `witness_retired`.
pub fn retire_witness(ledger: &Ledger, name: &str, by: &str) -> Result<PartnerConfig> {
    let (p, _) = change(ledger, by, |c| {
        let p = c
            .partners
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| AnchorError::UnknownPartner(name.into()))?;
        c.remove_partner(name)?;
        let claim = json!({"action": "witness_retired", "name": p.name, "vkey": p.vkey});
        Ok((p.clone(), witness_document(&p.name), Hash::digest(p.vkey.as_bytes()), claim))
    })?;
    Ok(p)
}

/// Replaces the schedule and quorum. Logged as `anchoring_policy_set`.
pub fn set_policy(ledger: &Ledger, policy: Policy, by: &str) -> Result<AnchorConfig> {
    if policy.interval_secs == 0 {
        return Err(AnchorError::InvalidConfig("interval_secs: at least 1".into()));
    }
    let (_, config) = change(ledger, by, |c| {
        c.policy = policy.clone();
        let claim = json!({"action": "anchoring_policy_set", "interval_secs": policy.interval_secs,
                           "every_entries": policy.every_entries,
                           "required": policy.quorum.required, "threshold": policy.quorum.threshold});
        let hash = Hash::digest(b"evidence-ledger anchoring policy");
        Ok(((), "anchoring:policy".to_string(), hash, claim))
    })?;
    Ok(config)
}

/// Trusts a TSA's root (logged by the ledger as `tsa_added`) and, with
/// `anchor_url`, makes it the TSA that timestamps anchored checkpoints
/// (logged as `anchoring_tsa_set`; it replaces the one before). Adding
/// the same root again changes only the anchoring URL.
pub fn add_tsa(
    ledger: &Ledger,
    name: &str,
    root_pem: &str,
    anchor_url: Option<&str>,
    ca_pem: Option<String>,
    by: &str,
) -> Result<(TsaRecord, Option<TsaPartner>)> {
    if let Some(url) = anchor_url {
        // Checked before the root is trusted, so bad input changes nothing.
        crate::config::check_url("TSA", url)?;
        crate::config::check_ca(ca_pem.as_deref())?;
    }
    let rec = ledger.add_tsa_by(name, root_pem, by)?;
    let Some(url) = anchor_url else { return Ok((rec, None)) };
    let (partner, _) = change(ledger, by, |c| {
        c.set_tsa_with_ca(name, url, ca_pem)?;
        let t = c.tsa.clone().ok_or_else(|| AnchorError::Corrupt("TSA not set".into()))?;
        let claim = json!({"action": "anchoring_tsa_set", "name": t.name, "url": t.url});
        let hash = Hash::digest(rec.root_pem.trim().as_bytes());
        Ok((t, ledger::service_document("tsa", name), hash, claim))
    })?;
    Ok((rec, Some(partner)))
}

/// Retires a TSA: it timestamps no more checkpoints (if it did), and its
/// tokens are refused on new events (logged by the ledger as
/// `tsa_retired`; the anchoring change as `anchoring_tsa_cleared`).
pub fn retire_tsa(ledger: &Ledger, name: &str, by: &str) -> Result<TsaRecord> {
    let anchoring = AnchorConfig::load(ledger)?.tsa.is_some_and(|t| t.name == name);
    if ledger.tsa_records()?.iter().all(|r| r.name != name) {
        return Err(AnchorError::Ledger(ledger::LedgerError::NotFound(format!("TSA {name}"))));
    }
    if anchoring {
        change(ledger, by, |c| {
            c.tsa = None;
            let claim = json!({"action": "anchoring_tsa_cleared", "name": name});
            let hash = Hash::digest(name.as_bytes());
            Ok(((), ledger::service_document("tsa", name), hash, claim))
        })?;
    }
    Ok(ledger.retire_tsa(name, by)?)
}
