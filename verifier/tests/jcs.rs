//! RFC 8785 (JCS) known answers and properties of the strict parser.
//!
//! Known-answer vectors are from RFC 8785, "JSON Canonicalization Scheme
//! (JCS)", https://www.rfc-editor.org/rfc/rfc8785 : §3.2.2 (sample
//! document), §3.2.3 (property sorting), §3.2.4 (UTF-8 generation) and
//! Appendix B (number serialization samples, IEEE 754 bits -> text).

use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};
use verifier::jcs::{parse, to_canonical, Limits, MAX_SAFE_INTEGER};

fn canonical_str(v: &Value) -> String {
    String::from_utf8(to_canonical(v)).expect("canonical output is UTF-8")
}

/// RFC 8785 §3.2.2. Our parser refuses floats, so serde_json reads the input.
#[test]
fn rfc8785_sample_document() {
    let mut v: Value = serde_json::from_str(
        r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#,
    )
    .expect("valid JSON");
    // serde_json's default float parser may be off by one ulp; pin the double
    // nearest 333333333.33333329 (Appendix B row 41b3de4355555555).
    v["numbers"][0] =
        Value::Number(Number::from_f64(f64::from_bits(0x41b3de4355555555)).expect("finite"));
    assert_eq!(
        canonical_str(&v),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
}

/// RFC 8785 §3.2.3: sorting by UTF-16 code units; the emoji (a surrogate
/// pair) must sort before U+FB33, the opposite of UTF-8 byte order.
#[test]
fn rfc8785_sorting() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let v = parse(input.as_bytes(), &Limits::default()).expect("strict parse");
    assert_eq!(
        canonical_str(&v),
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
         \"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\
         \"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
}

/// RFC 8785 §3.2.4: UTF-8 output, strings not normalized.
#[test]
fn rfc8785_utf8_generation() {
    let v =
        parse(br#"{"Unnormalized Unicode":"A\u030a"}"#, &Limits::default()).expect("strict parse");
    let want: &[u8] = &[
        0x7b, 0x22, 0x55, 0x6e, 0x6e, 0x6f, 0x72, 0x6d, 0x61, 0x6c, 0x69, 0x7a, 0x65, 0x64, 0x20,
        0x55, 0x6e, 0x69, 0x63, 0x6f, 0x64, 0x65, 0x22, 0x3a, 0x22, 0x41, 0xcc, 0x8a, 0x22, 0x7d,
    ];
    assert_eq!(to_canonical(&v), want);
}

/// RFC 8785 Appendix B, finite samples (NaN and Infinity cannot be held
/// by serde_json).
#[test]
fn rfc8785_numbers() {
    let table = [
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ];
    for (bits, want) in table {
        let f = f64::from_bits(u64::from_str_radix(bits, 16).expect("hex"));
        let v = Value::Number(Number::from_f64(f).expect("finite"));
        assert_eq!(canonical_str(&v), want, "{bits}");
    }
}

/// Integers outside ±2^53 held by serde_json print as ECMAScript would.
#[test]
fn large_integers_print_as_doubles() {
    assert_eq!(canonical_str(&json!(u64::MAX)), "18446744073709552000");
    assert_eq!(canonical_str(&json!(i64::MIN)), "-9223372036854776000");
    assert_eq!(canonical_str(&json!(MAX_SAFE_INTEGER)), "9007199254740991");
}

/// A generated JSON value inside our input domain.
fn arb_value() -> impl Strategy<Value = Value> {
    let max = MAX_SAFE_INTEGER as i64;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-max..=max).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z\u{e000}-\u{e010}\u{1f600}-\u{1f610}]{0,3}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                ("[a-z\u{e000}-\u{e010}\u{1f600}-\u{1f610}]{0,3}|\\PC{0,4}", inner),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn parse_inverts_canonical(v in arb_value()) {
        let bytes = to_canonical(&v);
        prop_assert_eq!(parse(&bytes, &Limits::default()).expect("canonical output parses"), v);
    }

    #[test]
    fn canonical_is_idempotent(v in arb_value()) {
        let once = to_canonical(&v);
        let twice = to_canonical(&parse(&once, &Limits::default()).expect("parses"));
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn canonical_agrees_with_serde_json(v in arb_value()) {
        // serde_json reads our output as the same value: it is plain JSON.
        let back: Value = serde_json::from_slice(&to_canonical(&v)).expect("serde_json parses");
        prop_assert_eq!(back, v);
    }

    #[test]
    fn keys_come_out_in_utf16_order(map in prop::collection::btree_map("\\PC{0,4}|[a\u{e000}\u{ffff}\u{10000}\u{1f600}]{1,3}", arb_value(), 0..8)) {
        // Expected output built independently: members sorted by UTF-16 units.
        let mut members: Vec<_> = map.iter().collect();
        members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        let mut want = b"{".to_vec();
        for (i, (k, v)) in members.into_iter().enumerate() {
            if i > 0 {
                want.push(b',');
            }
            want.extend(to_canonical(&Value::String(k.clone())));
            want.push(b':');
            want.extend(to_canonical(v));
        }
        want.push(b'}');
        let object = Value::Object(map.into_iter().collect());
        prop_assert_eq!(to_canonical(&object), want);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse(&bytes, &Limits::default());
    }

    #[test]
    fn parse_never_panics_on_jsonish(s in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,48}") {
        // Accepted input must mean what serde_json says it means.
        if let Ok(v) = parse(s.as_bytes(), &Limits::default()) {
            let theirs: Value = serde_json::from_str(&s).expect("we accept only valid JSON");
            prop_assert_eq!(v, theirs);
        }
    }
}

proptest! {
    #[test]
    fn doubles_read_back_exactly(bits in any::<u64>()) {
        let f = f64::from_bits(bits);
        if let Some(n) = Number::from_f64(f) {
            let text = canonical_str(&Value::Number(n));
            prop_assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok((f + 0.0).to_bits()));
        }
    }
}
