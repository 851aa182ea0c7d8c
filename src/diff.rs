//! Contract diffs: what agents gain or lose between two tool contracts, and whether clients break.
//!
//! Pure: two [`Contract`]s in, a classified list of changes out, and renderings as text, Markdown
//! (for a pull-request comment) and JSON. Every change says whether it is *breaking* (a client
//! or an agent relying on the old contract may fail or behave differently: a tool removed or
//! renamed, a new required argument, a narrowed type, an output field removed, a scope added, a
//! reader turned writer, confirmation removed, more data leaving the server …) or *compatible*
//! (a tool or optional argument added, a description changed …), and why.

use crate::contract::{Contract, ToolContract};
use crate::defs;
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

/// Which way data flows through a schema.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

fn compare_schema(old: &Value, new: &Value, side: Side, c: &mut Changes<'_>) {
    let mut seen = BTreeSet::new();
    compare_node(old, old, new, new, side, "", 0, &mut seen, c);
    let fields = std::mem::take(&mut c.newly_nullable);
    if !fields.is_empty() {
        let shown: Vec<String> = fields.iter().take(8).map(|f| format!("`{f}`")).collect();
        let more = match fields.len() {
            n if n > 8 => format!(" and {} more", n - 8),
            _ => String::new(),
        };
        c.breaking(
            format!("output fields now accept null: {}{more}", shown.join(", ")),
            "clients may receive null where they did not before",
        );
    }
}

/// JSON Schema `type` as a set ("any" when absent).
fn types(schema: &Value) -> BTreeSet<String> {
    match schema.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn name_of(side: Side, path: &str) -> String {
    match side {
        Side::Input => format!("argument `{}`", path.trim_start_matches('.')),
        Side::Output => format!("output field `{}`", path.trim_start_matches('.')),
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_node<'a>(
    old_root: &'a Value,
    old: &'a Value,
    new_root: &'a Value,
    new: &'a Value,
    side: Side,
    path: &str,
    depth: usize,
    seen: &mut BTreeSet<(*const Value, *const Value)>,
    c: &mut Changes<'_>,
) {
    // The roots hold the `$defs` that `$ref`s point into.
    let (old, new) = (defs::resolve(old_root, old), defs::resolve(new_root, new));
    // Nodes of the two (unchanging) trees, by address: a pair is compared once, and a cycle
    // through `$defs` ends.
    if depth > 24 || !seen.insert((old, new)) || old == new {
        return;
    }
    let label = if path.is_empty() {
        match side {
            Side::Input => "arguments".to_owned(),
            Side::Output => "output".to_owned(),
        }
    } else {
        name_of(side, path)
    };
    // Types.
    let (old_types, new_types) = (types(old), types(new));
    if !old_types.is_empty() || !new_types.is_empty() {
        let narrowed = match side {
            // Inputs: a type the server accepted before and refuses now breaks senders.
            Side::Input => {
                !old_types.is_empty()
                    && (new_types.is_empty()
                        || !old_types.iter().all(|t| {
                            new_types.contains(t)
                                || (t == "integer" && new_types.contains("number"))
                        }))
            }
            // Outputs: a type the server may return now that clients did not expect breaks readers.
            Side::Output => {
                !old_types.is_empty()
                    && (new_types.is_empty()
                        || !new_types.iter().all(|t| {
                            old_types.contains(t)
                                || (t == "integer" && old_types.contains("number"))
                        }))
            }
        };
        let only_null_added = side == Side::Output
            && new_types.len() == old_types.len() + 1
            && new_types.contains("null")
            && !old_types.contains("null")
            && old_types.iter().all(|t| new_types.contains(t));
        if only_null_added {
            c.newly_nullable
                .push(path.trim_start_matches('.').to_owned());
        } else if old_types != new_types {
            let change = format!(
                "{label}: type {} → {}",
                show_types(&old_types),
                show_types(&new_types)
            );
            if narrowed {
                c.breaking(
                    change,
                    if side == Side::Input {
                        "values clients sent before are refused now"
                    } else {
                        "clients may receive values of a type they do not expect"
                    },
                );
            } else {
                c.compatible(
                    change,
                    if side == Side::Input {
                        "more values are accepted"
                    } else {
                        "fewer kinds of values are returned"
                    },
                );
            }
        }
    }
    // Enums (inputs only: outputs are descriptive and carry none).
    if side == Side::Input {
        let values = |s: &Value| {
            s.get("enum")
                .and_then(Value::as_array)
                .map(|v| v.iter().map(Value::to_string).collect::<BTreeSet<String>>())
        };
        match (values(old), values(new)) {
            (None, Some(_)) => c.breaking(
                format!("{label}: values restricted to an enum"),
                "values clients sent before may be refused",
            ),
            (Some(_), None) => {
                c.compatible(format!("{label}: enum lifted"), "more values are accepted")
            }
            (Some(o), Some(n)) => {
                let lost: Vec<&String> = o.difference(&n).collect();
                let gained: Vec<&String> = n.difference(&o).collect();
                if !lost.is_empty() {
                    c.breaking(
                        format!("{label}: enum values removed: {}", join(&lost)),
                        "clients sending them are refused",
                    );
                }
                if !gained.is_empty() {
                    c.compatible(
                        format!("{label}: enum values added: {}", join(&gained)),
                        "more values are accepted",
                    );
                }
            }
            (None, None) => {}
        }
        compare_bounds(old, new, &label, c);
    }
    // Object members.
    let props = |s: &Value| {
        s.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (old_props, new_props) = (props(old), props(new));
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let (old_required, new_required) = (required(old), required(new));
    for (name, old_prop) in &old_props {
        let child = format!("{path}.{name}");
        match new_props.get(name) {
            None => match side {
                Side::Input => c.breaking(
                    format!("{} removed", name_of(side, &child)),
                    "clients that send it are refused",
                ),
                Side::Output => c.breaking(
                    format!("{} removed", name_of(side, &child)),
                    "clients or agents reading it find nothing",
                ),
            },
            Some(new_prop) => compare_node(
                old_root,
                old_prop,
                new_root,
                new_prop,
                side,
                &child,
                depth + 1,
                seen,
                c,
            ),
        }
    }
    for (name, _) in new_props
        .iter()
        .filter(|(n, _)| !old_props.contains_key(*n))
    {
        let child = format!("{path}.{name}");
        match side {
            Side::Input if new_required.contains(name) => c.breaking(
                format!("new required {}", name_of(side, &child)),
                "calls without it are refused",
            ),
            Side::Input => c.compatible(
                format!("new optional {}", name_of(side, &child)),
                "existing calls keep working",
            ),
            Side::Output => c.compatible(
                format!("{} added", name_of(side, &child)),
                "clients ignore fields they do not know; it is new data leaving the server: check whether it needs a redaction",
            ),
        }
    }
    if side == Side::Input {
        for name in new_required
            .difference(&old_required)
            .filter(|n| old_props.contains_key(*n))
        {
            c.breaking(
                format!("{} now required", name_of(side, &format!("{path}.{name}"))),
                "calls without it are refused",
            );
        }
        for name in old_required
            .difference(&new_required)
            .filter(|n| new_props.contains_key(*n))
        {
            c.compatible(
                format!("{} now optional", name_of(side, &format!("{path}.{name}"))),
                "existing calls keep working",
            );
        }
    }
    // Array items.
    if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
        compare_node(
            old_root,
            old_items,
            new_root,
            new_items,
            side,
            &format!("{path}[]"),
            depth + 1,
            seen,
            c,
        );
    }
}

/// Bounds that, tightened, refuse values that were accepted.
fn compare_bounds(old: &Value, new: &Value, label: &str, c: &mut Changes<'_>) {
    let number = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
    // (keyword, true when a larger value is tighter)
    let bounds = [
        ("minimum", true),
        ("exclusiveMinimum", true),
        ("minLength", true),
        ("minItems", true),
        ("maximum", false),
        ("exclusiveMaximum", false),
        ("maxLength", false),
        ("maxItems", false),
    ];
    for (keyword, larger_is_tighter) in bounds {
        match (number(old, keyword), number(new, keyword)) {
            (o, Some(n)) if o.is_none_or(|o| if larger_is_tighter { n > o } else { n < o }) => {
                c.breaking(
                    format!(
                        "{label}: {keyword} {} → {n}",
                        o.map_or("none".to_owned(), |o| o.to_string())
                    ),
                    "values accepted before may be refused",
                );
            }
            (Some(o), n) if n.is_none_or(|n| n != o) => {
                c.compatible(
                    format!(
                        "{label}: {keyword} {o} → {}",
                        n.map_or("none".to_owned(), |n| n.to_string())
                    ),
                    "more values are accepted",
                );
            }
            _ => {}
        }
    }
    for keyword in ["pattern", "format"] {
        let (o, n) = (old.get(keyword), new.get(keyword));
        if o != n {
            match n {
                Some(n) => c.breaking(
                    format!("{label}: {keyword} now {n}"),
                    "values accepted before may be refused",
                ),
                None => c.compatible(
                    format!("{label}: {keyword} lifted"),
                    "more values are accepted",
                ),
            }
        }
    }
}

fn show_types(types: &BTreeSet<String>) -> String {
    if types.is_empty() {
        "any".to_owned()
    } else {
        types.iter().cloned().collect::<Vec<_>>().join("|")
    }
}

fn join(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
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
