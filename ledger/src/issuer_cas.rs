//! CA roots trusted for SM2 issuers certified by X.509 (issue 26 item 3),
//! beside the issuer registry: an attestation may carry its issuer's
//! certificate chain up to one of these instead of naming a registered
//! key ([`verifier::issuer`] has the rule). Only the platform registers
//! them; each registration is logged as a `registry_changed` entry of the
//! platform tenant before the root is trusted, as issuers are.
//!
//! Owns the `issuer-ca/` records of the aux family and their parsed roots
//! in memory. Calls the store; never the sequencer (the caller hands in how
//! to log a change, as to [`crate::registry::Registry`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use verifier::issuer::ChainCache;
use verifier::policy::PolicyCa;
use verifier::tsa::parse_root_pem;
use verifier::x509sm2::{check_sm2_ca_root, CertifiedSm2Key};
use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::ids::{check_id, issuer_document};
use crate::registry::{LogChange, PLATFORM_TENANT};
use crate::store::{RecordFamily, Store};
use crate::util::{lock, now_rfc3339, parse_json, read_arc, replace_arc};

/// Key prefix of the records in the aux family.
const PREFIX: &[u8] = b"issuer-ca/";
/// Largest root accepted, PEM bytes.
const MAX_ROOT_PEM: usize = 64 * 1024;
/// Most verified chains remembered; the memo starts afresh when full.
const MAX_MEMO: usize = 4096;

/// A CA root trusted for SM2 issuer certificates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerCaRecord {
    /// The platform's name for the CA (what a policy's `ca` line may call it).
    pub name: String,
    /// The root certificate, PEM.
    pub root_pem: String,
    /// Lowercase hex SHA-256 of the root's DER, to compare out of band.
    pub sha256: String,
    /// When it was added (RFC 3339).
    pub added_at: String,
    /// Index of the `registry_changed` entry that recorded the addition.
    pub added_entry: u64,
}

/// The registered issuer CAs, parsed in memory. Writes are serialised by
/// the caller (the ledger's write lock): check-then-put is put-if-absent.
pub(crate) struct IssuerCas {
    store: Arc<Store>,
    roots: RwLock<Arc<Vec<PolicyCa>>>,
    recs: RwLock<Arc<Vec<IssuerCaRecord>>>,
    memo: ChainMemo,
}

/// Chains verified against these roots, by the SHA-256 of their DER
/// certificates (each length-prefixed): a certificate's path costs its SM2
/// verifications once. Sound because roots are only ever added here (a
/// root added never makes a verified chain wrong) and an entry answers
/// only inside its path's validity ([`CertifiedSm2Key::path_valid`]).
#[derive(Default)]
pub(crate) struct ChainMemo {
    map: Mutex<HashMap<Hash, CertifiedSm2Key>>,
}

fn chain_id(chain: &[Vec<u8>]) -> Hash {
    let mut bytes = Vec::with_capacity(chain.iter().map(|c| c.len() + 8).sum());
    for der in chain {
        bytes.extend_from_slice(&(der.len() as u64).to_be_bytes());
        bytes.extend_from_slice(der);
    }
    Hash::digest(&bytes)
}

impl ChainCache for ChainMemo {
    fn get(&self, chain: &[Vec<u8>], at_unix: i64) -> Option<CertifiedSm2Key> {
        let map = lock(&self.map);
        let hit = map.get(&chain_id(chain))?;
        let (from, until) = hit.path_valid;
        (from <= at_unix && at_unix <= until).then(|| hit.clone())
    }

    fn put(&self, chain: &[Vec<u8>], cert: &CertifiedSm2Key) {
        let mut map = lock(&self.map);
        if map.len() >= MAX_MEMO {
            map.clear();
        }
        map.insert(chain_id(chain), cert.clone());
    }
}

impl IssuerCas {
    /// Loads the issuer CAs of `store`.
    pub(crate) fn load(store: Arc<Store>) -> Result<IssuerCas> {
        let recs = records(&store)?;
        let roots = RwLock::new(Arc::new(parse_all(&recs)?));
        Ok(IssuerCas {
            store,
            roots,
            recs: RwLock::new(Arc::new(recs)),
            memo: ChainMemo::default(),
        })
    }

    /// The chains verified so far against these roots.
    pub(crate) fn memo(&self) -> &ChainMemo {
        &self.memo
    }

    /// The trusted roots, parsed.
    pub(crate) fn roots(&self) -> Arc<Vec<PolicyCa>> {
        read_arc(&self.roots)
    }

    /// Every record, from memory (loaded at open, replaced by [`Self::add`]):
    /// `/v1/log` lists them without a store read, so a hung database
    /// cannot hold it.
    pub(crate) fn records(&self) -> Result<Vec<IssuerCaRecord>> {
        Ok(read_arc(&self.recs).as_ref().clone())
    }

    /// Trusts `root_pem` (one PEM certificate: an SM2 CA of the GM/T 0015
    /// profile) under `name`; `log` writes the change to the log first.
    /// A name is never reused for another root; the same root again is a
    /// no-op.
    pub(crate) fn add(
        &self,
        name: &str,
        root_pem: &str,
        log: LogChange<'_>,
    ) -> Result<IssuerCaRecord> {
        check_id("CA name", name)?;
        if root_pem.len() > MAX_ROOT_PEM {
            return Err(LedgerError::InvalidRequest("root_pem: over 64 KiB".into()));
        }
        let der = parse_root_pem(root_pem)
            .map_err(|e| LedgerError::InvalidRequest(format!("root_pem: {e}")))?;
        check_sm2_ca_root(&der)
            .map_err(|e| LedgerError::InvalidRequest(format!("root_pem: {e}")))?;
        let sha256 = Hash::digest(&der).to_hex();
        let key = [PREFIX, name.as_bytes()].concat();
        if let Some(v) = self.store.get_record(RecordFamily::Aux, &key)? {
            let existing: IssuerCaRecord = parse_json(&v)?;
            if existing.sha256 == sha256 {
                return Ok(existing);
            }
            return Err(LedgerError::AlreadyExists(format!("issuer CA {name}")));
        }
        let claim = serde_json::json!({
            "action": "issuer_ca_added",
            "name": name,
            "sha256": sha256,
        });
        let doc = issuer_document(&format!("ca:{name}"));
        let added_entry = log(PLATFORM_TENANT, &doc, &Hash::digest(&der), claim)?;
        let rec = IssuerCaRecord {
            name: name.to_owned(),
            root_pem: root_pem.to_owned(),
            sha256,
            added_at: now_rfc3339(),
            added_entry,
        };
        let bytes = serde_json::to_vec(&rec).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        self.store.put_record(RecordFamily::Aux, &key, &bytes)?;
        let recs = records(&self.store)?;
        replace_arc(&self.roots, Arc::new(parse_all(&recs)?));
        replace_arc(&self.recs, Arc::new(recs));
        Ok(rec)
    }
}

fn records(store: &Store) -> Result<Vec<IssuerCaRecord>> {
    store.scan_records(RecordFamily::Aux, PREFIX)?.iter().map(|(_, v)| parse_json(v)).collect()
}

fn parse_all(records: &[IssuerCaRecord]) -> Result<Vec<PolicyCa>> {
    records
        .iter()
        .map(|r| {
            let root_der = parse_root_pem(&r.root_pem)
                .map_err(|e| LedgerError::Corrupt(format!("issuer CA {}: {e}", r.name)))?;
            Ok(PolicyCa { name: r.name.clone(), pem: r.root_pem.clone(), root_der })
        })
        .collect()
}
