//! Contract diffs: what agents gain or lose between two tool contracts, and whether clients break.
//!
//! Pure: two [`Contract`]s in, a classified list of changes out, and renderings as text, Markdown
//! (for a pull-request comment) and JSON. Every change says whether it is *breaking* (a client
//! or an agent relying on the old contract may fail or behave differently: a tool removed or
//! renamed, a new required argument, a narrowed type, an output field removed, a scope added, a
//! reader turned writer, confirmation removed, more data leaving the server …) or *compatible*
//! (a tool or optional argument added, a description changed …), and why.

mod schema;

use schema::{Side, compare_schema};

use crate::contract::{Contract, ToolContract};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// How a change affects clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// Clients or agents relying on the old contract may fail or behave differently.
    Breaking,
    /// Old clients keep working.
    Compatible,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// The tool it concerns (None for the server).
    pub tool: Option<String>,
    /// Breaking or compatible.
    pub impact: Impact,
    /// What changed.
    pub change: String,
    /// Why it has that impact.
    pub why: String,
}

/// The changes between two contracts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractDiff {
    /// Contract version before.
    pub old_version: String,
    /// Contract version after.
    pub new_version: String,
    /// Whether the new version is a major bump (minor for 0.x versions) of the old.
    pub version_bumped: bool,
    /// Every change, by tool, breaking first.
    pub changes: Vec<Change>,
}

impl ContractDiff {
    /// Number of breaking changes.
    pub fn breaking(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.impact == Impact::Breaking)
            .count()
    }

    /// Number of compatible changes.
    pub fn compatible(&self) -> usize {
        self.changes.len() - self.breaking()
    }
}

/// Collects changes for one tool.
struct Changes<'a> {
    tool: Option<&'a str>,
    out: &'a mut Vec<Change>,
    /// Output fields whose only type change is that they now accept `null`, reported together.
    newly_nullable: Vec<String>,
}

impl Changes<'_> {
    fn push(&mut self, impact: Impact, change: impl Into<String>, why: impl Into<String>) {
        self.out.push(Change {
            tool: self.tool.map(str::to_owned),
            impact,
            change: change.into(),
            why: why.into(),
        });
    }
    fn breaking(&mut self, change: impl Into<String>, why: impl Into<String>) {
        self.push(Impact::Breaking, change, why);
    }
    fn compatible(&mut self, change: impl Into<String>, why: impl Into<String>) {
        self.push(Impact::Compatible, change, why);
    }
}

/// Compares two contracts. `no_longer_fit` maps the tools that vanished because the annotation
/// file no longer fits the new spec to the reason: the diff says why instead of calling them
/// removed.
pub fn diff(
    old: &Contract,
    new: &Contract,
    no_longer_fit: &BTreeMap<String, String>,
) -> ContractDiff {
    let mut changes = Vec::new();
    let old_names: BTreeSet<&String> = old.tools.keys().collect();
    let new_names: BTreeSet<&String> = new.tools.keys().collect();
    let removed: Vec<&String> = old_names.difference(&new_names).copied().collect();
    let mut added: Vec<&String> = new_names.difference(&old_names).copied().collect();
    for name in removed {
        let old_tool = &old.tools[name];
        // A removed tool whose operation reappears under another name was renamed.
        let renamed = added
            .iter()
            .position(|n| same_operation(&new.tools[*n], old_tool));
        match renamed {
            Some(i) => {
                let new_name = added.remove(i);
                let mut c = Changes {
                    tool: Some(new_name),
                    out: &mut changes,
                    newly_nullable: Vec::new(),
                };
                c.breaking(
                    format!("renamed from `{name}`"),
                    "clients and agent prompts calling the old name fail",
                );
                compare_tool(old_tool, &new.tools[new_name], &mut c);
            }
            None => {
                let mut c = Changes {
                    tool: Some(name),
                    out: &mut changes,
                    newly_nullable: Vec::new(),
                };
                match no_longer_fit.get(name) {
                    Some(reason) => c.breaking(
                        format!("no longer fits the spec: {reason}"),
                        "the annotation file must follow the spec's change before the tool can be generated again",
                    ),
                    None => c.breaking(
                        "tool removed",
                        "clients calling it fail; agents lose the capability",
                    ),
                }
            }
        }
    }
    for name in added {
        Changes {
            tool: Some(name),
            out: &mut changes,
            newly_nullable: Vec::new(),
        }
        .compatible(
            "tool added",
            "a new capability; existing calls are unaffected",
        );
    }
    for (name, old_tool) in &old.tools {
        if let Some(new_tool) = new.tools.get(name) {
            compare_tool(
                old_tool,
                new_tool,
                &mut Changes {
                    tool: Some(name),
                    out: &mut changes,
                    newly_nullable: Vec::new(),
                },
            );
        }
    }
    if old.server.name != new.server.name {
        Changes {
            tool: None,
            out: &mut changes,
            newly_nullable: Vec::new(),
        }
        .breaking(
            format!(
                "server renamed from `{}` to `{}`",
                old.server.name, new.server.name
            ),
            "client configurations name the server",
        );
    }
    if old.server.profiles != new.server.profiles {
        let show = |p: &[String]| match p {
            [] => "none".to_owned(),
            _ => p.join(", "),
        };
        Changes {
            tool: None,
            out: &mut changes,
            newly_nullable: Vec::new(),
        }
        .compatible(
            format!(
                "client profiles changed from {} to {}",
                show(&old.server.profiles),
                show(&new.server.profiles)
            ),
            "published input schemas are rewritten for those clients; the server accepts the same arguments",
        );
    }
    changes.sort_by(|a, b| (&a.tool, a.impact, &a.change).cmp(&(&b.tool, b.impact, &b.change)));
    ContractDiff {
        old_version: old.server.version.clone(),
        new_version: new.server.version.clone(),
        version_bumped: is_breaking_bump(&old.server.version, &new.server.version),
        changes,
    }
}

fn same_operation(a: &ToolContract, b: &ToolContract) -> bool {
    a.operation.method == b.operation.method
        && a.operation.path == b.operation.path
        && a.operation.spec == b.operation.spec
}

/// Whether `new` bumps `old` as a breaking release must: the major part, or the minor part
/// while the major is 0.
pub fn is_breaking_bump(old: &str, new: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['-', '+']).next()?.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    match (parse(old), parse(new)) {
        (Some((0, old_minor)), Some((0, new_minor))) => new_minor > old_minor,
        (Some((old_major, _)), Some((new_major, _))) => new_major > old_major,
        _ => false,
    }
}

/// Compares two versions of a tool field by field (never by hash alone: a contract edited by
/// hand keeps its old hashes).
fn compare_tool(old: &ToolContract, new: &ToolContract, c: &mut Changes<'_>) {
    if old.title != new.title {
        c.compatible("title changed", "only the display name changed");
    }
    if old.description != new.description {
        c.compatible(
            "description changed",
            "what the model reads changed; review it for instructions aimed at the model",
        );
    }
    // Scopes.
    for scope in new.scopes.iter().filter(|s| !old.scopes.contains(s)) {
        c.breaking(
            format!("scope `{scope}` now required"),
            "callers whose tokens lack it lose the tool",
        );
    }
    for scope in old.scopes.iter().filter(|s| !new.scopes.contains(s)) {
        c.compatible(
            format!("scope `{scope}` no longer required"),
            "more callers may use the tool; check that this is intended",
        );
    }
    // Hints and safety.
    let (o, n) = (&old.annotations, &new.annotations);
    if o.read_only && !n.read_only {
        c.breaking(
            "read-only tool became a writer",
            "agents allowed to read may now change data",
        );
    } else if !o.read_only && n.read_only {
        c.compatible("writer became read-only", "the tool no longer changes data");
    }
    if !o.destructive && n.destructive {
        c.breaking("tool became destructive", "calls may now destroy data");
    } else if o.destructive && !n.destructive {
        c.compatible("tool no longer destructive", "calls no longer destroy data");
    }
    if o.idempotent && !n.idempotent {
        c.breaking(
            "tool no longer idempotent",
            "clients that retry calls may now repeat an effect",
        );
    } else if !o.idempotent && n.idempotent {
        c.compatible("tool became idempotent", "retries are now safe");
    }
    if o.open_world != n.open_world {
        c.compatible("open-world hint changed", "a hint only");
    }
    if old.confirm && !new.confirm {
        c.breaking(
            "human confirmation removed",
            "calls now run without a human's approval",
        );
    } else if !old.confirm && new.confirm {
        c.breaking(
            "human confirmation now required",
            "unattended agents can no longer complete the call",
        );
    }
    if old.identity != new.identity {
        c.breaking(
            format!(
                "upstream identity changed from {} to {}",
                old.identity, new.identity
            ),
            "the upstream sees another identity, with other permissions",
        );
    }
    // Response shaping.
    let old_allow: BTreeSet<&String> = old.response.allow.iter().collect();
    let new_allow: BTreeSet<&String> = new.response.allow.iter().collect();
    if !old_allow.is_empty() && new_allow.is_empty() {
        c.breaking(
            "field allowlist removed",
            "every field of the response now leaves the server",
        );
    } else if old_allow.is_empty() && !new_allow.is_empty() {
        c.compatible(
            "field allowlist added",
            "only the listed fields leave the server now (see output changes)",
        );
    } else if old_allow != new_allow {
        for path in new_allow.difference(&old_allow) {
            if !old_allow.is_empty() {
                c.breaking(
                    format!("field `{path}` now allowed"),
                    "more data leaves the server",
                );
            }
        }
        for path in old_allow.difference(&new_allow) {
            c.compatible(
                format!("field `{path}` no longer allowed"),
                "less data leaves the server (see output changes)",
            );
        }
    }
    let old_redact: BTreeMap<&String, (&String, u8)> = old
        .response
        .redact
        .iter()
        .map(|r| (&r.path, (&r.action, r.keep_last)))
        .collect();
    let new_redact: BTreeMap<&String, (&String, u8)> = new
        .response
        .redact
        .iter()
        .map(|r| (&r.path, (&r.action, r.keep_last)))
        .collect();
    for (path, (action, _)) in &old_redact {
        match new_redact.get(path) {
            None => c.breaking(
                format!("redaction ({action}) of `{path}` removed"),
                "data that was withheld now leaves the server",
            ),
            Some((new_action, keep)) if new_action != action || *keep != old_redact[path].1 => {
                let weaker = *action == "remove" || *keep > old_redact[path].1;
                let why = "what the server withholds changed";
                if weaker {
                    c.breaking(
                        format!("redaction of `{path}` weakened to {new_action}"),
                        why,
                    )
                } else {
                    c.compatible(
                        format!("redaction of `{path}` changed to {new_action}"),
                        why,
                    )
                }
            }
            Some(_) => {}
        }
    }
    for (path, (action, _)) in &new_redact {
        if !old_redact.contains_key(path) {
            c.compatible(
                format!("`{path}` now redacted ({action})"),
                "less data leaves the server (see output changes)",
            );
        }
    }
    // Behaviour behind the same interface.
    let (oo, no) = (&old.operation, &new.operation);
    if oo.method != no.method || oo.path != no.path {
        c.compatible(
            format!(
                "upstream operation changed from {} {} to {} {}",
                oo.method, oo.path, no.method, no.path
            ),
            "same tool, another endpoint",
        );
    }
    for (key, value) in &no.fixed {
        match oo.fixed.get(key) {
            Some(old_value) if old_value == value => {}
            Some(old_value) => c.breaking(
                format!("fixed `{key}` changed from {old_value} to {value}"),
                "the same call now does something else",
            ),
            None => c.breaking(
                format!("`{key}` now fixed to {value}"),
                "the model can no longer choose it; calls that set it are refused",
            ),
        }
    }
    for key in oo.fixed.keys().filter(|k| !no.fixed.contains_key(*k)) {
        c.compatible(
            format!("`{key}` no longer fixed"),
            "the tool is wider than before; check that this is intended",
        );
    }
    if oo.from_env != no.from_env {
        c.compatible(
            "values from the environment changed",
            "operators must set the new variables",
        );
    }
    // Schemas (the confirmation argument comes and goes with the confirmation rule above).
    // Arguments are compared by what the server accepts: the spec's schema where a client
    // profile rewrote the published one (the server change below reports that rewrite).
    compare_schema(
        &without_confirmation(accepted(old)),
        &without_confirmation(accepted(new)),
        Side::Input,
        c,
    );
    match (&old.output_schema, &new.output_schema) {
        (Some(_), None) => c.breaking(
            "structured output removed",
            "clients reading structuredContent get none",
        ),
        (None, Some(_)) => c.compatible(
            "structured output added",
            "results now also come as structuredContent",
        ),
        (Some(o), Some(n)) => compare_schema(o, n, Side::Output, c),
        (None, None) => {}
    }
}

/// The input schema the server validates arguments against.
fn accepted<'a>(tool: &'a ToolContract<'_>) -> &'a Value {
    tool.spec_input_schema
        .as_deref()
        .unwrap_or(&tool.input_schema)
}

/// An input schema without the confirmation argument.
fn without_confirmation(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        props.shift_remove(crate::ir::CONFIRMATION_ARGUMENT);
    }
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|name| name != crate::ir::CONFIRMATION_ARGUMENT);
    }
    schema
}

fn version_line(diff: &ContractDiff) -> String {
    let bump = if diff.breaking() == 0 {
        String::new()
    } else if diff.version_bumped {
        " (bumped for the breaking changes)".to_owned()
    } else {
        " — breaking changes need a new major version (minor while 0.x)".to_owned()
    };
    format!(
        "contract version {} → {}{bump}",
        diff.old_version, diff.new_version
    )
}

/// The diff as plain text.
pub fn render_text(diff: &ContractDiff) -> String {
    if diff.changes.is_empty() {
        return format!("no changes ({})\n", version_line(diff));
    }
    let mut out = format!(
        "{} breaking, {} compatible; {}\n",
        diff.breaking(),
        diff.compatible(),
        version_line(diff)
    );
    let mut current: Option<&Option<String>> = None;
    for change in &diff.changes {
        if current != Some(&change.tool) {
            out.push_str(&match &change.tool {
                Some(tool) => format!("\ntool {tool}\n"),
                None => "\nserver\n".to_owned(),
            });
            current = Some(&change.tool);
        }
        let impact = match change.impact {
            Impact::Breaking => "BREAKING  ",
            Impact::Compatible => "compatible",
        };
        out.push_str(&format!("  {impact} {}: {}\n", change.change, change.why));
    }
    out
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The diff as Markdown, for a pull-request comment.
pub fn render_markdown(diff: &ContractDiff) -> String {
    let headline = match (diff.breaking(), diff.compatible()) {
        (0, 0) => "no changes to the tool contract".to_owned(),
        (0, n) => format!("{n} compatible change{}", if n == 1 { "" } else { "s" }),
        (b, n) => format!(
            "**{b} breaking** and {n} compatible change{}",
            if b + n == 1 { "" } else { "s" }
        ),
    };
    let mut out = format!(
        "### MCP tool contract: {headline}\n\n{}\n",
        cell(&version_line(diff))
    );
    if diff.changes.is_empty() {
        return out;
    }
    out.push_str("\n| tool | change | impact | why |\n|---|---|---|---|\n");
    for change in &diff.changes {
        let tool = change
            .tool
            .as_ref()
            .map_or("(server)".to_owned(), |t| format!("`{t}`"));
        let impact = match change.impact {
            Impact::Breaking => "**breaking**",
            Impact::Compatible => "compatible",
        };
        out.push_str(&format!(
            "| {tool} | {} | {impact} | {} |\n",
            cell(&change.change),
            cell(&change.why)
        ));
    }
    out
}

/// The diff as JSON.
pub fn render_json(diff: &ContractDiff) -> String {
    let value = json!({
        "old_version": diff.old_version,
        "new_version": diff.new_version,
        "version_bumped": diff.version_bumped,
        "breaking": diff.breaking(),
        "compatible": diff.compatible(),
        "changes": diff.changes,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}
