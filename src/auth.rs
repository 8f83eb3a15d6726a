//! Bearer tokens: random 256-bit secrets bound to one tenant and one role
//! (or, for the platform administrator, to no tenant), stored only as their
//! SHA-256, with an optional expiry.

use base64::Engine as _;
use ledger::{Ledger, LedgerError, Role, TokenRecord, PLATFORM_TENANT};
use rand_core::{OsRng, RngCore};
use verifier::Hash;
use warp::http::StatusCode;

use crate::error::ApiError;

/// Prefix of every token, so leaked tokens are easy to grep for.
pub const TOKEN_PREFIX: &str = "elt_";

/// Who is calling, once the token checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the token is bound to ([`PLATFORM_TENANT`] for the
    /// platform administrator, which owns no tenant's data).
    pub tenant: String,
    /// The role it grants.
    pub role: Role,
    /// The token's public id (never the token): who acted, in events the
    /// service writes on the caller's behalf.
    pub token_id: String,
    /// The token's stored hash: what a token it mints names as its parent.
    pub token_hash: Hash,
    /// When the token stops working, Unix seconds (its own expiry or an
    /// earlier one of a token above it); `None`: never.
    pub expires_unix: Option<i64>,
    /// How many tokens minted it, up to one the CLI issued.
    pub depth: usize,
}

/// Longest line of tokens minting tokens.
pub const MAX_TOKEN_DEPTH: usize = 8;

/// The stored form of a token.
pub fn token_hash(token: &str) -> Hash {
    Hash::digest(token.as_bytes())
}

/// Longest lifetime of a token, seconds (5 years).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 5 * 365 * 86_400;
/// Lifetime of a token issued over the API without `expires_in` (90 days).
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 90 * 86_400;

/// Issues a new token and stores its hash; returns the token, shown once.
/// A `platform` token is bound to [`PLATFORM_TENANT`]; no other role may
/// be. `expires_in`: seconds from now (at most
/// [`MAX_TOKEN_LIFETIME_SECS`]), `None` for a token that never expires.
/// The issue is written to the log first (`registry_changed`, actor `by`).
pub fn issue(
    ledger: &Ledger,
    tenant: &str,
    role: Role,
    expires_in: Option<u64>,
    by: &str,
) -> Result<(String, TokenRecord), LedgerError> {
    let expires_unix = expires_in.map(|s| lifetime(s).map(|s| now_unix() + s)).transpose()?;
    store_token(ledger, tenant, role, expires_unix, by, None)
}

/// [`issue`] over the API, by `minter`: the new token works only while the
/// minter's does (revoking or expiring it ends both), and cannot outlive
/// it. `expires_in`: seconds, at most the minter's remaining life; absent:
/// [`DEFAULT_TOKEN_LIFETIME_SECS`], cut to the minter's remaining life.
pub fn issue_under(
    ledger: &Ledger,
    minter: &Caller,
    tenant: &str,
    role: Role,
    expires_in: Option<u64>,
) -> Result<(String, TokenRecord), LedgerError> {
    if minter.depth + 1 >= MAX_TOKEN_DEPTH {
        return Err(LedgerError::InvalidRequest(format!(
            "tokens minted by tokens: at most {MAX_TOKEN_DEPTH} in a line; issue this one from a \
             token nearer the operator's"
        )));
    }
    let now = now_unix();
    let wanted = now + lifetime(expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS))?;
    let expires_unix = match minter.expires_unix {
        Some(limit) if wanted > limit && expires_in.is_some() => {
            return Err(LedgerError::InvalidRequest(format!(
                "expires_in: at most {} seconds: a token cannot outlive the token that mints it",
                (limit - now).max(0)
            )))
        }
        Some(limit) => wanted.min(limit),
        None => wanted,
    };
    let parent = Some(minter.token_hash.to_hex());
    store_token(ledger, tenant, role, Some(expires_unix), &minter.token_id, parent)
}

/// A requested lifetime in seconds, checked.
fn lifetime(secs: u64) -> Result<i64, LedgerError> {
    if (1..=MAX_TOKEN_LIFETIME_SECS).contains(&secs) {
        Ok(secs as i64)
    } else {
        Err(LedgerError::InvalidRequest(format!(
            "expires_in: 1 to {MAX_TOKEN_LIFETIME_SECS} seconds"
        )))
    }
}

/// Makes a token, logs its issue, stores its hash.
fn store_token(
    ledger: &Ledger,
    tenant: &str,
    role: Role,
    expires_unix: Option<i64>,
    by: &str,
    parent: Option<String>,
) -> Result<(String, TokenRecord), LedgerError> {
    check_tenant(tenant)?;
    if (role == Role::Platform) != (tenant == PLATFORM_TENANT) {
        return Err(LedgerError::InvalidRequest(format!(
            "a platform token is bound to no tenant, and tenant {PLATFORM_TENANT} is reserved for it"
        )));
    }
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
        expires_unix,
        revoked_at: None,
        parent,
    };
    log_change(ledger, &rec, "token_issued", by)?;
    ledger.put_token(&hash, &rec)?;
    Ok((token, rec))
}

/// The token record whose public id is `id`, with its stored hash: one
/// keyed range read (the id is the start of the hash), not a scan.
pub fn find(ledger: &Ledger, id: &str) -> Result<(Hash, TokenRecord), LedgerError> {
    ledger.token_by_id(id)?.ok_or_else(|| LedgerError::NotFound(format!("token {id}")))
}

/// Revokes the token whose id is `id`, at once: the next request with it
/// is refused. Written to the log first (actor `by`). Idempotent.
pub fn revoke(ledger: &Ledger, id: &str, by: &str) -> Result<TokenRecord, LedgerError> {
    let (hash, mut rec) = find(ledger, id)?;
    if rec.revoked_at.is_none() {
        log_change(ledger, &rec, "token_revoked", by)?;
        rec.revoked_at = Some(ledger::now_rfc3339());
        ledger.put_token(&hash, &rec)?;
    }
    Ok(rec)
}

/// Writes a token's issue or revocation to the log, under its tenant:
/// its public id, role and expiry, never the token or its hash.
fn log_change(
    ledger: &Ledger,
    rec: &TokenRecord,
    action: &str,
    by: &str,
) -> Result<u64, LedgerError> {
    let claim = serde_json::json!({
        "action": action,
        "id": rec.id,
        "role": rec.role.as_str(),
        "tenant": rec.tenant,
        "expires_unix": rec.expires_unix,
    });
    let subject = Hash::digest(format!("evidence-ledger token {}", rec.id).as_bytes());
    ledger.log_registry_change(&rec.tenant, &format!("token:{}", rec.id), &subject, claim, by)
}

/// Checks an `Authorization` header: 401 when absent, malformed, unknown,
/// revoked or expired. Reads the token's record on every request, so a
/// revocation or an expiry takes effect at once.
pub fn authenticate(ledger: &Ledger, header: Option<&str>) -> Result<Caller, ApiError> {
    let unauthorized =
        |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m.to_string());
    let header = header.ok_or_else(|| unauthorized("missing bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX) && t.len() <= 128)
        .ok_or_else(|| unauthorized("malformed bearer token"))?;
    let now = now_unix();
    let hash = token_hash(token);
    let rec = ledger
        .token(&hash)
        .map_err(ApiError::from)?
        .filter(|r| r.is_live(now))
        .ok_or_else(|| unauthorized("unknown, revoked or expired token"))?;
    // A minted token works only while every token above it does.
    let (mut expires_unix, mut depth, mut parent) = (rec.expires_unix, 0, rec.parent.clone());
    while let Some(p) = parent {
        depth += 1;
        let up = Hash::from_hex(&p)
            .ok()
            .filter(|_| depth < MAX_TOKEN_DEPTH)
            .map(|h| ledger.token(&h))
            .transpose()
            .map_err(ApiError::from)?
            .flatten()
            .filter(|r| r.is_live(now))
            .ok_or_else(|| unauthorized("the token that minted this one was revoked or expired"))?;
        expires_unix = match (expires_unix, up.expires_unix) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        parent = up.parent;
    }
    Ok(Caller {
        tenant: rec.tenant,
        role: rec.role,
        token_id: rec.id,
        token_hash: hash,
        expires_unix,
        depth,
    })
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
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
