//! `load --ceilings`: what this machine can do with the same events
//! without HTTP, printed beside the closed loop's number in the same run.
//!
//! Four ceilings, each on the first [`MAX_EVENTS`] events of the run's own
//! request bodies: parsing and validating them (the service's own
//! `parse_batch`, one thread); Ed25519 `verify_strict` of their
//! attestations (the ingest rule), on one thread and on two; and the
//! ledger's whole append path in this process (attestation checks,
//! sealing the v2 records, the sequencer's group commit with fsync), one
//! request at a time (serial: nothing overlaps) and from as many threads
//! as the closed loop has clients (parallel). Each append ceiling writes a
//! fresh RocksDB store in a temporary directory, removed afterwards.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ed25519_dalek::{Signature, VerifyingKey};
use ledger::{InitKeys, Ledger, LedgerOptions, StoreConfig};
use verifier::entry::Event;

use crate::api::events::parse_batch;
use crate::flows::Issuer;

/// Events each ceiling runs on (a bounded share of a long run).
const MAX_EVENTS: usize = 50_000;

/// Prints the ceilings for `bodies` (request bodies of the closed loop).
pub(super) fn print(
    tenant: &str,
    issuer: &Issuer,
    bodies: &[Vec<u8>],
    clients: usize,
) -> Result<(), String> {
    let per_body = parse_batch(bodies.first().ok_or("no bodies")?)
        .map_err(|e| e.message.clone())?
        .len()
        .max(1);
    let bodies = &bodies[..bodies.len().min(MAX_EVENTS.div_ceil(per_body))];
    let started = Instant::now();
    let batches = bodies
        .iter()
        .map(|b| parse_batch(b).map_err(|e| e.message.clone()))
        .collect::<Result<Vec<Vec<Event>>, String>>()?;
    let n: usize = batches.iter().map(Vec::len).sum();
    let parse = rate(n, started);
    let key = issuer.key.verifying_key();
    let sigs: Vec<(Vec<u8>, Signature)> = batches
        .iter()
        .flatten()
        .flat_map(|e| {
            (0..e.attestations.len()).map(move |i| {
                (
                    e.attestation_message(i, tenant),
                    Signature::from_bytes(&e.attestations[i].signature),
                )
            })
        })
        .collect();
    let verify_1 = verify_rate(&key, &sigs, 1)?;
    let verify_2 = verify_rate(&key, &sigs, 2)?;
    let serial = append_rate(tenant, issuer, &batches, 1)?;
    let parallel = append_rate(tenant, issuer, &batches, clients.max(1))?;
    println!("ceilings, same events without HTTP ({n} events, {} signatures):", sigs.len());
    println!("  parse + validate (1 thread): {parse:.0} events/s");
    println!("  Ed25519 verify_strict: {verify_1:.0} signatures/s on 1 thread, {verify_2:.0} on 2");
    println!(
        "  ledger append in-process (verify + seal + write, fsync per group): {serial:.0} events/s serially (1 appender), {parallel:.0} in parallel ({} appenders)",
        clients.max(1)
    );
    Ok(())
}

fn rate(n: usize, started: Instant) -> f64 {
    n as f64 / started.elapsed().as_secs_f64()
}

/// `verify_strict` of every signature, split over `threads` threads.
fn verify_rate(
    key: &VerifyingKey,
    sigs: &[(Vec<u8>, Signature)],
    threads: usize,
) -> Result<f64, String> {
    let chunk = sigs.len().div_ceil(threads).max(1);
    let started = Instant::now();
    let bad = std::thread::scope(|s| {
        let handles: Vec<_> = sigs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter().filter(|(m, g)| key.verify_strict(m, g).is_err()).count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(usize::MAX)).sum::<usize>()
    });
    let r = rate(sigs.len(), started);
    if bad > 0 {
        return Err(format!("{bad} load signatures did not verify"));
    }
    Ok(r)
}

/// Appends `batches` to a fresh ledger from `appenders` threads.
fn append_rate(
    tenant: &str,
    issuer: &Issuer,
    batches: &[Vec<Event>],
    appenders: usize,
) -> Result<f64, String> {
    let dir = std::env::temp_dir()
        .join(format!("evidence-ledger-ceiling-{}-{appenders}", std::process::id()));
    let r = append_in(&dir, tenant, issuer, batches, appenders);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn append_in(
    dir: &Path,
    tenant: &str,
    issuer: &Issuer,
    batches: &[Vec<Event>],
    appenders: usize,
) -> Result<f64, String> {
    let err = |e: ledger::LedgerError| e.to_string();
    Ledger::init_with_keys(dir, "ceiling.local/log", &StoreConfig::RocksDb, &InitKeys::default())
        .map_err(err)?;
    let l = Ledger::open(dir, LedgerOptions::default()).map_err(err)?;
    l.add_issuer(&issuer.name, issuer.key.verifying_key().as_bytes()).map_err(err)?;
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let n: usize = batches.iter().map(Vec::len).sum();
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..appenders {
            s.spawn(|| {
                while let Some(b) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if l.append(tenant, b.clone()).is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let r = rate(n, started);
    match failed.into_inner() {
        0 => Ok(r),
        f => Err(format!("{f} in-process appends failed")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The ceilings run the real checks: a tampered signature is counted.
    #[test]
    fn a_bad_signature_fails_the_verify_ceiling() {
        let issuer = Issuer::random("ceiling-test");
        let body = super::super::bodies("t", &issuer, 1, 3, "x").remove(0);
        let events = parse_batch(&body).expect("parse");
        let mut sigs: Vec<(Vec<u8>, Signature)> = events
            .iter()
            .map(|e| {
                (e.attestation_message(0, "t"), Signature::from_bytes(&e.attestations[0].signature))
            })
            .collect();
        let key = issuer.key.verifying_key();
        assert!(verify_rate(&key, &sigs, 2).is_ok());
        sigs[1].0.push(b'!');
        assert_eq!(verify_rate(&key, &sigs, 2).unwrap_err(), "1 load signatures did not verify");
    }
}
