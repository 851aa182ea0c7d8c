//! Bad input gets clear diagnostics: every case under `tests/diagnostics/<case>/` (an annotation
//! file `mcpgen.yaml` and its spec) must fail with exactly the diagnostics in `expected.txt`,
//! all of them at once, and nothing may be written. `MCPGEN_BLESS=1` rewrites the expectations.

use std::fs;
use std::path::Path;
use std::process::Command;

fn cases() -> Vec<String> {
    let mut cases: Vec<String> = fs::read_dir("tests/diagnostics")
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("mcpgen.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    cases
}

/// The rendered diagnostics of a case, from the library.
fn diagnose(case: &str) -> String {
    let annotation = Path::new("tests/diagnostics")
        .join(case)
        .join("mcpgen.yaml");
    match mcpgen::load::load_project(&annotation) {
        Err(errors) => errors.render(),
        Ok(project) => match mcpgen::lower::lower(&project) {
            Err(errors) => errors.render(),
            Ok(lowered) => format!("(no error)\n{}", lowered.warnings.render()),
        },
    }
}

#[test]
fn bad_inputs_get_every_diagnostic_with_location_and_help() {
    let bless = std::env::var_os("MCPGEN_BLESS").is_some();
    let mut problems = Vec::new();
    for case in cases() {
        let rendered = diagnose(&case);
        let expected_path = Path::new("tests/diagnostics")
            .join(&case)
            .join("expected.txt");
        if bless {
            fs::write(&expected_path, &rendered).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if rendered != expected {
            let diff = similar::TextDiff::from_lines(&expected, &rendered)
                .unified_diff()
                .header("expected", "actual")
                .to_string();
            problems.push(format!("{case}:\n{diff}"));
        }
        assert!(
            rendered.starts_with("error["),
            "{case}: must fail:\n{rendered}"
        );
        for block in rendered
            .split("\n\n")
            .filter(|b| b.starts_with("error[") || b.starts_with("warning["))
        {
            assert!(
                block.contains("\n  --> "),
                "{case}: a diagnostic without a location:\n{block}"
            );
        }
    }
    assert!(
        problems.is_empty(),
        "diagnostics changed (MCPGEN_BLESS=1 to accept):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_binary_exits_1_and_writes_nothing_on_bad_input() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("server");
    for case in cases() {
        let annotation = Path::new("tests/diagnostics")
            .join(&case)
            .join("mcpgen.yaml");
        let output = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
            .arg("build")
            .arg("-c")
            .arg(&annotation)
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{case}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("help: "),
            "{case}"
        );
        assert!(
            !target.exists(),
            "{case}: output was written despite errors"
        );
        assert_eq!(
            fs::read_dir(out.path()).unwrap().count(),
            0,
            "{case}: something was left behind"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .arg("build")
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
