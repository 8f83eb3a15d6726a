//! Evidence bundles v1 and v2: the self-contained file a court verifies
//! offline, and the checks run over it (docs/bundle-format.md is the normative text;
//! docs/trust-policy.md says what each check rests on).
//!
//! A bundle holds the log's origin and verifier key, one checkpoint (signed
//! note, with cosignatures), the leaves of one contract with an RFC 9162
//! inclusion proof of each against that checkpoint, and the issuer and
//! witness keys the log used. Keys in a bundle are claims: [`verify_bundle`]
//! checks signatures against the [`TrustPolicy`] of the person verifying,
//! and the verdict ([`crate::verdict`]) is "verified" only when every check
//! passed against keys they chose. Each rule lives in one submodule:
//!
//! - [`decode`]: every field decoded once (`bundle_format` problems), into
//!   the form every check reads ([`decoded`]);
//! - [`commitments`]: `commitments` (bundle v2: each record opens its
//!   leaf, each identity opening its record, each erased marker names the
//!   erasure entry that says so);
//! - [`content`]: `bundle_format`, `same_document`, `document_hash`,
//!   `inclusion` (the bundle against itself and your file);
//! - [`signatures`]: `log_signature`, `cosignature`, `witness_quorum`
//!   (the checkpoint against your log and witness keys);
//! - [`attestations`]: `attestations` (issuer signatures) and the rebuilt
//!   timeline entries;
//! - [`completeness`]: `completeness` (record v3: the contract's chain
//!   over the bundle's entries, from its first entry, without a gap);
//! - [`timeline`]: `timeline` (T1-T7);
//! - [`timestamps`]: `event_timestamp`, `checkpoint_timestamp` (RFC 3161
//!   against your TSA roots).
//!
//! A check whose inputs cannot be decoded fails; nothing here panics or
//! performs I/O, whatever the input.

mod attestations;
mod commitments;
mod completeness;
mod content;
mod decode;
mod decoded;
mod lookup;
mod signatures;
mod timeline;
mod timestamps;

pub use lookup::{verify_lookup_bytes, LOOKUP_FORMAT_V2, MAX_LOOKUP_ENTRIES};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{check_id, Check, TrustFact, TsaRootFact};
use crate::entry::{parse_ledger_time, LEAF_LIMITS, MAX_CLAIM_DEPTH};
use crate::jcs::{self, Limits};
use crate::policy::{TrustPolicy, MAX_ROOT_PEM_BYTES, MAX_TSA_ROOTS};
use crate::proof::MAX_PROOF_HASHES;
use crate::report::{CheckpointFact, Report};
use crate::text::plain;
use crate::{Hash, VerifyError};

/// The `format` value of a v1 bundle.
pub const FORMAT_V1: &str = "evidence-bundle/v1";
/// The `format` value of a v2 bundle: v1, plus per entry the `record`
/// that opens a v2 leaf, its `identity` opening, or an `erased` marker
/// (docs/bundle-format.md §7).
pub const FORMAT_V2: &str = "evidence-bundle/v2";
/// Largest bundle accepted, checked before parsing.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;
/// Most entries in one bundle.
pub const MAX_ENTRIES: usize = 100_000;
/// Most issuer keys in one bundle.
pub const MAX_ISSUERS: usize = 200_000;
/// Most witness keys in one bundle.
pub const MAX_WITNESSES: usize = 100;

/// JSON limits for a bundle: depth 3 is bundle/entries/entry/inclusion; a
/// v2 record nests bundle/entries/entry/record/event/attestations/attestation
/// (7) plus a claim of up to [`MAX_CLAIM_DEPTH`] levels, 15 in all. The
/// longest string is a leaf in base64.
pub(crate) const BUNDLE_LIMITS: Limits =
    Limits { max_bytes: MAX_BUNDLE_BYTES, max_depth: 16, max_string: MAX_LEAF_B64 };
// A record of the deepest valid event must fit in a bundle.
const _: () = assert!(7 + MAX_CLAIM_DEPTH <= BUNDLE_LIMITS.max_depth);
/// Length of standard padded base64 of the largest leaf.
const MAX_LEAF_B64: usize = LEAF_LIMITS.max_bytes.div_ceil(3) * 4;
/// Optional members that must be absent rather than `null`.
const OPTIONAL_MEMBERS: [&str; 4] =
    ["tree_size", "checkpoint_timestamp", "timestamp_authorities", "anchoring"];
/// Optional members of a v2 entry, likewise.
const ENTRY_V2_MEMBERS: [&str; 3] = ["record", "identity", "erased"];

/// An evidence bundle, v1 or v2, as read from JSON (fields not yet decoded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT_V1`] or [`FORMAT_V2`].
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
    /// The ledger's own statement of its anchoring policy and whether the
    /// checkpoint meets it: a claim, shown as such; verifiers count
    /// cosignatures against their own policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchoring: Option<BundleAnchoring>,
}

/// What the ledger says of its anchoring policy for the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleAnchoring {
    /// Distinct witness keys the ledger requires.
    pub threshold: u64,
    /// Witnesses (names) the ledger requires in any case.
    pub required: Vec<String>,
    /// Witnesses (names) whose cosignature the ledger verified.
    pub cosigned_by: Vec<String>,
    /// Whether the checkpoint meets the ledger's policy.
    pub satisfied: bool,
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
    /// Bundle v2, v2 leaf: the record (`evidence-record/v2`) that opens
    /// the leaf's commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Value>,
    /// Bundle v2, beside `record`: the identity opening
    /// (`evidence-identity/v2`) of the record's `identity_commitment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    /// Bundle v2, v2 leaf whose record was destroyed: what the erasure
    /// entry says, instead of `record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<BundleErased>,
}

impl BundleEntry {
    /// A v1-shaped entry: index, leaf and proof, no v2 member.
    pub fn new(index: u64, leaf: String, inclusion: Vec<String>) -> BundleEntry {
        BundleEntry { index, leaf, inclusion, record: None, identity: None, erased: None }
    }
}

/// The marker of an entry whose record was erased: it repeats the erasure
/// entry's ledger time, actor id and reason, and names its index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleErased {
    /// The erasure entry's `ledger_time`.
    pub at: String,
    /// The erasure entry's `actor.id`.
    pub by: String,
    /// The reason in the erasure entry's claim.
    pub reason: String,
    /// The erasure entry's index (an entry of this bundle).
    pub entry: u64,
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
    /// lone surrogates), no unknown fields, `format` = [`FORMAT_V1`] (no
    /// entry with `record`, `identity` or `erased`) or [`FORMAT_V2`] (no
    /// entry with both `record` and `erased`, nor `identity` without
    /// `record`), 1 to
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
        if let Some(k) = OPTIONAL_MEMBERS.iter().find(|k| value.get(**k) == Some(&Value::Null)) {
            return Err(VerifyError::malformed("bundle", format!("{k} is null; omit it instead")));
        }
        let entries = value.get("entries").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for e in entries {
            if let Some(k) = ENTRY_V2_MEMBERS.iter().find(|k| e.get(**k) == Some(&Value::Null)) {
                return Err(VerifyError::malformed(
                    "bundle",
                    format!("an entry's {k} is null; omit it instead"),
                ));
            }
        }
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

    /// Whether the bundle is a v2 bundle.
    pub fn is_v2(&self) -> bool {
        self.format == FORMAT_V2
    }

    fn check_shape(&self) -> Result<(), VerifyError> {
        let bad = |reason: String| Err(VerifyError::malformed("bundle", reason));
        if self.format != FORMAT_V1 && self.format != FORMAT_V2 {
            return bad(format!(
                "format is {:?}, expected {FORMAT_V1:?} or {FORMAT_V2:?}",
                plain(&self.format)
            ));
        }
        for e in &self.entries {
            let v2_member = e.record.is_some() || e.identity.is_some() || e.erased.is_some();
            if !self.is_v2() && v2_member {
                return bad(format!(
                    "entry {}: record, identity and erased are members of {FORMAT_V2} entries, not of {FORMAT_V1}",
                    e.index
                ));
            }
            if e.record.is_some() && e.erased.is_some() {
                return bad(format!("entry {}: both a record and an erased marker", e.index));
            }
            if e.identity.is_some() && e.record.is_none() {
                return bad(format!("entry {}: an identity opening without its record", e.index));
            }
        }
        if self.entries.is_empty() || self.entries.len() > MAX_ENTRIES {
            return bad(format!("must hold 1 to {MAX_ENTRIES} entries"));
        }
        if self.issuers.len() > MAX_ISSUERS || self.witnesses.len() > MAX_WITNESSES {
            return bad("too many issuers or witnesses".into());
        }
        if self.timestamp_authorities.len() > MAX_TSA_ROOTS
            || self.timestamp_authorities.iter().any(|t| t.root_pem.len() > MAX_ROOT_PEM_BYTES)
        {
            return bad(format!(
                "at most {MAX_TSA_ROOTS} timestamp authorities of at most {MAX_ROOT_PEM_BYTES} bytes each"
            ));
        }
        if let Some(a) = &self.anchoring {
            if a.required.len() > MAX_WITNESSES || a.cosigned_by.len() > MAX_WITNESSES {
                return bad(format!("anchoring names more than {MAX_WITNESSES} witnesses"));
            }
        }
        if let Some(e) = self.entries.iter().find(|e| e.inclusion.len() > MAX_PROOF_HASHES) {
            return bad(format!("entry {}: proof longer than {MAX_PROOF_HASHES}", e.index));
        }
        Ok(())
    }
}

/// What the person verifying trusts or supplies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// SHA-256 of the document file they hold, to compare with the evidence.
    pub document_hash: Option<Hash>,
    /// The keys they chose: the only trust anchors of the verdict.
    pub policy: TrustPolicy,
    /// Where the policy came from, in words, for the report ("policy file
    /// court.policy", "command-line options", ...).
    pub policy_source: String,
    /// "Now" for the time checks (RFC 3161 genTime, cosignature times); the
    /// system clock when unset.
    pub now_unix: Option<i64>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            document_hash: None,
            policy: TrustPolicy::default(),
            policy_source: "no trust policy (nothing trusted)".into(),
            now_unix: None,
        }
    }
}

impl VerifyOptions {
    /// Options that check against `policy`, described as `source`.
    pub fn with_policy(policy: TrustPolicy, source: impl Into<String>) -> VerifyOptions {
        VerifyOptions { policy, policy_source: source.into(), ..VerifyOptions::default() }
    }

    /// Sets [`VerifyOptions::document_hash`] to the SHA-256 of `document`.
    pub fn with_document(mut self, document: &[u8]) -> VerifyOptions {
        self.document_hash = Some(Hash::digest(document));
        self
    }

    fn now(&self) -> i64 {
        self.now_unix.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
    }
}

/// Parses and verifies a bundle; a bundle that does not parse yields a
/// report with one failed `bundle_format` check.
pub fn verify_bundle_bytes(bytes: &[u8], options: &VerifyOptions) -> Report {
    match Bundle::parse(bytes) {
        Ok(bundle) => verify_bundle(&bundle, options),
        Err(e) => {
            let mut report = Report::new("", "", "");
            report.trust = trust_fact(options);
            report.checks.push(Check::new(
                check_id::BUNDLE_FORMAT,
                None,
                false,
                content::FORMAT_TITLE,
                format!("The file is not a readable evidence bundle: {}.", plain(&e.to_string())),
            ));
            report.finish()
        }
    }
}

/// Runs every check over `bundle` against `options.policy` and rebuilds its
/// evidence chain. Pure; never panics.
pub fn verify_bundle(bundle: &Bundle, options: &VerifyOptions) -> Report {
    let d = decode::decode(bundle);
    let policy = &options.policy;
    let now = options.now();
    let mut report = Report::new(&bundle.origin, &bundle.tenant, &bundle.document_id);
    report.trust = trust_fact(options);
    report.checks.push(content::format_check(bundle, &d));
    if bundle.is_v2() {
        report.checks.extend(d.entries.iter().map(commitments::check));
    }
    if let Some((check, fact)) = completeness::check(&d.entries) {
        report.checks.push(check);
        report.completeness = Some(fact);
    }
    report.checks.push(content::same_document_check(bundle, &d));
    if let Some(h) = &options.document_hash {
        report.checks.push(content::document_hash_check(h, &d));
    }
    report.checks.push(signatures::log_signature_check(bundle, &d, policy));
    let newest = newest_ledger_secs(&d);
    let witnessed = signatures::witness_checks(&d, policy, newest, now);
    report.checks.extend(witnessed.checks);
    report.witnesses = witnessed.facts;
    report.claims = witnessed.claims;
    report.claims.extend(bundle.anchoring.as_ref().map(anchoring_claim));
    for e in &d.entries {
        report.checks.push(content::inclusion_check(e, &d));
    }
    for e in &d.entries {
        if let Some(marker) = &e.erased {
            // Its record is gone: no attestation to check; the timeline
            // says what the erasure entry says.
            report.timeline.push(attestations::erased_entry(e, marker));
            continue;
        }
        if let Some((leaf, _)) = &e.redacted {
            // Its actor and attestations are gone: nothing to check; the
            // timeline keeps its kind and time.
            report.timeline.push(attestations::redacted_entry(e.index, leaf));
            continue;
        }
        let origin = d.checkpoint.as_ref().ok().map(|c| c.checkpoint.origin.as_str());
        let (check, entry) = attestations::check(e, &d.issuers, policy, origin);
        report.checks.push(check);
        report.timeline.extend(entry);
    }
    let readable = d.readable();
    report.checks.push(timeline::check(&readable, &d.redacted(), d.unreadable(), &d.times()));
    let stamped = timestamps::checks(bundle, &readable, policy, now);
    report.checks.extend(stamped.checks);
    report.timestamps = stamped.facts;
    report.claims.extend(stamped.claims);
    report.document_hash = readable.first().map(|(_, l)| l.event.document_hash.to_hex());
    report.checkpoint = d.checkpoint.as_ref().ok().map(|c| CheckpointFact {
        origin: c.checkpoint.origin.clone(),
        tree_size: c.checkpoint.size,
        root: c.checkpoint.root.to_base64(),
    });
    report.parties = attestations::parties(&readable);
    report.finish()
}

/// A `signed` event of a bundle with the document hash it was logged with:
/// what a PDF's signed revision is matched against ([`crate::pdf`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDocument {
    /// The entry's position in the log.
    pub index: u64,
    /// The submitter's event id.
    pub event_id: String,
    /// The actor's id and masked display name ("王* (u-9)").
    pub actor: String,
    /// When the log recorded it (RFC 3339 UTC).
    pub ledger_time: String,
    /// The event's `document_hash`: SHA-256 of the document as signed.
    pub document_hash: Hash,
}

/// The readable `signed` entries of `bundle` (v1 leaves, and v2 leaves
/// opened by their records) with their document hashes, in bundle order.
/// Says nothing of whether the bundle verifies: run [`verify_bundle`] too.
pub fn signed_documents(bundle: &Bundle) -> Vec<SignedDocument> {
    let d = decode::decode(bundle);
    d.readable()
        .into_iter()
        .filter(|(_, l)| l.event.kind == crate::entry::EventKind::Signed)
        .map(|(index, l)| SignedDocument {
            index,
            event_id: l.event.event_id.clone(),
            actor: format!("{} ({})", l.event.actor.display, l.event.actor.id),
            ledger_time: l.ledger_time.clone(),
            document_hash: l.event.document_hash,
        })
        .collect()
}

/// The ledger's statement about its anchoring policy, in words.
fn anchoring_claim(a: &BundleAnchoring) -> String {
    let names = |l: &[String]| {
        if l.is_empty() {
            "none".to_owned()
        } else {
            l.iter().map(|n| plain(n)).collect::<Vec<_>>().join(", ")
        }
    };
    format!(
        "The ledger says this checkpoint {} its anchoring policy ({} distinct witness keys{}); cosigned by: {}. \
         This is the ledger's own statement, which nothing signs: the cosignatures were counted \
         against your policy instead, and only that count is part of the verdict.",
        if a.satisfied { "meets" } else { "does NOT meet" },
        a.threshold,
        if a.required.is_empty() { String::new() } else { format!(", including {}", names(&a.required)) },
        names(&a.cosigned_by)
    )
}

/// The newest `ledger_time` of the readable and erased entries, in whole
/// Unix seconds.
fn newest_ledger_secs(d: &decoded::Decoded) -> Option<i64> {
    d.times()
        .iter()
        .filter_map(|(_, t)| parse_ledger_time(t).ok())
        .max()
        .map(|micros| micros.div_euclid(1_000_000))
}

/// The anchors of `options`, as the report states them.
fn trust_fact(options: &VerifyOptions) -> TrustFact {
    let p = &options.policy;
    TrustFact {
        source: options.policy_source.clone(),
        log_keys: p.logs.iter().map(|k| k.to_vkey()).collect(),
        witnesses: p.witnesses.iter().map(|k| k.to_vkey()).collect(),
        quorum: p.required_witnesses(),
        tsa_roots: p
            .tsas
            .iter()
            .map(|t| TsaRootFact { name: t.name.clone(), sha256: t.fingerprint() })
            .collect(),
        issuers: p
            .to_text()
            .lines()
            .filter_map(|l| l.strip_prefix("issuer "))
            .map(String::from)
            .collect(),
    }
}

/// Joins problems into a sentence list, at most [`MAX_LISTED`] of them.
fn list(problems: &[String]) -> String {
    let mut s = problems.iter().take(MAX_LISTED).map(String::as_str).collect::<Vec<_>>().join("; ");
    if problems.len() > MAX_LISTED {
        s.push_str(&format!("; and {} more", problems.len() - MAX_LISTED));
    }
    s
}

/// Problems quoted in one detail; the rest are counted.
const MAX_LISTED: usize = 10;
