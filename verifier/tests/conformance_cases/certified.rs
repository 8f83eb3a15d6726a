//! Conformance cases of attestations by SM2 issuers certified by X.509
//! (issue 26 item 3) on an `sm2-sm3` log: the world's contract flow with
//! every attestation re-issued by an issuer whose certificate (CN = its
//! name) chains to the policy's `ca` root, checked at each entry's ledger
//! time (2026-01-01). The PKI is made by OpenSSL 3 (verifier/tests/gm_pki)
//! with fixed validity dates, so the cases hold whenever they are run.

use super::gm_pki::GmPki;
use super::*;

const FROM: &str = "20250101000000Z";
const TO: &str = "20350101000000Z";
const ORG: &str = "/C=CN/O=Evidence Ledger Test";

/// The dated PKI: `d-root` > `d-inter` > one end certificate per issuer
/// of the world's flow; and the forgeries' certificates.
fn dated_pki() -> GmPki {
    let pki = GmPki::new();
    let at = |name: &str, cn: &str, issuer: Option<&str>, ext: &str, from: &str, to: &str| {
        pki.issue_dated(name, &format!("{ORG}/CN={cn}"), issuer, ext, from, to);
    };
    at("d-root", "SM2 Dated Root", None, "rootca", FROM, TO);
    at("d-inter", "SM2 Dated Intermediate", Some("d-root"), "ca", FROM, TO);
    for (name, cn) in [("d-idp", "idp-gov"), ("d-intent", "intent-svc")] {
        at(name, cn, Some("d-inter"), "ee", FROM, TO);
    }
    at("d-u1", "signer:u-1", Some("d-inter"), "ee", FROM, TO);
    at("d-u2", "signer:u-2", Some("d-inter"), "ee", FROM, TO);
    pki.issue_dated("f-root", "/C=CN/O=Forger/CN=SM2 Dated Root", None, "rootca", FROM, TO);
    pki.issue_dated("f-idp", "/C=CN/O=Forger/CN=idp-gov", Some("f-root"), "ee", FROM, TO);
    at("x-idp", "idp-gov", Some("d-inter"), "ee", "20240101000000Z", "20250601000000Z");
    at("y-idp", "idp-gov", Some("d-inter"), "ee", "20270101000000Z", "20300101000000Z");
    at("d-nosign", "CA without keyCertSign", Some("d-inter"), "ca_nosign", FROM, TO);
    at("n-idp", "idp-gov", Some("d-nosign"), "ee", FROM, TO);
    at("k-idp", "idp-gov", Some("d-inter"), "nods", FROM, TO);
    pki
}

/// The world's flow with every attestation certified; the identity
/// provider's attestation signed by `idp_key` carrying `idp_chain`.
fn flow(world: &World, pki: &GmPki, idp_key: &str, idp_chain: &[&str]) -> Vec<Value> {
    let mut events = world.contract_flow();
    for ev in &mut events {
        let n = ev["attestations"].as_array().map_or(0, Vec::len);
        for j in 0..n {
            let issuer = ev["attestations"][j]["issuer"].as_str().expect("issuer").to_owned();
            let (key, chain): (&str, Vec<&str>) = match issuer.as_str() {
                "idp-gov" => (idp_key, idp_chain.to_vec()),
                "intent-svc" => ("d-intent", vec!["d-intent", "d-inter"]),
                "signer:u-1" => ("d-u1", vec!["d-u1", "d-inter"]),
                "signer:u-2" => ("d-u2", vec!["d-u2", "d-inter"]),
                other => panic!("issuer {other} of the world's flow"),
            };
            pki.certify(ev, j, TENANT, (&issuer, key), &chain);
        }
    }
    events
}

/// The genuine certified flow with every attestation v2.1 (issue 25 item
/// 7) for the log `log`: the same chains, SM2 signatures over the v2.1
/// message (the world's flow has v1 leaves and no identity: each binds the
/// log and no person).
fn flow_v21(world: &World, pki: &GmPki, log: &str) -> Vec<Value> {
    let mut events = flow(world, pki, "d-idp", &["d-idp", "d-inter"]);
    let key = |issuer: &str| match issuer {
        "idp-gov" => "d-idp",
        "intent-svc" => "d-intent",
        "signer:u-1" => "d-u1",
        "signer:u-2" => "d-u2",
        other => panic!("issuer {other} of the world's flow"),
    };
    let sign = |issuer: &str, msg: &[u8]| pki.sign_raw(key(issuer), msg).to_vec();
    for ev in &mut events {
        for j in 0..ev["attestations"].as_array().map_or(0, Vec::len) {
            super::v21::resign_v21(ev, j, (TENANT, log), None, Suite::Sm2Sm3, &sign);
        }
    }
    events
}

/// The SM log's bundle of `events`, listing no issuer key (certified
/// issuers have none).
fn bundle(world: &World, sm: &SmWorld, events: &[Value]) -> verifier::bundle::Bundle {
    let mut b = world.bundle(events);
    b.issuers.clear();
    sm.rebuild(&b)
}

pub(super) fn certified_cases(world: &World) -> Vec<Case> {
    let pki = dated_pki();
    let sm = SmWorld::new();
    let policy = format!("{}ca court-sm2-ca\n{}", sm.policy(), pki.pem("d-root"));
    let case = |name, description, idp: (&str, &[&str]), policy: &str, e| Case {
        name,
        description,
        bundle: to_value(&bundle(world, &sm, &flow(world, &pki, idp.0, idp.1))),
        policy: policy.to_owned(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    let genuine: (&str, &[&str]) = ("d-idp", &["d-idp", "d-inter"]);
    let failed = || expect("failed", &["attestations"], &[]);
    let v21 = |name, description, log: &str, e| Case {
        name,
        description,
        bundle: to_value(&bundle(world, &sm, &flow_v21(world, &pki, log))),
        policy: policy.clone(),
        document: Some(DOCUMENT.to_vec()),
        expect: e,
    };
    let mut v21_cases = vec![
        v21("sm2-sm3-certified-v21-verified", "The certified bundle with every attestation v2.1 (\"v\": \"2.1\", SM2 over the v2.1 message binding the log's origin; these events carry no identity, so no person).", ORIGIN, expect("verified", &[], &[])),
        v21("sm2-sm3-certified-v21-origin-swapped", "The certified v2.1 attestations made for another log (other-ledger.example/log) with a tenant of the same name, replayed here.", super::v21::OTHER_LOG, failed()),
    ];
    let mut out = vec![
        case("sm2-sm3-certified-issuers-verified", "An sm2-sm3 bundle whose identity checks, intent proofs and signatures are attested by SM2 issuers certified by X.509 (GM/T 0015), each chain reaching the policy's `ca` root and valid at the entry's time.", genuine, &policy, expect("verified", &[], &[])),
        case("sm2-sm3-certified-no-ca-in-policy", "The genuine certified bundle against the policy without its `ca` line: no root of the checker's own vouches for the issuers' certificates (the bundle's chains are claims, never anchors).", genuine, &sm.policy(), failed()),
        case("sm2-sm3-certified-unpinned-ca", "The identity provider's attestation carries a chain to a root the policy does not pin (a forger's CA issued a certificate named idp-gov).", ("f-idp", &["f-idp", "f-root"]), &policy, failed()),
        case("sm2-sm3-certified-expired", "The identity provider's certificate expired (2025-06-01) before the entry's time (2026-01-01).", ("x-idp", &["x-idp", "d-inter"]), &policy, failed()),
        case("sm2-sm3-certified-not-yet-valid", "The identity provider's certificate is valid only from 2027, after the entry's time (2026-01-01).", ("y-idp", &["y-idp", "d-inter"]), &policy, failed()),
        case("sm2-sm3-certified-ca-without-keycertsign", "The identity provider's certificate was issued by a CA certificate whose key usage lacks keyCertSign.", ("n-idp", &["n-idp", "d-nosign", "d-inter"]), &policy, failed()),
        case("sm2-sm3-certified-leaf-without-digitalsignature", "The identity provider's certificate has a key usage of nonRepudiation alone, without digitalSignature.", ("k-idp", &["k-idp", "d-inter"]), &policy, failed()),
        case("sm2-sm3-certified-other-key", "The identity provider's attestation carries its genuine chain but is signed by the intent service's key.", ("d-intent", &["d-idp", "d-inter"]), &policy, failed()),
        case("sm2-sm3-certified-chain-swapped", "The intent service signs, with its own valid certificate, an attestation that names the identity provider: the chain is swapped onto another issuer.", ("d-intent", &["d-intent", "d-inter"]), &policy, failed()),
    ];
    out.append(&mut v21_cases);
    out
}
