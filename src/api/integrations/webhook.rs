//! The handlers: `POST /v1/integrations/{platform}/{tenant}` (the
//! platform's webhook, authenticated by the secret it sends) and
//! `PUT|GET|DELETE /v1/integrations/{platform}` (the tenant's admin).
//!
//! A delivery is checked whole before anything is written: the secret
//! (401, nothing read past the headers), the payload's shape (400), the
//! facts not logged yet, the document from the platform's API (502 when
//! it cannot be had, so the platform redelivers), then one append of all
//! its events (one batch: all or nothing).

use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use ledger::{LedgerError, Role};
use serde_json::{json, Value};
use warp::http::{Method, StatusCode};

use super::config::{self, Integration, Settings};
use super::fetch::{self, FetchError};
use super::record::{self, Signer};
use super::{documenso, docuseal, Parsed, Platform, Report};
use crate::api::{caller, json, read_body, Answer, AppState, Req};
use crate::auth::require;
use crate::error::ApiError;

/// Largest webhook body: a document with its recipients and values.
pub(crate) const MAX_WEBHOOK_BYTES: usize = 1 << 20;

fn platform(name: &str) -> Result<Platform, ApiError> {
    Platform::parse(name)
        .ok_or_else(|| ApiError::not_found(format!("no integration for platform {name:?}")))
}

fn unauthorized() -> ApiError {
    // The same answer for an unknown tenant, an unconfigured platform and
    // a wrong secret: a caller learns nothing about which tenants exist.
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong webhook secret")
}

/// `POST /v1/integrations/{platform}/{tenant}`.
pub(crate) async fn webhook<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    platform_name: &str,
    tenant: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let platform = platform(platform_name)?;
    if ledger::check_id("tenant", tenant).is_err() || tenant == ledger::PLATFORM_TENANT {
        return Err(unauthorized());
    }
    let (st, t) = (state.clone(), tenant.to_string());
    let integration = tokio::task::spawn_blocking(move || config::open(&st.ledger, &t, platform))
        .await
        .map_err(|e| ApiError::internal("integration", e))??
        .ok_or_else(unauthorized)?;
    let presented = req.headers.get(integration.stored.secret_header.as_str());
    if !presented.is_some_and(|v| config::secret_matches(&integration.stored, v.as_bytes())) {
        return Err(unauthorized());
    }
    let request = state.admission.admit_request(tenant)?;
    let bytes = read_body(body, MAX_WEBHOOK_BYTES).await?;
    let counted = |outcome: &str, n: u64| {
        state.metrics.integration_events.with_label_values(&[platform.as_str(), outcome]).inc_by(n)
    };
    let parsed = parse(platform, &bytes).inspect_err(|_| counted("malformed", 1))?;
    let report = match parsed {
        Parsed::Report(r) => r,
        Parsed::Ignored { event_type, reason } => {
            state.metrics.integration_ignored.with_label_values(&[platform.as_str(), reason]).inc();
            return Ok(json(&json!({"ignored": true, "event_type": event_type, "reason": reason})));
        }
    };
    let answer = record(state, tenant, platform, &integration, &report).await;
    drop(request);
    let done = answer.inspect_err(|_| counted("failed", 1))?;
    counted("recorded", done.recorded.len() as u64);
    counted("replayed", done.already.len() as u64);
    Ok(json(&json!({
        "event_type": report.event_type,
        "document_id": record::document_id(platform, report.document),
        "recorded": done.recorded,
        "already_recorded": done.already,
        "skipped": done.skipped,
    })))
}

fn parse(platform: Platform, bytes: &[u8]) -> Result<Parsed, ApiError> {
    let malformed = |m: String| ApiError::bad_request("malformed_webhook", m);
    // serde_json, not the strict JCS parser: platforms send floats in
    // form values, which no event of ours carries.
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let parsed = match platform {
        Platform::Documenso => documenso::parse(&value),
        Platform::Docuseal => docuseal::parse(&value),
    };
    parsed.map_err(|e| malformed(format!("not a {} webhook: {}", platform.as_str(), e.0)))
}

/// What a delivery did: the receipts written, the event ids found
/// already logged, and those acknowledged but not logged.
struct Delivered {
    recorded: Vec<Value>,
    already: Vec<String>,
    skipped: Vec<String>,
}

/// Logs the facts of `report` not logged yet.
async fn record(
    state: &Arc<AppState>,
    tenant: &str,
    platform: Platform,
    integration: &Integration,
    report: &Report,
) -> Result<Delivered, ApiError> {
    let ids: Vec<String> =
        report.facts.iter().map(|f| record::event_id(platform, report.document, f)).collect();
    let found = logged(state, tenant, &ids).await?;
    let mut new: Vec<_> =
        report.facts.iter().zip(&found).filter(|(_, l)| !**l).map(|(f, _)| f).collect();
    let mut already: Vec<String> =
        ids.iter().zip(&found).filter(|(_, l)| **l).map(|(i, _)| i.clone()).collect();
    let mut skipped = Vec::new();
    if new.iter().any(|f| f.kind == "registered") && known(state, tenant, platform, report).await? {
        // A creation delivered after the document's other events cannot
        // be its first entry (T2): acknowledged, not logged.
        for f in new.iter().filter(|f| f.kind == "registered") {
            skipped.push(record::event_id(platform, report.document, f));
        }
        new.retain(|f| f.kind != "registered");
    }
    if new.is_empty() {
        return Ok(Delivered { recorded: Vec::new(), already, skipped });
    }
    let files = fetch::documents(platform, integration, report.document).await.map_err(|e| {
        tracing::warn!(
            "integration {}/{tenant}: document {}: {e}",
            platform.as_str(),
            report.document
        );
        let m = format!("{e}; nothing was written: the platform may redeliver");
        match e {
            FetchError::Timeout(..) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "platform_timeout", m)
            }
            FetchError::TooLarge(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "platform_document_too_large", m)
            }
            FetchError::Failed(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "platform_unavailable", m)
            }
        }
    })?;
    let signer =
        Signer { tenant, platform, issuer: &integration.stored.issuer, key: &integration.key };
    let first = files.first().map(|f| f.sha256).unwrap_or_default();
    let (st, t, document) = (state.clone(), tenant.to_string(), report.document);
    let contract_hash = tokio::task::spawn_blocking(move || {
        config::contract_hash(&st.ledger, &t, platform, document, &first)
    })
    .await
    .map_err(|e| ApiError::internal("integration", e))??;
    let events = record::events(&signer, report, &new, &contract_hash, &files)?;
    let (st, t) = (state.clone(), tenant.to_string());
    let appended = tokio::task::spawn_blocking(move || {
        let _admitted = st.admission.admit(&t, events.len())?;
        st.ledger.append(&t, events).map_err(ApiError::from).map(Ok).or_else(|e| match e {
            // Another delivery of the same facts won the race.
            ApiError { status: StatusCode::CONFLICT, .. } => Ok(Err(())),
            e => Err(e),
        })
    })
    .await
    .map_err(|e| ApiError::internal("integration append", e))??;
    match appended {
        Ok(receipts) => {
            let recorded = receipts
                .iter()
                .map(|r| {
                    json!({"event_id": r.event_id, "index": r.index,
                           "leaf_hash": r.leaf_hash.to_base64(), "ledger_time": &*r.ledger_time})
                })
                .collect();
            Ok(Delivered { recorded, already, skipped })
        }
        Err(()) => {
            // The batch was refused whole: done only if every fact of it
            // is logged now; else the platform is asked to redeliver.
            let ids: Vec<String> =
                new.iter().map(|f| record::event_id(platform, report.document, f)).collect();
            if logged(state, tenant, &ids).await?.iter().all(|l| *l) {
                already.extend(ids);
                return Ok(Delivered { recorded: Vec::new(), already, skipped });
            }
            Err(ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                "another delivery of this document was logged meanwhile; redeliver",
                1,
            ))
        }
    }
}

async fn known(
    state: &Arc<AppState>,
    tenant: &str,
    platform: Platform,
    report: &Report,
) -> Result<bool, ApiError> {
    let (st, t) = (state.clone(), tenant.to_string());
    let id = record::document_id(platform, report.document);
    tokio::task::spawn_blocking(move || config::contract_known(&st.ledger, &t, &id))
        .await
        .map_err(|e| ApiError::internal("integration", e))?
}

async fn logged(
    state: &Arc<AppState>,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<bool>, ApiError> {
    let (st, t, ids) = (state.clone(), tenant.to_string(), ids.to_vec());
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        st.ledger.logged_event_ids(&t, &refs)
    })
    .await
    .map_err(|e| ApiError::internal("integration", e))?
    .map_err(|e: LedgerError| ApiError::from(e))
}

/// `PUT|GET|DELETE /v1/integrations/{platform}`: the caller's tenant's
/// integration, by its admin.
pub(crate) async fn admin<S, B>(
    state: &Arc<AppState>,
    req: &Req,
    platform_name: &str,
    body: S,
) -> Answer
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin + Send,
    B: Buf,
{
    let caller = caller(state, req).await?;
    require(&caller, &[Role::Admin])?;
    let platform = platform(platform_name)?;
    let (tenant, by) = (caller.tenant.clone(), caller.token_id.clone());
    let st = state.clone();
    let answer = match req.method {
        Method::GET => {
            let view = tokio::task::spawn_blocking(move || {
                config::stored(&st.ledger, &tenant, platform)
                    .map(|s| s.map(|s| config::view(&tenant, platform, &s)))
            })
            .await;
            view.map_err(|e| ApiError::internal("integration", e))??.ok_or_else(|| {
                ApiError::not_found(format!("no {} integration", platform.as_str()))
            })?
        }
        Method::PUT => {
            state.admission.charge_write(&caller.tenant, &req.headers, 16 * 1024)?;
            let bytes = read_body(body, 16 * 1024).await?;
            let settings: Settings = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request("invalid_integration", e.to_string()))?;
            tokio::task::spawn_blocking(move || {
                config::put(&st.ledger, &tenant, platform, settings, &by)
                    .map(|s| config::view(&tenant, platform, &s))
            })
            .await
            .map_err(|e| ApiError::internal("integration", e))??
        }
        _ => {
            state.admission.charge_write(&caller.tenant, &req.headers, 0)?;
            let removed = tokio::task::spawn_blocking(move || {
                config::remove(&st.ledger, &tenant, platform, &by)
                    .map(|s| config::view(&tenant, platform, &s))
            })
            .await
            .map_err(|e| ApiError::internal("integration", e))??;
            json!({"removed": removed})
        }
    };
    Ok(json(&answer))
}
