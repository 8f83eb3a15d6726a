//! The public verifier page (`GET /verify`): static files compiled into the
//! binary, so the page needs nothing from the internet and no file on disk.
//!
//! The page verifies in the browser (web/verifier.js is a second, independent
//! implementation of docs/bundle-format.md, as ES modules under web/verifier/
//! served at `/verify/verifier/...`, with PKI.js and asn1js for its RFC 3161
//! checks at `/verify/vendor/pki.js`) and hashes the contract locally; the only
//! requests it makes go back to this service (the CSP enforces it).

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
        name: "verify-pdf.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verify-pdf.js"),
    },
    Asset {
        name: "verifier.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier.js"),
    },
    Asset {
        name: "verifier/error.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/error.js"),
    },
    Asset {
        name: "verifier/std.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/std.js"),
    },
    Asset {
        name: "verifier/hash.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/hash.js"),
    },
    Asset {
        name: "verifier/jcs.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/jcs.js"),
    },
    Asset {
        name: "verifier/ed25519.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/ed25519.js"),
    },
    Asset {
        name: "verifier/note.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/note.js"),
    },
    Asset {
        name: "verifier/checkpoint.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/checkpoint.js"),
    },
    Asset {
        name: "verifier/cosignature.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/cosignature.js"),
    },
    Asset {
        name: "verifier/proof.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/proof.js"),
    },
    Asset {
        name: "verifier/entry.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/entry.js"),
    },
    Asset {
        name: "verifier/attest.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/attest.js"),
    },
    Asset {
        name: "verifier/v2.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/v2.js"),
    },
    Asset {
        name: "verifier/v3.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/v3.js"),
    },
    Asset {
        name: "verifier/tsa.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/tsa.js"),
    },
    Asset {
        name: "verifier/tsa/asn1.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/tsa/asn1.js"),
    },
    Asset {
        name: "verifier/tsa/crypto.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/tsa/crypto.js"),
    },
    Asset {
        name: "verifier/tsa/chain.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/tsa/chain.js"),
    },
    // PKI.js and asn1js, bundled by scripts/vendor-web (web/vendor/package-lock.json).
    Asset {
        name: "vendor/pki.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/vendor/pki.js"),
    },
    // The national suite (sm2-sm3): SM3 trees and SM2 signatures, SM2
    // signed notes, and keys of either suite; sm-crypto bundled by
    // scripts/vendor-web.
    Asset {
        name: "verifier/sm.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/sm.js"),
    },
    Asset {
        name: "verifier/sm2note.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/sm2note.js"),
    },
    Asset {
        name: "verifier/anykey.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/anykey.js"),
    },
    Asset {
        name: "verifier/x509sm2.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/x509sm2.js"),
    },
    Asset {
        name: "vendor/sm-crypto.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/vendor/sm-crypto.js"),
    },
    Asset {
        name: "verifier/policy.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/policy.js"),
    },
    Asset {
        name: "verifier/report.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/report.js"),
    },
    Asset {
        name: "verifier/verdict.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/verdict.js"),
    },
    Asset {
        name: "verifier/bundle.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle.js"),
    },
    Asset {
        name: "verifier/bundle/decode.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/decode.js"),
    },
    Asset {
        name: "verifier/bundle/content.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/content.js"),
    },
    Asset {
        name: "verifier/bundle/commitments.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/commitments.js"),
    },
    Asset {
        name: "verifier/bundle/completeness.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/completeness.js"),
    },
    Asset {
        name: "verifier/bundle/signatures.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/signatures.js"),
    },
    Asset {
        name: "verifier/bundle/attestations.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/attestations.js"),
    },
    Asset {
        name: "verifier/bundle/timeline.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/timeline.js"),
    },
    Asset {
        name: "verifier/bundle/timestamps.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/bundle/timestamps.js"),
    },
    Asset {
        name: "verifier/consistency.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/consistency.js"),
    },
    Asset {
        name: "verifier/lookup.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/lookup.js"),
    },
    Asset {
        name: "verifier/pdf.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/pdf.js"),
    },
    Asset {
        name: "verifier/pdf/objects.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/pdf/objects.js"),
    },
    Asset {
        name: "verifier/pdf/xref.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/pdf/xref.js"),
    },
    Asset {
        name: "verifier/pdf/structure.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/pdf/structure.js"),
    },
    Asset {
        name: "verifier/pdf/cms.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/verifier/pdf/cms.js"),
    },
    Asset {
        name: "i18n.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/i18n.js"),
    },
    Asset {
        name: "i18n-pdf.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/i18n-pdf.js"),
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

/// `GET /verify/{name}`: one of the page's scripts or its style sheet
/// (`name` may be `verifier/<path>.js`, a module of web/verifier.js).
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
        let modules = [
            "verifier/error.js",
            "verifier/std.js",
            "verifier/hash.js",
            "verifier/jcs.js",
            "verifier/ed25519.js",
            "verifier/note.js",
            "verifier/checkpoint.js",
            "verifier/cosignature.js",
            "verifier/proof.js",
            "verifier/entry.js",
            "verifier/attest.js",
            "verifier/v2.js",
            "verifier/v3.js",
            "verifier/tsa.js",
            "verifier/tsa/asn1.js",
            "verifier/tsa/crypto.js",
            "verifier/tsa/chain.js",
            "vendor/pki.js",
            "verifier/sm.js",
            "verifier/sm2note.js",
            "verifier/anykey.js",
            "verifier/x509sm2.js",
            "vendor/sm-crypto.js",
            "verifier/policy.js",
            "verifier/report.js",
            "verifier/verdict.js",
            "verifier/bundle.js",
            "verifier/bundle/decode.js",
            "verifier/bundle/content.js",
            "verifier/bundle/commitments.js",
            "verifier/bundle/completeness.js",
            "verifier/bundle/signatures.js",
            "verifier/bundle/attestations.js",
            "verifier/bundle/timeline.js",
            "verifier/bundle/timestamps.js",
            "verifier/consistency.js",
            "verifier/lookup.js",
            "verifier/pdf.js",
            "verifier/pdf/objects.js",
            "verifier/pdf/xref.js",
            "verifier/pdf/structure.js",
            "verifier/pdf/cms.js",
        ];
        let files = [
            "",
            "verify.js",
            "verify-pdf.js",
            "verifier.js",
            "i18n.js",
            "i18n-pdf.js",
            "verify.css",
        ];
        for name in files.into_iter().chain(modules) {
            let r = asset(name).unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{name}");
            if name.ends_with(".js") {
                let kind = r.headers()["content-type"].to_str().unwrap();
                assert!(kind.starts_with("text/javascript"), "{name}: {kind}");
            }
            let csp = r.headers()["content-security-policy"].to_str().unwrap();
            assert!(csp.starts_with("default-src 'self'; connect-src 'self'"));
        }
        assert_eq!(asset("../Cargo.toml").unwrap_err().status.as_u16(), 404);
        assert_eq!(asset("verifier/nope.js").unwrap_err().status.as_u16(), 404);
    }

    #[test]
    fn page_loads_nothing_from_elsewhere() {
        for body in std::iter::once(PAGE).chain(ASSETS.iter().map(|a| a.body)) {
            assert!(!body.contains("http://") && !body.contains("https://"));
        }
    }
}
