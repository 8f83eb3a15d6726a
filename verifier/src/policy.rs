//! Trust policies: the keys the person verifying chose (docs/trust-policy.md).
//!
//! A policy names the log keys, the witness keys with a quorum of distinct
//! keys, the trusted RFC 3161 roots, the CA roots that PDF signers'
//! certificates must chain to, and optionally pinned issuer keys. It is
//! the only source of trust anchors for a verdict: keys that arrive inside a
//! bundle are claims, never anchors. This module owns the text format (a
//! small line-oriented file modelled on Sigsum's trust policies) and the
//! rules on its contents (quorum counted by key, not by name).

use std::fmt::Write as _;

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha256};

use crate::anykey::AnyVerifier;
use crate::note::{NoteVerifier, ALG_COSIGNATURE_V1, ALG_ED25519};
use crate::sm2note::Sm2KeyType;
use crate::suite::Suite;
use crate::tsa::TrustedTsa;
use crate::VerifyError;

/// Largest policy file accepted.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// Most log keys in a policy.
pub const MAX_LOG_KEYS: usize = 16;
/// Most witness keys in a policy.
pub const MAX_WITNESS_KEYS: usize = 100;
/// Most pinned issuers in a policy.
pub const MAX_PINNED_ISSUERS: usize = 10_000;
/// Most TSA roots in a policy (and in a bundle).
pub const MAX_TSA_ROOTS: usize = 16;
/// Most CA roots (for PDF signer certificates) in a policy.
pub const MAX_CA_ROOTS: usize = 64;
/// Largest PEM root certificate (in a policy and in a bundle).
pub const MAX_ROOT_PEM_BYTES: usize = 16 * 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// A trusted RFC 3161 root, as the policy names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyTsa {
    /// The policy's name for the TSA.
    pub name: String,
    /// The root certificate, PEM as written.
    pub pem: String,
    /// The root decoded for chain checks.
    pub root: TrustedTsa,
}

impl PolicyTsa {
    /// Lowercase hex SHA-256 of the DER certificate, to compare out of band.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(&self.root.root_der))
    }
}

/// A trusted CA root for the signer certificates of PDF signatures
/// (docs/pdf-signatures.md), as the policy names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyCa {
    /// The policy's name for the CA.
    pub name: String,
    /// The root certificate, PEM as re-encoded from its DER.
    pub pem: String,
    /// The root certificate, DER.
    pub root_der: Vec<u8>,
}

impl PolicyCa {
    /// Lowercase hex SHA-256 of the DER certificate, to compare out of band.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(&self.root_der))
    }
}

/// What the person verifying trusts. The default trusts nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    /// The suite the trusted log uses (`suite` line; absent: ed25519-sha256).
    /// A bundle of another suite is refused.
    pub suite: Suite,
    /// Log keys (Ed25519 type 0x01, or SM2 note keys for `sm2-sm3`); any of
    /// them may have signed the checkpoint.
    pub logs: Vec<AnyVerifier>,
    /// Witness keys (type 0x04, or SM2 cosignature keys), as listed (a key
    /// may appear under two names).
    pub witnesses: Vec<AnyVerifier>,
    /// Distinct witness keys that must have cosigned; `None` means all.
    pub quorum: Option<usize>,
    /// Pinned issuer keys by name.
    pub issuers: Vec<(String, VerifyingKey)>,
    /// Trusted TSA roots.
    pub tsas: Vec<PolicyTsa>,
    /// Trusted CA roots for PDF signer certificates (`ca` lines).
    pub cas: Vec<PolicyCa>,
}

impl TrustPolicy {
    /// Parses a policy file (docs/trust-policy.md §1); errors name the line.
    pub fn parse(text: &str) -> Result<TrustPolicy, VerifyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(VerifyError::TooLarge {
                what: "policy",
                size: text.len(),
                limit: MAX_POLICY_BYTES,
            });
        }
        let mut policy = TrustPolicy::default();
        let mut seen_suite = false;
        // A byte order mark, as some editors write, is not part of line 1.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        while let Some((n, raw)) = lines.next() {
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let at = |e: String| VerifyError::invalid(format!("policy line {n}"), e);
            let (word, args) = line.split_once(' ').unwrap_or((line, ""));
            let args: Vec<&str> = args.split_whitespace().collect();
            match (word, args.as_slice()) {
                ("suite", [name]) if !seen_suite => {
                    seen_suite = true;
                    policy.suite = Suite::parse(name).map_err(|e| at(e.to_string()))?;
                }
                ("log", [vkey]) => policy.add_log(vkey).map_err(at)?,
                ("witness", [vkey]) => policy.add_witness(vkey).map_err(at)?,
                ("quorum", [k]) if policy.quorum.is_none() => {
                    let digits =
                        !k.is_empty() && k.len() <= 6 && k.bytes().all(|b| b.is_ascii_digit());
                    let n = k.parse().ok().filter(|_| digits);
                    policy.quorum =
                        Some(n.ok_or_else(|| at(format!("quorum {k:?} is not a number")))?);
                }
                ("issuer", [name, key]) => policy.add_issuer(name, key).map_err(at)?,
                ("tsa", [name]) => {
                    let pem = pem_block(&mut lines, word).map_err(at)?;
                    policy.add_tsa(name, &pem).map_err(at)?;
                }
                ("ca", [name]) => {
                    let pem = pem_block(&mut lines, word).map_err(at)?;
                    policy.add_ca(name, &pem).map_err(at)?;
                }
                ("log" | "witness" | "quorum" | "issuer" | "tsa" | "ca" | "suite", _) => {
                    return Err(at(format!("wrong arguments or repeated line for {word:?}")));
                }
                _ => return Err(at(format!("unknown keyword {word:?}"))),
            }
        }
        policy.check_quorum()?;
        policy.check_suite()?;
        Ok(policy)
    }

    /// Every log and witness key belongs to the policy's suite.
    pub fn check_suite(&self) -> Result<(), VerifyError> {
        let other = self.logs.iter().chain(&self.witnesses).find(|k| k.suite() != self.suite);
        match other {
            Some(k) => Err(VerifyError::invalid(
                "policy suite",
                format!(
                    "the key {} is an {} key, but the policy's suite is {} (a `suite {}` line \
                     names another)",
                    k.to_vkey(),
                    k.suite(),
                    self.suite,
                    k.suite()
                ),
            )),
            None => Ok(()),
        }
    }

    /// The suite of trust given as options rather than (or beside) a
    /// policy file: `named` when the options name one (a policy file that
    /// names another suite is a contradiction); else, with no policy file,
    /// the suite of the log keys given (of the witness keys when no log key
    /// is), so an SM2 `--log-key` means `sm2-sm3`. Every key must then be
    /// of that suite ([`TrustPolicy::check_suite`]).
    pub fn settle_suite(&mut self, named: Option<Suite>, has_file: bool) -> Result<(), String> {
        match named {
            Some(s) if has_file && self.suite != Suite::default() && self.suite != s => {
                return Err(format!(
                    "the policy file names suite {}, the options name suite {s}",
                    self.suite
                ))
            }
            Some(s) => self.suite = s,
            None if !has_file => {
                if let Some(k) = self.logs.first().or(self.witnesses.first()) {
                    self.suite = k.suite();
                }
            }
            None => {}
        }
        self.check_suite().map_err(|e| e.to_string())
    }

    /// Adds a log key (a C2SP vkey of type 0x01, or an SM2 note key).
    pub fn add_log(&mut self, vkey: &str) -> Result<(), String> {
        let key = parse_any_vkey(vkey, false)?;
        if self.logs.contains(&key) {
            return Err(format!("log key {vkey} is listed twice"));
        }
        if self.logs.len() == MAX_LOG_KEYS {
            return Err(format!("more than {MAX_LOG_KEYS} log keys"));
        }
        self.logs.push(key);
        Ok(())
    }

    /// Adds a witness key (a C2SP vkey of type 0x04, or an SM2 cosignature key).
    pub fn add_witness(&mut self, vkey: &str) -> Result<(), String> {
        let key = parse_any_vkey(vkey, true)?;
        if self.witnesses.contains(&key) {
            return Err(format!("witness key {vkey} is listed twice"));
        }
        if self.witnesses.len() == MAX_WITNESS_KEYS {
            return Err(format!("more than {MAX_WITNESS_KEYS} witness keys"));
        }
        self.witnesses.push(key);
        Ok(())
    }

    /// Pins an issuer's Ed25519 key (standard base64 of 32 bytes).
    pub fn add_issuer(&mut self, name: &str, key_b64: &str) -> Result<(), String> {
        check_name("issuer", name)?;
        if self.issuers.iter().any(|(n, _)| n == name) {
            return Err(format!("issuer {name:?} is listed twice"));
        }
        if self.issuers.len() == MAX_PINNED_ISSUERS {
            return Err(format!("more than {MAX_PINNED_ISSUERS} issuers"));
        }
        let key = B64
            .decode(key_b64)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .filter(|k| !k.is_weak())
            .ok_or_else(|| format!("the key of issuer {name:?} is not a base64 Ed25519 key"))?;
        self.issuers.push((name.to_owned(), key));
        Ok(())
    }

    /// Adds a trusted TSA root (one PEM certificate).
    pub fn add_tsa(&mut self, name: &str, pem: &str) -> Result<(), String> {
        check_name("TSA", name)?;
        if self.tsas.iter().any(|t| t.name == name) {
            return Err(format!("TSA {name:?} is listed twice"));
        }
        if self.tsas.len() == MAX_TSA_ROOTS {
            return Err(format!("more than {MAX_TSA_ROOTS} TSA roots"));
        }
        if pem.len() > MAX_ROOT_PEM_BYTES {
            return Err(format!("the root of TSA {name:?} is over {MAX_ROOT_PEM_BYTES} bytes"));
        }
        let root = TrustedTsa::from_pem(name, pem)
            .map_err(|e| format!("the root of TSA {name:?} is not a certificate: {e}"))?;
        let pem = der_to_pem(&root.root_der);
        self.tsas.push(PolicyTsa { name: name.to_owned(), pem, root });
        Ok(())
    }

    /// Adds a trusted CA root for PDF signer certificates (one PEM
    /// certificate; docs/pdf-signatures.md).
    pub fn add_ca(&mut self, name: &str, pem: &str) -> Result<(), String> {
        check_name("CA", name)?;
        if self.cas.iter().any(|c| c.name == name) {
            return Err(format!("CA {name:?} is listed twice"));
        }
        if self.cas.len() == MAX_CA_ROOTS {
            return Err(format!("more than {MAX_CA_ROOTS} CA roots"));
        }
        if pem.len() > MAX_ROOT_PEM_BYTES {
            return Err(format!("the root of CA {name:?} is over {MAX_ROOT_PEM_BYTES} bytes"));
        }
        let root_der = crate::tsa::parse_root_pem(pem)
            .map_err(|e| format!("the root of CA {name:?} is not a certificate: {e}"))?;
        let pem = der_to_pem(&root_der);
        self.cas.push(PolicyCa { name: name.to_owned(), pem, root_der });
        Ok(())
    }

    /// Checks the quorum against the distinct witness keys.
    pub fn check_quorum(&self) -> Result<(), VerifyError> {
        let distinct = self.distinct_witness_keys().len();
        match self.quorum {
            Some(k) if k > distinct => Err(VerifyError::invalid(
                "policy quorum",
                format!("{k} witnesses required, but the policy lists {distinct} distinct keys"),
            )),
            _ => Ok(()),
        }
    }

    /// The witness keys grouped by public key: two names with one key are one
    /// witness. Each group lists the policy's entries for that key, in order.
    pub fn distinct_witness_keys(&self) -> Vec<Vec<&AnyVerifier>> {
        let mut groups: Vec<Vec<&AnyVerifier>> = Vec::new();
        for w in &self.witnesses {
            match groups.iter_mut().find(|g| same_key(g[0], w)) {
                Some(g) => g.push(w),
                None => groups.push(vec![w]),
            }
        }
        groups
    }

    /// The number of distinct witness keys that must have cosigned.
    pub fn required_witnesses(&self) -> usize {
        self.quorum.unwrap_or_else(|| self.distinct_witness_keys().len())
    }

    /// The pinned key of `issuer`, if any.
    pub fn issuer(&self, name: &str) -> Option<&VerifyingKey> {
        self.issuers.iter().find(|(n, _)| n == name).map(|(_, k)| k)
    }

    /// The TSA roots for chain checks.
    pub fn tsa_roots(&self) -> Vec<TrustedTsa> {
        self.tsas.iter().map(|t| t.root.clone()).collect()
    }

    /// Whether the policy trusts nothing at all.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
            && self.witnesses.is_empty()
            && self.issuers.is_empty()
            && self.tsas.is_empty()
            && self.cas.is_empty()
    }

    /// A starting policy from a ledger's `GET /v1/log` answer: `vkey`,
    /// `witnesses[].vkey`, the anchoring quorum if published
    /// (`quorum.threshold`), `timestamp_authorities[]`. It is the
    /// ledger's word about itself: compare its keys with ones published
    /// elsewhere before relying on it (docs/trust-policy.md §1).
    pub fn from_log_json(answer: &serde_json::Value) -> Result<TrustPolicy, String> {
        let mut p = TrustPolicy::default();
        if let Some(suite) = answer["suite"].as_str() {
            p.suite = Suite::parse(suite).map_err(|e| e.to_string())?;
        }
        p.add_log(answer["vkey"].as_str().ok_or("no \"vkey\"")?)?;
        for w in answer["witnesses"].as_array().into_iter().flatten() {
            let vkey = w["vkey"].as_str().ok_or("a witness without \"vkey\"")?;
            // One key listed twice under one name is one witness.
            if !p.witnesses.iter().any(|k| k.to_vkey() == vkey) {
                p.add_witness(vkey)?;
            }
        }
        // `quorum` is the ledger's anchoring policy: an object whose
        // `threshold` counts distinct witness keys (or a bare number); null
        // when the ledger anchors to no witness.
        let quorum = answer["quorum"].as_u64().or_else(|| answer["quorum"]["threshold"].as_u64());
        p.quorum = quorum.map(|q| usize::try_from(q).unwrap_or(usize::MAX));
        for t in answer["timestamp_authorities"].as_array().into_iter().flatten() {
            let name = t["name"].as_str().ok_or("a TSA without \"name\"")?;
            p.add_tsa(name, t["root_pem"].as_str().ok_or("a TSA without \"root_pem\"")?)?;
        }
        // The CA roots it trusts for SM2 issuer certificates, as `ca` lines.
        for c in answer["issuer_cas"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().ok_or("an issuer CA without \"name\"")?;
            p.add_ca(name, c["root_pem"].as_str().ok_or("an issuer CA without \"root_pem\"")?)?;
        }
        p.check_quorum().map_err(|e| e.to_string())?;
        p.check_suite().map_err(|e| e.to_string())?;
        Ok(p)
    }

    /// The policy as a file that [`TrustPolicy::parse`] reads back.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.suite != Suite::default() {
            let _ = writeln!(out, "suite {}", self.suite);
        }
        for k in &self.logs {
            let _ = writeln!(out, "log {}", k.to_vkey());
        }
        for k in &self.witnesses {
            let _ = writeln!(out, "witness {}", k.to_vkey());
        }
        if let Some(k) = self.quorum {
            let _ = writeln!(out, "quorum {k}");
        }
        for (name, key) in &self.issuers {
            let _ = writeln!(out, "issuer {name} {}", B64.encode(key.as_bytes()));
        }
        for t in &self.tsas {
            let _ = writeln!(out, "tsa {}\n{}", t.name, t.pem.trim_end());
        }
        for c in &self.cas {
            let _ = writeln!(out, "ca {}\n{}", c.name, c.pem.trim_end());
        }
        out
    }
}

/// Removes a `#` comment: a whole-line one, or one after white space.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let cut = line
        .char_indices()
        .zip(line.chars().skip(1))
        .find(|((_, c), next)| c.is_whitespace() && *next == '#')
        .map(|((i, _), _)| i);
    match cut {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Issuer and TSA names follow the ledger's id syntax: 1-128 characters of
/// `[A-Za-z0-9._:-]`. Nothing else can hide a line break, a control
/// character or a comment inside a policy file.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("{what} name {name:?} is not 1-128 characters of [A-Za-z0-9._:-]"))
    }
}

/// A certificate as PEM, written from its DER (never from text received).
fn der_to_pem(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("{PEM_BEGIN}\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

/// Reads the PEM block that follows a `tsa` or `ca` line (`keyword`).
fn pem_block<'a>(
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
    keyword: &str,
) -> Result<String, String> {
    let mut pem = String::new();
    for (_, l) in lines.by_ref() {
        let l = l.trim();
        if pem.is_empty() && l != PEM_BEGIN {
            return Err(format!("a {keyword} line must be followed by {PEM_BEGIN}"));
        }
        pem.push_str(l);
        pem.push('\n');
        if pem.len() > MAX_ROOT_PEM_BYTES {
            return Err(format!("the certificate is over {MAX_ROOT_PEM_BYTES} bytes"));
        }
        if l == PEM_END {
            return Ok(pem);
        }
    }
    Err(format!("the certificate has no {PEM_END} line"))
}

/// Two vkeys of one public key (type and key bytes), whatever their names.
fn same_key(a: &AnyVerifier, b: &AnyVerifier) -> bool {
    match (a, b) {
        (AnyVerifier::Ed25519(x), AnyVerifier::Ed25519(y)) => x.key == y.key,
        (AnyVerifier::Sm2(x), AnyVerifier::Sm2(y)) => x.public_key == y.public_key,
        _ => false,
    }
}

/// A log key (`cosigner` false) or witness key (true) of either suite, as
/// a policy line or a command-line option gives it.
pub fn parse_any_vkey(vkey: &str, cosigner: bool) -> Result<AnyVerifier, String> {
    if let AnyVerifier::Sm2(k) =
        AnyVerifier::from_vkey(vkey).map_err(|e| format!("{vkey:?} is not a vkey ({e})"))?
    {
        if k.kind == (if cosigner { Sm2KeyType::Cosignature } else { Sm2KeyType::Note }) {
            return Ok(AnyVerifier::Sm2(k));
        }
        let want = if cosigner { "an SM2 witness key" } else { "an SM2 log key" };
        return Err(format!("{vkey:?} is not {want}"));
    }
    let (alg, want) = if cosigner {
        (ALG_COSIGNATURE_V1, "a cosignature/v1 witness key (type 0x04)")
    } else {
        (ALG_ED25519, "an Ed25519 log key (type 0x01)")
    };
    parse_vkey(vkey, alg, want).map(AnyVerifier::Ed25519)
}

/// A vkey of type `alg`, as a policy line or a command-line option gives it.
pub fn parse_vkey(vkey: &str, alg: u8, want: &str) -> Result<NoteVerifier, String> {
    let key = NoteVerifier::from_vkey(vkey).map_err(|e| format!("{vkey:?} is not a vkey ({e})"))?;
    if key.alg != alg {
        return Err(format!("{vkey:?} is not {want}"));
    }
    if key.key.is_weak() {
        return Err(format!("{vkey:?} is a small-order key"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
