//! The review report: one static, self-contained HTML page for a security board.
//!
//! For every tool it says what the tool can do (operation, read or write, destructive,
//! confirmation), who may call it (scopes), whose identity reaches the upstream, and what leaves
//! the server (allowlist, redactions); then the lint findings, and the contract's changes
//! against an earlier version, breaking first. Pure: the page is rendered from the lowered server,
//! its lint findings and the diff, with every text escaped for HTML by the template engine. The
//! page loads nothing (no scripts, styles or images from elsewhere; a Content-Security-Policy
//! forbids it) and holds no date, so the same inputs give the same bytes.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::diff::{ContractDiff, Impact};
use crate::ir::{RedactAction, ServerIr, ToolIr};
use crate::load::pointer;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;

/// The template, embedded in the binary.
const TEMPLATE: &str = include_str!("../templates/report.html.j2");

/// What the page is made from.
pub struct ReportInput<'a> {
    /// The lowered server.
    pub ir: &'a ServerIr,
    /// The annotation file's name, as shown.
    pub annotation_file: &'a str,
    /// The lint findings.
    pub findings: &'a Diagnostics,
    /// The contract's changes against an earlier version, and what it was (`--against`).
    pub against: Option<(&'a str, &'a ContractDiff)>,
}

/// The page.
pub fn render(input: &ReportInput<'_>) -> String {
    let view = view(input);
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Every value is escaped for HTML, whatever the template's name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // The template is mcpgen's own and the view complete: a failure is a bug in mcpgen.
    env.add_template("report.html", TEMPLATE)
        .and_then(|()| env.get_template("report.html"))
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&view))))
        .unwrap_or_else(|e| panic!("bug in mcpgen: the report template failed to render: {e:#}"))
}

#[derive(Serialize)]
struct ReportView {
    title: String,
    crate_name: String,
    version: String,
    annotation_file: String,
    base_url: String,
    sources: Vec<String>,
    summary: Summary,
    scopes: Vec<ScopeView>,
    tools: Vec<ToolView>,
    findings: Vec<FindingView>,
    diff: Option<DiffView>,
    mcpgen_version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    tools: usize,
    read_only: usize,
    writes: usize,
    destructive: usize,
    confirmed: usize,
    unscoped: usize,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct ScopeView {
    name: String,
    tools: Vec<String>,
}

#[derive(Serialize)]
struct ToolView {
    name: String,
    title: Option<String>,
    description: String,
    method: &'static str,
    path: String,
    operation_id: Option<String>,
    access: &'static str,
    destructive: bool,
    confirm: bool,
    scopes: Vec<String>,
    identity: &'static str,
    allow: Vec<String>,
    redactions: Vec<RedactionView>,
    output: &'static str,
    findings: usize,
}

#[derive(Serialize)]
struct RedactionView {
    path: String,
    action: String,
}

#[derive(Serialize)]
struct FindingView {
    severity: &'static str,
    code: &'static str,
    tool: Option<String>,
    message: String,
    location: String,
    help: Option<String>,
}

#[derive(Serialize)]
struct DiffView {
    against: String,
    old_version: String,
    new_version: String,
    version_bumped: bool,
    breaking: usize,
    compatible: usize,
    changes: Vec<ChangeView>,
}

#[derive(Serialize)]
struct ChangeView {
    breaking: bool,
    tool: Option<String>,
    change: String,
    why: String,
}

fn view(input: &ReportInput<'_>) -> ReportView {
    let ir = input.ir;
    let findings: Vec<FindingView> = input.findings.sorted().into_iter().map(finding).collect();
    let mut per_tool: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &findings {
        if let Some(tool) = &f.tool {
            *per_tool.entry(tool.as_str()).or_default() += 1;
        }
    }
    let tools: Vec<ToolView> = ir
        .tools
        .iter()
        .map(|tool| tool_view(tool, per_tool.get(tool.name.as_str()).copied()))
        .collect();
    let mut scopes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for tool in &ir.tools {
        for scope in &tool.scopes {
            scopes.entry(scope).or_default().push(tool.name.to_string());
        }
    }
    let count = |f: fn(&ToolIr) -> bool| ir.tools.iter().filter(|t| f(t)).count();
    let severity = |s: Severity| {
        input
            .findings
            .sorted()
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    ReportView {
        title: ir
            .title
            .clone()
            .unwrap_or_else(|| ir.crate_name.to_string()),
        crate_name: ir.crate_name.to_string(),
        version: ir.version.clone(),
        annotation_file: input.annotation_file.to_owned(),
        base_url: ir.upstream.base_url.clone(),
        sources: ir.sources.iter().map(|s| s.path.clone()).collect(),
        summary: Summary {
            tools: ir.tools.len(),
            read_only: count(|t| t.hints.read_only),
            writes: count(|t| !t.hints.read_only),
            destructive: count(|t| !t.hints.read_only && t.hints.destructive),
            confirmed: count(|t| t.confirm),
            unscoped: count(|t| t.scopes.is_empty()),
            errors: severity(Severity::Error),
            warnings: severity(Severity::Warning),
        },
        scopes: scopes
            .into_iter()
            .map(|(name, tools)| ScopeView {
                name: name.to_owned(),
                tools,
            })
            .collect(),
        tools,
        findings,
        diff: input
            .against
            .map(|(against, diff)| diff_view(against, diff)),
        mcpgen_version: crate::emit::MCPGEN_VERSION,
    }
}

fn tool_view(tool: &ToolIr, findings: Option<usize>) -> ToolView {
    let redactions = tool
        .output
        .redact
        .iter()
        .map(|r| RedactionView {
            path: r.path.clone(),
            action: match r.action {
                RedactAction::Remove => "removed".to_owned(),
                RedactAction::Mask { keep_last: 0 } => "masked".to_owned(),
                RedactAction::Mask { keep_last } => {
                    format!("masked but its last {keep_last} characters")
                }
            },
        })
        .collect();
    ToolView {
        name: tool.name.to_string(),
        title: tool.title.clone(),
        description: tool.description.clone(),
        method: tool.operation.method.as_str(),
        path: tool.operation.path.clone(),
        operation_id: tool.operation.id.clone(),
        access: if tool.hints.read_only {
            "read"
        } else {
            "write"
        },
        destructive: !tool.hints.read_only && tool.hints.destructive,
        confirm: tool.confirm,
        scopes: tool.scopes.clone(),
        identity: tool.identity.as_str(),
        allow: tool.output.allow.clone(),
        redactions,
        output: if tool.output.schema.is_some() {
            "structured"
        } else {
            "text"
        },
        findings: findings.unwrap_or(0),
    }
}

fn finding(d: &Diagnostic) -> FindingView {
    let tool = match &d.location {
        crate::diag::Location::InFile { pointer, .. } => pointer::tokens(pointer)
            .filter(|t| t.len() >= 2 && t[0] == "tools")
            .map(|t| t[1].clone()),
        _ => None,
    };
    FindingView {
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        },
        code: d.code,
        tool,
        message: d.message.clone(),
        location: d.location.to_string(),
        help: d.help.clone(),
    }
}

fn diff_view(against: &str, diff: &ContractDiff) -> DiffView {
    let mut changes: Vec<ChangeView> = diff
        .changes
        .iter()
        .map(|c| ChangeView {
            breaking: c.impact == Impact::Breaking,
            tool: c.tool.clone(),
            change: c.change.clone(),
            why: c.why.clone(),
        })
        .collect();
    // Breaking changes first, each group in the diff's order.
    changes.sort_by_key(|c| !c.breaking);
    DiffView {
        against: against.to_owned(),
        old_version: diff.old_version.clone(),
        new_version: diff.new_version.clone(),
        version_bumped: diff.version_bumped,
        breaking: diff.breaking(),
        compatible: diff.compatible(),
        changes,
    }
}
