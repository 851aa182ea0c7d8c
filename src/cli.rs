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
            eprintln!("timing: {stage} done at {} ms", clock.elapsed().as_millis());
        }
    };
    let project = load::load_project(config)?;
    lap("load");
    let runtime = runtime_path.map_or(RuntimeSource::Vendored, |p| {
        RuntimeSource::Path(p.to_owned())
    });
    let (files, warnings, crate_name) = generate_with(&project, &EmitOptions { runtime })?;
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

/// `mcpgen init`: writes a starter annotation file for a spec.
pub fn init(
    spec: &Path,
    out: &Path,
    select: Select,
    force: bool,
) -> Result<Diagnostics, Diagnostics> {
    if out.exists() && !force {
        return Err(Diagnostic::error(
            "file-exists",
            Location::file(out),
            "the annotation file already exists",
        )
        .with_help("pass --force to overwrite it, or -o to write another file")
        .into());
    }
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let spec_text = load::relative_path(spec, out_dir);
    let root = load::common_root(out_dir, spec);
    let set = load::load_spec(spec, &root)?;
    let warnings = set.warnings().clone();
    let (starter, text) = crate::init::starter_file(out, vec![(spec_text, set)], select);
    write::write_file(out, text.as_bytes()).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "write-failed",
            Location::file(out),
            e.to_string(),
        ))
    })?;
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
