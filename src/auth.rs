//! Bearer tokens: random 256-bit secrets bound to one tenant and one role,
//! stored only as their SHA-256.

use base64::Engine as _;
use ledger::{Ledger, LedgerError, Role, TokenRecord};
use rand_core::{OsRng, RngCore};
use verifier::Hash;
use warp::http::StatusCode;

use crate::error::ApiError;

/// Prefix of every token, so leaked tokens are easy to grep for.
pub const TOKEN_PREFIX: &str = "elt_";

/// Who is calling, once the token checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the token is bound to.
    pub tenant: String,
    /// The role it grants.
    pub role: Role,
    /// The token's public id (never the token): who acted, in events the
    /// service writes on the caller's behalf.
    pub token_id: String,
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> Hash {
    Hash::digest(token.as_bytes())
}

/// Issues a new token and stores its hash; returns the token, shown once.
pub fn issue(
    ledger: &Ledger,
    tenant: &str,
    role: Role,
) -> Result<(String, TokenRecord), LedgerError> {
    check_tenant(tenant)?;
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let hash = token_hash(&token);
    let rec = TokenRecord {
        id: hash.to_hex()[..12].to_string(),
        tenant: tenant.to_string(),
        role,
        created_at: ledger::now_rfc3339(),
        revoked_at: None,
    };
    ledger.put_token(&hash, &rec)?;
    Ok((token, rec))
}

/// Revokes the token whose id is `id`.
pub fn revoke(ledger: &Ledger, id: &str) -> Result<TokenRecord, LedgerError> {
    let (hash, mut rec) = ledger
        .tokens()?
        .into_iter()
        .find(|(_, r)| r.id == id)
        .ok_or_else(|| LedgerError::NotFound(format!("token {id}")))?;
    if rec.revoked_at.is_none() {
        rec.revoked_at = Some(ledger::now_rfc3339());
        ledger.put_token(&hash, &rec)?;
    }
    Ok(rec)
}

/// Checks an `Authorization` header: 401 when absent, malformed, unknown or revoked.
pub fn authenticate(ledger: &Ledger, header: Option<&str>) -> Result<Caller, ApiError> {
    let unauthorized =
        |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m.to_string());
    let header = header.ok_or_else(|| unauthorized("missing bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX) && t.len() <= 128)
        .ok_or_else(|| unauthorized("malformed bearer token"))?;
    let rec = ledger
        .token(&token_hash(token))
        .map_err(|e| ApiError::internal("token lookup", e))?
        .filter(|r| r.revoked_at.is_none())
        .ok_or_else(|| unauthorized("unknown or revoked token"))?;
    Ok(Caller { tenant: rec.tenant, role: rec.role, token_id: rec.id })
}

/// 403 unless the caller has one of `roles`.
pub fn require(caller: &Caller, roles: &[Role]) -> Result<(), ApiError> {
    if roles.contains(&caller.role) {
        return Ok(());
    }
    let wanted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("role {} may not do this (needs {})", caller.role.as_str(), wanted.join(" or ")),
    ))
}

/// Tenants are ids: 1-128 chars of `[A-Za-z0-9._:-]`.
pub fn check_tenant(tenant: &str) -> Result<(), LedgerError> {
    ledger::check_id("tenant", tenant)
}
