//! Pure verification of evidence-ledger formats.
//!
//! In scope: RFC 9162 Merkle tree hashing and proof verification, C2SP signed
//! notes, tlog-checkpoint bodies, tlog-cosignature v1, the ledger entry model
//! with its canonical JSON (RFC 8785), attestation checks, the log's signed
//! receipts (a submitter's check of its own event), and the evidence
//! bundle checks a court runs offline against a trust policy of the keys it
//! chose, and the verdict rules; and the contract PDF's own signatures
//! (CMS over `/ByteRange`) against the CA roots of that policy; and RFC 4998
//! evidence records over a bundle, with their renewals.
//!
//! Out of scope: storage, networking, async runtimes. This crate is the
//! specification in code; it must build with no I/O dependencies.
#![forbid(unsafe_code)]

pub mod anykey;
pub mod attest;
pub mod bundle;
pub mod check;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod error;
pub mod ers;
pub mod hash;
pub mod issued_report;
pub mod issuer;
pub mod jcs;
pub mod note;
pub mod pdf;
pub mod policy;
pub mod proof;
pub mod receipt;
pub mod report;
pub mod sm2note;
pub mod sm2sig;
pub mod suite;
pub mod text;
pub mod tsa;
pub mod v2;
pub mod v3;
pub mod verdict;
pub mod x509sm2;

pub use error::VerifyError;
pub use hash::{Hash, LeafIndex, TreeSize};
