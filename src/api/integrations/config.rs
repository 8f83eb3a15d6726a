//! A tenant's integration with one platform: the webhook secret (stored as
//! its SHA-256 only), the platform's base URL and API token, fetch bounds,
//! and the integration's own Ed25519 key, registered as the tenant's
//! issuer `integration:<platform>:<generation>` (a `registry_changed`
//! entry, like any issuer) when the integration is first configured.
//!
//! Kept as an auxiliary record under `integration\0<tenant>\0<platform>`;
//! the API token and the key's seed are sealed with the service's blob
//! key for that scope (AES-256-GCM under a key wrapped by the master key),
//! so the store and its backups hold neither in clear. Writes are
//! serialised by one process-wide lock, so two admins configuring at once
//! cannot register two keys.

use std::sync::Mutex;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ledger::Ledger;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verifier::Hash;
use zeroize::Zeroizing;

use super::Platform;
use crate::error::ApiError;

/// What the sealed blob is bound to.
const PURPOSE: &[u8] = b"evidence-ledger/integration";
/// Shortest webhook secret accepted: it is the webhook's only credential.
pub(crate) const MIN_SECRET: usize = 16;
/// Longest webhook secret, header name, URL or API token.
const MAX_FIELD: usize = 512;
/// Default cap on one fetched document.
pub(crate) const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 64 << 20;
/// Highest cap an admin may set.
const MAX_MAX_DOCUMENT_BYTES: u64 = 512 << 20;
/// Default timeout of one fetch attempt, seconds.
pub(crate) const DEFAULT_FETCH_TIMEOUT_SECS: u64 = 8;

/// Serialises configuration writes (generation, issuer, record).
static WRITES: Mutex<()> = Mutex::new(());

/// The stored record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub generation: u32,
    pub issuer: String,
    pub public_key: String,
    pub secret_sha256: String,
    /// Lower-case name of the header that carries the secret.
    pub secret_header: String,
    pub base_url: String,
    pub max_document_bytes: u64,
    pub fetch_timeout_secs: u64,
    /// Base64 of the sealed [`Secrets`].
    pub sealed: String,
    pub created_at: String,
    pub updated_at: String,
}

/// What is sealed.
#[derive(Serialize, Deserialize)]
struct Secrets {
    api_token: String,
    /// Base64 of the key's 32-byte seed.
    seed: String,
}

/// An integration, opened: what the webhook handler needs.
pub(crate) struct Integration {
    pub stored: Stored,
    pub api_token: Zeroizing<String>,
    pub key: SigningKey,
}

/// Body of `PUT /v1/integrations/{platform}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    secret: String,
    #[serde(default)]
    secret_header: Option<String>,
    base_url: String,
    api_token: String,
    #[serde(default)]
    max_document_bytes: Option<u64>,
    #[serde(default)]
    fetch_timeout_secs: Option<u64>,
}

fn record_key(tenant: &str, platform: Platform) -> Vec<u8> {
    format!("integration\0{tenant}\0{}", platform.as_str()).into_bytes()
}

fn generation_key(tenant: &str, platform: Platform) -> Vec<u8> {
    format!("integration-generation\0{tenant}\0{}", platform.as_str()).into_bytes()
}

fn scope(tenant: &str, platform: Platform) -> [&[u8]; 3] {
    [PURPOSE, tenant.as_bytes(), platform.as_str().as_bytes()]
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The stored record, if the tenant configured this platform.
pub(crate) fn stored(
    ledger: &Ledger,
    tenant: &str,
    platform: Platform,
) -> Result<Option<Stored>, ApiError> {
    let Some(bytes) = ledger.aux_get(&record_key(tenant, platform))? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| ApiError::internal("integration", e))
}

/// The integration with its secrets opened.
pub(crate) fn open(
    ledger: &Ledger,
    tenant: &str,
    platform: Platform,
) -> Result<Option<Integration>, ApiError> {
    let Some(stored) = stored(ledger, tenant, platform)? else { return Ok(None) };
    let sealed = b64().decode(&stored.sealed).map_err(|e| ApiError::internal("integration", e))?;
    let plain = Zeroizing::new(
        ledger
            .open_document_blob(PURPOSE, &sealed)?
            .ok_or_else(|| ApiError::internal("integration", "sealed settings unreadable"))?,
    );
    let secrets: Secrets =
        serde_json::from_slice(&plain).map_err(|e| ApiError::internal("integration", e))?;
    let seed = Zeroizing::new(b64().decode(&secrets.seed).unwrap_or_default());
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| ApiError::internal("integration", "bad key seed"))?;
    let key = SigningKey::from_bytes(&seed);
    Ok(Some(Integration { stored, api_token: Zeroizing::new(secrets.api_token), key }))
}

/// Whether `presented` is the secret whose SHA-256 is stored, compared in
/// constant time.
pub(crate) fn secret_matches(stored: &Stored, presented: &[u8]) -> bool {
    let got = Hash::digest(presented).to_hex();
    let want = stored.secret_sha256.as_bytes();
    got.len() == want.len() && got.bytes().zip(want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_integration", m)
}

/// Checks settings; returns the secret header's name, lower-cased.
fn check(platform: Platform, s: &Settings) -> Result<String, ApiError> {
    let printable = |v: &str| v.bytes().all(|b| (0x21..0x7f).contains(&b));
    if s.secret.len() < MIN_SECRET || s.secret.len() > MAX_FIELD || !printable(&s.secret) {
        return Err(invalid(format!(
            "secret: {MIN_SECRET}-{MAX_FIELD} printable ASCII characters without spaces"
        )));
    }
    if s.api_token.is_empty() || s.api_token.len() > MAX_FIELD || !printable(&s.api_token) {
        return Err(invalid("api_token: 1-512 printable ASCII characters without spaces"));
    }
    let url = url::Url::parse(&s.base_url).map_err(|e| invalid(format!("base_url: {e}")))?;
    let plain = url.query().is_none() && url.fragment().is_none() && url.username().is_empty();
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() || !plain {
        return Err(invalid(
            "base_url: an http(s) URL with a host, no query, credentials or fragment",
        ));
    }
    if let Err(e) = super::egress::Egress::current().check_url(&url) {
        return Err(invalid(format!("base_url: {e}")));
    }
    if s.max_document_bytes.is_some_and(|n| n == 0 || n > MAX_MAX_DOCUMENT_BYTES) {
        return Err(invalid(format!("max_document_bytes: 1 to {MAX_MAX_DOCUMENT_BYTES}")));
    }
    if s.fetch_timeout_secs.is_some_and(|n| n == 0 || n > 120) {
        return Err(invalid("fetch_timeout_secs: 1 to 120"));
    }
    match (platform, s.secret_header.as_deref()) {
        (Platform::Documenso, None) => Ok("x-documenso-secret".into()),
        (Platform::Documenso, Some(h)) if h.eq_ignore_ascii_case("x-documenso-secret") => {
            Ok("x-documenso-secret".into())
        }
        (Platform::Documenso, Some(_)) => {
            Err(invalid("secret_header: Documenso always sends X-Documenso-Secret"))
        }
        (Platform::Docuseal, None) => Err(invalid(
            "secret_header: the header name set in DocuSeal's webhook secret (e.g. X-Webhook-Secret)",
        )),
        (Platform::Docuseal, Some(h)) => {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            let reserved = ["authorization", "content-type", "content-length", "host", "user-agent"];
            let lower = h.to_ascii_lowercase();
            if h.is_empty() || h.len() > 64 || !h.bytes().all(token) || reserved.contains(&lower.as_str())
            {
                return Err(invalid("secret_header: an HTTP header name of your own (1-64 chars)"));
            }
            Ok(lower)
        }
    }
}

/// Creates or updates (rotates the secret, URL, token, bounds of) the
/// tenant's integration; the first configuration makes its key and
/// registers it. Returns the record.
pub(crate) fn put(
    ledger: &Ledger,
    tenant: &str,
    platform: Platform,
    settings: Settings,
    by: &str,
) -> Result<Stored, ApiError> {
    let header = check(platform, &settings)?;
    let _serial = WRITES.lock().unwrap_or_else(|p| p.into_inner());
    let now = ledger::now_rfc3339();
    let (existing, seed) = match open(ledger, tenant, platform)? {
        Some(i) => (Some(i.stored), Zeroizing::new(i.key.to_bytes())),
        None => (None, Zeroizing::new(new_seed())),
    };
    let key = SigningKey::from_bytes(&seed);
    let public_key = b64().encode(key.verifying_key().as_bytes());
    let (generation, issuer, created_at) = match existing {
        Some(s) => (s.generation, s.issuer, s.created_at),
        None => {
            // A new generation before the key is registered: a crash in
            // between leaves a registered key never used, and the next
            // configuration takes the next name (names are never reused).
            let generation = next_generation(ledger, tenant, platform)?;
            let issuer = format!("integration:{}:{generation}", platform.as_str());
            ledger.add_issuer_scoped(Some(tenant), &issuer, key.verifying_key().as_bytes(), by)?;
            (generation, issuer, now.clone())
        }
    };
    let secrets = Secrets { api_token: settings.api_token, seed: b64().encode(*seed) };
    let plain =
        Zeroizing::new(serde_json::to_vec(&secrets).map_err(|e| ApiError::internal("seal", e))?);
    let sealed = ledger.seal_service_blob(&scope(tenant, platform), PURPOSE, &plain)?;
    let stored = Stored {
        generation,
        issuer,
        public_key,
        secret_sha256: Hash::digest(settings.secret.as_bytes()).to_hex(),
        secret_header: header,
        base_url: settings.base_url.trim_end_matches('/').to_string(),
        max_document_bytes: settings.max_document_bytes.unwrap_or(DEFAULT_MAX_DOCUMENT_BYTES),
        fetch_timeout_secs: settings.fetch_timeout_secs.unwrap_or(DEFAULT_FETCH_TIMEOUT_SECS),
        sealed: b64().encode(sealed),
        created_at,
        updated_at: now,
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| ApiError::internal("integration", e))?;
    ledger.aux_put(&record_key(tenant, platform), &bytes)?;
    Ok(stored)
}

fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    seed
}

fn next_generation(ledger: &Ledger, tenant: &str, platform: Platform) -> Result<u32, ApiError> {
    let key = generation_key(tenant, platform);
    let last = match ledger.aux_get(&key)? {
        Some(v) => u32::from_be_bytes(
            v.as_slice().try_into().map_err(|_| ApiError::internal("integration", "generation"))?,
        ),
        None => 0,
    };
    let next = last + 1;
    ledger.aux_put(&key, &next.to_be_bytes())?;
    Ok(next)
}

/// The document hash every event of a platform document carries: the
/// SHA-256 of the file fetched for its first logged event (usually its
/// registration), kept under a keyed id of (tenant, platform, document).
/// One hash per contract is what the verifiers' `same_document` rule
/// (bundle-format.md §3.2) asks; each later revision's SHA-256 goes into
/// the attestation's claim instead. Set-if-absent under the write lock,
/// so two first deliveries of one document agree.
pub(crate) fn contract_hash(
    ledger: &Ledger,
    tenant: &str,
    platform: Platform,
    document: u64,
    fetched: &[u8; 32],
) -> Result<[u8; 32], ApiError> {
    let key = contract_key(ledger, tenant, platform, document)?;
    let _serial = WRITES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = ledger.aux_get(&key)? {
        return v.as_slice().try_into().map_err(|_| ApiError::internal("integration", "hash"));
    }
    ledger.aux_put(&key, fetched)?;
    Ok(*fetched)
}

/// Whether the contract of this platform document has entries in the log
/// already: a registration that arrives later cannot be its first entry,
/// which the timeline's T2 asks of it.
pub(crate) fn contract_known(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
) -> Result<bool, ApiError> {
    Ok(!ledger.document_entries(tenant, document_id)?.is_empty())
}

fn contract_key(
    ledger: &Ledger,
    tenant: &str,
    platform: Platform,
    document: u64,
) -> Result<Vec<u8>, ApiError> {
    let doc = document.to_be_bytes();
    let parts: [&[u8]; 3] = [tenant.as_bytes(), platform.as_str().as_bytes(), &doc];
    let id = ledger.keyed_id("integration-document", &parts)?;
    let mut key = b"integration-document\0".to_vec();
    key.extend_from_slice(&id);
    Ok(key)
}

/// Removes the tenant's integration: its key is revoked (a logged
/// `registry_changed` entry; entries it attested stay evidence) and the
/// record deleted, so the webhook answers 401 from then on.
pub(crate) fn remove(
    ledger: &Ledger,
    tenant: &str,
    platform: Platform,
    by: &str,
) -> Result<Stored, ApiError> {
    let _serial = WRITES.lock().unwrap_or_else(|p| p.into_inner());
    let stored = stored(ledger, tenant, platform)?
        .ok_or_else(|| ApiError::not_found(format!("no {} integration", platform.as_str())))?;
    ledger.revoke_issuer_scoped(Some(tenant), &stored.issuer, by)?;
    ledger.aux_delete_synced(&record_key(tenant, platform))?;
    Ok(stored)
}

/// The record as the admin API shows it: never the secret, the token or the key.
pub(crate) fn view(tenant: &str, platform: Platform, s: &Stored) -> Value {
    json!({
        "platform": platform.as_str(),
        "tenant": tenant,
        "webhook_path": format!("/v1/integrations/{}/{tenant}", platform.as_str()),
        "secret_header": s.secret_header,
        "base_url": s.base_url,
        "max_document_bytes": s.max_document_bytes,
        "fetch_timeout_secs": s.fetch_timeout_secs,
        "issuer": s.issuer,
        "public_key": s.public_key,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}
