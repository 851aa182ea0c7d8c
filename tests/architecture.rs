//! The structure ARCHITECTURE.md describes, checked on the code itself (tests left out, as a
//! generated crate carries the runtime without them):
//!
//! - the runtime's layers: a module uses its own layer and the layers below it, never one above
//!   (`request` and `response` share a floor; `response` reads what `request` sent and got, not
//!   the other way round);
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
    ("request", 2),
    ("response", 2),
    ("identity", 3),
    ("state", 4),
    ("observe", 5),
    ("support", 6),
    ("spec", 7),
];

/// Modules (`a::b`, the crate root as `""`) and the code of each, tests and comments left out.
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
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut name = relative.to_string_lossy().replace('\\', "/");
            for index in ["mod", "lib", "main"] {
                if name == index {
                    name.clear();
                } else if let Some(parent) = name.strip_suffix(&format!("/{index}")) {
                    name = parent.to_owned();
                }
            }
            let code = without_tests(&fs::read_to_string(&path).unwrap());
            let code: String = code
                .lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name.replace('/', "::"), code);
        }
    }
    out
}

/// The paths a module's code names through `crate::` or `super::`, `{…}` groups expanded.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent(module))] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':');
            let joined = |tail: &str| match (base.is_empty(), tail.is_empty()) {
                (true, _) => tail.to_owned(),
                (false, true) => base.clone(),
                (false, false) => format!("{base}::{tail}"),
            };
            let after = &rest[path.len()..];
            if let Some(group) = after.strip_prefix("::{") {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for member in group.split(',') {
                    let member = member.split_whitespace().next().unwrap_or("");
                    paths.push(joined(&format!("{path}::{member}")));
                }
            } else {
                paths.push(joined(path));
            }
        }
    }
    paths
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

/// Which modules each module uses: the longest module each named path starts with, not the
/// module itself nor one of its ancestors.
fn uses(modules: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (module, code) in modules {
        let targets = edges.entry(module).or_default();
        for path in named_paths(module, code) {
            let segments: Vec<&str> = path.split("::").collect();
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()));
            let Some(target) = target else { continue };
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

#[test]
fn runtime_modules_use_only_their_layer_and_those_below() {
    let modules = modules(&crate_dir("runtime/src"));
    let rank = |module: &str| {
        let layer = module.split("::").next().unwrap_or("");
        RUNTIME_LAYERS
            .iter()
            .find(|(name, _)| *name == layer)
            .map(|&(name, rank)| (name, rank))
    };
    let mut wrong = Vec::new();
    for (module, targets) in uses(&modules) {
        let Some((layer, own)) = rank(module) else {
            continue; // the crate root and `testing` sit outside the layers
        };
        for target in targets {
            let Some((target_layer, theirs)) = rank(target) else {
                wrong.push(format!("{module} uses {target}, which is in no layer"));
                continue;
            };
            if theirs < own || (layer == "request" && target_layer == "response") {
                wrong.push(format!("{module} ({layer}) uses {target} ({target_layer})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses against the layer rule:\n{}",
        wrong.join("\n")
    );
    assert!(modules.contains_key("call::pipeline") && modules.contains_key("spec"));
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
            "use crate::support::{config::Settings, secret};",
        ),
        (
            "support::config",
            "fn f() { crate::call::pipeline::run(); }",
        ),
        (
            "support::secret",
            "use super::config::X; // crate::call::no",
        ),
        ("support", ""),
        ("call", ""),
    ]
    .into_iter()
    .map(|(m, code)| (m.to_owned(), code.split("//").next().unwrap().to_owned()))
    .collect();
    let edges = uses(&modules);
    assert_eq!(
        edges["call::pipeline"],
        BTreeSet::from(["support::config", "support::secret"])
    );
    assert_eq!(
        edges["support::secret"],
        BTreeSet::from(["support::config"])
    );
    assert_eq!(
        circles(&edges),
        vec![vec!["call::pipeline", "support::config", "support::secret"]]
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
