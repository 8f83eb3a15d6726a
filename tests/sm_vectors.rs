//! Known-answer vectors of the `sm2-sm3` suite (docs/formats.md, "The
//! sm2-sm3 suite"), computed by our code and cross-checked by two
//! independent implementations: OpenSSL 3 (`openssl dgst -sm3`,
//! `openssl pkeyutl -verify` of SM2 with the distinguishing identifier)
//! and the `gmssl` Python package (SM3, the RFC 9162 tree and proofs
//! written afresh in Python, SM2 verification). scripts/env.sh installs
//! both (gmssl in a venv under /var/cache/evidence-ledger).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use verifier::hash::{
    consistency_path_with, inclusion_path_with, root_from_leaf_hashes_with, Sm3Tree, TreeHash,
};
use verifier::sm2note::{Sm2KeyType, Sm2Signer};
use verifier::Hash;

const GMSSL_PYTHON: &str = "/var/cache/evidence-ledger/gmssl-venv/bin/python";
/// The private key of GB/T 32918.2's worked example (any valid scalar does).
const SECRET: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn leaves() -> Vec<Vec<u8>> {
    (0..7).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn hexes(v: &[Hash]) -> String {
    v.iter().map(|h| h.to_hex()).collect::<Vec<_>>().join(",")
}

fn openssl_sm3(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out =
        Command::new("openssl").arg("dgst").arg("-sm3").arg("-r").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

/// RFC 9162 MTH with every hash computed by `openssl dgst -sm3`.
fn openssl_root(dir: &Path, leaves: &[Hash]) -> Hash {
    match leaves.len() {
        1 => leaves[0],
        n => {
            let k = verifier::hash::largest_power_of_two_below(n as u64) as usize;
            let (l, r) = (openssl_root(dir, &leaves[..k]), openssl_root(dir, &leaves[k..]));
            let node = [&[1u8][..], &l.0, &r.0].concat();
            Hash::from_hex(&openssl_sm3(dir, "node", &node)).unwrap()
        }
    }
}

fn der_int(b: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = b.iter().copied().skip_while(|&x| x == 0).collect();
    if v.first().is_none_or(|&x| x & 0x80 != 0) {
        v.insert(0, 0);
    }
    [&[0x02, v.len() as u8][..], &v].concat()
}

/// `openssl pkeyutl -verify` of `r || s` over `msg` with the SM2 key `pk`.
fn openssl_sm2_verify(dir: &Path, pk: &[u8; 65], msg: &[u8], rs: &[u8]) -> bool {
    // SubjectPublicKeyInfo: id-ecPublicKey, curve SM2 (1.2.156.10197.1.301).
    let spki_head = hex::decode("3059301306072a8648ce3d020106082a811ccf5501822d034200").unwrap();
    std::fs::write(dir.join("pub.der"), [&spki_head[..], pk].concat()).unwrap();
    let body = [der_int(&rs[..32]), der_int(&rs[32..])].concat();
    std::fs::write(dir.join("sig.der"), [&[0x30, body.len() as u8][..], &body].concat()).unwrap();
    std::fs::write(dir.join("msg"), msg).unwrap();
    let out = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey"])
        .arg(dir.join("pub.der"))
        .args(["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in"])
        .arg(dir.join("msg"))
        .arg("-sigfile")
        .arg(dir.join("sig.der"))
        .output()
        .unwrap();
    out.status.success()
}

const GMSSL_SCRIPT: &str = r#"
import sys
from gmssl import sm3, func, sm2
def H(b): return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(b)))
def leaf(b): return H(b"\x00" + b)
def node(l, r): return H(b"\x01" + l + r)
def k_of(n):
    k = 1
    while k * 2 < n: k *= 2
    return k
def mth(d):
    if len(d) == 1: return d[0]
    k = k_of(len(d)); return node(mth(d[:k]), mth(d[k:]))
def path(m, d):
    if len(d) <= 1: return []
    k = k_of(len(d))
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]
def subproof(m, d, b):
    if m == len(d): return [] if b else [mth(d)]
    k = k_of(len(d))
    return subproof(m, d[:k], b) + [mth(d[k:])] if m <= k else subproof(m - k, d[k:], False) + [mth(d[:k])]
ls = [leaf(("leaf %d" % i).encode()) for i in range(7)]
print(ls[0].hex())
print(node(ls[0], ls[1]).hex())
print(mth(ls).hex())
print(",".join(h.hex() for h in path(3, ls)))
print(",".join(h.hex() for h in subproof(3, ls, True)))
pk, note_msg, note_sig, cos_msg, cos_sig = sys.argv[1:6]
c = sm2.CryptSM2(private_key="", public_key=pk)
print(c.verify_with_sm3(note_sig, bytes.fromhex(note_msg)))
print(c.verify_with_sm3(cos_sig, bytes.fromhex(cos_msg)))
bad = note_sig[:-1] + ("0" if note_sig[-1] != "0" else "1")
print(c.verify_with_sm3(bad, bytes.fromhex(note_msg)))
"#;

/// The values docs/formats.md lists; each must appear there verbatim.
struct Vectors {
    leaf0: Hash,
    node01: Hash,
    root7: Hash,
    inclusion_3_7: Vec<Hash>,
    consistency_3_7: Vec<Hash>,
    public_key: [u8; 65],
    note_text: String,
    note_line: String,
    note_vkey: String,
    cosig_msg: Vec<u8>,
    cosig_line: String,
    cosig_vkey: String,
}

fn vectors() -> Vectors {
    let hs: Vec<Hash> = leaves().iter().map(|l| Sm3Tree::leaf_hash(l)).collect();
    let root7 = root_from_leaf_hashes_with::<Sm3Tree>(&hs);
    let secret: [u8; 32] = hex::decode(SECRET).unwrap().try_into().unwrap();
    let log = Sm2Signer::from_secret("log.example/sm", Sm2KeyType::Note, &secret).unwrap();
    let w = Sm2Signer::from_secret("witness.example/sm", Sm2KeyType::Cosignature, &secret).unwrap();
    let note_text = format!("log.example/sm\n7\n{}\n", root7.to_base64());
    let cosig_msg = verifier::cosignature::cosignature_message(&note_text, 1_700_000_000);
    Vectors {
        leaf0: hs[0],
        node01: Sm3Tree::node_hash(&hs[0], &hs[1]),
        root7,
        inclusion_3_7: inclusion_path_with::<Sm3Tree>(3, &hs),
        consistency_3_7: consistency_path_with::<Sm3Tree>(3, &hs),
        public_key: log.verifier().public_key,
        note_line: log.sign(&note_text).unwrap().to_line(),
        note_vkey: log.vkey(),
        cosig_line: w.cosign(&note_text, 1_700_000_000).unwrap().to_line(),
        cosig_vkey: w.vkey(),
        note_text,
        cosig_msg,
    }
}

fn line_sig(line: &str) -> Vec<u8> {
    B64.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap()
}

#[test]
fn sm3_tree_and_sm2_vectors_are_documented_and_match_openssl_and_gmssl() {
    let v = vectors();
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/formats.md")).unwrap();
    for (what, value) in [
        ("leaf hash", v.leaf0.to_hex()),
        ("node hash", v.node01.to_hex()),
        ("7-leaf root", v.root7.to_hex()),
        ("inclusion proof", hexes(&v.inclusion_3_7).replace(',', "\n")),
        ("consistency proof", hexes(&v.consistency_3_7).replace(',', "\n")),
        ("public key", hex::encode(v.public_key)),
        ("note signature line", v.note_line.trim_end().to_string()),
        ("note vkey", v.note_vkey.clone()),
        ("cosignature line", v.cosig_line.trim_end().to_string()),
        ("cosignature vkey", v.cosig_vkey.clone()),
    ] {
        assert!(docs.contains(&value), "docs/formats.md lacks the {what}:\n{value}");
    }

    // OpenSSL 3: SM3 of the prefixed bytes, the whole tree, and SM2.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let leaf0 = [&[0u8][..], &leaves()[0]].concat();
    assert_eq!(openssl_sm3(d, "leaf", &leaf0), v.leaf0.to_hex());
    let hs: Vec<Hash> = leaves()
        .iter()
        .map(|l| Hash::from_hex(&openssl_sm3(d, "leaf", &[&[0u8][..], l].concat())).unwrap())
        .collect();
    assert_eq!(openssl_root(d, &hs[..2]), v.node01);
    assert_eq!(openssl_root(d, &hs), v.root7);
    let note_sig = line_sig(&v.note_line);
    assert!(openssl_sm2_verify(d, &v.public_key, v.note_text.as_bytes(), &note_sig[4..]));
    let cos_sig = line_sig(&v.cosig_line);
    assert!(openssl_sm2_verify(d, &v.public_key, &v.cosig_msg, &cos_sig[12..]));
    let mut bad = note_sig[4..].to_vec();
    bad[63] ^= 1;
    assert!(!openssl_sm2_verify(d, &v.public_key, v.note_text.as_bytes(), &bad));

    // gmssl: the tree and proofs from RFC 9162's definitions, and SM2.
    assert!(
        Path::new(GMSSL_PYTHON).exists(),
        "{GMSSL_PYTHON} missing: run scripts/env.sh (it makes the gmssl venv)"
    );
    let out = Command::new(GMSSL_PYTHON)
        .args(["-c", GMSSL_SCRIPT])
        .arg(hex::encode(&v.public_key[1..]))
        .arg(hex::encode(v.note_text.as_bytes()))
        .arg(hex::encode(&note_sig[4..]))
        .arg(hex::encode(&v.cosig_msg))
        .arg(hex::encode(&cos_sig[12..]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(
        got,
        [
            v.leaf0.to_hex().as_str(),
            &v.node01.to_hex(),
            &v.root7.to_hex(),
            &hexes(&v.inclusion_3_7),
            &hexes(&v.consistency_3_7),
            "True",
            "True",
            "False"
        ]
    );
}

/// Prints the vectors for docs/formats.md (`--ignored --nocapture`).
#[test]
#[ignore]
fn print_vectors() {
    let v = vectors();
    println!("leaf {}\nnode {}\nroot {}", v.leaf0.to_hex(), v.node01.to_hex(), v.root7.to_hex());
    println!("inclusion\n{}", hexes(&v.inclusion_3_7).replace(',', "\n"));
    println!("consistency\n{}", hexes(&v.consistency_3_7).replace(',', "\n"));
    println!("pk {}", hex::encode(v.public_key));
    println!("note text {:?}\n{}{}", v.note_text, v.note_line, v.note_vkey);
    println!("{}{}", v.cosig_line, v.cosig_vkey);
}

/// `openssl dgst -sm3 -mac HMAC -macopt hexkey:KEY` of `bytes` (HMAC-SM3).
fn openssl_hmac_sm3(dir: &Path, key: &[u8], bytes: &[u8]) -> [u8; 32] {
    let path = dir.join("hmac-in");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sm3", "-mac", "HMAC", "-macopt"])
        .arg(format!("hexkey:{}", hex::encode(key)))
        .arg("-r")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let h = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string();
    hex::decode(h).unwrap().try_into().unwrap()
}

/// The `sm3-jcs-sd/v3` vector of docs/evidence-v2.md ("Record v3 on an
/// sm2-sm3 log"), recomputed with OpenSSL's HMAC-SM3 and SM3 alone (our
/// code gives only the canonical JSON): every field salt, every digest,
/// the commitment and the leaf hash must be the documented ones.
#[test]
fn sm3_record_commitment_vector_matches_openssl() {
    use serde_json::{json, Map, Value};
    use verifier::jcs::to_canonical;
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/evidence-v2.md"))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let salt = [7u8; 32];
    let event = json!({"actor": {"commitment": "bb".repeat(32), "display": "王*", "id": "u-1"},
        "attestations": [], "document_hash": "aa".repeat(32), "document_id": "contract-1",
        "event_id": "ev-1", "kind": "registered"});
    let value = |name: &str| match name {
        "chain" => json!({"prev": null, "seq": 0}),
        "tenant" => json!("acme"),
        "identity_commitment" => Value::Null,
        n => event.get(n.trim_start_matches("event.")).cloned().unwrap_or(Value::Null),
    };
    let mut digests = Map::new();
    for name in verifier::v3::NAMES {
        let input = [&b"evidence-ledger/disclosure-salt/v3\0"[..], name.as_bytes()].concat();
        let field_salt = B64.encode(openssl_hmac_sm3(dir.path(), &salt, &input));
        let disclosure = to_canonical(&json!([field_salt, name, value(name)]));
        let d = [&b"evidence-ledger/disclosure/v3\0"[..], &disclosure].concat();
        let digest = B64.encode(hex::decode(openssl_sm3(dir.path(), "d", &d)).unwrap());
        let line = format!("{name}: salt {field_salt} digest {digest}");
        assert!(doc.contains(&line), "docs/evidence-v2.md lacks OpenSSL's line:\n{line}");
        digests.insert(name.to_owned(), json!(digest));
    }
    let body = to_canonical(&json!({"digests": digests, "format": "evidence-record/v3"}));
    let c = openssl_sm3(dir.path(), "c", &[&b"evidence-ledger/record/v3\0"[..], &body].concat());
    let commitment = B64.encode(hex::decode(c).unwrap());
    assert!(doc.contains(&format!("sm3 commitment = {commitment}")), "commitment {commitment}");
    let leaf = to_canonical(&json!({"commitment": commitment, "commitment_alg": "sm3-jcs-sd/v3",
        "format": "evidence-leaf/v2", "ledger_time": "2026-01-01T00:00:00.000000Z"}));
    let lh = B64
        .encode(hex::decode(openssl_sm3(dir.path(), "l", &[&[0u8][..], &leaf].concat())).unwrap());
    assert!(doc.contains(&format!("sm3 leaf hash = {lh}")), "leaf hash {lh}");
}
