//! Client profiles: what an AI client accepts in a tool's input schema, and the deterministic
//! rewrite that makes a schema fit the profiles listed in `server.profiles`.
//!
//! The rewrite only touches the schema clients see. The server checks arguments against the
//! schema before the rewrite (after removing nulls, see [`Normalised::nulls_absent`]), so
//! nothing the rewrite loosens reaches the upstream.

use crate::defs;
use crate::ir::Profile;
use crate::load::pointer::escape_token;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Keywords Gemini's function declarations accept.
const GEMINI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "title",
    "anyOf",
    "propertyOrdering",
    "default",
];

/// Whether Gemini accepts `format` on a schema of `type`.
fn gemini_format_allowed(schema_type: Option<&str>, format: &str) -> bool {
    matches!(
        (schema_type, format),
        (Some("string"), "enum" | "date-time")
            | (Some("number"), "float" | "double")
            | (Some("integer"), "int32" | "int64")
    )
}

/// Most schema nodes an inlined schema may have; past it, `$ref`s are kept.
const MAX_INLINED_NODES: usize = 20_000;

/// An input schema rewritten for client profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    /// The schema clients see.
    pub schema: Value,
    /// What changed, one sentence each, in a stable order.
    pub changes: Vec<String>,
    /// Whether optional properties became required and nullable (OpenAI strict): the server then
    /// treats a `null` argument as an absent one, removing nulls before checking the arguments.
    pub nulls_absent: bool,
}

/// Rewrites `schema` (an input schema whose definitions live under its own `$defs`) so that it
/// suits every profile; `None` when it already does.
pub fn normalise(schema: &Value, profiles: &[Profile]) -> Option<Normalised> {
    let mut out = schema.clone();
    let mut changes = Vec::new();
    let mut nulls_absent = false;
    if profiles.contains(&Profile::Gemini) {
        inline_definitions(&mut out, &mut changes);
    }
    if profiles.contains(&Profile::Anthropic) {
        flatten_top_level(&mut out, &mut changes);
    }
    if profiles.contains(&Profile::OpenAi) {
        let mut made_required = BTreeSet::new();
        let mut closed = BTreeSet::new();
        let mut given_items = BTreeSet::new();
        strict(
            &mut out,
            "",
            &mut made_required,
            &mut closed,
            &mut given_items,
        );
        if !made_required.is_empty() {
            nulls_absent = true;
            changes.push(format!(
                "optional properties became required and nullable (null means absent): {}",
                list(&made_required)
            ));
        }
        if !closed.is_empty() {
            changes.push(format!(
                "objects no longer accept undeclared properties: {}",
                list(&closed)
            ));
        }
        if !given_items.is_empty() {
            changes.push(format!(
                "arrays without `items` now hold scalars: {}",
                list(&given_items)
            ));
        }
    }
    if profiles.contains(&Profile::Gemini) {
        let mut dropped = BTreeSet::new();
        let mut rewritten = BTreeSet::new();
        gemini_keywords(&mut out, &mut dropped, &mut rewritten);
        if !rewritten.is_empty() {
            changes.push(format!(
                "rewritten for Gemini: {}",
                rewritten.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if !dropped.is_empty() {
            changes.push(format!(
                "keywords Gemini does not accept were removed (the server still enforces them): {}",
                dropped
                    .into_iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    (out != *schema).then_some(Normalised {
        schema: out,
        changes,
        nulls_absent,
    })
}

/// What in `schema` breaks `profile`'s rules (empty when it suits the profile), each problem
/// with its location; what [`normalise`] fixes, and what `mcpgen lint` reports.
pub fn violations(schema: &Value, profile: Profile) -> BTreeSet<String> {
    let mut problems: BTreeSet<String> = BTreeSet::new();
    match profile {
        Profile::Anthropic => {
            for key in ["anyOf", "oneOf", "allOf"] {
                if schema.get(key).is_some() {
                    problems.insert(format!("`{key}` at the top of the input schema"));
                }
            }
        }
        Profile::OpenAi => walk(schema, "", &mut |path, node| {
            let Some(obj) = node.as_object() else { return };
            let is_array = match node.get("type") {
                Some(Value::String(t)) => t == "array",
                Some(Value::Array(types)) => types.iter().any(|t| t == "array"),
                _ => false,
            };
            if is_array && obj.get("items").is_none() {
                problems.insert(format!("array `{path}` has no `items`"));
            }
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
                    problems.insert(format!("object `{path}` allows additional properties"));
                }
                let required = defs::required(obj);
                if let Some(optional) = props.keys().find(|k| !required.contains(k.as_str())) {
                    problems.insert(format!("object `{path}` has optional property `{optional}` (strict mode requires all)"));
                }
            }
        }),
        Profile::Gemini => walk(schema, "", &mut |path, node| {
            let Some(obj) = node.as_object() else { return };
            for key in obj.keys() {
                if key == "$ref" || key == "$defs" {
                    problems.insert(format!("`{key}` at `{path}`"));
                } else if key == "type" && obj.get("type").is_some_and(Value::is_array) {
                    problems.insert(format!("a list of types at `{path}`"));
                } else if key == "format"
                    && let Some(format) = obj.get("format").and_then(Value::as_str)
                    && !gemini_format_allowed(obj.get("type").and_then(Value::as_str), format)
                {
                    problems.insert(format!("unsupported format `{format}` at `{path}`"));
                } else if !GEMINI_KEYWORDS.contains(&key.as_str()) && !is_property_map(path) {
                    problems.insert(format!("unsupported keyword `{key}` at `{path}`"));
                }
            }
        }),
    }
    problems
}

/// Whether a walk path ends inside a `properties` map (whose keys are names, not keywords).
fn is_property_map(path: &str) -> bool {
    path.ends_with("/properties") || path.ends_with("/$defs")
}

/// Visits every schema object with its path.
fn walk(value: &Value, path: &str, f: &mut dyn FnMut(&str, &Value)) {
    f(if path.is_empty() { "/" } else { path }, value);
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                if matches!(
                    key.as_str(),
                    "enum" | "const" | "default" | "examples" | "required"
                ) {
                    continue;
                }
                walk(child, &format!("{path}/{key}"), f);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}/{i}"), f);
            }
        }
        _ => {}
    }
}

fn list(paths: &BTreeSet<String>) -> String {
    const SHOWN: usize = 8;
    let mut shown: Vec<String> = paths.iter().take(SHOWN).map(|p| format!("`{p}`")).collect();
    if paths.len() > SHOWN {
        shown.push(format!("and {} more", paths.len() - SHOWN));
    }
    shown.join(", ")
}

/// A `$ref` back into a definition being expanded.
struct Cycle;

/// Replaces every `#/$defs/…` reference by its definition and removes `$defs`. A reference
/// back into a definition being expanded ends the expansion there: an optional property or a
/// union member holding it is dropped, a required property becomes a plain object.
fn inline_definitions(schema: &mut Value, changes: &mut Vec<String>) {
    let Some(defs) = schema
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .and_then(|d| match d {
            Value::Object(map) => Some(map),
            _ => None,
        })
    else {
        return;
    };
    let mut inliner = Inliner {
        defs: &defs,
        stack: Vec::new(),
        nodes: 0,
        dropped: BTreeSet::new(),
        stubbed: BTreeSet::new(),
        used: BTreeSet::new(),
    };
    let inlined = inliner.inline(schema, "");
    if inliner.nodes > MAX_INLINED_NODES {
        schema
            .as_object_mut()
            .map(|o| o.insert("$defs".to_owned(), Value::Object(defs.clone())));
        changes.push(format!(
            "definitions were not inlined: the inlined schema would exceed {MAX_INLINED_NODES} nodes (narrow the tool with `expose`)"
        ));
        return;
    }
    let Ok(inlined) = inlined else {
        // Only a union or `allOf` at the very top can close a cycle there; keep the references.
        schema
            .as_object_mut()
            .map(|o| o.insert("$defs".to_owned(), Value::Object(defs.clone())));
        changes.push("definitions were not inlined: the schema is recursive at its top".to_owned());
        return;
    };
    *schema = inlined;
    changes.push(format!(
        "definitions inlined: {}",
        inliner
            .used
            .iter()
            .map(|d| format!("`{d}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if !inliner.dropped.is_empty() {
        changes.push(format!(
            "recursive properties dropped: {}",
            list(&inliner.dropped)
        ));
    }
    if !inliner.stubbed.is_empty() {
        changes.push(format!(
            "recursive required properties reduced to plain objects: {}",
            list(&inliner.stubbed)
        ));
    }
}

struct Inliner<'a> {
    defs: &'a Map<String, Value>,
    stack: Vec<String>,
    nodes: usize,
    dropped: BTreeSet<String>,
    stubbed: BTreeSet<String>,
    used: BTreeSet<String>,
}

impl Inliner<'_> {
    fn inline(&mut self, node: &Value, path: &str) -> Result<Value, Cycle> {
        self.nodes += 1;
        if self.nodes > MAX_INLINED_NODES {
            return Ok(node.clone());
        }
        let Value::Object(obj) = node else {
            return Ok(node.clone());
        };
        if let Some(name) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(defs::name_of)
        {
            let name = name.to_owned();
            if self.stack.contains(&name) {
                return Err(Cycle);
            }
            let Some(target) = self.defs.get(&name) else {
                return Ok(node.clone());
            };
            self.used.insert(name.clone());
            self.stack.push(name);
            let expanded = self.inline(target, path);
            self.stack.pop();
            let mut expanded = expanded?;
            // Keywords beside a 3.1 `$ref` (a description, usually) win over the target's.
            if let Value::Object(target) = &mut expanded {
                for (key, value) in obj {
                    if key != "$ref" {
                        target.insert(key.clone(), self.inline(value, path)?);
                    }
                }
            }
            return Ok(expanded);
        }
        let required = defs::required(obj);
        let mut out = Map::new();
        for (key, value) in obj {
            let here = format!("{path}/{}", escape_token(key));
            let inlined = match (key.as_str(), value) {
                ("properties", Value::Object(props)) => {
                    let mut kept = Map::new();
                    for (name, prop) in props {
                        let at = format!("{path}/{}", escape_token(name));
                        match self.inline(prop, &at) {
                            Ok(v) => {
                                kept.insert(name.clone(), v);
                            }
                            Err(Cycle) if required.contains(name.as_str()) => {
                                self.stubbed.insert(at);
                                kept.insert(name.clone(), json!({ "type": "object" }));
                            }
                            Err(Cycle) => {
                                self.dropped.insert(at);
                            }
                        }
                    }
                    Value::Object(kept)
                }
                ("anyOf" | "oneOf", Value::Array(members)) => {
                    let mut kept = Vec::new();
                    for member in members {
                        if let Ok(v) = self.inline(member, path) {
                            kept.push(v);
                        }
                    }
                    if kept.is_empty() {
                        return Err(Cycle);
                    }
                    Value::Array(kept)
                }
                ("additionalProperties", Value::Object(_)) => self
                    .inline(value, &format!("{path}/*"))
                    .unwrap_or(json!(true)),
                ("items", _) => self.inline(value, &format!("{path}/*"))?,
                ("allOf" | "not" | "if" | "then" | "else", _) => self.inline(value, &here)?,
                ("prefixItems", Value::Array(members)) => Value::Array(
                    members
                        .iter()
                        .map(|m| self.inline(m, &format!("{path}/*")))
                        .collect::<Result<_, _>>()?,
                ),
                _ => value.clone(),
            };
            out.insert(key.clone(), inlined);
        }
        // A dropped property is no longer required (it was optional), nothing to fix there.
        Ok(Value::Object(out))
    }
}

/// Merges a top-level `allOf` of objects, and turns a top-level `anyOf`/`oneOf` of objects into
/// one object whose properties are required only when every alternative requires them.
fn flatten_top_level(schema: &mut Value, changes: &mut Vec<String>) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    for key in ["allOf", "anyOf", "oneOf"] {
        let Some(Value::Array(members)) = obj.remove(key) else {
            continue;
        };
        let mut properties = obj
            .remove("properties")
            .and_then(|p| match p {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default();
        let mut required: Vec<String> = obj
            .remove("required")
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default();
        let mut common: Option<BTreeSet<String>> = None;
        for member in &members {
            if let Some(props) = member.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    properties
                        .entry(name.clone())
                        .or_insert_with(|| prop.clone());
                }
            }
            let member_required: BTreeSet<String> = member
                .get("required")
                .and_then(|r| serde_json::from_value(r.clone()).ok())
                .unwrap_or_default();
            if key == "allOf" {
                for name in member_required {
                    if !required.contains(&name) {
                        required.push(name);
                    }
                }
            } else {
                common = Some(match common {
                    None => member_required,
                    Some(c) => c.intersection(&member_required).cloned().collect(),
                });
            }
        }
        for name in common.into_iter().flatten() {
            if !required.contains(&name) {
                required.push(name);
            }
        }
        obj.insert("type".to_owned(), json!("object"));
        obj.insert("properties".to_owned(), Value::Object(properties));
        if !required.is_empty() {
            obj.insert("required".to_owned(), json!(required));
        }
        changes.push(format!(
            "top-level `{key}` merged into one object (the server still checks the alternatives)"
        ));
    }
}

/// OpenAI strict mode: every object closed with all properties required (optional ones made
/// nullable), every array given `items`.
fn strict(
    node: &mut Value,
    path: &str,
    made_required: &mut BTreeSet<String>,
    closed: &mut BTreeSet<String>,
    given_items: &mut BTreeSet<String>,
) {
    let Value::Object(obj) = node else { return };
    let is_array = match obj.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(types)) => types.iter().any(|t| t == "array"),
        _ => false,
    };
    if is_array && !obj.contains_key("items") {
        obj.insert(
            "items".to_owned(),
            json!({ "type": ["string", "number", "boolean"] }),
        );
        given_items.insert(display_path(path));
    }
    let names: Option<Vec<String>> = obj
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect());
    if let Some(names) = names {
        let required: BTreeSet<String> =
            defs::required(obj).into_iter().map(str::to_owned).collect();
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            for name in names.iter().filter(|n| !required.contains(*n)) {
                if let Some(prop) = props.get_mut(name) {
                    make_nullable(prop);
                    made_required.insert(format!("{path}/{}", escape_token(name)));
                }
            }
        }
        if !names.is_empty() || obj.contains_key("required") {
            obj.insert("required".to_owned(), json!(names));
        }
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            obj.insert("additionalProperties".to_owned(), json!(false));
            closed.insert(display_path(path));
        }
    }
    for (key, child) in obj.iter_mut() {
        match (key.as_str(), child) {
            ("properties" | "$defs", Value::Object(map)) => {
                for (name, prop) in map.iter_mut() {
                    let at = if key == "$defs" {
                        format!("#/$defs/{}", escape_token(name))
                    } else {
                        format!("{path}/{}", escape_token(name))
                    };
                    strict(prop, &at, made_required, closed, given_items);
                }
            }
            ("items" | "additionalProperties", child @ Value::Object(_)) => strict(
                child,
                &format!("{path}/*"),
                made_required,
                closed,
                given_items,
            ),
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(members)) => {
                for member in members {
                    strict(member, path, made_required, closed, given_items);
                }
            }
            _ => {}
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    }
}

/// Lets a schema accept `null` too.
fn make_nullable(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    let accepts_null = match obj.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => false,
    };
    if accepts_null {
        return;
    }
    let has_const = obj.contains_key("const");
    match obj.get_mut("type") {
        Some(Value::String(t)) if !has_const => {
            let t = t.clone();
            obj.insert("type".to_owned(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !has_const => types.push(json!("null")),
        _ => {
            let inner = std::mem::take(obj);
            obj.insert(
                "anyOf".to_owned(),
                json!([Value::Object(inner), { "type": "null" }]),
            );
            return;
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// How a removed keyword is named in the description, when the model should still know it.
fn told_keyword(key: &str) -> Option<&'static str> {
    Some(match key {
        "contentEncoding" => "encoding",
        "contentMediaType" => "media type",
        "exclusiveMinimum" => "greater than",
        "exclusiveMaximum" => "less than",
        "multipleOf" => "multiple of",
        "uniqueItems" => "unique items",
        "minProperties" => "min members",
        "maxProperties" => "max members",
        _ => return None,
    })
}

/// Gemini: one `type` per schema (`nullable` for null), `enum` for `const`, `anyOf` for `oneOf`,
/// merged `allOf`, and only the keywords it accepts.
fn gemini_keywords(
    node: &mut Value,
    dropped: &mut BTreeSet<String>,
    rewritten: &mut BTreeSet<String>,
) {
    let Value::Object(obj) = node else { return };
    if let Some(Value::Array(members)) = obj.remove("allOf") {
        for member in members {
            let Value::Object(member) = member else {
                continue;
            };
            for (key, value) in member {
                match (key.as_str(), obj.get_mut(&key), value) {
                    ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                        for (name, prop) in theirs {
                            mine.entry(name).or_insert(prop);
                        }
                    }
                    ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                        for name in theirs {
                            if !mine.contains(&name) {
                                mine.push(name);
                            }
                        }
                    }
                    (_, Some(_), _) => {}
                    (_, None, value) => {
                        obj.insert(key, value);
                    }
                }
            }
        }
        rewritten.insert("`allOf` merged".to_owned());
    }
    if let Some(members) = obj.remove("oneOf") {
        obj.insert("anyOf".to_owned(), members);
        rewritten.insert("`oneOf` as `anyOf`".to_owned());
    }
    if let Some(value) = obj.remove("const") {
        if !obj.contains_key("enum") {
            obj.insert("enum".to_owned(), json!([value]));
        }
        rewritten.insert("`const` as a one-value `enum`".to_owned());
    }
    if let Some(Value::Array(types)) = obj.get("type").cloned() {
        let nullable = types.iter().any(|t| t == "null");
        let others: Vec<Value> = types.into_iter().filter(|t| t != "null").collect();
        match others.as_slice() {
            [] => {
                obj.insert("type".to_owned(), json!("null"));
            }
            [one] => {
                obj.insert("type".to_owned(), one.clone());
            }
            several => {
                obj.remove("type");
                let members: Vec<Value> = several.iter().map(|t| json!({ "type": t })).collect();
                obj.insert("anyOf".to_owned(), Value::Array(members));
            }
        }
        if nullable {
            obj.insert("nullable".to_owned(), json!(true));
            if let Some(Value::Array(values)) = obj.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
        }
        rewritten.insert("type lists as one `type` (and `nullable`)".to_owned());
    }
    if let Some(Value::Array(members)) = obj.get("anyOf")
        && members.len() == 2
        && let Some(pos) = members.iter().position(|m| m == &json!({ "type": "null" }))
    {
        let Value::Object(other) = members[1 - pos].clone() else {
            return;
        };
        obj.remove("anyOf");
        for (key, value) in other {
            obj.entry(key).or_insert(value);
        }
        obj.insert("nullable".to_owned(), json!(true));
        rewritten.insert("`anyOf` with null as `nullable`".to_owned());
    }
    let schema_type = obj.get("type").and_then(Value::as_str).map(str::to_owned);
    // Constraints the model should still know about move into the description.
    let mut told = Vec::new();
    if let Some(Value::String(format)) = obj.get("format")
        && !gemini_format_allowed(schema_type.as_deref(), format)
    {
        dropped.insert(format!("format: {format}"));
        told.push(format!("format: {format}"));
        obj.remove("format");
    }
    let unsupported: Vec<String> = obj
        .keys()
        .filter(|k| !GEMINI_KEYWORDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unsupported {
        if let Some(value) = obj.remove(&key)
            && let Some(label) = told_keyword(&key)
            && (value.is_string() || value.is_number() || value.is_boolean())
        {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            told.push(format!("{label}: {value}"));
        }
        dropped.insert(key);
    }
    if !told.is_empty() {
        let told = told.join("; ");
        let description = match obj.get("description").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{text} ({told})"),
            _ => format!("({told})"),
        };
        obj.insert("description".to_owned(), Value::String(description));
    }
    for (key, child) in obj.iter_mut() {
        match (key.as_str(), child) {
            ("properties", Value::Object(map)) => {
                for prop in map.values_mut() {
                    gemini_keywords(prop, dropped, rewritten);
                }
            }
            ("items", child) => gemini_keywords(child, dropped, rewritten),
            ("anyOf", Value::Array(members)) => {
                for member in members {
                    gemini_keywords(member, dropped, rewritten);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(n: &Normalised) -> String {
        n.changes.join("\n")
    }

    #[test]
    fn what_normalise_produces_has_no_violations() {
        let schema = json!({
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "pet": { "$ref": "#/$defs/Pet" },
                        "tags": { "type": "array" },
                        "when": { "type": ["string", "null"], "format": "date-time" },
                        "mail": { "type": "string", "format": "email", "pattern": "@" }
                    },
                    "required": ["pet"]
                },
                { "type": "object", "properties": { "id": { "type": "integer", "multipleOf": 2 } } }
            ],
            "$defs": {
                "Pet": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "minLength": 1 },
                        "parent": { "$ref": "#/$defs/Pet" }
                    },
                    "additionalProperties": { "type": "string" }
                }
            }
        });
        for profile in [Profile::Anthropic, Profile::OpenAi, Profile::Gemini] {
            assert!(!violations(&schema, profile).is_empty(), "{profile:?}");
            let fixed = normalise(&schema, &[profile]).expect("rewritten");
            assert_eq!(
                violations(&fixed.schema, profile),
                BTreeSet::new(),
                "{profile:?}: {:#}",
                fixed.schema
            );
        }
        // Combinations that may be asked for (openai and gemini conflict: `conflicting-profiles`).
        for both in [
            [Profile::Anthropic, Profile::OpenAi],
            [Profile::Anthropic, Profile::Gemini],
        ] {
            let fixed = normalise(&schema, &both).expect("rewritten");
            for profile in both {
                let left = violations(&fixed.schema, profile);
                assert_eq!(left, BTreeSet::new(), "{both:?}");
            }
        }
    }

    #[test]
    fn unchanged_schemas_give_none() {
        let schema = json!({
            "type": "object",
            "properties": { "id": { "type": "string" } },
            "required": ["id"],
            "additionalProperties": false
        });
        assert_eq!(
            normalise(&schema, &[Profile::OpenAi, Profile::Anthropic]),
            None
        );
        assert_eq!(normalise(&schema, &[]), None);
    }

    #[test]
    fn gemini_inlines_and_breaks_cycles() {
        let schema = json!({
            "type": "object",
            "properties": {
                "node": { "$ref": "#/$defs/Node", "description": "The root." }
            },
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "parent": { "$ref": "#/$defs/Node" },
                        "self": { "$ref": "#/$defs/Node" },
                        "children": { "type": "array", "items": { "$ref": "#/$defs/Node" } }
                    },
                    "required": ["self"]
                }
            }
        });
        let n = normalise(&schema, &[Profile::Gemini]).unwrap();
        assert_eq!(
            n.schema,
            json!({
                "type": "object",
                "properties": {
                    "node": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string" },
                            "self": { "type": "object" }
                        },
                        "required": ["self"],
                        "description": "The root."
                    }
                }
            })
        );
        let text = changes(&n);
        assert!(text.contains("definitions inlined: `Node`"), "{text}");
        assert!(
            text.contains("recursive properties dropped: `/node/children`, `/node/parent`"),
            "{text}"
        );
        assert!(text.contains("plain objects: `/node/self`"), "{text}");
        assert!(!n.nulls_absent);
    }

    #[test]
    fn gemini_keywords_types_and_formats() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "when": { "type": ["string", "null"], "format": "date-time", "examples": ["x"] },
                "site": { "type": "string", "format": "uri" },
                "kind": { "const": "a" },
                "either": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                "n": { "type": "number", "exclusiveMinimum": 0 }
            }
        });
        let n = normalise(&schema, &[Profile::Gemini]).unwrap();
        assert_eq!(
            n.schema,
            json!({
                "type": "object",
                "properties": {
                    "when": { "type": "string", "format": "date-time", "nullable": true },
                    "site": { "type": "string", "description": "(format: uri)" },
                    "kind": { "enum": ["a"] },
                    "either": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
                    "n": { "type": "number", "description": "(greater than: 0)" }
                }
            })
        );
        let text = changes(&n);
        assert!(
            text.contains("`additionalProperties`, `examples`, `exclusiveMinimum`, `format: uri`"),
            "{text}"
        );
    }

    #[test]
    fn openai_strict_requires_everything_and_closes_objects() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "limit": { "type": "integer" },
                "status": { "type": "string", "enum": ["a", "b"] },
                "pet": { "$ref": "#/$defs/Pet" },
                "tags": { "type": "array" }
            },
            "required": ["id"],
            "additionalProperties": false,
            "$defs": {
                "Pet": { "type": "object", "properties": { "name": { "type": "string" } } }
            }
        });
        let n = normalise(&schema, &[Profile::OpenAi]).unwrap();
        assert!(n.nulls_absent);
        assert_eq!(
            n.schema,
            json!({
                "type": "object",
                "properties": {
                    "id": { "type": "string" },
                    "limit": { "type": ["integer", "null"] },
                    "status": { "type": ["string", "null"], "enum": ["a", "b", null] },
                    "pet": { "anyOf": [{ "$ref": "#/$defs/Pet" }, { "type": "null" }] },
                    "tags": { "type": ["array", "null"], "items": { "type": ["string", "number", "boolean"] } }
                },
                "required": ["id", "limit", "status", "pet", "tags"],
                "additionalProperties": false,
                "$defs": {
                    "Pet": {
                        "type": "object",
                        "properties": { "name": { "type": ["string", "null"] } },
                        "required": ["name"],
                        "additionalProperties": false
                    }
                }
            })
        );
        let text = changes(&n);
        assert!(text.contains("`#/$defs/Pet/name`"), "{text}");
        assert!(
            text.contains("no longer accept undeclared properties: `#/$defs/Pet`"),
            "{text}"
        );
    }

    #[test]
    fn anthropic_merges_top_level_unions() {
        let schema = json!({
            "type": "object",
            "oneOf": [
                { "properties": { "a": { "type": "string" }, "id": { "type": "string" } }, "required": ["a", "id"] },
                { "properties": { "b": { "type": "string" }, "id": { "type": "string" } }, "required": ["b", "id"] }
            ]
        });
        let n = normalise(&schema, &[Profile::Anthropic]).unwrap();
        assert_eq!(
            n.schema,
            json!({
                "type": "object",
                "properties": {
                    "a": { "type": "string" },
                    "id": { "type": "string" },
                    "b": { "type": "string" }
                },
                "required": ["id"]
            })
        );
    }

    #[test]
    fn several_profiles_compose_deterministically() {
        let schema = json!({
            "type": "object",
            "properties": {
                "when": { "type": "string", "format": "date-time" },
                "pet": { "$ref": "#/$defs/Pet" }
            },
            "$defs": { "Pet": { "type": "object", "properties": { "name": { "type": "string" } } } }
        });
        for profiles in [
            [Profile::Gemini, Profile::Anthropic],
            [Profile::OpenAi, Profile::Anthropic],
        ] {
            let first = normalise(&schema, &profiles).unwrap();
            assert_eq!(Some(&first), normalise(&schema, &profiles).as_ref());
            assert_eq!(first.nulls_absent, profiles.contains(&Profile::OpenAi));
        }
    }
}
