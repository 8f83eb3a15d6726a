//! The public verifier page (`GET /verify`): static files compiled into the
//! binary, so the page needs nothing from the internet and no file on disk.
//!
//! The page verifies in the browser (web/verifier.js is a second, independent
//! implementation of docs/bundle-format.md) and hashes the contract locally;
//! the only requests it makes go back to this service (the CSP enforces it).

use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::Answer;
use crate::error::ApiError;

/// The Content-Security-Policy of every page file: our own scripts and
/// styles only, no inline code, requests only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file of the page: URL name, content type, bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "verify.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verify.js"),
    },
    Asset {
        name: "verifier.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier.js"),
    },
    Asset {
        name: "i18n.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/i18n.js"),
    },
    Asset {
        name: "verify.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../web/verify.css"),
    },
];

const PAGE: &str = include_str!("../../web/verify.html");

/// `GET /verify` (and `/verify/`): the page.
pub(crate) fn page() -> Answer {
    Ok(file("text/html; charset=utf-8", PAGE))
}

/// `GET /verify/{name}`: one of the page's scripts or its style sheet.
pub(crate) fn asset(name: &str) -> Answer {
    if name.is_empty() {
        return page();
    }
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| file(a.content_type, a.body))
        .ok_or_else(|| ApiError::not_found(format!("no page file {name:?}")))
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = warp::reply::with_status(body, StatusCode::OK).into_response();
    let h = r.headers_mut();
    let set = |h: &mut warp::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, warp::http::HeaderValue::from_static(v));
    };
    set(h, "content-type", content_type);
    set(h, "content-security-policy", CONTENT_SECURITY_POLICY);
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-frame-options", "DENY");
    // The page changes with the binary; revalidating is cheap and keeps an
    // upgraded service from running an old verifier out of a cache.
    set(h, "cache-control", "no-cache");
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serves_each_file_with_the_policy() {
        for name in ["", "verify.js", "verifier.js", "i18n.js", "verify.css"] {
            let r = asset(name).unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let csp = r.headers()["content-security-policy"].to_str().unwrap();
            assert!(csp.starts_with("default-src 'self'; connect-src 'self'"));
        }
        assert_eq!(asset("../Cargo.toml").unwrap_err().status.as_u16(), 404);
    }

    #[test]
    fn page_loads_nothing_from_elsewhere() {
        for body in std::iter::once(PAGE).chain(ASSETS.iter().map(|a| a.body)) {
            assert!(!body.contains("http://") && !body.contains("https://"));
        }
    }
}
