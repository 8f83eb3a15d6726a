//! Evidence bundles end to end: bundles built in-test the way the service
//! builds them (real Ed25519 keys, attestations, leaf bytes, an RFC 9162
//! prover written from §2.1.3.1 `PATH`, a signed checkpoint with
//! cosignatures), then verified whole, tampered with, and run through the
//! `verifier` binary.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{json, Value};
use verifier::bundle::{verify_bundle, verify_bundle_bytes, Bundle, VerifyOptions};
use verifier::checkpoint::SignedCheckpoint;
use verifier::note::NoteSigner;
use verifier::report::{check_id, CheckStatus, Report, VerdictStatus};
use verifier::Hash;

mod common;

use common::*;

// ---------------------------------------------------------------------------
// A valid bundle.

#[test]
fn valid_bundle_passes_every_check_and_rebuilds_the_chain() {
    let world = World::new();
    let bundle = world.bundle(&world.contract_flow());
    let report = verify(&world, &bundle);
    assert!(report.all_passed(), "{}", report.to_text());
    assert!(report.passed);
    assert_eq!(report.verdict.status, VerdictStatus::Verified);
    // format + same document + file + log + 2 witnesses + quorum + 8 inclusion
    // + 8 attestations + timeline.
    assert_eq!(report.checks.len(), 1 + 1 + 1 + 1 + 2 + 1 + 8 + 8 + 1);
    assert_eq!(report.document_hash.as_deref(), Some(Hash::digest(DOCUMENT).to_hex().as_str()));
    let parties: Vec<(&str, &str, bool)> =
        report.parties.iter().map(|p| (p.id.as_str(), p.display.as_str(), p.signed)).collect();
    assert_eq!(parties, [("platform", "平台", false), ("u-1", "王*", true), ("u-2", "李*", true)]);
    let described: Vec<&str> = report
        .timeline
        .iter()
        .flat_map(|t| t.attestations.iter().map(|a| a.description.as_str()))
        .collect();
    assert_eq!(
        described,
        [
            "identity checked by idp-gov using phone 3-factor (result: pass)",
            "intent proven to intent-svc by SMS code (result: pass)",
            "signed by the signer's own key signer:u-1 (Ed25519)",
            "identity checked by idp-gov using bank card 4-factor (result: pass)",
            "intent proven to intent-svc by face liveness (result: pass)",
            "signed by the signer's own key signer:u-2 (Ed25519)",
        ]
    );
    assert_eq!(report.timeline[0].ledger_time, "2026-01-01T00:00:00.000000Z");
    let witnesses: Vec<(&str, Option<&str>, bool)> = report
        .witnesses
        .iter()
        .map(|w| (w.name.as_str(), w.cosigned_at.as_deref(), w.required))
        .collect();
    assert_eq!(
        witnesses,
        [
            ("notary.example/w1", Some("2026-01-01T00:01:40Z"), true),
            ("court.example/w2", Some("2026-01-01T00:02:40Z"), true),
        ]
    );
}

#[test]
fn valid_bundle_round_trips_through_json_but_is_not_verified_without_a_policy() {
    let world = World::new();
    let bundle = world.bundle(&world.contract_flow());
    let parsed = Bundle::parse(&bundle.to_json()).expect("parses");
    assert_eq!(parsed, bundle);
    let report = verify_bundle_bytes(&bundle.to_json(), &VerifyOptions::default());
    // Everything holds, but only under the bundle's own keys.
    assert_eq!(report.verdict.status, VerdictStatus::NoTrustedLogKey, "{}", report.to_text());
    assert!(!report.passed);
    let log = report.checks.iter().find(|c| c.id == check_id::LOG_SIGNATURE).expect("log check");
    assert_eq!(log.status, CheckStatus::Unanchored);
    assert!(log.detail.contains(&world.log.vkey()), "names the key: {}", log.detail);
    assert_eq!(report.failures().map(|c| c.id).collect::<Vec<_>>(), [check_id::LOG_SIGNATURE]);
    // The bundle's witnesses are claims: no check, no "countersigned at".
    assert!(!report.checks.iter().any(|c| c.id == check_id::COSIGNATURE));
    assert!(report.witnesses.iter().all(|w| !w.trusted && w.cosigned_at.is_none()));
    assert_eq!(report.claims.len(), 2, "{:?}", report.claims);
    assert!(!report.checks.iter().any(|c| c.id == check_id::DOCUMENT_HASH));
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["passed"], false);
    assert_eq!(json["verdict"]["status"], "no_trusted_log_key");
    assert_eq!(json["format"], "evidence-report/v1");
    assert_eq!(json["checks"][0]["id"], "bundle_format");
    assert_eq!(json["checks"][0]["status"], "pass");
}

#[test]
fn file_check_states_both_hashes_in_plain_words() {
    let world = World::new();
    let report = verify(&world, &world.bundle(&world.contract_flow()));
    let c = report
        .checks
        .iter()
        .find(|c| c.id == check_id::DOCUMENT_HASH)
        .expect("file check runs when a document is given");
    let h = Hash::digest(DOCUMENT).to_hex();
    assert_eq!(
        c.detail,
        format!("The file you supplied has SHA-256 {h}; the evidence is about {h}: they match.")
    );
}

// ---------------------------------------------------------------------------
// Named tampering: each fails, and names the check that catches it.

fn assert_fails_only(report: &Report, expected: &[&str]) {
    assert!(!report.all_passed());
    assert_eq!(failed(report), expected, "{}", report.to_text());
}

#[test]
fn tampered_leaf_byte_fails_inclusion() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    // A change that keeps the leaf valid JSON: the identity check "failed".
    let leaf = String::from_utf8(unb64(&bundle.entries[1].leaf)).expect("UTF-8");
    let forged = leaf.replace("\"result\":\"pass\"", "\"result\":\"fail\"");
    assert_ne!(forged, leaf);
    bundle.entries[1].leaf = b64(forged.as_bytes());
    assert_fails_only(&verify(&world, &bundle), &[check_id::ATTESTATIONS, check_id::INCLUSION]);
    // A raw flipped byte: also no longer a valid leaf.
    let mut bundle = world.bundle(&world.contract_flow());
    flip_b64(&mut bundle.entries[3].leaf, 40);
    let report = verify(&world, &bundle);
    assert!(failed(&report).contains(&check_id::INCLUSION), "{}", report.to_text());
}

#[test]
fn tampered_proof_hash_fails_inclusion_of_that_entry() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    flip_b64(&mut bundle.entries[2].inclusion[0], 7);
    let report = verify(&world, &bundle);
    assert_fails_only(&report, &[check_id::INCLUSION]);
    let bad: Vec<_> = report.failures().map(|c| c.subject.clone()).collect();
    assert_eq!(bad, [Some(bundle.entries[2].index.to_string())]);
}

#[test]
fn tampered_checkpoint_body_fails_the_log_signature() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    // Claim the log is one entry smaller (it still holds every entry).
    let cp = SignedCheckpoint::parse(bundle.checkpoint.as_bytes()).expect("parses");
    let smaller = cp.checkpoint.size - 1;
    assert!(bundle.entries.iter().all(|e| e.index < smaller));
    bundle.checkpoint = bundle.checkpoint.replacen(
        &format!("\n{}\n", cp.checkpoint.size),
        &format!("\n{smaller}\n"),
        1,
    );
    let report = verify(&world, &bundle);
    let ids = failed(&report);
    assert!(ids.contains(&check_id::LOG_SIGNATURE), "{}", report.to_text());
    assert!(ids.contains(&check_id::COSIGNATURE));
    assert!(ids.contains(&check_id::INCLUSION));
}

#[test]
fn tampered_log_signature_fails_only_the_log_signature() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.checkpoint = tamper_signature_line(&bundle.checkpoint, 0, |sig| sig[10] ^= 0x80);
    assert_fails_only(&verify(&world, &bundle), &[check_id::LOG_SIGNATURE]);
}

#[test]
fn tampered_cosignature_fails_that_witness() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    // Line 2 is the second witness; byte 3 is inside its timestamp.
    bundle.checkpoint = tamper_signature_line(&bundle.checkpoint, 2, |sig| sig[3] ^= 0x01);
    let report = verify(&world, &bundle);
    assert_fails_only(&report, &[check_id::COSIGNATURE, check_id::WITNESS_QUORUM]);
    let who: Vec<_> = report.failures().map(|c| c.subject.clone()).collect();
    assert_eq!(who, [Some("court.example/w2".to_owned()), None]);
    assert_eq!(report.verdict.status, VerdictStatus::Failed);
}

#[test]
fn missing_cosignature_fails_the_quorum_only_when_the_quorum_needs_it() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    let (text, sigs) = bundle.checkpoint.split_once("\n\n").expect("note");
    let kept: Vec<&str> = sigs.lines().take(2).collect();
    bundle.checkpoint = format!("{text}\n\n{}\n", kept.join("\n"));
    // Quorum "all": the missing one fails the quorum, and nothing else.
    let report = verify(&world, &bundle);
    assert_fails_only(&report, &[check_id::WITNESS_QUORUM]);
    assert_eq!(report.verdict.status, VerdictStatus::QuorumNotMet);
    // Quorum 1 of 2: met by the witness that did cosign.
    let mut policy = world.policy();
    policy.quorum = Some(1);
    let report = verify_bundle(&bundle, &VerifyOptions::with_policy(policy, "1 of 2"));
    assert!(report.passed, "{}", report.to_text());
    assert_eq!(report.witnesses[1].cosigned_at, None);
}

#[test]
fn substituted_issuer_key_fails_attestations() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.issuers[0].public_key = b64(key(99).verifying_key().as_bytes());
    let report = verify(&world, &bundle);
    assert_fails_only(&report, &[check_id::ATTESTATIONS]);
    // The two identity checks, entries 1 and 4 of the flow.
    assert_eq!(report.failures().count(), 2);
}

#[test]
fn unknown_issuer_fails_attestations() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.issuers.retain(|i| i.name != "intent-svc");
    let report = verify(&world, &bundle);
    assert_fails_only(&report, &[check_id::ATTESTATIONS]);
    assert!(report.failures().all(|c| c.detail.contains("holds no key for issuer intent-svc")));
}

#[test]
fn another_document_fails_the_file_check() {
    let world = World::new();
    let bundle = world.bundle(&world.contract_flow());
    let options = VerifyOptions {
        document_hash: Some(Hash::digest(b"a different contract")),
        ..world.strict_options()
    };
    let report = verify_bundle(&bundle, &options);
    assert_fails_only(&report, &[check_id::DOCUMENT_HASH]);
    assert!(report.checks.iter().any(|c| c.detail.contains("do NOT match")));
}

#[test]
fn events_logged_out_of_order_fail_the_timeline() {
    let world = World::new();
    let mut flow = world.contract_flow();
    // u-1 signs before proving intent; the log faithfully records it.
    flow.swap(2, 3);
    let report = verify(&world, &world.bundle(&flow));
    assert_fails_only(&report, &[check_id::TIMELINE]);
    let t = report.failures().next().expect("timeline failed");
    assert!(t.detail.contains("u-1 signed (entry"), "{}", t.detail);
    assert!(t.detail.contains("before their intent was proven"));
}

#[test]
fn entries_reordered_in_the_bundle_fail_the_format() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.entries.swap(3, 4);
    // The times now run backwards too.
    assert_fails_only(&verify(&world, &bundle), &[check_id::BUNDLE_FORMAT, check_id::TIMELINE]);
}

#[test]
fn timeline_rules_each_fire() {
    let world = World::new();
    let sign = |who: &str| {
        world.event(
            &format!("x-{who}-sign"),
            "signed",
            who,
            &[(&format!("signer:{who}") as &str, json!({"action": "sign"}))],
        )
    };
    let flow = world.contract_flow();
    let cases: Vec<(Vec<Value>, &str)> = vec![
        // T2: registration not first.
        (vec![flow[1].clone(), flow[0].clone()], "registers the contract after"),
        // T3: identity missing.
        (
            vec![flow[0].clone(), flow[2].clone(), flow[3].clone()],
            "before their identity was checked",
        ),
        // T3: identity and intent vouched for only by the signer's own key.
        (
            vec![
                flow[0].clone(),
                world.event(
                    "self-id",
                    "identity_verified",
                    "u-1",
                    &[("signer:u-1", json!({"method": "phone_3_factor", "result": "pass"}))],
                ),
                world.event(
                    "self-in",
                    "intent_verified",
                    "u-1",
                    &[("signer:u-1", json!({"method": "sms_code", "result": "pass"}))],
                ),
                flow[3].clone(),
            ],
            "before their identity was checked, only by a signer's own key",
        ),
        // T3: another signer's key is no identity provider either.
        (
            vec![
                flow[0].clone(),
                world.event(
                    "other-id",
                    "identity_verified",
                    "u-1",
                    &[("signer:u-2", json!({"method": "phone_3_factor", "result": "pass"}))],
                ),
                flow[2].clone(),
                flow[3].clone(),
            ],
            "before their identity was checked, only by a signer's own key",
        ),
        // T4: u-1 signs with u-2's key.
        (
            vec![
                flow[1].clone(),
                flow[2].clone(),
                world.event("x", "signed", "u-1", &[("signer:u-2", json!({"action": "sign"}))]),
            ],
            "not made with their own key signer:u-1",
        ),
        // T5: completed before any signature, then a signature after it.
        (vec![flow[0].clone(), flow[7].clone()], "completes the contract before anyone signed"),
        ([&flow[..4], &[flow[7].clone()], &flow[4..7]].concat(), "is a signature after completion"),
        // T6: a signature after revocation.
        (
            vec![
                flow[1].clone(),
                flow[2].clone(),
                world.event(
                    "rv",
                    "revoked",
                    "platform",
                    &[("idp-gov", json!({"reason": "fraud"}))],
                ),
                sign("u-1"),
            ],
            "comes after the contract was revoked",
        ),
        // T7: anything but a report after archiving.
        (
            [
                &flow[..],
                &[
                    world.event("ar", "archived", "platform", &[]),
                    world.event("ap", "approved", "u-1", &[("idp-gov", json!({}))]),
                ],
            ]
            .concat(),
            "comes after the contract was archived",
        ),
    ];
    for (events, phrase) in cases {
        let report = verify(&world, &world.bundle(&events));
        assert_eq!(failed(&report), [check_id::TIMELINE], "{phrase}: {}", report.to_text());
        let detail = &report.failures().next().expect("failed").detail;
        assert!(detail.contains(phrase), "{phrase}: {detail}");
    }
}

#[test]
fn pinned_log_key_must_match() {
    let world = World::new();
    let bundle = world.bundle(&world.contract_flow());
    let other = NoteSigner::new(ORIGIN, key(77)).expect("valid name");
    let mut policy = world.policy();
    policy.logs = vec![verifier::anykey::AnyVerifier::Ed25519(other.verifier())];
    let report = verify_bundle(&bundle, &VerifyOptions::with_policy(policy, "wrong log"));
    assert_fails_only(&report, &[check_id::LOG_SIGNATURE]);
    // A whole bundle re-signed by an impostor log is consistent with its own
    // keys only, and never verified.
    let impostor = World { log: other, ..World::new() };
    let forged = impostor.bundle(&impostor.contract_flow());
    let alone = verify_bundle(&forged, &VerifyOptions::default());
    assert_eq!(alone.verdict.status, VerdictStatus::NoTrustedLogKey);
    assert_fails_only(&verify(&world, &forged), &[check_id::LOG_SIGNATURE]);
}

#[test]
fn entries_of_another_contract_fail_same_document() {
    let world = World::new();
    let mut flow = world.contract_flow();
    // Attestations sign the document hash, not the contract id: this one
    // stays valid, so only the contract id gives the mix-up away.
    flow[5]["document_id"] = json!("contract-43");
    let report = verify(&world, &world.bundle(&flow));
    assert_fails_only(&report, &[check_id::SAME_DOCUMENT]);
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.tenant = "globex".into();
    assert_fails_only(&verify(&world, &bundle), &[check_id::SAME_DOCUMENT]);
}

#[test]
fn entry_beyond_the_checkpoint_fails_inclusion() {
    let world = World::new();
    let mut bundle = world.bundle(&world.contract_flow());
    bundle.entries.last_mut().expect("entries").index = 1 << 40;
    let report = verify(&world, &bundle);
    assert_fails_only(&report, &[check_id::INCLUSION]);
    assert!(report.failures().any(|c| c.detail.contains("covers only")));
}

// ---------------------------------------------------------------------------
// Parsing.

#[test]
fn parse_is_strict() {
    let world = World::new();
    let good: Value =
        serde_json::from_slice(&world.bundle(&world.contract_flow()).to_json()).expect("JSON");
    let mut with_ts = good.clone();
    with_ts["checkpoint_timestamp"] = json!({"tsa": "some-tsa", "token": "AAAA"});
    assert!(Bundle::parse(with_ts.to_string().as_bytes()).is_ok());
    // A token that does not verify (no TSA root, not DER) fails its own check.
    let report = verify_bundle_bytes(with_ts.to_string().as_bytes(), &world.strict_options());
    assert_eq!(failed(&report), [check_id::CHECKPOINT_TIMESTAMP]);
    with_ts["checkpoint_timestamp"] = json!({"token": "AAAA"});
    assert!(Bundle::parse(with_ts.to_string().as_bytes()).is_err());
    let mut with_size = good.clone();
    with_size["tree_size"] = json!(25);
    let report = verify_bundle_bytes(with_size.to_string().as_bytes(), &world.strict_options());
    assert!(report.passed, "{}", report.to_text());
    // Optional members are absent or have a value: null is refused (as the
    // JavaScript verifier refuses it).
    for k in ["tree_size", "checkpoint_timestamp", "timestamp_authorities"] {
        let mut v = good.clone();
        v[k] = Value::Null;
        let err = Bundle::parse(v.to_string().as_bytes()).expect_err(k).to_string();
        assert!(err.contains("null"), "{k}: {err}");
    }
    // At most 16 TSA roots, each at most 16 KiB.
    let mut many = good.clone();
    many["timestamp_authorities"] = json!(vec![json!({"name": "t", "root_pem": "x"}); 17]);
    assert!(Bundle::parse(many.to_string().as_bytes()).is_err());
    many["timestamp_authorities"] = json!([{"name": "t", "root_pem": "x".repeat(16 * 1024 + 1)}]);
    assert!(Bundle::parse(many.to_string().as_bytes()).is_err());
    with_size["tree_size"] = json!(24);
    let report = verify_bundle_bytes(with_size.to_string().as_bytes(), &world.strict_options());
    assert_eq!(failed(&report), [check_id::BUNDLE_FORMAT]);

    let mut unknown = good.clone();
    unknown["extra"] = json!(1);
    let mut unknown_nested = good.clone();
    unknown_nested["entries"][0]["note"] = json!("x");
    let mut wrong_format = good.clone();
    wrong_format["format"] = json!("evidence-bundle/v3");
    // The v2 members are refused in a v1 bundle, and null in any.
    let mut v1_with_record = good.clone();
    v1_with_record["entries"][0]["record"] = json!({});
    let mut v1_with_erased = good.clone();
    v1_with_erased["entries"][0]["erased"] =
        json!({"at": "2026-01-01T00:00:00.000000Z", "by": "x", "reason": "r", "entry": 9});
    let mut v2_null_record = good.clone();
    v2_null_record["format"] = json!("evidence-bundle/v2");
    v2_null_record["entries"][0]["record"] = Value::Null;
    let mut no_entries = good.clone();
    no_entries["entries"] = json!([]);
    let mut missing = good.clone();
    missing.as_object_mut().expect("object").remove("witnesses");
    for bad in [
        unknown,
        unknown_nested,
        wrong_format,
        v1_with_record,
        v1_with_erased,
        v2_null_record,
        no_entries,
        missing,
    ] {
        assert!(Bundle::parse(bad.to_string().as_bytes()).is_err(), "{bad}");
    }
    let text = good.to_string();
    let duplicated = text.replacen("{", "{\"tenant\":\"x\",", 1);
    assert!(Bundle::parse(duplicated.as_bytes()).is_err());
    let huge = vec![b' '; verifier::bundle::MAX_BUNDLE_BYTES + 1];
    assert!(matches!(Bundle::parse(&huge), Err(verifier::VerifyError::TooLarge { .. })));
    let report = verify_bundle_bytes(b"not json", &VerifyOptions::default());
    assert_eq!(failed(&report), [check_id::BUNDLE_FORMAT]);
}

// ---------------------------------------------------------------------------
// Random tampering never goes unnoticed, and nothing panics.

/// Paths to every string and integer in a JSON value.
fn scalar_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                at.push(k.clone());
                scalar_paths(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                at.push(i.to_string());
                scalar_paths(c, at, out);
                at.pop();
            }
        }
        Value::String(_) | Value::Number(_) => out.push(at.clone()),
        _ => {}
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().expect("index")],
        other => &mut other[k.as_str()],
    })
}

/// Changes the scalar at `target` so that it differs: a bit flip in the
/// base64-decoded bytes, or a replaced character, or a shifted integer.
fn mutate(v: &mut Value, bit_flip: bool, pos: usize, ch: char) {
    match v {
        Value::Number(n) => *v = json!(n.as_u64().unwrap_or(0) ^ (1 + pos as u64 % 7)),
        Value::String(s) => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(s.as_bytes());
            match decoded {
                Ok(mut bytes) if bit_flip && !bytes.is_empty() => {
                    let i = pos % bytes.len();
                    bytes[i] ^= 1 << (pos % 8);
                    *s = b64(&bytes);
                }
                _ => {
                    let mut chars: Vec<char> = s.chars().collect();
                    if chars.is_empty() {
                        chars.push(ch);
                    } else {
                        let i = pos % chars.len();
                        chars[i] = if chars[i] == ch { '#' } else { ch };
                    }
                    *s = chars.into_iter().collect();
                }
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_tampering_is_detected(
        target in any::<prop::sample::Index>(),
        bit_flip in any::<bool>(),
        pos in any::<usize>(),
        ch in prop::sample::select(vec!['A', 'z', '0', '+', '/', '=', ' ', '\n', '"', '\\', 'é', '王', '\u{202e}']),
    ) {
        let world = World::new();
        let bundle = world.bundle(&world.contract_flow());
        let mut v: Value = serde_json::from_slice(&bundle.to_json()).expect("JSON");
        let mut paths = Vec::new();
        scalar_paths(&v, &mut Vec::new(), &mut paths);
        let path = target.get(&paths).clone();
        let before = v.clone();
        mutate(get_mut(&mut v, &path), bit_flip, pos, ch);
        prop_assert_ne!(&before, &v);
        let bytes = serde_json::to_vec(&v).expect("JSON");
        if let Ok(parsed) = Bundle::parse(&bytes) {
            let report = verify_bundle(&parsed, &world.strict_options());
            prop_assert!(!report.all_passed(), "undetected change at {:?}", path);
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let report = verify_bundle_bytes(&bytes, &VerifyOptions::default());
        prop_assert!(!report.all_passed());
    }

    #[test]
    fn truncated_bundles_fail(cut in any::<prop::sample::Index>()) {
        let world = World::new();
        let bytes = world.bundle(&world.contract_flow()).to_json();
        let n = cut.index(bytes.len());
        let report = verify_bundle_bytes(&bytes[..n], &world.strict_options());
        prop_assert!(!report.all_passed());
    }
}

// ---------------------------------------------------------------------------
// The binary.

fn run(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_exit_codes_and_output() {
    let world = World::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("bundle.json");
    let bad = dir.path().join("tampered.json");
    let doc = dir.path().join("contract.pdf");
    let bundle = world.bundle(&world.contract_flow());
    std::fs::write(&good, bundle.to_json()).expect("write");
    std::fs::write(&doc, DOCUMENT).expect("write");
    let mut tampered = bundle.clone();
    flip_b64(&mut tampered.entries[0].inclusion[1], 0);
    std::fs::write(&bad, tampered.to_json()).expect("write");
    let (good, bad, doc) = (
        good.to_str().expect("utf-8 path"),
        bad.to_str().expect("utf-8 path"),
        doc.to_str().expect("utf-8 path"),
    );
    let log = world.log.vkey();
    let w1 = world.witnesses[0].vkey();
    let w2 = world.witnesses[1].vkey();
    let strict = |bundle: &str| -> Vec<String> {
        ["verify", bundle, "--document", doc, "--log-key", &log, "--witness", &w1, "--witness", &w2]
            .map(str::to_owned)
            .to_vec()
    };

    let args = strict(good);
    let (code, out, err) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("✔ PASS  The checkpoint is signed by the log [log_signature]"), "{out}");
    // Wrapped to 80 columns: a key that does not fit goes whole onto the
    // next line.
    assert!(out.contains(&format!("  log key:\n        {log}\n")), "names the anchors: {out}");
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    assert!(out.contains("identity checked by idp-gov using phone 3-factor (result: pass)"));
    assert!(out.contains("notary.example/w1 (trusted): countersigned at 2026-01-01T00:01:40Z"));
    assert!(out.contains("\nVERIFIED against your command-line options"), "{out}");
    assert!(!out.contains("FAIL"));

    // The same keys as a policy file; then no key at all: exit 3.
    let policy = dir.path().join("court.policy");
    std::fs::write(&policy, world.policy().to_text()).expect("write");
    let policy = policy.to_str().expect("utf-8 path");
    let (code, out, _) = run(&["verify", good, "--policy", policy]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["verify", good]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("NOT VERIFIED: no trusted log key supplied"), "{out}");
    assert!(out.contains("? UNANCHORED  The checkpoint is signed by the log"), "{out}");
    assert!(!out.contains("countersigned at"), "claims are not facts: {out}");
    // Log key only, quorum 2 of witnesses none given: no witness needed.
    let (code, _, _) = run(&["verify", good, "--log-key", &log]);
    assert_eq!(code, 0);
    // Witnesses trusted, but the checkpoint lacks one of them: exit 4.
    let mut thin = bundle.clone();
    let (text, sigs) = thin.checkpoint.split_once("\n\n").expect("note");
    let kept: Vec<&str> = sigs.lines().take(2).collect();
    thin.checkpoint = format!("{text}\n\n{}\n", kept.join("\n"));
    let thin_path = dir.path().join("thin.json");
    std::fs::write(&thin_path, thin.to_json()).expect("write");
    let (code, out, _) = run(&["verify", thin_path.to_str().expect("path"), "--policy", policy]);
    assert_eq!(code, 4, "{out}");
    let (code, _, _) = run(&[
        "verify",
        thin_path.to_str().expect("path"),
        "--policy",
        policy,
        "--witness-threshold",
        "1",
    ]);
    assert_eq!(code, 0);

    let args = strict(bad);
    let (code, out, _) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✘ FAIL  Entry 2 is in the log [inclusion]"), "{out}");

    let (code, out, _) = run(&["verify", bad, "--json"]);
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(json["passed"], false);
    assert!(json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .any(|c| c["id"] == "inclusion" && c["passed"] == false && c["subject"] == "2"));

    let other_doc = dir.path().join("other.pdf");
    std::fs::write(&other_doc, b"another file").expect("write");
    let (code, out, _) = run(&["verify", good, "--document", other_doc.to_str().expect("path")]);
    assert_eq!(code, 1);
    assert!(out.contains("✘ FAIL  The file you supplied is the signed document [document_hash]"));

    let missing = dir.path().join("missing.json");
    for args in [
        vec!["verify", missing.to_str().expect("path")],
        vec![],
        vec!["check", good],
        vec!["verify"],
        vec!["verify", good, "--bogus"],
        vec!["verify", good, "--log-key"],
        vec!["verify", good, "--log-key", "not-a-key"],
        vec!["verify", good, "--witness", &log], // a log key is not a witness key
        vec!["verify", good, "--document", missing.to_str().expect("path")],
        vec!["verify", good, "--policy", missing.to_str().expect("path")],
        vec!["verify", good, "--policy", good], // not a policy
        vec!["verify", good, "--witness", &w1, "--witness-threshold", "2"],
        vec!["verify", good, "--tsa-root", "x"],
        vec!["policy", "show", good],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("usage: verifier verify"), "{err}");
    }
    let (code, out, _) = run(&["policy", "show", policy]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("log {log}\n")), "{out}");
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("usage:"));
}
