//! Decoding a bundle's fields, once: what fails is collected for the
//! `bundle_format` check, and every other check reads the decoded values.

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

use super::decoded::{leaf_bytes, undecoded, Decoded, DecodedEntry};
use super::{Bundle, BundleEntry, BundleIssuer, BundleWitness};
use crate::anykey::AnyVerifier;
use crate::checkpoint::SignedCheckpoint;
use crate::entry::parse_leaf;
use crate::issuer::IssuerKeys;
use crate::suite::Suite;
use crate::text::plain;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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
    // The leaf hashes of an sm2-sm3 log's entries are SM3 (RFC 9162 with
    // the log's hash; the log key's type names the suite).
    let suite = log_key.as_ref().map_or(Suite::Ed25519Sha256, AnyVerifier::suite);
    if suite != Suite::Ed25519Sha256 {
        for (d, e) in entries.iter_mut().zip(&bundle.entries) {
            d.leaf_hash = leaf_bytes(e).map(|b| suite.leaf_hash(&b));
        }
    }
    if bundle.is_v2() {
        super::commitments::check_markers(bundle, &mut entries);
        super::commitments::check_identities(&mut entries);
    }
    Decoded { problems, log_key, checkpoint, issuers, witnesses, entries }
}

fn decode_log_key(bundle: &Bundle) -> Result<AnyVerifier, String> {
    let key = AnyVerifier::from_vkey(&bundle.log_vkey)
        .map_err(|e| format!("the log key is not a valid verifier key ({e})"))?;
    if key.is_cosigner() {
        return Err("the log key is not a note key (Ed25519, or SM2)".into());
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
                keys.insert(i.name.clone(), AnyVerifier::ed25519_issuer(&i.name, k));
            }
            None => problems.push(format!(
                "the key of issuer {:?} is not a base64 Ed25519 public key",
                plain(&i.name)
            )),
        }
    }
    keys
}

fn decode_witnesses(witnesses: &[BundleWitness], problems: &mut Vec<String>) -> Vec<AnyVerifier> {
    let mut out: Vec<AnyVerifier> = Vec::new();
    for w in witnesses {
        let name = plain(&w.name);
        match AnyVerifier::from_vkey(&w.vkey) {
            Err(e) => problems.push(format!("the key of witness {name:?} is not valid ({e})")),
            Ok(k) if !k.is_cosigner() => {
                problems.push(format!("the key of witness {name:?} is not a cosignature key"));
            }
            Ok(k) if k.name() != w.name => {
                problems.push(format!("witness {name:?} is listed with a key of another name"));
            }
            Ok(_) if out.iter().any(|o| o.name() == w.name) => {
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

fn decode_entry(e: &BundleEntry) -> DecodedEntry {
    let bytes = leaf_bytes(e);
    let mut d = undecoded(e, bytes.as_deref());
    if let Some(b) = &bytes {
        d.leaf = parse_leaf(b).map_err(|e| format!("the leaf is not a valid ledger entry ({e})"));
    }
    d.leaf_time = d.leaf.as_ref().ok().map(|l| l.ledger_time.clone());
    d
}
