//! Unit tests of trust policies.
#![allow(clippy::unwrap_used)]
use super::*;
use crate::cosignature::CosignatureSigner;
use crate::note::NoteSigner;
use ed25519_dalek::SigningKey;

fn log(seed: u8) -> String {
    NoteSigner::new("log.example/x", SigningKey::from_bytes(&[seed; 32])).unwrap().vkey()
}

fn witness(name: &str, seed: u8) -> String {
    CosignatureSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap().vkey()
}

#[test]
fn parses_and_round_trips() {
    let text = format!(
        "# court policy\n\nlog {} # current key\nlog {}\nwitness {}\nwitness {}\nquorum 1\nissuer idp-gov {}\n",
        log(1),
        log(2),
        witness("a.example/w", 3),
        witness("b.example/w", 4),
        B64.encode(SigningKey::from_bytes(&[5; 32]).verifying_key().as_bytes()),
    );
    let p = TrustPolicy::parse(&text).unwrap();
    assert_eq!((p.logs.len(), p.witnesses.len(), p.quorum, p.issuers.len()), (2, 2, Some(1), 1));
    assert_eq!(TrustPolicy::parse(&p.to_text()).unwrap(), p);
    assert_eq!(p.required_witnesses(), 1);
}

#[test]
fn comments_after_any_white_space_and_a_bom() {
    let text = format!("\u{feff}log {}\t# the log\nquorum 0\u{a0}# none\n", log(1));
    let p = TrustPolicy::parse(&text).unwrap();
    assert_eq!((p.logs.len(), p.quorum), (1, Some(0)));
}

#[test]
fn names_cannot_smuggle_lines() {
    let mut p = TrustPolicy::default();
    let evil = format!("national-tsa\n{PEM_BEGIN}\nlog {} #\r#", log(9));
    assert!(p.add_tsa(&evil, "").unwrap_err().contains("[A-Za-z0-9._:-]"));
    assert!(p.add_issuer("a b", "AAAA").is_err());
}

#[test]
fn one_key_under_two_names_is_one_witness() {
    let text = format!(
        "witness {}\nwitness {}\n",
        witness("a.example/w", 3),
        witness("alias.example/w", 3)
    );
    let p = TrustPolicy::parse(&text).unwrap();
    assert_eq!(p.distinct_witness_keys().len(), 1);
    assert_eq!(p.required_witnesses(), 1);
    let err = TrustPolicy::parse(&format!("{text}quorum 2\n")).unwrap_err();
    assert!(err.to_string().contains("1 distinct keys"), "{err}");
}

#[test]
fn ca_lines_read_like_tsa_lines() {
    let pem = include_str!("../../tests/data/tsa/root-ca.pem");
    let text = format!("log {}\nca court-ca\n{pem}tsa t\n{pem}", log(1));
    let p = TrustPolicy::parse(&text).unwrap();
    assert_eq!((p.cas.len(), p.tsas.len()), (1, 1));
    assert_eq!(p.cas[0].name, "court-ca");
    assert_eq!(p.cas[0].root_der, p.tsas[0].root.root_der);
    assert_eq!(TrustPolicy::parse(&p.to_text()).unwrap(), p);
    // A policy without `ca` lines reads as before.
    let old = TrustPolicy::parse(&format!("log {}\ntsa t\n{pem}", log(1))).unwrap();
    assert!(old.cas.is_empty());
    for (text, needle) in [
        ("ca c\nnot pem\n".to_owned(), "a ca line must be followed by"),
        (format!("ca c\n{pem}ca c\n{pem}"), "listed twice"),
        (format!("ca\n{pem}"), "wrong arguments"),
        (format!("ca c\n{PEM_BEGIN}\nAAAA\n{PEM_END}\n"), "not a certificate"),
    ] {
        let err = TrustPolicy::parse(&text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn refusals_name_the_line() {
    let w = witness("a.example/w", 3);
    for (text, needle) in [
        (format!("log {w}\n"), "line 1"),
        (format!("witness {}\n", log(1)), "cosignature/v1"),
        (format!("\nwitness {w}\nwitness {w}\n"), "line 3"),
        ("frobnicate x\n".to_owned(), "unknown keyword"),
        ("quorum two\n".to_owned(), "not a number"),
        ("quorum 1\n".to_owned(), "0 distinct keys"),
        ("quorum 0\nquorum 0\n".to_owned(), "repeated"),
        ("log\n".to_owned(), "wrong arguments"),
        ("quorum +1\n".to_owned(), "not a number"),
        ("issuer a\rlog x AAAA\n".to_owned(), "wrong arguments"),
        ("issuer bad\u{1b}name AAAA\n".to_owned(), "[A-Za-z0-9._:-]"),
        ("issuer x AAAA\n".to_owned(), "not a base64 Ed25519 key"),
        ("tsa t\nnot pem\n".to_owned(), "BEGIN CERTIFICATE"),
        (format!("tsa t\n{PEM_BEGIN}\nAAAA\n"), "no -----END"),
        (format!("tsa t\n{PEM_BEGIN}\nAAAA\n{PEM_END}\n"), "not a certificate"),
    ] {
        let err = TrustPolicy::parse(&text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    let big = "#".repeat(MAX_POLICY_BYTES + 1);
    assert!(matches!(TrustPolicy::parse(&big), Err(VerifyError::TooLarge { .. })));
}

#[test]
fn trust_given_as_options_takes_its_suite_from_the_keys_or_the_option() {
    let sm = crate::sm2note::Sm2Signer::from_secret(
        "log.example/sm",
        crate::sm2note::Sm2KeyType::Note,
        &[9; 32],
    )
    .unwrap();
    // An SM2 log key and no policy file: sm2-sm3.
    let mut p = TrustPolicy::default();
    p.add_log(&sm.vkey()).unwrap();
    p.settle_suite(None, false).unwrap();
    assert_eq!(p.suite, Suite::Sm2Sm3);
    // Named: the same; named otherwise: the SM2 key is refused.
    let mut p = TrustPolicy::default();
    p.add_log(&sm.vkey()).unwrap();
    p.settle_suite(Some(Suite::Sm2Sm3), false).unwrap();
    let mut p = TrustPolicy::default();
    p.add_log(&sm.vkey()).unwrap();
    assert!(p.settle_suite(Some(Suite::Ed25519Sha256), false).is_err());
    // A policy file that names sm2-sm3 and an option that names the other.
    let mut p = TrustPolicy::parse("suite sm2-sm3\n").unwrap();
    assert!(p.settle_suite(Some(Suite::Ed25519Sha256), true).is_err());
    // A policy file without a suite line keeps ed25519-sha256: an SM2 key
    // added as an option beside it is refused, not silently switched.
    let mut p = TrustPolicy::parse("").unwrap();
    p.add_log(&sm.vkey()).unwrap();
    assert!(p.settle_suite(None, true).is_err());
}
