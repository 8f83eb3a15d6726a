//! What an appender does before its batch reaches the sequencer, on its
//! own thread: the batch's shape (tenant, ids, reserved documents), which
//! events are already logged, attestations and RFC 3161 tokens of the new
//! ones, content hashes, and the sealed v2 records.
//!
//! Owns the bound on concurrent checks (as many as cores) and the v1
//! attestation allowance. Calls the registry (issuer keys, TSA roots), the
//! sealed records, the vault's keyed ids and the sequencer's idempotency
//! lookup; never the log's queue (the ledger hands the result on).

use std::collections::HashSet;
use std::sync::{Condvar, Mutex};

use verifier::anykey::AnyVerifier;
use verifier::entry::Event;
use verifier::issuer::{verify_attestations_on, CertifiedTrust, IssuerKeys, LogBinding};
use verifier::suite::Suite;
use verifier::tsa::{verify_timestamp_token_over, Imprinted};
use verifier::{Hash, VerifyError};

use crate::error::{LedgerError, Result};
use crate::ids::{check_id, RESERVED_DOCUMENT_PREFIXES};
use crate::issuer_cas::IssuerCas;
use crate::records::Records;
use crate::registry::Registry;
use crate::sequencer::idem_lookup;
use crate::store::Store;
use crate::types::{Prepared, PreparedPrivate};
use crate::util::lock;
use crate::vault::KeyId;

/// How far in the future a token's genTime may be (clock skew between the
/// TSA and us).
pub const MAX_TIMESTAMP_SKEW_SECS: i64 = 300;

/// The appenders' checks.
pub(crate) struct Ingest {
    checkers: Permits,
    /// Whether the log holds v1 entries (written before evidence v2).
    has_v1: bool,
    /// Tenants allowed to submit v1 attestations.
    accept_v1: HashSet<String>,
    /// An `sm2-sm3` log's key: its own attestations are SM2.
    sm2_log: Option<verifier::sm2note::Sm2Verifier>,
    /// The log's origin and suite: what an attestation v2.1 binds (the
    /// origin), and the hash of its identity digest (the suite's).
    origin: String,
    suite: Suite,
}

impl Ingest {
    pub(crate) fn new(has_v1: bool, accept_v1: HashSet<String>) -> Ingest {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ingest {
            checkers: Permits::new(cores),
            has_v1,
            accept_v1,
            sm2_log: None,
            origin: String::new(),
            suite: Suite::default(),
        }
    }

    /// The log's origin and suite, which attestations v2.1 are checked
    /// against (without them a v2.1 attestation never verifies).
    pub(crate) fn with_log(mut self, origin: &str, suite: Suite) -> Self {
        self.origin = origin.to_owned();
        self.suite = suite;
        self
    }

    /// For an `sm2-sm3` log: the log's own attestations are checked as
    /// SM2 under this key.
    pub(crate) fn with_sm2_log_key(mut self, key: Option<verifier::sm2note::Sm2Verifier>) -> Self {
        self.sm2_log = key;
        self
    }

    /// The attestations of `events` by the one rule: registered keys (the
    /// log's own SM2 key under its issuer name, for an `sm2-sm3` log), or
    /// certificates chained to the registered issuer CAs, now.
    fn verify(
        &self,
        tenant: &str,
        events: &[Event],
        mut keys: IssuerKeys,
        cas: &IssuerCas,
    ) -> std::result::Result<(), (usize, VerifyError)> {
        if let Some(log) = &self.sm2_log {
            keys.insert(crate::attester::LOG_ISSUER.to_owned(), AnyVerifier::Sm2(log.clone()));
        }
        let roots = cas.roots();
        let at_unix = time::OffsetDateTime::now_utc().unix_timestamp();
        let trust = CertifiedTrust { cas: &roots, at_unix, cache: Some(cas.memo()) };
        let log = LogBinding { origin: &self.origin, suite: self.suite };
        verify_attestations_on(log, tenant, events, &keys, &trust)
    }

    /// Whether each of `tenant`'s event ids is already in the log (an
    /// erased entry's id counts: its idempotency record stays).
    pub(crate) fn logged(
        &self,
        store: &Store,
        records: &Records,
        tenant: &str,
        event_ids: &[&str],
    ) -> Result<Vec<bool>> {
        let vault = records.vault()?;
        let ids: Vec<(&str, KeyId)> =
            event_ids.iter().map(|e| (*e, vault.event_id(tenant, e))).collect();
        Ok(idem_lookup(store, self.has_v1, tenant, &ids)?.iter().map(Option::is_some).collect())
    }

    /// Checks a batch for `tenant` and prepares it for the sequencer.
    ///
    /// Idempotency comes before the attestation and timestamp checks: an
    /// event id already logged is answered by the sequencer with its
    /// original receipt (same content) or a conflict (other content), even
    /// if its issuer was revoked or its TSA dropped since; only events not
    /// logged yet are checked and sealed.
    ///
    /// A log without v1 entries checks and seals first, as if nothing were
    /// logged, and reads the idempotency records only when that fails: a
    /// failure for an event already logged (its issuer revoked, its
    /// document erased) is then not one, and the batch is checked again
    /// with what is logged. The sequencer decides replays by its own
    /// lookup in any case, and ignores what was sealed for one; so the
    /// answer is the same, and a new batch (nearly all of them) costs no
    /// lookup (on PostgreSQL a round trip and an index search per event).
    /// A replayed batch is checked and sealed once more for nothing.
    pub(crate) fn prepare(
        &self,
        store: &Store,
        registry: &Registry,
        cas: &IssuerCas,
        records: &Records,
        tenant: &str,
        events: Vec<Event>,
    ) -> Result<Vec<Prepared>> {
        check_batch(tenant, &events)?;
        let vault = records.vault()?;
        let ids: Vec<(&str, KeyId)> = events
            .iter()
            .map(|e| (e.event_id.as_str(), vault.event_id(tenant, &e.event_id)))
            .collect();
        let lookup = || -> Result<Vec<bool>> {
            Ok(idem_lookup(store, self.has_v1, tenant, &ids)?.iter().map(Option::is_some).collect())
        };
        let sealed = if self.has_v1 {
            // A v1 entry has no document key: sealing its replay would
            // make one.
            self.check_and_seal(registry, cas, records, tenant, &events, &lookup()?)?
        } else {
            match self.check_and_seal(
                registry,
                cas,
                records,
                tenant,
                &events,
                &vec![false; events.len()],
            ) {
                Ok(sealed) => sealed,
                Err(e) => {
                    let logged = lookup()?;
                    if !logged.contains(&true) {
                        return Err(e);
                    }
                    self.check_and_seal(registry, cas, records, tenant, &events, &logged)?
                }
            }
        };
        let idem: Vec<KeyId> = ids.iter().map(|i| i.1).collect();
        Ok(events
            .into_iter()
            .zip(idem)
            .zip(sealed)
            .map(|((event, idem_id), private)| {
                let canonical = verifier::jcs::to_canonical(&event.raw);
                let content = vault.keyed_hash("content", &[tenant.as_bytes(), &canonical]);
                let content_v1 = self.has_v1.then(|| Hash::digest(&canonical).0);
                Prepared { event, content, content_v1, idem_id, private }
            })
            .collect())
    }

    /// Checks the events not `logged` and seals them (`None` for the
    /// logged ones).
    fn check_and_seal(
        &self,
        registry: &Registry,
        cas: &IssuerCas,
        records: &Records,
        tenant: &str,
        events: &[Event],
        logged: &[bool],
    ) -> Result<Vec<Option<PreparedPrivate>>> {
        // As many checkers at once as cores: more only starve the
        // sequencer thread, which the OS shares with them per thread.
        let _permit = self.checkers.acquire();
        self.check_new_events(registry, cas, tenant, events, logged)?;
        // The new events' document keys in one read, not one per event.
        records.prefetch_keys(
            tenant,
            events.iter().zip(logged).filter(|(_, l)| !**l).map(|(e, _)| e),
        )?;
        events
            .iter()
            .zip(logged)
            .enumerate()
            .map(|(pos, (event, logged))| {
                if *logged {
                    return Ok(None);
                }
                let sealed = records.seal(tenant, event, None);
                Ok(Some(sealed.map_err(|e| at_position(pos, e))?))
            })
            .collect()
    }

    /// Attestations and timestamp tokens of the events not `logged` yet;
    /// an error names the event's position in the whole batch.
    fn check_new_events(
        &self,
        registry: &Registry,
        cas: &IssuerCas,
        tenant: &str,
        events: &[Event],
        logged: &[bool],
    ) -> Result<()> {
        let keys = registry.issuer_keys_for(tenant, events);
        let rejected = |position, source| LedgerError::Rejected { position, source };
        if !self.accept_v1.contains(tenant) {
            for (pos, e) in events.iter().enumerate().filter(|(i, _)| !logged[*i]) {
                if let Some(j) = e.attestations.iter().position(|a| a.version != 2) {
                    return Err(rejected(
                        pos,
                        VerifyError::BadSignature(format!(
                            "attestations[{j}]: v1 attestations are refused (they bind neither \
                             tenant, contract nor actor): sign the v2 message and add \"v\": 2 \
                             (docs/formats.md)"
                        )),
                    ));
                }
            }
        }
        if !logged.contains(&true) {
            self.verify(tenant, events, keys, cas).map_err(|(p, e)| rejected(p, e))?;
            return verify_timestamps(registry, events.iter().enumerate());
        }
        // Replays in the batch: check the others only (a rare path; clones).
        let (positions, fresh): (Vec<usize>, Vec<Event>) = (events.iter().enumerate())
            .filter(|(i, _)| !logged[*i])
            .map(|(i, e)| (i, e.clone()))
            .unzip();
        self.verify(tenant, &fresh, keys, cas).map_err(|(p, e)| rejected(positions[p], e))?;
        verify_timestamps(registry, positions.iter().copied().zip(&fresh))
    }
}

/// Checks every `timestamp_token` (RFC 3161) against the event's
/// document hash, and every `event_timestamp_token` against the event's
/// content imprint, both under the trusted TSA roots.
fn verify_timestamps<'e>(
    registry: &Registry,
    events: impl Iterator<Item = (usize, &'e Event)> + Clone,
) -> Result<()> {
    if events.clone().all(|(_, e)| e.timestamp_token.is_none() && e.event_timestamp_token.is_none())
    {
        return Ok(());
    }
    let tsas = registry.trusted_tsas();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Tokens signed RSA, ECDSA or SM2 (GM/T 0033) alike. The document
    // hash is SHA-256, so is its token's imprint; the event's content is
    // here, so its token may imprint it with SHA-256 or SM3.
    let check = |token: &[u8], over: Imprinted<'_>| {
        verify_timestamp_token_over(token, over, &tsas, now, MAX_TIMESTAMP_SKEW_SECS)
    };
    for (position, e) in events {
        if let Some(token) = &e.timestamp_token {
            check(token, Imprinted::Sha256(&e.document_hash))
                .map_err(|source| LedgerError::Rejected { position, source })?;
        }
        if let Some(token) = &e.event_timestamp_token {
            check(token, Imprinted::Bytes(&e.content_imprint_data())).map_err(|source| {
                LedgerError::Rejected {
                    position,
                    source: match source {
                        VerifyError::Invalid { reason, .. } => {
                            VerifyError::invalid("event_timestamp_token", reason)
                        }
                        other => other,
                    },
                }
            })?;
        }
    }
    Ok(())
}

/// Checks what the sequencer relies on: a valid tenant, a non-empty batch
/// and no event id twice in one batch.
fn check_batch(tenant: &str, events: &[Event]) -> Result<()> {
    check_id("tenant", tenant)?;
    if events.is_empty() {
        return Err(LedgerError::InvalidRequest("empty batch".into()));
    }
    let mut seen = HashSet::with_capacity(events.len());
    for (position, e) in events.iter().enumerate() {
        let reserved = RESERVED_DOCUMENT_PREFIXES.iter().find(|p| e.document_id.starts_with(*p));
        if let (Some(p), false) = (reserved, e.kind.is_service_kind()) {
            return Err(LedgerError::Rejected {
                position,
                source: VerifyError::invalid(
                    "document_id",
                    format!("{p}... names the ledger's own records (registry, erasures)"),
                ),
            });
        }
        if !seen.insert(e.event_id.as_str()) {
            return Err(LedgerError::Rejected {
                position,
                source: VerifyError::invalid("event_id", "repeated within the batch"),
            });
        }
    }
    Ok(())
}

/// Names the event's position in a sealing error.
fn at_position(pos: usize, e: LedgerError) -> LedgerError {
    match e {
        LedgerError::Gone(m) => LedgerError::Gone(format!("event {pos}: {m}")),
        other => other,
    }
}

/// A counting semaphore for CPU-bound checks on appenders' threads.
struct Permits {
    free: Mutex<usize>,
    cond: Condvar,
}

/// Gives its permit back when dropped.
struct Permit<'a>(&'a Permits);

impl Permits {
    fn new(n: usize) -> Permits {
        Permits { free: Mutex::new(n.max(1)), cond: Condvar::new() }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self.cond.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.cond.notify_one();
    }
}
