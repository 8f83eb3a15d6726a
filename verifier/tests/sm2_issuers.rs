//! Attestations by SM2 issuers certified by X.509 (issue 26 item 3), by
//! the one rule ingest and the verifiers apply (`verifier::issuer`): the
//! certificate chain (made by OpenSSL 3, verifier/tests/gm_pki) up to a
//! trusted `ca` root at the event's time, the end certificate's one
//! commonName equal to the issuer name, and the SM2 signature (OpenSSL's,
//! as `r || s`) under the certificate's key. Each forgery is refused,
//! naming the check.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod gm_pki;

use base64::Engine as _;
use gm_pki::GmPki;
use serde_json::{json, Value};
use verifier::anykey::AnyVerifier;
use verifier::entry::Event;
use verifier::issuer::{check_attestation, Attested, CertifiedTrust, IssuerKeys};
use verifier::policy::{PolicyCa, TrustPolicy};
use verifier::VerifyError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const TENANT: &str = "acme";
const ORG: &str = "/C=CN/O=Evidence Ledger Test";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The PKI with issuers named as attestations name them (CN = issuer).
fn pki() -> GmPki {
    let pki = GmPki::new();
    pki.issue("idp", &format!("{ORG}/CN=idp-gov"), "inter", "ee", 365);
    pki.issue("intent", &format!("{ORG}/CN=intent-svc"), "inter", "ee", 365);
    pki.issue("forged-idp", "/C=CN/O=Forger/CN=idp-gov", "other-root", "ee", 365);
    pki
}

fn cas(pki: &GmPki) -> Vec<PolicyCa> {
    TrustPolicy::parse(&format!("quorum 0\nca court-sm2-ca\n{}", pki.pem("root"))).unwrap().cas
}

/// An identity check by `issuer`, its attestation v2 signed by `key` with
/// the chain `chain` (certificate names, end certificate first).
fn event(pki: &GmPki, issuer: &str, key: &str, chain: &[&str]) -> Event {
    let certs: Vec<String> = chain.iter().map(|c| B64.encode(pki.der(c))).collect();
    let mut raw = json!({
        "event_id": "ev-1", "document_id": "contract-42", "kind": "identity_verified",
        "document_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "actor": {"id": "u-1", "display": "王*", "commitment": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
        "attestations": [{"issuer": issuer, "v": 2, "claim": {"method": "face", "result": "pass"},
                          "signature": B64.encode([0u8; 64]), "certificate": certs}],
    });
    let msg = Event::from_value(raw.clone(), false).unwrap().attestation_message(0, TENANT);
    raw["attestations"][0]["signature"] = Value::from(B64.encode(pki.sign_raw(key, &msg)));
    Event::from_value(raw, false).unwrap()
}

fn check(ev: &Event, cas: &[PolicyCa], at: i64) -> Result<String, VerifyError> {
    let trust = CertifiedTrust::new(cas, at);
    match check_attestation(ev, 0, TENANT, &IssuerKeys::new(), &trust)? {
        Attested::Certified(c) => Ok(c.ca),
        Attested::Key(_) => panic!("no key was given"),
    }
}

fn certificate_error(r: Result<String, VerifyError>) -> String {
    match r {
        Err(VerifyError::Invalid { field, reason }) => {
            assert_eq!(field, "attestations[0].certificate");
            reason
        }
        other => panic!("expected a certificate failure, got {other:?}"),
    }
}

#[test]
fn a_certified_issuers_attestation_verifies_under_the_pinned_ca() {
    let pki = pki();
    let cas = cas(&pki);
    let ev = event(&pki, "idp-gov", "idp", &["idp", "inter"]);
    assert_eq!(check(&ev, &cas, now()).unwrap(), "court-sm2-ca");
    // With no CA trusted, nothing certified is.
    let e = certificate_error(check(&ev, &[], now()));
    assert!(e.contains("not issued by a CA of your policy"), "{e}");
    // The parsed event keeps the chain as given.
    assert_eq!(ev.attestations[0].certificate, vec![pki.der("idp"), pki.der("inter")]);
}

#[test]
fn forgeries_are_refused_naming_the_check() {
    let pki = pki();
    let cas = cas(&pki);
    // A certificate from a CA the checker does not pin.
    let ev = event(&pki, "idp-gov", "forged-idp", &["forged-idp", "other-root"]);
    let e = certificate_error(check(&ev, &cas, now()));
    assert!(e.contains("not issued by a CA of your policy"), "{e}");

    // Expired, and not yet valid, at the event's time.
    let ev = event(&pki, "idp-gov", "idp", &["idp", "inter"]);
    let e = certificate_error(check(&ev, &cas, now() + 400 * 86_400));
    assert!(e.contains("was not valid at the time of the signature"), "{e}");
    let e = certificate_error(check(&ev, &cas, now() - 86_400));
    assert!(e.contains("was not valid"), "{e}");

    // A CA certificate without keyCertSign issued the end certificate.
    pki.issue("nosign", &format!("{ORG}/CN=CA without keyCertSign"), "inter", "ca_nosign", 365);
    pki.issue("under-nosign", &format!("{ORG}/CN=idp-gov"), "nosign", "ee", 365);
    let ev = event(&pki, "idp-gov", "under-nosign", &["under-nosign", "nosign", "inter"]);
    let e = certificate_error(check(&ev, &cas, now()));
    assert!(e.contains("issued another but is not a CA"), "{e}");

    // An end certificate without digitalSignature (nonRepudiation alone).
    pki.issue("nods", &format!("{ORG}/CN=idp-gov"), "inter", "nods", 365);
    let ev = event(&pki, "idp-gov", "nods", &["nods", "inter"]);
    let e = certificate_error(check(&ev, &cas, now()));
    assert!(e.contains("key usage does not allow digital signatures"), "{e}");

    // Signed by another key than the certificate's.
    let ev = event(&pki, "idp-gov", "intent", &["idp", "inter"]);
    let e = check(&ev, &cas, now()).unwrap_err();
    assert!(matches!(e, VerifyError::BadSignature(_)), "{e:?}");
    assert!(e.to_string().contains("does not verify with the key of certificate"), "{e}");

    // A chain swapped onto another issuer: the intent service signs with
    // its own (valid) certificate an attestation that names idp-gov.
    let ev = event(&pki, "idp-gov", "intent", &["intent", "inter"]);
    let e = certificate_error(check(&ev, &cas, now()));
    assert!(e.contains("is not issuer idp-gov's"), "{e}");
}

#[test]
fn a_name_registered_by_key_takes_no_certificate() {
    let pki = pki();
    let cas = cas(&pki);
    let ev = event(&pki, "idp-gov", "idp", &["idp", "inter"]);
    let ed = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let keys =
        IssuerKeys::from([("idp-gov".to_owned(), AnyVerifier::ed25519_issuer("idp-gov", ed))]);
    let trust = CertifiedTrust::new(&cas, now());
    let e = check_attestation(&ev, 0, TENANT, &keys, &trust).unwrap_err();
    assert!(e.to_string().contains("is registered by key"), "{e}");
}

#[test]
fn a_certificate_needs_an_attestation_v2_and_a_bounded_chain() {
    let base = json!({
        "event_id": "ev-1", "document_id": "c", "kind": "signed",
        "document_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "actor": {"id": "u-1", "display": "王*", "commitment": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
        "attestations": [{"issuer": "i", "claim": {}, "signature": B64.encode([0u8; 64]),
                          "certificate": [B64.encode(b"x")]}],
    });
    let e = Event::from_value(base.clone(), false).unwrap_err();
    assert!(e.to_string().contains("only an attestation v2"), "{e}");
    for bad in [json!([]), json!("x"), json!(["not base64!"]), json!(vec![B64.encode(b"x"); 9])] {
        let mut v = base.clone();
        v["attestations"][0]["v"] = json!(2);
        v["attestations"][0]["certificate"] = bad;
        let e = Event::from_value(v, false).unwrap_err();
        assert!(e.to_string().contains("attestations[0].certificate"), "{e}");
    }
}

/// A cache of verified chains, as ingest keeps one.
#[derive(Default)]
struct Memo(std::sync::Mutex<Vec<(Vec<Vec<u8>>, verifier::x509sm2::CertifiedSm2Key)>>);

impl verifier::issuer::ChainCache for Memo {
    fn get(&self, chain: &[Vec<u8>], at: i64) -> Option<verifier::x509sm2::CertifiedSm2Key> {
        let held = self.0.lock().unwrap();
        let (_, c) = held.iter().find(|(k, _)| k == chain)?;
        (c.path_valid.0 <= at && at <= c.path_valid.1).then(|| c.clone())
    }
    fn put(&self, chain: &[Vec<u8>], cert: &verifier::x509sm2::CertifiedSm2Key) {
        self.0.lock().unwrap().push((chain.to_vec(), cert.clone()));
    }
}

#[test]
fn a_cached_chain_answers_only_inside_its_paths_validity() {
    let pki = pki();
    let cas = cas(&pki);
    let memo = Memo::default();
    let ev = event(&pki, "idp-gov", "idp", &["idp", "inter"]);
    let at = |t: i64| CertifiedTrust { cas: &cas, at_unix: t, cache: Some(&memo) };
    assert!(check_attestation(&ev, 0, TENANT, &IssuerKeys::new(), &at(now())).is_ok());
    assert_eq!(memo.0.lock().unwrap().len(), 1, "the verified chain is kept");
    let (from, until) = memo.0.lock().unwrap()[0].1.path_valid;
    assert!(from <= now() && now() <= until && until <= now() + 366 * 86_400);
    // A hit still checks the name and the signature.
    let swapped = event(&pki, "idp-gov", "intent", &["idp", "inter"]);
    let e = check_attestation(&swapped, 0, TENANT, &IssuerKeys::new(), &at(now())).unwrap_err();
    assert!(matches!(e, VerifyError::BadSignature(_)), "{e:?}");
    // Outside the path's validity the cache does not answer: the chain
    // is checked again, and fails.
    let none = IssuerKeys::new();
    let later = check_attestation(&ev, 0, TENANT, &none, &at(now() + 400 * 86_400));
    let e = later.map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("was not valid at the time of the signature"), "{e}");
}
