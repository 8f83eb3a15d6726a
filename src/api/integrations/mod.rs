//! Adapters for e-signature platforms' webhooks (issue 28): Documenso and
//! DocuSeal report what happens to a document, and each report becomes
//! evidence events of the tenant, attested by the integration's own key.
//!
//! Owns the platform-neutral model of a report ([`Report`], [`Fact`]), the
//! webhook handler and the admin handlers. The parts: [`config`] (the
//! per-tenant integration: hashed secret, sealed API token and key),
//! [`documenso`] and [`docuseal`] (their payloads into a [`Report`]),
//! [`fetch`] (the document from the platform's API, bounded), [`record`]
//! (facts into signed events, appended at once). Calls the ledger, the
//! API's shared helpers and the metrics; nothing calls it but the router.

pub(crate) mod config;
mod documenso;
mod docuseal;
pub mod egress;
mod fetch;
mod record;
mod webhook;

pub(crate) use webhook::{admin, webhook};

use serde_json::{Map, Value};

/// The platforms the service has an adapter for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Platform {
    /// Documenso (documenso/documenso).
    Documenso,
    /// DocuSeal (docusealco/docuseal).
    Docuseal,
}

impl Platform {
    /// `documenso` | `docuseal`, as the paths spell them.
    pub(crate) fn parse(s: &str) -> Option<Platform> {
        match s {
            "documenso" => Some(Platform::Documenso),
            "docuseal" => Some(Platform::Docuseal),
            _ => None,
        }
    }

    /// The path and label name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Platform::Documenso => "documenso",
            Platform::Docuseal => "docuseal",
        }
    }
}

/// What one webhook delivery reported, platform-neutral.
#[derive(Debug, PartialEq)]
pub(crate) struct Report {
    /// The platform's event type, as sent (`DOCUMENT_SIGNED`, `form.completed`).
    pub event_type: String,
    /// The platform's time of the delivery (`createdAt`, `timestamp`).
    pub reported_at: String,
    /// The platform's numeric id of the document (Documenso) or
    /// submission (DocuSeal): what its API downloads by.
    pub document: u64,
    /// Other ids of the document the platform gave (envelope id, slug).
    pub document_ids: Map<String, Value>,
    /// The facts, in the order they are to be logged.
    pub facts: Vec<Fact>,
}

/// One fact of a report: one evidence event.
#[derive(Debug, PartialEq)]
pub(crate) struct Fact {
    /// The evidence kind (`registered`, `signed`, ...).
    pub kind: &'static str,
    /// What makes the fact unique within its document (`signed-52`): the
    /// event id is built from it, so a redelivery or a later report of
    /// the same fact finds the entry already written.
    pub key: String,
    /// Who acted.
    pub actor: Party,
    /// The platform's ids and timestamps of the fact, for the claim.
    pub claim: Map<String, Value>,
}

/// A party as the platform names it.
#[derive(Debug, PartialEq)]
pub(crate) struct Party {
    /// The platform's id of the recipient, submitter or owner
    /// (`recipient-52`, `submitter-7`, `user-1`).
    pub id: String,
    /// The name the platform holds, if any: only masked and committed to.
    pub name: Option<String>,
    /// The e-mail address the platform holds, if any: only committed to.
    pub email: Option<String>,
}

/// What a payload parser found.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    /// Facts to log.
    Report(Report),
    /// An event type acknowledged but not logged: `reason` is
    /// `unknown_event` (a type the adapter does not know) or `no_kind` (a
    /// type our evidence kinds have no word for, such as a document opened).
    Ignored { event_type: String, reason: &'static str },
}

/// A payload that does not have the platform's published shape.
#[derive(Debug, PartialEq)]
pub(crate) struct Malformed(pub String);

/// Helpers the parsers share: typed reads of a JSON object, each naming
/// the member that is missing or of the wrong type.
pub(crate) mod read {
    use super::Malformed;
    use serde_json::{Map, Value};

    pub(crate) fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Malformed> {
        v.as_object().ok_or_else(|| Malformed(format!("{what}: not an object")))
    }

    pub(crate) fn member<'a>(
        o: &'a Map<String, Value>,
        name: &str,
    ) -> Result<&'a Value, Malformed> {
        o.get(name).ok_or_else(|| Malformed(format!("{name}: missing")))
    }

    pub(crate) fn string(o: &Map<String, Value>, name: &str) -> Result<String, Malformed> {
        member(o, name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Malformed(format!("{name}: not a string")))
    }

    pub(crate) fn opt_string(
        o: &Map<String, Value>,
        name: &str,
    ) -> Result<Option<String>, Malformed> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Malformed(format!("{name}: not a string"))),
        }
    }

    pub(crate) fn id(o: &Map<String, Value>, name: &str) -> Result<u64, Malformed> {
        member(o, name)?
            .as_u64()
            .filter(|n| *n < (1 << 53))
            .ok_or_else(|| Malformed(format!("{name}: not a non-negative integer")))
    }

    pub(crate) fn array<'a>(
        o: &'a Map<String, Value>,
        name: &str,
    ) -> Result<&'a [Value], Malformed> {
        member(o, name)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| Malformed(format!("{name}: not an array")))
    }
}

/// A payload fixture of `platform` (tests/fixtures/integrations/), for the
/// parsers' unit tests.
#[cfg(test)]
pub(crate) fn fixture(platform: &str, name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/integrations/{platform}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
