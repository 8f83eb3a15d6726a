//! The test TSA of tests/ers.rs: a test PKI made with openssl (certificates
//! of the past with faketime), `openssl ts -reply` behind a small HTTP
//! wrapper, and tokens made directly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Runs `program` in `dir`; its stdout, or a panic with its output.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A test PKI: a root, a TSA certificate valid ten years (`tsa_long`) and
/// one valid a day (`tsa_short`), both with the critical timeStamping EKU,
/// and an `openssl ts` configuration taking every hash ERS may use.
pub fn make_tsa(dir: &Path) {
    let ext = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
               extendedKeyUsage=critical,timeStamping\n";
    std::fs::write(dir.join("tsa-ext.cnf"), ext).unwrap();
    for key in ["root.key", "long.key", "short.key"] {
        run(
            dir,
            "openssl",
            &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
        );
    }
    // The root dates from five days ago, so that certificates and tokens
    // of the past (made with faketime) chain to it.
    run(
        dir,
        "faketime",
        &[
            "-f",
            "-5d",
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "7300",
            "-subj",
            "/O=Evidence Ledger Test/CN=ERS Test Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    for (name, days) in [("long", "3650"), ("short", "1")] {
        let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        run(
            dir,
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/O=Evidence Ledger Test/CN=ERS TSA {name}"),
            ],
        );
        run(
            dir,
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                days,
                "-extfile",
                "tsa-ext.cnf",
            ],
        );
    }
    let mut cnf = String::from("[tsa]\ndefault_tsa = tsa_long\n");
    for name in ["long", "short"] {
        cnf.push_str(&format!(
            "[tsa_{name}]\nserial = serial\ncrypto_device = builtin\nsigner_cert = {name}.pem\n\
             signer_key = {name}.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256, sha512, sha3-512, sm3\naccuracy = secs:1\ness_cert_id_alg = sha256\n"
        ));
    }
    std::fs::write(dir.join("tsa.cnf"), cnf).unwrap();
}

/// The TSA over HTTP (RFC 3161 §3.4), signing with the section named in
/// the returned cell (`tsa_long` at first).
pub fn serve_tsa(dir: PathBuf) -> (String, Arc<Mutex<&'static str>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let section = Arc::new(Mutex::new("tsa_long"));
    let current = section.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let (q, r) = (dir.join(format!("h{n}.tsq")), dir.join(format!("h{n}.tsr")));
            std::fs::write(&q, &body).unwrap();
            let sec = *current.lock().unwrap();
            let ok = Command::new("openssl")
                .args(["ts", "-reply", "-config", "tsa.cnf", "-section", sec, "-queryfile"])
                .arg(&q)
                .arg("-out")
                .arg(&r)
                .current_dir(&dir)
                .output()
                .unwrap()
                .status
                .success();
            let answer = if ok { std::fs::read(&r).unwrap() } else { Vec::new() };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/timestamp-reply\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&answer);
        }
    });
    (url, section)
}

/// A TSA certificate `name` made `ago` (faketime offset, e.g. "-3d"),
/// valid `days`, and its `openssl ts` section `tsa_<name>`.
pub fn past_tsa(dir: &Path, name: &str, ago: &str, days: &str) {
    let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
    run(
        dir,
        "openssl",
        &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", &key],
    );
    let subject = format!("/O=Evidence Ledger Test/CN=ERS TSA {name}");
    run(dir, "openssl", &["req", "-new", "-key", &key, "-out", &csr, "-subj", &subject]);
    run(
        dir,
        "faketime",
        &[
            "-f",
            ago,
            "openssl",
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            days,
            "-extfile",
            "tsa-ext.cnf",
        ],
    );
    let mut cnf = std::fs::read_to_string(dir.join("tsa.cnf")).unwrap();
    cnf.push_str(&format!(
        "[tsa_{name}]\nserial = serial\ncrypto_device = builtin\nsigner_cert = {name}.pem\n\
         signer_key = {name}.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
         digests = sha256, sha512, sha3-512, sm3\naccuracy = secs:1\ness_cert_id_alg = sha256\n"
    ));
    std::fs::write(dir.join("tsa.cnf"), cnf).unwrap();
}

/// A token over `hashed` (SHA-256) from section `section`, at `at`
/// (faketime offset) or now.
pub fn token_at(dir: &Path, section: &str, hashed: &[u8], at: Option<&str>) -> Vec<u8> {
    let hex = hex::encode(hashed);
    let (q, t) = (format!("{hex}.tsq"), format!("{hex}-{section}.der"));
    run(dir, "openssl", &["ts", "-query", "-digest", &hex, "-sha256", "-cert", "-out", &q]);
    let mut args: Vec<&str> = Vec::new();
    if let Some(at) = at {
        args.extend(["-f", at, "openssl"]);
    }
    args.extend([
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-section",
        section,
        "-queryfile",
        &q,
        "-out",
        &t,
        "-token_out",
    ]);
    run(dir, if at.is_some() { "faketime" } else { "openssl" }, &args);
    std::fs::read(dir.join(t)).unwrap()
}
