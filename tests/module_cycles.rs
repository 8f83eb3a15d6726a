//! The house rule on module structure (STYLE.md item 10): modules do not
//! import each other in a circle, and no source file passes ~600 lines
//! without saying why at its top.
//!
//! The cycle check, for the `ledger`, `verifier`, `anchor`,
//! `notary-bridge`, `pkcs11-keys` and service crates: every reference from module A to
//! an item of module B (`use crate::…`, `use super::…`, or an inline path
//! `crate::x::y`) is lifted to the two sibling subtrees under A's and B's
//! lowest common ancestor; a reference between a module and its own
//! ancestor or descendant is composition and does not count; `#[cfg(test)]`
//! code does not count; a name the crate root (or any module) re-exports
//! resolves to the module that defines it. At every level of the module
//! tree, the graph of siblings must then be acyclic. This is what
//! `cargo modules dependencies --acyclic` asks, without the rust-analyzer
//! build it needs, so it runs in every `./scripts/test`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates the rule covers: (source directory, root file).
const CRATES: [(&str, &str); 6] = [
    ("ledger/src", "lib.rs"),
    ("pkcs11-keys/src", "lib.rs"),
    ("verifier/src", "lib.rs"),
    ("anchor/src", "lib.rs"),
    ("notary-bridge/src", "lib.rs"),
    ("src", "lib.rs"),
];

/// Longest source file with no reason at its top.
const MAX_LINES: usize = 600;

/// The words that state the reason, in a file's first 40 lines.
const LONG_FILE_MARK: &str = "Longer than 600 lines:";

type ModPath = Vec<String>;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One module: its file, its code with comments, strings and test code
/// blanked out (lines kept), and the names it re-exports.
struct Module {
    file: PathBuf,
    code: String,
    reexports: BTreeMap<String, ModPath>,
}

#[test]
fn no_module_cycles() {
    let mut problems = Vec::new();
    for (dir, root) in CRATES {
        let modules = load_crate(&repo().join(dir), root);
        assert!(modules.len() > 1, "{dir}: found no modules");
        problems.extend(cycles(dir, &modules));
    }
    assert!(problems.is_empty(), "module cycles:\n{}", problems.join("\n"));
}

#[test]
fn long_files_say_why() {
    let mut files = Vec::new();
    for (dir, _) in CRATES {
        walk(&repo().join(dir), "rs", &mut files);
    }
    walk(&repo().join("web"), "js", &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
            (text.lines().count() > MAX_LINES && !head.contains(LONG_FILE_MARK))
                .then(|| format!("{} ({} lines)", f.display(), text.lines().count()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines without \"{LONG_FILE_MARK} <reason>\" in their first 40 \
         lines: split them by responsibility or say why:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_finds_a_cycle() {
    // Two siblings that use each other, and a child using its parent
    // (composition, allowed), in a crate made up here.
    let dir = std::env::temp_dir().join(format!("module-cycles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("p")).unwrap();
    let files = [
        ("lib.rs", "mod a;\nmod p;\npub use p::Thing;\n"),
        ("a.rs", "use crate::Thing;\npub fn f() {}\n#[cfg(test)]\nmod tests { use crate::p::q::g; }\n"),
        ("p.rs", "mod q;\nmod r;\npub struct Thing;\nfn h() { q::g(); }\n"),
        ("p/q.rs", "use super::Thing;\npub fn g() { super::r::k() }\n"),
        ("p/r.rs", "// crate::a::f in a comment\npub fn k() { let _ = \"crate::a::f\"; crate::p::q::g() }\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let modules = load_crate(&dir, "lib.rs");
    let found = cycles("t", &modules);
    std::fs::remove_dir_all(&dir).unwrap();
    // p::q <-> p::r only: a -> p (via the root's re-export) is one way,
    // q -> p is composition, and comments, strings and tests are skipped.
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("p::q") && found[0].contains("p::r"), "{found:?}");
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "node_modules") {
                walk(&p, ext, out);
            }
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Every module of the crate reachable from its root by `mod` items that
/// are not `#[cfg(test)]`.
fn load_crate(src: &Path, root: &str) -> BTreeMap<ModPath, Module> {
    let mut modules = BTreeMap::new();
    let mut todo = vec![(Vec::new(), src.join(root))];
    while let Some((path, file)) = todo.pop() {
        let raw =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = strip_test_code(&blank_comments_and_strings(&raw));
        // `foo.rs` keeps its children in `foo/`; `mod.rs` and roots beside them.
        let base = match file.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs") | Some("lib.rs") | Some("main.rs") => {
                file.parent().unwrap().to_path_buf()
            }
            _ => file.with_extension(""),
        };
        for child in declared_modules(&code) {
            let flat = base.join(format!("{child}.rs"));
            let nested = base.join(&child).join("mod.rs");
            let child_file = if flat.exists() { flat } else { nested };
            if child_file.exists() {
                let mut p = path.clone();
                p.push(child);
                todo.push((p, child_file));
            }
        }
        let reexports = reexports(&path, &code);
        modules.insert(path, Module { file, code, reexports });
    }
    modules
}

/// Comments, string and char literals replaced by spaces, newlines kept.
fn blank_comments_and_strings(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && !ident_before(&b, i) {
            // Raw string r#"…"#: ends at '"' followed by as many '#'.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.extend(b[i..j.min(b.len())].iter().map(|&c| blank(c)));
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += if b[j] == '\\' { 2 } else { 1 };
            }
            out.extend(b[i..(j + 1).min(b.len())].iter().map(|&c| blank(c)));
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 2..b.len()).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.extend(b[i..=e].iter().map(|&c| blank(c)));
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// The code with every `#[cfg(test)]` item (a module, function, `use`)
/// blanked out, newlines kept.
fn strip_test_code(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: String = out.iter().collect();
    let mut from = 0;
    while let Some(pos) = text[from..].find("#[cfg(test)]").map(|p| p + from) {
        let start = text[..pos].chars().count();
        let mut i = start;
        let mut depth = 0i32;
        let mut entered = false;
        while i < out.len() {
            match out[i] {
                '{' => {
                    depth += 1;
                    entered = true;
                }
                '}' => depth -= 1,
                ';' if depth == 0 && !entered => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
            if entered && depth == 0 {
                break;
            }
        }
        let end = i.min(out.len());
        for c in &mut out[start..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        from = pos + "#[cfg(test)]".len();
    }
    out.into_iter().collect()
}

/// Names of the `mod name;` and `mod name { … }` items of a file.
fn declared_modules(code: &str) -> Vec<String> {
    let words: Vec<&str> = code.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if *w == "mod" {
            if let Some(name) = words[i + 1..].iter().find(|w| !w.is_empty()) {
                out.push((*name).to_string());
            }
        }
    }
    out
}

/// `use` items: (line, the tree between `use` and `;` with whitespace
/// runs made single spaces, whether it is `pub` or `pub(…)`).
fn use_items(code: &str) -> Vec<(usize, String, bool)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(p) = code[i..].find("use ").map(|p| p + i) {
        let word_start = p == 0 || !(bytes[p - 1].is_ascii_alphanumeric() || bytes[p - 1] == b'_');
        i = p + 4;
        if !word_start {
            continue;
        }
        let Some(end) = code[i..].find(';').map(|e| e + i) else { break };
        let line = code[..p].matches('\n').count() + 1;
        let before = code[..p].trim_end();
        let public = before.ends_with("pub") || (before.ends_with(')') && before.contains("pub("));
        let tree = code[i..end].split_whitespace().collect::<Vec<_>>().join(" ");
        out.push((line, tree, public));
        i = end;
    }
    out
}

/// The paths a use tree names (`a::{b, c::{d as e, *}}` gives `a::b`,
/// `a::c::d`, `a::c`), each with the name it is imported as.
fn expand_use_tree(tree: &str) -> Vec<(ModPath, String)> {
    fn go(prefix: &[String], tree: &str, out: &mut Vec<(ModPath, String)>) {
        let tree = tree.trim().trim_start_matches("::");
        if let Some(open) = tree.find('{') {
            let mut p = prefix.to_vec();
            p.extend(segments(&tree[..open]));
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            for part in split_top_level(inner) {
                go(&p, part, out);
            }
        } else {
            let (path, alias) = match tree.split_once(" as ") {
                Some((p, a)) => (p, Some(a.trim())),
                None => (tree, None),
            };
            let mut p = prefix.to_vec();
            p.extend(segments(path));
            if p.last().is_some_and(|s| s == "self") {
                p.pop();
            }
            if p.last().is_some_and(|s| s == "*") {
                p.pop();
            }
            let name = alias.map(str::to_string).or_else(|| p.last().cloned()).unwrap_or_default();
            if !p.is_empty() {
                out.push((p, name));
            }
        }
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    out
}

fn segments(path: &str) -> Vec<String> {
    path.split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The names a module re-exports (`pub use …`, `pub(crate) use …`), as
/// absolute paths.
fn reexports(module: &ModPath, code: &str) -> BTreeMap<String, ModPath> {
    let mut out = BTreeMap::new();
    for (_, stmt, public) in use_items(code) {
        if !public {
            continue;
        }
        for (path, name) in expand_use_tree(&stmt) {
            if let Some(abs) = absolute(module, &path) {
                out.insert(name, abs);
            }
        }
    }
    out
}

/// A path as seen from `module`, made absolute from the crate root when it
/// starts with `crate`, `super` or `self`, or names a child module.
fn absolute(module: &ModPath, path: &[String]) -> Option<ModPath> {
    let mut base = module.clone();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &path[1..];
        }
        Some("super") | Some("self") => {
            while let Some(s) = rest.first() {
                match s.as_str() {
                    "super" => {
                        base.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        // A relative path: a child module of `module` (or an external crate).
        _ => {}
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module an absolute path's item lives in, following re-exports.
fn resolve(modules: &BTreeMap<ModPath, Module>, path: &ModPath, depth: usize) -> Option<ModPath> {
    let mut m = Vec::new();
    let mut i = 0;
    while i < path.len() {
        let mut next = m.clone();
        next.push(path[i].clone());
        if modules.contains_key(&next) {
            m = next;
            i += 1;
        } else {
            break;
        }
    }
    if i < path.len() && depth < 8 {
        if let Some(target) = modules.get(&m).and_then(|md| md.reexports.get(&path[i])) {
            let mut t = target.clone();
            t.extend(path[i + 1..].iter().cloned());
            return resolve(modules, &t, depth + 1);
        }
    }
    if i == 0 && !modules.contains_key(&Vec::new()) {
        return None;
    }
    Some(m)
}

/// Every reference of a module to another: (target module, line).
fn references(modules: &BTreeMap<ModPath, Module>, from: &ModPath) -> Vec<(ModPath, usize)> {
    let code = &modules[from].code;
    let mut paths: Vec<(ModPath, usize)> = Vec::new();
    for (line, stmt, _) in use_items(code) {
        for (path, _) in expand_use_tree(&stmt) {
            let first = path[0].as_str();
            let local = matches!(first, "crate" | "super" | "self")
                || modules.contains_key(&[from.clone(), vec![path[0].clone()]].concat());
            if local {
                if let Some(abs) = absolute(from, &path) {
                    paths.push((abs, line));
                }
            }
        }
    }
    // Inline paths: crate::a::b, super::x, self::y.
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        if chars[i] == '\n' {
            line += 1;
        }
        let starts = ["crate::", "super::", "self::"].iter().find(|k| {
            chars[i..].iter().take(k.len()).copied().eq(k.chars()) && !ident_before(&chars, i)
        });
        if let Some(k) = starts {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
            {
                j += 1;
            }
            let text: String = chars[i..j].iter().collect();
            if let Some(abs) = absolute(from, &segments(&text)) {
                paths.push((abs, line));
            }
            i += k.len();
            continue;
        }
        i += 1;
    }
    paths
        .into_iter()
        .filter_map(|(p, line)| resolve(modules, &p, 0).map(|m| (m, line)))
        .filter(|(m, _)| m != from)
        .collect()
}

/// The sibling-level cycles of one crate, described.
fn cycles(krate: &str, modules: &BTreeMap<ModPath, Module>) -> Vec<String> {
    // Per parent: sibling -> sibling -> an example reference.
    type Edges = BTreeMap<String, BTreeMap<String, String>>;
    let mut levels: BTreeMap<ModPath, Edges> = BTreeMap::new();
    for from in modules.keys() {
        for (to, line) in references(modules, from) {
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // ancestor or descendant: composition
            }
            let parent = from[..common].to_vec();
            let example = format!(
                "{}:{line} uses {}",
                modules[from].file.strip_prefix(repo()).unwrap_or(&modules[from].file).display(),
                to.join("::")
            );
            levels
                .entry(parent)
                .or_default()
                .entry(from[common].clone())
                .or_default()
                .entry(to[common].clone())
                .or_insert(example);
        }
    }
    let mut found = Vec::new();
    for (parent, edges) in &levels {
        for cycle in find_cycles(edges) {
            let prefix = if parent.is_empty() { String::new() } else { parent.join("::") + "::" };
            let names: Vec<String> = cycle.iter().map(|n| format!("{prefix}{n}")).collect();
            let why: Vec<String> = cycle
                .iter()
                .zip(cycle.iter().cycle().skip(1))
                .map(|(a, b)| format!("    {}", edges[a][b]))
                .collect();
            found.push(format!("{krate}: {}\n{}", names.join(" -> "), why.join("\n")));
        }
    }
    found
}

/// One cycle per strongly connected component with more than one node.
fn find_cycles(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> =
        edges.keys().chain(edges.values().flat_map(|m| m.keys())).collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for next in edges.get(&n).into_iter().flat_map(|m| m.keys()) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in nodes {
        if done.contains(n) || !reach(n).contains(n) {
            continue;
        }
        // A shortest path back to n, by breadth-first search.
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([n.clone()]);
        'search: while let Some(x) = queue.pop_front() {
            for next in edges.get(&x).into_iter().flat_map(|m| m.keys()) {
                if next == n {
                    prev.insert(n.clone(), x.clone());
                    break 'search;
                }
                if !prev.contains_key(next) {
                    prev.insert(next.clone(), x.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        let mut cycle = vec![n.clone()];
        let mut x = prev[n].clone();
        while &x != n {
            cycle.push(x.clone());
            x = prev[&x].clone();
        }
        cycle.reverse();
        cycle.rotate_right(1);
        for c in &cycle {
            done.insert(c.clone());
        }
        out.push(cycle);
    }
    out
}
