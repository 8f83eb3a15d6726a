//! Evidence bundle v1: the self-contained file a court verifies offline, and
//! the checks run over it (docs/bundle-format.md is the normative text).
//!
//! A bundle holds the log's origin and verifier key, one checkpoint (signed
//! note, with cosignatures), the leaves of one contract with an RFC 9162
//! inclusion proof of each against that checkpoint, and the issuer and
//! witness keys needed to check them. [`verify_bundle`] runs, each reported
//! separately in a [`Report`]:
//!
//! 1. `bundle_format`: every field decodes (vkeys, checkpoint note, leaves
//!    as canonical leaf JSON, proof hashes, issuer keys); entry indices
//!    strictly increase; issuer and witness names are unique; witness vkeys
//!    are cosignature/v1 keys named as listed; the log vkey is an Ed25519
//!    note key; the checkpoint's origin is the bundle's origin.
//! 2. `same_document`: every entry has the bundle's tenant and document id,
//!    the same document hash; an actor id always has the same display name
//!    and commitment; no event id appears twice.
//! 3. `document_hash` (only when a file is supplied): its SHA-256 equals the
//!    document hash of every entry.
//! 4. `log_signature`: the pinned log key, if any, equals the bundle's; the
//!    origin is the key name (C2SP tlog-checkpoint); the note carries a valid
//!    Ed25519 signature by that key (C2SP signed-note).
//! 5. `cosignature`, one per witness: every cosignature line by a listed or
//!    required witness verifies (C2SP tlog-cosignature v1); a required
//!    witness without a line fails. A listed witness without a line is
//!    reported as a fact, not a failure; lines by unknown keys are ignored.
//! 6. `inclusion`, one per entry: index < tree size and the RFC 9162
//!    §2.1.3.2 proof leads from SHA-256(0x00 || leaf) to the checkpoint root.
//! 7. `attestations`, one per entry: each attestation's Ed25519 signature
//!    verifies (strict RFC 8032) under the bundle's key for its issuer; an
//!    issuer missing from the bundle fails.
//! 8. `timeline`: the rules of [`timeline`] (times never decrease; a
//!    registration comes first; identity and intent before each signature;
//!    signatures by the signer's own key; completion after every signature;
//!    nothing but reports and archiving after a revocation or rejection;
//!    nothing but reports after archiving).
//!
//! A check whose inputs cannot be decoded fails; nothing here panics or
//! performs I/O, whatever the input.

mod timeline;

use std::collections::HashMap;

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::cosignature::{verify_cosigned_note, ALG_COSIGNATURE_V1};
use crate::entry::{parse_leaf, verify_attestation, IssuerKeys, LeafEntry, LEAF_LIMITS};
use crate::hash::leaf_hash;
use crate::jcs::{self, Limits};
use crate::note::{NoteVerifier, ALG_ED25519};
use crate::proof::{verify_inclusion, MAX_PROOF_HASHES};
use crate::report::{
    check_id, describe_attestation, kind_words, plain, unix_to_rfc3339, AttestationFact, Check,
    CheckpointFact, Party, Report, TimelineEntry, WitnessFact,
};
use crate::{Hash, VerifyError};

/// The `format` value of a v1 bundle.
pub const FORMAT_V1: &str = "evidence-bundle/v1";
/// Largest bundle accepted, checked before parsing.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;
/// Most entries in one bundle.
pub const MAX_ENTRIES: usize = 100_000;
/// Most issuer keys in one bundle.
pub const MAX_ISSUERS: usize = 1 << 20;
/// Most witness keys in one bundle.
pub const MAX_WITNESSES: usize = 100;

/// JSON limits for a bundle: depth 3 is bundle/entries/entry/inclusion; the
/// rest is room for `checkpoint_timestamp`. The longest string is a leaf in
/// base64.
const BUNDLE_LIMITS: Limits =
    Limits { max_bytes: MAX_BUNDLE_BYTES, max_depth: 16, max_string: MAX_LEAF_B64 };
/// Length of standard padded base64 of the largest leaf.
const MAX_LEAF_B64: usize = LEAF_LIMITS.max_bytes.div_ceil(3) * 4;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An evidence bundle, v1, as read from JSON (fields not yet decoded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`FORMAT_V1`].
    pub format: String,
    /// The log's origin (its checkpoint key name).
    pub origin: String,
    /// The log's C2SP verifier key (type 0x01).
    pub log_vkey: String,
    /// The tenant that owns the contract.
    pub tenant: String,
    /// The contract id.
    pub document_id: String,
    /// The signed checkpoint note: body, blank line, signature lines.
    pub checkpoint: String,
    /// Optional copy of the checkpoint's tree size; must match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    /// The contract's entries, by increasing index.
    pub entries: Vec<BundleEntry>,
    /// Issuer keys for the attestations.
    pub issuers: Vec<BundleIssuer>,
    /// The log's witnesses.
    pub witnesses: Vec<BundleWitness>,
    /// An RFC 3161 token over SHA-256 of the checkpoint body, if the log
    /// had the checkpoint timestamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_timestamp: Option<BundleTimestamp>,
    /// Root certificates of the time-stamp authorities whose tokens the
    /// bundle carries (on events, and over the checkpoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamp_authorities: Vec<BundleTsa>,
}

/// A TSA's token over the checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleTimestamp {
    /// Name of the TSA, one of [`Bundle::timestamp_authorities`].
    pub tsa: String,
    /// Standard base64 of the DER TimeStampToken.
    pub token: String,
}

/// A time-stamp authority's root certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleTsa {
    /// The ledger operator's name for the TSA.
    pub name: String,
    /// The root certificate, PEM.
    pub root_pem: String,
}

/// One entry of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// Position in the log.
    pub index: u64,
    /// Standard base64 of the leaf bytes.
    pub leaf: String,
    /// RFC 9162 inclusion proof against the checkpoint, base64 hashes.
    pub inclusion: Vec<String>,
}

/// A trusted issuer key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleIssuer {
    /// Issuer name as attestations cite it.
    pub name: String,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// A witness of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleWitness {
    /// Witness key name.
    pub name: String,
    /// C2SP verifier key, type 0x04 (cosignature/v1).
    pub vkey: String,
}

impl Bundle {
    /// Parses a bundle: size cap, strict JSON (no duplicate keys, floats or
    /// lone surrogates), no unknown fields, `format` = [`FORMAT_V1`], 1 to
    /// [`MAX_ENTRIES`] entries, list caps, proofs of at most
    /// [`MAX_PROOF_HASHES`] hashes. Field contents are decoded by
    /// [`verify_bundle`], which reports what fails.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, VerifyError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(VerifyError::TooLarge {
                what: "bundle",
                size: bytes.len(),
                limit: MAX_BUNDLE_BYTES,
            });
        }
        let value = jcs::parse(bytes, &BUNDLE_LIMITS)?;
        let bundle = Bundle::deserialize(value)
            .map_err(|e| VerifyError::malformed("bundle", e.to_string()))?;
        bundle.check_shape()?;
        Ok(bundle)
    }

    /// The bundle as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain strings, integers and a `Value` cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    fn check_shape(&self) -> Result<(), VerifyError> {
        let bad = |reason: String| Err(VerifyError::malformed("bundle", reason));
        if self.format != FORMAT_V1 {
            return bad(format!("format is {:?}, expected {FORMAT_V1:?}", self.format));
        }
        if self.entries.is_empty() || self.entries.len() > MAX_ENTRIES {
            return bad(format!("must hold 1 to {MAX_ENTRIES} entries"));
        }
        if self.issuers.len() > MAX_ISSUERS || self.witnesses.len() > MAX_WITNESSES {
            return bad("too many issuers or witnesses".into());
        }
        if let Some(e) = self.entries.iter().find(|e| e.inclusion.len() > MAX_PROOF_HASHES) {
            return bad(format!("entry {}: proof longer than {MAX_PROOF_HASHES}", e.index));
        }
        Ok(())
    }
}

/// What the person verifying trusts or supplies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// SHA-256 of the document file they hold, to compare with the evidence.
    pub document_hash: Option<Hash>,
    /// The log's vkey as they know it; the bundle's must be the same.
    pub log_key: Option<String>,
    /// Witness vkeys (type 0x04) that must have cosigned the checkpoint.
    pub witnesses: Vec<String>,
    /// "Now" for the RFC 3161 checks (a token's genTime may not be later);
    /// the system clock when unset.
    pub now_unix: Option<i64>,
}

impl VerifyOptions {
    /// Sets [`VerifyOptions::document_hash`] to the SHA-256 of `document`.
    pub fn with_document(mut self, document: &[u8]) -> VerifyOptions {
        self.document_hash = Some(Hash::digest(document));
        self
    }
}

/// Parses and verifies a bundle; a bundle that does not parse yields a
/// report with one failed `bundle_format` check.
pub fn verify_bundle_bytes(bytes: &[u8], options: &VerifyOptions) -> Report {
    match Bundle::parse(bytes) {
        Ok(bundle) => verify_bundle(&bundle, options),
        Err(e) => {
            let mut report = Report::new("", "", "");
            report.checks.push(Check::new(
                check_id::BUNDLE_FORMAT,
                None,
                false,
                FORMAT_TITLE,
                format!("The file is not a readable evidence bundle: {}.", plain(&e.to_string())),
            ));
            report.finish()
        }
    }
}

/// Runs every check of the module documentation over `bundle` and rebuilds
/// its evidence chain. Pure; never panics.
pub fn verify_bundle(bundle: &Bundle, options: &VerifyOptions) -> Report {
    let d = decode(bundle);
    let mut report = Report::new(&bundle.origin, &bundle.tenant, &bundle.document_id);
    report.checks.push(format_check(bundle, &d));
    report.checks.push(same_document_check(bundle, &d));
    if let Some(h) = &options.document_hash {
        report.checks.push(document_hash_check(h, &d));
    }
    report.checks.push(log_signature_check(bundle, &d, options));
    let (cosigs, witnesses) = cosignature_checks(&d, options);
    report.checks.extend(cosigs);
    report.witnesses = witnesses;
    for e in &d.entries {
        report.checks.push(inclusion_check(e, &d));
    }
    let mut timeline = Vec::new();
    for e in &d.entries {
        let (check, entry) = attestation_check(e, &d.issuers);
        report.checks.push(check);
        timeline.extend(entry);
    }
    let unreadable = d.entries.iter().filter(|e| e.leaf.is_err()).count();
    report.checks.push(timeline::check(&readable(&d), unreadable));
    let (checks, facts) = crate::bundle_time::checks(bundle, options);
    report.checks.extend(checks);
    report.timestamps = facts;
    report.document_hash = readable(&d).first().map(|(_, l)| l.event.document_hash.to_hex());
    report.checkpoint = d.checkpoint.as_ref().ok().map(|c| CheckpointFact {
        origin: c.checkpoint.origin.clone(),
        tree_size: c.checkpoint.size,
        root: c.checkpoint.root.to_base64(),
    });
    report.parties = parties(&readable(&d));
    report.timeline = timeline;
    report.finish()
}

// ---------------------------------------------------------------------------
// Decoding: every field once, problems collected for `bundle_format`.

/// The bundle's fields, decoded; what failed is in `problems`.
struct Decoded {
    problems: Vec<String>,
    log_key: Result<NoteVerifier, String>,
    checkpoint: Result<SignedCheckpoint, String>,
    issuers: IssuerKeys,
    witnesses: Vec<NoteVerifier>,
    entries: Vec<DecodedEntry>,
}

/// One entry, decoded as far as it goes.
struct DecodedEntry {
    index: u64,
    leaf_hash: Option<Hash>,
    leaf: Result<LeafEntry, String>,
    proof: Option<Vec<Hash>>,
}

fn decode(bundle: &Bundle) -> Decoded {
    let mut problems = Vec::new();
    let log_key = decode_log_key(bundle);
    if let Err(e) = &log_key {
        problems.push(e.clone());
    }
    let checkpoint = decode_checkpoint(bundle, &mut problems);
    if let Err(e) = &checkpoint {
        problems.push(e.clone());
    }
    let issuers = decode_issuers(&bundle.issuers, &mut problems);
    let witnesses = decode_witnesses(&bundle.witnesses, &mut problems);
    let entries = decode_entries(&bundle.entries, &mut problems);
    Decoded { problems, log_key, checkpoint, issuers, witnesses, entries }
}

fn decode_log_key(bundle: &Bundle) -> Result<NoteVerifier, String> {
    let key = NoteVerifier::from_vkey(&bundle.log_vkey)
        .map_err(|e| format!("the log key is not a valid verifier key ({e})"))?;
    if key.alg != ALG_ED25519 {
        return Err("the log key is not an Ed25519 note key".into());
    }
    Ok(key)
}

fn decode_checkpoint(
    bundle: &Bundle,
    problems: &mut Vec<String>,
) -> Result<SignedCheckpoint, String> {
    let signed = SignedCheckpoint::parse(bundle.checkpoint.as_bytes())
        .map_err(|e| format!("the checkpoint is not a readable signed checkpoint ({e})"))?;
    if signed.checkpoint.origin != bundle.origin {
        problems.push(format!(
            "the checkpoint is from log {:?}, not from {:?} as the bundle says",
            plain(&signed.checkpoint.origin),
            plain(&bundle.origin)
        ));
    }
    if let Some(n) = bundle.tree_size.filter(|&n| n != signed.checkpoint.size) {
        problems.push(format!(
            "tree_size {n} differs from the checkpoint's {}",
            signed.checkpoint.size
        ));
    }
    Ok(signed)
}

fn decode_issuers(issuers: &[BundleIssuer], problems: &mut Vec<String>) -> IssuerKeys {
    let mut keys = IssuerKeys::new();
    for i in issuers {
        let key = B64
            .decode(&i.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok());
        match key {
            _ if keys.contains_key(&i.name) => {
                problems.push(format!("issuer {:?} is listed twice", plain(&i.name)));
            }
            Some(k) => {
                keys.insert(i.name.clone(), k);
            }
            None => problems.push(format!(
                "the key of issuer {:?} is not a base64 Ed25519 public key",
                plain(&i.name)
            )),
        }
    }
    keys
}

fn decode_witnesses(witnesses: &[BundleWitness], problems: &mut Vec<String>) -> Vec<NoteVerifier> {
    let mut out: Vec<NoteVerifier> = Vec::new();
    for w in witnesses {
        let name = plain(&w.name);
        match NoteVerifier::from_vkey(&w.vkey) {
            Err(e) => problems.push(format!("the key of witness {name:?} is not valid ({e})")),
            Ok(k) if k.alg != ALG_COSIGNATURE_V1 => {
                problems.push(format!("the key of witness {name:?} is not a cosignature key"));
            }
            Ok(k) if k.name != w.name => {
                problems.push(format!("witness {name:?} is listed with a key of another name"));
            }
            Ok(_) if out.iter().any(|o| o.name == w.name) => {
                problems.push(format!("witness {name:?} is listed twice"));
            }
            Ok(k) => out.push(k),
        }
    }
    out
}

fn decode_entries(entries: &[BundleEntry], problems: &mut Vec<String>) -> Vec<DecodedEntry> {
    let mut out = Vec::with_capacity(entries.len());
    let mut prev: Option<u64> = None;
    for e in entries {
        if prev.is_some_and(|p| e.index <= p) {
            problems.push(format!("entry {} is out of order or repeated", e.index));
        }
        prev = Some(e.index);
        let d = decode_entry(e);
        if let Err(reason) = &d.leaf {
            problems.push(format!("entry {}: {reason}", e.index));
        }
        if d.proof.is_none() {
            problems.push(format!("entry {}: its proof holds a malformed hash", e.index));
        }
        out.push(d);
    }
    out
}

fn decode_entry(e: &BundleEntry) -> DecodedEntry {
    let bytes = if e.leaf.len() > MAX_LEAF_B64 { None } else { B64.decode(&e.leaf).ok() };
    let leaf = match &bytes {
        None => Err("the leaf is not standard base64 (or too large)".to_owned()),
        Some(b) => parse_leaf(b).map_err(|e| format!("the leaf is not a valid ledger entry ({e})")),
    };
    let proof = e.inclusion.iter().map(|h| Hash::from_base64(h).ok()).collect();
    DecodedEntry { index: e.index, leaf_hash: bytes.as_deref().map(leaf_hash), leaf, proof }
}

/// The entries whose leaf decoded, with their index.
fn readable(d: &Decoded) -> Vec<(u64, &LeafEntry)> {
    d.entries.iter().filter_map(|e| e.leaf.as_ref().ok().map(|l| (e.index, l))).collect()
}

// ---------------------------------------------------------------------------
// The checks.

const FORMAT_TITLE: &str = "The evidence bundle is complete and well-formed";
/// Problems quoted in one detail; the rest are counted.
const MAX_LISTED: usize = 10;

/// Joins problems into a sentence list, at most [`MAX_LISTED`] of them.
fn list(problems: &[String]) -> String {
    let mut s = problems.iter().take(MAX_LISTED).map(String::as_str).collect::<Vec<_>>().join("; ");
    if problems.len() > MAX_LISTED {
        s.push_str(&format!("; and {} more", problems.len() - MAX_LISTED));
    }
    s
}

fn format_check(bundle: &Bundle, d: &Decoded) -> Check {
    let (passed, detail) = if d.problems.is_empty() {
        (
            true,
            format!(
                "The bundle is a well-formed {FORMAT_V1} file: {} entries, {} issuer keys, {} witness keys.",
                bundle.entries.len(),
                bundle.issuers.len(),
                bundle.witnesses.len()
            ),
        )
    } else {
        (false, format!("The bundle is damaged: {}.", list(&d.problems)))
    };
    Check::new(check_id::BUNDLE_FORMAT, None, passed, FORMAT_TITLE, detail)
}

fn same_document_check(bundle: &Bundle, d: &Decoded) -> Check {
    let mut problems: Vec<String> = d
        .entries
        .iter()
        .filter(|e| e.leaf.is_err())
        .map(|e| format!("entry {} cannot be read", e.index))
        .collect();
    let entries = readable(d);
    let first_hash = entries.first().map(|(_, l)| l.event.document_hash);
    let mut actors: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut event_ids: HashMap<&str, u64> = HashMap::new();
    for (i, l) in &entries {
        let ev = &l.event;
        if l.tenant != bundle.tenant {
            problems.push(format!("entry {i} belongs to another tenant"));
        }
        if ev.document_id != bundle.document_id {
            problems.push(format!("entry {i} is about contract {:?}", ev.document_id));
        }
        if Some(ev.document_hash) != first_hash {
            problems.push(format!(
                "entry {i} is about another document ({})",
                ev.document_hash.to_hex()
            ));
        }
        let who = (ev.actor.display.as_str(), ev.actor.commitment.as_str());
        if *actors.entry(&ev.actor.id).or_insert(who) != who {
            problems
                .push(format!("entry {i} gives party {} another name or commitment", ev.actor.id));
        }
        if let Some(j) = event_ids.insert(&ev.event_id, *i) {
            problems.push(format!("entries {j} and {i} repeat event id {}", ev.event_id));
        }
    }
    let title = "All entries concern this one contract";
    let detail = if problems.is_empty() {
        format!(
            "All {} entries concern contract {} of tenant {}, one document (SHA-256 {}), and each party appears under one name.",
            entries.len(),
            plain(&bundle.document_id),
            plain(&bundle.tenant),
            first_hash.map(|h| h.to_hex()).unwrap_or_default()
        )
    } else {
        format!("The entries do not all concern this contract: {}.", list(&problems))
    };
    Check::new(check_id::SAME_DOCUMENT, None, problems.is_empty(), title, detail)
}

fn document_hash_check(supplied: &Hash, d: &Decoded) -> Check {
    let entries = readable(d);
    let mismatched: Vec<String> = entries
        .iter()
        .filter(|(_, l)| l.event.document_hash != *supplied)
        .map(|(i, _)| i.to_string())
        .collect();
    let evidence = entries
        .first()
        .map(|(_, l)| l.event.document_hash.to_hex())
        .unwrap_or_else(|| "unknown (no entry can be read)".into());
    let passed = !entries.is_empty() && mismatched.is_empty() && entries.len() == d.entries.len();
    let verdict = if passed {
        "they match.".to_owned()
    } else if mismatched.is_empty() {
        "some entries cannot be read, so the match cannot be confirmed.".to_owned()
    } else {
        format!(
            "they do NOT match (entries {}): the evidence is about another file.",
            list(&mismatched)
        )
    };
    let detail = format!(
        "The file you supplied has SHA-256 {}; the evidence is about {evidence}: {verdict}",
        supplied.to_hex()
    );
    Check::new(
        check_id::DOCUMENT_HASH,
        None,
        passed,
        "The file you supplied is the signed document",
        detail,
    )
}

fn log_signature_check(bundle: &Bundle, d: &Decoded, options: &VerifyOptions) -> Check {
    let title = "The checkpoint is signed by the log";
    let outcome = verify_log_signature(bundle, d, options);
    let (passed, detail) = match outcome {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    Check::new(check_id::LOG_SIGNATURE, None, passed, title, detail)
}

fn verify_log_signature(
    bundle: &Bundle,
    d: &Decoded,
    options: &VerifyOptions,
) -> Result<String, String> {
    let key = d.log_key.as_ref().map_err(|e| format!("It cannot be checked: {e}."))?;
    let pinned = match &options.log_key {
        None => false,
        Some(p) => {
            let p = NoteVerifier::from_vkey(p).map_err(|e| {
                format!("The log key you supplied is not a valid verifier key ({e}).")
            })?;
            if p != *key {
                return Err(format!(
                    "You trust the log key {}, but the bundle was made with the key {}: it does not come from the log you trust.",
                    plain(&p.to_vkey()),
                    plain(&key.to_vkey())
                ));
            }
            true
        }
    };
    let cp = d.checkpoint.as_ref().map_err(|e| format!("It cannot be checked: {e}."))?;
    // C2SP tlog-checkpoint: the log signs under its origin.
    if bundle.origin != key.name || cp.checkpoint.origin != key.name {
        return Err(format!(
            "The checkpoint's log {:?} is not the name of the log key {:?}.",
            plain(&cp.checkpoint.origin),
            plain(&key.name)
        ));
    }
    key.verify_note(&cp.note).map_err(|e| {
        format!(
            "The checkpoint does not carry a valid signature by the log key {} ({e}): it was altered or not issued by this log.",
            plain(&key.to_vkey())
        )
    })?;
    let trust = if pinned {
        "the key you supplied"
    } else {
        "the key named in the bundle itself; supply the log's key to make this check independent of the bundle"
    };
    Ok(format!(
        "The checkpoint (a log of {} entries with root hash {}) carries a valid signature by log {} using {trust}.",
        cp.checkpoint.size,
        cp.checkpoint.root.to_base64(),
        plain(&key.name)
    ))
}

/// A witness key to check, and why it is checked.
struct WitnessKey {
    key: Result<NoteVerifier, String>,
    label: String,
    listed: bool,
    required: bool,
}

fn witness_keys(d: &Decoded, options: &VerifyOptions) -> Vec<WitnessKey> {
    let mut keys: Vec<WitnessKey> = d
        .witnesses
        .iter()
        .map(|k| WitnessKey {
            key: Ok(k.clone()),
            label: k.name.clone(),
            listed: true,
            required: false,
        })
        .collect();
    for vkey in &options.witnesses {
        let parsed = NoteVerifier::from_vkey(vkey)
            .map_err(|e| format!("it is not a valid verifier key ({e})"))
            .and_then(|k| match k.alg {
                ALG_COSIGNATURE_V1 => Ok(k),
                _ => Err("it is not a cosignature/v1 (type 0x04) key".to_owned()),
            });
        if let Some(w) = keys.iter_mut().find(|w| parsed.is_ok() && w.key == parsed) {
            w.required = true;
            continue;
        }
        let label = parsed.as_ref().map_or_else(|_| plain(vkey), |k| k.name.clone());
        keys.push(WitnessKey { key: parsed, label, listed: false, required: true });
    }
    keys
}

fn cosignature_checks(d: &Decoded, options: &VerifyOptions) -> (Vec<Check>, Vec<WitnessFact>) {
    let mut checks = Vec::new();
    let mut facts = Vec::new();
    for w in witness_keys(d, options) {
        let outcome = cosignature_outcome(&w, d);
        if let Ok(key) = &w.key {
            facts.push(WitnessFact {
                name: key.name.clone(),
                vkey: key.to_vkey(),
                listed: w.listed,
                required: w.required,
                cosigned_at: outcome.as_ref().ok().copied().flatten().map(unix_to_rfc3339),
                cosigned_unix: outcome.as_ref().ok().copied().flatten(),
            });
        }
        let title = format!("Witness {} countersigned the checkpoint", plain(&w.label));
        let check = |passed, detail| {
            Check::new(check_id::COSIGNATURE, Some(w.label.clone()), passed, title.clone(), detail)
        };
        match outcome {
            Ok(Some(ts)) => checks.push(check(
                true,
                format!(
                    "Witness {} countersigned this checkpoint at {}; its signature is valid{}.",
                    plain(&w.label),
                    unix_to_rfc3339(ts),
                    if w.required {
                        " under the key you supplied"
                    } else {
                        " under the key named in the bundle itself; supply the witness's key to rely on it"
                    }
                ),
            )),
            Ok(None) => {}
            Err(detail) => checks.push(check(false, detail)),
        }
    }
    (checks, facts)
}

/// `Ok(Some(time))`: a valid cosignature; `Ok(None)`: none, and none needed;
/// `Err`: the failure in words.
fn cosignature_outcome(w: &WitnessKey, d: &Decoded) -> Result<Option<u64>, String> {
    let label = plain(&w.label);
    let key =
        w.key.as_ref().map_err(|e| format!("The witness key you required cannot be used: {e}."))?;
    let cp = d
        .checkpoint
        .as_ref()
        .map_err(|e| format!("Witness {label}'s countersignature cannot be checked: {e}."))?;
    if !cp.note.signatures.iter().any(|s| key.matches(s)) {
        return if w.required {
            Err(format!(
                "You required witness {label} to have countersigned this checkpoint, but it did not."
            ))
        } else {
            Ok(None)
        };
    }
    verify_cosigned_note(key, &cp.note).map(Some).map_err(|e| {
        format!("The countersignature attributed to witness {label} is not valid ({e}): the checkpoint or the countersignature was altered.")
    })
}

fn inclusion_check(e: &DecodedEntry, d: &Decoded) -> Check {
    let title = format!("Entry {} is in the log", e.index);
    let outcome = match (&e.leaf_hash, &e.proof, &d.checkpoint) {
        (None, _, _) => {
            Err("Its content cannot be read, so it cannot be located in the log.".to_owned())
        }
        (_, None, _) => Err("Its proof contains a malformed hash.".to_owned()),
        (_, _, Err(c)) => Err(format!("There is no readable checkpoint to check it against: {c}.")),
        (Some(h), Some(p), Ok(cp)) => {
            let c = &cp.checkpoint;
            if e.index >= c.size {
                Err(format!(
                    "The checkpoint covers only {} entries, so it cannot contain entry {}.",
                    c.size, e.index
                ))
            } else {
                verify_inclusion(h, e.index, c.size, p, &c.root)
                    .map(|()| format!(
                        "The entry's hash, combined with the {} hashes of its proof, gives the root hash of the checkpoint of {} entries: the log holds this exact entry at position {}.",
                        p.len(), c.size, e.index
                    ))
                    .map_err(|err| format!(
                        "The entry and its proof do not lead to the checkpoint's root hash ({err}): the entry or its proof was altered."
                    ))
            }
        }
    };
    let passed = outcome.is_ok();
    let detail = outcome.unwrap_or_else(|e| e);
    Check::new(check_id::INCLUSION, Some(e.index.to_string()), passed, title, detail)
}

/// The attestations check of one entry, and its timeline entry.
fn attestation_check(e: &DecodedEntry, issuers: &IssuerKeys) -> (Check, Option<TimelineEntry>) {
    let title = format!("The attestations of entry {} are genuine", e.index);
    let subject = Some(e.index.to_string());
    let leaf = match &e.leaf {
        Ok(l) => l,
        Err(_) => {
            let detail = "Its content cannot be read, so its attestations cannot be checked.";
            return (Check::new(check_id::ATTESTATIONS, subject, false, title, detail), None);
        }
    };
    let facts = attestation_facts(leaf, issuers);
    let bad: Vec<String> = facts
        .iter()
        .filter(|(f, _)| !f.valid)
        .map(|(f, why)| format!("\"{}\": {why}", f.description))
        .collect();
    let passed = bad.is_empty();
    let detail = if facts.is_empty() {
        format!(
            "None are needed for this event ({}) and it carries none.",
            leaf.event.kind.as_str()
        )
    } else if passed {
        let all: Vec<String> = facts.iter().map(|(f, _)| f.description.clone()).collect();
        format!("Every attestation is signed by the key of the issuer it names: {}.", list(&all))
    } else {
        format!("Not every attestation holds: {}.", list(&bad))
    };
    let entry = timeline_entry(e.index, leaf, facts.into_iter().map(|(f, _)| f).collect());
    (Check::new(check_id::ATTESTATIONS, subject, passed, title, detail), Some(entry))
}

/// Each attestation of `leaf`, described and checked, with the reason it failed.
fn attestation_facts(leaf: &LeafEntry, issuers: &IssuerKeys) -> Vec<(AttestationFact, String)> {
    let ev = &leaf.event;
    ev.attestations
        .iter()
        .enumerate()
        .map(|(j, a)| {
            let why = match issuers.get(&a.issuer) {
                None => format!("the bundle holds no key for issuer {}", plain(&a.issuer)),
                Some(k) => match verify_attestation(k, &ev.attestation_message(j), &a.signature) {
                    Ok(()) => String::new(),
                    Err(_) => format!(
                        "the signature does not verify with the key of {}",
                        plain(&a.issuer)
                    ),
                },
            };
            let fact = AttestationFact {
                issuer: a.issuer.clone(),
                claim: a.claim.clone(),
                description: describe_attestation(ev.kind, &ev.actor.id, &a.issuer, &a.claim),
                valid: why.is_empty(),
            };
            (fact, why)
        })
        .collect()
}

fn timeline_entry(
    index: u64,
    leaf: &LeafEntry,
    attestations: Vec<AttestationFact>,
) -> TimelineEntry {
    let ev = &leaf.event;
    TimelineEntry {
        index,
        ledger_time: leaf.ledger_time.clone(),
        kind: ev.kind.as_str().to_owned(),
        summary: format!(
            "{} ({}): {}",
            plain(&ev.actor.display),
            plain(&ev.actor.id),
            kind_words(ev.kind)
        ),
        event_id: ev.event_id.clone(),
        actor_id: ev.actor.id.clone(),
        actor_display: ev.actor.display.clone(),
        attestations,
    }
}

fn parties(entries: &[(u64, &LeafEntry)]) -> Vec<Party> {
    let mut out: Vec<Party> = Vec::new();
    for (_, l) in entries {
        let a = &l.event.actor;
        let signed = l.event.kind == crate::entry::EventKind::Signed;
        match out.iter_mut().find(|p| p.id == a.id) {
            Some(p) => p.signed |= signed,
            None => out.push(Party {
                id: a.id.clone(),
                display: a.display.clone(),
                commitment: a.commitment.clone(),
                signed,
            }),
        }
    }
    out
}
