//! SM2 issuers certified by X.509 for the end-to-end tests of an `sm2-sm3`
//! log (issue 26 item 3): the certificates (verifier/tests/gm_pki, made by
//! OpenSSL 3) of issuers named as attestations name them (CN = issuer
//! name), and events whose attestations are re-signed by them: attestation
//! v2, the chain under `certificate`, OpenSSL's SM2 signature as `r || s`.
#![allow(dead_code)]

use base64::Engine as _;
use serde_json::{json, Value};

use crate::gm_pki::GmPki;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The subject prefix of the test issuers' certificates.
pub const ORG: &str = "/C=CN/O=Evidence Ledger Test";
/// The name the platform registers the test root under.
pub const CA_NAME: &str = "court-sm2-ca";

/// `gm_pki`'s PKI with an end certificate `cert` (CN = `issuer`) under
/// its intermediate for each pair of `issuers`.
pub fn pki_with(issuers: &[(&str, &str)]) -> GmPki {
    let pki = GmPki::new();
    for (cert, issuer) in issuers {
        pki.issue(cert, &format!("{ORG}/CN={issuer}"), "inter", "ee", 365);
    }
    pki
}

/// The base64 DER of certificates `names`.
pub fn chain(pki: &GmPki, names: &[&str]) -> Value {
    json!(names.iter().map(|n| B64.encode(pki.der(n))).collect::<Vec<_>>())
}

/// Makes attestation `j` of `ev` one by `issuer`, carrying `chain_names`
/// and signed (v2 message for `tenant`) by the key of certificate `key`.
pub fn certify(
    pki: &GmPki,
    ev: &mut Value,
    j: usize,
    tenant: &str,
    issuer: &str,
    key: &str,
    chain_names: &[&str],
) {
    pki.certify(ev, j, tenant, (issuer, key), chain_names);
}

/// Every attestation of `events` re-issued by the certified issuer that
/// `map` gives for its issuer name: `(old name, new name, certificate)`,
/// each chain being the certificate and the intermediate.
pub fn certify_all(pki: &GmPki, events: &mut [Value], tenant: &str, map: &[(&str, &str, &str)]) {
    for ev in events.iter_mut() {
        let n = ev["attestations"].as_array().map_or(0, Vec::len);
        for j in 0..n {
            let old = ev["attestations"][j]["issuer"].as_str().expect("issuer").to_owned();
            let (_, new, cert) = map.iter().find(|(o, _, _)| *o == old).expect("mapped issuer");
            certify(pki, ev, j, tenant, new, cert, &[cert, "inter"]);
        }
    }
}

/// [`certify`] as attestation v2.1 (`"v": "2.1"`): signed over the v2.1
/// message for `tenant` on the log `origin`, bound to `person` (the
/// event's own, with SM3, when `None`).
#[allow(clippy::too_many_arguments)]
pub fn certify_v21(
    pki: &GmPki,
    ev: &mut Value,
    j: usize,
    (tenant, origin): (&str, &str),
    person: Option<verifier::attest::Person>,
    issuer: &str,
    key: &str,
    chain_names: &[&str],
) {
    let a = &mut ev["attestations"][j];
    a["issuer"] = issuer.into();
    a["v"] = "2.1".into();
    a["certificate"] = chain(pki, chain_names);
    let event = verifier::entry::Event::from_value(ev.clone(), false).expect("a valid event");
    let person = person.unwrap_or_else(|| event.person(verifier::suite::Suite::Sm2Sm3));
    let binding = verifier::attest::Binding { tenant, log: Some(origin), person };
    let msg = event.attestation_message_for(j, &binding).expect("a v2.1 message");
    ev["attestations"][j]["signature"] = B64.encode(pki.sign_raw(key, &msg)).into();
}
