//! SM2 issuers certified by X.509 (issue 26 item 3): chains of the GM/T
//! 0015 profile made by OpenSSL 3 (`openssl req`/`x509 -sm3 -sigopt
//! distid:1234567812345678`, an SM2 root and intermediate) verify up to the
//! policy's `ca` root with `verifier::x509sm2::verify_sm2_chain`, and the
//! key it returns checks OpenSSL's SM2 signatures; expired, untrusted,
//! tampered and badly profiled chains are refused, naming the check.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod gm_pki;

use gm_pki::GmPki;
use verifier::policy::TrustPolicy;
use verifier::x509sm2::verify_sm2_chain;
use verifier::VerifyError;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A policy trusting `root` under the name `court-sm2-ca`.
fn policy(pki: &GmPki, root: &str) -> TrustPolicy {
    let text = format!("quorum 0\nca court-sm2-ca\n{}", pki.pem(root));
    TrustPolicy::parse(&text).expect("policy parses")
}

fn reason(e: VerifyError) -> String {
    e.to_string()
}

#[test]
fn a_chain_to_the_policy_root_yields_the_key_and_subject() {
    let pki = GmPki::new();
    let cas = policy(&pki, "root").cas;
    let chain = [pki.der("leaf"), pki.der("inter")];
    let got = verify_sm2_chain(&chain, &cas, now()).expect("chain verifies");
    assert_eq!(got.ca, "court-sm2-ca");
    assert!(got.subject.contains("CN=idp-gov SM2"), "{}", got.subject);
    assert!(got.not_before <= now() && now() <= got.not_after);
    assert_eq!(got.key.distid(), "1234567812345678");

    // The key is the certificate's: OpenSSL's SM2 signature verifies.
    let message = b"attestation v2: tenant t1, contract-42, identity_verified";
    let sig = pki.sign("leaf", message);
    assert!(got.key.verify(message, &sig), "OpenSSL's SM2 signature (DER) verifies");
    assert!(!got.key.verify(b"another message", &sig));
    let other = pki.sign("other-leaf", message);
    assert!(!got.key.verify(message, &other), "another key's signature does not");
    // The key is OpenSSL's: its SPKI ends with the uncompressed point.
    let spki =
        gm_pki::openssl(pki.dir.path(), &["pkey", "-in", "leaf.key", "-pubout", "-outform", "DER"]);
    assert!(spki.ends_with(&got.key.to_sec1_uncompressed()));

    // Intermediates in any order, and the intermediate itself pinned.
    let pinned = policy(&pki, "inter").cas;
    assert_eq!(verify_sm2_chain(&[pki.der("leaf")], &pinned, now()).unwrap().ca, "court-sm2-ca");
}

#[test]
fn expired_and_not_yet_valid_are_refused() {
    let pki = GmPki::new();
    pki.issue("short", "/C=CN/CN=Short-lived SM2 signer", "inter", "ee", 1);
    let cas = policy(&pki, "root").cas;
    let chain = [pki.der("short"), pki.der("inter")];
    assert!(verify_sm2_chain(&chain, &cas, now()).is_ok());
    let later = now() + 3 * 86_400;
    let e = reason(verify_sm2_chain(&chain, &cas, later).unwrap_err());
    assert!(e.contains("was not valid at the time of the signature"), "{e}");
    let e = reason(verify_sm2_chain(&chain, &cas, now() - 86_400).unwrap_err());
    assert!(e.contains("was not valid"), "{e}");
}

#[test]
fn a_chain_to_another_root_is_unknown() {
    let pki = GmPki::new();
    let cas = policy(&pki, "root").cas;
    let e = verify_sm2_chain(&[pki.der("other-leaf")], &cas, now()).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownKey(_)), "{e:?}");
    assert!(e.to_string().contains("not issued by a CA of your policy"), "{e}");
    // The forged root's own chain is whole, but no policy root is in it.
    let e = verify_sm2_chain(&[pki.der("other-leaf"), pki.der("other-root")], &cas, now());
    assert!(matches!(e, Err(VerifyError::UnknownKey(_))), "{e:?}");
    // With no `ca` lines at all, nothing is trusted.
    let e = verify_sm2_chain(&[pki.der("leaf"), pki.der("inter")], &[], now());
    assert!(matches!(e, Err(VerifyError::UnknownKey(_))), "{e:?}");
}

#[test]
fn tampered_certificates_are_refused() {
    let pki = GmPki::new();
    let cas = policy(&pki, "root").cas;
    // The last byte of a certificate is the last byte of s in its signature.
    let mut leaf = pki.der("leaf");
    *leaf.last_mut().unwrap() ^= 0x01;
    let e = verify_sm2_chain(&[leaf, pki.der("inter")], &cas, now()).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownKey(_)), "an unsigned link breaks the path: {e:?}");
    // A changed subject name in the signed part.
    let mut leaf = pki.der("leaf");
    let at = leaf.windows(7).position(|w| w == b"idp-gov").unwrap();
    leaf[at] = b'X';
    let e = verify_sm2_chain(&[leaf, pki.der("inter")], &cas, now()).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownKey(_)), "{e:?}");
    // The intermediate's signature altered.
    let mut inter = pki.der("inter");
    *inter.last_mut().unwrap() ^= 0x01;
    let e = verify_sm2_chain(&[pki.der("leaf"), inter], &cas, now()).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownKey(_)), "{e:?}");
    // Not DER at all.
    let e = reason(verify_sm2_chain(&[b"not a certificate".to_vec()], &cas, now()).unwrap_err());
    assert!(e.contains("certificate 0 of the chain is not a DER X.509 certificate"), "{e}");
}

#[test]
fn a_non_ca_intermediate_cannot_issue() {
    let pki = GmPki::new();
    // keyCertSign but CA:FALSE: RFC 5280 §4.2.1.9 makes it no CA.
    pki.issue("noca", "/C=CN/CN=Not a CA", "inter", "noca", 365);
    pki.issue("under-noca", "/C=CN/CN=Signer under a non-CA", "noca", "ee", 365);
    let cas = policy(&pki, "root").cas;
    let chain = [pki.der("under-noca"), pki.der("noca"), pki.der("inter")];
    let e = verify_sm2_chain(&chain, &cas, now()).unwrap_err();
    assert!(e.to_string().contains("issued another but is not a CA"), "{e}");
    assert!(matches!(e, VerifyError::Invalid { .. }), "{e:?}");
}

#[test]
fn the_gm_profile_is_enforced() {
    let pki = GmPki::new();
    let cas = policy(&pki, "root").cas;
    // A CA certificate is not an issuer's signing certificate.
    let e = reason(verify_sm2_chain(&[pki.der("inter")], &cas, now()).unwrap_err());
    assert!(e.contains("is a CA certificate"), "{e}");
    // A key usage without digital signatures.
    pki.issue("enc", "/C=CN/CN=Encryption only", "inter", "enc", 365);
    let e = reason(verify_sm2_chain(&[pki.der("enc"), pki.der("inter")], &cas, now()).unwrap_err());
    assert!(e.contains("key usage does not allow digital signatures"), "{e}");
    // An ECDSA P-256 certificate signed with SHA-256 is not GM/T 0015.
    gm_pki::openssl(
        pki.dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "p256.key",
            "-subj",
            "/CN=P-256",
            "-days",
            "2",
            "-out",
            "p256.pem",
        ],
    );
    let e = reason(verify_sm2_chain(&[pki.der("p256")], &cas, now()).unwrap_err());
    assert!(e.contains("not SM2-with-SM3 (1.2.156.10197.1.501)"), "{e}");
    // Caps before decoding.
    let many = vec![pki.der("leaf"); 9];
    assert!(matches!(
        verify_sm2_chain(&many, &cas, now()),
        Err(VerifyError::TooLarge { what: "certificate chain", .. })
    ));
    let empty: [Vec<u8>; 0] = [];
    assert!(verify_sm2_chain(&empty, &cas, now()).is_err());
}
