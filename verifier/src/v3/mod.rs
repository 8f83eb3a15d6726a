//! Evidence record v3: a record commitment over per-field salted digests
//! (selective disclosure, in the manner of SD-JWT), and the per-contract
//! chain inside each record (docs/evidence-v2.md, "Record v3").
//!
//! ```text
//! leaf        = JCS({"commitment": b64, "commitment_alg": "sha256-jcs-sd/v3",
//!                    "format": "evidence-leaf/v2", "ledger_time": T})
//! record      = {"chain": {"prev": b64 | null, "seq": n}, "event": <event without identity>,
//!                "format": "evidence-record/v3", "identity_commitment"?: b64,
//!                "salt": b64(32 bytes), "tenant": T}
//! field salt  = HMAC-SHA-256(key = salt, "evidence-ledger/disclosure-salt/v3" || 0x00 || name)
//! disclosure  = [b64(field salt), name, value]
//! digest      = SHA-256("evidence-ledger/disclosure/v3" || 0x00 || JCS(disclosure))
//! commitment  = SHA-256("evidence-ledger/record/v3" || 0x00 ||
//!                       JCS({"digests": {name: b64(digest), ...}, "format": "evidence-record/v3"}))
//! ```
//!
//! The names are fixed ([`NAMES`]): every record commits to all of them,
//! an absent optional member as `null`, so the set of names says nothing
//! about the record. A reader given some disclosures and the digests of the
//! other names recomputes the commitment, so the log's signature over the
//! leaf covers exactly the disclosed values and nothing else is opened.
//! The field salts are derived from the record's one salt by a PRF, so a
//! disclosed field salt reveals neither the record's salt nor another
//! field's salt.
//!
//! The chain: `prev` is the RFC 9162 leaf hash of the contract's entry
//! just before this one in the log (same tenant and contract), `seq` its
//! 0-based position among the contract's entries; the first has `prev`
//! null and `seq` 0. The sequencer writes them, in log order.
//!
//! On an `sm2-sm3` log the same construction runs with SM3 and HMAC-SM3
//! (`sm3-jcs-sd/v3`, [`SdHash::Sm3`]); each function with an `_in`
//! suffix takes the hash, the one without it is SHA-256.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::jcs;
use crate::{Hash, VerifyError};

mod sd;

use sd::SaltMac;
pub use sd::{SdHash, COMMITMENT_ALG_V3, COMMITMENT_ALG_V3_SM3};

/// `format` of a v3 record.
pub const RECORD_FORMAT_V3: &str = "evidence-record/v3";
/// Domain string of the v3 record commitment.
pub const RECORD_DOMAIN_V3: &[u8] = b"evidence-ledger/record/v3";
/// Domain string of a disclosure digest.
pub const DISCLOSURE_DOMAIN: &[u8] = b"evidence-ledger/disclosure/v3";
/// Domain string of the field-salt derivation.
pub const SALT_DOMAIN: &[u8] = b"evidence-ledger/disclosure-salt/v3";
/// The name of the chain field.
pub const CHAIN: &str = "chain";
/// Every name a v3 record commits to, in sorted order.
pub const NAMES: [&str; 11] = [
    "chain",
    "event.actor",
    "event.attestations",
    "event.document_hash",
    "event.document_id",
    "event.event_id",
    "event.event_timestamp_token",
    "event.kind",
    "event.timestamp_token",
    "identity_commitment",
    "tenant",
];
/// The names a subject erasure redacts from the records that survive it
/// (the actor's id, masked name and commitment; the attestations and
/// their claims): their values leave the record, their digests stay in
/// its `redacted` member, so the record still opens its leaf.
pub const REDACTABLE: [&str; 2] = ["event.actor", "event.attestations"];
/// The member of a redacted v3 record that holds the redacted digests.
pub const REDACTED: &str = "redacted";
mod redact;
pub use redact::{redact, redact_in, redacted_digests};

/// What `GET /v1/lookup` discloses of a v3 record (the time is in the leaf).
pub const LOOKUP_DISCLOSED: [&str; 2] = ["event.document_hash", "event.kind"];

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A record's place in its contract's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Leaf hash of the contract's previous entry; `None` for the first.
    pub prev: Option<Hash>,
    /// 0-based position among the contract's entries.
    pub seq: u64,
}

impl Chain {
    /// The chain as JSON: `{"prev": b64 | null, "seq": n}`.
    pub fn value(&self) -> Value {
        json!({"prev": self.prev.map_or(Value::Null, |h| Value::from(h.to_base64())),
               "seq": self.seq})
    }

    /// Parses `{"prev", "seq"}`: `prev` null exactly when `seq` is 0, `seq`
    /// at most 2^53 - 1 (JCS integers).
    pub fn parse(v: &Value) -> Result<Chain, VerifyError> {
        let bad = |r: &str| VerifyError::invalid("record.chain", r.to_owned());
        let m = v.as_object().ok_or_else(|| bad("must be a JSON object"))?;
        if m.len() != 2 || !m.contains_key("prev") || !m.contains_key("seq") {
            return Err(bad("must have exactly the members prev and seq"));
        }
        let seq = m["seq"]
            .as_u64()
            .filter(|n| *n < (1 << 53))
            .ok_or_else(|| bad("seq must be an integer from 0 to 2^53 - 1"))?;
        let prev = match &m["prev"] {
            Value::Null => None,
            Value::String(s) if s.len() == 44 => Some(
                Hash::from_base64(s).map_err(|_| bad("prev must be base64 of 32 bytes or null"))?,
            ),
            _ => return Err(bad("prev must be base64 of 32 bytes or null")),
        };
        if prev.is_none() != (seq == 0) {
            return Err(bad("prev is null exactly for the contract's first entry (seq 0)"));
        }
        Ok(Chain { prev, seq })
    }
}

/// HMAC-SHA-256(salt, [`SALT_DOMAIN`] || 0x00 || name).
pub fn field_salt(salt: &[u8; 32], name: &str) -> [u8; 32] {
    field_salt_in(SdHash::Sha256, salt, name)
}

/// HMAC-`h`(salt, [`SALT_DOMAIN`] || 0x00 || name).
pub fn field_salt_in(h: SdHash, salt: &[u8; 32], name: &str) -> [u8; 32] {
    field_salt_with(&h.salt_mac(salt), name)
}

fn field_salt_with(mac: &SaltMac, name: &str) -> [u8; 32] {
    mac.mac(&[SALT_DOMAIN, &[0], name.as_bytes()])
}

/// `h`([`DISCLOSURE_DOMAIN`] || 0x00 || JCS([b64(field salt), name,
/// value])), with the value given as its canonical JSON: the same bytes as
/// [`disclosure_digest_in`] of [`disclosure_in`], without building the array.
fn digest_of_canonical(
    hash: SdHash,
    field_salt: &[u8; 32],
    name: &str,
    canonical_value: &[u8],
) -> Hash {
    let mut head = Vec::with_capacity(64 + name.len());
    head.push(b'[');
    jcs::write_string(&B64.encode(field_salt), &mut head);
    head.push(b',');
    jcs::write_string(name, &mut head);
    head.push(b',');
    let mut h = hash.hasher();
    h.update(DISCLOSURE_DOMAIN);
    h.update([0]);
    h.update(&head);
    h.update(canonical_value);
    h.update(b"]");
    h.finish()
}

/// The disclosure `[b64(field salt), name, value]`.
pub fn disclosure(salt: &[u8; 32], name: &str, value: Value) -> Value {
    disclosure_in(SdHash::Sha256, salt, name, value)
}

/// The disclosure `[b64(field salt), name, value]`, its field salt from HMAC-`h`.
pub fn disclosure_in(h: SdHash, salt: &[u8; 32], name: &str, value: Value) -> Value {
    json!([B64.encode(field_salt_in(h, salt, name)), name, value])
}

/// SHA-256([`DISCLOSURE_DOMAIN`] || 0x00 || JCS(disclosure)).
pub fn disclosure_digest(disclosure: &Value) -> Hash {
    disclosure_digest_in(SdHash::Sha256, disclosure)
}

/// `h`([`DISCLOSURE_DOMAIN`] || 0x00 || JCS(disclosure)).
pub fn disclosure_digest_in(h: SdHash, disclosure: &Value) -> Hash {
    let mut d = h.hasher();
    d.update(DISCLOSURE_DOMAIN);
    d.update([0]);
    d.update(jcs::to_canonical(disclosure));
    d.finish()
}

/// The SHA-256 record commitment over the digests of all of [`NAMES`].
pub fn commitment_of_digests(digests: &BTreeMap<String, Hash>) -> Hash {
    commitment_of_digests_in(SdHash::Sha256, digests)
}

/// The record commitment with `h` over the digests of all of [`NAMES`].
pub fn commitment_of_digests_in(h: SdHash, digests: &BTreeMap<String, Hash>) -> Hash {
    let map: Map<String, Value> =
        digests.iter().map(|(k, v)| (k.clone(), Value::from(v.to_base64()))).collect();
    let body = json!({"digests": Value::Object(map), "format": RECORD_FORMAT_V3});
    let mut d = h.hasher();
    d.update(RECORD_DOMAIN_V3);
    d.update([0]);
    d.update(jcs::to_canonical(&body));
    d.finish()
}

/// The value under every name but [`CHAIN`]: the event's members (`null`
/// when absent), the identity commitment (`null` when none), the tenant.
fn claims(event: &Value, tenant: &str, identity_commitment: Option<&Hash>) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(NAMES.len() - 1);
    for name in NAMES.iter().filter(|n| **n != CHAIN) {
        let value = match name.strip_prefix("event.") {
            Some(member) => event.get(member).cloned().unwrap_or(Value::Null),
            None if *name == "tenant" => Value::from(tenant),
            None => identity_commitment.map_or(Value::Null, |c| Value::from(c.to_base64())),
        };
        out.push(((*name).to_owned(), value));
    }
    out
}

/// What the appender computes off the sequencer: the digests of every
/// name but the chain, and the chain's field salt. The sequencer adds the
/// chain (known only in log order) with [`Sealing::commitment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealing {
    /// The canonical commitment body after the chain's digest:
    /// `","event.actor":"…",…},"format":"evidence-record/v3"}` ("chain" is
    /// the first name in sorted order, so everything after it is known).
    tail: Vec<u8>,
    chain_salt: [u8; 32],
    hash: SdHash,
}

impl Sealing {
    /// Digests of a record's fields but the chain, with SHA-256. `event`
    /// must not hold `identity`.
    pub fn new(
        event_without_identity: &Value,
        tenant: &str,
        salt: &[u8; 32],
        identity_commitment: Option<&Hash>,
    ) -> Sealing {
        Sealing::new_in(SdHash::Sha256, event_without_identity, tenant, salt, identity_commitment)
    }

    /// Digests of a record's fields but the chain, with `hash`.
    pub fn new_in(
        hash: SdHash,
        event_without_identity: &Value,
        tenant: &str,
        salt: &[u8; 32],
        identity_commitment: Option<&Hash>,
    ) -> Sealing {
        let mac = hash.salt_mac(salt);
        let mut tail = Vec::with_capacity(700);
        let mut canonical = Vec::with_capacity(256);
        for name in NAMES.iter().filter(|n| **n != CHAIN) {
            canonical.clear();
            match name.strip_prefix("event.") {
                Some(member) => match event_without_identity.get(member) {
                    Some(v) => jcs::write_canonical(v, &mut canonical),
                    None => canonical.extend_from_slice(b"null"),
                },
                None if *name == "tenant" => jcs::write_string(tenant, &mut canonical),
                None => match identity_commitment {
                    Some(c) => jcs::write_string(&c.to_base64(), &mut canonical),
                    None => canonical.extend_from_slice(b"null"),
                },
            }
            let d = digest_of_canonical(hash, &field_salt_with(&mac, name), name, &canonical);
            // Names are ASCII and sorted: the canonical member order.
            tail.push(b',');
            jcs::write_string(name, &mut tail);
            tail.push(b':');
            jcs::write_string(&d.to_base64(), &mut tail);
        }
        tail.extend_from_slice(b"},\"format\":");
        jcs::write_string(RECORD_FORMAT_V3, &mut tail);
        tail.push(b'}');
        Sealing { tail, chain_salt: field_salt_with(&mac, CHAIN), hash }
    }

    /// The hash the record is committed with (the leaf names it).
    pub fn hash(&self) -> SdHash {
        self.hash
    }

    /// The record commitment once the chain is known: the hash of the
    /// domain, 0x00 and `{"digests":{"chain":"<digest>"` + the tail.
    pub fn commitment(&self, chain: &Chain) -> Hash {
        let mut value = Vec::with_capacity(80);
        value.extend_from_slice(b"{\"prev\":");
        match &chain.prev {
            Some(p) => jcs::write_string(&p.to_base64(), &mut value),
            None => value.extend_from_slice(b"null"),
        }
        value.extend_from_slice(format!(",\"seq\":{}}}", chain.seq).as_bytes());
        let d = digest_of_canonical(self.hash, &self.chain_salt, CHAIN, &value);
        let mut h = self.hash.hasher();
        h.update(RECORD_DOMAIN_V3);
        h.update([0]);
        h.update(b"{\"digests\":{\"chain\":");
        let mut b64 = Vec::with_capacity(46);
        jcs::write_string(&d.to_base64(), &mut b64);
        h.update(&b64);
        h.update(&self.tail);
        h.finish()
    }
}

/// A v3 record object (the chain included).
pub fn record_value(
    event_without_identity: &Value,
    tenant: &str,
    salt: &[u8; 32],
    identity_commitment: Option<&Hash>,
    chain: &Chain,
) -> Value {
    let mut v = record_without_chain(event_without_identity, tenant, salt, identity_commitment);
    if let Some(m) = v.as_object_mut() {
        m.insert(CHAIN.into(), chain.value());
    }
    v
}

/// A v3 record without its `chain` member: what the ledger seals before
/// the sequencer has placed the entry in its contract's chain.
pub fn record_without_chain(
    event_without_identity: &Value,
    tenant: &str,
    salt: &[u8; 32],
    identity_commitment: Option<&Hash>,
) -> Value {
    record_value_as(RECORD_FORMAT_V3, event_without_identity, tenant, salt, identity_commitment)
}

/// The canonical JSON of [`record_without_chain`], written around the
/// event's canonical JSON: the same bytes as
/// `jcs::to_canonical(&record_without_chain(..))`, without copying the event.
pub fn record_without_chain_canonical(
    event_canonical: &[u8],
    tenant: &str,
    salt: &[u8; 32],
    identity_commitment: Option<&Hash>,
) -> Vec<u8> {
    record_canonical_as(RECORD_FORMAT_V3, event_canonical, tenant, salt, identity_commitment)
}

/// The members v2 records and v3 records (before their chain) share, under
/// the record format `format` (v2 writes its records with them too).
pub(crate) fn record_value_as(
    format: &str,
    event_without_identity: &Value,
    tenant: &str,
    salt: &[u8; 32],
    identity_commitment: Option<&Hash>,
) -> Value {
    let mut m = Map::new();
    m.insert("event".into(), event_without_identity.clone());
    m.insert("format".into(), Value::from(format));
    if let Some(c) = identity_commitment {
        m.insert("identity_commitment".into(), Value::from(c.to_base64()));
    }
    m.insert("salt".into(), Value::from(B64.encode(salt)));
    m.insert("tenant".into(), Value::from(tenant));
    Value::Object(m)
}

/// The canonical JSON of [`record_value_as`], written around the event's
/// canonical JSON.
pub(crate) fn record_canonical_as(
    format: &str,
    event_canonical: &[u8],
    tenant: &str,
    salt: &[u8; 32],
    identity_commitment: Option<&Hash>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(event_canonical.len() + tenant.len() + 192);
    // Member names are ASCII and written in canonical (sorted) order.
    out.extend_from_slice(b"{\"event\":");
    out.extend_from_slice(event_canonical);
    out.extend_from_slice(b",\"format\":");
    jcs::write_string(format, &mut out);
    if let Some(c) = identity_commitment {
        out.extend_from_slice(b",\"identity_commitment\":");
        jcs::write_string(&c.to_base64(), &mut out);
    }
    out.extend_from_slice(b",\"salt\":");
    jcs::write_string(&B64.encode(salt), &mut out);
    out.extend_from_slice(b",\"tenant\":");
    jcs::write_string(tenant, &mut out);
    out.push(b'}');
    out
}

/// Every disclosure of a SHA-256 v3 record, by name (for the lookup and
/// tests). The record must have been validated (`v2::parse_record`).
pub fn disclosures(record: &Value) -> Result<BTreeMap<String, Value>, VerifyError> {
    disclosures_in(SdHash::Sha256, record)
}

/// Every disclosure of a v3 record committed with `h`, by name.
pub fn disclosures_in(h: SdHash, record: &Value) -> Result<BTreeMap<String, Value>, VerifyError> {
    let bad = |r: &str| VerifyError::invalid("record", r.to_owned());
    let salt: [u8; 32] = record
        .get("salt")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("salt must be base64 of 32 bytes"))?;
    let event = record.get("event").ok_or_else(|| bad("event is required"))?;
    let tenant = record.get("tenant").and_then(Value::as_str).ok_or_else(|| bad("no tenant"))?;
    let ic = match record.get("identity_commitment").and_then(Value::as_str) {
        Some(s) => Some(Hash::from_base64(s).map_err(|_| bad("bad identity_commitment"))?),
        None => None,
    };
    let chain = Chain::parse(record.get(CHAIN).ok_or_else(|| bad("chain is required"))?)?;
    let redacted = redacted_digests(record)?;
    let mut out: BTreeMap<String, Value> = claims(event, tenant, ic.as_ref())
        .into_iter()
        .filter(|(n, _)| !redacted.contains_key(n))
        .map(|(n, v)| {
            let d = disclosure_in(h, &salt, &n, v);
            (n, d)
        })
        .collect();
    out.insert(CHAIN.into(), disclosure_in(h, &salt, CHAIN, chain.value()));
    Ok(out)
}

/// The SHA-256 commitment of a v3 record: from its disclosures.
pub fn record_commitment(record: &Value) -> Result<Hash, VerifyError> {
    record_commitment_in(SdHash::Sha256, record)
}

/// The commitment of a v3 record with `h`: from its disclosures, and the
/// digests of the names it holds redacted.
pub fn record_commitment_in(h: SdHash, record: &Value) -> Result<Hash, VerifyError> {
    let mut digests: BTreeMap<String, Hash> = disclosures_in(h, record)?
        .into_iter()
        .map(|(n, d)| (n, disclosure_digest_in(h, &d)))
        .collect();
    digests.extend(redacted_digests(record)?);
    Ok(commitment_of_digests_in(h, &digests))
}

/// The lookup's view of a SHA-256 v3 record: the disclosures of `names`,
/// and the digests of every other name (`{"disclosures": [...], "digests": {...}}`).
pub fn partial_view(record: &Value, names: &[&str]) -> Result<Value, VerifyError> {
    partial_view_in(SdHash::Sha256, record, names)
}

/// [`partial_view`] of a record committed with `h`.
pub fn partial_view_in(h: SdHash, record: &Value, names: &[&str]) -> Result<Value, VerifyError> {
    let all = disclosures_in(h, record)?;
    let mut shown = Vec::new();
    let mut digests: Map<String, Value> = redacted_digests(record)?
        .into_iter()
        .map(|(n, h)| (n, Value::from(h.to_base64())))
        .collect();
    for (name, d) in all {
        if names.contains(&name.as_str()) {
            shown.push(d);
        } else {
            digests.insert(name, Value::from(disclosure_digest_in(h, &d).to_base64()));
        }
    }
    Ok(json!({"disclosures": shown, "digests": digests}))
}

/// Checks a partial view against a leaf's commitment: each disclosure is
/// `[b64 of 32 bytes, name, value]` with a name of [`NAMES`], `digests`
/// holds every other name once as base64 of 32 bytes, and the commitment
/// recomputed from both is `commitment`. Returns the disclosed values.
pub fn check_partial(
    commitment: &Hash,
    disclosures: &Value,
    digests: &Value,
) -> Result<BTreeMap<String, Value>, VerifyError> {
    check_partial_in(SdHash::Sha256, commitment, disclosures, digests)
}

/// [`check_partial`] for a leaf whose record is committed with `h`.
pub fn check_partial_in(
    h: SdHash,
    commitment: &Hash,
    disclosures: &Value,
    digests: &Value,
) -> Result<BTreeMap<String, Value>, VerifyError> {
    let bad = |f: &str, r: String| VerifyError::invalid(f.to_owned(), r);
    let list =
        disclosures.as_array().ok_or_else(|| bad("disclosures", "must be an array".into()))?;
    let given =
        digests.as_object().ok_or_else(|| bad("digests", "must be a JSON object".into()))?;
    let mut all = BTreeMap::new();
    let mut shown = BTreeMap::new();
    for (i, d) in list.iter().enumerate() {
        let f = format!("disclosures[{i}]");
        let parts = d
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| bad(&f, "must be [salt, name, value]".into()))?;
        let salt_ok = parts[0]
            .as_str()
            .is_some_and(|s| s.len() == 44 && B64.decode(s).is_ok_and(|b| b.len() == 32));
        if !salt_ok {
            return Err(bad(&f, "its salt must be standard base64 of 32 bytes".into()));
        }
        let name = parts[1]
            .as_str()
            .filter(|n| NAMES.contains(n))
            .ok_or_else(|| bad(&f, "its name is not one a v3 record commits to".into()))?;
        if all.insert(name.to_owned(), disclosure_digest_in(h, d)).is_some() {
            return Err(bad(&f, format!("{name} is disclosed twice")));
        }
        shown.insert(name.to_owned(), parts[2].clone());
    }
    for (name, v) in given {
        let f = format!("digests.{name}");
        if !NAMES.contains(&name.as_str()) {
            return Err(bad(&f, "is not a name a v3 record commits to".into()));
        }
        let h = v
            .as_str()
            .filter(|s| s.len() == 44)
            .and_then(|s| Hash::from_base64(s).ok())
            .ok_or_else(|| bad(&f, "must be standard base64 of 32 bytes".into()))?;
        if all.insert(name.clone(), h).is_some() {
            return Err(bad(&f, "is disclosed as well".into()));
        }
    }
    if let Some(missing) = NAMES.iter().find(|n| !all.contains_key(**n)) {
        return Err(bad("digests", format!("{missing} is neither disclosed nor digested")));
    }
    let got = commitment_of_digests_in(h, &all);
    if got != *commitment {
        return Err(bad(
            "disclosures",
            format!(
                "do not open the leaf: they give the commitment {}, the leaf holds {}",
                got.to_base64(),
                commitment.to_base64()
            ),
        ));
    }
    Ok(shown)
}

#[cfg(test)]
mod tests;
