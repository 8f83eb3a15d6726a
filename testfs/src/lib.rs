//! A FUSE file system for power-loss tests, after LazyFS (dsrhaslab/lazyfs).
//!
//! Everything lives in this process's memory, in two versions: what the
//! application sees now, and what a disk would hold after a power cut. A
//! file's bytes become durable only when the application fsyncs (or
//! fdatasyncs) that file; a directory's entries (creates, renames, unlinks,
//! mkdirs inside it) only when it fsyncs that directory — the guarantees
//! POSIX and Linux's fsync(2) actually give, not what ext4 usually does.
//! [`LazyFs::cut_power`] throws away everything not durable, at one instant:
//! any fsync that returned before it is kept, any later operation fails
//! with EIO until [`LazyFs::power_on`] mounts the file system afresh (so the
//! kernel's page cache cannot serve bytes the "disk" no longer holds).
//!
//! In scope: regular files and directories, truncate, fallocate (size only),
//! rename, fsync, fsyncdir; [`Loss::Unsynced`] (drop all unsynced state) and
//! [`Loss::Random`] (a random part of the unsynced pages and directory
//! changes reached the disk before the cut, the rest did not); injected
//! faults ([`Fault`]: ENOSPC or EIO on writes, creates and syncs).
//!
//! Out of scope: hard and symbolic links (EPERM), extended attributes,
//! torn writes inside a 4 KiB page, reordering of one file's synced data
//! against its metadata beyond what fsync orders, permissions (tests run as
//! root), and file sizes beyond memory.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};

/// Granularity of what reaches the disk in [`Loss::Random`].
const PAGE: usize = 4096;
/// How long the kernel may cache entries and attributes. Only this process
/// changes the tree, and a power cut remounts, so caching is safe.
const TTL: Duration = Duration::from_secs(1);
const ROOT: u64 = 1;
/// `FALLOC_FL_KEEP_SIZE` (linux/falloc.h).
const FALLOC_KEEP_SIZE: i32 = 1;
/// `O_EXCL` (asm-generic/fcntl.h), for `create`.
const O_EXCL: i32 = 0o200;

/// What a power cut loses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Everything not fsync'd: the worst case LazyFS models.
    Unsynced,
    /// Each unsynced 4 KiB page and each directory's unsynced entries
    /// survive or not by a coin toss drawn from this seed (the kernel may
    /// have written some back before the cut).
    Random(u64),
}

/// A fault the file system answers instead of doing the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Writes, creates, fallocates and syncs fail with ENOSPC; statfs shows
    /// no free space.
    NoSpace,
    /// Writes, creates, fallocates and syncs fail with EIO.
    Io,
}

/// What one power cut threw away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Unsynced pages dropped.
    pub pages_lost: u64,
    /// Unsynced pages that happened to reach the disk ([`Loss::Random`]).
    pub pages_kept: u64,
    /// Directories whose unsynced entries were dropped.
    pub dirs_reverted: u64,
    /// Files and directories that no longer exist after the cut.
    pub nodes_lost: u64,
}

struct FileData {
    /// What the application reads now.
    data: Vec<u8>,
    /// What the disk holds.
    durable: Vec<u8>,
    /// Pages of `data` that differ from `durable` (or may).
    dirty: BTreeSet<usize>,
}

struct DirData {
    entries: BTreeMap<OsString, u64>,
    durable: BTreeMap<OsString, u64>,
}

enum Body {
    File(FileData),
    Dir(DirData),
}

struct Node {
    body: Body,
    perm: u16,
    mtime: SystemTime,
}

struct State {
    nodes: HashMap<u64, Node>,
    next_ino: u64,
    powered: bool,
    fault: Option<Fault>,
    /// A cut armed to happen at a given change: changes left, and the loss.
    armed: Option<(u64, Loss)>,
    /// The report of the last cut that happened, armed or not.
    last_cut: Option<CutReport>,
}

impl State {
    fn new() -> State {
        let root = Node {
            body: Body::Dir(DirData { entries: BTreeMap::new(), durable: BTreeMap::new() }),
            perm: 0o755,
            mtime: SystemTime::now(),
        };
        State {
            nodes: HashMap::from([(ROOT, root)]),
            next_ino: ROOT + 1,
            powered: true,
            fault: None,
            armed: None,
            last_cut: None,
        }
    }

    fn check_power(&self) -> Result<(), Errno> {
        if self.powered {
            Ok(())
        } else {
            Err(Errno::EIO)
        }
    }

    /// Power, an armed cut and injected faults, for operations that change
    /// the disk.
    fn check_writable(&mut self) -> Result<(), Errno> {
        self.check_power()?;
        match self.armed {
            Some((0, loss)) => {
                self.armed = None;
                self.cut(loss);
                return Err(Errno::EIO);
            }
            Some((left, loss)) => self.armed = Some((left - 1, loss)),
            None => {}
        }
        match self.fault {
            None => Ok(()),
            Some(Fault::NoSpace) => Err(Errno::ENOSPC),
            Some(Fault::Io) => Err(Errno::EIO),
        }
    }

    fn node(&self, ino: INodeNo) -> Result<&Node, Errno> {
        self.nodes.get(&ino.0).ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, ino: INodeNo) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino.0).ok_or(Errno::ENOENT)
    }

    fn dir(&self, ino: INodeNo) -> Result<&DirData, Errno> {
        match &self.node(ino)?.body {
            Body::Dir(d) => Ok(d),
            Body::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn dir_mut(&mut self, ino: INodeNo) -> Result<&mut DirData, Errno> {
        match &mut self.node_mut(ino)?.body {
            Body::Dir(d) => Ok(d),
            Body::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn file_mut(&mut self, ino: INodeNo) -> Result<&mut FileData, Errno> {
        match &mut self.node_mut(ino)?.body {
            Body::File(f) => Ok(f),
            Body::Dir(_) => Err(Errno::EISDIR),
        }
    }

    fn attr(&self, ino: u64) -> Result<FileAttr, Errno> {
        let node = self.nodes.get(&ino).ok_or(Errno::ENOENT)?;
        let (kind, size, nlink) = match &node.body {
            Body::File(f) => (FileType::RegularFile, f.data.len() as u64, 1),
            Body::Dir(d) => (FileType::Directory, 4096, 2 + d.entries.len() as u32),
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.mtime,
            crtime: node.mtime,
            kind,
            perm: node.perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: PAGE as u32,
            flags: 0,
        })
    }

    /// Adds a new node under `parent` as `name`.
    fn insert(
        &mut self,
        parent: INodeNo,
        name: &OsStr,
        body: Body,
        perm: u16,
    ) -> Result<u64, Errno> {
        self.check_writable()?;
        if self.dir(parent)?.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, Node { body, perm, mtime: SystemTime::now() });
        self.dir_mut(parent)?.entries.insert(name.to_os_string(), ino);
        self.touch(parent.0);
        Ok(ino)
    }

    fn touch(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.mtime = SystemTime::now();
        }
    }

    fn remove(&mut self, parent: INodeNo, name: &OsStr, want_dir: bool) -> Result<(), Errno> {
        self.check_writable()?;
        let ino = *self.dir(parent)?.entries.get(name).ok_or(Errno::ENOENT)?;
        match (&self.node(INodeNo(ino))?.body, want_dir) {
            (Body::Dir(d), true) if !d.entries.is_empty() => return Err(Errno::ENOTEMPTY),
            (Body::Dir(_), false) => return Err(Errno::EISDIR),
            (Body::File(_), true) => return Err(Errno::ENOTDIR),
            _ => {}
        }
        // The node itself stays until the next power cut: a durable entry
        // may still name it, and open handles may still use it.
        self.dir_mut(parent)?.entries.remove(name);
        self.touch(parent.0);
        Ok(())
    }

    fn rename(
        &mut self,
        from: (INodeNo, &OsStr),
        to: (INodeNo, &OsStr),
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        self.check_writable()?;
        if !flags.is_empty() && flags != RenameFlags::RENAME_NOREPLACE {
            return Err(Errno::EINVAL);
        }
        let ino = *self.dir(from.0)?.entries.get(from.1).ok_or(Errno::ENOENT)?;
        if let Some(&old) = self.dir(to.0)?.entries.get(to.1) {
            if flags.contains(RenameFlags::RENAME_NOREPLACE) {
                return Err(Errno::EEXIST);
            }
            match (&self.node(INodeNo(old))?.body, &self.node(INodeNo(ino))?.body) {
                (Body::Dir(d), Body::Dir(_)) if !d.entries.is_empty() => {
                    return Err(Errno::ENOTEMPTY)
                }
                (Body::Dir(_), Body::File(_)) => return Err(Errno::EISDIR),
                (Body::File(_), Body::Dir(_)) => return Err(Errno::ENOTDIR),
                _ => {}
            }
        }
        self.dir_mut(from.0)?.entries.remove(from.1);
        self.dir_mut(to.0)?.entries.insert(to.1.to_os_string(), ino);
        self.touch(from.0 .0);
        self.touch(to.0 .0);
        Ok(())
    }

    fn write(&mut self, ino: INodeNo, offset: u64, bytes: &[u8]) -> Result<u32, Errno> {
        self.check_writable()?;
        let f = self.file_mut(ino)?;
        let start = usize::try_from(offset).map_err(|_| Errno::EFBIG)?;
        let end = start.checked_add(bytes.len()).ok_or(Errno::EFBIG)?;
        if f.data.len() < end {
            f.data.resize(end, 0);
        }
        f.data[start..end].copy_from_slice(bytes);
        f.mark_dirty(start, end);
        self.touch(ino.0);
        Ok(bytes.len() as u32)
    }

    fn set_len(&mut self, ino: INodeNo, len: u64) -> Result<(), Errno> {
        self.check_writable()?;
        let f = self.file_mut(ino)?;
        let len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
        let old = f.data.len();
        f.data.resize(len, 0);
        f.mark_dirty(old.min(len), old.max(len));
        self.touch(ino.0);
        Ok(())
    }

    fn fsync(&mut self, ino: INodeNo) -> Result<(), Errno> {
        self.check_writable()?;
        match &mut self.node_mut(ino)?.body {
            Body::File(f) => f.sync(),
            Body::Dir(d) => d.durable = d.entries.clone(),
        }
        Ok(())
    }

    /// The power cut: unsynced state is dropped (or, with
    /// [`Loss::Random`], partly kept), then nodes no durable entry reaches
    /// are gone.
    fn cut(&mut self, loss: Loss) -> CutReport {
        let mut report = CutReport::default();
        let mut rng = match loss {
            Loss::Unsynced => None,
            Loss::Random(seed) => Some(SplitMix(seed)),
        };
        let mut inos: Vec<u64> = self.nodes.keys().copied().collect();
        inos.sort_unstable(); // one seed, one outcome
        for ino in inos {
            let Some(node) = self.nodes.get_mut(&ino) else { continue };
            match &mut node.body {
                Body::File(f) => {
                    for page in std::mem::take(&mut f.dirty) {
                        if rng.as_mut().is_some_and(|r| r.coin()) {
                            f.keep_page(page);
                            report.pages_kept += 1;
                        } else {
                            report.pages_lost += 1;
                        }
                    }
                    f.data = f.durable.clone();
                }
                Body::Dir(d) => {
                    if d.entries != d.durable {
                        if rng.as_mut().is_some_and(|r| r.coin()) {
                            d.durable = d.entries.clone();
                        } else {
                            report.dirs_reverted += 1;
                        }
                    }
                    d.entries = d.durable.clone();
                }
            }
        }
        let before = self.nodes.len();
        self.collect_unreachable();
        report.nodes_lost = (before - self.nodes.len()) as u64;
        self.powered = false;
        self.last_cut = Some(report);
        report
    }

    fn collect_unreachable(&mut self) {
        let mut seen = BTreeSet::from([ROOT]);
        let mut todo = vec![ROOT];
        while let Some(ino) = todo.pop() {
            if let Some(Node { body: Body::Dir(d), .. }) = self.nodes.get(&ino) {
                for child in d.entries.values() {
                    if seen.insert(*child) {
                        todo.push(*child);
                    }
                }
            }
        }
        self.nodes.retain(|ino, _| seen.contains(ino));
    }
}

impl FileData {
    fn new() -> FileData {
        FileData { data: Vec::new(), durable: Vec::new(), dirty: BTreeSet::new() }
    }

    fn mark_dirty(&mut self, start: usize, end: usize) {
        if end > start {
            self.dirty.extend(start / PAGE..=(end - 1) / PAGE);
        }
        // A length change is a change even where no byte was written.
        self.dirty.insert(self.data.len() / PAGE);
    }

    fn sync(&mut self) {
        self.durable.resize(self.data.len(), 0);
        for page in std::mem::take(&mut self.dirty) {
            let start = page * PAGE;
            if start < self.data.len() {
                let end = (start + PAGE).min(self.data.len());
                self.durable[start..end].copy_from_slice(&self.data[start..end]);
            }
        }
    }

    /// One unsynced page reached the disk (the file may grow by it).
    fn keep_page(&mut self, page: usize) {
        let start = page * PAGE;
        if start >= self.data.len() {
            return;
        }
        let end = (start + PAGE).min(self.data.len());
        if self.durable.len() < end {
            self.durable.resize(end, 0);
        }
        self.durable[start..end].copy_from_slice(&self.data[start..end]);
    }
}

/// A small deterministic generator (SplitMix64), so that a failing seed
/// can be replayed without a dependency.
struct SplitMix(u64);

impl SplitMix {
    fn coin(&mut self) -> bool {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) & 1 == 1
    }
}

/// The FUSE side: every request locks the one state.
struct Fs(Arc<Mutex<State>>);

impl Fs {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn mode_perm(mode: u32, umask: u32) -> u16 {
    ((mode & !umask) & 0o7777) as u16
}

impl Filesystem for Fs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let st = self.state();
        let r = st.check_power().and_then(|()| {
            let ino = *st.dir(parent)?.entries.get(name).ok_or(Errno::ENOENT)?;
            st.attr(ino)
        });
        match r {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let st = self.state();
        match st.check_power().and_then(|()| st.attr(ino.0)) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut st = self.state();
        let r = st.check_power().and_then(|()| {
            if let Some(len) = size {
                st.set_len(ino, len)?;
            }
            if let Some(mode) = mode {
                st.node_mut(ino)?.perm = (mode & 0o7777) as u16;
            }
            st.attr(ino.0)
        });
        match r {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & 0o170000 != 0o100000 {
            return reply.error(Errno::EPERM); // regular files only
        }
        let mut st = self.state();
        let r = st
            .insert(parent, name, Body::File(FileData::new()), mode_perm(mode, umask))
            .and_then(|ino| st.attr(ino));
        match r {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let mut st = self.state();
        let dir = DirData { entries: BTreeMap::new(), durable: BTreeMap::new() };
        let r = st
            .insert(parent, name, Body::Dir(dir), mode_perm(mode, umask))
            .and_then(|ino| st.attr(ino));
        match r {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.state().remove(parent, name, false) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.state().remove(parent, name, true) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        match self.state().rename((parent, name), (newparent, newname), flags) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let st = self.state();
        match st.check_power().and_then(|()| st.node(ino).map(|_| ())) {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let st = self.state();
        let r = st.check_power().and_then(|()| match &st.node(ino)?.body {
            Body::File(f) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(f.data.len());
                let end = start.saturating_add(size as usize).min(f.data.len());
                Ok(&f.data[start..end])
            }
            Body::Dir(_) => Err(Errno::EISDIR),
        });
        match r {
            Ok(bytes) => reply.data(bytes),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.state().write(ino, offset, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok(); // close(2) makes nothing durable
    }

    fn fsync(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _ds: bool, reply: ReplyEmpty) {
        match self.state().fsync(ino) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let st = self.state();
        match st.check_power().and_then(|()| st.dir(ino).map(|_| ())) {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let st = self.state();
        let entries = match st.check_power().and_then(|()| st.dir(ino)) {
            Ok(d) => d,
            Err(e) => return reply.error(e),
        };
        let dots = [(OsStr::new("."), ino.0), (OsStr::new(".."), ino.0)];
        let all = dots.into_iter().chain(entries.entries.iter().map(|(n, i)| (n.as_os_str(), *i)));
        for (i, (name, child)) in all.enumerate().skip(offset as usize) {
            let kind = match st.nodes.get(&child).map(|n| &n.body) {
                Some(Body::Dir(_)) => FileType::Directory,
                _ => FileType::RegularFile,
            };
            if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _ds: bool,
        reply: ReplyEmpty,
    ) {
        match self.state().fsync(ino) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let st = self.state();
        let free = if st.fault == Some(Fault::NoSpace) { 0 } else { 1 << 24 };
        reply.statfs(1 << 24, free, free, 1 << 20, 1 << 20, PAGE as u32, 255, PAGE as u32);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let mut st = self.state();
        let existing = st.dir(parent).ok().and_then(|d| d.entries.get(name).copied());
        let r = match existing {
            Some(_) if flags & O_EXCL != 0 => Err(Errno::EEXIST),
            Some(ino) => st.check_power().and_then(|()| st.attr(ino)),
            None => st
                .insert(parent, name, Body::File(FileData::new()), mode_perm(mode, umask))
                .and_then(|ino| st.attr(ino)),
        };
        match r {
            Ok(attr) => {
                reply.created(&TTL, &attr, Generation(0), FileHandle(0), FopenFlags::empty())
            }
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let mut st = self.state();
        let r = st.check_writable().and_then(|()| {
            if mode & !FALLOC_KEEP_SIZE != 0 {
                return Err(Errno::EOPNOTSUPP); // punch hole, collapse, ...
            }
            let end = offset.checked_add(length).ok_or(Errno::EFBIG)?;
            let len = st.file_mut(ino)?.data.len() as u64;
            if mode & FALLOC_KEEP_SIZE == 0 && end > len {
                st.set_len(ino, end)?;
            }
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}

/// A mounted lazy file system. Unmounted when dropped.
pub struct LazyFs {
    state: Arc<Mutex<State>>,
    mountpoint: PathBuf,
    session: Option<BackgroundSession>,
}

impl LazyFs {
    /// Mounts an empty file system on `mountpoint` (an existing, empty
    /// directory). Needs /dev/fuse and the `fusermount3` binary.
    pub fn mount(mountpoint: &Path) -> io::Result<LazyFs> {
        let mut fs = LazyFs {
            state: Arc::new(Mutex::new(State::new())),
            mountpoint: mountpoint.to_path_buf(),
            session: None,
        };
        fs.session = Some(fs.spawn()?);
        Ok(fs)
    }

    fn spawn(&self) -> io::Result<BackgroundSession> {
        let mut config = Config::default();
        config.mount_options = vec![MountOption::FSName("evidence-testfs".into())];
        fuser::spawn_mount(Fs(self.state.clone()), &self.mountpoint, &config)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    /// Cuts the power: from this instant the "disk" holds only what was
    /// made durable (plus, with [`Loss::Random`], a random part of the
    /// rest), and every operation fails with EIO until [`LazyFs::power_on`].
    /// Kill the processes using the file system before powering on.
    pub fn cut_power(&self, loss: Loss) -> CutReport {
        self.state().cut(loss)
    }

    /// Arms a power cut just before the `after`-th change from now (a
    /// write, truncate, create, mkdir, unlink, rename, fallocate, fsync or
    /// fsyncdir; 0 is the next one), which fails with EIO like everything
    /// after it. Cuts at a chosen operation reach moments a timer rarely
    /// does: between a write and its fsync, a rename and its directory sync.
    pub fn arm_cut(&self, after: u64, loss: Loss) {
        self.state().armed = Some((after, loss));
    }

    /// The report of the latest cut, once one happened (armed or not).
    pub fn last_cut(&self) -> Option<CutReport> {
        self.state().last_cut
    }

    /// Powers on: unmounts (dropping the kernel's caches of the old
    /// contents) and mounts the surviving state again. No process may
    /// still have files open on it.
    pub fn power_on(&mut self) -> io::Result<()> {
        if let Some(s) = self.session.take() {
            match s.umount_and_join() {
                // The old session's loop ended with its connection
                // aborted; make sure no stale mount stays underneath.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {
                    let _ = std::process::Command::new("fusermount3")
                        .args(["-u", "-z"])
                        .arg(&self.mountpoint)
                        .stderr(std::process::Stdio::null())
                        .status();
                }
                other => other?,
            }
        }
        let mut st = self.state();
        st.powered = true;
        st.armed = None;
        st.last_cut = None;
        drop(st);
        self.session = Some(self.spawn()?);
        Ok(())
    }

    /// Injects a fault (or clears it with `None`).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.state().fault = fault;
    }

    /// Bytes written but not yet durable, over all files.
    pub fn unsynced_pages(&self) -> usize {
        self.state()
            .nodes
            .values()
            .map(|n| match &n.body {
                Body::File(f) => f.dirty.len(),
                Body::Dir(_) => 0,
            })
            .sum()
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.umount_and_join();
        }
    }
}

/// When a test cuts the power under a child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// This long after the child printed its first line starting with the
    /// `ready` prefix given to [`run_until_cut`].
    After(Duration, Loss),
    /// Just before the n-th change to the file system from the child's
    /// start (see [`LazyFs::arm_cut`]); its start-up included.
    AtChange(u64, Loss),
}

/// Runs `child` (its stdout is piped here) on `fs` until the power cut
/// `cut` describes, SIGKILLs it, and powers on again. Returns every line
/// the child printed, and what the cut lost. A line printed after the cut
/// is still kept: it can only report what was durable before it.
pub fn run_until_cut(
    fs: &mut LazyFs,
    mut child: std::process::Command,
    ready: &str,
    cut: Cut,
) -> io::Result<(Vec<String>, CutReport)> {
    use std::io::BufRead as _;
    if let Cut::AtChange(n, loss) = cut {
        fs.arm_cut(n, loss);
    }
    let mut proc = child.stdout(std::process::Stdio::piped()).spawn()?;
    let stdout = proc.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let report = match cut {
        Cut::After(delay, loss) => {
            while !lines.iter().any(|l: &String| l.starts_with(ready)) {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => lines.push(line),
                    Err(_) => break, // cut anyway; the caller checks what it got
                }
            }
            std::thread::sleep(delay);
            fs.cut_power(loss)
        }
        Cut::AtChange(..) => loop {
            if let Some(report) = fs.last_cut() {
                break report;
            }
            let exited = proc.try_wait()?.is_some();
            if exited || std::time::Instant::now() > deadline {
                let loss = match cut {
                    Cut::AtChange(_, loss) | Cut::After(_, loss) => loss,
                };
                break fs.cut_power(loss);
            }
            lines.extend(rx.try_iter());
            std::thread::sleep(Duration::from_millis(2));
        },
    };
    let _ = proc.kill(); // SIGKILL: the machine is off (Ok if it exited)
    proc.wait()?;
    let _ = reader.join();
    lines.extend(rx.try_iter());
    fs.power_on()?;
    Ok((lines, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn unsynced_bytes_and_entries_are_lost() {
        let mut st = State::new();
        let dir = INodeNo(ROOT);
        let a = st.insert(dir, name("a"), Body::File(FileData::new()), 0o644).expect("create");
        st.write(INodeNo(a), 0, b"synced").expect("write");
        st.fsync(INodeNo(a)).expect("fsync");
        st.write(INodeNo(a), 6, b" and not").expect("write");
        // The file's entry was never made durable: the file is gone.
        let report = st.cut(Loss::Unsynced);
        assert_eq!(report.nodes_lost, 1);
        assert!(st.dir(dir).expect("root").entries.is_empty());
    }

    #[test]
    fn synced_file_in_synced_directory_survives_without_its_tail() {
        let mut st = State::new();
        let dir = INodeNo(ROOT);
        let a = INodeNo(st.insert(dir, name("a"), Body::File(FileData::new()), 0o644).expect("c"));
        st.write(a, 0, &vec![7u8; 10_000]).expect("write");
        st.fsync(a).expect("fsync");
        st.fsync(dir).expect("fsyncdir");
        st.write(a, 10_000, b"tail").expect("write");
        st.set_len(a, 5).expect("truncate");
        st.cut(Loss::Unsynced);
        st.powered = true;
        let Body::File(f) = &st.node(a).expect("a").body else { panic!("not a file") };
        assert_eq!(f.data, vec![7u8; 10_000]);
    }

    #[test]
    fn rename_without_directory_fsync_is_undone() {
        let mut st = State::new();
        let dir = INodeNo(ROOT);
        let a = st.insert(dir, name("tmp"), Body::File(FileData::new()), 0o644).expect("c");
        st.fsync(dir).expect("fsyncdir");
        st.rename((dir, name("tmp")), (dir, name("final")), RenameFlags::empty()).expect("mv");
        st.cut(Loss::Unsynced);
        let entries = &st.dir(dir).expect("root").entries;
        assert_eq!(entries.get(name("tmp")), Some(&a));
        assert!(!entries.contains_key(name("final")));
    }

    #[test]
    fn random_loss_keeps_whole_pages_only() {
        let mut st = State::new();
        let dir = INodeNo(ROOT);
        let a = INodeNo(st.insert(dir, name("a"), Body::File(FileData::new()), 0o644).expect("c"));
        st.fsync(dir).expect("fsyncdir");
        st.fsync(a).expect("fsync");
        st.write(a, 0, &vec![1u8; 8 * PAGE]).expect("write");
        let report = st.cut(Loss::Random(42));
        assert_eq!(report.pages_kept + report.pages_lost, 9); // 8 pages + the length page
        let Body::File(f) = &st.node(a).expect("a").body else { panic!("not a file") };
        for chunk in f.data.chunks(PAGE) {
            assert!(chunk.iter().all(|b| *b == 1) || chunk.iter().all(|b| *b == 0));
        }
    }

    #[test]
    fn armed_cut_happens_at_the_chosen_change() {
        let mut st = State::new();
        let dir = INodeNo(ROOT);
        let a = INodeNo(st.insert(dir, name("a"), Body::File(FileData::new()), 0o644).expect("c"));
        st.fsync(dir).expect("fsyncdir");
        st.armed = Some((2, Loss::Unsynced));
        st.write(a, 0, b"one").expect("change 0");
        st.fsync(a).expect("change 1");
        assert_eq!(st.write(a, 3, b"two"), Err(Errno::EIO)); // change 2: the cut
        assert!(st.last_cut.is_some() && !st.powered);
        let Body::File(f) = &st.node(a).expect("a").body else { panic!("not a file") };
        assert_eq!(f.data, b"one");
    }

    #[test]
    fn faults_and_power_off_refuse_writes() {
        let mut st = State::new();
        let dir = INodeNo(ROOT);
        st.fault = Some(Fault::NoSpace);
        assert_eq!(
            st.insert(dir, name("a"), Body::File(FileData::new()), 0o644),
            Err(Errno::ENOSPC)
        );
        st.fault = None;
        let a = INodeNo(st.insert(dir, name("a"), Body::File(FileData::new()), 0o644).expect("c"));
        st.fsync(dir).expect("fsyncdir");
        st.cut(Loss::Unsynced);
        assert_eq!(st.write(a, 0, b"x"), Err(Errno::EIO));
        assert_eq!(st.fsync(a), Err(Errno::EIO));
    }
}
