//! Unit tests of record v3 (both hashes).
use super::*;

fn event() -> Value {
    json!({"event_id": "ev-1", "document_id": "c-42", "kind": "signed",
        "document_hash": "ab".repeat(32),
        "actor": {"id": "u-9", "display": "王*", "commitment": "cd".repeat(32)},
        "attestations": []})
}

#[test]
fn sealing_and_the_full_record_agree() {
    let chain = Chain { prev: Some(Hash([9; 32])), seq: 3 };
    let s = Sealing::new(&event(), "t-1", &[7; 32], None);
    let rec = record_value(&event(), "t-1", &[7; 32], None, &chain);
    assert_eq!(s.commitment(&chain), record_commitment(&rec).expect("commitment"));
    let other = Chain { prev: Some(Hash([9; 32])), seq: 4 };
    assert_ne!(s.commitment(&other), s.commitment(&chain));
}

#[test]
fn the_spliced_digests_are_the_generic_ones() {
    let mut ev = event();
    ev["timestamp_token"] = json!("AAAA");
    ev["attestations"] = json!([{"issuer": "idp", "claim": {"名": [1, "x"]}, "signature": "s"}]);
    for ic in [None, Some(Hash([4; 32]))] {
        for chain in [Chain { prev: None, seq: 0 }, Chain { prev: Some(Hash([2; 32])), seq: 9 }] {
            let s = Sealing::new(&ev, "租户", &[3; 32], ic.as_ref());
            let rec = record_value(&ev, "租户", &[3; 32], ic.as_ref(), &chain);
            assert_eq!(s.commitment(&chain), record_commitment(&rec).expect("commitment"));
        }
    }
    let d = disclosure(&[3; 32], "tenant", json!("租户"));
    for ic in [None, Some(Hash([4; 32]))] {
        let v = record_without_chain(&ev, "租户", &[3; 32], ic.as_ref());
        let spliced =
            record_without_chain_canonical(&jcs::to_canonical(&ev), "租户", &[3; 32], ic.as_ref());
        assert_eq!(jcs::to_canonical(&v), spliced);
    }
    let fast = digest_of_canonical(
        SdHash::Sha256,
        &field_salt(&[3; 32], "tenant"),
        "tenant",
        "\"租户\"".as_bytes(),
    );
    assert_eq!(fast, disclosure_digest(&d));
}

#[test]
fn a_partial_view_opens_its_leaf_and_forgeries_do_not() {
    let chain = Chain { prev: None, seq: 0 };
    let rec = record_value(&event(), "t-1", &[7; 32], Some(&Hash([1; 32])), &chain);
    let c = record_commitment(&rec).expect("commitment");
    let view = partial_view(&rec, &LOOKUP_DISCLOSED).expect("view");
    let shown = check_partial(&c, &view["disclosures"], &view["digests"]).expect("opens");
    assert_eq!(shown["event.document_hash"], Value::from("ab".repeat(32)));
    assert_eq!(shown.len(), 2);
    // A swapped document hash, a wrong salt, a digest from another record.
    let mut swapped = view.clone();
    swapped["disclosures"][0][2] = Value::from("ee".repeat(32));
    let mut salted = view.clone();
    salted["disclosures"][0][0] = Value::from(B64.encode([0u8; 32]));
    let other = record_value(&event(), "t-2", &[7; 32], None, &chain);
    let other_view = partial_view(&other, &LOOKUP_DISCLOSED).expect("view");
    let mut spliced = view.clone();
    spliced["digests"]["tenant"] = other_view["digests"]["tenant"].clone();
    let mut missing = view.clone();
    missing["digests"].as_object_mut().expect("map").remove("tenant");
    for (what, v) in
        [("swapped", swapped), ("salt", salted), ("spliced", spliced), ("missing", missing)]
    {
        assert!(check_partial(&c, &v["disclosures"], &v["digests"]).is_err(), "{what}");
    }
}

#[test]
fn chain_is_strict() {
    for bad in [
        json!({"prev": null, "seq": 1}),
        json!({"prev": Hash([1; 32]).to_base64(), "seq": 0}),
        json!({"prev": null}),
        json!({"prev": null, "seq": 0, "x": 1}),
        json!({"prev": "AAAA", "seq": 2}),
    ] {
        assert!(Chain::parse(&bad).is_err(), "{bad}");
    }
    let ok = Chain { prev: Some(Hash([1; 32])), seq: 2 };
    assert_eq!(Chain::parse(&ok.value()).expect("parses"), ok);
}

#[test]
fn sm3_sealing_and_the_full_record_agree_and_differ_from_sha256() {
    let chain = Chain { prev: Some(Hash([9; 32])), seq: 3 };
    for ic in [None, Some(Hash([4; 32]))] {
        let s = Sealing::new_in(SdHash::Sm3, &event(), "t-1", &[7; 32], ic.as_ref());
        assert_eq!(s.hash(), SdHash::Sm3);
        let rec = record_value(&event(), "t-1", &[7; 32], ic.as_ref(), &chain);
        let sm3 = record_commitment_in(SdHash::Sm3, &rec).expect("commitment");
        assert_eq!(s.commitment(&chain), sm3);
        assert_ne!(sm3, record_commitment(&rec).expect("commitment"));
    }
    assert_ne!(field_salt_in(SdHash::Sm3, &[7; 32], "tenant"), field_salt(&[7; 32], "tenant"));
}

#[test]
fn an_sm3_partial_view_opens_only_under_sm3() {
    let chain = Chain { prev: None, seq: 0 };
    let rec = record_value(&event(), "t-1", &[7; 32], None, &chain);
    let c = record_commitment_in(SdHash::Sm3, &rec).expect("commitment");
    let view = partial_view_in(SdHash::Sm3, &rec, &LOOKUP_DISCLOSED).expect("view");
    let shown =
        check_partial_in(SdHash::Sm3, &c, &view["disclosures"], &view["digests"]).expect("opens");
    assert_eq!(shown["event.kind"], Value::from("signed"));
    assert!(check_partial(&c, &view["disclosures"], &view["digests"]).is_err());
    let sha = partial_view(&rec, &LOOKUP_DISCLOSED).expect("view");
    assert!(check_partial_in(SdHash::Sm3, &c, &sha["disclosures"], &sha["digests"]).is_err());
    let mut tampered = view.clone();
    tampered["disclosures"][1][2] = Value::from("revoked");
    assert!(
        check_partial_in(SdHash::Sm3, &c, &tampered["disclosures"], &tampered["digests"]).is_err()
    );
    assert_eq!(SdHash::for_suite(crate::suite::Suite::Sm2Sm3).commitment_alg(), "sm3-jcs-sd/v3");
}
