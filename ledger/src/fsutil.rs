//! Files outside RocksDB (the data directory, the log key) made durable the
//! way POSIX requires: fsync(2) makes a file's bytes durable, not its name;
//! a new name is durable only once its directory is fsync'd too.

use std::fs::File;
use std::io;
use std::path::Path;

/// fsyncs the directory `dir`, making the names in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `create_dir_all`, then fsyncs the parent of every directory it created,
/// so that the whole path survives a power cut.
pub fn create_dir_all_durable(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    std::fs::create_dir_all(dir)?;
    for created in missing {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    Ok(())
}
