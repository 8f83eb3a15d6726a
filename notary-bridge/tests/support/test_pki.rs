//! A private test PKI made with the openssl CLI, shared by the witness
//! process tests and the ledger's anchoring tests (included with `#[path]`).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Makes a CA and a certificate for 127.0.0.1 signed by it, with the
/// openssl CLI; returns the paths of (ca.pem, cert.pem, key.pem).
pub fn make_test_pki(dir: &Path) -> (String, String, String) {
    let p = |f: &str| dir.join(f).to_str().expect("utf-8").to_string();
    let ext = p("ext.cnf");
    let ext_text = "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
                    basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::fs::write(&ext, ext_text).expect("ext");
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let (ca, ca_key) = (p("ca.pem"), p("ca.key"));
    let mut args = vec!["req", "-x509"];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&["-keyout", &ca_key, "-out", &ca, "-days", "2"]);
    args.extend_from_slice(&["-subj", "/CN=Test Court CA"]);
    args.extend_from_slice(&["-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend_from_slice(&["-addext", "keyUsage=critical,keyCertSign"]);
    run(&args);
    let (csr, cert, key) = (p("w.csr"), p("w.pem"), p("w.key"));
    let mut args = vec!["req"];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&["-keyout", &key, "-out", &csr, "-subj", "/CN=witness.test"]);
    run(&args);
    run(&["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial"]
        .into_iter()
        .chain(["-out", &cert, "-days", "2", "-extfile", &ext])
        .collect::<Vec<_>>());
    (ca, cert, key)
}
