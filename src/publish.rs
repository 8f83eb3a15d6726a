//! Publishes the log's C2SP tlog-tiles (docs/tiles.md) to an S3-compatible
//! object store, so that the bucket (or a CDN or a court's mirror in front
//! of it) serves `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` and
//! `/tile/entries/<N>[.p/<W>]` exactly as the service does, without it.
//!
//! The object keys are the tile paths under an optional prefix. One run
//! publishes the checkpoint `GET /checkpoint` serves (the newest anchored
//! one when anchoring is on, else the newest log-signed one). Uploads go in
//! this order, so a reader never sees a checkpoint whose tiles are missing:
//!
//! 1. the full tiles and entry bundles completed since the last run;
//! 2. the partial tiles and bundle of the checkpoint's right edge;
//! 3. `checkpoint`;
//! 4. the state object [`STATE_KEY`] (origin, size and root of what is
//!    published), which makes the next run incremental.
//!
//! A run that stops half way leaves the old checkpoint in place, and the
//! next run starts again from the old state (uploads are idempotent: a
//! tile's bytes never change). The state is checked first: a bucket
//! holding another log, a bigger tree or another root at its size is
//! refused (a restored, rolled-back or forked store must not overwrite
//! immutable tiles a mirror may have copied).

use futures_util::stream::{self, StreamExt, TryStreamExt};
use ledger::tiles::{tiles_between, TileId};
use ledger::Ledger;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::api::tiles::{CHECKPOINT, IMMUTABLE, PARTIAL};

/// The key (under the prefix) of the publisher's state object.
pub const STATE_KEY: &str = "evidence-ledger-publish.json";
/// Uploads in flight at once.
const CONCURRENCY: usize = 16;

/// Where to publish: `s3://BUCKET[/PREFIX]` and the S3 endpoint.
#[derive(Clone, Debug)]
pub struct Target {
    /// The bucket (which must exist).
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (empty: the bucket root).
    pub prefix: String,
}

impl Target {
    /// Parses `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("s3://").ok_or("--to: expected s3://BUCKET[/PREFIX]")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("--to: no bucket in s3://BUCKET[/PREFIX]".into());
        }
        let prefix = prefix.trim_matches('/').to_string();
        if !prefix.is_empty() {
            ObjectPath::parse(&prefix).map_err(|e| format!("--to: prefix {prefix:?}: {e}"))?;
        }
        Ok(Target { bucket: bucket.to_string(), prefix })
    }

    /// The object key of `path` (a tile path, `checkpoint` or the state).
    pub fn key(&self, path: &str) -> Result<ObjectPath, String> {
        let full = if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        };
        ObjectPath::parse(&full).map_err(|e| format!("object key {full:?}: {e}"))
    }

    /// An S3 client for this bucket: credentials and region from the
    /// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, ...), path-style requests to `endpoint` when given.
    pub fn s3(&self, endpoint: Option<&str>, allow_http: bool) -> Result<impl ObjectStore, String> {
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&self.bucket);
        if let Some(e) = endpoint {
            b = b.with_endpoint(e);
        }
        if allow_http {
            b = b.with_allow_http(true);
        }
        b.build().map_err(|e| format!("S3 client: {e}"))
    }
}

/// What the bucket holds, as the state object records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishState {
    /// The log's origin.
    pub origin: String,
    /// Size of the published checkpoint.
    pub size: u64,
    /// Its root, hex.
    pub root: String,
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct Published {
    /// Size of the checkpoint published before this run (0: none).
    pub previous: u64,
    /// Size of the checkpoint now published.
    pub size: u64,
    /// Tiles and bundles uploaded (the checkpoint and state not counted).
    pub tiles: usize,
    /// Bytes of those tiles.
    pub bytes: u64,
}

/// The checkpoint `GET /checkpoint` serves, and its size.
pub fn current_checkpoint(ledger: &Ledger) -> Result<(String, u64), String> {
    let config = anchor::AnchorConfig::load(ledger).map_err(|e| e.to_string())?;
    if config.is_active() {
        if let Some(a) =
            anchor::store::latest_anchored(ledger, &config).map_err(|e| e.to_string())?
        {
            return Ok((a.note, a.size));
        }
    }
    let s = ledger.status();
    Ok((s.checkpoint.to_string(), s.tree_size))
}

async fn put(
    store: &dyn ObjectStore,
    key: &ObjectPath,
    body: Vec<u8>,
    content_type: &'static str,
    cache: &'static str,
) -> Result<(), String> {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, content_type.into());
    attributes.insert(Attribute::CacheControl, cache.into());
    let opts = PutOptions { attributes, ..PutOptions::default() };
    store
        .put_opts(key, PutPayload::from(body), opts)
        .await
        .map(|_| ())
        .map_err(|e| format!("PUT {key}: {e}"))
}

/// Reads the state object, if any.
pub async fn read_state(
    store: &dyn ObjectStore,
    target: &Target,
) -> Result<Option<PublishState>, String> {
    let key = target.key(STATE_KEY)?;
    match store.get(&key).await {
        Ok(r) => {
            let b = r.bytes().await.map_err(|e| format!("GET {key}: {e}"))?;
            serde_json::from_slice(&b).map(Some).map_err(|e| format!("{key}: {e}"))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(format!("GET {key}: {e}")),
    }
}

/// Publishes the current checkpoint and every tile it needs that the bucket
/// does not hold yet (see the module documentation for the order).
pub async fn publish(
    ledger: &Ledger,
    store: &dyn ObjectStore,
    target: &Target,
) -> Result<Published, String> {
    let (note, size) = current_checkpoint(ledger)?;
    let root = ledger.root_at(size).map_err(|e| e.to_string())?.to_hex();
    let previous = match read_state(store, target).await? {
        None => 0,
        Some(st) => {
            if st.origin != ledger.origin() {
                return Err(format!(
                    "the bucket holds the tiles of log {:?}, not {:?}: choose another prefix",
                    st.origin,
                    ledger.origin()
                ));
            }
            if st.size > size {
                return Err(format!(
                    "the bucket holds a checkpoint of size {}, bigger than this store's {size} \
                     (a restored or rolled-back store?): refusing to publish",
                    st.size
                ));
            }
            let ours = ledger.root_at(st.size).map_err(|e| e.to_string())?.to_hex();
            if ours != st.root {
                return Err(format!(
                    "the bucket's tree of size {} has root {}, this store's has {ours}: \
                     a different history; refusing to overwrite its tiles",
                    st.size, st.root
                ));
            }
            st.size
        }
    };

    let ids = tiles_between(previous, size);
    let bytes = stream::iter(ids.iter().copied())
        .map(|id: TileId| async move {
            let body = ledger.tile(&id).map_err(|e| format!("tile {}: {e}", id.path()))?;
            let len = body.len() as u64;
            let cache = if id.is_full() { IMMUTABLE } else { PARTIAL };
            put(store, &target.key(&id.path())?, body, "application/octet-stream", cache).await?;
            Ok::<u64, String>(len)
        })
        .buffer_unordered(CONCURRENCY)
        .try_fold(0u64, |sum, n| async move { Ok(sum + n) })
        .await?;

    // The tiles are all in place: now the checkpoint, then the state.
    let key = target.key("checkpoint")?;
    put(store, &key, note.into_bytes(), "text/plain; charset=utf-8", CHECKPOINT).await?;
    let state = PublishState { origin: ledger.origin().to_string(), size, root };
    let body = serde_json::to_vec_pretty(&state).map_err(|e| e.to_string())?;
    put(store, &target.key(STATE_KEY)?, body, "application/json", "no-store").await?;
    Ok(Published { previous, size, tiles: ids.len(), bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("s3://bkt").expect("bucket");
        assert_eq!((t.bucket.as_str(), t.prefix.as_str()), ("bkt", ""));
        assert_eq!(t.key("tile/0/000").expect("key").as_ref(), "tile/0/000");
        let t = Target::parse("s3://bkt/logs/court/").expect("prefix");
        assert_eq!(t.prefix, "logs/court");
        assert_eq!(
            t.key("tile/0/x001/000.p/3").expect("key").as_ref(),
            "logs/court/tile/0/x001/000.p/3"
        );
        assert!(Target::parse("bkt/x").is_err());
        assert!(Target::parse("s3:///x").is_err());
    }
}
