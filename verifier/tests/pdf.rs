//! The contract PDF's own signatures (docs/pdf-signatures.md), end to end:
//! PDFs signed at run time by pyHanko (`verifier/tests/data/pdf/sign_pdf.py`,
//! installed by scripts/env.sh) with certificates made here by `openssl`,
//! and a signature timestamp from a real TSA (`openssl ts -reply` on the
//! fixtures of verifier/tests/data/tsa), checked by the library and by
//! `verifier pdf`.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use verifier::pdf::{verify_pdf, PdfReport, PdfVerdictStatus, SignatureStatus, TimeSource};
use verifier::policy::TrustPolicy;

/// A scratch directory with a small PKI: `root` (RSA) issues signer `a`
/// (RSA) and the intermediate `inter` (P-384), which issues signer `b`
/// (P-256); `other-root` issues signer `c`. And a copy of the TSA fixtures.
struct Pki {
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Pki {
    fn new() -> Pki {
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

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap()
    }

    /// pyHanko signs `input` into `output` as `signer`, an incremental update.
    fn sign(
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
    fn two_signers(&self) -> (Vec<u8>, Vec<u8>) {
        let one = self.sign("plain.pdf", "one.pdf", "a", "Alice", &[]);
        let two = self.sign("one.pdf", "two.pdf", "b", "Bob", &["--pkcs7"]);
        (one, two)
    }

    /// A policy with `ca` lines for the named roots and `tsa` lines for
    /// the test TSA root if `tsa`.
    fn policy(&self, cas: &[&str], tsa: bool) -> TrustPolicy {
        let mut text = String::new();
        for ca in cas {
            text.push_str(&format!("ca {ca}\n{}", self.pem(ca)));
        }
        if tsa {
            text.push_str(&format!("tsa test-tsa\n{}", self.pem("tsa/root-ca")));
        }
        TrustPolicy::parse(&text).unwrap()
    }

    fn serial(&self, cert: &str) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in", &format!("{cert}.pem")])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        s.trim().trim_start_matches("serial=").trim_start_matches("00").to_lowercase()
    }
}

fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(sub)
}

/// A one-page PDF with a classic xref table, written by hand.
fn minimal_pdf() -> Vec<u8> {
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
fn append_update(pdf: &[u8]) -> Vec<u8> {
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
    let content = b"BT /F1 12 Tf 20 100 Td (contract, amended) Tj ET";
    let at = out.len();
    out.extend_from_slice(format!("4 0 obj\n<< /Length {} >>\nstream\n", content.len()).as_bytes());
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n4 1\n{at:010} 00000 n \ntrailer\n<< /Size 40 /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn cli(pki: &Pki, args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .arg("pdf")
        .args(args)
        .current_dir(pki.dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

fn statuses(r: &PdfReport) -> Vec<SignatureStatus> {
    r.signatures.iter().map(|s| s.status).collect()
}

#[test]
fn two_signers_in_two_revisions_are_both_valid_with_their_certificates() {
    let pki = Pki::new();
    let (one, two) = pki.two_signers();
    let report = verify_pdf(&two, &pki.policy(&["root"], false), now());
    assert_eq!(
        statuses(&report),
        [SignatureStatus::Valid, SignatureStatus::Valid],
        "{}",
        report.to_text()
    );
    assert_eq!(report.verdict.status, PdfVerdictStatus::Verified);
    assert!(report.passed);
    assert_eq!(report.revisions, 3);
    assert_eq!(report.bytes_after_last_signature, Some(0));
    let (alice, bob) = (&report.signatures[0], &report.signatures[1]);
    assert_eq!((alice.field.as_deref(), bob.field.as_deref()), (Some("Alice"), Some("Bob")));
    assert_eq!(alice.sub_filter, "ETSI.CAdES.detached");
    assert_eq!(bob.sub_filter, "adbe.pkcs7.detached");
    let a = alice.signer.as_ref().unwrap();
    assert_eq!(a.subject, "CN=Alice Signer,O=Acme,C=CN");
    assert_eq!(a.issuer, "CN=Test Signing Root,O=Test CA,C=CN");
    assert_eq!(a.serial, pki.serial("a"));
    assert_eq!(a.trusted_root.as_deref(), Some("root"));
    let b = bob.signer.as_ref().unwrap();
    assert_eq!(b.subject, "CN=Bob Signer,O=Beta,C=CN");
    assert_eq!(b.issuer, "CN=Test Signing Intermediate,O=Test CA,C=CN");
    assert_eq!(b.serial, pki.serial("b"));
    assert!(b.not_before < b.not_after);
    // Each revision's hash is the file as that signer signed it.
    assert_eq!(alice.revision_end, Some(one.len()));
    assert_eq!(alice.revision_sha256.as_deref(), Some(sha256_hex(&one).as_str()));
    assert_eq!(bob.revision_sha256.as_deref(), Some(sha256_hex(&two).as_str()));
    // Without a timestamp, times are claims: PAdES's /M, PKCS#7's signingTime.
    assert_eq!(alice.signing_time.as_ref().unwrap().source, TimeSource::SignatureDictionary);
    assert_eq!(bob.signing_time.as_ref().unwrap().source, TimeSource::SigningTimeAttribute);

    // The command line, with a policy file.
    std::fs::write(pki.path("court.policy"), format!("# court\nca test-root\n{}", pki.pem("root")))
        .unwrap();
    let (out, text) = cli(&pki, &["two.pdf", "--policy", "court.policy"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Signature 1 (field Alice): VALID"), "{text}");
    assert!(text.contains("  signer: CN=Bob Signer,O=Beta,C=CN"), "{text}");
    // Wrapped to 80 columns: the hash may start a continuation line.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&format!("SHA-256 {}", sha256_hex(&one))), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let (out, json) = cli(&pki, &["--json", "two.pdf", "--policy=court.policy"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"]["status"], "verified");
    assert_eq!(v["signatures"][1]["signer"]["trusted_root"], "test-root");
}

#[test]
fn a_byte_changed_inside_a_signed_range_fails_that_signature() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    let policy = pki.policy(&["root"], false);
    // Bob's revision only: Alice's signature still holds.
    let mut tampered = two.clone();
    let at = tampered.windows(5).rposition(|w| w == b"(Bob)").unwrap();
    tampered[at + 1] = b'R';
    let report = verify_pdf(&tampered, &policy, now());
    assert_eq!(
        statuses(&report),
        [SignatureStatus::Valid, SignatureStatus::Invalid],
        "{}",
        report.to_text()
    );
    assert!(report.signatures[1].problems[0].contains("message digest does not match"));
    assert_eq!(report.verdict.status, PdfVerdictStatus::Failed);
    // The page text, which both signed.
    let mut tampered = two.clone();
    let at = tampered.windows(10).position(|w| w == b"(contract)").unwrap();
    tampered[at + 1] = b'C';
    let report = verify_pdf(&tampered, &policy, now());
    assert_eq!(statuses(&report), [SignatureStatus::Invalid, SignatureStatus::Invalid]);
    std::fs::write(pki.path("tampered.pdf"), &tampered).unwrap();
    let (out, text) = cli(&pki, &["tampered.pdf", "--ca-root", "r=root.pem"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("INVALID"), "{text}");
}

#[test]
fn bytes_appended_after_the_last_signature_are_reported() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    let amended = append_update(&two);
    let report = verify_pdf(&amended, &pki.policy(&["root"], false), now());
    assert_eq!(
        statuses(&report),
        [SignatureStatus::Valid, SignatureStatus::Valid],
        "{}",
        report.to_text()
    );
    assert_eq!(report.bytes_after_last_signature, Some(amended.len() - two.len()));
    assert_eq!(report.revisions_after_last_signature, 1);
    assert_eq!(report.verdict.status, PdfVerdictStatus::ModifiedAfterSigning);
    std::fs::write(pki.path("amended.pdf"), &amended).unwrap();
    let (out, text) = cli(&pki, &["amended.pdf", "--ca-root", "r=root.pem"]);
    assert_eq!(out.status.code(), Some(7), "{text}");
    assert!(
        text.contains(&format!(
            "Bytes added after the last signature: {}",
            amended.len() - two.len()
        )),
        "{text}"
    );
}

#[test]
fn a_signer_whose_ca_is_not_in_the_policy_is_not_trusted() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    // A policy that trusts another CA only.
    let report = verify_pdf(&two, &pki.policy(&["other-root"], false), now());
    assert_eq!(statuses(&report), [SignatureStatus::Untrusted, SignatureStatus::Untrusted]);
    assert!(report.signatures[0].untrusted[0].contains("not issued by a CA of your policy"));
    assert_eq!(report.verdict.status, PdfVerdictStatus::Untrusted);
    // Mallory, under the forged root, against the real policy.
    let forged = pki.sign("plain.pdf", "forged.pdf", "c", "Mallory", &[]);
    let report = verify_pdf(&forged, &pki.policy(&["root"], false), now());
    assert_eq!(statuses(&report), [SignatureStatus::Untrusted]);
    assert_eq!(report.signatures[0].signer.as_ref().unwrap().trusted_root, None);
    let (out, text) = cli(&pki, &["forged.pdf", "--ca-root", "r=root.pem"]);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(text.contains("INTACT BUT UNTRUSTED"), "{text}");
    // No policy at all trusts no signer.
    let (out, _) = cli(&pki, &["two.pdf"]);
    assert_eq!(out.status.code(), Some(6));
}

/// genTime of the signature timestamp, as pyHanko's own reader sees it.
fn gen_time_by_pyhanko(pdf: &Path) -> String {
    let script = "import sys\n\
from pyhanko.pdf_utils.reader import PdfFileReader\n\
r = PdfFileReader(open(sys.argv[1], 'rb'))\n\
si = r.embedded_signatures[0].signer_info\n\
tst = si['unsigned_attrs'][0]['values'][0]\n\
t = tst['content']['encap_content_info']['content'].parsed['gen_time'].native\n\
print(t.strftime('%Y-%m-%dT%H:%M:%SZ'))\n";
    let out = Command::new("python3").args(["-c", script]).arg(pdf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_signature_timestamp_gives_the_signing_time() {
    let pki = Pki::new();
    let stamped = pki.sign("plain.pdf", "stamped.pdf", "a", "Alice", &["--tsa-dir", "tsa"]);
    let gen_time = gen_time_by_pyhanko(&pki.path("stamped.pdf"));
    let report = verify_pdf(&stamped, &pki.policy(&["root"], true), now());
    assert_eq!(statuses(&report), [SignatureStatus::Valid], "{}", report.to_text());
    let t = report.signatures[0].signing_time.clone().unwrap();
    assert_eq!(t.source, TimeSource::Timestamp);
    assert_eq!(t.tsa.as_deref(), Some("test-tsa"));
    assert_eq!(t.time, gen_time);
    assert_eq!(report.last_signing_time, Some(t));
    let (out, text) =
        cli(&pki, &["stamped.pdf", "--ca-root", "r=root.pem", "--tsa-root", "t=tsa/root-ca.pem"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("signed at: {gen_time} (signature timestamp by t")), "{text}");
    // Without the TSA root the time is a claim, and the verdict says so.
    let report = verify_pdf(&stamped, &pki.policy(&["root"], false), now());
    assert_eq!(statuses(&report), [SignatureStatus::Untrusted]);
    let t = report.signatures[0].signing_time.clone().unwrap();
    assert_eq!((t.source, t.time.as_str()), (TimeSource::UntrustedTimestamp, gen_time.as_str()));
}

#[test]
fn signed_revisions_are_matched_to_the_bundles_signed_events() {
    let pki = Pki::new();
    let (_, two) = pki.two_signers();
    // The ledger logged the fully signed file.
    let mut world = World::new();
    world.document = two.clone();
    let bundle = world.bundle(&world.contract_flow());
    std::fs::write(pki.path("bundle.json"), bundle.to_json()).unwrap();
    let policy = format!("{}ca test-root\n{}", world.policy().to_text(), pki.pem("root"));
    std::fs::write(pki.path("court.policy"), policy).unwrap();
    let (out, json) =
        cli(&pki, &["two.pdf", "--policy", "court.policy", "--bundle", "bundle.json", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["bundle"]["verified"], true, "{json}");
    assert_eq!(v["bundle"]["matched_revisions"], 1);
    assert_eq!(v["signatures"][0]["bundle_events"], serde_json::json!([]));
    let ids: Vec<&str> = v["signatures"][1]["bundle_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e-u-1-sign", "e-u-2-sign"]);
    // A v2 bundle: the hashes are in the opened records.
    let v2 = world.bundle_v2(&world.contract_flow_v2());
    std::fs::write(pki.path("bundle-v2.json"), v2.to_json()).unwrap();
    let (out, text) =
        cli(&pki, &["two.pdf", "--policy", "court.policy", "--bundle", "bundle-v2.json"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("bundle: signed event e-u-2-sign"), "{text}");
    // A bundle about another file backs no revision.
    world.document = b"%PDF-1.7 another file".to_vec();
    std::fs::write(pki.path("other.json"), world.bundle(&world.contract_flow()).to_json()).unwrap();
    let (out, text) = cli(&pki, &["two.pdf", "--policy", "court.policy", "--bundle", "other.json"]);
    assert_eq!(out.status.code(), Some(8), "{text}");
}

#[test]
fn not_a_pdf_and_no_signature_fail() {
    let policy = TrustPolicy::default();
    let report = verify_pdf(b"hello", &policy, now());
    assert_eq!(report.verdict.status, PdfVerdictStatus::Failed);
    assert!(report.unreadable.is_some());
    let report = verify_pdf(&minimal_pdf(), &policy, now());
    assert_eq!(report.verdict.status, PdfVerdictStatus::Failed);
    assert!(report.signatures.is_empty());
    assert_eq!(report.verdict.summary, "NOT VERIFIED: the file has no signature");
}

mod never_panics {
    //! Whatever the bytes, `verify_pdf` returns a report: mutated real
    //! signed PDFs, PDF-token soup and arbitrary `/ByteRange` numbers.
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use proptest::sample::Index;
    use verifier::pdf::{check_byte_range, revision_ends, verify_pdf};
    use verifier::policy::TrustPolicy;

    use super::Pki;

    /// A real two-signature PDF and the policy that trusts its signers.
    fn sample() -> &'static (Vec<u8>, TrustPolicy) {
        static SAMPLE: OnceLock<(Vec<u8>, TrustPolicy)> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let pki = Pki::new();
            let (_, two) = pki.two_signers();
            (two, pki.policy(&["root"], false))
        })
    }

    const TOKENS: [&[u8]; 16] = [
        b"%PDF-1.7\n",
        b"1 0 obj\n",
        b"endobj\n",
        b"<< /ByteRange [0 10 20 5] ",
        b"/Contents <3082>",
        b" >>",
        b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \n",
        b"trailer\n<< /Size 2 /Root 1 0 R >>\n",
        b"startxref\n",
        b"9\n",
        b"%%EOF\n",
        b"/Type /Sig /SubFilter /ETSI.CAdES.detached ",
        b"<< /FT /Sig /T (S) /V 1 0 R >>",
        b"stream\nxx\nendstream\n",
        b"/Prev 0 ",
        b"[0 -1 99999999999 4]",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn on_mutated_signed_pdfs(
            edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..6),
            cut in proptest::option::of(any::<Index>()),
        ) {
            let (pdf, policy) = sample();
            let mut bytes = pdf.clone();
            for (at, b) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            let report = verify_pdf(&bytes, policy, 1_800_000_000);
            let _ = report.to_text();
            // The signed file verifies. A file that differs from it never
            // does, but for one thing: the last gap is unsigned, and a hex
            // digit written in the other case decodes to the same
            // signature (docs/pdf-signatures.md §2).
            if &bytes == pdf {
                prop_assert!(report.passed, "{}", report.to_text());
            } else if report.passed {
                let gap = &report.signatures.last().unwrap().byte_range[1..3];
                let gap = gap[0] as usize..gap[1] as usize;
                let only_case_in_gap = bytes.len() == pdf.len()
                    && bytes.iter().zip(pdf).enumerate().all(|(i, (a, b))| {
                        a == b || (gap.contains(&i) && a.eq_ignore_ascii_case(b))
                    });
                prop_assert!(only_case_in_gap, "a changed file verifies: {}", report.to_text());
            }
        }

        #[test]
        fn on_token_soup(parts in prop::collection::vec(0..TOKENS.len(), 0..40)) {
            let bytes: Vec<u8> = parts.iter().flat_map(|i| TOKENS[*i].iter().copied()).collect();
            let _ = verify_pdf(&bytes, &TrustPolicy::default(), 1_800_000_000).to_text();
        }

        #[test]
        fn on_arbitrary_byte_ranges(
            file in prop::collection::vec(any::<u8>(), 0..64),
            br in prop::collection::vec(any::<i64>(), 0..6),
        ) {
            let _ = check_byte_range(&file, &br, &revision_ends(&file));
        }
    }
}
