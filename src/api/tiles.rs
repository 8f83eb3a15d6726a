//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): `GET /checkpoint`,
//! `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`, so that
//! a static file server or CDN in front of the log can serve every proof.
//! Paths are parsed strictly (only the one canonical spelling of a tile is
//! accepted: 400 otherwise) and a tile the committed tree does not hold
//! whole is 404.

use ledger::tiles::{TileId, TileKind, MAX_TILE_LEVEL, TILE_WIDTH};
use warp::http::HeaderValue;
use warp::reply::Response;

use super::{public, Answer, AppState};
use crate::error::ApiError;

/// Cache-Control of full tiles and bundles: their bytes never change.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of partial tiles and bundles: a static deployment may
/// drop them once the full tile exists.
pub(crate) const PARTIAL: &str = "public, max-age=60";
/// Cache-Control of `/checkpoint` (C2SP: no caching beyond a few seconds).
pub(crate) const CHECKPOINT: &str = "public, max-age=5";

/// Most 3-digit groups in `<N>`: u64::MAX has 20 digits.
const MAX_GROUPS: usize = 7;

/// `GET /checkpoint`: the note `GET /v1/checkpoint` serves.
pub(crate) fn checkpoint(state: &AppState) -> Answer {
    let mut r = public::checkpoint(state)?;
    r.headers_mut().insert("cache-control", HeaderValue::from_static(CHECKPOINT));
    Ok(r)
}

/// `GET /tile/...` once parsed: the tile's bytes (read on the blocking pool).
pub(crate) fn get(state: &AppState, id: TileId) -> Answer {
    let bytes = state.ledger.tile(&id)?;
    let mut r = Response::new(bytes.into());
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/octet-stream"));
    let cache = if id.is_full() { IMMUTABLE } else { PARTIAL };
    h.insert("cache-control", HeaderValue::from_static(cache));
    Ok(r)
}

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request("bad_tile_path", format!("malformed tile path: {what}"))
}

/// Parses the segments after `tile`: `<L>/<N>[.p/<W>]` or
/// `entries/<N>[.p/<W>]`, where `<N>` is 3-digit groups, all but the last
/// prefixed with `x`, with no leading zero group; `<L>` is 0..=63 and `<W>`
/// 1..=255, both decimal with no leading zeros.
pub(crate) fn parse(segments: &[&str]) -> Result<TileId, ApiError> {
    let (first, rest) = segments.split_first().ok_or_else(|| malformed("no level"))?;
    let kind = if *first == "entries" {
        TileKind::Entries
    } else {
        let level = decimal(first).ok_or_else(|| malformed("level"))?;
        if level > u64::from(MAX_TILE_LEVEL) {
            return Err(malformed("level above 63"));
        }
        TileKind::Hashes { level: level as u8 }
    };
    let mut groups: Vec<&str> = rest.to_vec();
    let mut width = TILE_WIDTH;
    if groups.len() >= 2 {
        if let Some(stripped) = groups[groups.len() - 2].strip_suffix(".p") {
            let w = decimal(groups[groups.len() - 1]).ok_or_else(|| malformed("width"))?;
            if !(1..u64::from(TILE_WIDTH)).contains(&w) {
                return Err(malformed("partial width not in 1..=255"));
            }
            width = w as u32;
            let n = groups.len();
            groups[n - 2] = stripped;
            groups.truncate(n - 1);
        }
    }
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        return Err(malformed("index"));
    }
    let last = groups.len() - 1;
    let mut index: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = if i < last { g.strip_prefix('x') } else { Some(*g) };
        let digits = digits.ok_or_else(|| malformed("index group without x"))?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("index group"));
        }
        let v: u64 = digits.parse().map_err(|_| malformed("index group"))?;
        if i == 0 && last > 0 && v == 0 {
            return Err(malformed("index with a leading zero group"));
        }
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(v))
            .ok_or_else(|| malformed("index overflows"))?;
    }
    Ok(TileId { kind, index, width })
}

/// A decimal with no sign and no leading zeros, at most 3 digits.
fn decimal(s: &str) -> Option<u64> {
    let ok = !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

/// The canonical path of a tile (without the leading `/`), as [`parse`]
/// reads it back.
#[cfg(test)]
fn path(id: &TileId) -> String {
    id.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Result<TileId, ApiError> {
        let segs: Vec<&str> = path.split('/').collect();
        assert_eq!(segs[0], "tile");
        parse(&segs[1..])
    }

    #[test]
    fn canonical_paths_round_trip() {
        let h = |level, index, width| TileId { kind: TileKind::Hashes { level }, index, width };
        let cases = [
            ("tile/0/000", h(0, 0, 256)),
            ("tile/0/001.p/1", h(0, 1, 1)),
            ("tile/4/x001/x234/067", h(4, 1_234_067, 256)),
            ("tile/4/x001/x234/067.p/255", h(4, 1_234_067, 255)),
            ("tile/63/999", h(63, 999, 256)),
            ("tile/1/x001/000", h(1, 1000, 256)),
            (
                "tile/entries/x018/x446/x744/x073/x709/x551/615",
                TileId { kind: TileKind::Entries, index: u64::MAX, width: 256 },
            ),
            ("tile/entries/273.p/112", TileId { kind: TileKind::Entries, index: 273, width: 112 }),
        ];
        for (path, id) in cases {
            assert_eq!(p(path).expect("parses"), id, "{path}");
            assert_eq!(super::path(&id), path);
        }
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "tile",
            "tile/0",
            "tile/0/",
            "tile/0/1",
            "tile/0/01",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/x002",
            "tile/0/x001",
            "tile/0/-01",
            "tile/0/+01",
            "tile/00/000",
            "tile/64/000",
            "tile/8/001/",
            "tile/data/000",
            "tile/8/0/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/01",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.p/1/2",
            "tile/entries/000.p/1000",
            "tile/entries/x018/x446/x744/x073/x709/x551/616",
            "tile/entries/x001/x018/x446/x744/x073/x709/x551/615",
            "tile/0/X001/000",
            "tile/0/x1/000",
        ] {
            assert!(p(bad).is_err(), "{bad} accepted");
        }
    }
}
