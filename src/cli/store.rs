//! The store and its data directory: `init`, `migrate`, `status`,
//! `rotate-master-key`, and `tiles publish` to object storage.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use ledger::{Ledger, StoreConfig};

use crate::cmd::{look, runtime, CliResult};

#[derive(Subcommand)]
pub(super) enum TilesCommand {
    /// Upload the current checkpoint's tiles, entry bundles and then
    /// `checkpoint` to an S3-compatible bucket, incrementally (read-only on
    /// the store; works beside a running server). Credentials and region
    /// from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
    Publish {
        #[arg(long)]
        data: PathBuf,
        /// s3://BUCKET[/PREFIX]; the bucket must exist.
        #[arg(long)]
        to: String,
        /// The S3 endpoint (e.g. http://127.0.0.1:8333 or https://s3.example.com);
        /// AWS's when omitted (or AWS_ENDPOINT).
        #[arg(long)]
        endpoint: Option<String>,
        /// Allow a plain-http endpoint.
        #[arg(long)]
        allow_http: bool,
    },
}

/// `init`: creates the log key and the store (RocksDB in DIR/db, or the
/// PostgreSQL database at `store`).
pub(super) fn init(
    data: &Path,
    origin: &str,
    store: Option<&str>,
    (log_key, master_key): (Option<&str>, Option<&str>),
    suite: &str,
) -> CliResult {
    let suite = verifier::suite::Suite::parse(suite).map_err(|e| format!("--suite: {e}"))?;
    let config = match store {
        Some(s) => StoreConfig::parse(s).map_err(|e| e.to_string())?,
        None => StoreConfig::RocksDb,
    };
    let uri = |u: Option<&str>| u.map(ledger::pkcs11::Pkcs11Uri::parse).transpose();
    let keys = ledger::InitKeys {
        log_key: uri(log_key).map_err(|e| format!("--log-key: {e}"))?,
        master_key: uri(master_key).map_err(|e| format!("--master-key: {e}"))?,
        suite,
    };
    let vkey = Ledger::init_with_keys(data, origin, &config, &keys).map_err(|e| e.to_string())?;
    println!("initialised {}\nlog vkey: {vkey}\nsuite: {suite}", data.display());
    Ok(())
}

/// `migrate`: a PostgreSQL database's schema migrations, or a RocksDB
/// store opened (which creates the column families a newer build adds).
pub(super) fn migrate(data: Option<&Path>, store: Option<&str>) -> CliResult {
    let config = match (store, data) {
        (Some(s), _) => StoreConfig::parse(s).map_err(|e| e.to_string())?,
        (None, Some(d)) => ledger::configured_store(d).map_err(|e| e.to_string())?,
        (None, None) => return Err("migrate: --data or --store".into()),
    };
    match (config, data) {
        (StoreConfig::Postgres { url, .. }, _) => {
            let (before, after) = ledger::pg::migrate(&url).map_err(|e| e.to_string())?;
            if before == after {
                println!("schema version {after}: up to date");
            } else {
                println!("schema migrated from version {before} to {after}");
            }
        }
        (StoreConfig::RocksDb, Some(d)) => {
            let dir = d.join("db");
            if !dir.exists() {
                return Err(format!("{} has no store: run init first", d.display()));
            }
            ledger::store::Store::open(&dir).map_err(|e| e.to_string())?;
            println!("RocksDB store in {}: every column family present", dir.display());
        }
        (StoreConfig::RocksDb, None) => return Err("migrate: a RocksDB store needs --data".into()),
    }
    Ok(())
}

/// `status`: the log's origin, vkey, size, root and checkpoint.
pub(super) fn status(data: &Path) -> CliResult {
    let l = look(data)?;
    let s = l.status();
    println!(
        "origin: {}\nvkey: {}\ntree size: {}\nroot: {}",
        s.origin, s.vkey, s.tree_size, s.root
    );
    print!("checkpoint:\n{}", s.checkpoint);
    Ok(())
}

/// `rotate-master-key --data`: re-wraps every document key under a new
/// master key (a file, or in the token `to` names) and destroys the old.
pub(super) fn rotate_master_key(data: &Path, to: Option<&str>) -> CliResult {
    let to =
        to.map(ledger::pkcs11::Pkcs11Uri::parse).transpose().map_err(|e| format!("--to: {e}"))?;
    let st = ledger::rotate_offline(data, to).map_err(|e| e.to_string())?;
    let place = if st.current_in_token { "a PKCS#11 token key" } else { "a key file" };
    println!(
        "master key rotated: {} keys re-wrapped under epoch {} ({place}); the old key is gone, \
         and backups taken before cannot be opened with the new one",
        st.rewrapped, st.current_epoch
    );
    Ok(())
}

/// `tiles publish`: uploads the current checkpoint's tiles to a bucket.
pub(super) fn tiles(command: TilesCommand) -> CliResult {
    let TilesCommand::Publish { data, to, endpoint, allow_http } = command;
    let target = crate::publish::Target::parse(&to)?;
    let store = target.s3(endpoint.as_deref(), allow_http)?;
    let ledger = look(&data)?;
    let started = std::time::Instant::now();
    let p = runtime()?.block_on(crate::publish::publish(&ledger, &store, &target))?;
    println!(
        "published checkpoint of size {} to {to} (previously {}): {} tiles, {} bytes, {:.1?}",
        p.size,
        p.previous,
        p.tiles,
        p.bytes,
        started.elapsed()
    );
    Ok(())
}
