//! A small SM2 PKI of the GM/T 0015 profile made with OpenSSL 3 in a
//! scratch directory (every certificate SM2-with-SM3, distinguishing
//! identifier 1234567812345678), and GM/T 0033 timestamp tokens signed by
//! its SM2 TSA: the fixtures of verifier/tests/sm2_certs.rs and
//! verifier/tests/sm2_tsa.rs.
//!
//! OpenSSL 3.0 cannot sign CMS with SM2 (`openssl ts -reply` with an SM2
//! key fails "PKCS7_SIGNER_INFO_set: signing not supported for this key
//! type", and `openssl cms -sign` with one fails "illegal zero content"),
//! so a token is made as GM/T 0033 lays it out from parts OpenSSL does
//! make: the TSTInfo from `openssl ts -reply` (a scratch P-256 TSA answers
//! the query, SM3 or SHA-256 imprint), the SM2 signature over the DER
//! signed attributes from `openssl pkeyutl -sign -rawin -digest sm3
//! -pkeyopt distid:1234567812345678`, and the CMS SignedData around them
//! written here with the `cms` crate's types.
#![allow(dead_code, missing_docs, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence, Tag};
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

pub const DISTID: &str = "distid:1234567812345678";
pub const ID_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

const EXTENSIONS: &str = "[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ee]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[noca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, digitalSignature
subjectKeyIdentifier = hash
[enc]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment, dataEncipherment
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[rootca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ca_nosign]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, cRLSign
[nods]
basicConstraints = critical, CA:FALSE
keyUsage = critical, nonRepudiation
[ca_cfg]
default_md = sm3
database = index.txt
serial = ca-serial.txt
new_certs_dir = .
policy = any
unique_subject = no
preserve = yes
[any]
countryName = optional
organizationName = optional
commonName = supplied
";

/// The scratch TSA that writes TSTInfos (its signature is thrown away).
const TS_CONFIG: &str = "[tsa]
default_tsa = scratch
[scratch]
serial = serial
crypto_device = builtin
signer_cert = scratch-tsa.pem
signer_key = scratch-tsa.key
signer_digest = sha256
default_policy = 1.2.156.112562.1.1
digests = sha256, sm3
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_alg = sha256
";

/// Runs `openssl` in `dir`, panicking with its stderr on failure.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The SM2 PKI: `root` issues the intermediate `inter` (a CA), which
/// issues `leaf` (an issuer's signing certificate) and the TSA `tsa`;
/// `other-root` is a root no policy trusts, with its own `other-leaf` and
/// `other-tsa`.
pub struct GmPki {
    pub dir: tempfile::TempDir,
}

impl GmPki {
    pub fn new() -> GmPki {
        let dir = tempfile::tempdir().unwrap();
        let pki = GmPki { dir };
        std::fs::write(pki.path("ext.cnf"), EXTENSIONS).unwrap();
        pki.root("root", "/C=CN/O=Evidence Ledger Test/CN=SM2 Test Root");
        pki.issue(
            "inter",
            "/C=CN/O=Evidence Ledger Test/CN=SM2 Test Intermediate",
            "root",
            "ca",
            365,
        );
        pki.issue("leaf", "/C=CN/O=Evidence Ledger Test/CN=idp-gov SM2", "inter", "ee", 365);
        pki.issue("tsa", "/C=CN/O=Evidence Ledger Test/CN=SM2 Test TSA", "inter", "tsa", 365);
        pki.root("other-root", "/C=CN/O=Forger/CN=SM2 Forged Root");
        pki.issue("other-leaf", "/C=CN/O=Forger/CN=idp-gov SM2", "other-root", "ee", 365);
        pki.issue("other-tsa", "/C=CN/O=Forger/CN=SM2 Forged TSA", "other-root", "tsa", 365);
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new SM2 key `name.key` (PKCS#8 PEM).
    pub fn key(&self, name: &str) {
        openssl(self.dir.path(), &["genpkey", "-algorithm", "SM2", "-out", &format!("{name}.key")]);
    }

    /// A self-signed SM2 root `name.pem`.
    pub fn root(&self, name: &str, subject: &str) {
        self.key(name);
        openssl(
            self.dir.path(),
            &[
                "req",
                "-new",
                "-x509",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-days",
                "3650",
                "-sm3",
                "-sigopt",
                DISTID,
                "-config",
                "ext.cnf",
                "-extensions",
                "ca",
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// `name.pem`: a new SM2 key certified by `issuer` with the extensions
    /// section `ext`, valid `days` days from now.
    pub fn issue(&self, name: &str, subject: &str, issuer: &str, ext: &str, days: u32) {
        self.key(name);
        let d = self.dir.path();
        let csr = format!("{name}.csr");
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-sm3",
                "-sigopt",
                DISTID,
                "-config",
                "ext.cnf",
                "-out",
                &csr,
            ],
        );
        // `-vfyopt`: OpenSSL 3.0 checks the request's own SM2 signature
        // with an empty identifier unless told (it fails "Certificate
        // request self-signature did not match the contents").
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                &days.to_string(),
                "-sm3",
                "-sigopt",
                DISTID,
                "-vfyopt",
                DISTID,
                "-extfile",
                "ext.cnf",
                "-extensions",
                ext,
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// `name.pem`: a new SM2 key certified by `issuer` (or self-signed,
    /// `issuer` None) with the extensions section `ext`, valid from
    /// `start` to `end` (`YYYYMMDDHHMMSSZ`): `openssl ca`, which alone of
    /// OpenSSL 3.0's tools sets both dates (for certificates already
    /// expired, or not yet valid, at a given time).
    pub fn issue_dated(
        &self,
        name: &str,
        subject: &str,
        issuer: Option<&str>,
        ext: &str,
        start: &str,
        end: &str,
    ) {
        let d = self.dir.path();
        if !self.path("index.txt").exists() {
            std::fs::write(self.path("index.txt"), "").unwrap();
            std::fs::write(self.path("ca-serial.txt"), "7001\n").unwrap();
        }
        self.key(name);
        let csr = format!("{name}.csr");
        let key = format!("{name}.key");
        openssl(
            d,
            &["req", "-new", "-key", &key, "-subj", subject, "-sm3", "-sigopt", DISTID]
                .into_iter()
                .chain(["-config", "ext.cnf", "-out", &csr])
                .collect::<Vec<_>>(),
        );
        let (cert, ca_key) = match issuer {
            Some(i) => (format!("{i}.pem"), format!("{i}.key")),
            None => (String::new(), key.clone()),
        };
        let out = format!("{name}.pem");
        let mut args = vec!["ca", "-batch", "-config", "ext.cnf", "-name", "ca_cfg", "-notext"];
        if issuer.is_some() {
            args.extend(["-cert", &cert]);
        } else {
            args.push("-selfsign");
        }
        args.extend(["-keyfile", &ca_key, "-in", &csr, "-out", &out]);
        args.extend(["-startdate", start, "-enddate", end, "-extfile", "ext.cnf"]);
        args.extend(["-extensions", ext, "-md", "sm3", "-sigopt", DISTID, "-vfyopt", DISTID]);
        openssl(d, &args);
    }

    /// [`GmPki::sign`] as the 64 bytes `r || s` an attestation carries.
    pub fn sign_raw(&self, name: &str, message: &[u8]) -> [u8; 64] {
        let der = self.sign(name, message);
        let sig = RawSignature::from_der(&der).unwrap();
        let mut out = [0u8; 64];
        for (half, int) in [(0, sig.r), (32, sig.s)] {
            let b = int.as_bytes();
            out[half + 32 - b.len()..half + 32].copy_from_slice(b);
        }
        out
    }

    /// Makes attestation `j` of the event `ev` (JSON) one by `issuer`
    /// certified by X.509 (issue 26 item 3): attestation v2, the chain
    /// `chain` (certificate names, end certificate first) under
    /// `certificate`, signed for `tenant` by the key of certificate `key`.
    pub fn certify(
        &self,
        ev: &mut serde_json::Value,
        j: usize,
        tenant: &str,
        (issuer, key): (&str, &str),
        chain: &[&str],
    ) {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let a = &mut ev["attestations"][j];
        a["issuer"] = issuer.into();
        a["v"] = 2.into();
        a["certificate"] = chain.iter().map(|n| b64(&self.der(n))).collect::<Vec<_>>().into();
        let msg = verifier::entry::Event::from_value(ev.clone(), false)
            .expect("a valid event")
            .attestation_message(j, tenant);
        ev["attestations"][j]["signature"] = b64(&self.sign_raw(key, &msg)).into();
    }

    /// The DER of certificate `name.pem`.
    pub fn der(&self, name: &str) -> Vec<u8> {
        openssl(self.dir.path(), &["x509", "-in", &format!("{name}.pem"), "-outform", "DER"])
    }

    pub fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap()
    }

    /// OpenSSL's SM2 signature (DER) by `name.key` over `message`, with the
    /// default distinguishing identifier.
    pub fn sign(&self, name: &str, message: &[u8]) -> Vec<u8> {
        let input = self.path("to-sign.bin");
        std::fs::write(&input, message).unwrap();
        openssl(
            self.dir.path(),
            &[
                "pkeyutl",
                "-sign",
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                DISTID,
                "-inkey",
                &format!("{name}.key"),
                "-in",
                "to-sign.bin",
            ],
        )
    }

    /// A TSTInfo (DER) over `data` with the imprint `digest` ("sm3" or
    /// "sha256"), written by `openssl ts -reply`.
    pub fn tst_info(&self, data: &[u8], digest: &str) -> Vec<u8> {
        let d = self.dir.path();
        if !self.path("scratch-tsa.pem").exists() {
            std::fs::write(self.path("ts.cnf"), TS_CONFIG).unwrap();
            std::fs::write(self.path("serial"), "1000\n").unwrap();
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    "scratch-tsa.key",
                    "-subj",
                    "/CN=scratch",
                    "-days",
                    "2",
                    "-config",
                    "ext.cnf",
                    "-extensions",
                    "tsa",
                    "-out",
                    "scratch-tsa.pem",
                ],
            );
        }
        std::fs::write(self.path("data.bin"), data).unwrap();
        openssl(
            d,
            &["ts", "-query", "-data", "data.bin", &format!("-{digest}"), "-cert", "-out", "q.tsq"],
        );
        openssl(
            d,
            &[
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-queryfile",
                "q.tsq",
                "-token_out",
                "-out",
                "scratch.tok",
            ],
        );
        let token = std::fs::read(self.path("scratch.tok")).unwrap();
        let info = ContentInfo::from_der(&token).unwrap();
        let signed: SignedData = info.content.decode_as().unwrap();
        signed.encap_content_info.econtent.unwrap().value().to_vec()
    }

    /// A GM/T 0033 TimeStampToken: `tst_info` signed SM2 over SM3 by the
    /// TSA `tsa` (its key and certificate), carrying `chain` (names of
    /// certificates, the TSA's first) and the ESS signing-certificate-v2
    /// attribute. `sig_alg` is the SignerInfo's signatureAlgorithm.
    pub fn sm2_token(
        &self,
        tst_info: &[u8],
        tsa: &str,
        chain: &[&str],
        sig_alg: ObjectIdentifier,
    ) -> Vec<u8> {
        let tsa_der = self.der(tsa);
        let tsa_cert = Certificate::from_der(&tsa_der).unwrap();
        let attrs = signed_attributes(tst_info, &tsa_der);
        let signature = self.sign(tsa, &attrs.to_der().unwrap());
        let sm3 = AlgorithmIdentifierOwned { oid: ID_SM3, parameters: None };
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tsa_cert.tbs_certificate.issuer.clone(),
                serial_number: tsa_cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sm3.clone(),
            signed_attrs: Some(attrs),
            signature_algorithm: AlgorithmIdentifierOwned { oid: sig_alg, parameters: None },
            signature: OctetString::new(signature).unwrap(),
            unsigned_attrs: None,
        };
        let certs = chain
            .iter()
            .map(|n| CertificateChoices::Certificate(Certificate::from_der(&self.der(n)).unwrap()))
            .collect::<Vec<_>>();
        let signed = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sm3]).unwrap(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info).unwrap()),
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(certs).unwrap())),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).unwrap()),
        };
        ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed).unwrap() }
            .to_der()
            .unwrap()
    }
}

/// GM/T 0009 `SM2Signature ::= SEQUENCE { R INTEGER, S INTEGER }`.
#[derive(Sequence)]
struct RawSignature<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

/// ESSCertIDv2 with the default hash (SHA-256), RFC 5035 §4.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// SigningCertificateV2, RFC 5035 §3.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Attribute {
    Attribute { oid, values: SetOfVec::try_from(vec![value]).unwrap() }
}

/// content-type, message-digest (SM3 of the TSTInfo) and the ESS
/// signing-certificate-v2 naming the TSA certificate.
fn signed_attributes(tst_info: &[u8], tsa_der: &[u8]) -> SetOfVec<Attribute> {
    let digest = sm3::Sm3::digest(tst_info).to_vec();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(sha2::Sha256::digest(tsa_der).to_vec()).unwrap(),
        }],
    };
    SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO).unwrap()),
        attribute(ID_MESSAGE_DIGEST, Any::encode_from(&OctetString::new(digest).unwrap()).unwrap()),
        attribute(ID_AA_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess).unwrap()),
    ])
    .unwrap()
}
