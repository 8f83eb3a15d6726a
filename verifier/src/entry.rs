//! The entry model: events, actors, attestations, and leaf bytes.
//!
//! Owns the pinned event schema (DESIGN.md "Submitting events"), the bytes an
//! attestation signs, the attestation signature rule, and the leaf encoding
//! `{"event", "ledger_time", "tenant"}` in RFC 8785 canonical JSON.
//!
//! Longer than 600 lines: the pinned event schema is one specification
//! (every field's rule, the attestation rule, the v1 leaf and ledger time);
//! split, a field's rule and the rule that reads it would sit apart.

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};

use crate::jcs::{self, Limits};
use crate::{Hash, VerifyError};

/// Longest `event_id`, `document_id`, actor id or issuer name, in characters.
pub const MAX_ID_LEN: usize = 128;
/// Longest actor display name, in Unicode scalar values.
pub const MAX_DISPLAY_CHARS: usize = 64;
/// Most attestations one event may carry.
pub const MAX_ATTESTATIONS: usize = 16;
/// Largest claim, measured as its canonical JSON.
pub const MAX_CLAIM_BYTES: usize = 4 * 1024;
/// Deepest claim nesting (the claim object itself is level 1). Bounds the
/// depth of every leaf, so [`parse_leaf`] accepts every leaf we write.
pub const MAX_CLAIM_DEPTH: usize = 8;
/// Largest decoded timestamp token.
pub const MAX_TIMESTAMP_TOKEN: usize = 16 * 1024;

/// Limits for parsing leaf bytes: generous enough for every valid event
/// (16 claims of 4 KiB, a 16 KiB token), and leaf depth is
/// leaf/event/attestations/attestation plus the claim.
pub const LEAF_LIMITS: Limits =
    Limits { max_bytes: 1 << 20, max_depth: 4 + MAX_CLAIM_DEPTH, max_string: 64 * 1024 };

const EVENT_FIELDS: &[&str] = &[
    "event_id",
    "document_id",
    "kind",
    "document_hash",
    "actor",
    "attestations",
    "timestamp_token",
    "event_timestamp_token",
    "identity",
];
const ACTOR_FIELDS: &[&str] = &["id", "display", "commitment"];
const ATTESTATION_FIELDS: &[&str] = &["issuer", "claim", "signature", "v", "certificate"];
const IDENTITY_FIELDS: &[&str] = &["name", "id_type", "id_number", "phone"];

/// Length of standard padded base64 for 64 bytes.
const SIGNATURE_B64_LEN: usize = 88;
/// Length of standard padded base64 for [`MAX_TIMESTAMP_TOKEN`] bytes.
const TIMESTAMP_B64_MAX: usize = MAX_TIMESTAMP_TOKEN.div_ceil(3) * 4;

/// What happened to a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The contract was registered.
    Registered,
    /// A party's real-name identity was checked.
    IdentityVerified,
    /// A party's signing intent was proven (SMS code, face liveness, ...).
    IntentVerified,
    /// A party signed.
    Signed,
    /// A party approved.
    Approved,
    /// A party rejected.
    Rejected,
    /// The contract was revoked.
    Revoked,
    /// All parties signed; the contract is complete.
    Completed,
    /// The contract was archived.
    Archived,
    /// An evidence report was issued (written by the service only).
    ReportIssued,
    /// A trusted issuer or a bearer token was added or revoked (written by
    /// the service only, attested by the log key): the registry's history.
    RegistryChanged,
    /// A document's private records (or a data subject's identity
    /// openings) were destroyed on request (written by the service only,
    /// attested by the log key). Evidence v2.
    Erased,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 12] = [
        EventKind::Registered,
        EventKind::IdentityVerified,
        EventKind::IntentVerified,
        EventKind::Signed,
        EventKind::Approved,
        EventKind::Rejected,
        EventKind::Revoked,
        EventKind::Completed,
        EventKind::Archived,
        EventKind::ReportIssued,
        EventKind::RegistryChanged,
        EventKind::Erased,
    ];

    /// The wire name (`identity_verified`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Registered => "registered",
            EventKind::IdentityVerified => "identity_verified",
            EventKind::IntentVerified => "intent_verified",
            EventKind::Signed => "signed",
            EventKind::Approved => "approved",
            EventKind::Rejected => "rejected",
            EventKind::Revoked => "revoked",
            EventKind::Completed => "completed",
            EventKind::Archived => "archived",
            EventKind::ReportIssued => "report_issued",
            EventKind::RegistryChanged => "registry_changed",
            EventKind::Erased => "erased",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether only the service itself may write this kind.
    pub fn is_service_kind(&self) -> bool {
        matches!(self, EventKind::ReportIssued | EventKind::RegistryChanged | EventKind::Erased)
    }

    /// Whether an event of this kind may carry no attestation.
    pub fn may_omit_attestations(&self) -> bool {
        matches!(
            self,
            EventKind::Registered
                | EventKind::Completed
                | EventKind::Archived
                | EventKind::ReportIssued
        )
    }
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Pseudonymous id.
    pub id: String,
    /// Masked display name (e.g. 王*).
    pub display: String,
    /// 64 lowercase hex: salted commitment to personal data.
    pub commitment: String,
}

/// The real identity of an actor, where the platform has it (evidence v2).
/// Never written in clear: the ledger moves it into a salted identity
/// opening (`evidence-identity/v2`) that only authorized roles see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Full legal name.
    pub name: String,
    /// Kind of document the number belongs to (`resident_id`, `passport`,
    /// `uscc`, ...): 1-32 chars of `[A-Za-z0-9._:-]`.
    pub id_type: String,
    /// The ID number: 1-64 chars of `[A-Za-z0-9-]`.
    pub id_number: String,
    /// Phone number, optional: 1-32 chars of `[0-9+ -]`.
    pub phone: Option<String>,
}

/// A signed claim by an issuer.
#[derive(Clone, Debug, PartialEq)]
pub struct Attestation {
    /// Issuer name in the trusted-issuer registry.
    pub issuer: String,
    /// The claim object, as submitted.
    pub claim: Value,
    /// Ed25519 signature (64 bytes).
    pub signature: [u8; 64],
    /// Message version: 1 (no `v` member; signs claim, document hash,
    /// event id, issuer, kind) or 2 (`"v": 2`; also binds tenant, document
    /// id and actor id under a context string).
    pub version: u8,
    /// The minor version of a v2 message: 0, or 1 for v2.1 (`"v": "2.1"`;
    /// also binds the person's identity digest and the log's origin,
    /// [`crate::attest::attestation_message_v2_1`]). A v2.1 attestation
    /// has `version` 2, so every rule for v2 holds for it too.
    pub minor: u8,
    /// The SM2 issuer's certificate chain (DER, end certificate first),
    /// for an issuer certified by a CA rather than registered by key
    /// ([`crate::issuer`]); empty for a registered issuer.
    pub certificate: Vec<Vec<u8>>,
}

/// One submitted signing event, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Client-chosen idempotency key.
    pub event_id: String,
    /// Contract id.
    pub document_id: String,
    /// What happened.
    pub kind: EventKind,
    /// SHA-256 of the document bytes.
    pub document_hash: Hash,
    /// Who acted.
    pub actor: Actor,
    /// Signed claims.
    pub attestations: Vec<Attestation>,
    /// Optional DER RFC 3161 token over `document_hash`: the document
    /// existed by its genTime.
    pub timestamp_token: Option<Vec<u8>>,
    /// Optional DER RFC 3161 token over [`Event::content_imprint`]: this
    /// event, as submitted, existed by its genTime.
    pub event_timestamp_token: Option<Vec<u8>>,
    /// The actor's real identity, if submitted (evidence v2: moved into
    /// the private identity opening, never into a record or leaf).
    pub identity: Option<Identity>,
    /// The submitted JSON object, kept to write it unchanged into the leaf.
    pub raw: Value,
}

impl Event {
    /// Validates a submitted event object against the pinned schema.
    /// `allow_service_kinds` admits `report_issued` (service-written events).
    pub fn from_value(value: Value, allow_service_kinds: bool) -> Result<Event, VerifyError> {
        let map = value
            .as_object()
            .ok_or_else(|| VerifyError::invalid("event", "must be a JSON object"))?;
        check_fields(map, EVENT_FIELDS, "")?;
        let kind = parse_kind(required(map, "kind", "kind")?, allow_service_kinds)?;
        let event = Event {
            event_id: id_string(required(map, "event_id", "event_id")?, "event_id")?,
            document_id: id_string(required(map, "document_id", "document_id")?, "document_id")?,
            kind,
            document_hash: hex64(
                required(map, "document_hash", "document_hash")?,
                "document_hash",
            )?
            .1,
            actor: parse_actor(required(map, "actor", "actor")?)?,
            attestations: parse_attestations(required(map, "attestations", "attestations")?, kind)?,
            timestamp_token: parse_timestamp_token(map.get("timestamp_token"), "timestamp_token")?,
            event_timestamp_token: parse_timestamp_token(
                map.get("event_timestamp_token"),
                "event_timestamp_token",
            )?,
            identity: map.get("identity").map(parse_identity).transpose()?,
            raw: Value::Null,
        };
        Ok(Event { raw: value, ..event })
    }

    /// The bytes attestation `i` signs, for an event of `tenant`.
    ///
    /// v1: canonical JSON of {"claim", "document_hash", "event_id",
    /// "issuer", "kind"}. v2: canonical JSON of {"actor_id", "claim",
    /// "context", "document_hash", "document_id", "event_id", "issuer",
    /// "kind", "tenant"} ([`crate::attest::attestation_message_v2`]).
    ///
    /// # Panics
    /// If `i >= self.attestations.len()`.
    ///
    /// A v2.1 attestation also binds the log and the person, which `tenant`
    /// alone does not give: this yields its v2 message, which a v2.1
    /// signature never verifies against (the context differs). Use
    /// [`Event::attestation_message_for`].
    pub fn attestation_message(&self, i: usize, tenant: &str) -> Vec<u8> {
        let a = &self.attestations[i];
        if a.version == 2 {
            let hash = self.document_hash.to_hex();
            return crate::attest::attestation_message_v2(&self.v2_members(i, tenant, &hash));
        }
        crate::attest::attestation_message(
            &a.claim,
            &self.document_hash.to_hex(),
            &self.event_id,
            &a.issuer,
            self.kind.as_str(),
        )
    }

    /// The person a v2.1 attestation of this event binds, from its
    /// submitted `identity` hashed with `suite`'s hash (on ingest, where the
    /// identity is in clear before the ledger seals it):
    /// [`crate::attest::identity_digest`], or no person.
    pub fn person(&self, suite: crate::suite::Suite) -> crate::attest::Person {
        match &self.identity {
            None => crate::attest::Person::NoIdentity,
            Some(id) => crate::attest::Person::Digest(crate::attest::identity_digest(
                suite,
                &id.name,
                &id.id_type,
                &id.id_number,
            )),
        }
    }

    /// The v2 members of attestation `i`'s message.
    fn v2_members<'a>(
        &'a self,
        i: usize,
        tenant: &'a str,
        document_hash_hex: &'a str,
    ) -> crate::attest::AttestationV2<'a> {
        let a = &self.attestations[i];
        crate::attest::AttestationV2 {
            tenant,
            document_id: &self.document_id,
            document_hash_hex,
            event_id: &self.event_id,
            kind: self.kind.as_str(),
            actor_id: &self.actor.id,
            issuer: &a.issuer,
            claim: &a.claim,
        }
    }

    /// The bytes attestation `i` signs, for an event logged as `binding`
    /// says: v1 and v2 as [`Event::attestation_message`]; v2.1 adds the
    /// log's origin and the person ([`crate::attest::attestation_message_v2_1`]).
    ///
    /// Errors: [`VerifyError::Invalid`] on `attestations[i].v` for a v2.1
    /// attestation when `binding` lacks the log's origin or the person's
    /// identity (an opening withheld or erased): its signature cannot be
    /// checked then.
    ///
    /// # Panics
    /// If `i >= self.attestations.len()`.
    pub fn attestation_message_for(
        &self,
        i: usize,
        binding: &crate::attest::Binding<'_>,
    ) -> Result<Vec<u8>, VerifyError> {
        use crate::attest::{attestation_message_v2_1, AttestationV21, Person};
        if self.attestations[i].minor != 1 {
            return Ok(self.attestation_message(i, binding.tenant));
        }
        let field = format!("attestations[{i}].v");
        let log = binding.log.ok_or_else(|| {
            VerifyError::invalid(&field, "a v2.1 attestation binds the log: its origin is unknown")
        })?;
        let identity = match &binding.person {
            Person::NoIdentity => None,
            Person::Digest(d) => Some(d.as_str()),
            Person::Withheld => {
                return Err(VerifyError::invalid(&field, crate::attest::PERSON_WITHHELD));
            }
        };
        let hash = self.document_hash.to_hex();
        let v2 = self.v2_members(i, binding.tenant, &hash);
        Ok(attestation_message_v2_1(&AttestationV21 { v2, log, identity }))
    }

    /// What an `event_timestamp_token` covers: SHA-256 of the RFC 8785
    /// canonical JSON of the submitted event without its
    /// `event_timestamp_token` and `identity` members (docs/timestamps.md;
    /// the identity never leaves the private opening, so the token must
    /// not depend on it).
    pub fn content_imprint(&self) -> Hash {
        Hash::digest(&self.content_imprint_data())
    }

    /// The bytes [`Event::content_imprint`] digests. A token may imprint
    /// them with SM3 instead of SHA-256 (GM/T 0033 TSAs do), which
    /// [`crate::tsa::Imprinted::Bytes`] lets the verifier check.
    pub fn content_imprint_data(&self) -> Vec<u8> {
        let mut v = self.raw.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("event_timestamp_token");
            m.remove("identity");
        }
        jcs::to_canonical(&v)
    }

    /// The submitted event without its `identity` member: what a v2
    /// record holds.
    pub fn raw_without_identity(&self) -> Value {
        let mut v = self.raw.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("identity");
        }
        v
    }

    /// SHA-256 of the canonical JSON of `raw`: identifies the content for idempotency.
    pub fn content_hash(&self) -> Hash {
        Hash::digest(&jcs::to_canonical(&self.raw))
    }
}

/// Parses and validates one submitted event from JSON bytes (a client
/// submission: `report_issued` is refused).
pub fn event_from_json(bytes: &[u8], limits: &Limits) -> Result<Event, VerifyError> {
    Event::from_value(jcs::parse(bytes, limits)?, false)
}

/// Refuses members not in `allowed`; `prefix` makes the field path.
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

/// The member `key`, which must be present; `path` names it in errors.
fn required<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, VerifyError> {
    map.get(key).ok_or_else(|| VerifyError::invalid(path, "required"))
}

/// A JSON string, or an error naming `path`.
fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, VerifyError> {
    v.as_str().ok_or_else(|| VerifyError::invalid(path, "must be a string"))
}

/// 1-128 chars of `[A-Za-z0-9._:-]`.
fn id_string(v: &Value, path: &str) -> Result<String, VerifyError> {
    let s = string(v, path)?;
    let charset_ok =
        s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if s.is_empty() || s.len() > MAX_ID_LEN || !charset_ok {
        return Err(VerifyError::invalid(path, "must be 1-128 characters of [A-Za-z0-9._:-]"));
    }
    Ok(s.to_owned())
}

/// 64 lowercase hex digits; returns the string and the hash.
fn hex64(v: &Value, path: &str) -> Result<(String, Hash), VerifyError> {
    let s = string(v, path)?;
    let hash = Hash::from_hex(s)
        .map_err(|_| VerifyError::invalid(path, "must be 64 lowercase hex digits"))?;
    Ok((s.to_owned(), hash))
}

/// A registered kind; `report_issued` only if `allow_service_kinds`.
fn parse_kind(v: &Value, allow_service_kinds: bool) -> Result<EventKind, VerifyError> {
    let kind = EventKind::parse(string(v, "kind")?)
        .ok_or_else(|| VerifyError::invalid("kind", "unknown kind"))?;
    if kind.is_service_kind() && !allow_service_kinds {
        return Err(VerifyError::invalid(
            "kind",
            "report_issued and registry_changed are written by the service only",
        ));
    }
    Ok(kind)
}

/// The actor: exactly {id, display, commitment}.
fn parse_actor(v: &Value) -> Result<Actor, VerifyError> {
    let map =
        v.as_object().ok_or_else(|| VerifyError::invalid("actor", "must be a JSON object"))?;
    check_fields(map, ACTOR_FIELDS, "actor.")?;
    Ok(Actor {
        id: id_string(required(map, "id", "actor.id")?, "actor.id")?,
        display: display_name(required(map, "display", "actor.display")?)?,
        commitment: hex64(required(map, "commitment", "actor.commitment")?, "actor.commitment")?.0,
    })
}

/// A masked display name: 1-64 characters, no control characters and no
/// bidirectional overrides (which could make a name read as another).
fn display_name(v: &Value) -> Result<String, VerifyError> {
    const PATH: &str = "actor.display";
    let s = string(v, PATH)?;
    let count = s.chars().count();
    if count == 0 || count > MAX_DISPLAY_CHARS {
        return Err(VerifyError::invalid(PATH, "must be 1-64 characters"));
    }
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if s.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(VerifyError::invalid(PATH, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// The attestations array; may be empty only for some kinds.
fn parse_attestations(v: &Value, kind: EventKind) -> Result<Vec<Attestation>, VerifyError> {
    let items =
        v.as_array().ok_or_else(|| VerifyError::invalid("attestations", "must be an array"))?;
    if items.len() > MAX_ATTESTATIONS {
        return Err(VerifyError::invalid("attestations", "more than 16 attestations"));
    }
    if items.is_empty() && !kind.may_omit_attestations() {
        return Err(VerifyError::invalid(
            "attestations",
            format!("{} needs at least one attestation", kind.as_str()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_attestation(item, &format!("attestations[{i}]")))
        .collect()
}

/// One attestation: exactly {issuer, claim, signature}.
fn parse_attestation(v: &Value, path: &str) -> Result<Attestation, VerifyError> {
    let map = v.as_object().ok_or_else(|| VerifyError::invalid(path, "must be a JSON object"))?;
    check_fields(map, ATTESTATION_FIELDS, &format!("{path}."))?;
    let field = |name: &str| format!("{path}.{name}");
    Ok(Attestation {
        issuer: id_string(required(map, "issuer", &field("issuer"))?, &field("issuer"))?,
        claim: parse_claim(required(map, "claim", &field("claim"))?, &field("claim"))?,
        signature: parse_signature(
            required(map, "signature", &field("signature"))?,
            &field("signature"),
        )?,
        version: if map.contains_key("v") { 2 } else { 1 },
        minor: match map.get("v") {
            None => 0,
            Some(v) if v.as_u64() == Some(2) && v.is_u64() => 0,
            Some(v) if v.as_str() == Some(crate::attest::ATTESTATION_V2_1) => 1,
            Some(_) => {
                return Err(VerifyError::invalid(
                    field("v"),
                    "must be 2 or \"2.1\" (omit it for a v1 attestation)",
                ))
            }
        },
        certificate: match map.get("certificate") {
            None => Vec::new(),
            Some(_) if map.get("v").is_none() => {
                return Err(VerifyError::invalid(
                    field("certificate"),
                    "only an attestation v2 (\"v\": 2 or \"2.1\") may carry a certificate",
                ))
            }
            Some(c) => parse_certificate_chain(c, &field("certificate"))?,
        },
    })
}

/// Most certificates an attestation's chain may hold (its end certificate
/// included); [`crate::x509sm2::MAX_CHAIN_CERTS`].
pub const MAX_ATTESTATION_CHAIN: usize = 8;
/// Largest certificate of an attestation's chain, DER bytes.
pub const MAX_ATTESTATION_CERT: usize = 16 * 1024;

/// `certificate`: 1 to [`MAX_ATTESTATION_CHAIN`] standard base64 DER
/// certificates, end certificate first, each at most
/// [`MAX_ATTESTATION_CERT`] bytes (decoded as X.509 only when checked).
fn parse_certificate_chain(v: &Value, path: &str) -> Result<Vec<Vec<u8>>, VerifyError> {
    let bad = || {
        VerifyError::invalid(
            path,
            format!(
                "must be an array of 1-{MAX_ATTESTATION_CHAIN} standard base64 DER certificates \
                 (end certificate first), each at most 16 KiB"
            ),
        )
    };
    let items = v.as_array().filter(|a| !a.is_empty() && a.len() <= MAX_ATTESTATION_CHAIN);
    items
        .ok_or_else(bad)?
        .iter()
        .map(|c| {
            let s = c.as_str().filter(|s| s.len() <= MAX_ATTESTATION_CERT.div_ceil(3) * 4);
            let der = s.and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok());
            der.filter(|d| !d.is_empty() && d.len() <= MAX_ATTESTATION_CERT).ok_or_else(bad)
        })
        .collect()
}

/// The optional `identity` member: {name, id_type, id_number, phone?}.
fn parse_identity(v: &Value) -> Result<Identity, VerifyError> {
    let map =
        v.as_object().ok_or_else(|| VerifyError::invalid("identity", "must be a JSON object"))?;
    check_fields(map, IDENTITY_FIELDS, "identity.")?;
    let text = |key: &str, max: usize, ok: &dyn Fn(char) -> bool, what: &str| {
        let path = format!("identity.{key}");
        let s = string(required(map, key, &path)?, &path)?;
        let n = s.chars().count();
        if n == 0 || n > max || !s.chars().all(ok) {
            return Err(VerifyError::invalid(path, format!("must be 1-{max} {what}")));
        }
        Ok(s.to_owned())
    };
    let bidi = |c: char| matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
    let name_ok = |c: char| !c.is_control() && !bidi(c);
    let id_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    let number_ok = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let phone_ok = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-');
    Ok(Identity {
        name: text("name", MAX_DISPLAY_CHARS, &name_ok, "characters, no control characters")?,
        id_type: text("id_type", 32, &id_ok, "characters of [A-Za-z0-9._:-]")?,
        id_number: text("id_number", 64, &number_ok, "characters of [A-Za-z0-9-]")?,
        phone: match map.get("phone") {
            None => None,
            Some(_) => Some(text("phone", 32, &phone_ok, "characters of [0-9+ -]")?),
        },
    })
}

/// A claim: a JSON object of bounded depth and canonical size.
fn parse_claim(v: &Value, path: &str) -> Result<Value, VerifyError> {
    if !v.is_object() {
        return Err(VerifyError::invalid(path, "must be a JSON object"));
    }
    // Depth first: it bounds the recursion of the canonical writer below.
    if deeper_than(v, MAX_CLAIM_DEPTH) {
        return Err(VerifyError::invalid(
            path,
            format!("nested deeper than {MAX_CLAIM_DEPTH} levels"),
        ));
    }
    if jcs::to_canonical(v).len() > MAX_CLAIM_BYTES {
        return Err(VerifyError::invalid(path, "larger than 4 KiB as canonical JSON"));
    }
    Ok(v.clone())
}

/// Whether `v` nests arrays/objects more than `max` levels; recursion
/// stops at `max`, whatever the value's real depth.
fn deeper_than(v: &Value, max: usize) -> bool {
    match v {
        Value::Array(items) => max == 0 || items.iter().any(|c| deeper_than(c, max - 1)),
        Value::Object(map) => max == 0 || map.values().any(|c| deeper_than(c, max - 1)),
        _ => false,
    }
}

/// Standard padded base64 of exactly 64 bytes.
fn parse_signature(v: &Value, path: &str) -> Result<[u8; 64], VerifyError> {
    let s = string(v, path)?;
    let bad = || VerifyError::invalid(path, "must be standard base64 of 64 bytes");
    if s.len() != SIGNATURE_B64_LEN {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| bad())?;
    <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| bad())
}

/// Optional standard base64, 1 byte to 16 KiB decoded; `null` is refused
/// (absent means absent).
fn parse_timestamp_token(
    v: Option<&Value>,
    path: &'static str,
) -> Result<Option<Vec<u8>>, VerifyError> {
    let Some(v) = v else { return Ok(None) };
    if v.is_null() {
        return Err(VerifyError::invalid(path, "null is not allowed; omit the field"));
    }
    let s = string(v, path)?;
    if s.is_empty() || s.len() > TIMESTAMP_B64_MAX {
        return Err(VerifyError::invalid(path, "must be 1 byte to 16 KiB"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| VerifyError::invalid(path, "must be standard base64"))?;
    if bytes.len() > MAX_TIMESTAMP_TOKEN {
        return Err(VerifyError::invalid(path, "must be 1 byte to 16 KiB"));
    }
    Ok(Some(bytes))
}

/// Verifies one attestation signature: the one signature rule, applied on
/// ingest and by every offline verifier alike.
///
/// Rule: `VerifyingKey::verify_strict` (RFC 8032 §5.1.7 without the cofactor,
/// canonical `s` and `R` encodings, small-order `R` and keys refused). Any
/// signature it accepts is accepted by every common Ed25519 verifier (Go,
/// libsodium, dalek, ZIP-215), which matters because courts re-check
/// evidence with tools of their own choosing.
pub fn verify_attestation(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), VerifyError> {
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|e| VerifyError::BadSignature(e.to_string()))
}

/// A decoded leaf: the event, its tenant and its ledger time.
#[derive(Clone, Debug, PartialEq)]
pub struct LeafEntry {
    /// The submitted event.
    pub event: Event,
    /// Tenant, from the submitter's token.
    pub tenant: String,
    /// RFC 3339 UTC with microseconds and `Z`.
    pub ledger_time: String,
}

/// The leaf bytes: canonical JSON of {"event": raw, "ledger_time", "tenant"}.
pub fn leaf_bytes(event: &Event, tenant: &str, ledger_time: &str) -> Vec<u8> {
    leaf_bytes_from_canonical(&jcs::to_canonical(&event.raw), tenant, ledger_time)
}

/// [`leaf_bytes`] from the event's canonical JSON, already written (the
/// ledger writes it once, off its sequencer, for the content hash too).
pub fn leaf_bytes_from_canonical(event_json: &[u8], tenant: &str, ledger_time: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(event_json.len() + tenant.len() + 64);
    // Member names are ASCII and already in canonical order.
    out.extend_from_slice(b"{\"event\":");
    out.extend_from_slice(event_json);
    out.extend_from_slice(b",\"ledger_time\":");
    jcs::write_string(ledger_time, &mut out);
    out.extend_from_slice(b",\"tenant\":");
    jcs::write_string(tenant, &mut out);
    out.push(b'}');
    out
}

/// Parses and validates leaf bytes (strict JSON; must be canonical).
pub fn parse_leaf(bytes: &[u8]) -> Result<LeafEntry, VerifyError> {
    let value = jcs::parse(bytes, &LEAF_LIMITS)?;
    if jcs::to_canonical(&value) != bytes {
        return Err(VerifyError::malformed("leaf", "not in RFC 8785 canonical form"));
    }
    let Value::Object(mut map) = value else {
        return Err(VerifyError::invalid("leaf", "must be a JSON object"));
    };
    // Members other than these three may be added by later versions of the
    // ledger (DESIGN.md); they are covered by the leaf hash and ignored here.
    let tenant = tenant_name(required(&map, "tenant", "tenant")?)?;
    let ledger_time =
        string(required(&map, "ledger_time", "ledger_time")?, "ledger_time")?.to_owned();
    parse_ledger_time(&ledger_time)?;
    let raw = map.remove("event").ok_or_else(|| VerifyError::invalid("event", "required"))?;
    let event = Event::from_value(raw, true).map_err(|e| under("event", e))?;
    Ok(LeafEntry { event, tenant, ledger_time })
}

/// A tenant name: 1-128 characters, no control characters.
fn tenant_name(v: &Value) -> Result<String, VerifyError> {
    let s = string(v, "tenant")?;
    if s.is_empty() || s.chars().count() > MAX_ID_LEN || s.chars().any(char::is_control) {
        return Err(VerifyError::invalid(
            "tenant",
            "must be 1-128 characters, no control characters",
        ));
    }
    Ok(s.to_owned())
}

/// Prefixes the field path of an `Invalid` error with `parent.`.
fn under(parent: &str, e: VerifyError) -> VerifyError {
    match e {
        VerifyError::Invalid { field, reason } if field == parent => {
            VerifyError::Invalid { field, reason }
        }
        VerifyError::Invalid { field, reason } => {
            VerifyError::Invalid { field: format!("{parent}.{field}"), reason }
        }
        other => other,
    }
}

/// Unix microseconds of 0000-01-01T00:00:00.000000Z.
pub const MIN_LEDGER_MICROS: i64 = -62_167_219_200_000_000;
/// Unix microseconds of 9999-12-31T23:59:59.999999Z.
pub const MAX_LEDGER_MICROS: i64 = 253_402_300_799_999_999;

/// Formats Unix microseconds as a ledger time: RFC 3339 UTC with exactly
/// six fractional digits and `Z` (`2026-01-02T03:04:05.000006Z`). Values
/// outside years 0000-9999, which RFC 3339 cannot write, are clamped.
pub fn format_ledger_time(unix_micros: i64) -> String {
    let micros = unix_micros.clamp(MIN_LEDGER_MICROS, MAX_LEDGER_MICROS);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    // In range after the clamp; the fallback is unreachable.
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        frac
    )
}

/// Parses a ledger time (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, exactly) into Unix
/// microseconds. Other RFC 3339 spellings (offsets, other precisions, leap
/// seconds) are refused so that each instant has one spelling.
pub fn parse_ledger_time(s: &str) -> Result<i64, VerifyError> {
    let bad = || VerifyError::invalid("ledger_time", "must be YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)");
    let b = s.as_bytes();
    let layout_ok = b.len() == 27
        && [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')]
            .iter()
            .all(|&(i, c)| b[i] == c);
    if !layout_ok {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<u32, VerifyError> {
        let digits = &b[from..to];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits.iter().fold(0, |acc, &d| acc * 10 + u32::from(d - b'0')))
    };
    let month = time::Month::try_from(num(5, 7)? as u8).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(num(0, 4)? as i32, month, num(8, 10)? as u8)
        .map_err(|_| bad())?;
    let clock = time::Time::from_hms_micro(
        num(11, 13)? as u8,
        num(14, 16)? as u8,
        num(17, 19)? as u8,
        num(20, 26)?,
    )
    .map_err(|_| bad())?;
    let secs = time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp();
    Ok(secs * 1_000_000 + i64::from(num(20, 26)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("Signed"), None);
    }

    #[test]
    fn depth_check_is_bounded() {
        let v = serde_json::json!({"a": {"b": [1]}});
        assert!(!deeper_than(&v, 3));
        assert!(deeper_than(&v, 2));
    }
}
