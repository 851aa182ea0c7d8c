//! Bounded output schemas: every published output schema fits a budget.
//!
//! A response schema that reaches hundreds of shared objects (a payments API expands every id
//! into its object) would publish a megabyte per tool: more than a model's context, and most of
//! `tools/list`. A *bounded* schema is the deepest description of the answer that fits the
//! tool's budget:
//!
//! - a schema that already fits (and is at most `max_depth` deep) is published as it is;
//! - otherwise it is written out without `$defs`, each definition inlined where it is used, down
//!   to a depth limit (the nesting of objects and arrays below the root): below the limit a value
//!   is *open*, its type kept and a description naming what it stands for (`{"type": "object",
//!   "description": "a Customer (not described further)"}`); a definition that refers back to
//!   itself is open at its first repeat; a union of an id and the object it identifies (`anyOf:
//!   [string, Customer]`) keeps the id and an open object;
//! - the limit starts at `max_depth` and goes down until the schema fits; at depth one, if the
//!   root alone is still too large, its annotations go, then its last members (a member the
//!   schema does not name is still accepted).
//!
//! Every step only loosens the schema (an open value accepts what its description accepted), so
//! results pruned to conform with the full schema conform with the bounded one, and the
//! runtime's pruning works on it unchanged. Pure; sizes are compact JSON bytes, 4 per token as
//! `lint` counts them.

use serde_json::{Map, Value, json};

use crate::defs::{self, Defs};

/// Bytes of compact JSON counted as one token (as `lint` counts them).
pub const BYTES_PER_TOKEN: usize = 4;

/// The braces of one written schema object, for the early stop.
const BRACES: usize = 2;

/// A schema budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    /// Deepest nesting of objects and arrays described.
    pub max_depth: usize,
    /// Largest schema, in tokens.
    pub max_tokens: usize,
}

/// What bounding did to a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bounded {
    /// The schema fits as it is.
    Whole,
    /// Described down to this depth.
    Depth(usize),
    /// Even one level did not fit: only the root's first members are named.
    Members {
        /// Members named.
        kept: usize,
        /// Members the schema has.
        total: usize,
    },
}

/// `schema` within `budget`, and what was done: its references are to `defs` (its own `$defs`,
/// or a table beside it); `whole` makes the schema as published whole (with the `$defs` it
/// reaches). `finish` is applied to every candidate before it is measured (the nullability
/// pass), so the size checked is the size published.
pub fn bound(
    schema: &Value,
    defs: &dyn Defs,
    budget: Budget,
    finish: impl Fn(&mut Value),
    whole: impl FnOnce() -> Value,
) -> (Value, Bounded) {
    let max_bytes = budget.max_tokens.saturating_mul(BYTES_PER_TOKEN);
    // `finish` only adds to a schema: one already too large is not copied to be measured.
    if whole_fits(schema, defs, max_bytes)
        && depth_of(defs, schema, 0, &mut Vec::new()) <= budget.max_depth
    {
        let mut whole = whole();
        finish(&mut whole);
        if size(&whole) <= max_bytes {
            return (whole, Bounded::Whole);
        }
    }
    // Deeper descriptions are larger: go deeper until one does not fit. Writing stops as soon
    // as a candidate outgrows the budget, so a schema that expands without end costs little.
    // Written-out schemas keep each description's first sentence; at depth one, if that is
    // still too large, none.
    let mut deepest: Option<(Value, usize)> = None;
    for limit in 1..=budget.max_depth.max(1) {
        let first = limit == 1;
        let Some(mut candidate) = write_out(schema, defs, limit, Text::Brief, !first, max_bytes)
        else {
            break;
        };
        finish(&mut candidate);
        if size(&candidate) <= max_bytes {
            deepest = Some((candidate, limit));
            continue;
        }
        if first {
            let mut bare =
                write_out(schema, defs, 1, Text::None, false, max_bytes).unwrap_or(candidate);
            finish(&mut bare);
            if size(&bare) <= max_bytes {
                return (bare, Bounded::Depth(1));
            }
            let (kept, total) = trim_members(&mut bare, max_bytes);
            return (bare, Bounded::Members { kept, total });
        }
        break;
    }
    match deepest {
        Some((schema, limit)) => (schema, Bounded::Depth(limit)),
        // Unreachable: depth one is always written whole; kept total rather than panicking.
        None => (json!({"type": "object"}), Bounded::Depth(0)),
    }
}

/// How much of the descriptions a written-out schema keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// The first sentence (at most [`BRIEF_CHARS`] characters); no titles.
    Brief,
    /// No descriptions or titles.
    None,
}

/// Longest description kept in a written-out schema.
const BRIEF_CHARS: usize = 120;

/// `schema` written out to depth `limit`; `None` when `capped` and it outgrew `max_bytes`.
fn write_out(
    schema: &Value,
    defs: &dyn Defs,
    limit: usize,
    text: Text,
    capped: bool,
    max_bytes: usize,
) -> Option<Value> {
    let inliner = Inliner {
        root: defs,
        limit,
        text,
        room: std::cell::Cell::new(if capped { max_bytes } else { usize::MAX }),
    };
    let written = inliner.node(schema, 0, &mut Vec::new());
    (inliner.room.get() > 0).then_some(written)
}

/// The first sentence of a description, at most [`BRIEF_CHARS`] characters.
fn brief(text: &str) -> String {
    let sentence = match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    };
    let sentence = sentence.lines().next().unwrap_or_default().trim();
    if sentence.chars().count() <= BRIEF_CHARS {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(BRIEF_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Whether `schema` and the definitions it reaches take at most `max_bytes` of compact JSON
/// (the walk stops as soon as they do not).
fn whole_fits(schema: &Value, defs: &dyn Defs, max_bytes: usize) -> bool {
    let mut room = max_bytes;
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = vec![schema];
    while let Some(part) = queue.pop() {
        let Some(bytes) = counted(part, room) else {
            return false;
        };
        room -= bytes;
        let mut references = Vec::new();
        collect_refs(part, &mut references);
        for name in references {
            if seen.insert(name)
                && let Some(def) = defs.def(name)
            {
                queue.push(def);
            }
        }
    }
    true
}

/// The definition names a schema refers to directly (not through its definitions).
fn collect_refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(obj) => {
            if let Some(name) = obj
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(defs::name_of)
            {
                out.push(name);
            }
            obj.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The length of `schema`'s compact JSON (`usize::MAX` if it cannot be written).
fn size(schema: &Value) -> usize {
    counted(schema, usize::MAX).unwrap_or(usize::MAX)
}

/// The length of `schema`'s compact JSON, counted without writing it; `None` past `max_bytes`.
fn counted(schema: &Value, max_bytes: usize) -> Option<usize> {
    struct Counter {
        room: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.room = self
                .room
                .checked_sub(bytes.len())
                .ok_or(std::io::ErrorKind::FileTooLarge)?;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { room: max_bytes };
    serde_json::to_writer(&mut counter, schema).ok()?;
    Some(max_bytes - counter.room)
}

/// The nesting depth of objects and arrays a schema describes (a recursive one is unbounded).
fn depth_of<'a>(
    root: &'a dyn Defs,
    node: &'a Value,
    depth: usize,
    path: &mut Vec<&'a str>,
) -> usize {
    if depth > 64 {
        return usize::MAX;
    }
    let Value::Object(obj) = node else {
        return depth;
    };
    let mut deepest = depth;
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str)
        && let (Some(name), Some(target)) =
            (defs::name_of(reference), defs::definition(root, reference))
    {
        if path.contains(&name) {
            return usize::MAX;
        }
        path.push(name);
        deepest = deepest.max(depth_of(root, target, depth, path));
        path.pop();
    }
    for child in children(obj) {
        let next = if child.nests { depth + 1 } else { depth };
        deepest = deepest.max(depth_of(root, child.schema, next, path));
    }
    deepest
}

/// A subschema and whether it describes a nested value (a member or an item).
struct Child<'a> {
    schema: &'a Value,
    nests: bool,
}

fn children(obj: &Map<String, Value>) -> Vec<Child<'_>> {
    let mut out = Vec::new();
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(members)) = obj.get(key) {
            out.extend(members.values().map(|schema| Child {
                schema,
                nests: true,
            }));
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(schema) = obj.get(key).filter(|s| s.is_object()) {
            out.push(Child {
                schema,
                nests: true,
            });
        }
    }
    if let Some(Value::Array(prefix)) = obj.get("prefixItems") {
        out.extend(prefix.iter().map(|schema| Child {
            schema,
            nests: true,
        }));
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = obj.get(key) {
            out.extend(branches.iter().map(|schema| Child {
                schema,
                nests: false,
            }));
        }
    }
    out
}

/// Writes a schema out without `$defs`, open below `limit`, giving up (leaving `room` at zero)
/// once it has written about `room` bytes.
struct Inliner<'a> {
    root: &'a dyn Defs,
    limit: usize,
    text: Text,
    room: std::cell::Cell<usize>,
}

impl<'a> Inliner<'a> {
    fn node(&self, schema: &'a Value, depth: usize, path: &mut Vec<&'a str>) -> Value {
        // What is written is counted as it is written, never more than its compact JSON takes:
        // writing stops only once the candidate surely outgrew the budget.
        if self.room.get() == 0 {
            return Value::Null;
        }
        let Value::Object(obj) = schema else {
            return schema.clone();
        };
        // A reference: its definition inlined (siblings kept beside it), unless it repeats.
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str)
            && let (Some(name), Some(target)) = (
                defs::name_of(reference),
                defs::definition(self.root, reference),
            )
        {
            if path.contains(&name) {
                return open(target, &format!("a {name}, as above"));
            }
            path.push(name);
            let mut inlined = if depth >= self.limit && describes_members(self.root, target) {
                open(target, &format!("a {name} (not described further)"))
            } else {
                self.node(target, depth, path)
            };
            path.pop();
            let siblings = self.keywords(obj, depth, path);
            if !siblings.is_empty() {
                inlined = json!({"allOf": [inlined, Value::Object(siblings)]});
            }
            return inlined;
        }
        if depth >= self.limit && describes_members(self.root, schema) {
            return open(schema, "not described further");
        }
        if let Some(id_form) = self.id_or_object(obj, depth, path) {
            return id_form;
        }
        self.spend(BRACES);
        Value::Object(self.keywords(obj, depth, path))
    }

    /// Counts `bytes` written; past the budget, the room is left at zero.
    fn spend(&self, bytes: usize) {
        self.room.set(self.room.get().saturating_sub(bytes));
    }

    /// A schema object's keywords written out (`$ref` and `$defs` left to the caller).
    fn keywords(
        &self,
        obj: &'a Map<String, Value>,
        depth: usize,
        path: &mut Vec<&'a str>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in obj {
            let written = match key.as_str() {
                "$defs" | "$ref" => continue,
                "properties" | "patternProperties" => match value {
                    Value::Object(members) => Value::Object(
                        members
                            .iter()
                            .map(|(k, v)| (k.clone(), self.node(v, depth + 1, path)))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "items" | "additionalProperties" => self.node(value, depth + 1, path),
                "prefixItems" => match value {
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .map(|v| self.node(v, depth + 1, path))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "allOf" | "anyOf" | "oneOf" => match value {
                    Value::Array(branches) => {
                        Value::Array(branches.iter().map(|v| self.node(v, depth, path)).collect())
                    }
                    other => other.clone(),
                },
                "title" => continue,
                "description" => match (self.text, value) {
                    (Text::Brief, Value::String(text)) => Value::String(brief(text)),
                    _ => continue,
                },
                _ => value.clone(),
            };
            // `"key":` and what this level wrote itself (subschemas count their own).
            self.spend(key.len() + 3 + own_bytes(key, &written));
            out.insert(key.clone(), written);
        }
        out
    }

    /// `anyOf: [<id>, <object>]` (an id or the object it identifies, with or without `null`):
    /// the id kept, the object open.
    fn id_or_object(
        &self,
        obj: &'a Map<String, Value>,
        depth: usize,
        path: &mut Vec<&'a str>,
    ) -> Option<Value> {
        let branches = obj.get("anyOf").and_then(Value::as_array)?;
        let (ids, objects): (Vec<&Value>, Vec<&Value>) = branches
            .iter()
            .filter(|b| b.get("type") != Some(&json!("null")))
            .partition(|b| is_scalar_id(b));
        let [id] = ids.as_slice() else { return None };
        let [object] = objects.as_slice() else {
            return None;
        };
        let resolved = defs::resolve(self.root, object);
        if !describes_members(self.root, resolved) {
            return None;
        }
        let what = object
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(defs::name_of)
            .map_or_else(|| "object".to_owned(), |n| format!("{n} object"));
        let mut out = obj.clone();
        out.insert(
            "anyOf".to_owned(),
            Value::Array(
                branches
                    .iter()
                    .map(|b| {
                        if std::ptr::eq(b, *object) {
                            json!({"type": "object", "description": format!("the expanded {what} (not described further)")})
                        } else if std::ptr::eq(b, *id) {
                            self.node(b, depth, path)
                        } else {
                            b.clone()
                        }
                    })
                    .collect(),
            ),
        );
        Some(Value::Object(out))
    }
}

/// The bytes a written keyword's value takes beyond the subschemas it holds (which count
/// themselves), at least.
fn own_bytes(key: &str, written: &Value) -> usize {
    match (key, written) {
        ("properties" | "patternProperties", Value::Object(members)) => {
            BRACES + members.keys().map(|k| k.len() + 3).sum::<usize>()
        }
        ("prefixItems" | "allOf" | "anyOf" | "oneOf", Value::Array(_)) => 2,
        ("items" | "additionalProperties", _) => 0,
        _ => least_json_bytes(written),
    }
}

/// A lower bound of a value's compact JSON length (commas and escapes left out).
fn least_json_bytes(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 4,
        Value::Number(_) => 1,
        Value::String(text) => text.len() + 2,
        Value::Array(items) => 2 + items.iter().map(least_json_bytes).sum::<usize>(),
        Value::Object(members) => {
            2 + members
                .iter()
                .map(|(k, v)| k.len() + 3 + least_json_bytes(v))
                .sum::<usize>()
        }
    }
}

/// Whether a branch is a plain string or integer (an id).
fn is_scalar_id(branch: &Value) -> bool {
    matches!(
        branch.get("type").and_then(Value::as_str),
        Some("string" | "integer")
    ) && branch.get("properties").is_none()
}

/// Whether a schema describes members or items (so that opening it loses something).
fn describes_members(root: &dyn Defs, schema: &Value) -> bool {
    let schema = defs::resolve(root, schema);
    let Value::Object(obj) = schema else {
        return false;
    };
    [
        "properties",
        "patternProperties",
        "items",
        "prefixItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "oneOf",
    ]
    .iter()
    .any(|k| obj.get(*k).is_some_and(|v| !v.is_boolean()))
}

/// An open value: the schema's type (if it names one) and a description of what it stands for.
fn open(schema: &Value, what: &str) -> Value {
    let mut out = Map::new();
    if let Some(t) = schema.get("type") {
        out.insert("type".to_owned(), t.clone());
    }
    let title = schema.get("title").and_then(Value::as_str);
    let text = match title {
        Some(title) => format!("{title}: {what}"),
        None => what.to_owned(),
    };
    out.insert("description".to_owned(), Value::String(text));
    Value::Object(out)
}

/// Cuts the root's annotations, then its last members, until it fits: `(members kept, members)`.
fn trim_members(root: &mut Value, max_bytes: usize) -> (usize, usize) {
    let Value::Object(obj) = root else {
        return (0, 0);
    };
    if let Some(Value::Object(members)) = obj.get_mut("properties") {
        for member in members.values_mut() {
            if let Value::Object(m) = member {
                m.retain(|k, _| k == "type");
            }
        }
    }
    let total = obj
        .get("properties")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    while size(&Value::Object(obj.clone())) > max_bytes {
        let Some(Value::Object(members)) = obj.get_mut("properties") else {
            break;
        };
        let Some(last) = members.keys().next_back().cloned() else {
            break;
        };
        members.shift_remove(&last);
    }
    let kept = obj
        .get("properties")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    if kept < total {
        obj.insert(
            "description".to_owned(),
            json!(format!(
                "{kept} of {total} members described; the others are not"
            )),
        );
    }
    (kept, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_depth: usize, max_tokens: usize) -> Budget {
        Budget {
            max_depth,
            max_tokens,
        }
    }

    fn customer_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "customer": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/Customer"}]},
                "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}}
            },
            "$defs": {
                "Customer": {"type": "object", "properties": {
                    "id": {"type": "string"},
                    "address": {"type": "object", "properties": {"city": {"type": "string"}}},
                    "parent": {"$ref": "#/$defs/Customer"}
                }},
                "Line": {"type": "object", "properties": {
                    "amount": {"type": "integer"},
                    "product": {"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}
                }}
            }
        })
    }

    #[test]
    fn a_schema_that_fits_is_published_whole() {
        let mut schema = customer_schema();
        schema["$defs"]["Customer"]["properties"]
            .as_object_mut()
            .unwrap()
            .shift_remove("parent");
        let (out, how) = bound(
            &schema,
            &schema,
            budget(6, 10_000),
            |_| {},
            || schema.clone(),
        );
        assert_eq!(how, Bounded::Whole);
        assert_eq!(out, schema);
        // Too deep for the limit, or recursive: written out.
        assert_eq!(
            bound(
                &schema,
                &schema,
                budget(2, 10_000),
                |_| {},
                || schema.clone()
            )
            .1,
            Bounded::Depth(2)
        );
        assert_eq!(
            bound(
                &customer_schema(),
                &customer_schema(),
                budget(6, 10_000),
                |_| {},
                || customer_schema().clone()
            )
            .1,
            Bounded::Depth(6)
        );
    }

    #[test]
    fn a_recursive_schema_is_cut_at_its_first_repeat() {
        let schema = customer_schema();
        let (out, how) = bound(
            &schema,
            &schema,
            budget(6, 10_000),
            |_| {},
            || schema.clone(),
        );
        assert_eq!(how, Bounded::Depth(6));
        assert!(out.get("$defs").is_none());
        // The id-or-object union keeps the id and an open object.
        assert_eq!(
            out["properties"]["customer"]["anyOf"],
            json!([{"type": "string"}, {"type": "object", "description": "the expanded Customer object (not described further)"}])
        );
        assert_eq!(
            out["properties"]["lines"]["items"]["properties"]["product"]["properties"]["tags"],
            json!({"type": "array", "items": {"type": "string"}})
        );
    }

    #[test]
    fn depth_goes_down_until_the_schema_fits() {
        let schema = customer_schema();
        let (out, how) = bound(&schema, &schema, budget(6, 60), |_| {}, || schema.clone());
        assert_eq!(how, Bounded::Depth(1));
        assert_eq!(
            out["properties"]["lines"],
            json!({"type": "array", "description": "not described further"})
        );
        assert!(size(&out) <= 240, "{}", size(&out));
    }

    #[test]
    fn a_root_too_wide_for_one_level_keeps_its_first_members() {
        let members: Map<String, Value> = (0..100)
            .map(|i| {
                (
                    format!("field_{i:03}"),
                    json!({"type": "string", "description": "a long description of this field"}),
                )
            })
            .collect();
        let schema = json!({"type": "object", "properties": members});
        let (out, how) = bound(&schema, &schema, budget(4, 100), |_| {}, || schema.clone());
        let Bounded::Members { kept, total } = how else {
            panic!("{how:?}")
        };
        assert_eq!(total, 100);
        assert!(kept > 0 && kept < 100, "{kept}");
        assert!(size(&out) <= 400 + 80, "{}", size(&out));
        assert_eq!(out["properties"]["field_000"], json!({"type": "string"}));
    }

    #[test]
    fn bounding_only_loosens_the_schema() {
        let schema = customer_schema();
        let full = jsonschema::validator_for(&schema).unwrap();
        let valid = json!({"id": "a", "customer": {"id": "c", "address": {"city": "x"}, "parent": {"id": "p"}},
                           "lines": [{"amount": 3, "product": {"name": "n", "tags": ["t"]}}]});
        assert!(full.is_valid(&valid));
        // Deep drift the full schema refuses and a bounded one no longer describes.
        let deep = json!({"lines": [{"product": {"tags": [7]}}]});
        assert!(!full.is_valid(&deep));
        for limit in 1..=6 {
            let (out, _) = bound(
                &schema,
                &schema,
                budget(limit, 10_000),
                |_| {},
                || schema.clone(),
            );
            let bounded = jsonschema::validator_for(&out).unwrap();
            assert!(bounded.is_valid(&valid), "depth {limit}: {out}");
            // `tags` sits at depth 4: described above that limit, open from it on.
            assert_eq!(bounded.is_valid(&deep), limit <= 4, "depth {limit}: {out}");
        }
    }

    #[test]
    fn descriptions_shrink_before_depth_and_members_go() {
        assert_eq!(brief("The id. Unique per account."), "The id.");
        assert_eq!(brief("one line\nsecond line"), "one line");
        assert_eq!(brief(&"x".repeat(200)).chars().count(), BRIEF_CHARS);
        let long = "This member says a great deal about itself. ".repeat(5);
        let members: Map<String, Value> = (0..10)
            .map(|i| {
                (
                    format!("m{i}"),
                    json!({"type": "string", "description": long}),
                )
            })
            .collect();
        let schema = json!({"type": "object", "properties": members});
        // Whole: too large; brief descriptions fit.
        let (out, how) = bound(&schema, &schema, budget(4, 250), |_| {}, || schema.clone());
        assert_eq!(how, Bounded::Depth(4));
        assert_eq!(
            out["properties"]["m0"]["description"],
            "This member says a great deal about itself."
        );
        // Smaller still: no descriptions at all, every member kept.
        let (out, how) = bound(&schema, &schema, budget(4, 80), |_| {}, || schema.clone());
        assert_eq!(how, Bounded::Depth(1));
        assert_eq!(out["properties"]["m9"], json!({"type": "string"}));
    }
}
