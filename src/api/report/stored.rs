//! Stored reports per tenant: the index the cap counts and the expiry
//! walks, the cap, and the expiry. A stored report is refused, never
//! evicted, when its tenant holds its cap.

use ledger::Ledger;
use warp::http::StatusCode;

use super::{report_key, StoredReport, REPORT_IDEM2_PREFIX, REPORT_IDEM_PREFIX, REPORT_PREFIX};
use crate::error::ApiError;

/// Index of a tenant's stored reports: `report-stored\0<tenant>\0<issued
/// at, µs BE><report id>` → the stored size (u64 BE). What the per-tenant
/// cap counts and the expiry walks, without reading the reports.
const STORED_INDEX_PREFIX: &[u8] = b"report-stored\0";
/// Reports one tenant keeps stored at most; past it, issuing is refused
/// (429) until older ones expire. Refused, not evicted: a stored report is
/// never dropped early to make room.
pub const MAX_STORED_REPORTS_PER_TENANT: usize = 1_000;
/// Bytes of stored reports one tenant keeps at most (same rule).
pub const MAX_STORED_REPORT_BYTES_PER_TENANT: u64 = 2 << 30;
/// Days a stored report is kept; then its copy is deleted (its
/// `report_issued` entry, with the file's SHA-256, stays in the log).
pub const STORED_REPORT_DAYS: i64 = 365;

pub(super) fn stored_index_prefix(tenant: &str) -> Vec<u8> {
    [STORED_INDEX_PREFIX, tenant.as_bytes(), b"\0"].concat()
}

/// 429 when the tenant holds its cap of stored reports, by count or bytes,
/// with `Retry-After` until its oldest one expires.
pub(super) fn check_room(ledger: &Ledger, tenant: &str, now_micros: i64) -> Result<(), ApiError> {
    let prefix = stored_index_prefix(tenant);
    let rows = ledger.aux_scan(&prefix)?;
    let bytes: u64 = rows.iter().map(|(_, v)| stored_size(v)).sum();
    if rows.len() < MAX_STORED_REPORTS_PER_TENANT && bytes < MAX_STORED_REPORT_BYTES_PER_TENANT {
        return Ok(());
    }
    let oldest = rows.first().map_or(now_micros, |(k, _)| issued_micros(&k[prefix.len()..]));
    let expires = oldest.saturating_add(STORED_REPORT_DAYS * 86_400_000_000);
    let wait = ((expires - now_micros) / 1_000_000).clamp(1, u32::MAX as i64) as u32;
    Err(ApiError::overloaded(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "the tenant holds {} stored reports ({bytes} bytes; at most \
             {MAX_STORED_REPORTS_PER_TENANT} and {MAX_STORED_REPORT_BYTES_PER_TENANT} bytes); \
             stored reports expire after {STORED_REPORT_DAYS} days",
            rows.len()
        ),
        wait,
    ))
}

fn stored_size(v: &[u8]) -> u64 {
    <[u8; 8]>::try_from(v).map(u64::from_be_bytes).unwrap_or(0)
}

fn issued_micros(rest: &[u8]) -> i64 {
    rest.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map_or(0, i64::from_be_bytes)
}

pub(super) fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// Deletes the stored copies of every tenant's reports issued more than
/// [`STORED_REPORT_DAYS`] before `now_micros` (the retention sweep calls
/// it). Returns how many.
pub fn expire_stored_reports(ledger: &Ledger, now_micros: i64) -> Result<usize, ApiError> {
    let cutoff = now_micros.saturating_sub(STORED_REPORT_DAYS * 86_400_000_000);
    let mut expired = 0;
    for (key, _) in ledger.aux_scan(STORED_INDEX_PREFIX)? {
        let rest = &key[STORED_INDEX_PREFIX.len()..];
        let Some(nul) = rest.iter().position(|b| *b == 0) else { continue };
        let (tenant, tail) = (&rest[..nul], &rest[nul + 1..]);
        if tail.len() <= 8 || issued_micros(tail) >= cutoff {
            continue;
        }
        let (tenant, id) = (String::from_utf8_lossy(tenant), String::from_utf8_lossy(&tail[8..]));
        ledger.aux_delete_synced(&report_key(&tenant, &id))?;
        ledger.aux_delete_synced(&key)?;
        expired += 1;
    }
    Ok(expired)
}

/// Deletes the index records of the tenant's reports named in `ids`.
pub(super) fn unindex(ledger: &Ledger, tenant: &str, ids: &[String]) -> Result<(), ApiError> {
    let prefix = stored_index_prefix(tenant);
    for (key, _) in ledger.aux_scan(&prefix)? {
        let id = key.get(prefix.len() + 8..).map(String::from_utf8_lossy);
        if id.is_some_and(|id| ids.iter().any(|i| *i == id)) {
            ledger.aux_delete_synced(&key)?;
        }
    }
    Ok(())
}

/// Deletes every report the tenant was issued about `document_id` (the
/// stored files and their idempotency keys): erasure leaves no rendered
/// copy of the document's records behind. Returns how many.
pub(crate) fn erase_document_reports(
    ledger: &Ledger,
    tenant: &str,
    document_id: &str,
) -> Result<usize, ApiError> {
    let mut deleted = Vec::new();
    let prefix = [REPORT_PREFIX, tenant.as_bytes(), b"\0"].concat();
    let id = hex::encode(ledger.document_key_id(tenant, document_id)?);
    for (key, value) in ledger.aux_scan(&prefix)? {
        let about = serde_json::from_slice::<StoredReport>(&value).ok().map(|r| r.document_key_id);
        if about.as_deref() == Some(id.as_str()) {
            ledger.aux_delete_synced(&key)?;
            deleted.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
        }
    }
    unindex(ledger, tenant, &deleted)?;
    // Records of before they were keyed, one by one and only if there are
    // any: a range delete would write the contract id into its tombstone's
    // bounds, which the store's MANIFEST keeps beyond the purge.
    let idem =
        [REPORT_IDEM_PREFIX, tenant.as_bytes(), b"\0", document_id.as_bytes(), b"\0"].concat();
    for (key, _) in ledger.aux_scan(&idem)? {
        ledger.aux_delete_synced(&key)?;
    }
    let doc = ledger.document_key_id(tenant, document_id)?;
    for (key, _) in ledger.aux_scan(&[REPORT_IDEM2_PREFIX, &doc].concat())? {
        ledger.aux_delete_synced(&key)?;
    }
    Ok(deleted.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn index(l: &Ledger, tenant: &str, at: i64, id: &str, size: u64) {
        let key = [&stored_index_prefix(tenant)[..], &at.to_be_bytes(), id.as_bytes()].concat();
        l.aux_put(&key, &size.to_be_bytes()).unwrap();
        l.aux_put(&report_key(tenant, id), b"stored").unwrap();
    }

    #[test]
    fn the_cap_refuses_and_the_expiry_deletes_only_old_reports() {
        let dir = tempfile::tempdir().unwrap();
        Ledger::init(dir.path(), "test/log").unwrap();
        let l = Ledger::open(dir.path(), ledger::LedgerOptions::default()).unwrap();
        let now = 1_000 * DAY;
        index(&l, "t", now - 400 * DAY, "old", 10);
        index(&l, "t", now - DAY, "new", 10);
        index(&l, "u", now - 400 * DAY, "other", MAX_STORED_REPORT_BYTES_PER_TENANT);
        check_room(&l, "t", now).unwrap();
        // Over the bytes cap: refused, with the wait until the oldest expires.
        let e = check_room(&l, "u", now).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.retry_after, Some(1), "its oldest is past the retention");
        assert_eq!(expire_stored_reports(&l, now).unwrap(), 2);
        assert!(l.aux_get(&report_key("t", "old")).unwrap().is_none());
        assert!(l.aux_get(&report_key("u", "other")).unwrap().is_none());
        assert!(l.aux_get(&report_key("t", "new")).unwrap().is_some());
        check_room(&l, "u", now).unwrap();
        unindex(&l, "t", &["new".to_owned()]).unwrap();
        assert!(l.aux_scan(&stored_index_prefix("t")).unwrap().is_empty());
    }
}
