//! The docs against the code, without a server: every error code the
//! service can answer is in `Error.code` of docs/openapi.yaml and in the
//! error table of docs/api.md (and nothing else is), and every route of
//! the router (`dispatch` in src/api/mod.rs) is a path of openapi.yaml.
//!
//! Both lists are read from the source text, so a new code or route that
//! is not documented fails here. The examples themselves run against a
//! live server in tests/docs_examples.rs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of `src` from byte `start` up to the `)` that
/// closes the call whose `(` is just before `start`.
fn call_literals(src: &str, start: usize) -> Vec<String> {
    let bytes = src.as_bytes();
    let (mut depth, mut i, mut out) = (1usize, start, Vec::new());
    while i < bytes.len() && depth > 0 {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'"' => {
                let end = literal_end(bytes, i + 1);
                out.push(src[i + 1..end].to_string());
                i = end;
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2, // a char literal
            _ => {}
        }
        i += 1;
    }
    out
}

fn literal_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Every error code the service can answer, read from its source: the
/// code argument of each `ApiError::new`, `Self::new` and `bad_request`
/// call, the codes of `ApiError::overloaded`, `not_found` and `internal`,
/// and the connection limiter's canned answer (notary-bridge's HTTP
/// server, which the service runs on).
fn codes_in_code() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&repo().join("src"), &mut files);
    let mut codes = BTreeSet::new();
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap();
        for marker in ["ApiError::new(", "Self::new(", "bad_request("] {
            for (at, _) in src.match_indices(marker) {
                let literals = call_literals(&src, at + marker.len());
                if let Some(first) = literals.first().filter(|l| is_code(l)) {
                    codes.insert(first.clone());
                }
            }
        }
        if let Some(at) = src.find("let code = if") {
            let stmt = &src[at..at + src[at..].find(';').unwrap()];
            for piece in stmt.split('"').skip(1).step_by(2) {
                codes.insert(piece.to_string());
            }
        }
    }
    let error_rs = read("src/error.rs");
    for (helper, code) in [("pub fn not_found", "not_found"), ("pub fn internal", "internal")] {
        let at = error_rs.find(helper).unwrap_or_else(|| panic!("{helper} moved"));
        let body = &error_rs[at..at + error_rs[at..].find("\n    }").unwrap()];
        assert!(body.contains(&format!("\"{code}\"")), "{helper} no longer answers {code}");
        codes.insert(code.to_string());
    }
    let http = read("notary-bridge/src/http.rs");
    for (at, _) in http.match_indices("\\\"code\\\":\\\"") {
        let rest = &http[at + 11..];
        codes.insert(rest[..rest.find('\\').unwrap()].to_string());
    }
    codes
}

/// The `code` enum of the `Error` schema of openapi.yaml.
fn codes_in_openapi() -> BTreeSet<String> {
    let yaml = read("docs/openapi.yaml");
    let at = yaml.find("\n    Error:\n").expect("schema Error");
    let rest = &yaml[at..];
    let start = rest.find("enum: [").expect("Error.code enum") + "enum: [".len();
    let end = start + rest[start..].find(']').unwrap();
    rest[start..end].split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect()
}

/// The codes of the error table of api.md: the second column of each
/// row whose first column is a status.
fn codes_in_api_md() -> BTreeSet<String> {
    let md = read("docs/api.md");
    let at = md.find("| Status | `code` | When |").expect("api.md error table");
    md[at..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('|').nth(2).unwrap().trim().trim_matches('`').to_string())
        .collect()
}

#[test]
fn every_error_code_of_the_code_is_documented_and_no_other() {
    let code = codes_in_code();
    for known in
        ["malformed", "erased", "rate_limited", "busy", "audit_running", "too_many_connections"]
    {
        assert!(code.contains(known), "the scan missed {known}: {code:?}");
    }
    let openapi = codes_in_openapi();
    assert_eq!(
        code.difference(&openapi).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "codes the service answers that openapi.yaml's Error.code lacks"
    );
    assert_eq!(
        openapi.difference(&code).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "codes in openapi.yaml's Error.code that the service never answers"
    );
    let md = codes_in_api_md();
    assert_eq!(md, code, "api.md's error table and the code disagree");
}

/// One route of the router: method and path, each variable segment as
/// `{}`.
fn routes_in_code() -> BTreeSet<(String, String)> {
    let src = read("src/api/mod.rs");
    let start = src.find("match segments.as_slice() {").expect("the router");
    let end = start + src[start..].find("_ => (\"unknown\"").expect("its fallback");
    let mut routes = BTreeSet::new();
    for line in src[start..end].lines().map(str::trim).filter(|l| l.starts_with('[')) {
        let close = line.find(']').unwrap();
        let method = if line[close..].contains("if get") {
            "get"
        } else if line[close..].contains("if post") {
            "post"
        } else if line[close..].contains("if put") {
            "put"
        } else if line[close..].contains("if delete") {
            "delete"
        } else if line[close..].contains("if patch") {
            "patch"
        } else {
            panic!("a route without a method guard: {line}")
        };
        let segments: Vec<String> = line[1..close]
            .split(',')
            .map(str::trim)
            .map(|s| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(lit) => lit.to_string(),
                // `rest @ ..`: any number of segments, one or more
                None if s.ends_with("@ ..") => "**".to_string(),
                None => "{}".to_string(),
            })
            .collect();
        routes.insert((method.to_string(), format!("/{}", segments.join("/"))));
    }
    routes
}

/// Every operation of openapi.yaml: method and path, each `{param}` as
/// `{}`.
fn operations_in_openapi() -> BTreeSet<(String, String)> {
    let yaml = read("docs/openapi.yaml");
    let paths = &yaml[yaml.find("\npaths:\n").unwrap()..yaml.find("\ncomponents:\n").unwrap()];
    let mut ops = BTreeSet::new();
    let mut current = String::new();
    for line in paths.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            current = normalise(&format!("/{p}"));
        } else if let Some(m) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':')) {
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                ops.insert((m.to_string(), current.clone()));
            }
        }
    }
    ops
}

fn normalise(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') && s.ends_with('}') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Routes the router serves that are another branch's to document (none
/// since the integrations branch documented its own).
const NOT_YET_DOCUMENTED: [&str; 0] = [];

/// Whether the router's `route` (its path may end in `/**`: one or more
/// segments) serves the operation `op`.
fn serves(route: &(String, String), op: &(String, String)) -> bool {
    if route.0 != op.0 {
        return false;
    }
    match route.1.strip_suffix("/**") {
        Some(prefix) => op.1.starts_with(&format!("{prefix}/")),
        None => route.1 == op.1,
    }
}

fn exempt(path: &str) -> bool {
    NOT_YET_DOCUMENTED.iter().any(|x| path.starts_with(x))
}

#[test]
fn every_route_of_the_router_is_in_openapi_yaml() {
    let routes = routes_in_code();
    assert!(routes.len() > 30, "the router scan found too little: {routes:?}");
    let ops = operations_in_openapi();
    let missing: Vec<_> = routes
        .iter()
        .filter(|(_, p)| !exempt(p))
        .filter(|r| !ops.iter().any(|o| serves(r, o)))
        .collect();
    assert!(missing.is_empty(), "routes missing from docs/openapi.yaml: {missing:?}");
    let extra: Vec<_> =
        ops.iter().filter(|o| !exempt(&o.1) && !routes.iter().any(|r| serves(r, o))).collect();
    assert!(extra.is_empty(), "openapi.yaml operations the router does not serve: {extra:?}");
}
