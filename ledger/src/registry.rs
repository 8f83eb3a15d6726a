//! Records kept beside the log: trusted issuers and bearer tokens.
//!
//! Issuers live in two scopes. A platform-wide issuer (a national identity
//! provider, the intent service) is trusted for every tenant's events; a
//! tenant's issuer (its signers' keys, named `signer:<actor id>`) only for
//! that tenant's. A name resolves in the tenant's scope first, then the
//! platform's; the scopes never hold the same name for one tenant, so a
//! name means one key per tenant, forever (names are never reused).

use serde::{Deserialize, Serialize};

/// The tenant under which platform-wide changes (platform issuers, platform
/// tokens) are written to the log, and the tenant of platform tokens.
/// Reserved: no tenant-bound token may name it.
pub const PLATFORM_TENANT: &str = "platform";

/// The name prefix every tenant-scoped issuer carries: tenants register
/// their signers' keys, and nothing that could pass for a platform service.
pub const TENANT_ISSUER_PREFIX: &str = "signer:";

/// A trusted attestation issuer (identity provider, intent service, signer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerRecord {
    /// Issuer name as attestations carry it.
    pub name: String,
    /// The tenant whose events it may attest; `None` for a platform-wide issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// When it was revoked, if it was: later attestations by it are refused;
    /// entries written before stay valid evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Index of the `registry_changed` entry that recorded the addition
    /// (absent for issuers added before the registry was logged, and for
    /// the log's own key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_entry: Option<u64>,
    /// Index of the `registry_changed` entry that recorded the revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_entry: Option<u64>,
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
    /// Manages its own tenant's issuers (its signers' keys) and tokens.
    Admin,
    /// The platform administrator, bound to no tenant: platform-wide
    /// issuers, witnesses, TSAs, anchoring, and every tenant's tokens.
    Platform,
}

impl Role {
    /// Parses `submitter|legal|notary|admin|platform`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "submitter" => Some(Role::Submitter),
            "legal" => Some(Role::Legal),
            "notary" => Some(Role::Notary),
            "admin" => Some(Role::Admin),
            "platform" => Some(Role::Platform),
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
            Role::Platform => "platform",
        }
    }
}

/// A bearer token, stored under the SHA-256 of the token; never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short public id (first 8 hex digits of the token hash) for listing and revoking.
    pub id: String,
    /// The tenant the token is bound to ([`PLATFORM_TENANT`] for the
    /// platform role).
    pub tenant: String,
    /// The role it grants.
    pub role: Role,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it stops working, Unix seconds; `None`: never (tokens issued
    /// before expiry existed, and offline CLI tokens without `--expires-in`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_unix: Option<i64>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl TokenRecord {
    /// Whether the token works at `now` (Unix seconds): not revoked, not expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_unix.is_none_or(|e| now < e)
    }
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
