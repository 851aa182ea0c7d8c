//! Every spec of the corpus (`tests/corpus/`), with every operation selected (`init --select
//! all`), becomes a crate that compiles and passes its own tests; specs with no operations get
//! a clear diagnostic instead.
//!
//! Slow (it builds and tests two dozen crates), so it runs only with `MCPGEN_CORPUS=1`, which
//! `scripts/test` sets. Generated crates share one runtime (`--runtime-path`) and one target
//! directory (`MCPGEN_GENERATED_TARGET`, default `target/generated`), so the runtime compiles once.
//! `MCPGEN_CORPUS_ONLY=<part of a file name>` limits the run to matching specs;
//! `MCPGEN_HUBSPOT=1` adds HubSpot's four CRM specs, downloaded by `tests/fetch-hubspot-crm.sh`;
//! `MCPGEN_GITHUB=1` adds GitHub's REST API (~1,200 operations), by `tests/fetch-github-rest.sh`.

use mcpgen::emit::{EmitOptions, RuntimeSource};
use mcpgen::init::{Select, starter_file};
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

/// Whether a switch variable is set to something other than `0`.
fn enabled(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Entry points of the corpus, relative to `tests/corpus`.
const SPECS: &[&str] = &[
    "mulesoft-anypoint-access-management.yaml",
    "mulesoft-anypoint-agent-scanner-configuration.yaml",
    "mulesoft-anypoint-api-governance/api.yaml",
    "mulesoft-anypoint-api-manager/api.yaml",
    "mulesoft-anypoint-cloudhub-20.yaml",
    "oai-callback-example-v3.0.yaml",
    "oai-link-example-v3.0.yaml",
    "oai-non-oauth-scopes-v3.1.yaml",
    "oai-petstore-expanded-v3.0.yaml",
    "oai-petstore-separate-v2.0/spec/swagger.yaml",
    "oai-petstore-v2.0.json",
    "oai-petstore-v3.0.yaml",
    "oai-uspto-v3.0.yaml",
    "readme-callbacks-v3.0.json",
    "readme-circular-v3.0.json",
    "readme-discriminators-v3.0.json",
    "readme-parameters-style-v3.0.json",
    "readme-petstore-v2.0.json",
    "readme-polymorphism-v3.0.json",
    "scalar-galaxy-v3.1.yaml",
    "twilio-api-v2010.json",
    "twilio-conversations-v1.json",
];

/// Specs with webhooks and no paths.
const WEBHOOKS_ONLY: &[&str] = &["oai-webhook-example-v3.1.yaml", "readme-webhooks-v3.1.json"];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The annotation file `init --select all` writes next to the spec, and the project from it.
fn project_for(spec: &str) -> (mcpgen::load::Project, mcpgen::init::Starter) {
    let spec_path = corpus().join(spec);
    let dir = spec_path.parent().unwrap();
    // Multi-file specs keep the annotation file at the top of their directory, as a user would.
    let annotation_dir = if spec.contains("/spec/") {
        dir.parent().unwrap()
    } else {
        dir
    };
    let annotation = annotation_dir.join(format!("{}.mcpgen.yaml", spec.replace('/', "_")));
    let spec_text = mcpgen::load::relative_path(&spec_path, annotation_dir);
    let root = mcpgen::load::common_root(annotation_dir, &spec_path);
    let set = mcpgen::load::load_spec(&spec_path, &root)
        .unwrap_or_else(|e| panic!("{spec} does not load:\n{}", e.render()));
    let (starter, text) = starter_file(&annotation, vec![(spec_text, set)], Select::All, None);
    let specs = vec![(
        mcpgen::load::relative_path(&spec_path, annotation_dir),
        mcpgen::load::load_spec(&spec_path, &root).unwrap(),
    )];
    let project = mcpgen::load::project_from_text(&annotation, &text, specs)
        .unwrap_or_else(|e| panic!("{spec}: starter does not parse:\n{}", e.render()));
    (project, starter)
}

#[test]
fn webhook_only_specs_get_a_clear_diagnostic() {
    for spec in WEBHOOKS_ONLY {
        let (project, _) = project_for(spec);
        let errors =
            mcpgen::lower::lower(&project).expect_err("a spec without operations cannot build");
        let rendered = errors.render();
        assert!(
            rendered.contains("error[no-operations]") && rendered.contains("webhook"),
            "{spec}:\n{rendered}"
        );
    }
}

#[test]
fn every_corpus_spec_builds_a_crate_that_compiles_and_passes_its_tests() {
    if !enabled("MCPGEN_CORPUS") {
        eprintln!("skipped: set MCPGEN_CORPUS=1 to build and test a crate for every corpus spec");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = support::generated_target();
    let out_root = tempfile::tempdir().unwrap();
    let runtime = root.join("runtime").to_string_lossy().into_owned();
    let mut failures = Vec::new();
    let mut total_tools = 0;
    let only = std::env::var("MCPGEN_CORPUS_ONLY").unwrap_or_default();
    let mut specs: Vec<String> = SPECS.iter().map(|s| (*s).to_owned()).collect();
    let hubspot = tempfile::tempdir().unwrap();
    if enabled("MCPGEN_HUBSPOT") {
        // HubSpot's CRM specs may not be redistributed: fetched (pinned by hash) at test time.
        let script = root.join("tests/fetch-hubspot-crm.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(hubspot.path())
            .status()
            .expect("bash runs");
        assert!(status.success(), "fetching the HubSpot specs failed");
        for object in ["contacts", "companies", "deals", "tickets"] {
            specs.push(
                hubspot
                    .path()
                    .join(format!("hubspot-crm-{object}.json"))
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    let github = tempfile::tempdir().unwrap();
    if enabled("MCPGEN_GITHUB") {
        // Fetched (pinned by hash) rather than stored: 13 MB.
        let status = Command::new("bash")
            .arg(root.join("tests/fetch-github-rest.sh"))
            .arg(github.path())
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "fetching GitHub's REST API description failed"
        );
        let spec = github.path().join("github-rest-api.json");
        specs.push(spec.to_string_lossy().into_owned());
    }
    for spec in specs.iter().filter(|s| s.contains(only.as_str())) {
        let (project, starter) = project_for(spec);
        let skipped: Vec<String> = starter
            .tools
            .iter()
            .filter_map(|t| {
                t.disabled_because
                    .as_ref()
                    .map(|why| format!("  {} ({}): {why}", t.name, t.method_path))
            })
            .collect();
        let options = EmitOptions {
            runtime: RuntimeSource::Path(runtime.clone()),
        };
        let (files, _, name) = match mcpgen::generate_with(project, &options) {
            Ok(generated) => generated,
            Err(e) => {
                failures.push(format!("{spec}: does not generate:\n{}", e.render()));
                continue;
            }
        };
        let tools = String::from_utf8_lossy(&files["src/tools.rs"].to_vec())
            .matches("\npub mod ")
            .count();
        total_tools += tools;
        eprintln!(
            "{spec}: {tools} tools, {} operations left out",
            skipped.len()
        );
        for line in &skipped {
            eprintln!("{line}");
        }
        let out = out_root.path().join(name.as_str());
        mcpgen::write::write(&out, &files).unwrap();
        let status = Command::new(env!("CARGO"))
            .args(["test", "--locked", "--quiet"])
            .current_dir(&out)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("cargo runs");
        if !status.success() {
            failures.push(format!(
                "{spec}: the generated crate fails `cargo test` (kept in {})",
                out.display()
            ));
        }
        support::drop_artifacts(&out, name.as_str(), &target);
    }
    if !failures.is_empty() {
        // Keep the crates for inspection.
        let kept = out_root.keep();
        panic!(
            "{} of {} corpus specs failed ({total_tools} tools; crates in {}):\n{}",
            failures.len(),
            specs.len(),
            kept.display(),
            failures.join("\n")
        );
    }
    assert!(
        !only.is_empty() || total_tools > 700,
        "only {total_tools} tools were generated from the corpus"
    );
}
