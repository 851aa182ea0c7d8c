//! OpenAPI Overlays as input: a vendor spec fixed by an overlay (`tests/overlay/vendor/`), the
//! overlay's changes in the tools, in `check` and `diff`, and diagnostics placed in the overlay
//! file. (The official compliant sets are applied by `src/load/overlay.rs`'s tests.)

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mcpgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A copy of the vendor fixture in a scratch directory of its own.
fn vendor_copy(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir("tests/overlay/vendor").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// `mcpgen build -c CONFIG -o OUT`, as it ended.
fn try_build(config: &Path, out: &Path) -> Output {
    mcpgen(&[
        "build",
        "-c",
        config.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
}

fn build(config: &Path, out: &Path) -> Value {
    let output = try_build(config, out);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&std::fs::read_to_string(out.join("mcp-contract.json")).unwrap()).unwrap()
}

#[test]
fn an_overlay_fixes_the_vendor_spec_before_tools_are_made() {
    let dir = vendor_copy("overlay-fixes");
    let fixed = build(&dir.join("mcpgen.yaml"), &dir.join("fixed"));
    let shipped = build(
        &dir.join("mcpgen-without-overlay.yaml"),
        &dir.join("shipped"),
    );
    let input = |contract: &Value| contract["tools"]["list_tickets"]["input_schema"].clone();
    // The parameter the vendor left out, and the enum value it forgot.
    assert_eq!(input(&fixed)["properties"]["limit"]["maximum"], 100);
    assert_eq!(
        input(&fixed)["properties"]["status"]["enum"],
        serde_json::json!(["open", "closed", "pending"])
    );
    assert!(input(&shipped)["properties"].get("limit").is_none());
    assert_eq!(
        input(&shipped)["properties"]["status"]["enum"],
        serde_json::json!(["open", "closed"])
    );
    // The overlay is a source of the server, hashed like the spec.
    let sources: Vec<&str> = fixed["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["path"].as_str())
        .collect();
    assert_eq!(sources, ["fix.overlay.yaml", "mcpgen.yaml", "openapi.yaml"]);
    // The operation the overlay removed is gone.
    std::fs::write(
        dir.join("reindex.yaml"),
        "version: 1\nspec: [openapi.yaml, fix.overlay.yaml]\nserver: {name: helpdesk-mcp}\ntools:\n  reindex:\n    operation: reindex\n    read_only: false\n",
    )
    .unwrap();
    let output = try_build(&dir.join("reindex.yaml"), &dir.join("x"));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("reindex"), "{}", stderr(&output));
}

#[test]
fn check_and_diff_see_what_the_overlay_changes() {
    let dir = vendor_copy("overlay-check");
    let config = dir.join("mcpgen.yaml");
    let out = dir.join("out");
    build(&config, &out);
    let check = || {
        mcpgen(&[
            "check",
            "-c",
            config.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
    };
    assert!(check().status.success(), "{}", stderr(&check()));
    // The overlay narrows `limit`: the output is stale, and the change is breaking for clients.
    let before = dir.join("before.json");
    std::fs::copy(out.join("mcp-contract.json"), &before).unwrap();
    edit(&dir.join("fix.overlay.yaml"), "maximum: 100", "maximum: 50");
    let stale = check();
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    let diff = mcpgen(&["diff", before.to_str().unwrap(), config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        matches!(diff.status.code(), Some(4 | 5)),
        "breaking: {text}{}",
        stderr(&diff)
    );
    assert!(text.contains("limit"), "{text}");
}

#[test]
fn diagnostics_point_into_the_overlay_file() {
    let dir = vendor_copy("overlay-diagnostics");
    let overlay = dir.join("fix.overlay.yaml");
    // An added parameter whose schema names a definition the spec lacks, and a target the spec
    // no longer has.
    edit(
        &overlay,
        "schema: { type: integer, minimum: 1, maximum: 100 }",
        "schema: { $ref: '#/components/schemas/PageSize' }",
    );
    edit(
        &overlay,
        "$.paths['/internal/reindex']",
        "$.paths['/internal/rebuild']",
    );
    let output = try_build(&dir.join("mcpgen.yaml"), &dir.join("out"));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("error[dangling-ref]")
            && text.contains("fix.overlay.yaml:17:11 at /actions/1/update/parameters/0/schema"),
        "{text}"
    );
    assert!(
        text.contains("warning[overlay-target-unmatched]")
            && text.contains("fix.overlay.yaml:22:5 at /actions/3/target"),
        "{text}"
    );
    assert!(!dir.join("out").exists(), "nothing written");

    // A malformed overlay is refused where it is wrong.
    edit(&overlay, "$.paths['/internal/rebuild']", "$.paths[?");
    let output = try_build(&dir.join("mcpgen.yaml"), &dir.join("out"));
    assert!(
        stderr(&output).contains("error[overlay-target]"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("fix.overlay.yaml:22:5 at /actions/3/target"),
        "{}",
        stderr(&output)
    );

    // An overlay must follow the spec it applies to.
    std::fs::write(
        dir.join("first.yaml"),
        "version: 1\nspec: [fix.overlay.yaml, openapi.yaml]\nserver: {name: helpdesk-mcp}\ntools: {}\n",
    )
    .unwrap();
    let output = try_build(&dir.join("first.yaml"), &dir.join("out"));
    let text = stderr(&output);
    assert!(
        text.contains("error[overlay-without-spec]") && text.contains("at /spec/0"),
        "{text}"
    );
}

#[test]
fn init_writes_a_starter_overlay_the_annotation_file_applies() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("overlay-init");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        "tests/overlay/vendor/openapi.yaml",
        dir.join("openapi.yaml"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mcpgen"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let init = run(&[
        "init",
        "openapi.yaml",
        "--select",
        "read",
        "--overlay",
        "fixes.overlay.yaml",
    ]);
    assert!(init.status.success(), "{}", stderr(&init));
    let annotation = std::fs::read_to_string(dir.join("mcpgen.yaml")).unwrap();
    assert!(
        annotation.contains(r#"spec: ["openapi.yaml", "fixes.overlay.yaml"]"#),
        "{annotation}"
    );
    let overlay = std::fs::read_to_string(dir.join("fixes.overlay.yaml")).unwrap();
    assert!(
        overlay.starts_with("# Fixes to Help desk") && overlay.contains("overlay: 1.0.0"),
        "{overlay}"
    );
    let built = run(&["build", "-o", "out"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let contract: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/mcp-contract.json")).unwrap())
            .unwrap();
    assert!(
        contract["sources"]
            .to_string()
            .contains("fixes.overlay.yaml"),
        "{contract}"
    );
    // Neither file is overwritten without --force.
    std::fs::remove_file(dir.join("mcpgen.yaml")).unwrap();
    let again = run(&["init", "openapi.yaml", "--overlay", "fixes.overlay.yaml"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("the overlay already exists"),
        "{}",
        stderr(&again)
    );
    assert!(!dir.join("mcpgen.yaml").exists(), "nothing written");
}

#[test]
fn a_new_spec_version_gets_the_same_overlays_in_diff() {
    let dir = vendor_copy("overlay-diff");
    // The vendor's next version drops the `status` filter: the overlay's enum fix then selects
    // nothing (a warning), its other fixes still apply, and the diff reports the filter gone.
    let next = std::fs::read_to_string(dir.join("openapi.yaml"))
        .unwrap()
        .replace(
            "      parameters:\n        - name: status\n          in: query\n          schema: { type: string, enum: [open, closed] }\n",
            "",
        );
    std::fs::write(dir.join("openapi-next.yaml"), next).unwrap();
    let config = dir.join("mcpgen.yaml");
    let diff = mcpgen(&[
        "diff",
        "-c",
        config.to_str().unwrap(),
        "--old-spec",
        dir.join("openapi.yaml").to_str().unwrap(),
        "--new-spec",
        dir.join("openapi-next.yaml").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        matches!(diff.status.code(), Some(4 | 5)),
        "{text}{}",
        stderr(&diff)
    );
    assert!(text.contains("status"), "{text}");
    assert!(
        !text.contains("limit"),
        "the overlay's parameter is in both: {text}"
    );
}
