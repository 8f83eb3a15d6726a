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

    /// The canonical C2SP path, without the leading `/`:
    /// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, where `<N>` is
    /// 3-digit groups, all but the last prefixed with `x`.
    pub fn path(&self) -> String {
        let mut n = self.index;
        let mut s = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            s = format!("x{:03}/{s}", n % 1000);
        }
        let p = if self.is_full() { String::new() } else { format!(".p/{}", self.width) };
        match self.kind {
            TileKind::Entries => format!("tile/entries/{s}{p}"),
            TileKind::Hashes { level } => format!("tile/{level}/{s}{p}"),
        }
    }
}

/// The tiles (hash tiles of every level, and entry bundles) that the tree
/// of `new` leaves needs and the tree of `old` leaves did not have: the
/// full tiles completed in between, and the partial tiles of `new`'s right
/// edge that differ from `old`'s. With `old = 0`, every tile of `new`.
/// Full tiles come first, bundles before hashes.
pub fn tiles_between(old: u64, new: u64) -> Vec<TileId> {
    let mut full = Vec::new();
    let mut partial = Vec::new();
    let mut add = |kind: TileKind, before: u64, now: u64| {
        let w = u64::from(TILE_WIDTH);
        for index in (before / w)..(now / w) {
            full.push(TileId { kind, index, width: TILE_WIDTH });
        }
        if !now.is_multiple_of(w) && now != before {
            partial.push(TileId { kind, index: now / w, width: (now % w) as u32 });
        }
    };
    add(TileKind::Entries, old.min(new), new);
    for level in 0..=MAX_TILE_LEVEL {
        let now = hashes_at_level(new, level);
        if now == 0 {
            break;
        }
        add(TileKind::Hashes { level }, hashes_at_level(old.min(new), level), now);
    }
    full.extend(partial);
    full
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
    fn tiles_between_checkpoints() {
        let paths = |old, new| -> Vec<String> {
            tiles_between(old, new).iter().map(TileId::path).collect()
        };
        assert!(paths(0, 0).is_empty());
        assert_eq!(paths(0, 3), ["tile/entries/000.p/3", "tile/0/000.p/3"]);
        // 600 = 2 full level-0 tiles + 88; level 1 holds 2 hashes.
        assert_eq!(
            paths(0, 600),
            [
                "tile/entries/000",
                "tile/entries/001",
                "tile/0/000",
                "tile/0/001",
                "tile/entries/002.p/88",
                "tile/0/002.p/88",
                "tile/1/000.p/2",
            ]
        );
        // 600 -> 700: nothing completed, the right edge moved.
        assert_eq!(paths(600, 700), ["tile/entries/002.p/188", "tile/0/002.p/188"]);
        // 700 -> 768: tile 2 completed, level 1 grew; no level-0 partial.
        assert_eq!(paths(700, 768), ["tile/entries/002", "tile/0/002", "tile/1/000.p/3"]);
        assert!(paths(768, 768).is_empty());
        // Every tile a client of `new` needs is in tiles_between(0, new),
        // and every tile of tiles_between(old, new) is within `new`.
        for (old, new) in [(0u64, 70_000u64), (3_000, 70_000), (65_535, 65_536)] {
            for id in tiles_between(old, new) {
                assert!(tile_range(new, &id).is_ok(), "{id:?} not in {new}");
            }
        }
        let all = tiles_between(0, 70_000);
        // 274 bundles, 274 level-0, 2 level-1, 1 level-2 tiles.
        assert_eq!(all.len(), 274 + 274 + 2 + 1);
        assert_eq!(all.iter().filter(|t| t.is_full()).count(), 273 + 273 + 1);
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
