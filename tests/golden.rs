//! Golden trees: every `specs/<name>/mcpgen.yaml` generates exactly `generated/<name>/`.
//!
//! Run with `MCPGEN_BLESS=1` to rewrite the goldens after an intended change, then review the
//! diff. The goldens themselves are compiled, linted and tested by `scripts/test` (they are
//! standalone crates), which is what makes this byte comparison meaningful.

use mcpgen::emit::{Files, MANIFEST_PATH};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Every example: (name, annotation file).
fn examples() -> Vec<(String, PathBuf)> {
    let mut examples: Vec<(String, PathBuf)> = fs::read_dir("specs")
        .expect("specs/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("mcpgen.yaml").is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                p.join("mcpgen.yaml"),
            )
        })
        .collect();
    examples.sort();
    examples
}

fn generate(annotation: &Path) -> Files {
    let project = mcpgen::load::load_project(annotation)
        .unwrap_or_else(|e| panic!("{} does not load:\n{}", annotation.display(), e.render()));
    let (files, warnings, _) = mcpgen::generate(project)
        .unwrap_or_else(|e| panic!("{} does not build:\n{}", annotation.display(), e.render()));
    assert!(
        (&warnings)
            .into_iter()
            .all(|d| d.severity == mcpgen::diag::Severity::Note),
        "{} builds with warnings:\n{}",
        annotation.display(),
        warnings.render()
    );
    files
}

/// Files under `dir`, relative, `/`-separated, skipping build output.
fn files_on_disk(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if relative == "target" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(relative);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn generated_crates_match_their_specs() {
    let bless = std::env::var_os("MCPGEN_BLESS").is_some();
    let mut problems = Vec::new();
    for (name, annotation) in examples() {
        let files = generate(&annotation);
        let out = Path::new("generated").join(&name);
        if bless {
            mcpgen::write::write(&out, &files)
                .unwrap_or_else(|e| panic!("cannot bless {}: {e}", out.display()));
            continue;
        }
        let expected: BTreeSet<String> = files.keys().cloned().collect();
        let actual = files_on_disk(&out);
        for missing in expected.difference(&actual) {
            problems.push(format!(
                "{name}: {missing} is missing from {}",
                out.display()
            ));
        }
        for extra in actual.difference(&expected) {
            problems.push(format!(
                "{name}: {extra} is in {} but mcpgen no longer writes it",
                out.display()
            ));
        }
        for (path, bytes) in &files {
            let Ok(on_disk) = fs::read(out.join(path)) else {
                continue;
            };
            if !bytes.eq_bytes(&on_disk) {
                let bytes = bytes.to_vec();
                let diff = similar::TextDiff::from_lines(
                    String::from_utf8_lossy(&on_disk),
                    String::from_utf8_lossy(&bytes),
                )
                .unified_diff()
                .context_radius(2)
                .header(&format!("generated/{name}/{path}"), "regenerated")
                .to_string();
                let diff: String = diff.lines().take(40).collect::<Vec<_>>().join("\n");
                problems.push(format!("{name}: {path} differs:\n{diff}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "generated/ is stale (run `MCPGEN_BLESS=1 cargo test --test golden` and review the diff):\n\n{}",
        problems.join("\n\n")
    );
}

#[test]
fn generation_is_deterministic() {
    for (_, annotation) in examples() {
        assert_eq!(
            generate(&annotation),
            generate(&annotation),
            "{}",
            annotation.display()
        );
    }
}

#[test]
fn manifest_lists_every_file_and_no_absolute_path_leaks() {
    for (name, annotation) in examples() {
        let files = generate(&annotation);
        let manifest: serde_json::Value =
            serde_json::from_slice(&files[MANIFEST_PATH].to_vec()).unwrap();
        let listed: BTreeSet<&str> = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        let written: BTreeSet<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(listed, written, "{name}");
        let cwd = std::env::current_dir()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for (path, bytes) in &files {
            let bytes = bytes.to_vec();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(&cwd),
                "{name}/{path} contains the absolute path {cwd}"
            );
            assert!(!text.contains('\r'), "{name}/{path} has CR line endings");
        }
    }
}
