//! The hash under a v3 record commitment, named by the leaf's
//! `commitment_alg`: SHA-256 with HMAC-SHA-256 field salts
//! (`sha256-jcs-sd/v3`, every log until issue 26) or SM3 with HMAC-SM3
//! field salts (`sm3-jcs-sd/v3`, new records of an `sm2-sm3` log). The
//! byte layout, the domain strings and the names are the same for both:
//! only the hash and the PRF change (docs/evidence-v2.md, "Record v3 on
//! an sm2-sm3 log").
//!
//! Owns the dispatch from the algorithm to the RustCrypto `sha2`, `sm3`
//! and `hmac` crates; no hash is written here.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use sm3::Sm3;

use crate::suite::Suite;
use crate::Hash;

/// `commitment_alg` of a leaf whose v3 record is committed with SHA-256.
pub const COMMITMENT_ALG_V3: &str = "sha256-jcs-sd/v3";
/// `commitment_alg` of a leaf whose v3 record is committed with SM3 and
/// HMAC-SM3 field salts.
pub const COMMITMENT_ALG_V3_SM3: &str = "sm3-jcs-sd/v3";

/// The hash of a v3 commitment (and the HMAC of its field salts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SdHash {
    /// SHA-256, HMAC-SHA-256: [`COMMITMENT_ALG_V3`].
    #[default]
    Sha256,
    /// SM3 (GB/T 32905), HMAC-SM3: [`COMMITMENT_ALG_V3_SM3`].
    Sm3,
}

impl SdHash {
    /// The `commitment_alg` a leaf names for this hash.
    pub const fn commitment_alg(self) -> &'static str {
        match self {
            SdHash::Sha256 => COMMITMENT_ALG_V3,
            SdHash::Sm3 => COMMITMENT_ALG_V3_SM3,
        }
    }

    /// The hash new records of a log of `suite` are committed with.
    pub const fn for_suite(suite: Suite) -> SdHash {
        match suite {
            Suite::Ed25519Sha256 => SdHash::Sha256,
            Suite::Sm2Sm3 => SdHash::Sm3,
        }
    }

    /// A running hash of this algorithm.
    pub(crate) fn hasher(self) -> Hasher {
        match self {
            SdHash::Sha256 => Hasher::Sha256(Sha256::new()),
            SdHash::Sm3 => Hasher::Sm3(Sm3::new()),
        }
    }

    /// The HMAC of this algorithm keyed with a record's salt.
    pub(crate) fn salt_mac(self, salt: &[u8; 32]) -> SaltMac {
        // HMAC takes a key of any length, so `new_from_slice` never fails;
        // the fallback (a zero key) is unreachable and only avoids a panic path.
        match self {
            SdHash::Sha256 => {
                SaltMac::Sha256(Hmac::<Sha256>::new_from_slice(salt).unwrap_or_else(|_| {
                    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default())
                }))
            }
            SdHash::Sm3 => SaltMac::Sm3(Hmac::<Sm3>::new_from_slice(salt).unwrap_or_else(|_| {
                <Hmac<Sm3> as hmac::digest::KeyInit>::new(&Default::default())
            })),
        }
    }
}

/// SHA-256 or SM3 in progress.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sm3(Sm3),
}

impl Hasher {
    pub(crate) fn update(&mut self, data: impl AsRef<[u8]>) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sm3(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Hash {
        match self {
            Hasher::Sha256(h) => Hash(h.finalize().into()),
            Hasher::Sm3(h) => Hash(h.finalize().into()),
        }
    }
}

/// HMAC-SHA-256 or HMAC-SM3 keyed with a record's salt (the key's padded
/// blocks are hashed once per record, then cloned per name).
#[derive(Clone)]
pub(crate) enum SaltMac {
    Sha256(Hmac<Sha256>),
    Sm3(Hmac<Sm3>),
}

impl SaltMac {
    /// The MAC of `parts`, concatenated.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            SaltMac::Sha256(m) => {
                let mut m = m.clone();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().into()
            }
            SaltMac::Sm3(m) => {
                let mut m = m.clone();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().into()
            }
        }
    }
}
