//! The document, from the platform's API: what the adapter hashes.
//!
//! Documenso: `GET <base>/api/v2/document/{id}/download` with
//! `Authorization: Bearer <api token>` answers the PDF itself (the signed
//! version once sealed: apps/remix/server/api/download/download.ts).
//! DocuSeal: `GET <base>/submissions/{id}/documents` with `X-Auth-Token`
//! answers `{"id", "documents": [{"name", "url"}]}` (docs/openapi.json,
//! `getSubmissionDocuments`: partially filled documents, the final signed
//! ones once completed); each URL is then fetched, the token sent only to
//! the base URL's own origin.
//!
//! Bounded: each attempt has the integration's timeout (connect, headers
//! and body together), each file its size cap (checked against
//! `Content-Length` and again while reading), at most [`ATTEMPTS`]
//! attempts with a short back-off for what may pass (timeouts, refused
//! connections, 5xx, 429). A failure is a [`FetchError`], which the
//! webhook answers with a 502 so that the platform redelivers later.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::Integration;
use super::egress::Egress;
use super::Platform;

/// Attempts per file.
pub(crate) const ATTEMPTS: u32 = 3;
/// Most documents of one DocuSeal submission hashed.
const MAX_DOCUMENTS: usize = 20;
/// Largest JSON answer of DocuSeal's documents list.
const MAX_LIST_BYTES: u64 = 1 << 20;

/// A fetched file: its name, size and SHA-256.
#[derive(Clone, Debug)]
pub(crate) struct Fetched {
    pub name: String,
    pub bytes: u64,
    pub sha256: [u8; 32],
}

/// Why the document could not be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// No answer in time, on every attempt.
    #[error("the platform's API did not answer within {0} s ({1} attempts)")]
    Timeout(u64, u32),
    /// The file is larger than the integration's cap.
    #[error("the document is over the cap of {0} bytes")]
    TooLarge(u64),
    /// The platform answered with an error status, or could not be reached.
    #[error("the platform's API failed: {0}")]
    Failed(String),
}

/// The documents of `document` (Documenso: one PDF; DocuSeal: each of the
/// submission's documents, in its order). Never empty on success.
pub(crate) async fn documents(
    platform: Platform,
    integration: &Integration,
    document: u64,
) -> Result<Vec<Fetched>, FetchError> {
    let s = &integration.stored;
    let client = client(s.fetch_timeout_secs)?;
    let token = integration.api_token.as_str();
    match platform {
        Platform::Documenso => {
            let url = format!("{}/api/v2/document/{document}/download", s.base_url);
            let auth = ("authorization", format!("Bearer {token}"));
            let (bytes, sha256) = get(&client, &url, Some(&auth), s.max_document_bytes, s).await?;
            Ok(vec![Fetched { name: format!("document-{document}.pdf"), bytes, sha256 }])
        }
        Platform::Docuseal => {
            let url = format!("{}/submissions/{document}/documents", s.base_url);
            let auth = ("x-auth-token", token.to_string());
            let list = get_json(&client, &url, &auth, s).await?;
            let mut out = Vec::new();
            for (name, url) in docuseal_documents(&list)? {
                let same_origin = origin(&url) == origin(&s.base_url);
                let auth = same_origin.then_some(&auth);
                let (bytes, sha256) = get(&client, &url, auth, s.max_document_bytes, s).await?;
                out.push(Fetched { name, bytes, sha256 });
            }
            Ok(out)
        }
    }
}

/// A client that reaches only what [`Egress`] permits: names through its
/// resolver, literal addresses checked on every redirect (and by
/// [`fetch_once`] before the first request).
fn client(timeout_secs: u64) -> Result<reqwest::Client, FetchError> {
    let egress = Egress::current();
    let hops = egress.clone();
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 3 {
            attempt.error("more than 3 redirects")
        } else if let Err(e) = hops.check_url(attempt.url()) {
            attempt.error(e)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs))
        .connect_timeout(Duration::from_secs(timeout_secs.min(10)))
        .redirect(redirect)
        .dns_resolver(egress.resolver())
        .build()
        .map_err(|e| FetchError::Failed(format!("HTTP client: {e}")))
}

fn origin(url: &str) -> Option<url::Origin> {
    url::Url::parse(url).ok().map(|u| u.origin())
}

/// `(name, url)` of each document in DocuSeal's answer.
fn docuseal_documents(list: &Value) -> Result<Vec<(String, String)>, FetchError> {
    let bad = |m: &str| FetchError::Failed(format!("documents list: {m}"));
    let docs =
        list.get("documents").and_then(Value::as_array).ok_or_else(|| bad("no documents"))?;
    if docs.is_empty() || docs.len() > MAX_DOCUMENTS {
        return Err(bad(&format!("{} documents (1 to {MAX_DOCUMENTS} expected)", docs.len())));
    }
    docs.iter()
        .map(|d| {
            let name = d.get("name").and_then(Value::as_str).ok_or_else(|| bad("a name"))?;
            let url = d.get("url").and_then(Value::as_str).ok_or_else(|| bad("a url"))?;
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return Err(bad("a url is not http(s)")),
            }
            Ok((name.to_string(), url.to_string()))
        })
        .collect()
}

async fn get_json(
    client: &reqwest::Client,
    url: &str,
    auth: &(&str, String),
    s: &super::config::Stored,
) -> Result<Value, FetchError> {
    let body =
        with_retries(s, || fetch_once(client, url, Some(auth), MAX_LIST_BYTES, true)).await?;
    serde_json::from_slice(&body.0).map_err(|e| FetchError::Failed(format!("{url}: not JSON: {e}")))
}

/// The size and SHA-256 of the file at `url`.
async fn get(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&(&str, String)>,
    cap: u64,
    s: &super::config::Stored,
) -> Result<(u64, [u8; 32]), FetchError> {
    let (_, bytes, sha256) = with_retries(s, || fetch_once(client, url, auth, cap, false)).await?;
    Ok((bytes, sha256))
}

/// What one attempt got: the body (when kept), its size and SHA-256.
type Got = (Vec<u8>, u64, [u8; 32]);

/// An attempt's failure: whether another attempt may do better.
struct Attempt {
    error: FetchError,
    retry: bool,
}

async fn with_retries<F, Fut>(s: &super::config::Stored, mut f: F) -> Result<Got, FetchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Got, Attempt>>,
{
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        match f().await {
            Ok(got) => return Ok(got),
            Err(a) if a.retry => last = Some(a.error),
            Err(a) => return Err(a.error),
        }
    }
    Err(match last {
        Some(FetchError::Timeout(..)) | None => FetchError::Timeout(s.fetch_timeout_secs, ATTEMPTS),
        Some(e) => e,
    })
}

async fn fetch_once(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&(&str, String)>,
    cap: u64,
    keep: bool,
) -> Result<Got, Attempt> {
    let parsed = url::Url::parse(url).map_err(|e| Attempt {
        error: FetchError::Failed(format!("{}: {e}", redact(url))),
        retry: false,
    })?;
    if let Err(e) = Egress::current().check_url(&parsed) {
        let error = FetchError::Failed(format!("{}: {e}", redact(url)));
        return Err(Attempt { error, retry: false });
    }
    let mut req = client.get(url);
    if let Some((name, value)) = auth {
        req = req.header(*name, value);
    }
    let mut resp = req.send().await.map_err(transport)?;
    let status = resp.status();
    if !status.is_success() {
        let retry = status.is_server_error() || status.as_u16() == 429;
        let error = FetchError::Failed(format!("{} answered {status}", redact(url)));
        return Err(Attempt { error, retry });
    }
    if resp.content_length().is_some_and(|n| n > cap) {
        return Err(Attempt { error: FetchError::TooLarge(cap), retry: false });
    }
    let (mut hasher, mut n, mut kept) = (Sha256::new(), 0u64, Vec::new());
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        n += chunk.len() as u64;
        if n > cap {
            return Err(Attempt { error: FetchError::TooLarge(cap), retry: false });
        }
        hasher.update(&chunk);
        if keep {
            kept.extend_from_slice(&chunk);
        }
    }
    Ok((kept, n, hasher.finalize().into()))
}

fn transport(e: reqwest::Error) -> Attempt {
    if e.is_timeout() {
        // The seconds are filled in once every attempt timed out.
        Attempt { error: FetchError::Timeout(0, ATTEMPTS), retry: true }
    } else {
        let url = e.url().map(|u| redact(u.as_str())).unwrap_or_default();
        // The causes too: "error sending request" alone does not say that
        // the name resolved to no public address (super::egress).
        let e = e.without_url();
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            text = format!("{text}: {c}");
            cause = c.source();
        }
        Attempt { error: FetchError::Failed(format!("{url}: {text}")), retry: true }
    }
}

/// A URL without its query (DocuSeal's file URLs carry signed tokens).
fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or_default().to_string()
}
