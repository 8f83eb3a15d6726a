//! A world of keys that signs evidence bundles the way the service builds
//! them (real Ed25519 keys, attestations, leaf bytes, an RFC 9162 prover
//! written from §2.1.3.1 `PATH`, a signed checkpoint with cosignatures),
//! shared by the bundle, trust and conformance tests.
#![allow(dead_code, missing_docs, clippy::expect_used, clippy::unwrap_used)]

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use verifier::attest::sign_attestation;
use verifier::bundle::{
    verify_bundle, Bundle, BundleEntry, BundleIssuer, BundleWitness, VerifyOptions, FORMAT_V1,
};
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::cosignature::CosignatureSigner;
use verifier::entry::{format_ledger_time, leaf_bytes, Event};
use verifier::hash::{largest_power_of_two_below, leaf_hash, root_from_leaf_hashes};
use verifier::note::NoteSigner;
use verifier::policy::TrustPolicy;
use verifier::report::Report;
use verifier::Hash;

pub const ORIGIN: &str = "ledger.example/log";
pub const TENANT: &str = "acme";
pub const DOC_ID: &str = "contract-42";
pub const DOCUMENT: &[u8] = b"%PDF-1.7 the contract text";
/// 2026-01-01T00:00:00Z in microseconds.
pub const T0: i64 = 1_767_225_600_000_000;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).expect("test data is base64")
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Everyone who signs something in a bundle.
pub struct World {
    /// The signed document (default [`DOCUMENT`]).
    pub document: Vec<u8>,
    pub log: NoteSigner,
    pub witnesses: Vec<CosignatureSigner>,
    /// (issuer name, key): identity provider, intent service, two signers.
    pub issuers: Vec<(String, SigningKey)>,
}

impl World {
    pub fn new() -> World {
        World {
            document: DOCUMENT.to_vec(),
            log: NoteSigner::new(ORIGIN, key(1)).expect("valid name"),
            witnesses: vec![
                CosignatureSigner::new("notary.example/w1", key(2)).expect("valid name"),
                CosignatureSigner::new("court.example/w2", key(3)).expect("valid name"),
            ],
            issuers: vec![
                ("idp-gov".into(), key(10)),
                ("intent-svc".into(), key(11)),
                ("signer:u-1".into(), key(12)),
                ("signer:u-2".into(), key(13)),
            ],
        }
    }

    pub fn issuer(&self, name: &str) -> &SigningKey {
        &self.issuers.iter().find(|(n, _)| n == name).expect("known issuer").1
    }

    /// The options of a court that pins the log and both witnesses and
    /// holds the document.
    pub fn strict_options(&self) -> VerifyOptions {
        VerifyOptions::with_policy(self.policy(), "the test court's policy")
            .with_document(&self.document)
    }

    /// The court's policy: the log key and both witnesses, quorum all.
    pub fn policy(&self) -> TrustPolicy {
        let mut p = TrustPolicy::default();
        p.add_log(&self.log.vkey()).expect("log key");
        for w in &self.witnesses {
            p.add_witness(&w.vkey()).expect("witness key");
        }
        p
    }

    /// An event as submitted, its attestations signed by `issuers`.
    pub fn event(&self, id: &str, kind: &str, actor: &str, attest: &[(&str, Value)]) -> Value {
        let h = Hash::digest(&self.document).to_hex();
        let attestations: Vec<Value> = attest
            .iter()
            .map(|(iss, claim)| {
                let sig = sign_attestation(self.issuer(iss), claim, &h, id, iss, kind);
                json!({"issuer": iss, "claim": claim, "signature": sig})
            })
            .collect();
        let display = match actor {
            "u-1" => "王*",
            "u-2" => "李*",
            _ => "平台",
        };
        json!({
            "event_id": id,
            "document_id": DOC_ID,
            "kind": kind,
            "document_hash": h,
            "actor": {"id": actor, "display": display,
                      "commitment": Hash::digest(actor.as_bytes()).to_hex()},
            "attestations": attestations,
        })
    }

    /// registered; per signer identity, intent, signed; completed.
    pub fn contract_flow(&self) -> Vec<Value> {
        let mut out = vec![self.event("e-reg", "registered", "platform", &[])];
        for (signer, id_method, intent_method) in
            [("u-1", "phone_3_factor", "sms_code"), ("u-2", "bank_card_4_factor", "face_liveness")]
        {
            let own = format!("signer:{signer}");
            out.push(self.event(
                &format!("e-{signer}-id"),
                "identity_verified",
                signer,
                &[("idp-gov", json!({"method": id_method, "result": "pass"}))],
            ));
            out.push(self.event(
                &format!("e-{signer}-intent"),
                "intent_verified",
                signer,
                &[("intent-svc", json!({"method": intent_method, "result": "pass"}))],
            ));
            out.push(self.event(
                &format!("e-{signer}-sign"),
                "signed",
                signer,
                &[(&own, json!({"action": "sign", "algorithm": "Ed25519"}))],
            ));
        }
        out.push(self.event("e-done", "completed", "platform", &[]));
        out
    }

    /// A bundle over `events`, logged one second apart, with two leaves of
    /// other contracts before each event so proofs have some depth.
    pub fn bundle(&self, events: &[Value]) -> Bundle {
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut ours = Vec::new();
        for (i, ev) in events.iter().enumerate() {
            leaves.push(format!("other leaf {i}a").into_bytes());
            leaves.push(format!("other leaf {i}b").into_bytes());
            let event = Event::from_value(ev.clone(), true).expect("valid event");
            let time = format_ledger_time(T0 + i as i64 * 1_000_000);
            ours.push(leaves.len());
            leaves.push(leaf_bytes(&event, TENANT, &time));
        }
        leaves.push(b"a later leaf".to_vec());
        let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
        let entries = ours
            .iter()
            .map(|&m| BundleEntry {
                index: m as u64,
                leaf: b64(&leaves[m]),
                inclusion: path(m, &hashes).iter().map(Hash::to_base64).collect(),
            })
            .collect();
        Bundle {
            format: FORMAT_V1.into(),
            origin: ORIGIN.into(),
            log_vkey: self.log.vkey(),
            tenant: TENANT.into(),
            document_id: DOC_ID.into(),
            checkpoint: self.checkpoint(&hashes),
            tree_size: None,
            entries,
            issuers: self
                .issuers
                .iter()
                .map(|(n, k)| BundleIssuer {
                    name: n.clone(),
                    public_key: b64(k.verifying_key().as_bytes()),
                })
                .collect(),
            witnesses: self
                .witnesses
                .iter()
                .map(|w| BundleWitness { name: w.name().into(), vkey: w.vkey() })
                .collect(),
            checkpoint_timestamp: None,
            timestamp_authorities: Vec::new(),
            anchoring: None,
        }
    }

    /// The signed, cosigned checkpoint over `hashes`.
    pub fn checkpoint(&self, hashes: &[Hash]) -> String {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: hashes.len() as u64,
            root: root_from_leaf_hashes(hashes),
            extensions: vec![],
        };
        let mut signed = SignedCheckpoint::try_sign(cp, &self.log).expect("sign");
        let body = signed.note.text.clone();
        for (i, w) in self.witnesses.iter().enumerate() {
            let ts = 1_767_225_700 + i as u64 * 60;
            signed.note.signatures.push(w.cosign(&body, ts));
        }
        String::from_utf8(signed.to_bytes()).expect("UTF-8 note")
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of leaf `m`.
pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = largest_power_of_two_below(n as u64) as usize;
    let (mut p, sibling) = if m < k {
        (path(m, &leaves[..k]), root_from_leaf_hashes(&leaves[k..]))
    } else {
        (path(m - k, &leaves[k..]), root_from_leaf_hashes(&leaves[..k]))
    };
    p.push(sibling);
    p
}

/// The ids of the failed checks, sorted and deduplicated.
pub fn failed(report: &Report) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = report.failures().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub fn verify(world: &World, bundle: &Bundle) -> Report {
    verify_bundle(bundle, &world.strict_options())
}

/// Flips one bit of the base64-encoded bytes in `s`.
pub fn flip_b64(s: &mut String, byte: usize) {
    let mut bytes = unb64(s);
    let i = byte % bytes.len();
    bytes[i] ^= 0x01;
    *s = b64(&bytes);
}

/// The checkpoint note's signature lines, with `f` applied to the decoded
/// signature bytes of line `line`.
pub fn tamper_signature_line(note: &str, line: usize, f: impl Fn(&mut Vec<u8>)) -> String {
    let (text, sigs) = note.split_once("\n\n").expect("note has signatures");
    let mut lines: Vec<String> = sigs.lines().map(str::to_owned).collect();
    let (prefix, sig_b64) = lines[line].rsplit_once(' ').expect("signature line");
    let mut raw = unb64(sig_b64);
    f(&mut raw);
    lines[line] = format!("{prefix} {}", b64(&raw));
    format!("{text}\n\n{}\n", lines.join("\n"))
}

/// The checkpoint note's body (the signed text, with its final newline).
pub fn note_body(note: &str) -> String {
    format!("{}\n", note.split_once("\n\n").expect("note").0)
}

/// The note with only its first `keep` signature lines, then `extra` lines.
pub fn with_lines(note: &str, keep: usize, extra: &[String]) -> String {
    let (text, sigs) = note.split_once("\n\n").expect("note");
    let mut lines: Vec<String> = sigs.lines().take(keep).map(str::to_owned).collect();
    lines.extend(extra.iter().map(|l| l.trim_end().to_owned()));
    format!("{text}\n\n{}\n", lines.join("\n"))
}
