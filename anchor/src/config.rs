//! Anchoring configuration: who the partners are, how often to anchor, and
//! which cosignatures make a checkpoint anchored. Stored in the ledger's
//! store, so the operator CLI and the service see the same configuration.

use std::collections::HashSet;
use std::time::Duration;

use ledger::Ledger;
use serde::{Deserialize, Serialize};
use verifier::anykey::AnyVerifier;

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
    /// PEM CA certificates to trust for its HTTPS URL besides the webpki
    /// roots (a court's or notary office's private CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

/// Which cosignatures make a checkpoint anchored: every `required` partner
/// and at least `threshold` partners in all, counted by distinct keys (one
/// key registered under two names counts once). "The notary and the court" is
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
    /// PEM CA certificates to trust for its HTTPS URL besides the webpki roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
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
        self.add_partner_with_ca(vkey, url, None)
    }

    /// As [`AnchorConfig::add_partner`], trusting the CA certificates in
    /// `ca_pem` for its HTTPS URL. Refuses a key already registered, under
    /// any name: one key must not count twice towards the quorum.
    pub fn add_partner_with_ca(
        &mut self,
        vkey: &str,
        url: &str,
        ca_pem: Option<String>,
    ) -> Result<&PartnerConfig> {
        let v = AnyVerifier::from_vkey(vkey)
            .map_err(|e| AnchorError::InvalidConfig(format!("witness vkey: {e}")))?;
        if !v.is_cosigner() {
            return Err(AnchorError::InvalidConfig(
                "witness vkey must be a cosignature key (cosignature/v1 type 0x04, or SM2 \
                 evidence-ledger/sm2-cosignature/v1)"
                    .into(),
            ));
        }
        let url = check_url("witness", url)?;
        if self.partners.iter().any(|p| p.name == v.name()) {
            return Err(AnchorError::InvalidConfig(format!("witness {} already added", v.name())));
        }
        if let Some(p) = self.partners.iter().find(|p| partner_key(p) == Some(key_material(&v))) {
            return Err(AnchorError::InvalidConfig(format!(
                "this key is already registered as witness {}; one key counts once",
                p.name
            )));
        }
        check_ca(ca_pem.as_deref())?;
        self.partners.push(PartnerConfig {
            name: v.name().to_string(),
            vkey: vkey.to_string(),
            url,
            ca_pem,
        });
        Ok(&self.partners[self.partners.len() - 1])
    }

    /// Sets the TSA that timestamps checkpoints.
    pub fn set_tsa(&mut self, name: &str, url: &str) -> Result<()> {
        self.set_tsa_with_ca(name, url, None)
    }

    /// As [`AnchorConfig::set_tsa`], trusting the CA certificates in
    /// `ca_pem` for its HTTPS URL.
    pub fn set_tsa_with_ca(&mut self, name: &str, url: &str, ca_pem: Option<String>) -> Result<()> {
        let url = check_url("TSA", url)?;
        check_ca(ca_pem.as_deref())?;
        self.tsa = Some(TsaPartner { name: name.to_string(), url, ca_pem });
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

    /// Whether the cosigners named meet the quorum. Names are mapped to
    /// their configured keys and each key counts once; unknown names count
    /// for nothing. The names must be of cosignatures already verified.
    pub fn quorum_met<'a>(&self, cosigners: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        if self.partners.is_empty() {
            return false;
        }
        let signed: Vec<&PartnerConfig> = cosigners
            .into_iter()
            .filter_map(|c| self.partners.iter().find(|p| p.name == c))
            .collect();
        let keys: HashSet<String> = signed.iter().filter_map(|p| partner_key(p)).collect();
        let required_ok =
            self.policy.quorum.required.iter().all(|r| signed.iter().any(|p| &p.name == r));
        required_ok && keys.len() >= self.threshold()
    }

    /// The quorum in words and numbers, as `GET /v1/log` publishes it.
    pub fn quorum_json(&self) -> serde_json::Value {
        serde_json::json!({
            "required": self.policy.quorum.required,
            "threshold": self.threshold(),
            "witnesses": self.partners.len(),
            "counted_by": "distinct witness keys",
        })
    }
}

/// The public key of a partner's vkey (type and key bytes, base64).
fn partner_key(p: &PartnerConfig) -> Option<String> {
    AnyVerifier::from_vkey(&p.vkey).ok().map(|v| key_material(&v))
}

/// The type and key bytes of a vkey (base64), without name and key ID.
fn key_material(v: &AnyVerifier) -> String {
    v.to_vkey().rsplit('+').next().unwrap_or_default().to_string()
}

/// An http(s) URL with a host and nothing a request line could not carry;
/// a witness's without its trailing `/` (the client appends the path).
pub(crate) fn check_url(what: &str, url: &str) -> Result<String> {
    let bad = |why: &str| AnchorError::InvalidConfig(format!("{what} url {url:?}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("http(s) only"))?;
    if rest.is_empty() || rest.starts_with('/') || url.len() > 2048 {
        return Err(bad("no host, or longer than 2048 bytes"));
    }
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad("spaces or control characters"));
    }
    Ok(if what == "witness" { url.trim_end_matches('/').to_string() } else { url.to_string() })
}

pub(crate) fn check_ca(ca_pem: Option<&str>) -> Result<()> {
    match ca_pem {
        None => Ok(()),
        Some(pem) => notary_bridge::tls::ca_certificates(pem)
            .map(|_| ())
            .map_err(|e| AnchorError::InvalidConfig(e.to_string())),
    }
}

/// Which cosignatures on a checkpoint count, and whether they meet the
/// configured policy ([`check_policy`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyCheck {
    /// True when every required witness and at least `threshold` distinct
    /// witness keys cosigned.
    pub satisfied: bool,
    /// The configured witnesses whose cosignature verified, with its time.
    pub cosigners: Vec<(String, u64)>,
    /// How many distinct keys those are.
    pub distinct_keys: usize,
    /// The threshold in force (distinct keys).
    pub threshold: usize,
    /// Required witnesses without a valid cosignature.
    pub missing_required: Vec<String>,
}

/// Checks a signed checkpoint note's cosignatures against the configured
/// witnesses and quorum: each cosignature is verified (c2sp.org/
/// tlog-cosignature) with the configured vkey of the name it carries;
/// lines by unknown keys are ignored; keys are counted once. The log's
/// own signature is not checked here.
pub fn check_policy(config: &AnchorConfig, note: &verifier::note::Note) -> PolicyCheck {
    let mut cosigners = Vec::new();
    for p in &config.partners {
        let Ok(v) = AnyVerifier::from_vkey(&p.vkey) else { continue };
        let time = note
            .signatures
            .iter()
            .filter(|s| v.matches(s))
            .find_map(|s| v.verify_cosignature(&note.text, s).ok());
        if let Some(t) = time {
            cosigners.push((p.name.clone(), t));
        }
    }
    let names = cosigners.iter().map(|(n, _)| n.as_str());
    let signed: Vec<&PartnerConfig> =
        names.clone().filter_map(|n| config.partners.iter().find(|p| p.name == n)).collect();
    let distinct_keys = signed.iter().filter_map(|p| partner_key(p)).collect::<HashSet<_>>().len();
    let missing_required = (config.policy.quorum.required.iter())
        .filter(|r| !cosigners.iter().any(|(n, _)| n == *r))
        .cloned()
        .collect();
    PolicyCheck {
        satisfied: config.quorum_met(names),
        cosigners,
        distinct_keys,
        threshold: config.threshold(),
        missing_required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(names: &[&str]) -> AnchorConfig {
        let partners = names
            .iter()
            .enumerate()
            .map(|(i, n)| PartnerConfig {
                name: n.to_string(),
                vkey: vkey(n, i as u8 + 1),
                url: String::new(),
                ca_pem: None,
            })
            .collect();
        AnchorConfig { partners, policy: Policy::default(), tsa: None }
    }

    fn vkey(name: &str, seed: u8) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        verifier::cosignature::CosignatureSigner::new(name, key).expect("signer").vkey()
    }

    #[test]
    fn quorum_counts_keys_not_names() {
        // One key under two names must not meet "2 of 3" alone.
        let mut c = cfg(&["notary", "court", "notary-2"]);
        c.partners[2].vkey = vkey("notary-2", 1);
        c.policy.quorum = Quorum { required: vec![], threshold: 2 };
        assert!(!c.quorum_met(["notary", "notary-2"]));
        assert!(c.quorum_met(["notary", "court"]));
        // And it cannot be registered twice through add_partner either.
        let mut fresh = AnchorConfig::default();
        fresh.add_partner(&vkey("notary", 1), "http://a.example").expect("first");
        let err = fresh.add_partner(&vkey("other-name", 1), "http://b.example").expect_err("dup");
        assert!(err.to_string().contains("already registered as witness notary"), "{err}");
    }

    #[test]
    fn check_policy_verifies_each_cosignature() {
        use verifier::cosignature::CosignatureSigner;
        use verifier::note::Note;
        let mut c = cfg(&["notary", "court"]);
        c.policy.quorum = Quorum { required: vec!["court".into()], threshold: 2 };
        let text =
            "ledger.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_string();
        let sign = |name: &str, seed: u8| {
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            CosignatureSigner::new(name, key).expect("signer").cosign(&text, 1_700_000_000)
        };
        let mut note = Note { text: text.clone(), signatures: vec![sign("notary", 1)] };
        let got = check_policy(&c, &note);
        assert!(!got.satisfied);
        assert_eq!(got.missing_required, ["court"]);
        // A line under the court's name but by another key counts for nothing.
        note.signatures.push(sign("court", 9));
        assert!(!check_policy(&c, &note).satisfied);
        note.signatures.push(sign("court", 2));
        let got = check_policy(&c, &note);
        assert!(got.satisfied, "{got:?}");
        assert_eq!((got.distinct_keys, got.threshold), (2, 2));
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
