//! Evidence v2: commitment-only public leaves, private records that open
//! them, and identity openings (docs/formats.md, "Evidence v2").
//!
//! ```text
//! leaf     = JCS({"commitment": b64, "commitment_alg": "sha256-jcs-salted/v2",
//!                 "format": "evidence-leaf/v2", "ledger_time": T})
//! record   = {"event": <event without "identity">, "format": "evidence-record/v2",
//!             "identity_commitment"?: b64, "salt": b64(32 bytes), "tenant": T}
//! commitment          = SHA-256("evidence-ledger/record/v2"   || 0x00 || JCS(record))
//! identity            = {"format": "evidence-identity/v2", "id_number", "id_type",
//!                        "name", "phone"?, "salt": b64(32 bytes)}
//! identity_commitment = SHA-256("evidence-ledger/identity/v2" || 0x00 || JCS(identity))
//! ```
//!
//! The leaf shows that something was logged, and when; the record says
//! who, what and which contract; the identity opening holds the real name
//! and ID number. A record without its identity opening still opens the
//! leaf, which is what lets a summary without identity fields verify.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::entry::{
    parse_leaf, parse_ledger_time, Event, EventKind, Identity, LeafEntry, LEAF_LIMITS,
};
use crate::jcs;
use crate::v3;
use crate::{Hash, VerifyError};

/// `format` of a v2 leaf.
pub const LEAF_FORMAT_V2: &str = "evidence-leaf/v2";
/// `format` of a v2 record.
pub const RECORD_FORMAT_V2: &str = "evidence-record/v2";
/// `format` of a v2 identity opening.
pub const IDENTITY_FORMAT_V2: &str = "evidence-identity/v2";
/// `commitment_alg` of a v2 leaf: SHA-256 over the domain string, 0x00 and
/// the RFC 8785 canonical JSON of the salted record.
pub const COMMITMENT_ALG_V2: &str = "sha256-jcs-salted/v2";
/// Domain string of the record commitment.
pub const RECORD_DOMAIN: &[u8] = b"evidence-ledger/record/v2";
/// Domain string of the identity commitment.
pub const IDENTITY_DOMAIN: &[u8] = b"evidence-ledger/identity/v2";
/// Bytes of salt in a record or identity opening.
pub const SALT_BYTES: usize = 32;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const LEAF_FIELDS: &[&str] = &["commitment", "commitment_alg", "format", "ledger_time"];
const RECORD_FIELDS: &[&str] =
    &["chain", "event", "format", "identity_commitment", "redacted", "salt", "tenant"];
const IDENTITY_FIELDS: &[&str] = &["format", "id_number", "id_type", "name", "phone", "salt"];

/// How a leaf's commitment is computed from its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitmentAlg {
    /// [`COMMITMENT_ALG_V2`]: over the whole salted record (`evidence-record/v2`).
    SaltedV2,
    /// [`v3::COMMITMENT_ALG_V3`]: over per-field salted digests
    /// (`evidence-record/v3`, selective disclosure and the contract chain).
    SdV3,
    /// [`v3::COMMITMENT_ALG_V3_SM3`]: the same record v3 with SM3 digests
    /// and HMAC-SM3 field salts (new records of an `sm2-sm3` log).
    SdV3Sm3,
}

impl CommitmentAlg {
    /// The `commitment_alg` string.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitmentAlg::SaltedV2 => COMMITMENT_ALG_V2,
            CommitmentAlg::SdV3 => v3::COMMITMENT_ALG_V3,
            CommitmentAlg::SdV3Sm3 => v3::COMMITMENT_ALG_V3_SM3,
        }
    }

    /// The hash of a v3 (`evidence-record/v3`) commitment; `None` for v2.
    pub fn sd_hash(self) -> Option<v3::SdHash> {
        match self {
            CommitmentAlg::SaltedV2 => None,
            CommitmentAlg::SdV3 => Some(v3::SdHash::Sha256),
            CommitmentAlg::SdV3Sm3 => Some(v3::SdHash::Sm3),
        }
    }

    /// The algorithm of v3 records committed with `h`.
    pub fn v3(h: v3::SdHash) -> CommitmentAlg {
        match h {
            v3::SdHash::Sha256 => CommitmentAlg::SdV3,
            v3::SdHash::Sm3 => CommitmentAlg::SdV3Sm3,
        }
    }
}

/// A decoded v2 leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafV2 {
    /// The record commitment.
    pub commitment: Hash,
    /// How the commitment is computed from the record.
    pub alg: CommitmentAlg,
    /// RFC 3339 UTC with microseconds and `Z`.
    pub ledger_time: String,
}

/// A leaf of either version. (A v1 leaf is large; leaves are parsed one at
/// a time, so boxing it would buy nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    /// A v1 leaf: the event in clear.
    V1(LeafEntry),
    /// A v2 leaf: a commitment and a time.
    V2(LeafV2),
}

impl Leaf {
    /// The leaf's ledger time.
    pub fn ledger_time(&self) -> &str {
        match self {
            Leaf::V1(e) => &e.ledger_time,
            Leaf::V2(l) => &l.ledger_time,
        }
    }
}

/// The leaf bytes of a v2 entry whose record is `evidence-record/v2`.
pub fn leaf_v2_bytes(commitment: &Hash, ledger_time: &str) -> Vec<u8> {
    leaf_bytes(commitment, CommitmentAlg::SaltedV2, ledger_time)
}

/// The leaf bytes of an entry, its record committed to by `alg`.
pub fn leaf_bytes(commitment: &Hash, alg: CommitmentAlg, ledger_time: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    // Member names are ASCII and written in canonical (sorted) order.
    out.extend_from_slice(b"{\"commitment\":");
    jcs::write_string(&commitment.to_base64(), &mut out);
    out.extend_from_slice(b",\"commitment_alg\":");
    jcs::write_string(alg.as_str(), &mut out);
    out.extend_from_slice(b",\"format\":");
    jcs::write_string(LEAF_FORMAT_V2, &mut out);
    out.extend_from_slice(b",\"ledger_time\":");
    jcs::write_string(ledger_time, &mut out);
    out.push(b'}');
    out
}

/// Parses leaf bytes of either version: a leaf with a `format` member is
/// v2 (exactly the four members, canonical), one without is v1.
pub fn parse_any_leaf(bytes: &[u8]) -> Result<Leaf, VerifyError> {
    let value = jcs::parse(bytes, &LEAF_LIMITS)?;
    let Some(map) = value.as_object() else {
        return Err(VerifyError::invalid("leaf", "must be a JSON object"));
    };
    if !map.contains_key("format") {
        return parse_leaf(bytes).map(Leaf::V1);
    }
    if jcs::to_canonical(&value) != bytes {
        return Err(VerifyError::malformed("leaf", "not in RFC 8785 canonical form"));
    }
    check_fields(map, LEAF_FIELDS, "")?;
    let format = string(map, "format")?;
    if format != LEAF_FORMAT_V2 {
        return Err(VerifyError::invalid("format", format!("unknown leaf format {format:?}")));
    }
    let alg = match string(map, "commitment_alg")? {
        COMMITMENT_ALG_V2 => CommitmentAlg::SaltedV2,
        v3::COMMITMENT_ALG_V3 => CommitmentAlg::SdV3,
        v3::COMMITMENT_ALG_V3_SM3 => CommitmentAlg::SdV3Sm3,
        _ => {
            return Err(VerifyError::invalid(
                "commitment_alg",
                format!(
                    "unknown commitment algorithm (expected {COMMITMENT_ALG_V2}, {} or {})",
                    v3::COMMITMENT_ALG_V3,
                    v3::COMMITMENT_ALG_V3_SM3
                ),
            ))
        }
    };
    let commitment = hash_b64(map, "commitment")?;
    let ledger_time = string(map, "ledger_time")?.to_owned();
    parse_ledger_time(&ledger_time)?;
    Ok(Leaf::V2(LeafV2 { commitment, alg, ledger_time }))
}

/// SHA-256(`domain` || 0x00 || `canonical`).
fn domain_hash(domain: &[u8], canonical: &[u8]) -> Hash {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(domain);
    h.update([0u8]);
    h.update(canonical);
    Hash(h.finalize().into())
}

/// The commitment of a record given as its canonical JSON.
pub fn record_commitment_of_canonical(canonical_record: &[u8]) -> Hash {
    domain_hash(RECORD_DOMAIN, canonical_record)
}

/// The commitment of a record.
pub fn record_commitment(record: &Value) -> Hash {
    record_commitment_of_canonical(&jcs::to_canonical(record))
}

/// The commitment of an identity opening.
pub fn identity_commitment(identity: &Value) -> Hash {
    domain_hash(IDENTITY_DOMAIN, &jcs::to_canonical(identity))
}

/// A v2 record: `event` must not hold `identity` (the ledger moves it into
/// the opening); `salt` is 32 bytes.
pub fn record_value(
    event_without_identity: &Value,
    tenant: &str,
    salt: &[u8; SALT_BYTES],
    identity_commitment: Option<&Hash>,
) -> Value {
    v3::record_value_as(RECORD_FORMAT_V2, event_without_identity, tenant, salt, identity_commitment)
}

/// The canonical JSON of [`record_value`], written around the event's
/// canonical JSON (already written once for the content hash): the same
/// bytes as `jcs::to_canonical(&record_value(..))`.
pub fn record_canonical(
    event_canonical: &[u8],
    tenant: &str,
    salt: &[u8; SALT_BYTES],
    identity_commitment: Option<&Hash>,
) -> Vec<u8> {
    v3::record_canonical_as(RECORD_FORMAT_V2, event_canonical, tenant, salt, identity_commitment)
}

/// An identity opening.
pub fn identity_value(identity: &Identity, salt: &[u8; SALT_BYTES]) -> Value {
    let mut v = json!({
        "format": IDENTITY_FORMAT_V2,
        "id_number": identity.id_number,
        "id_type": identity.id_type,
        "name": identity.name,
        "salt": B64.encode(salt),
    });
    if let (Some(p), Some(m)) = (&identity.phone, v.as_object_mut()) {
        m.insert("phone".into(), Value::from(p.as_str()));
    }
    v
}

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The event, validated (service kinds allowed).
    pub event: Event,
    /// The tenant.
    pub tenant: String,
    /// The identity sub-commitment, if the event came with an identity.
    pub identity_commitment: Option<Hash>,
    /// A v3 record's place in its contract's chain (`None` for v2).
    pub chain: Option<v3::Chain>,
    /// The names a subject erasure redacted from a v3 record (empty when
    /// it holds every value): the event's actor and attestations are
    /// then stand-ins (actor id `(erased)`, no attestations), not values.
    pub redacted: Vec<String>,
}

/// Validates a record object, v2 or v3 (members, format, salt, tenant,
/// event; a v3 record's chain).
pub fn parse_record(v: &Value) -> Result<Record, VerifyError> {
    let map =
        v.as_object().ok_or_else(|| VerifyError::invalid("record", "must be a JSON object"))?;
    check_fields(map, RECORD_FIELDS, "record.")?;
    let chain = match (string(map, "format")?, map.get("chain")) {
        (RECORD_FORMAT_V2, None) => None,
        (v3::RECORD_FORMAT_V3, Some(c)) => Some(v3::Chain::parse(c)?),
        (v3::RECORD_FORMAT_V3, None) => {
            return Err(VerifyError::invalid("record.chain", "required in evidence-record/v3"))
        }
        (RECORD_FORMAT_V2, Some(_)) => {
            return Err(VerifyError::invalid("record.chain", "unknown field"));
        }
        _ => {
            return Err(VerifyError::invalid(
                "record.format",
                "must be evidence-record/v2 or evidence-record/v3",
            ))
        }
    };
    salt(map, "record.salt")?;
    let tenant = string(map, "tenant")?;
    if tenant.is_empty() || tenant.chars().count() > 128 || tenant.chars().any(char::is_control) {
        return Err(VerifyError::invalid("record.tenant", "must be 1-128 characters"));
    }
    let raw = map.get("event").ok_or_else(|| VerifyError::invalid("record.event", "required"))?;
    if raw.get("identity").is_some() {
        return Err(VerifyError::invalid(
            "record.event.identity",
            "a record's event never holds the identity; it is in the identity opening",
        ));
    }
    if map.contains_key(v3::REDACTED) && chain.is_none() {
        return Err(VerifyError::invalid("record.redacted", "only a v3 record can be redacted"));
    }
    let redacted: Vec<String> = v3::redacted_digests(v)?.into_keys().collect();
    let event = if redacted.is_empty() {
        Event::from_value(raw.clone(), true).map_err(|e| under("record.event", e))?
    } else {
        redacted_event(raw, &redacted)?
    };
    let identity_commitment = match map.get("identity_commitment") {
        None => None,
        Some(_) => Some(hash_b64(map, "identity_commitment")?),
    };
    Ok(Record { event, tenant: tenant.to_owned(), identity_commitment, chain, redacted })
}

/// The actor id a redacted record's event shows in place of the erased one.
pub const REDACTED_ACTOR: &str = "(erased)";

/// The event of a record whose actor or attestations a subject erasure
/// redacted: validated as any event, with stand-ins for what is gone (an
/// actor `(erased)` with a zero commitment, no attestations; the kind is
/// checked as it is, but not its need of attestations).
fn redacted_event(raw: &Value, redacted: &[String]) -> Result<Event, VerifyError> {
    let mut probe = raw.clone();
    let kind = raw.get("kind").and_then(Value::as_str).and_then(EventKind::parse);
    if let Some(m) = probe.as_object_mut() {
        if redacted.iter().any(|n| n == "event.actor") {
            m.insert(
                "actor".into(),
                json!({"id": "erased", "display": REDACTED_ACTOR, "commitment": "00".repeat(32)}),
            );
        }
        if redacted.iter().any(|n| n == "event.attestations") {
            m.insert("attestations".into(), json!([]));
            // Any kind may stand without attestations once they are gone.
            m.insert("kind".into(), json!("registered"));
        }
    }
    let mut event = Event::from_value(probe, true).map_err(|e| under("record.event", e))?;
    match kind {
        Some(k) => event.kind = k,
        None => return Err(VerifyError::invalid("record.event.kind", "unknown kind")),
    }
    if redacted.iter().any(|n| n == "event.actor") {
        event.actor.id = REDACTED_ACTOR.into();
    }
    Ok(event)
}

/// Opens a v2 leaf with its record: the record must be valid, of the
/// format the leaf's `commitment_alg` names, and its commitment must be
/// the leaf's. Returns the entry as a v1 leaf would have given it (event,
/// tenant, the leaf's ledger time).
pub fn open_leaf(leaf: &LeafV2, record: &Value) -> Result<(LeafEntry, Record), VerifyError> {
    let rec = parse_record(record)?;
    let got = match (leaf.alg.sd_hash(), rec.chain.is_some()) {
        (None, false) => record_commitment(record),
        (Some(h), true) => v3::record_commitment_in(h, record)?,
        (_, _) => {
            let alg = leaf.alg;
            return Err(VerifyError::invalid(
                "record.format",
                format!("the leaf's commitment_alg {} names another record format", alg.as_str()),
            ));
        }
    };
    if got != leaf.commitment {
        return Err(VerifyError::invalid(
            "record",
            format!(
                "does not open the leaf: its commitment is {}, the leaf holds {}",
                got.to_base64(),
                leaf.commitment.to_base64()
            ),
        ));
    }
    let entry = LeafEntry {
        event: rec.event.clone(),
        tenant: rec.tenant.clone(),
        ledger_time: leaf.ledger_time.clone(),
    };
    Ok((entry, rec))
}

/// Validates an identity opening and checks it against the record's
/// identity commitment.
pub fn open_identity(record: &Record, identity: &Value) -> Result<Identity, VerifyError> {
    let map = identity
        .as_object()
        .ok_or_else(|| VerifyError::invalid("identity", "must be a JSON object"))?;
    check_fields(map, IDENTITY_FIELDS, "identity.")?;
    if string(map, "format")? != IDENTITY_FORMAT_V2 {
        return Err(VerifyError::invalid("identity.format", "must be evidence-identity/v2"));
    }
    salt(map, "identity.salt")?;
    let mut fields = map.clone();
    fields.remove("format");
    fields.remove("salt");
    let probe = json!({"event_id": "x", "document_id": "x", "kind": "registered",
        "document_hash": "00".repeat(32),
        "actor": {"id": "x", "display": "x", "commitment": "00".repeat(32)},
        "attestations": [], "identity": Value::Object(fields)});
    let parsed = Event::from_value(probe, false)?
        .identity
        .ok_or_else(|| VerifyError::invalid("identity", "required"))?;
    let Some(expected) = &record.identity_commitment else {
        return Err(VerifyError::invalid("identity", "the record commits to no identity"));
    };
    if identity_commitment(identity) != *expected {
        return Err(VerifyError::invalid(
            "identity",
            "does not open the record's identity_commitment",
        ));
    }
    Ok(parsed)
}

fn check_fields(
    map: &Map<String, Value>,
    allowed: &[&str],
    prefix: &str,
) -> Result<(), VerifyError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(VerifyError::invalid(format!("{prefix}{k}"), "unknown field")),
        None => Ok(()),
    }
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, VerifyError> {
    map.get(key)
        .ok_or_else(|| VerifyError::invalid(key, "required"))?
        .as_str()
        .ok_or_else(|| VerifyError::invalid(key, "must be a string"))
}

fn hash_b64(map: &Map<String, Value>, key: &str) -> Result<Hash, VerifyError> {
    let s = string(map, key)?;
    if s.len() != 44 {
        return Err(VerifyError::invalid(key, "must be standard base64 of 32 bytes"));
    }
    Hash::from_base64(s)
        .map_err(|_| VerifyError::invalid(key, "must be standard base64 of 32 bytes"))
}

fn salt(map: &Map<String, Value>, path: &str) -> Result<(), VerifyError> {
    let s = map
        .get("salt")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::invalid(path, "required, a string"))?;
    let ok = s.len() == 44 && B64.decode(s).is_ok_and(|b| b.len() == SALT_BYTES);
    if !ok {
        return Err(VerifyError::invalid(path, "must be standard base64 of 32 bytes"));
    }
    Ok(())
}

fn under(parent: &str, e: VerifyError) -> VerifyError {
    match e {
        VerifyError::Invalid { field, reason } => {
            VerifyError::Invalid { field: format!("{parent}.{field}"), reason }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({"event_id": "ev-1", "document_id": "c-42", "kind": "registered",
            "document_hash": "ab".repeat(32),
            "actor": {"id": "u-9", "display": "王*", "commitment": "cd".repeat(32)},
            "attestations": []})
    }

    #[test]
    fn a_record_opens_its_leaf_and_nothing_else() {
        let rec = record_value(&event(), "t-1", &[7; 32], None);
        let c = record_commitment(&rec);
        let leaf = leaf_v2_bytes(&c, "2026-12-02T00:00:00.000000Z");
        let Leaf::V2(l) = parse_any_leaf(&leaf).expect("leaf") else { panic!("v2") };
        let (entry, _) = open_leaf(&l, &rec).expect("opens");
        assert_eq!(entry.tenant, "t-1");
        let other = record_value(&event(), "t-2", &[7; 32], None);
        assert!(open_leaf(&l, &other).is_err());
        let resalted = record_value(&event(), "t-1", &[8; 32], None);
        assert!(open_leaf(&l, &resalted).is_err());
    }

    #[test]
    fn an_identity_opens_its_record() {
        let id = Identity {
            name: "王小明".into(),
            id_type: "resident_id".into(),
            id_number: "110101199003077777".into(),
            phone: None,
        };
        let opening = identity_value(&id, &[1; 32]);
        let ic = identity_commitment(&opening);
        let rec = parse_record(&record_value(&event(), "t", &[2; 32], Some(&ic))).expect("record");
        assert_eq!(open_identity(&rec, &opening).expect("opens"), id);
        let wrong = identity_value(&Identity { id_number: "1".into(), ..id }, &[1; 32]);
        assert!(open_identity(&rec, &wrong).is_err());
    }

    #[test]
    fn spliced_record_is_the_canonical_record() {
        let ic = Hash([3; 32]);
        for id in [None, Some(&ic)] {
            let v = record_value(&event(), "租户-1", &[5; 32], id);
            let spliced = record_canonical(&jcs::to_canonical(&event()), "租户-1", &[5; 32], id);
            assert_eq!(jcs::to_canonical(&v), spliced);
        }
    }

    #[test]
    fn leaf_v2_is_canonical_and_strict() {
        let leaf = leaf_v2_bytes(&Hash([0; 32]), "2026-12-02T00:00:00.000000Z");
        assert!(parse_any_leaf(&leaf).is_ok());
        let extra = String::from_utf8(leaf.clone()).expect("utf8").replace('}', ",\"x\":1}");
        assert!(parse_any_leaf(extra.as_bytes()).is_err());
    }
}
