//! A hostile spec and annotation file (`tests/hostile/`): text built to break out of comments,
//! strings, attributes and templates, Rust keywords and std names (`Result`, `Option`, `Self`,
//! `type`, `fn`) as names, 128-character tool names, emoji and direction-changing characters.
//! The generated crate must contain exactly the items mcpgen means to emit, and (with
//! `MCPGEN_COMPILE_TESTS=1`) compile warning-free and pass its own tests.

use std::path::Path;
use std::process::Command;

mod support;

fn files() -> mcpgen::emit::Files {
    let project = mcpgen::load::load_project(Path::new("tests/hostile/mcpgen.yaml"))
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("runtime")
        .to_string_lossy()
        .into_owned();
    let options = mcpgen::emit::EmitOptions {
        runtime: mcpgen::emit::RuntimeSource::Path(runtime),
    };
    let (files, _, _) =
        mcpgen::generate_with(project, &options).unwrap_or_else(|e| panic!("{}", e.render()));
    files
}

#[test]
fn spec_text_never_becomes_code() {
    let files = files();
    let mut modules = Vec::new();
    for (path, bytes) in &files {
        if !path.ends_with(".rs") {
            continue;
        }
        let text = bytes.to_text().unwrap();
        let file: syn::File =
            syn::parse_file(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        let expected_items = match path.as_str() {
            "src/lib.rs" => 3, // `pub mod tools;`, the `use` of the spec types, `static SERVER`
            "src/main.rs" => 1, // `fn main`
            "src/tools.rs" => {
                // One module per tool, each a `use` of the runtime's spec types and `static TOOL`.
                for item in &file.items {
                    let syn::Item::Mod(module) = item else {
                        panic!("src/tools.rs holds an item that is not a tool module:\n{text}");
                    };
                    let items = &module.content.as_ref().expect("an inline module").1;
                    assert!(
                        matches!(items.as_slice(), [syn::Item::Use(_), syn::Item::Static(s)] if s.ident == "TOOL"),
                        "{path}: module {} holds more than its tool:\n{text}",
                        module.ident
                    );
                    modules.push(module.ident.to_string());
                }
                5
            }
            "tests/tools.rs" => {
                // `const CASES`, `fn run`, the test macro and one `tool_test!(module, "name")`
                // per tool.
                for item in &file.items[3..] {
                    let syn::Item::Macro(call) = item else {
                        panic!("{path}: a test that is not a tool_test! call:\n{text}");
                    };
                    let tokens: Vec<proc_macro2::TokenTree> =
                        call.mac.tokens.clone().into_iter().collect();
                    assert!(
                        call.mac.path.is_ident("tool_test")
                            && matches!(
                                tokens.as_slice(),
                                [
                                    proc_macro2::TokenTree::Ident(_),
                                    proc_macro2::TokenTree::Punct(p),
                                    proc_macro2::TokenTree::Literal(_)
                                ] if p.as_char() == ','
                            ),
                        "{path}: a test holds more than a tool's module and name:\n{text}"
                    );
                }
                8
            }
            "tests/auth.rs" => 1, // `fn tokens_are_checked_over_http`
            other => panic!("unexpected Rust file {other}"),
        };
        assert_eq!(
            file.items.len(),
            expected_items,
            "{path} has items mcpgen did not mean to emit:\n{text}"
        );
        assert!(
            !text.contains('\u{202E}'),
            "{path} carries a direction-changing character"
        );
        // Documentation is compiled by `cargo test` when it holds a code block: no spec or
        // annotation text may open one.
        for line in text.lines().map(str::trim_start) {
            if line.starts_with("///") || line.starts_with("//!") {
                assert!(
                    !line.contains("```") && !line.contains("compile_error"),
                    "{path}: documentation carries text from the inputs: {line}"
                );
            }
        }
    }
    let manifest = files["Cargo.toml"].to_text().unwrap();
    assert!(
        manifest.contains("[lib]\ndoctest = false"),
        "doctests are off:\n{manifest}"
    );
    assert_eq!(modules.len(), 5);
    assert!(modules.iter().any(|m| m == "type_"), "{modules:?}");
    assert!(modules.iter().any(|m| m == "self_"), "{modules:?}");
}

#[test]
fn hostile_crate_compiles_without_warnings_and_passes_its_tests() {
    if std::env::var_os("MCPGEN_COMPILE_TESTS").is_none() {
        eprintln!("skipped: set MCPGEN_COMPILE_TESTS=1 to compile the generated crate");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("hostile-mcp");
    mcpgen::write::write(&dir, &files()).unwrap();
    let target = support::generated_target();
    for args in [
        &[
            "clippy",
            "--locked",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ][..],
        &["test", "--locked", "--quiet"][..],
    ] {
        let status = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cargo {} failed in the hostile crate",
            args[0]
        );
    }
    support::drop_artifacts(&dir, "hostile-mcp", &target);
}
