//! RFC 3161 timestamp tokens from a real TSA (`openssl ts -reply`, OpenSSL 3):
//! fixtures made by `tests/data/tsa/make-fixtures.sh`, which says what each
//! file is. One test runs openssl as a TSA on our own request bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use der::{Decode, Encode};
use proptest::prelude::*;
use verifier::tsa::{
    parse_timestamp_response, timestamp_request_der, verify_timestamp_token, TimestampInfo,
    TrustedTsa, MAX_TOKEN_SIZE,
};
use verifier::{Hash, VerifyError};

const DOCUMENT: &[u8] = include_bytes!("data/tsa/document.txt");
const ROOT_PEM: &str = include_str!("data/tsa/root-ca.pem");
const OTHER_ROOT_PEM: &str = include_str!("data/tsa/other-root.pem");
const TOKEN_RSA: &[u8] = include_bytes!("data/tsa/token-rsa.der");
const TOKEN_RSA_FRAC: &[u8] = include_bytes!("data/tsa/token-rsa-frac.der");
const TOKEN_EC: &[u8] = include_bytes!("data/tsa/token-ec.der");
const TOKEN_OTHER_HASH: &[u8] = include_bytes!("data/tsa/token-other-hash.der");
const TOKEN_UNTRUSTED: &[u8] = include_bytes!("data/tsa/token-untrusted.der");
const TOKEN_NOEKU: &[u8] = include_bytes!("data/tsa/token-noeku.der");
const TOKEN_RESIGNED: &[u8] = include_bytes!("data/tsa/token-resigned.der");
const RESP_GRANTED: &[u8] = include_bytes!("data/tsa/resp-granted.der");
const RESP_REJECTED: &[u8] = include_bytes!("data/tsa/resp-rejected.der");

/// genTime of the fixture tokens (update when the fixtures are regenerated).
const GEN_TIME: &str = "2026-11-28T16:17:40Z";
const GEN_TIME_UNIX: i64 = 1_795_882_660;
/// "Now" for the tests: an hour after the tokens were made.
const NOW: i64 = GEN_TIME_UNIX + 3600;
const SKEW: i64 = 300;
const ROOT_NAME: &str = "test-tsa-root";

fn document_hash() -> Hash {
    Hash::digest(DOCUMENT)
}

fn trusted() -> Vec<TrustedTsa> {
    vec![TrustedTsa::from_pem(ROOT_NAME, ROOT_PEM).expect("root parses")]
}

fn verify(token: &[u8]) -> Result<TimestampInfo, VerifyError> {
    verify_timestamp_token(token, &document_hash(), &trusted(), NOW, SKEW)
}

/// Asserts a 422-class rejection whose message contains `needle`.
fn assert_rejected(result: Result<TimestampInfo, VerifyError>, needle: &str) {
    match result {
        Err(e @ VerifyError::Invalid { .. }) => {
            let message = e.to_string();
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            assert!(message.starts_with("invalid timestamp_token: "), "{message}");
        }
        other => panic!("expected a rejection naming {needle:?}, got {other:?}"),
    }
}

#[test]
fn valid_rsa_token_is_accepted() {
    let info = verify(TOKEN_RSA).expect("valid token");
    assert_eq!(info.tsa, ROOT_NAME);
    assert_eq!(info.gen_time, GEN_TIME);
    assert_eq!(info.gen_time_unix, GEN_TIME_UNIX);
    assert_eq!(info.serial, "1001");
    assert_eq!(info.policy, "1.2.3.4.1");
    assert_eq!(info.signer_subject, "CN=Test TSA RSA,O=Evidence Ledger Test,C=CN");
    assert!(info.nonce.is_some());
}

#[test]
fn valid_ecdsa_token_chains_through_an_intermediate() {
    // P-256 TSA key under a P-384 intermediate (ecdsa-with-SHA384) under the
    // RSA root; the intermediate travels in the token.
    let info = verify(TOKEN_EC).expect("valid EC token");
    assert_eq!(info.tsa, ROOT_NAME);
    assert_eq!(info.serial, "1003");
    assert_eq!(info.signer_subject, "CN=Test TSA EC,O=Evidence Ledger Test,C=CN");
}

#[test]
fn fractional_gen_time_is_kept() {
    let info = verify(TOKEN_RSA_FRAC).expect("valid token with milliseconds");
    assert_eq!(info.gen_time, "2026-11-28T16:17:40.42Z");
    assert_eq!(info.gen_time_unix, GEN_TIME_UNIX);
}

#[test]
fn token_over_another_hash_is_rejected() {
    assert_rejected(verify(TOKEN_OTHER_HASH), "message imprint does not match the document hash");
    // And the right token against the wrong document.
    let other = Hash::digest(b"another document");
    assert_rejected(
        verify_timestamp_token(TOKEN_RSA, &other, &trusted(), NOW, SKEW),
        "message imprint does not match the document hash",
    );
}

#[test]
fn token_from_untrusted_tsa_is_rejected() {
    assert_rejected(verify(TOKEN_UNTRUSTED), "not issued by a trusted TSA");
    assert_rejected(
        verify_timestamp_token(TOKEN_RSA, &document_hash(), &[], NOW, SKEW),
        "not issued by a trusted TSA",
    );
    // Control: the same token passes once its root is trusted.
    let other = TrustedTsa::from_pem("other", OTHER_ROOT_PEM).expect("root parses");
    let info = verify_timestamp_token(TOKEN_UNTRUSTED, &document_hash(), &[other], NOW, SKEW)
        .expect("trusted now");
    assert_eq!(info.tsa, "other");
}

#[test]
fn signer_without_timestamping_eku_is_rejected() {
    assert_rejected(
        verify(TOKEN_NOEKU),
        "signer certificate lacks the critical timeStamping extended key usage",
    );
}

#[test]
fn token_without_ess_signing_certificate_is_rejected() {
    // Same TSTInfo, signed by the real TSA key with `openssl cms`, which adds
    // no ESS attribute: what OpenSSL's own `ts -verify` refuses too.
    assert_rejected(verify(TOKEN_RESIGNED), "ESS signing-certificate attribute");
}

#[test]
fn corrupted_signature_is_rejected() {
    for token in [TOKEN_RSA, TOKEN_EC] {
        let signature = signer_signature(token);
        assert!(token.ends_with(&signature), "signature is the token's tail");
        let mut bad = token.to_vec();
        let at = bad.len() - signature.len() / 2;
        bad[at] ^= 0x01;
        assert_rejected(verify(&bad), "signature does not verify");
    }
}

#[test]
fn future_gen_time_is_rejected() {
    let a_year_before = GEN_TIME_UNIX - 365 * 86_400;
    assert_rejected(
        verify_timestamp_token(TOKEN_RSA, &document_hash(), &trusted(), a_year_before, SKEW),
        &format!("genTime {GEN_TIME} is in the future"),
    );
    // Within the skew is fine.
    verify_timestamp_token(TOKEN_RSA, &document_hash(), &trusted(), GEN_TIME_UNIX - SKEW, SKEW)
        .expect("within skew");
}

#[test]
fn garbage_is_rejected() {
    for garbage in [&b""[..], b"not a token", &[0x30, 0x82, 0xff, 0xff], &[0u8; 64]] {
        assert_rejected(verify(garbage), "not a DER TimeStampToken");
    }
    // A certificate is DER but not a token.
    let root_der = &trusted()[0].root_der;
    assert_rejected(verify(root_der), "not a DER TimeStampToken");
    assert_rejected(verify(&vec![0x30; MAX_TOKEN_SIZE + 1]), "more than");
}

#[test]
fn root_pem_must_be_one_certificate() {
    assert!(TrustedTsa::from_pem("x", "").is_err());
    assert!(TrustedTsa::from_pem(
        "x",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    .is_err());
    let key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert!(TrustedTsa::from_pem("x", key).is_err());
}

#[test]
fn granted_response_yields_the_token() {
    let token = parse_timestamp_response(RESP_GRANTED).expect("granted");
    let info = verify(&token).expect("token verifies");
    assert_eq!(info.tsa, ROOT_NAME);
}

#[test]
fn rejected_response_names_the_reason() {
    let err = parse_timestamp_response(RESP_REJECTED).expect_err("rejection");
    let message = err.to_string();
    assert!(message.contains("the TSA refused"), "{message}");
    assert!(message.contains("not supported"), "{message}");
}

/// Our TimeStampReq, answered by `openssl ts -reply` acting as the TSA.
#[test]
fn openssl_answers_our_request() {
    if Command::new("openssl").arg("version").output().is_err() {
        println!("note: openssl not found; skipping the request round trip");
        return;
    }
    let dir = scratch_dir("request");
    for f in ["tsa.cnf", "tsa-rsa.pem", "tsa-rsa.key"] {
        std::fs::copy(fixture(f), dir.join(f)).expect("copy fixture");
    }
    std::fs::write(dir.join("serial"), "2000\n").expect("serial");
    let nonce = 0xdead_beef_0123_4567;
    std::fs::write(dir.join("req.der"), timestamp_request_der(&document_hash(), nonce))
        .expect("request");
    let out = Command::new("openssl")
        .current_dir(&dir)
        .args(["ts", "-reply", "-config", "tsa.cnf", "-section", "tsa_rsa"])
        .args(["-queryfile", "req.der", "-out", "resp.der"])
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let response = std::fs::read(dir.join("resp.der")).expect("response");
    let token = parse_timestamp_response(&response).expect("granted");
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("fits");
    let info = verify_timestamp_token(&token, &document_hash(), &trusted(), now, SKEW)
        .expect("fresh token verifies");
    assert_eq!(info.nonce.as_deref(), Some("deadbeef01234567"));
    assert_eq!(info.serial, "2001"); // openssl reads `serial` as hex and increments it
                                     // OpenSSL agrees the token answers our request (imprint and nonce).
    let verified = Command::new("openssl")
        .current_dir(&dir)
        .args(["ts", "-verify", "-queryfile", "req.der", "-in", "resp.der"])
        .arg("-CAfile")
        .arg(fixture("root-ca.pem"))
        .output()
        .expect("openssl runs");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Flipped bytes never panic, and whatever still verifies attests exactly
    /// what the original did (every field is under the signature).
    #[test]
    fn mutated_tokens_never_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let token = [TOKEN_RSA, TOKEN_EC, TOKEN_RSA_FRAC][which];
        let original = verify(token).expect("fixture verifies");
        let mut bad = token.to_vec();
        for (index, mask) in flips {
            let at = index.index(bad.len());
            bad[at] ^= mask;
        }
        if let Ok(info) = verify(&bad) {
            prop_assert_eq!(info, original);
        }
    }

    #[test]
    fn truncated_tokens_are_rejected(cut in 1usize..1600) {
        let cut = cut.min(TOKEN_RSA.len() - 1);
        prop_assert!(verify(&TOKEN_RSA[..cut]).is_err());
    }
}

fn signer_signature(token: &[u8]) -> Vec<u8> {
    let info = cms::content_info::ContentInfo::from_der(token).expect("content info");
    let signed: cms::signed_data::SignedData = info.content.decode_as().expect("signed data");
    let signer = signed.signer_infos.0.get(0).expect("one signer");
    assert!(signer.unsigned_attrs.is_none());
    let der = signer.signature.to_der().expect("encodes");
    assert!(!der.is_empty());
    signer.signature.as_bytes().to_vec()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tsa").join(name)
}

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evidence-tsa-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
