//! The hash algorithms of evidence records and RFC 4998's hash trees: how
//! a tree is built over data groups and reduced for one of them (§4.2), and
//! how a reduced tree gives back its root (§4.3).

use const_oid::ObjectIdentifier;

/// A hash algorithm an evidence record may use, for its trees and the
/// imprints of its timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErsHash {
    /// SHA-256 (FIPS 180-4), the ledger's own hash.
    Sha256,
    /// SHA-512 (FIPS 180-4).
    Sha512,
    /// SHA3-512 (FIPS 202).
    Sha3_512,
    /// SM3 (GB/T 32905-2016), for logs on the national algorithms.
    Sm3,
}

/// id-sha256, RFC 5754.
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha512, RFC 5754.
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// id-sha3-512, NIST CSOR.
const ID_SHA3_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.10");
/// SM3, GM/T 0006 (1.2.156.10197.1.401).
const ID_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");

impl ErsHash {
    /// Every algorithm, in the order `--hash` lists them.
    pub const ALL: [ErsHash; 4] =
        [ErsHash::Sha256, ErsHash::Sha512, ErsHash::Sha3_512, ErsHash::Sm3];

    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            ErsHash::Sha256 => ID_SHA256,
            ErsHash::Sha512 => ID_SHA512,
            ErsHash::Sha3_512 => ID_SHA3_512,
            ErsHash::Sm3 => ID_SM3,
        }
    }

    /// The algorithm an object identifier names, if one we support.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<ErsHash> {
        ErsHash::ALL.into_iter().find(|h| h.oid() == *oid)
    }

    /// The name `--hash` takes and reports print: `sha256`, `sha512`,
    /// `sha3-512`, `sm3`.
    pub fn name(self) -> &'static str {
        match self {
            ErsHash::Sha256 => "sha256",
            ErsHash::Sha512 => "sha512",
            ErsHash::Sha3_512 => "sha3-512",
            ErsHash::Sm3 => "sm3",
        }
    }

    /// The algorithm named `name` (see [`ErsHash::name`]).
    pub fn from_name(name: &str) -> Option<ErsHash> {
        ErsHash::ALL.into_iter().find(|h| h.name() == name)
    }

    /// The digest of `parts`, one after the other.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            parts.iter().for_each(|p| d.update(p));
            d.finalize().to_vec()
        }
        match self {
            ErsHash::Sha256 => run::<sha2::Sha256>(parts),
            ErsHash::Sha512 => run::<sha2::Sha512>(parts),
            ErsHash::Sha3_512 => run::<sha3::Sha3_512>(parts),
            ErsHash::Sm3 => run::<sm3::Sm3>(parts),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            ErsHash::Sha256 | ErsHash::Sm3 => 32,
            ErsHash::Sha512 | ErsHash::Sha3_512 => 64,
        }
    }

    /// RFC 4998 §4.2 step 4: the hash of `values` sorted in binary
    /// ascending order and concatenated.
    pub fn sorted_node(self, values: &[&[u8]]) -> Vec<u8> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        self.digest_parts(&sorted)
    }
}

/// A hash tree over data groups (§4.2), reduced for each group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltTree {
    /// The root hash: what the timestamp is requested over.
    pub root: Vec<u8>,
    /// Per group, in the order given: its reduced hash tree (lists from the
    /// leaves up, each sorted). Empty when the tree is that group's one
    /// hash (the `reducedHashtree` field is then left out).
    pub reduced: Vec<Vec<Vec<Vec<u8>>>>,
}

/// Builds a binary hash tree (§4.2) over `groups`, each a data group of
/// one or more hash values, and reduces it for each group. A group of
/// several values is a leaf whose hash is their sorted concatenation's; its
/// first list holds its values. A node without a sibling moves up as it is.
/// `None` for no groups or an empty group.
pub fn build_tree(alg: ErsHash, groups: &[Vec<Vec<u8>>]) -> Option<BuiltTree> {
    if groups.is_empty() || groups.iter().any(Vec::is_empty) {
        return None;
    }
    let mut reduced: Vec<Vec<Vec<Vec<u8>>>> = Vec::with_capacity(groups.len());
    let mut level: Vec<Vec<u8>> = Vec::with_capacity(groups.len());
    for group in groups {
        if let [one] = group.as_slice() {
            reduced.push(Vec::new());
            level.push(one.clone());
        } else {
            let mut first = group.clone();
            first.sort_unstable();
            level.push(alg.sorted_node(&group.iter().map(Vec::as_slice).collect::<Vec<_>>()));
            reduced.push(vec![first]);
        }
    }
    // Which node of the current level each group sits under.
    let mut at: Vec<usize> = (0..groups.len()).collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for (pair_index, pair) in level.chunks(2).enumerate() {
            next.push(match pair {
                [a, b] => alg.sorted_node(&[a, b]),
                [a] => a.clone(),
                _ => unreachable!("chunks(2) yields one or two"),
            });
            if let [a, b] = pair {
                for (g, node) in at.iter().enumerate() {
                    if *node / 2 != pair_index {
                        continue;
                    }
                    let sibling = if *node % 2 == 0 { b } else { a };
                    let list = if reduced[g].is_empty() {
                        let mut both = vec![a.clone(), b.clone()];
                        both.sort_unstable();
                        both
                    } else {
                        vec![sibling.clone()]
                    };
                    reduced[g].push(list);
                }
            }
        }
        at.iter_mut().for_each(|n| *n /= 2);
        level = next;
    }
    Some(BuiltTree { root: level.remove(0), reduced })
}

/// Why a reduced hash tree does not lead to a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// A hash value that must be in the first list is not there.
    Missing,
    /// The first list holds a value that is not one of the data group's
    /// (when the group must be exactly the first list).
    Foreign,
    /// Several values must be covered but there is no tree to hold them.
    NoTree,
    /// A list holds a value of the wrong length for the algorithm.
    Length,
}

/// RFC 4998 §4.3 steps 2-3: checks that every value of `covered` is in the
/// first list of `lists` (and, when `exact`, that the first list holds
/// nothing else: the data group check), then hashes each list, sorted and
/// concatenated, carrying each result into the next list, up to the root.
/// With no lists, the root is the one covered value itself.
pub fn reduced_root(
    alg: ErsHash,
    lists: &[Vec<Vec<u8>>],
    covered: &[Vec<u8>],
    exact: bool,
) -> Result<Vec<u8>, TreeError> {
    let Some((first, rest)) = lists.split_first() else {
        return match covered {
            [one] => Ok(one.clone()),
            _ => Err(TreeError::NoTree),
        };
    };
    if lists.iter().flatten().any(|v| v.len() != alg.output_len()) {
        return Err(TreeError::Length);
    }
    if !covered.iter().all(|c| first.contains(c)) {
        return Err(TreeError::Missing);
    }
    if exact && !first.iter().all(|v| covered.contains(v)) {
        return Err(TreeError::Foreign);
    }
    let mut node = alg.sorted_node(&first.iter().map(Vec::as_slice).collect::<Vec<_>>());
    for list in rest {
        let mut values: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        values.push(&node);
        node = alg.sorted_node(&values);
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(alg: ErsHash, s: &str) -> Vec<u8> {
        alg.digest(s.as_bytes())
    }

    #[test]
    fn every_group_of_a_tree_reduces_to_its_root() {
        for alg in ErsHash::ALL {
            for n in 1..9 {
                let groups: Vec<Vec<Vec<u8>>> = (0..n)
                    .map(|i| (0..=(i % 3)).map(|j| h(alg, &format!("{i}/{j}"))).collect())
                    .collect();
                let tree = build_tree(alg, &groups).expect("tree");
                for (g, group) in groups.iter().enumerate() {
                    let exact = group.len() > 1;
                    let root = reduced_root(alg, &tree.reduced[g], group, exact).expect("root");
                    assert_eq!(root, tree.root, "{alg:?} n={n} g={g}");
                }
            }
        }
    }

    #[test]
    fn a_foreign_or_missing_value_is_refused() {
        let alg = ErsHash::Sha256;
        let group = vec![h(alg, "a"), h(alg, "b")];
        let tree = build_tree(alg, std::slice::from_ref(&group)).expect("tree");
        assert_eq!(tree.root, alg.sorted_node(&[&group[0], &group[1]]));
        let other = vec![h(alg, "a"), h(alg, "c")];
        assert_eq!(reduced_root(alg, &tree.reduced[0], &other, true), Err(TreeError::Missing));
        assert_eq!(reduced_root(alg, &tree.reduced[0], &group[..1], true), Err(TreeError::Foreign));
        assert_eq!(reduced_root(alg, &[], &group, true), Err(TreeError::NoTree));
    }

    #[test]
    fn known_answers() {
        // sha256("abc"), FIPS 180-4 example; SM3("abc"), GB/T 32905 A.1.
        assert_eq!(
            hex::encode(ErsHash::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(ErsHash::Sm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(ErsHash::from_name("sha3-512"), Some(ErsHash::Sha3_512));
        assert_eq!(ErsHash::from_oid(&ErsHash::Sm3.oid()), Some(ErsHash::Sm3));
    }
}
