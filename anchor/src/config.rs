//! Anchoring configuration: who the partners are, how often to anchor, and
//! which cosignatures make a checkpoint anchored. Stored in the ledger's
//! store, so the operator CLI and the service see the same configuration.

use std::time::Duration;

use ledger::Ledger;
use serde::{Deserialize, Serialize};
use verifier::cosignature::ALG_COSIGNATURE_V1;
use verifier::note::NoteVerifier;

use crate::error::{AnchorError, Result};

const CONFIG_KEY: &[u8] = b"anchor/config";

/// A witness run by a notary office or a court.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerConfig {
    /// The witness's key name (from its vkey).
    pub name: String,
    /// Its cosignature/v1 verifier key.
    pub vkey: String,
    /// Base URL of its tlog-witness endpoint (`<url>/add-checkpoint`).
    pub url: String,
}

/// Which cosignatures make a checkpoint anchored: every `required` partner
/// and at least `threshold` partners in all. "The notary and the court" is
/// `required = [notary, court]`; "2 of 3" is `threshold = 2`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    /// Partners that must all have cosigned.
    pub required: Vec<String>,
    /// Least number of partners that must have cosigned (at least 1).
    pub threshold: usize,
}

/// When to anchor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Anchor at least this often while the log grows (seconds).
    pub interval_secs: u64,
    /// Also anchor as soon as this many entries are unanchored (0: off).
    pub every_entries: u64,
    /// What makes a checkpoint anchored.
    pub quorum: Quorum,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { interval_secs: 10, every_entries: 0, quorum: Quorum::default() }
    }
}

impl Policy {
    /// The interval as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs.max(1))
    }
}

/// A time-stamp authority that timestamps anchored checkpoints (RFC 3161
/// over HTTP). Its root must be among the ledger's trusted TSAs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsaPartner {
    /// Name of the trusted TSA (`evidence-ledger tsa add --name`).
    pub name: String,
    /// URL that takes `application/timestamp-query` POSTs.
    pub url: String,
}

/// Partners and policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorConfig {
    /// The witnesses, by name.
    pub partners: Vec<PartnerConfig>,
    /// The schedule and quorum.
    pub policy: Policy,
    /// The TSA that timestamps checkpoints, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa: Option<TsaPartner>,
}

impl AnchorConfig {
    /// Reads the configuration (default: no partners, every 10 s, quorum of all).
    pub fn load(ledger: &Ledger) -> Result<AnchorConfig> {
        match ledger.aux_get(CONFIG_KEY)? {
            None => Ok(AnchorConfig::default()),
            Some(b) => serde_json::from_slice(&b).map_err(|e| AnchorError::Corrupt(e.to_string())),
        }
    }

    /// Checks and writes the configuration.
    pub fn save(&self, ledger: &Ledger) -> Result<()> {
        self.validate()?;
        let bytes = serde_json::to_vec(self).map_err(|e| AnchorError::Corrupt(e.to_string()))?;
        Ok(ledger.aux_put(CONFIG_KEY, &bytes)?)
    }

    /// Adds a partner from its vkey (the name is the vkey's key name).
    pub fn add_partner(&mut self, vkey: &str, url: &str) -> Result<&PartnerConfig> {
        let v = NoteVerifier::from_vkey(vkey)
            .map_err(|e| AnchorError::InvalidConfig(format!("witness vkey: {e}")))?;
        if v.alg != ALG_COSIGNATURE_V1 {
            return Err(AnchorError::InvalidConfig(
                "witness vkey must be a cosignature/v1 key (type 0x04)".into(),
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AnchorError::InvalidConfig(format!("witness url {url:?}: http(s) only")));
        }
        if self.partners.iter().any(|p| p.name == v.name) {
            return Err(AnchorError::InvalidConfig(format!("witness {} already added", v.name)));
        }
        let url = url.trim_end_matches('/').to_string();
        self.partners.push(PartnerConfig { name: v.name, vkey: vkey.to_string(), url });
        Ok(&self.partners[self.partners.len() - 1])
    }

    /// Sets the TSA that timestamps checkpoints.
    pub fn set_tsa(&mut self, name: &str, url: &str) -> Result<()> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AnchorError::InvalidConfig(format!("TSA url {url:?}: http(s) only")));
        }
        self.tsa = Some(TsaPartner { name: name.to_string(), url: url.to_string() });
        Ok(())
    }

    /// Whether there is anything to anchor with.
    pub fn is_active(&self) -> bool {
        !self.partners.is_empty() || self.tsa.is_some()
    }

    /// Removes a partner (its past cosignatures stay in the store).
    pub fn remove_partner(&mut self, name: &str) -> Result<()> {
        let before = self.partners.len();
        self.partners.retain(|p| p.name != name);
        if self.partners.len() == before {
            return Err(AnchorError::UnknownPartner(name.into()));
        }
        self.policy.quorum.required.retain(|r| r != name);
        Ok(())
    }

    /// The quorum's threshold, with 0 meaning "all partners".
    pub fn threshold(&self) -> usize {
        match self.policy.quorum.threshold {
            0 => self.partners.len(),
            t => t,
        }
    }

    /// Checks the quorum can be met by the configured partners.
    pub fn validate(&self) -> Result<()> {
        let q = &self.policy.quorum;
        for r in &q.required {
            if !self.partners.iter().any(|p| &p.name == r) {
                return Err(AnchorError::InvalidConfig(format!(
                    "required witness {r} is not configured"
                )));
            }
        }
        if !self.partners.is_empty() && self.threshold() > self.partners.len() {
            return Err(AnchorError::InvalidConfig(format!(
                "quorum threshold {} > {} witnesses",
                self.threshold(),
                self.partners.len()
            )));
        }
        if q.threshold > 0 && q.threshold < q.required.len() {
            return Err(AnchorError::InvalidConfig(
                "threshold below the required witnesses".into(),
            ));
        }
        Ok(())
    }

    /// Whether the cosigners named meet the quorum.
    pub fn quorum_met<'a>(&self, cosigners: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        if self.partners.is_empty() {
            return false;
        }
        let count = cosigners
            .clone()
            .into_iter()
            .filter(|c| self.partners.iter().any(|p| p.name == *c))
            .count();
        let required_ok = self
            .policy
            .quorum
            .required
            .iter()
            .all(|r| cosigners.clone().into_iter().any(|c| c == r));
        required_ok && count >= self.threshold()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(names: &[&str]) -> AnchorConfig {
        let partners = names
            .iter()
            .map(|n| PartnerConfig { name: n.to_string(), vkey: String::new(), url: String::new() })
            .collect();
        AnchorConfig { partners, policy: Policy::default(), tsa: None }
    }

    #[test]
    fn quorum_all_by_default() {
        let c = cfg(&["notary", "court"]);
        assert!(!c.quorum_met(["notary"]));
        assert!(c.quorum_met(["notary", "court"]));
        assert!(!cfg(&[]).quorum_met(std::iter::empty()));
    }

    #[test]
    fn quorum_required_and_threshold() {
        let mut c = cfg(&["notary", "court", "notary-2"]);
        c.policy.quorum = Quorum { required: vec!["court".into()], threshold: 2 };
        c.validate().expect("valid");
        assert!(!c.quorum_met(["notary", "notary-2"]));
        assert!(c.quorum_met(["notary", "court"]));
        assert!(!c.quorum_met(["court", "stranger"]));
        c.policy.quorum.threshold = 4;
        assert!(c.validate().is_err());
        c.policy.quorum = Quorum { required: vec!["nobody".into()], threshold: 1 };
        assert!(c.validate().is_err());
    }
}
