//! The file system through the kernel: what std::fs calls make durable.
#![allow(missing_docs, clippy::unwrap_used)]

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};

use testfs::{Fault, LazyFs, Loss};

fn sync_dir(p: &std::path::Path) {
    File::open(p).unwrap().sync_all().unwrap();
}

#[test]
fn fsync_and_directory_fsync_decide_what_survives_a_power_cut() {
    let mnt = tempfile::tempdir().unwrap();
    let mut fs = LazyFs::mount(mnt.path()).unwrap();
    let root = mnt.path();

    // Durable: written, fsync'd, and its directory fsync'd.
    fs::create_dir(root.join("d")).unwrap();
    sync_dir(root);
    let mut kept = File::create(root.join("d/kept")).unwrap();
    kept.write_all(b"durable").unwrap();
    kept.sync_all().unwrap();
    sync_dir(&root.join("d"));
    kept.write_all(b" + lost tail").unwrap();
    drop(kept);

    // Not durable: fsync'd file whose directory entry never was.
    let mut orphan = File::create(root.join("d/orphan")).unwrap();
    orphan.write_all(b"data").unwrap();
    orphan.sync_all().unwrap();
    drop(orphan);

    // A rename not followed by a directory fsync.
    fs::write(root.join("old"), b"x").unwrap();
    File::open(root.join("old")).unwrap().sync_all().unwrap();
    sync_dir(root);
    fs::rename(root.join("old"), root.join("new")).unwrap();

    let report = fs.cut_power(Loss::Unsynced);
    assert!(report.pages_lost > 0 && report.nodes_lost == 1, "{report:?}");
    // Powered off: nothing goes through any more.
    assert!(fs::write(root.join("d/late"), b"x").is_err());
    fs.power_on().unwrap();

    let mut s = String::new();
    File::open(root.join("d/kept")).unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "durable");
    assert!(!root.join("d/orphan").exists());
    assert!(root.join("old").exists() && !root.join("new").exists());
    drop(fs);
}

#[test]
fn injected_faults_fail_writes_and_syncs_until_cleared() {
    let mnt = tempfile::tempdir().unwrap();
    let fs = LazyFs::mount(mnt.path()).unwrap();
    let path = mnt.path().join("f");
    let mut f = OpenOptions::new().create(true).append(true).open(&path).unwrap();
    f.write_all(b"ok").unwrap();
    fs.set_fault(Some(Fault::NoSpace));
    let e = f.write_all(b"no room").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
    fs.set_fault(Some(Fault::Io));
    assert_eq!(f.sync_all().unwrap_err().raw_os_error(), Some(5)); // EIO
    fs.set_fault(None);
    f.write_all(b" again").unwrap();
    f.sync_all().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"ok again");
}
