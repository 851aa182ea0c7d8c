//! The commands behind the `mcpgen` binary, as library functions.
//!
//! Each command wires the stages together (load → lower → emit → write) and returns either
//! the warnings to show or every problem found. Printing results (not diagnostics) to stdout
//! is the only output besides what `write` puts on disk.

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::emit::{EmitOptions, RuntimeSource};
use crate::init::Select;
use crate::load;
use crate::lower::operations::OperationIndex;
use crate::{generate_with, write};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `mcpgen build`: writes the server crate an annotation file describes.
pub fn build(
    config: &Path,
    out: Option<&Path>,
    runtime_path: Option<&str>,
) -> Result<Diagnostics, Diagnostics> {
    let timings = std::env::var_os("MCPGEN_TIMINGS").is_some();
    let clock = std::time::Instant::now();
    let lap = |stage: &str| {
        if timings {
            eprintln!(
                "timing: {stage} done at {} ms{}",
                clock.elapsed().as_millis(),
                crate::peak_memory()
            );
        }
    };
    let project = load::load_project(config)?;
    lap("load");
    let runtime = runtime_path.map_or(RuntimeSource::Vendored, |p| {
        RuntimeSource::Path(p.to_owned())
    });
    let (files, warnings, crate_name) = generate_with(project, &EmitOptions { runtime })?;
    lap("lower and emit");
    let out_dir: PathBuf = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(crate_name.as_str()));
    let written = write::write(&out_dir, &files);
    lap("write");
    match written {
        Ok(report) => {
            println!(
                "wrote {} ({} file{} changed, {} unchanged, {} removed)",
                out_dir.display(),
                report.written.len(),
                if report.written.len() == 1 { "" } else { "s" },
                report.unchanged,
                report.removed.len()
            );
            Ok(warnings)
        }
        Err(e) => {
            let help = match e {
                write::WriteError::NotGenerated(_) => {
                    "choose another directory with -o, or empty this one"
                }
                write::WriteError::Io { .. } => {
                    "check the path and its permissions; nothing was half-written"
                }
            };
            let mut all = warnings;
            all.push(
                Diagnostic::error("write-failed", Location::file(&out_dir), e.to_string())
                    .with_help(help),
            );
            Err(all)
        }
    }
}

/// `mcpgen init`: writes a starter annotation file for a spec, and with `overlay` a starter
/// overlay listed after the spec.
pub fn init(
    spec: &Path,
    out: &Path,
    select: Select,
    force: bool,
    overlay: Option<&Path>,
) -> Result<Diagnostics, Diagnostics> {
    for (path, what) in
        std::iter::once((out, "annotation file")).chain(overlay.map(|o| (o, "overlay")))
    {
        if path.exists() && !force {
            return Err(Diagnostic::error(
                "file-exists",
                Location::file(path),
                format!("the {what} already exists"),
            )
            .with_help("pass --force to overwrite it, or choose another path")
            .into());
        }
    }
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let spec_text = load::relative_path(spec, out_dir);
    let root = load::common_root(out_dir, spec);
    let set = load::load_spec(spec, &root)?;
    let warnings = set.warnings().clone();
    let overlay_file = overlay.map(|path| {
        let text =
            crate::init::starter_overlay(&set, &load::relative_path(spec, &dir_of(path)), path);
        (path, load::relative_path(path, out_dir), text)
    });
    let (starter, text) = crate::init::starter_file(
        out,
        vec![(spec_text, set)],
        select,
        overlay_file.as_ref().map(|(_, listed, _)| listed.as_str()),
    );
    let write = |path: &Path, text: &str| {
        write::write_file(path, text.as_bytes()).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "write-failed",
                Location::file(path),
                e.to_string(),
            ))
        })
    };
    if let Some((path, _, text)) = &overlay_file {
        write(path, text)?;
        println!(
            "wrote {} (a starter overlay: fixes to the spec go there)",
            path.display()
        );
    }
    write(out, &text)?;
    let enabled = starter
        .tools
        .iter()
        .filter(|t| t.enabled && t.disabled_because.is_none())
        .count();
    let failing = starter
        .tools
        .iter()
        .filter(|t| t.disabled_because.is_some())
        .count();
    println!(
        "wrote {} ({} operations, {enabled} enabled{})",
        out.display(),
        starter.tools.len(),
        if failing > 0 {
            format!(", {failing} left disabled: see the comments")
        } else {
            String::new()
        }
    );
    Ok(warnings)
}

/// The directory holding `path` (`.` for a bare file name).
fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `mcpgen list SPEC`: prints the operations of a spec and the tool names `init` would use.
pub fn list_spec(spec: &Path) -> Result<Diagnostics, Diagnostics> {
    let root = spec.parent().map(Path::to_path_buf).unwrap_or_default();
    let set = load::load_spec(spec, &root)?;
    let specs = vec![(spec.to_string_lossy().into_owned(), set)];
    let mut diagnostics = Diagnostics::new();
    let index = OperationIndex::build(&specs, &mut diagnostics);
    let starter = crate::init::starter("", &specs[0].1, &index, Select::None);
    println!(
        "{:<8} {:<48} {:<40} suggested tool",
        "method", "path", "operationId"
    );
    for (op, tool) in index.operations.iter().zip(&starter.tools) {
        println!(
            "{:<8} {:<48} {:<40} {}",
            op.method.as_str(),
            op.path,
            op.id().unwrap_or("-"),
            tool.name
        );
    }
    println!("{} operations", index.operations.len());
    Ok(diagnostics)
}

/// `mcpgen list -c FILE`: prints the operations and which tools an annotation file makes of them.
pub fn list_config(config: &Path) -> Result<Diagnostics, Diagnostics> {
    let project = load::load_project(config)?;
    let mut diagnostics = Diagnostics::new();
    let index = OperationIndex::build(&project.specs, &mut diagnostics);
    println!("{:<8} {:<48} {:<40} tools", "method", "path", "operationId");
    let mut enabled = 0;
    for op in &index.operations {
        let tools: Vec<String> = project
            .file
            .tools
            .iter()
            .filter(|(_, entry)| {
                index
                    .find(&entry.operation)
                    .is_ok_and(|found| std::ptr::eq(found, op))
            })
            .map(|(name, entry)| {
                if entry.enabled == Some(false) {
                    format!("{name} (disabled)")
                } else {
                    enabled += 1;
                    name.clone()
                }
            })
            .collect();
        let tools = if tools.is_empty() {
            "-".to_owned()
        } else {
            tools.join(", ")
        };
        println!(
            "{:<8} {:<48} {:<40} {tools}",
            op.method.as_str(),
            op.path,
            op.id().unwrap_or("-")
        );
    }
    println!(
        "{} operations, {enabled} enabled tools",
        index.operations.len()
    );
    Ok(diagnostics)
}

/// Lines of diff shown per file by `check` (the rest is counted).
const CHECK_DIFF_LINES: usize = 80;

/// `mcpgen check`: exits 1 (with diffs) when the output directory is not what `build` would write.
pub fn check(
    config: &Path,
    out: Option<&Path>,
    runtime_path: Option<&str>,
) -> Result<Diagnostics, Diagnostics> {
    let project = load::load_project(config)?;
    let runtime = runtime_path.map_or(RuntimeSource::Vendored, |p| {
        RuntimeSource::Path(p.to_owned())
    });
    let (files, warnings, crate_name) = generate_with(project, &EmitOptions { runtime })?;
    let out_dir: PathBuf = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(crate_name.as_str()));
    let differences = write::compare(&out_dir, &files);
    if differences.is_empty() {
        println!("{} is up to date", out_dir.display());
        return Ok(warnings);
    }
    for difference in &differences {
        match difference {
            write::Difference::Missing(path) => {
                println!("missing: {}", out_dir.join(path).display())
            }
            write::Difference::Stale(path) => {
                println!("stale (would be removed): {}", out_dir.join(path).display())
            }
            write::Difference::Changed(path, current, new) => {
                let shown = out_dir.join(path).display().to_string();
                let diff = similar::TextDiff::from_lines(current, new)
                    .unified_diff()
                    .context_radius(3)
                    .header(&shown, &format!("{shown} (regenerated)"))
                    .to_string();
                let lines: Vec<&str> = diff.lines().collect();
                for line in lines.iter().take(CHECK_DIFF_LINES) {
                    println!("{line}");
                }
                if lines.len() > CHECK_DIFF_LINES {
                    println!("… {} more diff lines", lines.len() - CHECK_DIFF_LINES);
                }
            }
        }
    }
    // What the changes mean for clients, from the contract on disk to the regenerated one.
    let contract_path = out_dir.join(crate::contract::CONTRACT_FILE);
    if let (Ok(old), Some(new)) = (
        load::read_contract(&contract_path),
        files.get(crate::contract::CONTRACT_FILE),
    ) && let Ok(new) = crate::contract::from_text(&String::from_utf8_lossy(&new.to_vec()))
    {
        let diff = crate::diff::diff(&old, &new, &BTreeMap::new());
        if !diff.changes.is_empty() {
            println!("\n{}", crate::diff::render_text(&diff).trim_end());
        }
    }
    let mut all = warnings;
    all.push(
        Diagnostic::error(
            "stale-output",
            Location::file(&out_dir),
            format!(
                "{} file(s) differ from what `mcpgen build` would write",
                differences.len()
            ),
        )
        .with_help(format!(
            "run `mcpgen build -c {}` and review the changes (see `mcpgen diff`)",
            config.display()
        )),
    );
    Err(all)
}

/// Output formats of `mcpgen diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    /// Plain text.
    Text,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// JSON.
    Json,
}

/// What `mcpgen diff` found, for its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOutcome {
    /// No change (exit 0).
    Unchanged,
    /// Compatible changes only (exit 3).
    Compatible,
    /// Breaking changes, with a major version bump (exit 4).
    BreakingBumped,
    /// Breaking changes without a major version bump (exit 5).
    Breaking,
}

/// The contract described by a `mcpgen diff` argument: a contract file, an annotation file, or
/// either at a git revision (`REV:PATH`).
fn contract_of(argument: &str) -> Result<Described, Diagnostics> {
    let path = Path::new(argument);
    if path.exists() {
        return contract_at(path);
    }
    if let Some((rev, file)) = argument.split_once(':')
        && !rev.is_empty()
        && !file.is_empty()
    {
        let revision = load::export_revision(rev)?;
        return contract_at(&revision.path(Path::new(file)));
    }
    Err(Diagnostic::error(
        "file-not-found",
        Location::file(path),
        "no such file, and not a `REV:PATH` git revision",
    )
    .with_help("pass a contract file (mcp-contract.json), an annotation file, or REV:PATH")
    .into())
}

/// A contract, and the tools of its annotation file that could not be built (with why).
type Described = (crate::contract::Contract<'static>, BTreeMap<String, String>);

/// The contract in a file: read if it is one, else built from the annotation file.
fn contract_at(path: &Path) -> Result<Described, Diagnostics> {
    if load::is_contract_file(path) {
        return Ok((load::read_contract(path)?, BTreeMap::new()));
    }
    described(&load::load_project(path)?)
}

/// The contract of a project's tools that can be built, and why the others cannot.
fn described(project: &load::Project) -> Result<Described, Diagnostics> {
    let (lowered, failed) = crate::lower::lower_partial(project)?;
    let failed = failed
        .into_iter()
        .map(|(tool, d)| (tool, d.message))
        .collect();
    Ok((
        crate::contract::derive::contract(&lowered.ir).into_owned(),
        failed,
    ))
}

/// `mcpgen diff OLD NEW`, or `mcpgen diff -c mcpgen.yaml --old-spec A --new-spec B`: prints the
/// classified contract changes.
pub fn diff(
    old: Option<&str>,
    new: Option<&str>,
    specs: Option<(&Path, &Path, &Path)>,
    format: DiffFormat,
) -> Result<DiffOutcome, Diagnostics> {
    let ((old, _), (new, failed)) = match (old, new, specs) {
        (Some(old), Some(new), None) => (contract_of(old)?, contract_of(new)?),
        (None, None, Some((config, old_spec, new_spec))) => {
            let build = |spec: &Path| described(&load::load_project_with_spec(config, spec)?);
            (build(old_spec)?, build(new_spec)?)
        }
        _ => {
            return Err(Diagnostic::error("usage", Location::None, "give OLD and NEW, or -c with --old-spec and --new-spec")
                .with_help("mcpgen diff old/mcp-contract.json new/mcp-contract.json; mcpgen diff HEAD~1:mcpgen.yaml mcpgen.yaml; mcpgen diff -c mcpgen.yaml --old-spec v1.json --new-spec v2.json")
                .into());
        }
    };
    let diff = crate::diff::diff(&old, &new, &failed);
    print!(
        "{}",
        match format {
            DiffFormat::Text => crate::diff::render_text(&diff),
            DiffFormat::Markdown => crate::diff::render_markdown(&diff),
            DiffFormat::Json => crate::diff::render_json(&diff),
        }
    );
    Ok(
        match (diff.breaking(), diff.compatible(), diff.version_bumped) {
            (0, 0, _) => DiffOutcome::Unchanged,
            (0, _, _) => DiffOutcome::Compatible,
            (_, _, true) => DiffOutcome::BreakingBumped,
            (_, _, false) => DiffOutcome::Breaking,
        },
    )
}

/// A project, lowered, and the lint findings on it.
fn linted(
    config: &Path,
    options: &crate::lint::LintOptions,
) -> Result<(load::Project, crate::lower::Lowered, Diagnostics), Diagnostics> {
    let project = load::load_project(config)?;
    let lowered = crate::lower::lower(&project)?;
    let annotations = crate::lower::AnnotationCtx {
        path: &project.annotation_path,
        document: &project.annotation,
    };
    let findings = crate::lint::lint(&lowered.ir, &annotations, options);
    Ok((project, lowered, findings))
}

/// Output formats of `mcpgen lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintFormat {
    /// Diagnostics as text, on stderr.
    Text,
    /// SARIF 2.1.0 on stdout.
    Sarif,
}

/// `mcpgen lint`: the tool-surface checks; fails on errors (and warnings with `deny_warnings`).
pub fn lint(
    config: &Path,
    options: &crate::lint::LintOptions,
    format: LintFormat,
    deny_warnings: bool,
) -> Result<Diagnostics, Diagnostics> {
    let (_, lowered, findings) = linted(config, options)?;
    let errors = findings.has_errors();
    let warnings = !findings.is_empty() && !errors;
    if format == LintFormat::Sarif {
        print!("{}", crate::lint::to_sarif(&findings));
    }
    let tools = lowered.ir.tools.len();
    if errors || (deny_warnings && warnings) {
        let mut all = lowered.warnings;
        if format == LintFormat::Text {
            all.extend(findings);
        }
        if !all.has_errors() {
            all.push(
                Diagnostic::error(
                    "lint-warnings-denied",
                    Location::file(config),
                    "lint warnings are denied",
                )
                .with_help("fix them, or run without --deny-warnings"),
            );
        }
        return Err(all);
    }
    if format == LintFormat::Text {
        eprintln!("linted {tools} tools: {} finding(s)", findings.len());
        let mut all = lowered.warnings;
        all.extend(findings);
        return Ok(all);
    }
    Ok(lowered.warnings)
}

/// `mcpgen report`: the review page of a server for a security board (see [`crate::report`]),
/// written to `out`; with `against` (what `mcpgen diff` accepts as OLD), the contract's changes
/// since then.
pub fn report(
    config: &Path,
    against: Option<&str>,
    out: &Path,
) -> Result<Diagnostics, Diagnostics> {
    let (project, lowered, findings) = linted(config, &crate::lint::LintOptions::default())?;
    let diff = match against {
        Some(old) => {
            let (old, _) = contract_of(old)?;
            let new = crate::contract::derive::contract(&lowered.ir);
            Some(crate::diff::diff(&old, &new, &BTreeMap::new()))
        }
        None => None,
    };
    let page = crate::report::render(&crate::report::ReportInput {
        ir: &lowered.ir,
        annotation_file: &project.annotation_file_name(),
        findings: &findings,
        against: against.zip(diff.as_ref()),
    });
    write::write_file(out, page.as_bytes()).map_err(|e| {
        Diagnostic::error("write-failed", Location::file(out), e.to_string())
            .with_help("check the path and its permissions; nothing was half-written")
    })?;
    println!(
        "wrote {} ({} tools, {} lint finding{})",
        out.display(),
        lowered.ir.tools.len(),
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    Ok(lowered.warnings)
}
