//! GM/T 0033 trusted timestamps (issue 26 item 5): RFC 3161 tokens signed
//! SM2 over SM3 by an SM2 TSA certificate under an SM2 CA, with SM3 or
//! SHA-256 imprints, verify against the TSA roots the operator trusts; a
//! tampered token, a wrong imprint and an untrusted root are refused.
//! The TSTInfo comes from `openssl ts -reply`, the SM2 signature from
//! `openssl pkeyutl` (see gm_pki/mod.rs for why OpenSSL 3.0 cannot write
//! the whole token).
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod gm_pki;

use const_oid::db::rfc5912::ID_EC_PUBLIC_KEY;
use const_oid::ObjectIdentifier;
use gm_pki::{GmPki, ID_SM3, SM2_WITH_SM3};
use sha2::Digest as _;
use verifier::tsa::{verify_timestamp_token, verify_timestamp_token_over, Imprinted, TrustedTsa};
use verifier::Hash;

const DOCUMENT: &[u8] = b"Contract 42: the parties agree to the terms below.\n";
const SKEW: i64 = 300;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn sm3(data: &[u8]) -> Hash {
    Hash(sm3::Sm3::digest(data).into())
}

fn trusted(pki: &GmPki, root: &str) -> Vec<TrustedTsa> {
    vec![TrustedTsa::from_pem("national-sm2-tsa", &pki.pem(root)).unwrap()]
}

fn reason(e: verifier::VerifyError) -> String {
    e.to_string()
}

#[test]
fn an_sm2_token_with_an_sm3_imprint_verifies() {
    let pki = GmPki::new();
    let tst = pki.tst_info(DOCUMENT, "sm3");
    let token = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    let roots = trusted(&pki, "root");
    let over = Imprinted::Sm3(&sm3(DOCUMENT));
    let info = verify_timestamp_token_over(&token, over, &roots, now(), SKEW).expect("verifies");
    assert_eq!(info.tsa, "national-sm2-tsa");
    assert_eq!(info.policy, "1.2.156.112562.1.1");
    assert!(info.signer_subject.contains("CN=SM2 Test TSA"), "{}", info.signer_subject);
    assert!((info.gen_time_unix - now()).abs() < 120, "{}", info.gen_time);
    // The same token over the bytes themselves: the verifier takes SM3.
    let over = Imprinted::Bytes(DOCUMENT);
    assert_eq!(verify_timestamp_token_over(&token, over, &roots, now(), SKEW).unwrap(), info);
    // The intermediate pinned instead of the root.
    let pinned = trusted(&pki, "inter");
    assert!(verify_timestamp_token_over(&token, over, &pinned, now(), SKEW).is_ok());
}

#[test]
fn an_sm2_token_over_a_sha256_document_hash_verifies_on_the_pinned_path() {
    // The event path: `document_hash` is SHA-256, so is the imprint; the
    // signature is SM2/SM3. `verify_timestamp_token` is what ingest calls.
    let pki = GmPki::new();
    let tst = pki.tst_info(DOCUMENT, "sha256");
    let roots = trusted(&pki, "root");
    let doc = Hash::digest(DOCUMENT);
    for sig_alg in
        [SM2_WITH_SM3, ID_EC_PUBLIC_KEY, ObjectIdentifier::new_unwrap("1.2.156.10197.1.301.1")]
    {
        let token = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], sig_alg);
        let info = verify_timestamp_token(&token, &doc, &roots, now(), SKEW)
            .unwrap_or_else(|e| panic!("signatureAlgorithm {sig_alg}: {e}"));
        assert_eq!(info.tsa, "national-sm2-tsa");
    }
}

#[test]
fn a_wrong_imprint_is_refused() {
    let pki = GmPki::new();
    let roots = trusted(&pki, "root");
    let sm3_token =
        pki.sm2_token(&pki.tst_info(DOCUMENT, "sm3"), "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    let other = b"Contract 42, amended without consent.\n";
    let e =
        verify_timestamp_token_over(&sm3_token, Imprinted::Sm3(&sm3(other)), &roots, now(), SKEW);
    assert!(reason(e.unwrap_err()).contains("message imprint does not match"));
    let e = verify_timestamp_token_over(&sm3_token, Imprinted::Bytes(other), &roots, now(), SKEW);
    assert!(reason(e.unwrap_err()).contains("message imprint does not match"));
    // An SM3 imprint cannot be checked against a SHA-256 document hash.
    let e = verify_timestamp_token(&sm3_token, &Hash::digest(DOCUMENT), &roots, now(), SKEW);
    let e = reason(e.unwrap_err());
    assert!(
        e.contains(&format!("message imprint uses hash algorithm {ID_SM3}, not SHA-256")),
        "{e}"
    );
    // Nor a SHA-256 imprint against a known SM3 digest.
    let sha_token =
        pki.sm2_token(&pki.tst_info(DOCUMENT, "sha256"), "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    let e = verify_timestamp_token_over(
        &sha_token,
        Imprinted::Sm3(&sm3(DOCUMENT)),
        &roots,
        now(),
        SKEW,
    );
    assert!(reason(e.unwrap_err()).contains("not SM3"));
}

#[test]
fn a_tampered_token_is_refused() {
    let pki = GmPki::new();
    let roots = trusted(&pki, "root");
    let tst = pki.tst_info(DOCUMENT, "sm3");
    let token = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    let over = Imprinted::Bytes(DOCUMENT);
    assert!(verify_timestamp_token_over(&token, over, &roots, now(), SKEW).is_ok());

    // The policy inside the TSTInfo changed: the signed digest no longer
    // covers it.
    let policy = der::Encode::to_der(&ObjectIdentifier::new_unwrap("1.2.156.112562.1.1")).unwrap();
    let at = token.windows(policy.len()).position(|w| w == policy.as_slice()).unwrap();
    let mut altered = token.clone();
    altered[at + policy.len() - 1] ^= 0x01;
    let e = reason(verify_timestamp_token_over(&altered, over, &roots, now(), SKEW).unwrap_err());
    assert!(e.contains("message-digest attribute does not match the TSTInfo"), "{e}");

    // The SM2 signature altered (the SignerInfo's last field, the token's
    // last bytes).
    let mut altered = token.clone();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    let e = reason(verify_timestamp_token_over(&altered, over, &roots, now(), SKEW).unwrap_err());
    assert!(e.contains("signature does not verify with the signer certificate's key"), "{e}");

    // Signed by another SM2 key than the certificate's: the forged TSA's
    // key, the genuine TSA's certificate.
    let forged = std::fs::read(pki.path("other-tsa.key")).unwrap();
    std::fs::write(pki.path("tsa.key"), forged).unwrap();
    let swapped = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    let e = reason(verify_timestamp_token_over(&swapped, over, &roots, now(), SKEW).unwrap_err());
    assert!(e.contains("signature does not verify"), "{e}");
}

#[test]
fn a_token_from_an_untrusted_sm2_tsa_is_refused() {
    let pki = GmPki::new();
    let tst = pki.tst_info(DOCUMENT, "sm3");
    let over = Imprinted::Bytes(DOCUMENT);
    let forged = pki.sm2_token(&tst, "other-tsa", &["other-tsa", "other-root"], SM2_WITH_SM3);
    let e = verify_timestamp_token_over(&forged, over, &trusted(&pki, "root"), now(), SKEW);
    let e = reason(e.unwrap_err());
    assert!(e.contains("not issued by a trusted TSA"), "{e}");
    // The genuine token under the forger's root only.
    let token = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    let e = verify_timestamp_token_over(&token, over, &trusted(&pki, "other-root"), now(), SKEW);
    assert!(reason(e.unwrap_err()).contains("not issued by a trusted TSA"));
    // And with no trusted TSA at all.
    assert!(verify_timestamp_token_over(&token, over, &[], now(), SKEW).is_err());
}

#[test]
fn an_unknown_signer_digest_is_refused() {
    // The SignerInfo's digest algorithm decides the message-digest check;
    // one we do not know is refused by name (tsa/crypto.rs unit tests
    // cover SM2 with a SHA-2 digest, and SM3 with RSA or ECDSA).
    let pki = GmPki::new();
    let tst = pki.tst_info(DOCUMENT, "sm3");
    let token = pki.sm2_token(&tst, "tsa", &["tsa", "inter"], SM2_WITH_SM3);
    // Rewrite the SignerInfo's digestAlgorithm (the token's last SM3 OID,
    // after SignedData.digestAlgorithms and the imprint's) to another arc.
    let oid = der::Encode::to_der(&ID_SM3).unwrap();
    let positions: Vec<usize> = token
        .windows(oid.len())
        .enumerate()
        .filter(|(_, w)| *w == oid.as_slice())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(positions.len(), 3, "{positions:?}");
    let mut altered = token.clone();
    altered[positions[2] + oid.len() - 1] ^= 0x02;
    let over = Imprinted::Bytes(DOCUMENT);
    let e = verify_timestamp_token_over(&altered, over, &trusted(&pki, "root"), now(), SKEW);
    let e = reason(e.unwrap_err());
    assert!(e.contains("is not SHA-256, SHA-384, SHA-512 or SM3"), "{e}");
}
