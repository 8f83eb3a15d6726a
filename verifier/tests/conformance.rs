//! The conformance corpus (verifier/testdata/conformance, README there):
//! inputs with the verdict and check ids every verifier must reach. This
//! test runs the Rust verifier over every case; tests/js_conformance.rs runs
//! the page's JavaScript verifier over the same files, so the two cannot
//! drift.
//!
//! The cases are made by `generate` below, with their expected outcomes
//! written by hand (never computed by the verifier under test). Regenerate
//! after changing a case: `EL_REGENERATE_CORPUS=1 cargo test --release -p
//! evidence-verifier --test conformance`.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

#[path = "conformance_cases/certified.rs"]
mod certified;
mod common;
#[path = "gm_pki/mod.rs"]
mod gm_pki;
#[path = "conformance_cases/v21.rs"]
mod v21;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use verifier::bundle::{
    verify_bundle_bytes, verify_lookup_bytes, BundleWitness, VerifyOptions, LOOKUP_FORMAT_V2,
};
use verifier::checkpoint::Checkpoint;
use verifier::cosignature::CosignatureSigner;
use verifier::entry::{format_ledger_time, leaf_bytes, Event};
use verifier::hash::{inclusion_path_with, root_from_leaf_hashes_with, Sm3Tree};
use verifier::note::Note;
use verifier::note::NoteSigner;
use verifier::policy::TrustPolicy;
use verifier::report::CheckStatus;
use verifier::sm2note::{Sm2KeyType, Sm2Signer};
use verifier::suite::Suite;
use verifier::Hash;

/// "Now" of every case: 2026-11-28T17:17:40Z, an hour after the genTime of
/// the RFC 3161 fixtures (tests/data/tsa).
const NOW: i64 = 1_795_886_260;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/conformance")
}

/// One case, as written to its file.
struct Case {
    name: &'static str,
    description: &'static str,
    bundle: Value,
    policy: String,
    document: Option<Vec<u8>>,
    expect: Value,
}

fn expect(verdict: &str, fail: &[&str], unanchored: &[&str]) -> Value {
    json!({"verdict": verdict, "fail": fail, "unanchored": unanchored})
}

fn tsa_file(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tsa").join(name);
    std::fs::read_to_string(p).expect("TSA fixture")
}

fn tsa_der(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tsa").join(name);
    std::fs::read(p).expect("TSA fixture")
}

fn to_value(b: &verifier::bundle::Bundle) -> Value {
    serde_json::from_slice(&b.to_json()).expect("bundle JSON")
}

/// A world of forger's keys that names itself like the real one.
fn forger() -> World {
    World {
        log: NoteSigner::new(ORIGIN, key(101)).expect("name"),
        witnesses: vec![
            CosignatureSigner::new("notary.example/w1", key(102)).expect("name"),
            CosignatureSigner::new("court.example/w2", key(103)).expect("name"),
        ],
        issuers: vec![
            ("idp-gov".into(), key(110)),
            ("intent-svc".into(), key(111)),
            ("signer:u-1".into(), key(112)),
            ("signer:u-2".into(), key(113)),
        ],
        ..World::new()
    }
}

/// The cases, each with its expected outcome.
fn generate() -> Vec<Case> {
    let world = World::new();
    let court = world.policy().to_text();
    let genuine = world.bundle(&world.contract_flow());
    let mut cases = vec![
        Case {
            name: "genuine-with-policy",
            description: "A genuine bundle, checked against a policy with the real log key and both witnesses (quorum: all).",
            bundle: to_value(&genuine),
            policy: court.clone(),
            document: Some(DOCUMENT.to_vec()),
            expect: expect("verified", &[], &[]),
        },
        Case {
            name: "genuine-without-policy",
            description: "The same genuine bundle with no policy: every check holds, but only under the bundle's own keys.",
            bundle: to_value(&genuine),
            policy: String::new(),
            document: None,
            expect: expect("no_trusted_log_key", &[], &["log_signature"]),
        },
        Case {
            name: "genuine-log-key-only",
            description: "A policy with the log key and no witness: the log's word alone, which the verdict says.",
            bundle: to_value(&genuine),
            policy: format!("log {}\n", world.log.vkey()),
            document: None,
            expect: expect("verified", &[], &[]),
        },
    ];
    let f = forger();
    let forged = f.bundle(&f.contract_flow());
    cases.push(Case {
        name: "forged-self-keyed",
        description: "A bundle forged end to end with the forger's own log, witness and issuer keys, named like the real ones, checked against the real policy.",
        bundle: to_value(&forged),
        policy: court.clone(),
        document: Some(DOCUMENT.to_vec()),
        expect: expect("failed", &["cosignature", "log_signature", "witness_quorum"], &[]),
    });
    cases.push(Case {
        name: "forged-self-keyed-no-policy",
        description: "The forged bundle with no policy: consistent with itself, and therefore never verified.",
        bundle: to_value(&forged),
        policy: String::new(),
        document: None,
        expect: expect("no_trusted_log_key", &[], &["log_signature"]),
    });
    cases.extend(witness_cases(&world, &genuine, &court));
    cases.extend(escape_cases(&world, &court));
    cases.extend(timestamp_cases(&court));
    cases.extend(v2_cases(&world, &court));
    cases.extend(v3_cases(&world, &court));
    cases.extend(lookup_cases(&world, &court));
    cases.extend(party_cases(&world, &court));
    cases.extend(integration_cases(&court));
    cases.extend(sm_cases(&world, &court));
    cases.extend(sm3_record_cases(&world));
    cases.extend(certified::certified_cases(&world));
    cases.extend(v21::v21_cases(&world, &court));
    let sm = SmWorld::new();
    let rebuild = |flow: &[Value]| to_value(&sm.rebuild(&world.bundle_v3_in(Suite::Sm2Sm3, flow)));
    cases.extend(v21::sm_v21_cases(&world, &rebuild, &sm.policy()));
    cases
}

/// Record v3 with SM3 commitments (`sm3-jcs-sd/v3`) on an `sm2-sm3` log:
/// a bundle and a lookup answer that verify, a tampered field, and a leaf
/// whose algorithm name was swapped to the SHA-256 one.
fn sm3_record_cases(world: &World) -> Vec<Case> {
    let sm = SmWorld::new();
    let flow = world.contract_flow_v2();
    let genuine = sm.rebuild(&world.bundle_v3_in(Suite::Sm2Sm3, &flow));
    let case = |name, description, bundle: Value, e| Case {
        name,
        description,
        bundle,
        policy: sm.policy(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    // One record names another contract: it no longer opens its SM3
    // commitment.
    let mut tampered = genuine.clone();
    let rec = tampered.entries[2].record.as_mut().expect("record");
    rec["event"]["document_id"] = json!("contract-other");
    // The leaf names sha256-jcs-sd/v3 instead of sm3-jcs-sd/v3: another
    // leaf than the log holds, and its record does not open it.
    let mut swapped = genuine.clone();
    let leaf = String::from_utf8(unb64(&swapped.entries[2].leaf))
        .expect("UTF-8")
        .replace("\"sm3-jcs-sd/v3\"", "\"sha256-jcs-sd/v3\"");
    swapped.entries[2].leaf = b64(leaf.as_bytes());
    let lookup = lookup_of(&genuine, true);
    let mut kind = lookup.clone();
    kind["entries"][3]["disclosures"][1][2] = json!("revoked");
    let mut sha_view = lookup.clone();
    let rec = genuine.entries[3].record.as_ref().expect("record");
    let view = verifier::v3::partial_view(rec, &verifier::v3::LOOKUP_DISCLOSED).expect("view");
    sha_view["entries"][3]["disclosures"] = view["disclosures"].clone();
    sha_view["entries"][3]["digests"] = view["digests"].clone();
    vec![
        case(
            "sm2-sm3-v3-sm3-records-verified",
            "A genuine bundle of an sm2-sm3 log whose records are v3 committed with SM3 (sm3-jcs-sd/v3: SM3 digests, HMAC-SM3 field salts), chained by SM3 leaf hashes; verified.",
            to_value(&genuine),
            expect("verified", &[], &[]),
        ),
        case(
            "sm2-sm3-v3-tampered-field",
            "The SM3-committed bundle with one record's document id changed: that record no longer opens its leaf's SM3 commitment, so the entry cannot be read and the contract's chain has a gap.",
            to_value(&tampered),
            expect(
                "failed",
                &[
                    "attestations",
                    "commitments",
                    "completeness",
                    "document_hash",
                    "same_document",
                    "timeline",
                ],
                &[],
            ),
        ),
        case(
            "sm2-sm3-v3-alg-swapped-to-sha256",
            "The SM3-committed bundle with one leaf's commitment_alg renamed sha256-jcs-sd/v3: the leaf is not the one the SM3 tree holds, its record does not open it under SHA-256 (so the entry cannot be read), and the next entry's chain names the real leaf.",
            to_value(&swapped),
            expect(
                "failed",
                &[
                    "attestations",
                    "commitments",
                    "completeness",
                    "document_hash",
                    "inclusion",
                    "same_document",
                    "timeline",
                ],
                &[],
            ),
        ),
        case(
            "lookup-sm3-verified",
            "A lookup answer of an sm2-sm3 log whose v3 entries (sm3-jcs-sd/v3) disclose document hash and kind: each opens its leaf's SM3 commitment; verified.",
            lookup,
            expect("verified", &[], &[]),
        ),
        case(
            "lookup-sm3-tampered-kind",
            "One SM3 entry's disclosed kind changed to revoked: its SM3 commitment does not reopen.",
            kind,
            expect("failed", &["lookup_summary"], &[]),
        ),
        case(
            "lookup-sm3-sha256-disclosures",
            "One SM3 entry answered with SHA-256 disclosures and digests of the same record (HMAC-SHA-256 salts): they do not open the leaf's SM3 commitment.",
            sha_view,
            expect("failed", &["lookup_summary"], &[]),
        ),
    ]
}

/// The log `ledger.example/log` as an `sm2-sm3` log (issue 26): SM2 log
/// key, two SM2 witnesses, SM3 tree; the entries are the Ed25519 world's
/// contract flow (issuer attestations stay Ed25519).
struct SmWorld {
    log: Sm2Signer,
    witnesses: Vec<Sm2Signer>,
}

impl SmWorld {
    fn new() -> SmWorld {
        let w = |name, seed| {
            Sm2Signer::from_secret(name, Sm2KeyType::Cosignature, &[seed; 32]).expect("name")
        };
        SmWorld {
            log: Sm2Signer::from_secret(ORIGIN, Sm2KeyType::Note, &[31; 32]).expect("name"),
            witnesses: vec![w("notary.example/sm", 32), w("court.example/sm", 33)],
        }
    }

    /// `suite sm2-sm3`, the log key and both witnesses (quorum: all).
    fn policy(&self) -> String {
        let mut p = format!("suite sm2-sm3\nlog {}\n", self.log.vkey());
        for w in &self.witnesses {
            p += &format!("witness {}\n", w.vkey());
        }
        p
    }

    /// `bundle` (made by [`World::bundle`], whose leaves are two of other
    /// contracts before each entry and one after) as the SM log serves it:
    /// SM3 audit paths, an SM2-signed checkpoint cosigned by both witnesses.
    fn rebuild(&self, bundle: &verifier::bundle::Bundle) -> verifier::bundle::Bundle {
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut ours = Vec::new();
        for (i, e) in bundle.entries.iter().enumerate() {
            leaves.push(format!("other leaf {i}a").into_bytes());
            leaves.push(format!("other leaf {i}b").into_bytes());
            ours.push(leaves.len());
            leaves.push(unb64(&e.leaf));
        }
        leaves.push(b"a later leaf".to_vec());
        let hashes: Vec<Hash> = leaves.iter().map(|l| Suite::Sm2Sm3.leaf_hash(l)).collect();
        let mut out = bundle.clone();
        for (e, &m) in out.entries.iter_mut().zip(&ours) {
            assert_eq!(e.index, m as u64, "World::bundle's layout");
            e.inclusion =
                inclusion_path_with::<Sm3Tree>(m, &hashes).iter().map(Hash::to_base64).collect();
        }
        let text = Checkpoint {
            origin: ORIGIN.into(),
            size: hashes.len() as u64,
            root: root_from_leaf_hashes_with::<Sm3Tree>(&hashes),
            extensions: vec![],
        }
        .body();
        let mut signatures = vec![self.log.sign(&text).expect("note key")];
        for (i, w) in self.witnesses.iter().enumerate() {
            signatures.push(w.cosign(&text, 1_767_225_700 + i as u64 * 60).expect("cosign"));
        }
        out.checkpoint = String::from_utf8(Note { text, signatures }.to_bytes()).expect("UTF-8");
        out.log_vkey = self.log.vkey();
        out.witnesses = self
            .witnesses
            .iter()
            .map(|w| BundleWitness { name: w.name().into(), vkey: w.vkey() })
            .collect();
        out
    }
}

/// Flips the last byte of the signature on line `line` of the checkpoint
/// note's signature block (0: the log's).
fn flip_signature(bundle: &verifier::bundle::Bundle, line: usize) -> verifier::bundle::Bundle {
    let mut out = bundle.clone();
    out.checkpoint = tamper_signature_line(&bundle.checkpoint, line, |sig| {
        let last = sig.len() - 1;
        sig[last] ^= 1;
    });
    out
}

/// Bundles of an `sm2-sm3` log (issue 26), one verdict in Rust, the page
/// and POST /v1/verify.
fn sm_cases(world: &World, court: &str) -> Vec<Case> {
    let sm = SmWorld::new();
    let genuine = sm.rebuild(&world.bundle(&world.contract_flow()));
    let case = |name, description, bundle: &verifier::bundle::Bundle, policy: &str, e| Case {
        name,
        description,
        bundle: to_value(bundle),
        policy: policy.to_owned(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    // The last entry (completed) logged one microsecond later than the log
    // holds it: the leaf reads well and keeps the timeline, but it is not
    // the leaf the SM3 tree holds.
    let mut flow = world.contract_flow();
    let last = flow.len() - 1;
    let event = Event::from_value(flow.remove(last), true).expect("event");
    let mut changed = genuine.clone();
    let time = format_ledger_time(T0 + last as i64 * 1_000_000 + 1);
    changed.entries[last].leaf = b64(&leaf_bytes(&event, TENANT, &time));
    vec![
        case(
            "sm2-sm3-genuine-with-policy",
            "A genuine bundle of an sm2-sm3 log (SM3 tree, SM2 checkpoint signature, two SM2 cosignatures) against a policy with `suite sm2-sm3`, its log key and both witnesses.",
            &genuine,
            &sm.policy(),
            expect("verified", &[], &[]),
        ),
        case(
            "sm2-sm3-changed-leaf",
            "The genuine sm2-sm3 bundle with the last entry's leaf changed (logged a microsecond later): its SM3 audit path no longer leads to the signed root.",
            &changed,
            &sm.policy(),
            expect("failed", &["inclusion"], &[]),
        ),
        case(
            "sm2-sm3-forged-log-signature",
            "The genuine sm2-sm3 bundle with one bit of the log's SM2 checkpoint signature flipped; the SM2 cosignatures still verify.",
            &flip_signature(&genuine, 0),
            &sm.policy(),
            expect("failed", &["log_signature"], &[]),
        ),
        case(
            "sm2-sm3-forged-cosignature",
            "The genuine sm2-sm3 bundle with one bit of a witness's SM2 cosignature flipped: that witness fails and the quorum (all) is not met.",
            &flip_signature(&genuine, 2),
            &sm.policy(),
            expect("failed", &["cosignature", "witness_quorum"], &[]),
        ),
        case(
            "sm2-sm3-given-ed25519-policy",
            "The genuine sm2-sm3 bundle checked against the Ed25519 court policy (no suite line: ed25519-sha256): the log's suite is not the policy's, and no trusted witness countersigned.",
            &genuine,
            court,
            expect("failed", &["log_signature", "witness_quorum"], &[]),
        ),
        case(
            "sm2-sm3-suite-line-only",
            "The genuine sm2-sm3 bundle against a policy that names the suite and no key: consistent with itself, never verified.",
            &genuine,
            "suite sm2-sm3\n",
            expect("no_trusted_log_key", &[], &["log_signature"]),
        ),
    ]
}

/// Signatures reported by a tenant's e-signature platform (an
/// `integration:` issuer, docs/integrations.md): exempt from T3 and T4,
/// still held to T5 (bundle-format.md §3.8).
fn integration_cases(court: &str) -> Vec<Case> {
    const ISSUER: &str = "integration:documenso:1";
    let world = World { issuers: vec![(ISSUER.into(), key(20))], ..World::new() };
    let event = |id: &str, kind: &str, actor: &str| {
        let claim = json!({"platform": "documenso", "reported_event": kind});
        world.event_v2(id, kind, actor, &[(ISSUER, claim)], (TENANT, DOC_ID, actor))
    };
    let flow = vec![
        event("documenso-10-registered", "registered", "documenso-user-1"),
        event("documenso-10-signed-50", "signed", "documenso-recipient-50"),
        event("documenso-10-signed-51", "signed", "documenso-recipient-51"),
        event("documenso-10-completed", "completed", "documenso-user-1"),
    ];
    let mut late = flow.clone();
    late.swap(2, 3);
    vec![
        Case {
            name: "v2-integration-reported-verified",
            description: "A contract logged from a signing platform's webhooks: every event attested by the tenant's integration key, signatures reported by the platform (no signer key, no identity or intent events): verified.",
            bundle: to_value(&world.bundle_v2(&flow)),
            policy: court.to_owned(),
            document: Some(DOCUMENT.to_vec()),
            expect: expect("verified", &[], &[]),
        },
        Case {
            name: "v2-integration-signed-after-completion",
            description: "The same, with a platform-reported signature logged after the completion: the timeline still fails (T5).",
            bundle: to_value(&world.bundle_v2(&late)),
            policy: court.to_owned(),
            document: None,
            expect: expect("failed", &["timeline"], &[]),
        },
    ]
}

/// Evidence bundle v2: records, identity openings, attestation v2, erased
/// markers (docs/bundle-format.md §7).
fn v2_cases(world: &World, court: &str) -> Vec<Case> {
    let flow = world.contract_flow_v2();
    let genuine = world.bundle_v2(&flow);
    let unreadable =
        expect("failed", &["attestations", "commitments", "same_document", "timeline"], &[]);
    let case =
        |name, description, bundle: &verifier::bundle::Bundle, document: bool, e: Value| Case {
            name,
            description,
            bundle: to_value(bundle),
            policy: court.to_owned(),
            document: document.then(|| DOCUMENT.to_vec()),
            expect: e,
        };
    let mut tampered = genuine.clone();
    if let Some(r) = tampered.entries[1].record.as_mut() {
        r["event"]["attestations"][0]["claim"]["result"] = json!("fail");
    }
    let mut swapped = genuine.clone();
    swapped.entries[2].record = genuine.entries[1].record.clone();
    let mut without = genuine.clone();
    without.entries[2].record = None;
    let mut identity = genuine.clone();
    if let Some(i) = identity.entries[1].identity.as_mut() {
        i["id_number"] = json!("110101199003070000");
    }
    // u-1's identity attestation, made for another tenant, document or
    // actor, copied into this contract's event and logged again.
    let copied = |bind: (&'static str, &'static str, &'static str)| {
        let mut f = flow.clone();
        let mut ev = world.event_v2(
            "e-u-1-id",
            "identity_verified",
            "u-1",
            &[("idp-gov", json!({"method": "phone_3_factor", "result": "pass"}))],
            bind,
        );
        ev["identity"] = flow[1]["identity"].clone();
        f[1] = ev;
        world.bundle_v2(&f)
    };
    let ledger = world_with_ledger_issuer();
    let reason = "PIPL art. 47 request 2026-0042";
    let erased = erased_bundle(&ledger, &ledger.contract_flow_v2(), reason, None);
    let n = erased.entries.len();
    // A leaf of contract-43 (same tenant), logged between the contract and
    // its erasure, with its valid inclusion proof, passed off as one more
    // erased entry of contract-42: the erasure lists the 8 entries of
    // contract-42 only.
    let mut foreign_flow = ledger.contract_flow_v2();
    let contract_entries = foreign_flow.len();
    let other = ledger.other_contract_registration();
    foreign_flow.push(other);
    let foreign = erased_bundle(&ledger, &foreign_flow, reason, Some(contract_entries));
    // One erased entry left out of the bundle: the erasure lists 8.
    let mut short = erased.clone();
    short.entries.remove(1);
    let mut wrong_reason = erased.clone();
    for e in &mut wrong_reason.entries[..n - 1] {
        if let Some(m) = e.erased.as_mut() {
            m.reason = "retention period over".into();
        }
    }
    let mut not_erasure = genuine.clone();
    let last = not_erasure.entries.len() - 1;
    erase(&mut not_erasure, 0..1, last, reason);
    let v1 = world.bundle(&world.contract_flow());
    let mut v1_members = to_value(&v1);
    v1_members["entries"][0]["record"] = genuine.entries[0].record.clone().expect("record");
    let mut v1_leaves = v1.clone();
    v1_leaves.format = verifier::bundle::FORMAT_V2.into();
    vec![
        case(
            "v2-genuine-verified",
            "A genuine v2 bundle: v2 leaves opened by their records, two identity openings, v2 attestations for the tenant.",
            &genuine,
            true,
            expect("verified", &[], &[]),
        ),
        case(
            "v2-record-tampered",
            "A v2 record whose claim was changed (result pass to fail): it no longer opens its leaf, so the entry cannot be read.",
            &tampered,
            false,
            unreadable.clone(),
        ),
        case(
            "v2-record-swapped",
            "The record of another leaf of the bundle put beside a leaf: it does not open it.",
            &swapped,
            false,
            unreadable.clone(),
        ),
        case(
            "v2-leaf-without-record",
            "A v2 leaf with neither its record nor an erased marker: it cannot be opened, so the entry cannot be read.",
            &without,
            false,
            unreadable,
        ),
        case(
            "v2-identity-tampered",
            "An identity opening whose ID number was changed: it no longer opens the record's identity commitment.",
            &identity,
            false,
            expect("failed", &["commitments"], &[]),
        ),
        case(
            "v2-attestation-other-tenant",
            "An attestation v2 made for tenant globex, copied into tenant acme's event and logged again: the record opens its leaf, the signature does not hold for acme.",
            &copied(("globex", DOC_ID, "u-1")),
            false,
            expect("failed", &["attestations"], &[]),
        ),
        case(
            "v2-attestation-other-document",
            "An attestation v2 made for contract-43, copied into contract-42's event and logged again.",
            &copied((TENANT, "contract-43", "u-1")),
            false,
            expect("failed", &["attestations"], &[]),
        ),
        case(
            "v2-attestation-other-actor",
            "An attestation v2 made for actor u-3, copied into u-1's event and logged again.",
            &copied((TENANT, DOC_ID, "u-3")),
            false,
            expect("failed", &["attestations"], &[]),
        ),
        case(
            "v2-erased-verified",
            "A bundle issued after the document's records were erased: every earlier entry carries an erased marker, and the erasure entry its record, whose claim lists the entries it erased (their number and the SHA-256 of their indices). Inclusion is checked for all; the erased entries do not fail the verdict.",
            &erased,
            true,
            expect("verified", &[], &[]),
        ),
        case(
            "v2-erased-foreign-leaf",
            "A leaf of another contract (contract-43, same tenant), with a valid inclusion proof, added with an erased marker naming contract-42's erasure, as if contract-42 had had an earlier entry: the erasure's claim lists the 8 entries it erased (their number and the SHA-256 of their indices), and the bundle marks 9.",
            &foreign,
            false,
            expect("failed", &["commitments"], &[]),
        ),
        case(
            "v2-erased-marker-count-short",
            "The erased bundle with one erased entry (the second) left out: the erasure's claim lists 8 erased entries, the bundle marks 7.",
            &short,
            false,
            expect("failed", &["commitments"], &[]),
        ),
        case(
            "v2-erased-marker-wrong-reason",
            "Erased markers that give another reason than the erasure entry's claim.",
            &wrong_reason,
            false,
            expect("failed", &["commitments"], &[]),
        ),
        case(
            "v2-erased-marker-not-an-erasure",
            "An erased marker on the first entry naming the completed entry, which is no erasure.",
            &not_erasure,
            false,
            expect("failed", &["commitments"], &[]),
        ),
        case(
            "v2-bundle-of-v1-leaves",
            "A v2 bundle whose leaves are all v1 (the event in clear): nothing to open, and it verifies.",
            &v1_leaves,
            true,
            expect("verified", &[], &[]),
        ),
        Case {
            name: "v1-bundle-with-v2-members",
            description: "A v1 bundle whose entry carries a record: only v2 bundles have records, so the bundle is not readable.",
            bundle: v1_members,
            policy: court.to_owned(),
            document: None,
            expect: expect("failed", &["bundle_format"], &[]),
        },
        case(
            "v1-bundle-still-verified",
            "A genuine v1 bundle (as genuine-with-policy), beside the v2 cases: v1 verifies as it did before v2.",
            &v1,
            true,
            expect("verified", &[], &[]),
        ),
    ]
}

/// Record v3: the contract's chain over the bundle (completeness).
fn v3_cases(world: &World, court: &str) -> Vec<Case> {
    let flow = world.contract_flow_v2();
    let genuine = world.bundle_v3(&flow);
    let case = |name, description, bundle: &verifier::bundle::Bundle, e: Value| Case {
        name,
        description,
        bundle: to_value(bundle),
        policy: court.to_owned(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    let without = |i: usize| {
        let mut b = genuine.clone();
        b.entries.remove(i);
        b
    };
    let n = genuine.entries.len();
    let mut reordered = genuine.clone();
    reordered.entries.swap(2, 3);
    // u-1 confirms intent twice; leaving the second confirmation out
    // breaks no timeline rule, only the chain.
    let mut twice = flow.clone();
    twice.insert(
        3,
        world.event_v2(
            "e-u-1-intent-again",
            "intent_verified",
            "u-1",
            &[("intent-svc", json!({"method": "sms_code", "result": "pass"}))],
            (TENANT, DOC_ID, "u-1"),
        ),
    );
    let mut quiet_gap = world.bundle_v3(&twice);
    quiet_gap.entries.remove(3);
    // After a subject erasure of u-1: u-1's records hold digests in place
    // of the actor and attestations, and the identity openings are gone.
    let mut redacted = genuine.clone();
    for e in &mut redacted.entries {
        let rec = e.record.as_ref().expect("record");
        if rec["event"]["actor"]["id"] == "u-1" {
            e.record = Some(verifier::v3::redact(rec, &verifier::v3::REDACTABLE).expect("redacts"));
            e.identity = None;
        }
    }
    // Both signers erased: completion still follows (redacted) signatures.
    let mut all_signers = genuine.clone();
    for e in &mut all_signers.entries {
        let rec = e.record.as_ref().expect("record");
        if rec["event"]["actor"]["id"] != "platform" {
            e.record = Some(verifier::v3::redact(rec, &verifier::v3::REDACTABLE).expect("redacts"));
            e.identity = None;
        }
    }
    let mut redacted_forged = redacted.clone();
    let at = redacted_forged
        .entries
        .iter()
        .position(|e| e.record.as_ref().is_some_and(|r| r.get("redacted").is_some()))
        .expect("a redacted entry");
    if let Some(r) = redacted_forged.entries[at].record.as_mut() {
        r["redacted"]["event.actor"] = json!(verifier::Hash([7; 32]).to_base64());
    }
    let mut redacted_other = redacted.clone();
    if let Some(r) = redacted_other.entries[at].record.as_mut() {
        r["event"]["document_id"] = json!("another-contract");
    }
    vec![
        case(
            "v3-subject-redacted-verified",
            "After a subject erasure of u-1: u-1's records hold the digests of the actor and the attestations instead of their values (and no identity opening); each still opens its leaf, the chain is whole, u-2's entries are checked as before; verified.",
            &redacted,
            expect("verified", &[], &[]),
        ),
        case(
            "v3-subject-redacted-every-signer",
            "After subject erasures of both signers: every signature's record is redacted; the redacted entries keep their kind, so completion still follows signatures (T5) while T3 and T4, about the actors and attestations that are gone, do not judge them; verified.",
            &all_signers,
            expect("verified", &[], &[]),
        ),
        case(
            "v3-subject-redacted-digest-forged",
            "A redacted record whose actor digest was replaced: it no longer opens its leaf.",
            &redacted_forged,
            expect("failed", &["attestations", "commitments", "completeness", "document_hash", "same_document", "timeline"], &[]),
        ),
        case(
            "v3-subject-redacted-other-contract",
            "A redacted record whose contract id was changed: it no longer opens its leaf.",
            &redacted_other,
            expect("failed", &["attestations", "commitments", "completeness", "document_hash", "same_document", "timeline"], &[]),
        ),
        case(
            "v3-genuine-complete",
            "A genuine bundle of v3 records (per-field digests, the contract's chain): complete from the first entry through completion; verified.",
            &genuine,
            expect("verified", &[], &[]),
        ),
        case(
            "v3-completed-left-out",
            "The same bundle without its last entry (completed): complete from the first entry to the last shown, not through completion; verified, and the report says so.",
            &without(n - 1),
            expect("verified", &[], &[]),
        ),
        case(
            "v3-middle-left-out",
            "One entry removed from the middle (u-1's intent): the next entry's seq skips one; completeness names the gap.",
            &without(2),
            expect("failed", &["completeness", "timeline"], &[]),
        ),
        case(
            "v3-quiet-gap",
            "One entry removed from the middle that no timeline rule misses (u-1's second intent confirmation): only the chain shows the gap.",
            &quiet_gap,
            expect("failed", &["completeness"], &[]),
        ),
        case(
            "v3-first-left-out",
            "The first entry (registered) removed: the chain starts at seq 1 with nothing before it; completeness names the missing start.",
            &without(0),
            expect("failed", &["completeness"], &[]),
        ),
        case(
            "v3-before-completed-left-out",
            "The last entry before completed (u-2's signature) removed: completed's seq skips one; completeness names the gap.",
            &without(n - 2),
            expect("failed", &["completeness"], &[]),
        ),
        case(
            "v3-reordered",
            "Two entries listed in swapped order: out of order for the bundle, and a reordered chain for completeness.",
            &reordered,
            expect("failed", &["bundle_format", "completeness", "timeline"], &[]),
        ),
    ]
}

/// The `GET /v1/lookup` answer the service gives for the bundle's entries
/// (its summary, and for v3 records the disclosures of document hash and
/// kind with the other digests).
fn lookup_of(bundle: &verifier::bundle::Bundle, disclose: bool) -> Value {
    let entries: Vec<Value> = bundle
        .entries
        .iter()
        .map(|e| {
            let record = e.record.as_ref().expect("record");
            let mut v = json!({"index": e.index, "leaf": e.leaf, "inclusion": e.inclusion,
                "summary": {"kind": record["event"]["kind"], "ledger_time": leaf_time(&e.leaf),
                    "party": 1, "issuers": [], "checked_on_ingest": true}});
            if disclose && record["format"] == "evidence-record/v3" {
                // The hash the leaf names (SM3 on an sm2-sm3 log's records).
                let Ok(verifier::v2::Leaf::V2(leaf)) =
                    verifier::v2::parse_any_leaf(&unb64(&e.leaf))
                else {
                    panic!("a v3 record under a v2 leaf")
                };
                let sd = leaf.alg.sd_hash().expect("a v3 leaf");
                let view =
                    verifier::v3::partial_view_in(sd, record, &verifier::v3::LOOKUP_DISCLOSED)
                        .expect("view");
                v["disclosures"] = view["disclosures"].clone();
                v["digests"] = view["digests"].clone();
            }
            v
        })
        .collect();
    let witnesses: Vec<Value> =
        bundle.witnesses.iter().map(|w| json!({"name": w.name, "vkey": w.vkey})).collect();
    json!({"format": LOOKUP_FORMAT_V2, "document_hash": Hash::digest(DOCUMENT).to_hex(),
        "origin": bundle.origin, "log_vkey": bundle.log_vkey, "checkpoint": bundle.checkpoint,
        "entries": entries, "witnesses": witnesses, "next_cursor": null})
}

/// Lookup answers: disclosures that open their leaves (verified), v2
/// leaves and withheld disclosures (server_vouched), and forged
/// disclosures, each refused by `lookup_summary`.
fn lookup_cases(world: &World, court: &str) -> Vec<Case> {
    let flow = world.contract_flow_v2();
    let genuine = lookup_of(&world.bundle_v3(&flow), true);
    let case = |name, description, answer: Value, e: Value| Case {
        name,
        description,
        bundle: answer,
        policy: court.to_owned(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    let forged = expect("failed", &["lookup_summary"], &[]);
    let mut salt = genuine.clone();
    salt["entries"][3]["disclosures"][0][0] = json!(Hash([7; 32]).to_base64());
    // Another file's hash disclosed in place of the logged one, the
    // answer made about that file.
    let other = Hash::digest(b"a file that was never logged").to_hex();
    let mut swapped = genuine.clone();
    swapped["document_hash"] = json!(other);
    for e in swapped["entries"].as_array_mut().expect("entries") {
        e["disclosures"][0][2] = json!(other);
    }
    // The digest of the tenant taken from another record.
    let mut spliced = genuine.clone();
    spliced["entries"][3]["digests"]["tenant"] = genuine["entries"][4]["digests"]["tenant"].clone();
    // A genuine answer about the contract, presented for a never-logged file.
    let mut never = genuine.clone();
    never["document_hash"] = json!(other);
    vec![
        case(
            "lookup-v3-verified",
            "A lookup answer whose v3 entries disclose document hash and kind: each disclosure set opens its leaf's commitment and names this file, so the log's signature ties the entries to it; verified.",
            genuine.clone(),
            expect("verified", &[], &[]),
        ),
        case(
            "lookup-v2-server-vouched",
            "A lookup answer of v2 entries (a commitment only, no disclosure): every check passes, and the link to the file is the server's word; server_vouched.",
            lookup_of(&world.bundle_v2(&flow), true),
            expect("server_vouched", &[], &[]),
        ),
        case(
            "lookup-v3-disclosures-withheld",
            "v3 entries whose disclosures were left out: nothing ties them to the file; server_vouched.",
            lookup_of(&world.bundle_v3(&flow), false),
            expect("server_vouched", &[], &[]),
        ),
        case(
            "lookup-v3-wrong-salt",
            "One entry's document-hash disclosure with another salt: its digest changes, the commitment does not reopen.",
            salt,
            forged.clone(),
        ),
        Case {
            name: "lookup-v3-swapped-document-hash",
            description: "Every entry discloses the hash of a file that was never logged (the answer made about that file, and checked with it): the commitments do not reopen.",
            bundle: swapped,
            policy: court.to_owned(),
            document: Some(b"a file that was never logged".to_vec()),
            expect: forged.clone(),
        },
        case(
            "lookup-v3-digest-from-another-record",
            "One entry's tenant digest taken from another record: the commitment does not reopen.",
            spliced,
            forged.clone(),
        ),
        Case {
            name: "lookup-v3-never-logged-file",
            description: "A genuine answer about the contract, presented for a file that was never logged (the answer says it is about that file): the disclosures name the logged document, not this file.",
            bundle: never,
            policy: court.to_owned(),
            document: Some(b"a file that was never logged".to_vec()),
            expect: forged,
        },
    ]
}

/// The claim of a document erasure that erased the entries `indices`:
/// their number, and the standard base64 of SHA-256 over their 8-byte
/// big-endian indices in ascending order (docs/bundle-format.md §7.3),
/// computed here, not by the verifier under test.
fn erasure_claim(reason: &str, indices: &[u64]) -> Value {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    let bytes: Vec<u8> = sorted.iter().flat_map(|i| i.to_be_bytes()).collect();
    json!({"erasure": {
        "scope": "document",
        "reason": reason,
        "entries": sorted.len(),
        "entries_sha256": b64(&Sha256::digest(&bytes)),
    }})
}

/// A v2 bundle over `flow` and then the document erasure, as the ledger
/// issues it after the erasure: every entry of `flow` carries an erased
/// marker naming the erasure entry, whose claim lists the first `listed`
/// entries of `flow` (all of them when `None`).
fn erased_bundle(
    world: &World,
    flow: &[Value],
    reason: &str,
    listed: Option<usize>,
) -> verifier::bundle::Bundle {
    // Entry i of a bundle lands at the same index whatever follows it.
    let before = world.bundle_v2(flow);
    let indices: Vec<u64> =
        before.entries[..listed.unwrap_or(flow.len())].iter().map(|e| e.index).collect();
    let mut event = world.erasure_event(reason);
    let signed = world.event_v2(
        event["event_id"].as_str().expect("id"),
        "erased",
        "operator",
        &[(LEDGER_ISSUER, erasure_claim(reason, &indices))],
        (TENANT, DOC_ID, "operator"),
    );
    event["attestations"] = signed["attestations"].clone();
    let mut all = flow.to_vec();
    all.push(event);
    let mut bundle = world.bundle_v2(&all);
    let n = bundle.entries.len();
    erase(&mut bundle, 0..n - 1, n - 1, reason);
    bundle
}

/// Invented, impersonating, backdated and future witness lines; quorum by key.
fn witness_cases(world: &World, genuine: &verifier::bundle::Bundle, court: &str) -> Vec<Case> {
    let body = note_body(&genuine.checkpoint);
    let fake = CosignatureSigner::new("notary.example.cn/hangzhou", key(120)).expect("name");
    let fake_line = fake.cosign(&body, 1_577_836_800).to_line(); // 2020-01-01
    let posing = CosignatureSigner::new("notary.example/w1", key(121)).expect("name");
    let posing_line = posing.cosign(&body, 1_577_836_800).to_line();
    let listed = |b: &mut verifier::bundle::Bundle, w: &CosignatureSigner| {
        b.witnesses.push(BundleWitness { name: w.name().into(), vkey: w.vkey() })
    };

    let mut invented = genuine.clone();
    invented.checkpoint = with_lines(&genuine.checkpoint, 1, std::slice::from_ref(&fake_line));
    listed(&mut invented, &fake);
    let mut invented_extra = genuine.clone();
    invented_extra.checkpoint = with_lines(&genuine.checkpoint, 3, &[fake_line]);
    listed(&mut invented_extra, &fake);
    let mut impersonated = genuine.clone();
    impersonated.checkpoint = with_lines(&genuine.checkpoint, 1, &[posing_line]);
    let w1 = &world.witnesses[0];
    let w2 = &world.witnesses[1];
    let mut backdated = genuine.clone();
    // The newest entry is logged at 2026-01-01T00:00:07Z.
    let early = w1.cosign(&body, 1_767_225_601).to_line();
    backdated.checkpoint =
        with_lines(&genuine.checkpoint, 1, &[early, w2.cosign(&body, 1_767_225_700).to_line()]);
    let mut second_early = genuine.clone();
    second_early.checkpoint = with_lines(
        &genuine.checkpoint,
        3,
        &[w1.cosign(&body, 1_767_225_800).to_line(), w1.cosign(&body, 86_400).to_line()],
    );
    let mut future = genuine.clone();
    let late = w1.cosign(&body, NOW as u64 + 3_600).to_line();
    future.checkpoint =
        with_lines(&genuine.checkpoint, 1, &[late, w2.cosign(&body, 1_767_225_700).to_line()]);
    // One key under two names, cosigning twice; the second witness silent.
    let alias = CosignatureSigner::new("alias.example/w1", key(2)).expect("name");
    let mut twice = genuine.clone();
    twice.checkpoint = with_lines(
        &genuine.checkpoint,
        1,
        &[w1.cosign(&body, 1_767_225_700).to_line(), alias.cosign(&body, 1_767_225_701).to_line()],
    );
    let mut two_names = TrustPolicy::parse(court).expect("policy");
    two_names.add_witness(&alias.vkey()).expect("alias");
    two_names.quorum = Some(2);
    vec![
        Case {
            name: "invented-witness",
            description: "A genuine bundle signed by the log only, plus a cosignature line dated 2020 by a witness key the forger made and listed in the bundle: the line is a claim and does not count.",
            bundle: to_value(&invented),
            policy: court.to_owned(),
            document: None,
            expect: expect("quorum_not_met", &["witness_quorum"], &[]),
        },
        Case {
            name: "invented-witness-beside-real-ones",
            description: "A genuine anchored bundle with an extra invented witness line: ignored (shown as a claim), and the real cosignatures meet the quorum.",
            bundle: to_value(&invented_extra),
            policy: court.to_owned(),
            document: None,
            expect: expect("verified", &[], &[]),
        },
        Case {
            name: "impersonated-witness",
            description: "A genuine bundle signed by the log only, plus a line under the real notary's name made with another key, dated 2020.",
            bundle: to_value(&impersonated),
            policy: court.to_owned(),
            document: None,
            expect: expect("failed", &["cosignature", "witness_quorum"], &[]),
        },
        Case {
            name: "cosignature-before-entries",
            description: "A real witness key's cosignature dated before the newest entry it covers was logged.",
            bundle: to_value(&backdated),
            policy: court.to_owned(),
            document: None,
            expect: expect("failed", &["cosignature", "witness_quorum"], &[]),
        },
        Case {
            name: "second-cosignature-line-backdated",
            description: "A trusted witness's valid first lines, then a second valid line by the same key dated 1970-01-02: every line's time is checked, not only the first.",
            bundle: to_value(&second_early),
            policy: court.to_owned(),
            document: None,
            expect: expect("failed", &["cosignature", "witness_quorum"], &[]),
        },
        Case {
            name: "cosignature-in-the-future",
            description: "A real witness key's cosignature dated an hour after the verifier's clock.",
            bundle: to_value(&future),
            policy: court.to_owned(),
            document: None,
            expect: expect("failed", &["cosignature", "witness_quorum"], &[]),
        },
        Case {
            name: "quorum-counts-keys-not-names",
            description: "Policy: witness 1 under two names and witness 2, quorum 2. The checkpoint is cosigned by witness 1 under both names only: one key, one witness.",
            bundle: to_value(&twice),
            policy: two_names.to_text(),
            document: None,
            expect: expect("quorum_not_met", &["witness_quorum"], &[]),
        },
    ]
}

/// Escape sequences in a tampered leaf, meant to hide the failures.
fn escape_cases(world: &World, court: &str) -> Vec<Case> {
    let mut flow = world.contract_flow();
    let mut tampered = world.bundle(&flow);
    let sneaky = "\u{1b}[2K\u{1b}[1A\u{1b}[2K\r✔ All checks passed.\u{9b}2J\u{202e}";
    flow[1]["attestations"][0]["claim"]["result"] = json!(sneaky);
    let altered = world.bundle(&flow);
    tampered.entries[1].leaf = altered.entries[1].leaf.clone();
    vec![Case {
        name: "escape-sequences-in-a-leaf",
        description: "A leaf altered to carry ANSI and C1 control sequences and a bidi override in a claim, which would erase FAIL lines on a terminal: its inclusion and attestation fail, and no verifier prints the sequences.",
        bundle: to_value(&tampered),
        policy: court.to_owned(),
        document: None,
        expect: expect("failed", &["attestations", "inclusion"], &[]),
    }]
}

/// Who vouches for a signer: T3 wants an identity provider and an intent
/// service, not a signer's key; and one actor is one person in a contract.
fn party_cases(world: &World, court: &str) -> Vec<Case> {
    let mut flow = world.contract_flow();
    let self_claim =
        |id: &str, kind: &str, claim: Value| world.event(id, kind, "u-1", &[("signer:u-1", claim)]);
    flow[1] = self_claim(
        "e-u-1-id",
        "identity_verified",
        json!({"method": "phone_3_factor", "result": "pass"}),
    );
    flow[2] = self_claim(
        "e-u-1-intent",
        "intent_verified",
        json!({"method": "sms_code", "result": "pass"}),
    );
    let self_attested = world.bundle(&flow);

    let mut v2 = world.contract_flow_v2();
    let mut other = world.event_v2(
        "e-u-1-id-2",
        "identity_verified",
        "u-1",
        &[("idp-gov", json!({"method": "face_liveness", "result": "pass"}))],
        (TENANT, DOC_ID, "u-1"),
    );
    other["identity"] =
        json!({"name": "张三", "id_type": "resident_id", "id_number": "110101198001010011"});
    v2.insert(2, other);
    let two_people = world.bundle_v2(&v2);
    vec![
        Case {
            name: "identity-vouched-by-the-signer-alone",
            description: "u-1's identity and intent checks are attested only by u-1's own key (signer:u-1), then u-1 signs: a person cannot vouch for their own identity, so the timeline (T3) fails.",
            bundle: to_value(&self_attested),
            policy: court.to_owned(),
            document: Some(DOCUMENT.to_vec()),
            expect: expect("failed", &["timeline"], &[]),
        },
        Case {
            name: "v2-one-actor-two-people",
            description: "A second identity check of u-1, genuinely attested, opens to another person than u-1's first: one actor is one person in a contract, so that entry's commitments check fails.",
            bundle: to_value(&two_people),
            policy: court.to_owned(),
            document: Some(DOCUMENT.to_vec()),
            expect: expect("failed", &["commitments"], &[]),
        },
    ]
}

/// RFC 3161 event tokens (tests/data/tsa fixtures over document.txt).
fn timestamp_cases(court: &str) -> Vec<Case> {
    let world = World { document: tsa_der("document.txt"), ..World::new() };
    let stamped = |token: &[u8], root_name: &str, root: &str| {
        let mut flow = world.contract_flow();
        flow[0]["timestamp_token"] = json!(b64(token));
        let mut b = world.bundle(&flow);
        b.timestamp_authorities =
            vec![verifier::bundle::BundleTsa { name: root_name.into(), root_pem: root.into() }];
        to_value(&b)
    };
    let real = stamped(&tsa_der("token-rsa.der"), "test-tsa", &tsa_file("root-ca.pem"));
    let self_made = stamped(
        &tsa_der("token-untrusted.der"),
        "National Time Service Center",
        &tsa_file("other-root.pem"),
    );
    let with_root = format!("{court}tsa test-tsa\n{}", tsa_file("root-ca.pem"));
    vec![
        Case {
            name: "event-token-trusted-root",
            description: "An event token that chains to a TSA root in the policy.",
            bundle: real.clone(),
            policy: with_root.clone(),
            document: Some(tsa_der("document.txt")),
            expect: expect("verified", &[], &[]),
        },
        Case {
            name: "event-token-no-root-in-policy",
            description: "The same token with no TSA root in the policy: its time is a claim.",
            bundle: real,
            policy: court.to_owned(),
            document: None,
            expect: expect("untrusted_timestamps", &[], &["event_timestamp"]),
        },
        Case {
            name: "event-token-self-made-root",
            description: "A token from a self-made root the bundle carries under the name \"National Time Service Center\"; the policy trusts another root.",
            bundle: self_made,
            policy: with_root,
            document: None,
            expect: expect("untrusted_timestamps", &[], &["event_timestamp"]),
        },
    ]
}

fn case_json(c: &Case) -> Value {
    // A lookup answer (its own format) goes under "lookup", a bundle under "bundle".
    let member = if c.bundle["format"] == LOOKUP_FORMAT_V2 { "lookup" } else { "bundle" };
    let mut v = json!({
        "description": c.description,
        member: c.bundle,
        "policy": c.policy,
        "now": NOW,
        "expect": c.expect,
    });
    if let Some(d) = &c.document {
        v["document_sha256"] = json!(Hash::digest(d).to_hex());
    }
    v
}

/// Verifies one case file with the Rust verifier: (verdict, fail, unanchored).
fn run_case(case: &Value) -> (String, Vec<String>, Vec<String>) {
    let policy = TrustPolicy::parse(case["policy"].as_str().expect("policy")).expect("policy");
    let mut options = VerifyOptions::with_policy(policy, "the case's policy");
    options.now_unix = case["now"].as_i64();
    if let Some(h) = case["document_sha256"].as_str() {
        options.document_hash = Some(Hash::from_hex(h).expect("hex"));
    }
    let report = match (case.get("bundle_text"), case.get("lookup")) {
        (Some(t), _) => verify_bundle_bytes(t.as_str().expect("text").as_bytes(), &options),
        (None, Some(l)) => verify_lookup_bytes(&serde_json::to_vec(l).expect("lookup"), &options),
        (None, None) => {
            verify_bundle_bytes(&serde_json::to_vec(&case["bundle"]).expect("bundle"), &options)
        }
    };
    let ids = |s: CheckStatus| -> Vec<String> {
        let set: BTreeSet<&str> =
            report.checks.iter().filter(|c| c.status == s).map(|c| c.id).collect();
        set.into_iter().map(str::to_owned).collect()
    };
    let verdict = serde_json::to_value(report.verdict.status).expect("verdict");
    (
        verdict.as_str().expect("string").to_owned(),
        ids(CheckStatus::Fail),
        ids(CheckStatus::Unanchored),
    )
}

#[test]
fn corpus_cases_reach_their_expected_verdicts() {
    if std::env::var_os("EL_REGENERATE_CORPUS").is_some() {
        let dir = corpus_dir();
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for c in generate() {
            let text = serde_json::to_string_pretty(&case_json(&c)).expect("JSON") + "\n";
            std::fs::write(dir.join(format!("{}.json", c.name)), text).expect("write case");
        }
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(names.len() >= generate().len(), "missing corpus files: regenerate");
    for path in names {
        let case: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
        let e = &case["expect"];
        let want = (
            e["verdict"].as_str().expect("verdict").to_owned(),
            strings(&e["fail"]),
            strings(&e["unanchored"]),
        );
        assert_eq!(run_case(&case), want, "{}", path.display());
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_owned()).collect()
}
