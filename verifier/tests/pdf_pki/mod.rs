//! A small PKI made with `openssl` and PDFs signed with pyHanko
//! (`verifier/tests/data/pdf/sign_pdf.py`): the fixtures of the PDF
//! signature tests, shared by verifier/tests/pdf.rs and the page's
//! Chromium test (tests/browser.rs includes this file by path).
#![allow(dead_code, missing_docs, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use verifier::policy::TrustPolicy;

/// A scratch directory with a small PKI: `root` (RSA) issues signer `a`
/// (RSA) and the intermediate `inter` (P-384), which issues signer `b`
/// (P-256); `other-root` issues signer `c`. And a copy of the TSA fixtures.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .unwrap();
        std::fs::write(
            d.join("ee.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
        )
        .unwrap();
        for (root, cn) in [("root", "Test Signing Root"), ("other-root", "Forged Signing Root")] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &format!("{root}.key"),
                    "-out",
                    &format!("{root}.pem"),
                    "-days",
                    "3650",
                    "-subj",
                    &format!("/C=CN/O=Test CA/CN={cn}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        }
        let issue = |name: &str, key: &[&str], subj: &str, ca: &str, ext: &str| {
            let mut args = vec!["req", "-newkey"];
            args.extend_from_slice(key);
            let (k, csr, pem) =
                (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
            args.extend_from_slice(&["-nodes", "-keyout", &k, "-out", &csr, "-subj", subj]);
            openssl(d, &args);
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "1000",
                    "-extfile",
                    ext,
                ],
            );
        };
        issue("a", &["rsa:2048"], "/C=CN/O=Acme/CN=Alice Signer", "root", "ee.ext");
        issue(
            "inter",
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "/C=CN/O=Test CA/CN=Test Signing Intermediate",
            "root",
            "ca.ext",
        );
        issue(
            "b",
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "/C=CN/O=Beta/CN=Bob Signer",
            "inter",
            "ee.ext",
        );
        issue("c", &["rsa:2048"], "/C=CN/O=Mallory/CN=Mallory Signer", "other-root", "ee.ext");
        let tsa = d.join("tsa");
        std::fs::create_dir(&tsa).unwrap();
        for f in ["tsa.cnf", "tsa-rsa.pem", "tsa-rsa.key", "root-ca.pem"] {
            std::fs::copy(data("tsa").join(f), tsa.join(f)).unwrap();
        }
        std::fs::write(tsa.join("serial"), "3000\n").unwrap();
        std::fs::write(d.join("plain.pdf"), minimal_pdf()).unwrap();
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap()
    }

    /// pyHanko signs `input` into `output` as `signer`, an incremental update.
    pub fn sign(
        &self,
        input: &str,
        output: &str,
        signer: &str,
        field: &str,
        extra: &[&str],
    ) -> Vec<u8> {
        let mut cmd = Command::new("python3");
        cmd.arg(data("pdf").join("sign_pdf.py"))
            .args([self.path(input), self.path(output)])
            .args([
                "--key",
                &format!("{signer}.key"),
                "--cert",
                &format!("{signer}.pem"),
                "--field",
                field,
            ])
            .args(extra)
            .current_dir(self.dir.path());
        if signer == "b" {
            cmd.args(["--chain", "inter.pem"]);
        }
        let out = cmd.output().expect("python3 runs");
        assert!(
            out.status.success(),
            "pyHanko failed (install it with scripts/env.sh, or \
             `python3 -m pip install --break-system-packages pyhanko`): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(self.path(output)).unwrap()
    }

    /// Alice (PAdES, RSA) signs the plain PDF, then Bob (PKCS#7, ECDSA via
    /// an intermediate) signs that in an incremental update.
    pub fn two_signers(&self) -> (Vec<u8>, Vec<u8>) {
        let one = self.sign("plain.pdf", "one.pdf", "a", "Alice", &[]);
        let two = self.sign("one.pdf", "two.pdf", "b", "Bob", &["--pkcs7"]);
        (one, two)
    }

    /// A signer `x` under `root` whose certificate expired before it was
    /// made (`-days -1`: not after is a day before not before).
    pub fn expired_signer(&self) {
        let d = self.dir.path();
        let subj = "/C=CN/O=Old/CN=Expired Signer";
        openssl(
            d,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "x.key", "-out", "x.csr",
                "-subj", subj,
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "x.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-CAcreateserial",
                "-out",
                "x.pem",
                "-days",
                "-1",
                "-extfile",
                "ee.ext",
            ],
        );
    }

    /// `name`: a one-page PDF written by pyHanko with a cross-reference
    /// stream and an object stream (`data/pdf/xref_stream_pdf.py`).
    pub fn xref_stream_pdf(&self, name: &str) {
        let out = Command::new("python3")
            .arg(data("pdf").join("xref_stream_pdf.py"))
            .arg(self.path(name))
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// A policy with `ca` lines for the named roots and `tsa` lines for
    /// the test TSA root if `tsa`.
    pub fn policy(&self, cas: &[&str], tsa: bool) -> TrustPolicy {
        let mut text = String::new();
        for ca in cas {
            text.push_str(&format!("ca {ca}\n{}", self.pem(ca)));
        }
        if tsa {
            text.push_str(&format!("tsa test-tsa\n{}", self.pem("tsa/root-ca")));
        }
        TrustPolicy::parse(&text).unwrap()
    }

    pub fn serial(&self, cert: &str) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in", &format!("{cert}.pem")])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        s.trim().trim_start_matches("serial=").trim_start_matches("00").to_lowercase()
    }
}

/// verifier/tests/data/`sub`, from the verifier crate's tests or the
/// workspace root's (tests/browser.rs).
pub fn data(sub: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let krate = if here.join("tests/data/pdf").exists() {
        here.to_path_buf()
    } else {
        here.join("verifier")
    };
    krate.join("tests/data").join(sub)
}

/// A one-page PDF with a classic xref table, written by hand.
pub fn minimal_pdf() -> Vec<u8> {
    let content = b"BT /F1 12 Tf 20 100 Td (contract) Tj ET";
    let objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(), content, b"\nendstream"]
            .concat(),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// An incremental update that replaces the page's content stream: what
/// "changing the text after signing" looks like.
pub fn append_update(pdf: &[u8]) -> Vec<u8> {
    let content = b"BT /F1 12 Tf 20 100 Td (contract, amended) Tj ET";
    let mut body = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\nendstream");
    append_object(pdf, 4, &body)
}

/// An incremental update (a classic xref section) that redefines object
/// `num` as `body`.
pub fn append_object(pdf: &[u8], num: u32, body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let prev: usize = text
        .rsplit("startxref")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut out = pdf.to_vec();
    let at = out.len();
    out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(b"\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{num} 1\n{at:010} 00000 n \ntrailer\n<< /Size 40 /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}
