//! The structure ARCHITECTURE.md describes, checked on the code itself (tests left out, as a
//! generated crate carries the runtime without them):
//!
//! - the runtime's layers: a module uses its own layer and the layers below it, never one above
//!   (`response` sits just above `request`: it reads what `request` sent and got);
//! - no import circle between the files of `runtime/src` or of `src` (a child module may use its
//!   parent, the folder's interface, without that counting as a circle);
//! - no source file much over 800 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use mcpgen::emit::vendor::without_tests;

/// The runtime's layers, top (0) to bottom.
const RUNTIME_LAYERS: &[(&str, u8)] = &[
    ("protocol", 0),
    ("call", 1),
    ("response", 2),
    ("request", 3),
    ("identity", 4),
    ("state", 5),
    ("observe", 6),
    ("support", 7),
    ("spec", 8),
];

/// Modules (`a::b`, the crate root as `""`) and the code of each, with tests, comments and the
/// text of string literals left out. A binary's `main.rs` is another crate, and `tests.rs`
/// files are test modules: neither is read.
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let file = path.file_name().unwrap().to_string_lossy();
            if !file.ends_with(".rs") || file == "tests.rs" || path == root.join("main.rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut name = relative.to_string_lossy().replace('\\', "/");
            for index in ["mod", "lib"] {
                if name == index {
                    name.clear();
                } else if let Some(parent) = name.strip_suffix(&format!("/{index}")) {
                    name = parent.to_owned();
                }
            }
            let code = code_only(&without_tests(&fs::read_to_string(&path).unwrap()));
            out.insert(name.replace('/', "::"), code);
        }
    }
    out
}

/// `code` without comments and with every string and character literal emptied, so that
/// neither can hide or fake a path.
fn code_only(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.starts_with(&['/', '/']) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if rest.starts_with(&['/', '*']) {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if chars[i] == 'r' && matches!(rest.get(1), Some('#' | '"')) {
            let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < chars.len() && !chars[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if chars[i] == '\'' && (rest.get(2) == Some(&'\'') || rest.get(1) == Some(&'\\')) {
            // A character literal ('x', '\n', '\u{..}'), not a lifetime.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Every path `code` names, resolved from `module`: `crate::…`, `super::…` (any number),
/// `self::…`, and paths starting with one of `module`'s child modules; `{…}` groups expanded at
/// any depth.
fn named_paths(module: &str, code: &str, children: &BTreeSet<String>) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts =
            is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let (tails, end) = path_at(&chars, i);
        i = end.max(i + 1);
        for tail in tails {
            let mut segments: Vec<&str> = tail.split("::").filter(|s| !s.is_empty()).collect();
            if segments.is_empty() {
                continue;
            }
            let mut base: Vec<&str> = match segments[0] {
                "crate" => Vec::new(),
                "self" | "super" => module.split("::").filter(|s| !s.is_empty()).collect(),
                first if children.contains(first) => {
                    module.split("::").filter(|s| !s.is_empty()).collect()
                }
                _ => continue,
            };
            if segments[0] == "crate" || segments[0] == "self" {
                segments.remove(0);
            }
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
            base.extend(segments);
            paths.push(base.join("::"));
        }
    }
    paths
}

/// The path (or paths, for a `{…}` group) that starts at `chars[start]`, and where it ends.
fn path_at(chars: &[char], start: usize) -> (Vec<String>, usize) {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = start;
    let mut head = String::new();
    loop {
        while i < chars.len() && is_ident(chars[i]) {
            head.push(chars[i]);
            i += 1;
        }
        if !(chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':')) {
            return (vec![head], i);
        }
        i += 2;
        if chars.get(i) == Some(&'{') {
            // A group: each member is a path of its own, below `head`.
            let mut members = Vec::new();
            i += 1;
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    return (members, i + 1);
                }
                let (inner, end) = path_at(chars, i);
                members.extend(inner.into_iter().map(|m| format!("{head}::{m}")));
                i = end.max(i + 1);
                // `as alias`, `*`: skip to the next member.
                while i < chars.len() && chars[i] != ',' && chars[i] != '}' {
                    i += 1;
                }
            }
        }
        head.push_str("::");
    }
}

/// Which modules each module uses: the longest module each named path starts with, not the
/// module itself nor one of its ancestors.
fn uses(modules: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (module, code) in modules {
        let targets = edges.entry(module).or_default();
        let prefix = if module.is_empty() {
            String::new()
        } else {
            format!("{module}::")
        };
        let children: BTreeSet<String> = modules
            .keys()
            .filter_map(|m| m.strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains("::"))
            .map(str::to_owned)
            .collect();
        for path in named_paths(module, code, &children) {
            let segments: Vec<&str> = path.split("::").collect();
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()));
            // The crate root is the entry point every module sits below.
            let Some(target) = target.filter(|t| !t.is_empty()) else {
                continue;
            };
            let ancestor = module.starts_with(&format!("{target}::"));
            if target != module && !ancestor {
                targets.insert(target);
            }
        }
    }
    edges
}

/// Every import circle, each as the modules on it.
fn circles<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    // A module is on a circle when it can reach itself; group the modules that reach each other.
    let reach = |from: &'a str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(module) = stack.pop() {
            for &next in edges.get(module).into_iter().flatten() {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<&str>> = edges.keys().map(|&m| (m, reach(m))).collect();
    let mut found: Vec<Vec<&str>> = Vec::new();
    for (&module, reached) in &reachable {
        if !reached.contains(module) || found.iter().any(|c| c.contains(&module)) {
            continue;
        }
        let circle = reached
            .iter()
            .copied()
            .filter(|other| reachable[other].contains(module))
            .collect();
        found.push(circle);
    }
    found
}

fn crate_dir(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Each use that breaks the layer rule, said as a line. Every module but the crate root and
/// `testing` (above the layers) must be in a layer.
fn layer_breaches(edges: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<String> {
    let rank = |module: &str| {
        let layer = module.split("::").next().unwrap_or("");
        RUNTIME_LAYERS
            .iter()
            .find(|(name, _)| *name == layer)
            .map(|&(name, rank)| (name, rank))
    };
    let mut wrong = Vec::new();
    for (&module, targets) in edges {
        let Some((layer, own)) = rank(module) else {
            if !(module.is_empty() || module == "testing" || module.starts_with("testing::")) {
                wrong.push(format!("{module} is in no layer"));
            }
            continue;
        };
        for &target in targets {
            let Some((target_layer, theirs)) = rank(target) else {
                wrong.push(format!("{module} uses {target}, which is in no layer"));
                continue;
            };
            if theirs < own {
                wrong.push(format!("{module} ({layer}) uses {target} ({target_layer})"));
            }
        }
    }
    wrong
}

#[test]
fn runtime_modules_use_only_their_layer_and_those_below() {
    let modules = modules(&crate_dir("runtime/src"));
    assert!(modules.contains_key("call::pipeline") && modules.contains_key("spec"));
    let wrong = layer_breaches(&uses(&modules));
    assert!(
        wrong.is_empty(),
        "uses against the layer rule:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_circle_in_the_runtime_or_the_generator() {
    for dir in ["runtime/src", "src"] {
        let modules = modules(&crate_dir(dir));
        let edges = uses(&modules);
        assert!(
            edges.values().map(BTreeSet::len).sum::<usize>() > 50,
            "{dir}: edges found"
        );
        let circles = circles(&edges);
        assert!(circles.is_empty(), "{dir}: import circles: {circles:?}");
    }
}

#[test]
fn the_checks_see_a_circle_and_an_upward_use() {
    let modules: BTreeMap<String, String> = [
        (
            "call::pipeline",
            "use crate::support::{config::Settings, secret::{self, Secret}};",
        ),
        ("support", "pub mod config; pub mod secret; use config::X;"),
        ("support::config", "fn f() { super::super::call::pipeline::run(); }"),
        (
            "support::secret",
            "use self::inner::Y; use super::config::X; // crate::call::no\nconst T: &str = \"crate::call\";",
        ),
        ("support::secret::inner", ""),
        ("support::media", "fn g() { crate::call::pipeline::h(); }"),
        ("request", "use crate::response::Shaped;"),
        ("response", ""),
        ("call", "pub mod pipeline; use crate::extra::X;"),
        ("extra", ""),
    ]
    .into_iter()
    .map(|(m, code)| (m.to_owned(), code_only(code)))
    .collect();
    let edges = uses(&modules);
    assert_eq!(
        edges["call::pipeline"],
        BTreeSet::from(["support::config", "support::secret"])
    );
    assert_eq!(
        edges["support::secret"],
        BTreeSet::from(["support::config", "support::secret::inner"])
    );
    assert_eq!(
        edges["support"],
        BTreeSet::from(["support::config", "support::secret"])
    );
    assert_eq!(
        circles(&edges),
        vec![vec!["call::pipeline", "support::config", "support::secret"]]
    );
    assert_eq!(
        layer_breaches(&edges),
        [
            "call uses extra, which is in no layer",
            "extra is in no layer",
            "request (request) uses response (response)",
            "support::config (support) uses call::pipeline (call)",
            "support::media (support) uses call::pipeline (call)",
        ]
    );
}

#[test]
fn no_source_file_is_much_over_800_lines() {
    const LIMIT: usize = 850;
    let mut long = Vec::new();
    for dir in ["src", "runtime/src", "runtime/tests", "tests", "benches"] {
        let mut dirs = vec![crate_dir(dir)];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let lines = fs::read_to_string(&path).unwrap().lines().count();
                    if lines > LIMIT {
                        long.push(format!("{} ({lines} lines)", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by concern:\n{}",
        long.join("\n")
    );
}
