//! A world of keys that signs evidence bundles the way the service builds
//! them (real Ed25519 keys, attestations, leaf bytes, an RFC 9162 prover
//! written from §2.1.3.1 `PATH`, a signed checkpoint with cosignatures),
//! shared by the bundle, trust and conformance tests.
#![allow(dead_code, missing_docs, clippy::expect_used, clippy::unwrap_used)]

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use verifier::attest::{sign_attestation, sign_attestation_v2, AttestationV2};
use verifier::bundle::{
    verify_bundle, Bundle, BundleEntry, BundleErased, BundleIssuer, BundleWitness, VerifyOptions,
    FORMAT_V1, FORMAT_V2,
};
use verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use verifier::cosignature::CosignatureSigner;
use verifier::entry::{format_ledger_time, leaf_bytes, Event};
use verifier::hash::{largest_power_of_two_below, leaf_hash, node_hash, root_from_leaf_hashes};
use verifier::note::NoteSigner;
use verifier::policy::TrustPolicy;
use verifier::report::Report;
use verifier::v2::{
    identity_commitment, identity_value, leaf_v2_bytes, record_commitment, record_value,
};
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
        let levels = Levels::new(hashes.clone());
        let entries = ours
            .iter()
            .map(|&m| {
                BundleEntry::new(
                    m as u64,
                    b64(&leaves[m]),
                    levels.path(m, 0, hashes.len()).iter().map(Hash::to_base64).collect(),
                )
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

    /// An event as submitted whose attestations are v2 (`"v": 2`), each
    /// signed over the v2 message for `bind` (tenant, document id, actor id
    /// the signature is made for: normally the event's own).
    pub fn event_v2(
        &self,
        id: &str,
        kind: &str,
        actor: &str,
        attest: &[(&str, Value)],
        bind: (&str, &str, &str),
    ) -> Value {
        let mut ev = self.event(id, kind, actor, &[]);
        let h = Hash::digest(&self.document).to_hex();
        let (tenant, document_id, actor_id) = bind;
        let attestations: Vec<Value> = attest
            .iter()
            .map(|(iss, claim)| {
                let sig = sign_attestation_v2(
                    self.issuer(iss),
                    &AttestationV2 {
                        tenant,
                        document_id,
                        document_hash_hex: &h,
                        event_id: id,
                        kind,
                        actor_id,
                        issuer: iss,
                        claim,
                    },
                );
                json!({"issuer": iss, "v": 2, "claim": claim, "signature": sig})
            })
            .collect();
        ev["attestations"] = json!(attestations);
        ev
    }

    /// The contract flow of [`World::contract_flow`] with v2 attestations
    /// for tenant [`TENANT`], and each signer's real identity on their
    /// `identity_verified` event.
    /// A `registered` event of another contract (contract-43) of the same
    /// tenant: a genuine leaf that is not contract-42's.
    pub fn other_contract_registration(&self) -> Value {
        let mut other = self.event_v2(
            "e-43-reg",
            "registered",
            "platform",
            &[],
            (TENANT, "contract-43", "platform"),
        );
        other["document_id"] = serde_json::json!("contract-43");
        other
    }

    pub fn contract_flow_v2(&self) -> Vec<Value> {
        let mut out = vec![self.event_v2(
            "e-reg",
            "registered",
            "platform",
            &[],
            (TENANT, DOC_ID, "platform"),
        )];
        for (signer, id_method, intent_method, identity) in [
            (
                "u-1",
                "phone_3_factor",
                "sms_code",
                json!({"name": "王小明", "id_type": "resident_id", "id_number": "11010119900307777X", "phone": "+86 138 0000 0000"}),
            ),
            (
                "u-2",
                "bank_card_4_factor",
                "face_liveness",
                json!({"name": "李雷", "id_type": "passport", "id_number": "E12345678"}),
            ),
        ] {
            let bind = (TENANT, DOC_ID, signer);
            let mut id_event = self.event_v2(
                &format!("e-{signer}-id"),
                "identity_verified",
                signer,
                &[("idp-gov", json!({"method": id_method, "result": "pass"}))],
                bind,
            );
            id_event["identity"] = identity;
            out.push(id_event);
            out.push(self.event_v2(
                &format!("e-{signer}-intent"),
                "intent_verified",
                signer,
                &[("intent-svc", json!({"method": intent_method, "result": "pass"}))],
                bind,
            ));
            out.push(self.event_v2(
                &format!("e-{signer}-sign"),
                "signed",
                signer,
                &[(&format!("signer:{signer}"), json!({"action": "sign", "algorithm": "Ed25519"}))],
                bind,
            ));
        }
        out.push(self.event_v2(
            "e-done",
            "completed",
            "platform",
            &[],
            (TENANT, DOC_ID, "platform"),
        ));
        out
    }

    /// The erasure entry's event (kind `erased`, by the log key as issuer
    /// [`LEDGER_ISSUER`]; the world must list that issuer).
    pub fn erasure_event(&self, reason: &str) -> Value {
        let claim = json!({"erasure": {"scope": "document", "reason": reason}});
        let mut ev = self.event_v2(
            "erased-0123456789abcdef01234567",
            "erased",
            "operator",
            &[(LEDGER_ISSUER, claim)],
            (TENANT, DOC_ID, "operator"),
        );
        let commitment = Hash::digest(b"evidence-ledger actor operator").to_hex();
        ev["actor"] = json!({"id": "operator", "display": "admin", "commitment": commitment});
        // The v2 message binds the actor id only, so the signature holds.
        ev
    }

    /// A v2 bundle over `events` (each logged for [`TENANT`]), like
    /// [`World::bundle`]: leaves v2, each entry with its record (salt
    /// `[0x40 + i; 32]`) and, for an event with `identity`, its identity
    /// opening (salt `[0x80 + i; 32]`).
    pub fn bundle_v2(&self, events: &[Value]) -> Bundle {
        let tenants: Vec<&str> = events.iter().map(|_| TENANT).collect();
        self.bundle_v2_for(events, &tenants)
    }

    /// [`World::bundle_v2`] with the tenant of each record given.
    pub fn bundle_v2_for(&self, events: &[Value], tenants: &[&str]) -> Bundle {
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut ours = Vec::new();
        for (i, ev) in events.iter().enumerate() {
            leaves.push(format!("other leaf {i}a").into_bytes());
            leaves.push(format!("other leaf {i}b").into_bytes());
            let event = Event::from_value(ev.clone(), true).expect("valid event");
            let opening =
                event.identity.as_ref().map(|id| identity_value(id, &[0x80 + i as u8; 32]));
            let ic = opening.as_ref().map(identity_commitment);
            let record = record_value(
                &event.raw_without_identity(),
                tenants[i],
                &[0x40 + i as u8; 32],
                ic.as_ref(),
            );
            let time = format_ledger_time(T0 + i as i64 * 1_000_000);
            ours.push((leaves.len(), record, opening));
            leaves.push(leaf_v2_bytes(&record_commitment(&ours.last().expect("pushed").1), &time));
        }
        leaves.push(b"a later leaf".to_vec());
        let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
        let mut bundle = self.bundle(&[]);
        bundle.format = FORMAT_V2.into();
        bundle.checkpoint = self.checkpoint(&hashes);
        bundle.entries = ours
            .into_iter()
            .map(|(m, record, opening)| BundleEntry {
                record: Some(record),
                identity: opening,
                ..BundleEntry::new(
                    m as u64,
                    b64(&leaves[m]),
                    path(m, &hashes).iter().map(Hash::to_base64).collect(),
                )
            })
            .collect();
        bundle
    }

    /// A v2 bundle whose records are v3 (`evidence-record/v3`): each
    /// committed to by per-field digests, and chained to the contract's
    /// previous entry (`prev` its leaf hash, `seq` its position). Two
    /// leaves of other contracts sit before each of ours, as in a busy log.
    pub fn bundle_v3(&self, events: &[Value]) -> Bundle {
        self.bundle_v3_in(verifier::suite::Suite::Ed25519Sha256, events)
    }

    /// [`World::bundle_v3`] as a log of `suite` writes it: records
    /// committed with the suite's hash (`sm3-jcs-sd/v3` on `sm2-sm3`), each
    /// chain's `prev` the suite's leaf hash. The inclusion proofs and
    /// checkpoint are SHA-256 ones: an `sm2-sm3` caller rebuilds them.
    pub fn bundle_v3_in(&self, suite: verifier::suite::Suite, events: &[Value]) -> Bundle {
        use verifier::v2::{leaf_bytes, CommitmentAlg};
        use verifier::v3::{record_commitment_in, record_value as record_v3, Chain, SdHash};
        let sd = SdHash::for_suite(suite);
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut ours = Vec::new();
        let mut prev = None;
        for (i, ev) in events.iter().enumerate() {
            leaves.push(format!("other leaf {i}a").into_bytes());
            leaves.push(format!("other leaf {i}b").into_bytes());
            let event = Event::from_value(ev.clone(), true).expect("valid event");
            let opening =
                event.identity.as_ref().map(|id| identity_value(id, &[0x80 + i as u8; 32]));
            let ic = opening.as_ref().map(identity_commitment);
            let chain = Chain { prev, seq: i as u64 };
            let record = record_v3(
                &event.raw_without_identity(),
                TENANT,
                &[0x40 + i as u8; 32],
                ic.as_ref(),
                &chain,
            );
            let time = format_ledger_time(T0 + i as i64 * 1_000_000);
            let c = record_commitment_in(sd, &record).expect("v3 record");
            let leaf = leaf_bytes(&c, CommitmentAlg::v3(sd), &time);
            prev = Some(suite.leaf_hash(&leaf));
            ours.push((leaves.len(), record, opening));
            leaves.push(leaf);
        }
        leaves.push(b"a later leaf".to_vec());
        let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
        let mut bundle = self.bundle(&[]);
        bundle.format = FORMAT_V2.into();
        bundle.checkpoint = self.checkpoint(&hashes);
        bundle.entries = ours
            .into_iter()
            .map(|(m, record, opening)| BundleEntry {
                record: Some(record),
                identity: opening,
                ..BundleEntry::new(
                    m as u64,
                    b64(&leaves[m]),
                    path(m, &hashes).iter().map(Hash::to_base64).collect(),
                )
            })
            .collect();
        bundle
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

/// The issuer name the ledger signs its own (service-written) entries under.
pub const LEDGER_ISSUER: &str = "evidence-ledger";

/// A world whose issuers include the ledger's own key ([`LEDGER_ISSUER`],
/// the log's seed), for erasure entries.
pub fn world_with_ledger_issuer() -> World {
    let mut w = World::new();
    w.issuers.push((LEDGER_ISSUER.into(), key(1)));
    w
}

/// Replaces the records of entries `positions` (positions in
/// `bundle.entries`) by erased markers naming the entry at position `at`.
pub fn erase(bundle: &mut Bundle, positions: std::ops::Range<usize>, at: usize, reason: &str) {
    let target = bundle.entries[at].clone();
    let record = target.record.expect("the erasure entry has its record");
    let marker = BundleErased {
        at: leaf_time(&target.leaf),
        by: record["event"]["actor"]["id"].as_str().expect("actor").to_owned(),
        reason: reason.to_owned(),
        entry: target.index,
    };
    for e in &mut bundle.entries[positions] {
        e.record = None;
        e.identity = None;
        e.erased = Some(marker.clone());
    }
}

/// The ledger time of a v2 leaf given in base64.
pub fn leaf_time(leaf_b64: &str) -> String {
    let v: Value = serde_json::from_slice(&unb64(leaf_b64)).expect("leaf JSON");
    v["ledger_time"].as_str().expect("ledger_time").to_owned()
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

/// RFC 9162 subtree roots and inclusion proofs over precomputed levels:
/// O(log² n) a proof, where [`path`] is O(n) (too slow for the 10^5-entry
/// bundles of tests/scale.rs).
pub struct Levels(Vec<Vec<Hash>>);

impl Levels {
    pub fn new(leaves: Vec<Hash>) -> Levels {
        let mut levels = vec![leaves];
        while levels.last().expect("level").len() > 1 {
            let up = levels
                .last()
                .expect("level")
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(up);
        }
        Levels(levels)
    }

    /// MTH(D[lo:hi]).
    pub fn root(&self, lo: usize, hi: usize) -> Hash {
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            return self.0[n.trailing_zeros() as usize][lo / n];
        }
        let k = largest_power_of_two_below(n as u64) as usize;
        node_hash(&self.root(lo, lo + k), &self.root(lo + k, hi))
    }

    /// PATH(m, D[lo:hi]).
    pub fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n <= 1 {
            return Vec::new();
        }
        let k = largest_power_of_two_below(n as u64) as usize;
        let (mut p, sibling) = if m < lo + k {
            (self.path(m, lo, lo + k), self.root(lo + k, hi))
        } else {
            (self.path(m, lo + k, hi), self.root(lo, lo + k))
        };
        p.push(sibling);
        p
    }
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
