//! The high-water mark: the newest checkpoint this data directory handed
//! out, kept in `DATA/handed-out`, outside the RocksDB store (`DATA/db`).
//!
//! A store restored from a backup, or rolled back by a bad disk, is older
//! than receipts and checkpoints that clients and witnesses already hold;
//! serving it and growing it again would make a fork. Because the mark
//! lives beside the store and not in it, restoring `db/` does not restore
//! an old mark: at open the ledger finds the store behind (or beside) the
//! mark and refuses to serve unless told `allow_rollback`.
//!
//! The sequencer writes the mark after each group commit and before any
//! receipt of it is answered. Two fixed 64-byte slots, written in turn in
//! place and fdatasync'd, each with a sequence number and a check sum: a
//! write torn by a power cut leaves the other slot intact.
//! Slot: "ELHW" | seq (8) | tree size (8) | root (32) | SHA-256(first 52)[..12].

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use verifier::Hash;

use crate::error::{LedgerError, Result};
use crate::fsutil::sync_dir;

/// File name of the mark inside the data directory.
pub const HIGH_WATER_FILE: &str = "handed-out";
const MAGIC: &[u8; 4] = b"ELHW";
const SLOT: usize = 64;

/// The newest checkpoint handed out: its tree size and root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Tree size.
    pub size: u64,
    /// Root of that tree.
    pub root: Hash,
}

/// The open mark file.
pub(crate) struct HighWater {
    file: File,
    seq: u64,
    sync: bool,
}

impl HighWater {
    /// Opens (creating, durably, if missing) the mark of `dir`; returns it
    /// with the mark it holds, if any.
    pub(crate) fn open(dir: &Path, sync: bool) -> Result<(HighWater, Option<Mark>)> {
        let path = dir.join(HIGH_WATER_FILE);
        let existed = path.exists();
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
        if !existed {
            file.sync_all()?;
            sync_dir(dir)?;
        }
        let (seq, mark) = read_slots(&file)?;
        Ok((HighWater { file, seq, sync }, mark))
    }

    /// Records `mark` as handed out (durably, when syncing).
    pub(crate) fn record(&mut self, mark: Mark) -> Result<()> {
        self.seq += 1;
        let mut slot = [0u8; SLOT];
        slot[..4].copy_from_slice(MAGIC);
        slot[4..12].copy_from_slice(&self.seq.to_be_bytes());
        slot[12..20].copy_from_slice(&mark.size.to_be_bytes());
        slot[20..52].copy_from_slice(&mark.root.0);
        let check = Hash::digest(&slot[..52]);
        slot[52..].copy_from_slice(&check.0[..12]);
        self.file.write_all_at(&slot, (self.seq % 2) * SLOT as u64)?;
        if self.sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// The valid slot with the highest sequence number.
fn read_slots(file: &File) -> Result<(u64, Option<Mark>)> {
    let mut best: (u64, Option<Mark>) = (0, None);
    for i in 0..2u64 {
        let mut slot = [0u8; SLOT];
        let n = read_at_most(file, &mut slot, i * SLOT as u64)?;
        if n < SLOT || &slot[..4] != MAGIC || Hash::digest(&slot[..52]).0[..12] != slot[52..] {
            continue; // empty, or torn by a power cut
        }
        let seq = u64::from_be_bytes(slot[4..12].try_into().unwrap_or_default());
        let size = u64::from_be_bytes(slot[12..20].try_into().unwrap_or_default());
        let root = Hash::from_slice(&slot[20..52])
            .map_err(|e| LedgerError::Corrupt(format!("{HIGH_WATER_FILE}: {e}")))?;
        if seq >= best.0 {
            best = (seq, Some(Mark { size, root }));
        }
    }
    Ok(best)
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_valid_slot_wins_and_a_torn_slot_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut hw, mark) = HighWater::open(dir.path(), true).expect("open");
        assert_eq!(mark, None);
        let m = |size: u64| Mark { size, root: Hash::digest(&size.to_be_bytes()) };
        hw.record(m(5)).expect("record");
        hw.record(m(9)).expect("record");
        drop(hw);
        let (mut hw, mark) = HighWater::open(dir.path(), true).expect("reopen");
        assert_eq!(mark, Some(m(9)));
        hw.record(m(12)).expect("record");
        // Tear the newest slot: the one before it is read.
        let file =
            OpenOptions::new().write(true).open(dir.path().join(HIGH_WATER_FILE)).expect("f");
        file.write_all_at(&[0xff; 8], (hw.seq % 2) * SLOT as u64 + 20).expect("tear");
        let (_, mark) = HighWater::open(dir.path(), true).expect("reopen");
        assert_eq!(mark, Some(m(9)));
    }
}
