//! RFC 4998 evidence records on the service side (docs/long-term.md):
//! making one over a contract's bundle, renewing one (timestamp or
//! hash-tree renewal), the records kept for renewal, and the renewal
//! schedule. The formats and checks are the verifier's (`verifier::ers`);
//! this module adds the TSA round trips and the storage.
//!
//! Stored records hold hashes and tokens only, never the bundle (which
//! carries the contract's private records): the holder keeps the bundle,
//! as RFC 4998 keeps data and evidence apart. So the service renews its
//! stored records by timestamp renewal, all due records under one token;
//! a hash-tree renewal re-hashes the data and is run by whoever holds the
//! bundle (`evidence-ledger ers renew --hash ... --bundle ...`).

use std::time::Duration;

use anchor::{AnchorConfig, TsaClient};
use ledger::Ledger;
use verifier::ers::build::{apply, export_step, renewal_step, Step};
use verifier::ers::tree::build_tree;
use verifier::ers::{decode_record, encode_record, ErsHash, EvidenceRecord};
use verifier::tsa::TrustedTsa;

/// Aux-record key prefix of the stored evidence records:
/// `ers/<tenant>\0<document>\0<created, 8 bytes BE unix>`.
const PREFIX: &[u8] = b"ers/";
/// Timeout of one TSA request.
const TSA_TIMEOUT: Duration = Duration::from_secs(30);
/// Most records renewed under one token: bounds one round's tree.
const MAX_BATCH: usize = 10_000;

/// The ledger's TSA for evidence records: the one that timestamps anchored
/// checkpoints (`tsa add --anchor-url`), with the trusted roots its tokens
/// must chain to.
pub fn tsa_client(ledger: &Ledger) -> Result<(TsaClient, Vec<TrustedTsa>), String> {
    let config = AnchorConfig::load(ledger).map_err(|e| e.to_string())?;
    let partner = config.tsa.ok_or_else(|| {
        "no TSA is configured: evidence records need one \
         (evidence-ledger tsa add --name NAME --root-cert PEM --anchor-url URL)"
            .to_string()
    })?;
    let trusted = ledger.trusted_tsas().as_ref().clone();
    Ok((TsaClient::new(partner, TSA_TIMEOUT)?, trusted))
}

/// Timestamps `steps` (all with one hash algorithm) under one token: a
/// hash tree over their covered groups, a token over its root; returns
/// each step's record (its `record`, or a new one).
pub fn timestamp_steps(
    tsa: &(TsaClient, Vec<TrustedTsa>),
    records: Vec<Option<EvidenceRecord>>,
    steps: &[Step],
) -> Result<Vec<EvidenceRecord>, String> {
    let alg = steps.first().map(|s| s.alg).ok_or("nothing to timestamp")?;
    if steps.iter().any(|s| s.alg != alg) {
        return Err("one token covers one hash algorithm".into());
    }
    let groups: Vec<Vec<Vec<u8>>> = steps.iter().map(|s| s.covered.clone()).collect();
    let tree = build_tree(alg, &groups).ok_or("an empty data group")?;
    let token = tsa
        .0
        .timestamp_imprint(&tsa.1, alg.oid(), &tree.root)
        .map_err(|e| format!("TSA {}: {}", tsa.0.partner.name, e.message))?;
    records
        .into_iter()
        .zip(steps)
        .zip(tree.reduced)
        .map(|((record, step), reduced)| {
            apply(record, step, reduced, &token).map_err(|e| e.to_string())
        })
        .collect()
}

/// A new evidence record over the bundle `bundle_json` (DER).
pub fn export(
    tsa: &(TsaClient, Vec<TrustedTsa>),
    bundle_json: &[u8],
    alg: ErsHash,
) -> Result<Vec<u8>, String> {
    let objects = verifier::ers::bundle_data_objects(bundle_json).map_err(|e| e.to_string())?;
    let step = export_step(alg, &objects);
    let mut records = timestamp_steps(tsa, vec![None], &[step])?;
    encode_record(&records.remove(0)).map_err(|e| e.to_string())
}

/// Renews the DER record `der` with `alg`: a timestamp renewal when it is
/// the newest chain's algorithm, else a hash-tree renewal over `bundle`.
pub fn renew(
    tsa: &(TsaClient, Vec<TrustedTsa>),
    der: &[u8],
    alg: ErsHash,
    bundle_json: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let record = decode_record(der).map_err(|e| e.to_string())?;
    let objects = bundle_json
        .map(verifier::ers::bundle_data_objects)
        .transpose()
        .map_err(|e| e.to_string())?;
    let step = renewal_step(&record, alg, objects.as_deref()).map_err(|e| e.to_string())?;
    let mut records = timestamp_steps(tsa, vec![Some(record)], &[step])?;
    encode_record(&records.remove(0)).map_err(|e| e.to_string())
}

/// The key a record of `tenant`'s `document` made at `created` is kept under.
fn key(tenant: &str, document: &str, created: i64) -> Vec<u8> {
    let mut k = doc_prefix(tenant, document);
    k.extend_from_slice(&created.to_be_bytes());
    k
}

fn doc_prefix(tenant: &str, document: &str) -> Vec<u8> {
    [PREFIX, tenant.as_bytes(), b"\0", document.as_bytes(), b"\0"].concat()
}

/// Keeps a record for renewal (synced).
pub fn store(
    ledger: &Ledger,
    tenant: &str,
    document: &str,
    created: i64,
    der: &[u8],
) -> Result<(), String> {
    ledger.aux_put(&key(tenant, document, created), der).map_err(|e| e.to_string())
}

/// The newest kept record of `tenant`'s `document`, as renewed so far.
pub fn newest(ledger: &Ledger, tenant: &str, document: &str) -> Result<Option<Vec<u8>>, String> {
    let prefix = doc_prefix(tenant, document);
    let found = ledger.aux_scan_rev(&prefix, None, 1).map_err(|e| e.to_string())?;
    Ok(found.into_iter().next().map(|(_, v)| v))
}

/// When the newest token of a record must be renewed by (its TSA
/// certificate's end, unix seconds).
pub fn renew_before(der: &[u8]) -> Option<i64> {
    verifier::ers::newest_renew_before(&decode_record(der).ok()?)
}

/// One renewal round: every kept record whose newest token's TSA
/// certificate ends within `margin_secs` of `now_unix` gets a timestamp
/// renewal (RFC 4998 §5.2), up to [`MAX_BATCH`] per token, grouped by hash
/// algorithm. Returns how many were renewed.
pub fn renew_due(ledger: &Ledger, margin_secs: i64, now_unix: i64) -> Result<usize, String> {
    let due: Vec<(Vec<u8>, EvidenceRecord, Step)> = ledger
        .aux_scan(PREFIX)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|(_, der)| renew_before(der).is_some_and(|t| t <= now_unix + margin_secs))
        .filter_map(|(k, der)| {
            let record = decode_record(&der).ok()?;
            let last = record.archive_time_stamp_sequence.last()?.last()?;
            let alg = verifier::ers::build::ats_algorithm(last).ok()?;
            let step = renewal_step(&record, alg, None).ok()?;
            Some((k, record, step))
        })
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let tsa = tsa_client(ledger)?;
    let mut renewed = 0;
    for alg in ErsHash::ALL {
        let of_alg: Vec<_> = due.iter().filter(|(_, _, s)| s.alg == alg).collect();
        for batch in of_alg.chunks(MAX_BATCH) {
            let records = batch.iter().map(|(_, r, _)| Some(r.clone())).collect();
            let steps: Vec<Step> = batch.iter().map(|(_, _, s)| s.clone()).collect();
            let out = timestamp_steps(&tsa, records, &steps)?;
            for ((k, _, _), record) in batch.iter().zip(out) {
                let der = encode_record(&record).map_err(|e| e.to_string())?;
                ledger.aux_put(k, &der).map_err(|e| e.to_string())?;
                renewed += 1;
            }
        }
    }
    Ok(renewed)
}

/// Runs [`renew_due`] every `interval_secs` until `stop`; failures (a TSA
/// that is down) are logged and retried on the next round.
pub fn renewal_loop(
    ledger: &Ledger,
    margin_secs: u64,
    interval_secs: u64,
    stop: &std::sync::atomic::AtomicBool,
) {
    use std::sync::atomic::Ordering;
    let margin = i64::try_from(margin_secs).unwrap_or(i64::MAX / 2);
    let mut waited = interval_secs;
    while !stop.load(Ordering::Relaxed) {
        if waited >= interval_secs {
            waited = 0;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            match renew_due(ledger, margin, now) {
                Ok(0) => {}
                Ok(n) => tracing::info!("evidence records: {n} renewed (timestamp renewal)"),
                Err(e) => tracing::error!("evidence record renewal: {e}"),
            }
        }
        std::thread::sleep(Duration::from_secs(1));
        waited += 1;
    }
}

/// What the evidence report says of the newest record kept for `tenant`'s
/// `document`, if any: its timestamps and renewals checked against the
/// `trusted` TSA roots (not what they cover: the service does not keep the
/// exported bundle), with the dates and algorithms, in Chinese and English.
pub fn report_line(
    ledger: &Ledger,
    tenant: &str,
    document: &str,
    trusted: &[TrustedTsa],
    now_unix: i64,
) -> Option<String> {
    let der = newest(ledger, tenant, document).ok()??;
    Some(match verifier::ers::verify_evidence_record_timestamps(&der, trusted, now_unix) {
        Ok(c) => {
            let algs: Vec<&str> = c.algorithms.iter().map(|a| a.name()).collect();
            let mut tsas: Vec<String> =
                c.timestamps.iter().map(|t| verifier::report::plain(&t.info.tsa)).collect();
            tsas.dedup();
            format!(
                "本服务为本合同保存了 RFC 4998 长期证据记录：其时间戳与续期均已验证，证明期间自 {from} 至 {until}，\
                 哈希算法 {algs}。该记录覆盖导出时的证据包，而非本报告所依据的证据包；请以 verifier ers 对照该证据包核验。 \
                 The service keeps an RFC 4998 evidence record of this contract: its {n} timestamps and renewals \
                 verify (from {tsas}), covering from {from} to {until} by {algs}. It covers the bundle exported with \
                 it, not the bundle of this report: check the two together with \
                 `verifier ers RECORD --bundle BUNDLE --policy FILE`.",
                from = c.from,
                until = c.until,
                algs = algs.join(", "),
                n = c.timestamps.len(),
                tsas = tsas.join(", "),
            )
        }
        Err(e) => format!(
            "本服务保存的长期证据记录未通过验证。 The evidence record the service keeps for this \
             contract does not verify: {}",
            verifier::report::plain(&e.to_string())
        ),
    })
}
