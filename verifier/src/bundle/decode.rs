//! Decoding a bundle's fields, once: what fails is collected for the
//! `bundle_format` check, and every other check reads the decoded values.

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

use super::{Bundle, BundleEntry, BundleErased, BundleIssuer, BundleWitness, MAX_LEAF_B64};
use crate::checkpoint::SignedCheckpoint;
use crate::cosignature::ALG_COSIGNATURE_V1;
use crate::entry::{parse_leaf, Identity, IssuerKeys, LeafEntry};
use crate::hash::leaf_hash;
use crate::note::{NoteVerifier, ALG_ED25519};
use crate::report::plain;
use crate::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The bundle's fields, decoded; what failed is in `problems`.
pub(super) struct Decoded {
    pub(super) problems: Vec<String>,
    pub(super) log_key: Result<NoteVerifier, String>,
    pub(super) checkpoint: Result<SignedCheckpoint, String>,
    pub(super) issuers: IssuerKeys,
    pub(super) witnesses: Vec<NoteVerifier>,
    pub(super) entries: Vec<DecodedEntry>,
}

/// One entry, decoded as far as it goes.
pub(super) struct DecodedEntry {
    pub(super) index: u64,
    pub(super) leaf_hash: Option<Hash>,
    /// The entry's content: a v1 leaf, or a v2 leaf opened by its record
    /// (with the record's event and tenant and the leaf's time).
    pub(super) leaf: Result<LeafEntry, String>,
    pub(super) proof: Option<Vec<Hash>>,
    /// Bundle v2: what the `commitments` check found (None in a v1 bundle).
    pub(super) opening: Option<super::commitments::Opening>,
    /// Bundle v2: the entry's erased marker (checked by `commitments`).
    pub(super) erased: Option<BundleErased>,
    /// The leaf's `ledger_time`, whenever the leaf bytes decode.
    pub(super) leaf_time: Option<String>,
    /// The real identity, when an identity opening opened the record.
    pub(super) identity: Option<Identity>,
    /// Whether the record commits to an identity.
    pub(super) identity_committed: bool,
}

pub(super) fn decode(bundle: &Bundle) -> Decoded {
    let mut problems = Vec::new();
    let log_key = decode_log_key(bundle);
    if let Err(e) = &log_key {
        problems.push(e.clone());
    }
    let checkpoint = decode_checkpoint(bundle, &mut problems);
    if let Err(e) = &checkpoint {
        problems.push(e.clone());
    }
    let issuers = decode_issuers(&bundle.issuers, &mut problems);
    let witnesses = decode_witnesses(&bundle.witnesses, &mut problems);
    let mut entries = decode_entries(bundle, &mut problems);
    if bundle.is_v2() {
        super::commitments::check_markers(bundle, &mut entries);
    }
    Decoded { problems, log_key, checkpoint, issuers, witnesses, entries }
}

fn decode_log_key(bundle: &Bundle) -> Result<NoteVerifier, String> {
    let key = NoteVerifier::from_vkey(&bundle.log_vkey)
        .map_err(|e| format!("the log key is not a valid verifier key ({e})"))?;
    if key.alg != ALG_ED25519 {
        return Err("the log key is not an Ed25519 note key".into());
    }
    Ok(key)
}

fn decode_checkpoint(
    bundle: &Bundle,
    problems: &mut Vec<String>,
) -> Result<SignedCheckpoint, String> {
    let signed = SignedCheckpoint::parse(bundle.checkpoint.as_bytes())
        .map_err(|e| format!("the checkpoint is not a readable signed checkpoint ({e})"))?;
    if signed.checkpoint.origin != bundle.origin {
        problems.push(format!(
            "the checkpoint is from log {:?}, not from {:?} as the bundle says",
            plain(&signed.checkpoint.origin),
            plain(&bundle.origin)
        ));
    }
    if let Some(n) = bundle.tree_size.filter(|&n| n != signed.checkpoint.size) {
        problems.push(format!(
            "tree_size {n} differs from the checkpoint's {}",
            signed.checkpoint.size
        ));
    }
    Ok(signed)
}

fn decode_issuers(issuers: &[BundleIssuer], problems: &mut Vec<String>) -> IssuerKeys {
    let mut keys = IssuerKeys::new();
    for i in issuers {
        let key = B64
            .decode(&i.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            // Small-order keys: strict verification refuses every signature
            // under them, and the JS verifier refuses the key itself.
            .filter(|k| !k.is_weak());
        match key {
            _ if keys.contains_key(&i.name) => {
                problems.push(format!("issuer {:?} is listed twice", plain(&i.name)));
            }
            Some(k) => {
                keys.insert(i.name.clone(), k);
            }
            None => problems.push(format!(
                "the key of issuer {:?} is not a base64 Ed25519 public key",
                plain(&i.name)
            )),
        }
    }
    keys
}

fn decode_witnesses(witnesses: &[BundleWitness], problems: &mut Vec<String>) -> Vec<NoteVerifier> {
    let mut out: Vec<NoteVerifier> = Vec::new();
    for w in witnesses {
        let name = plain(&w.name);
        match NoteVerifier::from_vkey(&w.vkey) {
            Err(e) => problems.push(format!("the key of witness {name:?} is not valid ({e})")),
            Ok(k) if k.alg != ALG_COSIGNATURE_V1 => {
                problems.push(format!("the key of witness {name:?} is not a cosignature key"));
            }
            Ok(k) if k.name != w.name => {
                problems.push(format!("witness {name:?} is listed with a key of another name"));
            }
            Ok(_) if out.iter().any(|o| o.name == w.name) => {
                problems.push(format!("witness {name:?} is listed twice"));
            }
            Ok(k) => out.push(k),
        }
    }
    out
}

fn decode_entries(bundle: &Bundle, problems: &mut Vec<String>) -> Vec<DecodedEntry> {
    let entries = &bundle.entries;
    let mut out = Vec::with_capacity(entries.len());
    let mut prev: Option<u64> = None;
    for e in entries {
        if prev.is_some_and(|p| e.index <= p) {
            problems.push(format!("entry {} is out of order or repeated", e.index));
        }
        prev = Some(e.index);
        let d = if bundle.is_v2() {
            super::commitments::decode_entry_v2(e, problems)
        } else {
            decode_entry(e)
        };
        if let (Err(reason), None) = (&d.leaf, &d.opening) {
            problems.push(format!("entry {}: {reason}", e.index));
        }
        if d.proof.is_none() {
            problems.push(format!("entry {}: its proof holds a malformed hash", e.index));
        }
        out.push(d);
    }
    out
}

/// The leaf bytes of an entry, if its `leaf` is base64 of at most 1 MiB.
pub(super) fn leaf_bytes(e: &BundleEntry) -> Option<Vec<u8>> {
    if e.leaf.len() > MAX_LEAF_B64 {
        None
    } else {
        B64.decode(&e.leaf).ok()
    }
}

/// An entry with its leaf hash and proof decoded, its content not yet.
pub(super) fn undecoded(e: &BundleEntry, bytes: Option<&[u8]>) -> DecodedEntry {
    DecodedEntry {
        index: e.index,
        leaf_hash: bytes.map(leaf_hash),
        leaf: Err("the leaf is not standard base64 (or too large)".to_owned()),
        proof: e.inclusion.iter().map(|h| Hash::from_base64(h).ok()).collect(),
        opening: None,
        erased: None,
        leaf_time: None,
        identity: None,
        identity_committed: false,
    }
}

fn decode_entry(e: &BundleEntry) -> DecodedEntry {
    let bytes = leaf_bytes(e);
    let mut d = undecoded(e, bytes.as_deref());
    if let Some(b) = &bytes {
        d.leaf = parse_leaf(b).map_err(|e| format!("the leaf is not a valid ledger entry ({e})"));
    }
    d.leaf_time = d.leaf.as_ref().ok().map(|l| l.ledger_time.clone());
    d
}

impl Decoded {
    /// The entries whose content can be read (v1 leaves, opened v2
    /// leaves), with their index.
    pub(super) fn readable(&self) -> Vec<(u64, &LeafEntry)> {
        self.entries.iter().filter_map(|e| e.leaf.as_ref().ok().map(|l| (e.index, l))).collect()
    }

    /// How many entries can be read neither as content nor as erased.
    pub(super) fn unreadable(&self) -> usize {
        self.entries.iter().filter(|e| e.leaf.is_err() && e.erased.is_none()).count()
    }

    /// How many entries carry an erased marker.
    pub(super) fn erased(&self) -> usize {
        self.entries.iter().filter(|e| e.erased.is_some()).count()
    }

    /// The leaf time of every readable or erased entry, in bundle order.
    pub(super) fn times(&self) -> Vec<(u64, &str)> {
        self.entries
            .iter()
            .filter(|e| e.leaf.is_ok() || e.erased.is_some())
            .filter_map(|e| e.leaf_time.as_deref().map(|t| (e.index, t)))
            .collect()
    }
}
