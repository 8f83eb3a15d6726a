//! Who may attest, and the one attestation rule applied on ingest and by
//! every offline verifier (docs/evidence-v2.md "Attestations").
//!
//! An attestation's issuer is either
//! - **registered by key**: [`IssuerKeys`] holds its key, of either suite
//!   ([`AnyVerifier`]: an Ed25519 issuer, or an `sm2-sm3` log's own SM2
//!   key under `evidence-ledger`); or
//! - **certified** (issue 26 item 3): an SM2 key given by an X.509
//!   certificate of the GM/T 0015 profile that the attestation carries in
//!   `certificate`, chaining to a CA root the checker trusts (the ledger's
//!   registered issuer CAs on ingest; the policy's `ca` lines offline), at
//!   the event's time. The end certificate's one commonName must be the
//!   issuer name the attestation gives (the name is inside the signed
//!   message, so a chain moved onto another issuer's attestation fails),
//!   and a name registered by key never takes a certificate (no CA can
//!   speak for a registered issuer). The signature is SM2 `r || s` under
//!   the certificate's key with the default distinguishing identifier
//!   `1234567812345678` (GM/T 0009; GM/T 0015 certificates carry no
//!   other).
//!
//! Owns that rule; the chain checks are [`crate::x509sm2`]'s, the message
//! [`crate::entry`]'s.

use std::collections::HashMap;

use crate::anykey::AnyVerifier;
use crate::attest::{Binding, Person};
use crate::entry::Event;
use crate::policy::PolicyCa;
use crate::suite::Suite;
use crate::x509sm2::{verify_sm2_chain, CertifiedSm2Key};
use crate::VerifyError;

/// Issuer keys by name (registered issuers), of either suite.
pub type IssuerKeys = HashMap<String, AnyVerifier>;

/// Chains already verified against the same roots (ingest keeps one, so
/// that a certificate's path costs its SM2 verifications once, not once
/// per attestation). An entry answers only at a time inside its
/// [`CertifiedSm2Key::path_valid`]; the roots must only ever grow while
/// a cache lives (a root added never makes a verified chain wrong).
pub trait ChainCache: Sync {
    /// The verified result of `chain`, if held and valid at `at_unix`.
    fn get(&self, chain: &[Vec<u8>], at_unix: i64) -> Option<CertifiedSm2Key>;
    /// Keeps the verified result of `chain`.
    fn put(&self, chain: &[Vec<u8>], cert: &CertifiedSm2Key);
}

/// What a certified attestation is checked against: the CA roots trusted
/// for issuers, and the event's time (Unix seconds).
#[derive(Clone, Copy)]
pub struct CertifiedTrust<'a> {
    /// CA roots for SM2 issuer certificates.
    pub cas: &'a [PolicyCa],
    /// The time every certificate of the path must be valid at.
    pub at_unix: i64,
    /// Chains verified before, if the caller keeps them.
    pub cache: Option<&'a dyn ChainCache>,
}

impl<'a> CertifiedTrust<'a> {
    /// No CA trusted: a certified attestation fails as unknown.
    pub const NONE: CertifiedTrust<'static> = CertifiedTrust { cas: &[], at_unix: 0, cache: None };

    /// `cas` at `at_unix`, with no cache.
    pub fn new(cas: &'a [PolicyCa], at_unix: i64) -> CertifiedTrust<'a> {
        CertifiedTrust { cas, at_unix, cache: None }
    }

    /// The chain checked up to `cas` at `at_unix`, through the cache.
    fn verify_chain(&self, chain: &[Vec<u8>]) -> Result<CertifiedSm2Key, VerifyError> {
        if let Some(hit) = self.cache.and_then(|c| c.get(chain, self.at_unix)) {
            return Ok(hit);
        }
        let cert = verify_sm2_chain(chain, self.cas, self.at_unix)?;
        if let Some(c) = self.cache {
            c.put(chain, &cert);
        }
        Ok(cert)
    }
}

/// How an attestation held.
#[derive(Clone, Debug)]
pub enum Attested<'k> {
    /// By the registered key of its issuer.
    Key(&'k AnyVerifier),
    /// By the key of a certificate chaining to a trusted CA.
    Certified(Box<CertifiedSm2Key>),
}

/// Checks attestation `j` of `event` (an event of `tenant`): by its
/// issuer's key in `keys`, or, when it carries a certificate, by the
/// certificate's key after the chain checks against `trust`.
///
/// Errors: [`VerifyError::UnknownKey`] for a registered issuer `keys`
/// lacks; [`VerifyError::BadSignature`] for a signature that does not
/// verify; [`VerifyError::Invalid`] on `attestations[j].certificate` for
/// every certificate failure (no trusted root, validity, profile, name).
///
/// # Panics
/// If `j >= event.attestations.len()`.
///
/// A v2.1 attestation fails here ([`VerifyError::Invalid`] on its `v`):
/// it binds the log and the person, which [`check_attestation_in`] takes.
pub fn check_attestation<'k>(
    event: &Event,
    j: usize,
    tenant: &str,
    keys: &'k IssuerKeys,
    trust: &CertifiedTrust<'_>,
) -> Result<Attested<'k>, VerifyError> {
    let binding = Binding { tenant, log: None, person: Person::Withheld };
    check_attestation_in(event, j, &binding, keys, trust)
}

/// [`check_attestation`] for an event logged as `binding` says (tenant,
/// log origin, person): the rule for every version, v2.1 included.
///
/// # Panics
/// If `j >= event.attestations.len()`.
pub fn check_attestation_in<'k>(
    event: &Event,
    j: usize,
    binding: &Binding<'_>,
    keys: &'k IssuerKeys,
    trust: &CertifiedTrust<'_>,
) -> Result<Attested<'k>, VerifyError> {
    let a = &event.attestations[j];
    let issuer = &a.issuer;
    let message = event.attestation_message_for(j, binding)?;
    if a.certificate.is_empty() {
        let key = keys
            .get(issuer)
            .ok_or_else(|| VerifyError::UnknownKey(format!("attestations[{j}] issuer {issuer}")))?;
        key.verify_attestation(&message, &a.signature).map_err(|e| {
            VerifyError::BadSignature(format!("attestations[{j}] by {issuer}: {e}"))
        })?;
        return Ok(Attested::Key(key));
    }
    let field = format!("attestations[{j}].certificate");
    let bad = |reason: String| VerifyError::invalid(field.clone(), reason);
    if keys.contains_key(issuer) {
        return Err(bad(format!(
            "issuer {issuer} is registered by key; its attestations carry no certificate"
        )));
    }
    let cert = trust.verify_chain(&a.certificate).map_err(|e| {
        bad(match e {
            VerifyError::Invalid { reason, .. } => reason,
            VerifyError::UnknownKey(m) => m,
            other => other.to_string(),
        })
    })?;
    if cert.common_name.as_deref() != Some(issuer.as_str()) {
        return Err(bad(format!(
            "certificate \"{}\" is not issuer {issuer}'s: its one commonName must be the issuer name",
            cert.subject
        )));
    }
    if !cert.key.verify(&message, &a.signature) {
        return Err(VerifyError::BadSignature(format!(
            "attestations[{j}] by {issuer}: the SM2 signature does not verify with the key of \
             certificate \"{}\"",
            cert.subject
        )));
    }
    Ok(Attested::Certified(Box::new(cert)))
}

/// [`check_attestation`] for every attestation of every event, in order;
/// the error carries the position of the first bad event.
///
/// One signature at a time, not batched: a batch equation is cofactored,
/// so it accepts an Ed25519 signature whose `R` has a small-order
/// component, which the strict rule (and so every verifier after us)
/// refuses; an event the log took would then read `failed` for ever.
///
/// No log origin is known here, so a v2.1 attestation fails: ingest uses
/// [`verify_attestations_on`].
pub fn verify_attestations(
    tenant: &str,
    events: &[Event],
    keys: &IssuerKeys,
    trust: &CertifiedTrust<'_>,
) -> Result<(), (usize, VerifyError)> {
    for (pos, event) in events.iter().enumerate() {
        for j in 0..event.attestations.len() {
            check_attestation(event, j, tenant, keys, trust).map_err(|e| (pos, e))?;
        }
    }
    Ok(())
}

/// The log whose ingest checks attestations: its origin and suite.
#[derive(Clone, Copy, Debug)]
pub struct LogBinding<'a> {
    /// The log's origin (its checkpoints' first line).
    pub origin: &'a str,
    /// The log's suite: its hash makes the identity digest.
    pub suite: Suite,
}

/// [`verify_attestations`] on ingest into `log`: every version, a v2.1
/// attestation against the log's origin and the digest of the identity
/// each event submits (before the ledger salts and seals it).
pub fn verify_attestations_on(
    log: LogBinding<'_>,
    tenant: &str,
    events: &[Event],
    keys: &IssuerKeys,
    trust: &CertifiedTrust<'_>,
) -> Result<(), (usize, VerifyError)> {
    for (pos, event) in events.iter().enumerate() {
        let binding = Binding { tenant, log: Some(log.origin), person: event.person(log.suite) };
        for j in 0..event.attestations.len() {
            check_attestation_in(event, j, &binding, keys, trust).map_err(|e| (pos, e))?;
        }
    }
    Ok(())
}
