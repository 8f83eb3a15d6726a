//! Records kept beside the log: trusted issuers and bearer tokens.

use serde::{Deserialize, Serialize};

/// A trusted attestation issuer (identity provider, intent service, signer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerRecord {
    /// Issuer name as attestations carry it.
    pub name: String,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// When it was revoked, if it was: later attestations by it are refused;
    /// entries written before stay valid evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// What a bearer token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits events (the platform's back-ends).
    Submitter,
    /// Reads bundles and reports of its tenant's documents.
    Legal,
    /// Pulls evidence bundles to notarize.
    Notary,
    /// Registers issuers.
    Admin,
}

impl Role {
    /// Parses `submitter|legal|notary|admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "submitter" => Some(Role::Submitter),
            "legal" => Some(Role::Legal),
            "notary" => Some(Role::Notary),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Legal => "legal",
            Role::Notary => "notary",
            Role::Admin => "admin",
        }
    }
}

/// A bearer token, stored under the SHA-256 of the token; never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short public id (first 8 hex digits of the token hash) for listing and revoking.
    pub id: String,
    /// The tenant the token is bound to.
    pub tenant: String,
    /// The role it grants.
    pub role: Role,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// A trusted RFC 3161 time-stamp authority: tokens on events must chain to
/// its root certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsaRecord {
    /// The operator's name for it (reported with every token it vouches for).
    pub name: String,
    /// Its root certificate, PEM.
    pub root_pem: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
}
