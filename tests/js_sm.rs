//! The page's national suite (web/verifier/sm.js, over the vendored
//! sm-crypto) against known answers that OpenSSL 3 computes here and now:
//! SM3 digests (`openssl dgst -sm3`), the RFC 9162 tree with SM3 (every
//! leaf and node hash is OpenSSL's; the tree, audit paths and consistency
//! proofs are built from RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 as
//! written), and SM2 signatures (`openssl pkeyutl -sign -rawin -digest
//! sm3 -pkeyopt distid:ID`) as DER and as r || s. The vectors go to
//! tests/browser/sm.test.mjs under Node; the Rust verifier
//! (verifier::sm2sig) checks the same signatures, so three
//! implementations agree. GM/T 0033 timestamp tokens (SM2 over SM3, made
//! by verifier/tests/gm_pki) go through the page's tsa.js with the same
//! verdicts as the Rust verifier's.
//!
//! The same vectors also run in headless Chromium against the modules as
//! the real server serves them (tests/browser/sm-page.test.mjs).
//!
//! Needs `node`, `openssl`, `/usr/bin/chromium` and tests/browser's
//! playwright-core (scripts/env.sh installs them); fails, never skips,
//! without them.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../verifier/tests/gm_pki/mod.rs"]
mod gm_pki;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;
use der::asn1::UintRef;
use der::{Decode, Sequence};
use serde_json::{json, Value};
use verifier::sm2sig::{Sm2Key, DEFAULT_DISTID};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// SM3 by `openssl dgst -sm3`, memoised (a tree asks for a node twice).
struct OpensslSm3 {
    dir: PathBuf,
    seen: RefCell<HashMap<Vec<u8>, Vec<u8>>>,
}

impl OpensslSm3 {
    fn digest(&self, data: &[u8]) -> Vec<u8> {
        if let Some(d) = self.seen.borrow().get(data) {
            return d.clone();
        }
        std::fs::write(self.dir.join("in.bin"), data).unwrap();
        let d = openssl(&self.dir, &["dgst", "-sm3", "-binary", "in.bin"]);
        assert_eq!(d.len(), 32);
        self.seen.borrow_mut().insert(data.to_vec(), d.clone());
        d
    }

    fn leaf(&self, leaf: &[u8]) -> Vec<u8> {
        self.digest(&[&[0x00][..], leaf].concat())
    }

    fn node(&self, l: &[u8], r: &[u8]) -> Vec<u8> {
        self.digest(&[&[0x01][..], l, r].concat())
    }

    /// RFC 9162 §2.1.1 MTH over leaf hashes.
    fn mth(&self, d: &[Vec<u8>]) -> Vec<u8> {
        match d.len() {
            0 => self.digest(b""),
            1 => d[0].clone(),
            n => {
                let k = split(n);
                self.node(&self.mth(&d[..k]), &self.mth(&d[k..]))
            }
        }
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[n]).
    fn path(&self, m: usize, d: &[Vec<u8>]) -> Vec<Vec<u8>> {
        if d.len() <= 1 {
            return Vec::new();
        }
        let k = split(d.len());
        if m < k {
            let mut p = self.path(m, &d[..k]);
            p.push(self.mth(&d[k..]));
            p
        } else {
            let mut p = self.path(m - k, &d[k..]);
            p.push(self.mth(&d[..k]));
            p
        }
    }

    /// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
    fn subproof(&self, m: usize, d: &[Vec<u8>], b: bool) -> Vec<Vec<u8>> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![self.mth(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = self.subproof(m, &d[..k], b);
            p.push(self.mth(&d[k..]));
            p
        } else {
            let mut p = self.subproof(m - k, &d[k..], false);
            p.push(self.mth(&d[..k]));
            p
        }
    }
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

#[derive(Sequence)]
struct DerSignature<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// r || s, 32 bytes each, from OpenSSL's DER.
fn raw_signature(der: &[u8]) -> Vec<u8> {
    let sig = DerSignature::from_der(der).unwrap();
    let pad = |b: &[u8]| [vec![0u8; 32 - b.len()], b.to_vec()].concat();
    [pad(sig.r.as_bytes()), pad(sig.s.as_bytes())].concat()
}

fn sm2_vectors(dir: &Path) -> Value {
    openssl(dir, &["genpkey", "-algorithm", "SM2", "-out", "signer.key"]);
    openssl(dir, &["genpkey", "-algorithm", "SM2", "-out", "other.key"]);
    let point = |key: &str| {
        let spki = openssl(dir, &["pkey", "-in", key, "-pubout", "-outform", "DER"]);
        spki[spki.len() - 65..].to_vec()
    };
    let public = point("signer.key");
    let checkpoint =
        b"ledger.example.com/evidence\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let long: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut cases = Vec::new();
    for (message, distid) in [
        (&b""[..], DEFAULT_DISTID),
        (&checkpoint[..], DEFAULT_DISTID),
        (&long[..], DEFAULT_DISTID),
        (&checkpoint[..], "alice@example.com"),
    ] {
        std::fs::write(dir.join("msg.bin"), message).unwrap();
        let der = openssl(
            dir,
            &[
                "pkeyutl",
                "-sign",
                "-rawin",
                "-digest",
                "sm3",
                "-inkey",
                "signer.key",
                "-pkeyopt",
                &format!("distid:{distid}"),
                "-in",
                "msg.bin",
            ],
        );
        std::fs::write(dir.join("sig.der"), &der).unwrap();
        // OpenSSL verifies its own signature with the public key alone.
        std::fs::write(
            dir.join("pub.pem"),
            openssl(dir, &["pkey", "-in", "signer.key", "-pubout"]),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "pkeyutl",
                "-verify",
                "-rawin",
                "-digest",
                "sm3",
                "-pubin",
                "-inkey",
                "pub.pem",
                "-pkeyopt",
                &format!("distid:{distid}"),
                "-in",
                "msg.bin",
                "-sigfile",
                "sig.der",
            ],
        );
        let raw = raw_signature(&der);
        // The Rust verifier agrees, in both encodings, and only under the id.
        let key = Sm2Key::from_sec1(&public, distid).unwrap();
        assert!(key.verify(message, &der) && key.verify(message, &raw), "{distid}");
        let other_id = if distid == DEFAULT_DISTID { "alice@example.com" } else { DEFAULT_DISTID };
        assert!(!Sm2Key::from_sec1(&public, other_id).unwrap().verify(message, &der));
        cases.push(json!({
            "message": hex::encode(message),
            "distid": distid,
            "der": hex::encode(&der),
            "raw": hex::encode(&raw),
        }));
    }
    json!({"public": hex::encode(&public), "other": hex::encode(point("other.key")), "cases": cases})
}

fn tree_vectors(h: &OpensslSm3) -> Value {
    let leaves: Vec<Vec<u8>> =
        ["", "a", "王*", "leaf 3", "leaf 4", "leaf 5", "{\"format\":\"evidence-leaf/v2\"}"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
    let hashes: Vec<Vec<u8>> = leaves.iter().map(|l| h.leaf(l)).collect();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for n in 1..=hashes.len() {
        let d = &hashes[..n];
        for m in 0..n {
            let path: Vec<String> = h.path(m, d).iter().map(hex::encode).collect();
            inclusion
                .push(json!({"index": m, "size": n, "path": path, "root": hex::encode(h.mth(d))}));
        }
        for m in 1..=n {
            let proof: Vec<String> = h.subproof(m, d, true).iter().map(hex::encode).collect();
            consistency.push(json!({
                "old": m, "new": n, "path": proof,
                "old_root": hex::encode(h.mth(&hashes[..m])), "new_root": hex::encode(h.mth(d)),
            }));
        }
    }
    json!({
        "leaves": leaves.iter().map(hex::encode).collect::<Vec<_>>(),
        "leaf_hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
        "node": {"left": hex::encode(&hashes[0]), "right": hex::encode(&hashes[1]),
                 "hash": hex::encode(h.node(&hashes[0], &hashes[1]))},
        "empty_root": hex::encode(h.mth(&[])),
        "root7": hex::encode(h.mth(&hashes)),
        "inclusion": inclusion,
        "consistency": consistency,
    })
}

/// GM/T 0033 tokens (verifier/tests/gm_pki), with the Rust verdict on each:
/// the page's tsa.js must reach the same.
fn tsa_vectors() -> Value {
    use verifier::tsa::{verify_timestamp_token, verify_timestamp_token_over, Imprinted};
    let pki = gm_pki::GmPki::new();
    let data = b"{\"document_id\":\"contract-42\",\"kind\":\"signed\"}";
    let sm3_token =
        pki.sm2_token(&pki.tst_info(data, "sm3"), "tsa", &["tsa", "inter"], gm_pki::SM2_WITH_SM3);
    let sha_token = pki.sm2_token(
        &pki.tst_info(data, "sha256"),
        "tsa",
        &["tsa", "inter"],
        gm_pki::SM2_WITH_SM3,
    );
    let mut tampered = sm3_token.clone();
    let n = tampered.len();
    tampered[n - 1] ^= 1;
    let untrusted = pki.sm2_token(
        &pki.tst_info(data, "sm3"),
        "other-tsa",
        &["other-tsa", "other-root"],
        gm_pki::SM2_WITH_SM3,
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let roots = vec![verifier::tsa::TrustedTsa::from_pem("sm2-tsa", &pki.pem("root")).unwrap()];
    let over = Imprinted::Bytes(data);
    assert!(verify_timestamp_token_over(&sm3_token, over, &roots, now, 300).is_ok());
    assert!(verify_timestamp_token_over(&sha_token, over, &roots, now, 300).is_ok());
    assert!(
        verify_timestamp_token(&sha_token, &verifier::Hash::digest(data), &roots, now, 300).is_ok()
    );
    assert!(verify_timestamp_token(&sm3_token, &verifier::Hash::digest(data), &roots, now, 300)
        .is_err());
    assert!(verify_timestamp_token_over(&tampered, over, &roots, now, 300).is_err());
    assert!(verify_timestamp_token_over(&untrusted, over, &roots, now, 300).is_err());
    json!({
        "root_pem": pki.pem("root"),
        "data": hex::encode(data),
        "sm3_token": hex::encode(&sm3_token),
        "sha_token": hex::encode(&sha_token),
        "tampered": hex::encode(&tampered),
        "untrusted": hex::encode(&untrusted),
    })
}

/// HMAC-SM3 by `openssl dgst -sm3 -mac HMAC -macopt hexkey:…`: keys of
/// 32 bytes (a record salt), of a whole block, and longer than a block
/// (hashed first, RFC 2104).
fn hmac_sm3_vectors(dir: &Path) -> Value {
    let mut out = Vec::new();
    for (key, message) in [
        (vec![7u8; 32], b"evidence-ledger/disclosure-salt/v3\0event.kind".to_vec()),
        ((0..64u8).collect(), b"".to_vec()),
        ((0..100u8).collect(), "国密 HMAC-SM3".as_bytes().to_vec()),
    ] {
        std::fs::write(dir.join("mac.bin"), &message).unwrap();
        let mac = openssl(
            dir,
            &[
                "dgst",
                "-sm3",
                "-mac",
                "HMAC",
                "-macopt",
                &format!("hexkey:{}", hex::encode(&key)),
                "-binary",
                "mac.bin",
            ],
        );
        out.push(json!({"key": hex::encode(&key), "message": hex::encode(&message),
                        "mac": hex::encode(mac)}));
    }
    Value::Array(out)
}

/// The `sm3-jcs-sd/v3` vector of docs/evidence-v2.md: the record, and the
/// commitment tests/sm_vectors.rs recomputes with OpenSSL (and the Rust
/// verifier with RustCrypto's SM3): the page's v3.js must reach it too.
fn record_v3_sm3_vector() -> Value {
    use verifier::v3::{record_commitment_in, record_value, Chain, SdHash};
    let event = json!({"actor": {"commitment": "bb".repeat(32), "display": "王*", "id": "u-1"},
        "attestations": [], "document_hash": "aa".repeat(32), "document_id": "contract-1",
        "event_id": "ev-1", "kind": "registered"});
    let record = record_value(&event, "acme", &[7; 32], None, &Chain { prev: None, seq: 0 });
    let c = record_commitment_in(SdHash::Sm3, &record).unwrap();
    let doc = std::fs::read_to_string(repo().join("docs/evidence-v2.md")).unwrap();
    assert!(doc.contains(&format!("sm3 commitment = {}", c.to_base64())), "the documented vector");
    json!({"record": record, "commitment": c.to_base64()})
}

/// Writes the vectors (computed by OpenSSL now) into `dir`; returns the file.
fn vectors(dir: &Path) -> PathBuf {
    let h = OpensslSm3 { dir: dir.to_path_buf(), seen: RefCell::new(HashMap::new()) };
    // OpenSSL itself against GB/T 32905-2016 Appendix A.
    assert_eq!(
        hex::encode(h.digest(b"abc")),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    let long: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let sm3: Vec<Value> = [&b""[..], b"abc", &b"abcd".repeat(16), "国密 SM3".as_bytes(), &long]
        .iter()
        .map(|m| json!({"message": hex::encode(m), "digest": hex::encode(h.digest(m))}))
        .collect();
    let vectors = json!({
        "sm3": sm3, "tree": tree_vectors(&h), "sm2": sm2_vectors(dir), "tsa": tsa_vectors(),
        "hmac_sm3": hmac_sm3_vectors(dir), "record_v3_sm3": record_v3_sm3_vector(),
    });
    let path = dir.join("sm-vectors.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&vectors).unwrap()).unwrap();
    path
}

/// Runs `node --test FILE` from `cwd` with `env`; asserts `pass` tests passed.
fn node_test(cwd: &Path, file: &str, env: &[(&str, &Path)], pass: usize) {
    let mut cmd = Command::new("node");
    cmd.current_dir(cwd).args(["--test", file]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): scripts/env.sh installs it"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "web/verifier/sm.js disagrees with OpenSSL ({file}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passed: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse().ok())
        .expect("node --test summary");
    assert_eq!(passed, pass, "{stdout}");
}

#[test]
fn the_page_sm_suite_agrees_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let path = vectors(dir.path());
    node_test(&repo(), "tests/browser/sm.test.mjs", &[("EL_SM_VECTORS", &path)], 9);
}

/// The same vectors in headless Chromium, through the modules as the real
/// server serves them at /verify (its CSP included). Needs
/// `/usr/bin/chromium` and tests/browser/node_modules (scripts/env.sh).
#[test]
fn the_page_sm_suite_runs_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let path = vectors(dir.path());
    let mut s = Server::start();
    let url = PathBuf::from(&s.url);
    node_test(
        &repo().join("tests/browser"),
        "sm-page.test.mjs",
        &[("EL_SM_VECTORS", &path), ("EL_URL", &url)],
        1,
    );
    let _ = s.terminate();
}
