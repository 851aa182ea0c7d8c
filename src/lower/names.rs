//! Field rules by name: how a tool's allowlist and redactions hold where an answer does not have
//! the shape its spec describes.
//!
//! Positional rules (`/results/*/email`) protect the positions the response schema describes.
//! Real answers also come in other shapes: an error body embedding the record, an envelope the
//! spec does not mention, a member the vendor added. For those parts the runtime applies these
//! rules by member name ([`NameRulesIr`]):
//!
//! - `drop`: the names of the members the redactions remove or mask (the last named segment of
//!   each path) and, with an allowlist, the names of every response member the allowlist leaves
//!   out, wherever they occur in the response schema. A member so named is removed wherever the
//!   published schema does not name it at that position, in successes and error bodies alike.
//! - `keep` (tools with an allowlist): error bodies keep only members named like something the
//!   allowlist lets through, or like a common error-envelope member ([`ERROR_MEMBER_NAMES`]),
//!   less `drop`. An error body of an allowlisted tool thus shows its message, never a record
//!   the allowlist would have cut.
//!
//! Pure: the inputs are the lowered response schema and the parsed paths.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::defs::{self, Defs};
use crate::ir::NameRulesIr;
use crate::wildcard::{Segment, WildcardPath};

/// Member names error envelopes commonly use: kept in error bodies of allowlisted tools unless
/// the response has a member of that name the rules remove.
pub const ERROR_MEMBER_NAMES: &[&str] = &[
    "category",
    "code",
    "correlationId",
    "description",
    "detail",
    "details",
    "documentation_url",
    "error",
    "errorCode",
    "errorMessage",
    "errorSummary",
    "error_code",
    "error_description",
    "error_message",
    "errors",
    "fault",
    "faultstring",
    "field",
    "hint",
    "message",
    "messages",
    "moreInfo",
    "more_info",
    "param",
    "reason",
    "requestId",
    "request_id",
    "status",
    "statusCode",
    "status_code",
    "subCategory",
    "title",
    "traceId",
    "trace_id",
    "type",
];

/// Deepest position of the response schema visited (recursive schemas repeat forever).
const MAX_DEPTH: usize = 32;

/// The name rules of a tool with these allowlist and redaction paths over `schema` (the
/// upstream response schema with its `$defs`, before shaping).
pub fn name_rules(
    schema: Option<&Value>,
    defs: &dyn Defs,
    allow: &[WildcardPath],
    redact: &[WildcardPath],
) -> NameRulesIr {
    if allow.is_empty() && redact.is_empty() {
        return NameRulesIr::default();
    }
    let mut drop: BTreeSet<String> = redact.iter().filter_map(last_name).collect();
    let redacts_everything = redact.iter().any(|p| last_name(p).is_none());
    if allow.is_empty() {
        return NameRulesIr {
            keep: redacts_everything.then(Vec::new),
            drop: drop.into_iter().collect(),
        };
    }
    let mut allowed: BTreeSet<String> = allow
        .iter()
        .flat_map(|p| &p.segments)
        .filter_map(|s| match s {
            Segment::Key(k) if k.parse::<usize>().is_err() => Some(k.clone()),
            _ => None,
        })
        .collect();
    if let Some(root) = schema {
        let mut names = Members {
            root: defs,
            allow,
            allowed: &mut allowed,
            left_out: &mut drop,
            stack: Vec::new(),
            done: BTreeSet::new(),
        };
        names.walk(root, &mut Vec::new());
    }
    let keep = if redacts_everything {
        Vec::new()
    } else {
        allowed
            .into_iter()
            .chain(ERROR_MEMBER_NAMES.iter().map(|n| (*n).to_owned()))
            .filter(|n| !drop.contains(n))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    NameRulesIr {
        keep: Some(keep),
        drop: drop.into_iter().collect(),
    }
}

/// Where the response schema describes a member named like a redacted one at a position no
/// redaction path reaches (`/results/email` when the path is `/results/*/email`, in a union of
/// one record or a list of them): `(path index, position)` pairs, at most a few per path. There
/// the value is shown as the upstream sends it; a warning lets the architect add a path.
pub fn redaction_gaps(
    schema: &Value,
    defs: &dyn Defs,
    redact: &[WildcardPath],
) -> Vec<(usize, String)> {
    let mut gaps = Vec::new();
    for (index, path) in redact.iter().enumerate() {
        let Some(name) = last_name(path) else {
            continue;
        };
        let mut found = Vec::new();
        positions_of(
            defs,
            schema,
            &name,
            &mut Vec::new(),
            &mut Vec::new(),
            &mut found,
        );
        gaps.extend(
            found
                .into_iter()
                .filter(|position| {
                    !redact
                        .iter()
                        .any(|p| p.segments.len() == position.len() && agree(position, &p.segments))
                })
                .take(MAX_GAPS)
                .map(|position| (index, WildcardPath { segments: position }.to_string())),
        );
    }
    gaps
}

/// Most gaps reported for one redaction.
const MAX_GAPS: usize = 3;

/// Deepest position searched for gaps.
const MAX_GAP_DEPTH: usize = 8;

/// Positions (with `*` for items and unnamed members) where the schema names a member `name`.
fn positions_of<'a>(
    root: &'a dyn Defs,
    schema: &'a Value,
    name: &str,
    position: &mut Vec<Segment>,
    stack: &mut Vec<&'a str>,
    found: &mut Vec<Vec<Segment>>,
) {
    if position.len() > MAX_GAP_DEPTH || found.len() > 16 {
        return;
    }
    let Value::Object(node) = schema else { return };
    if let Some(reference) = node.get("$ref").and_then(Value::as_str)
        && let Some(def) = defs::name_of(reference)
        && !stack.contains(&def)
        && let Some(target) = defs::definition(root, reference)
    {
        stack.push(def);
        positions_of(root, target, name, position, stack, found);
        stack.pop();
    }
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (key, member) in properties {
            position.push(Segment::Key(key.clone()));
            if key == name && !found.contains(position) {
                found.push(position.clone());
            }
            positions_of(root, member, name, position, stack, found);
            position.pop();
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(member) = node.get(key).filter(|m| m.is_object()) {
            position.push(Segment::Any);
            positions_of(root, member, name, position, stack, found);
            position.pop();
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = node.get(key) {
            for branch in branches {
                positions_of(root, branch, name, position, stack, found);
            }
        }
    }
}

/// The last segment of a path that names a member (not `*`, not an index).
fn last_name(path: &WildcardPath) -> Option<String> {
    path.segments.iter().rev().find_map(|s| match s {
        Segment::Key(k) if k.parse::<usize>().is_err() => Some(k.clone()),
        _ => None,
    })
}

/// Whether `a` and `b` agree on their common prefix (`*` agrees with anything).
fn agree(a: &[Segment], b: &[Segment]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| matches!((x, y), (Segment::Any, _) | (_, Segment::Any)) || x == y)
}

/// Sorts the response schema's member names into those the allowlist lets through and those
/// it leaves out.
struct Members<'a> {
    root: &'a dyn Defs,
    allow: &'a [WildcardPath],
    allowed: &'a mut BTreeSet<String>,
    left_out: &'a mut BTreeSet<String>,
    /// Definitions being walked (a recursive schema is walked once along each branch).
    stack: Vec<&'a str>,
    /// Definitions walked below every allow path's reach, with whether they were within an
    /// allowed subtree: walking one again there finds nothing new (without this, schemas whose
    /// definitions refer to each other densely cost a walk per path through them).
    done: BTreeSet<(&'a str, bool)>,
}

impl<'a> Members<'a> {
    /// Whether walking definition `name` at `position` can find anything not found yet: always
    /// while some allow path still runs on below `position`; else once per (definition, within
    /// an allowed subtree or not), since below every allow path only that decides what a member
    /// name counts as.
    fn first_visit(&mut self, name: &'a str, position: &[Segment]) -> bool {
        let runs_on = self
            .allow
            .iter()
            .any(|a| a.segments.len() > position.len() && agree(position, &a.segments));
        if runs_on {
            return true;
        }
        let within = self
            .allow
            .iter()
            .any(|a| a.segments.len() <= position.len() && agree(position, &a.segments));
        self.done.insert((name, within))
    }

    fn walk(&mut self, schema: &'a Value, position: &mut Vec<Segment>) {
        if position.len() > MAX_DEPTH {
            return;
        }
        let Value::Object(node) = schema else { return };
        if let Some(reference) = node.get("$ref").and_then(Value::as_str)
            && let Some(name) = defs::name_of(reference)
            && !self.stack.contains(&name)
            && let Some(target) = defs::definition(self.root, reference)
            && self.first_visit(name, position)
        {
            self.stack.push(name);
            self.walk(target, position);
            self.stack.pop();
        }
        if let Some(Value::Object(properties)) = node.get("properties") {
            for (name, member) in properties {
                position.push(Segment::Key(name.clone()));
                // Through (an ancestor of an allowed path) or within (below one) the allowlist.
                let passes = self.allow.iter().any(|a| agree(position, &a.segments));
                if passes {
                    self.allowed.insert(name.clone());
                } else {
                    self.left_out.insert(name.clone());
                }
                self.walk(member, position);
                position.pop();
            }
        }
        for key in ["additionalProperties", "items"] {
            if let Some(member) = node.get(key).filter(|m| m.is_object()) {
                position.push(Segment::Any);
                self.walk(member, position);
                position.pop();
            }
        }
        for key in ["patternProperties"] {
            if let Some(Value::Object(patterns)) = node.get(key) {
                for member in patterns.values() {
                    position.push(Segment::Any);
                    self.walk(member, position);
                    position.pop();
                }
            }
        }
        if let Some(Value::Array(prefix)) = node.get("prefixItems") {
            for member in prefix {
                position.push(Segment::Any);
                self.walk(member, position);
                position.pop();
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = node.get(key) {
                for branch in branches {
                    self.walk(branch, position);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_redacted_name_described_where_no_path_reaches_is_a_gap() {
        let schema = json!({
            "type": "object",
            "properties": {"results": {"anyOf": [
                {"type": "array", "items": {"$ref": "#/$defs/Contact"}},
                {"$ref": "#/$defs/Contact"}
            ]}},
            "$defs": {"Contact": {"type": "object", "properties": {"email": {"type": "string"}}}}
        });
        assert_eq!(
            redaction_gaps(&schema, &schema, &paths(&["/results/*/email"])),
            vec![(0, "/results/email".to_owned())]
        );
        assert!(
            redaction_gaps(
                &schema,
                &schema,
                &paths(&["/results/*/email", "/results/email"])
            )
            .is_empty()
        );
    }

    #[test]
    fn densely_linked_definitions_are_walked_once_below_the_allowlist() {
        // Twelve definitions, each an id or any of the others: without memoising, walking
        // every path through them takes 11! steps.
        let names: Vec<String> = (0..12).map(|i| format!("S{i}")).collect();
        let defs: serde_json::Map<String, Value> = names
            .iter()
            .map(|n| {
                let others: serde_json::Map<String, Value> = names
                    .iter()
                    .filter(|m| *m != n)
                    .map(|m| (format!("to_{m}"), json!({"anyOf": [{"type": "string"}, {"$ref": format!("#/$defs/{m}")}]})))
                    .collect();
                (n.clone(), json!({"type": "object", "properties": others}))
            })
            .collect();
        let schema = json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/S0"}, "secret": {"type": "string"}}, "$defs": defs});
        let started = std::time::Instant::now();
        let rules = name_rules(Some(&schema), &schema, &paths(&["/root/to_S1"]), &[]);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(rules.drop.contains(&"secret".to_owned()));
        assert!(rules.keep.unwrap().contains(&"root".to_owned()));
    }

    fn paths(texts: &[&str]) -> Vec<WildcardPath> {
        texts
            .iter()
            .map(|t| WildcardPath::parse(t).unwrap())
            .collect()
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "total": {"type": "integer"},
                "results": {"type": "array", "items": {"$ref": "#/$defs/Contact"}}
            },
            "$defs": {
                "Contact": {"type": "object", "properties": {
                    "id": {"type": "integer"},
                    "email": {"type": "string"},
                    "ssn": {"type": "string"},
                    "message": {"type": "string"},
                    "owner": {"$ref": "#/$defs/Contact"}
                }}
            }
        })
    }

    #[test]
    fn no_rules_no_names() {
        assert_eq!(
            name_rules(Some(&schema()), &schema(), &[], &[]),
            NameRulesIr::default()
        );
    }

    #[test]
    fn redactions_drop_their_last_named_segment() {
        let rules = name_rules(
            Some(&schema()),
            &schema(),
            &[],
            &paths(&["/results/*/email", "/results/*/owner/*", "/results/0/ssn"]),
        );
        assert_eq!(
            rules,
            NameRulesIr {
                keep: None,
                drop: vec!["email".into(), "owner".into(), "ssn".into()],
            }
        );
        // A path with no named segment redacts every member: error bodies show none.
        let rules = name_rules(Some(&schema()), &schema(), &[], &paths(&["/*"]));
        assert_eq!(rules.keep, Some(vec![]));
    }

    #[test]
    fn an_allowlist_keeps_what_it_lets_through_and_drops_what_it_leaves_out() {
        let rules = name_rules(
            Some(&schema()),
            &schema(),
            &paths(&["/total", "/results/*/id", "/results/*/owner"]),
            &paths(&["/results/*/owner/email"]),
        );
        // `owner` is allowed whole, so its members pass; `email` is redacted; `ssn` and
        // `message` are left out at /results/*, though allowed again under owner (drop wins).
        assert_eq!(rules.drop, vec!["email", "message", "ssn"]);
        let keep = rules.keep.unwrap();
        for name in ["total", "results", "id", "owner", "code", "error"] {
            assert!(keep.contains(&name.to_owned()), "{name}");
        }
        for name in ["email", "ssn", "message"] {
            assert!(!keep.contains(&name.to_owned()), "{name}");
        }
    }
}
