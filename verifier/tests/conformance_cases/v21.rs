//! Conformance cases of attestation v2.1 (issue 25 item 7;
//! docs/evidence-v2.md "Attestation v2.1"): the world's v2 contract flow
//! with every attestation re-signed over the v2.1 message, which also binds
//! the person (the digest of the identity the event carries, or `null`)
//! and the log's origin; and the forgeries each verifier must refuse with
//! one verdict: the identity swapped, the origin swapped, the v2.1 members
//! signed under the v2 context, `v` downgraded to 2 and a v2 signature
//! relabelled `"2.1"`. Also on an `sm2-sm3` log, whose identity digest is
//! SM3.

use super::*;
use verifier::attest::{
    attestation_message_v2_1, identity_digest, AttestationV2, AttestationV21, Binding, Person,
    ATTESTATION_CONTEXT_V2,
};

/// A log that is not [`ORIGIN`], whose ledger has a tenant named
/// [`TENANT`] too: where a replayed attestation was first made.
pub(super) const OTHER_LOG: &str = "other-ledger.example/log";

/// Re-signs attestation `j` of `ev` as v2.1 for `tenant` on `log`, bound
/// to `person`, with `sign(issuer, message)`.
pub(super) fn resign_v21(
    ev: &mut Value,
    j: usize,
    (tenant, log): (&str, &str),
    person: Option<Person>,
    suite: Suite,
    sign: &dyn Fn(&str, &[u8]) -> Vec<u8>,
) {
    ev["attestations"][j]["v"] = json!("2.1");
    let event = Event::from_value(ev.clone(), true).expect("a valid event");
    let person = person.unwrap_or_else(|| event.person(suite));
    let binding = Binding { tenant, log: Some(log), person };
    let msg = event.attestation_message_for(j, &binding).expect("a v2.1 message");
    let issuer = event.attestations[j].issuer.clone();
    ev["attestations"][j]["signature"] = json!(b64(&sign(&issuer, &msg)));
}

/// The world's issuers' Ed25519 signature.
fn ed25519(world: &World) -> impl Fn(&str, &[u8]) -> Vec<u8> + '_ {
    use ed25519_dalek::Signer as _;
    move |issuer: &str, msg: &[u8]| world.issuer(issuer).sign(msg).to_bytes().to_vec()
}

/// [`World::contract_flow_v2`] with every attestation v2.1 on [`ORIGIN`]
/// of `suite`, each bound to its event's own person.
pub(super) fn flow_v21(world: &World, suite: Suite) -> Vec<Value> {
    let sign = ed25519(world);
    let mut flow = world.contract_flow_v2();
    for ev in &mut flow {
        for j in 0..ev["attestations"].as_array().map_or(0, Vec::len) {
            resign_v21(ev, j, (TENANT, ORIGIN), None, suite, &sign);
        }
    }
    flow
}

pub(super) fn v21_cases(world: &World, court: &str) -> Vec<Case> {
    let flow = flow_v21(world, Suite::Ed25519Sha256);
    let sign = ed25519(world);
    let case = |name, description, flow: &[Value], withhold: bool, e| {
        let mut bundle = world.bundle_v3(flow);
        if withhold {
            bundle.entries.iter_mut().for_each(|x| x.identity = None);
        }
        Case {
            name,
            description,
            bundle: to_value(&bundle),
            policy: court.to_owned(),
            document: Some(DOCUMENT.to_vec()),
            expect: e,
        }
    };
    let failed = || expect("failed", &["attestations"], &[]);
    // Entry 1 is u-1's identity check by idp-gov, with u-1's identity.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut out = flow.clone();
        f(&mut out[1]);
        out
    };
    let someone_else = Person::Digest(identity_digest(
        Suite::Ed25519Sha256,
        "张三",
        "resident_id",
        "110101199003070011",
    ));
    let swapped = with(&|ev| {
        resign_v21(ev, 0, (TENANT, ORIGIN), Some(someone_else.clone()), Suite::Ed25519Sha256, &sign)
    });
    let replayed =
        with(&|ev| resign_v21(ev, 0, (TENANT, OTHER_LOG), None, Suite::Ed25519Sha256, &sign));
    let downgraded = with(&|ev| ev["attestations"][0]["v"] = json!(2));
    let as_v2 = with(&|ev| {
        // The v2.1 members (the person and the log) under the v2 context,
        // labelled "v": 2.
        let event = Event::from_value(ev.clone(), true).expect("event");
        let claim = event.attestations[0].claim.clone();
        let digest = match event.person(Suite::Ed25519Sha256) {
            Person::Digest(d) => d,
            other => panic!("u-1's identity check has an identity: {other:?}"),
        };
        let h = event.document_hash.to_hex();
        let v2 = AttestationV2 {
            tenant: TENANT,
            document_id: DOC_ID,
            document_hash_hex: &h,
            event_id: &event.event_id,
            kind: "identity_verified",
            actor_id: "u-1",
            issuer: "idp-gov",
            claim: &claim,
        };
        let msg =
            attestation_message_v2_1(&AttestationV21 { v2, log: ORIGIN, identity: Some(&digest) });
        let text = String::from_utf8(msg).expect("UTF-8").replace(
            "\"evidence-ledger/attestation/v2.1\"",
            &format!("\"{ATTESTATION_CONTEXT_V2}\""),
        );
        ev["attestations"][0]["v"] = json!(2);
        ev["attestations"][0]["signature"] = json!(b64(&sign("idp-gov", text.as_bytes())));
    });
    let upgraded = {
        let mut out = flow.clone();
        out[1] = world.contract_flow_v2()[1].clone();
        out[1]["attestations"][0]["v"] = json!("2.1");
        out
    };
    vec![
        case("v21-genuine-verified", "A genuine bundle whose attestations are v2.1 (\"v\": \"2.1\"): the identity provider's binds the digest of the identity its event carries and the log's origin; the intent service's and the signers' bind the log and no person (identity null). Verified.", &flow, false, expect("verified", &[], &[])),
        case("v21-identity-openings-withheld", "The genuine v2.1 bundle without its identity openings (as after a subject erasure of v2 records, or a bundle that does not disclose them): the identity provider's v2.1 signatures bind a person no verifier can recompute, so they are not checked, and an attestation not checked fails the check: a withheld opening must not turn a bad signature into VERIFIED.", &flow, true, expect("failed", &["attestations"], &[])),
        case("v21-identity-swapped", "The identity provider vouched (v2.1) for another person (张三's identity digest); the pass was logged beside u-1's identity: the record and opening are consistent, the signature does not hold for u-1's person.", &swapped, false, failed()),
        case("v21-origin-swapped", "A v2.1 attestation made on another ledger (other-ledger.example/log) for a tenant of the same name, replayed into this log: it does not hold for this log's origin.", &replayed, false, failed()),
        case("v21-signed-as-v2", "The identity provider signed the v2.1 members (person and log) under the v2 context, and the attestation says \"v\": 2: neither the v2 nor the v2.1 message.", &as_v2, false, failed()),
        case("v21-v-downgraded", "A genuine v2.1 attestation whose \"v\" was changed to 2 (to escape the person and log binding): the v2 message is not what was signed.", &downgraded, false, failed()),
        case("v21-v-upgraded", "A genuine v2 attestation relabelled \"v\": \"2.1\": the v2.1 message (context, person, log) is not what was signed.", &upgraded, false, failed()),
    ]
}

/// v2.1 on an `sm2-sm3` log: the identity digest is SM3 (SHA-256 fails).
pub(super) fn sm_v21_cases(
    world: &World,
    rebuild: &dyn Fn(&[Value]) -> Value,
    policy: &str,
) -> Vec<Case> {
    let flow = flow_v21(world, Suite::Sm2Sm3);
    let sign = ed25519(world);
    let mut sha = flow.clone();
    resign_v21(&mut sha[1], 0, (TENANT, ORIGIN), None, Suite::Ed25519Sha256, &sign);
    let case = |name, description, flow: &[Value], e| Case {
        name,
        description,
        bundle: rebuild(flow),
        policy: policy.to_owned(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    vec![
        case("sm2-sm3-v21-sm3-identity-verified", "A genuine bundle of an sm2-sm3 log (v3 records, SM3) whose attestations are v2.1: the identity provider's binds the SM3 identity digest of the person and the log's origin. Verified.", &flow, expect("verified", &[], &[])),
        case("sm2-sm3-v21-sha256-identity", "On the sm2-sm3 log, the identity provider's v2.1 attestation bound the SHA-256 identity digest instead of the SM3 one that log's suite names: it does not hold.", &sha, expect("failed", &["attestations"], &[])),
    ]
}
