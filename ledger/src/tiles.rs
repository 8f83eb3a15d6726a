//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>) read from the stored
//! hashes and leaves: hash tiles of height 8 and entry bundles.
//!
//! A tile is cut out of what the store already holds, so nothing is
//! written for it: the level-`L` tile `N` of width `W` is the stored hashes
//! at tree level `8L` with indices `N*256 .. N*256+W`, each written once when
//! its subtree completed, and the entry bundle `N` of width `W` is the
//! leaves `N*256 .. N*256+W`. Either reads exactly `W` (at most 256) records.
//! A tile is served only while the committed tree holds all of it, so the
//! bytes of a given path never change.

use tlog_tiles::tlog;

use crate::error::{LedgerError, Result};
use crate::store::Store;

/// Tile height (C2SP tlog-tiles): each tile spans 8 tree levels.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u32 = 1 << TILE_HEIGHT;
/// Highest tile level a path may name (C2SP: 0..=63).
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at tree level `8 * level` (level 0: leaf hashes).
    Hashes {
        /// The tile level, 0..=63.
        level: u8,
    },
    /// The entry bundle: the leaves, each as a big-endian u16 length and
    /// the leaf bytes.
    Entries,
}

/// One tile: `/tile/<L>/<N>[.p/<W>]` or `/tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Hashes of a level, or entries.
    pub kind: TileKind,
    /// `N`, the tile's index within its level.
    pub index: u64,
    /// `W`: 1..=255 for a partial tile, [`TILE_WIDTH`] for a full one.
    pub width: u32,
}

impl TileId {
    /// Whether this is a full tile (immutable for the life of the log).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }
}

/// The number of hashes the tree of `size` leaves holds at tree level
/// `8 * level`: complete subtrees of `256^level` leaves.
pub fn hashes_at_level(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT)).unwrap_or(0)
}

/// The first record and the record count of `id` in a tree of `size`:
/// `InvalidRequest` for a malformed id, `NotFound` when the tree does not
/// hold all of the tile (beyond its right edge, or a full tile whose last
/// hashes are not complete yet).
pub fn tile_range(size: u64, id: &TileId) -> Result<(u64, u64)> {
    if id.width == 0 || id.width > TILE_WIDTH {
        return Err(LedgerError::InvalidRequest(format!("tile width {} not in 1..=256", id.width)));
    }
    let available = match id.kind {
        TileKind::Hashes { level } if level > MAX_TILE_LEVEL => {
            return Err(LedgerError::InvalidRequest(format!("tile level {level} > 63")));
        }
        TileKind::Hashes { level } => hashes_at_level(size, level),
        TileKind::Entries => size,
    };
    let beyond = || {
        LedgerError::NotFound(format!(
            "tile {:?} {} width {} is beyond the tree of size {size}",
            id.kind, id.index, id.width
        ))
    };
    let start = id.index.checked_mul(u64::from(TILE_WIDTH)).ok_or_else(beyond)?;
    let end = start.checked_add(u64::from(id.width)).ok_or_else(beyond)?;
    if end > available {
        return Err(beyond());
    }
    Ok((start, u64::from(id.width)))
}

/// The bytes of tile `id` of the tree of `size` leaves (which the store
/// must hold committed): `W` 32-byte hashes, or the entry bundle.
pub(crate) fn read_tile(store: &Store, size: u64, id: &TileId) -> Result<Vec<u8>> {
    let (start, count) = tile_range(size, id)?;
    match id.kind {
        TileKind::Hashes { level } => {
            // tile_range refused levels holding no hash, so 8 * level < 64.
            let tree_level = level * TILE_HEIGHT;
            let indexes: Vec<u64> =
                (start..start + count).map(|i| tlog::stored_hash_index(tree_level, i)).collect();
            let hashes = store.read_hashes(&indexes)?;
            Ok(hashes.concat())
        }
        TileKind::Entries => {
            let leaves = store.leaves(start, count)?;
            let mut out = Vec::with_capacity(leaves.iter().map(|l| l.len() + 2).sum());
            for (i, leaf) in leaves.iter().enumerate() {
                let len = u16::try_from(leaf.len()).map_err(|_| {
                    LedgerError::Unavailable(format!(
                        "entry {} is {} bytes, over the 65535 an entry bundle can carry",
                        start + i as u64,
                        leaf.len()
                    ))
                })?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(leaf);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(level: u8, index: u64, width: u32) -> TileId {
        TileId { kind: TileKind::Hashes { level }, index, width }
    }

    #[test]
    fn ranges_follow_the_spec_example() {
        // C2SP: a tree of 70,000 has 273 full level-0 tiles and a partial
        // one of width 112, one full level-1 tile and a partial one of 17,
        // and a partial level-2 tile of width 1.
        let s = 70_000;
        assert_eq!(tile_range(s, &hashes(0, 272, 256)).expect("in the tree"), (272 * 256, 256));
        assert_eq!(tile_range(s, &hashes(0, 273, 112)).expect("in the tree"), (273 * 256, 112));
        assert!(matches!(tile_range(s, &hashes(0, 273, 113)), Err(LedgerError::NotFound(_))));
        assert!(matches!(tile_range(s, &hashes(0, 273, 256)), Err(LedgerError::NotFound(_))));
        assert_eq!(tile_range(s, &hashes(1, 0, 256)).expect("in the tree"), (0, 256));
        assert_eq!(tile_range(s, &hashes(1, 1, 17)).expect("in the tree"), (256, 17));
        assert!(matches!(tile_range(s, &hashes(1, 1, 18)), Err(LedgerError::NotFound(_))));
        assert_eq!(tile_range(s, &hashes(2, 0, 1)).expect("in the tree"), (0, 1));
        assert!(matches!(tile_range(s, &hashes(3, 0, 1)), Err(LedgerError::NotFound(_))));
        assert!(matches!(tile_range(s, &hashes(63, 0, 1)), Err(LedgerError::NotFound(_))));
        assert!(matches!(tile_range(s, &hashes(64, 0, 1)), Err(LedgerError::InvalidRequest(_))));
        assert!(matches!(tile_range(s, &hashes(0, 0, 0)), Err(LedgerError::InvalidRequest(_))));
        assert!(matches!(tile_range(s, &hashes(0, u64::MAX, 1)), Err(LedgerError::NotFound(_))));
        let entries = TileId { kind: TileKind::Entries, index: 273, width: 112 };
        assert_eq!(tile_range(s, &entries).expect("in the tree"), (273 * 256, 112));
        // A tree of 256: one full level-0 tile and a level-1 tile of width 1.
        assert_eq!(tile_range(256, &hashes(0, 0, 256)).expect("in the tree"), (0, 256));
        assert_eq!(tile_range(256, &hashes(1, 0, 1)).expect("in the tree"), (0, 1));
        assert!(matches!(tile_range(0, &hashes(0, 0, 1)), Err(LedgerError::NotFound(_))));
    }
}
