//! The Gemini profile's rewrite: definitions inlined (a reference back into one being expanded
//! ends it), one `type` per schema, and only the keywords Gemini accepts (removed ones the
//! model should still know are told in the description).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::defs;
use crate::load::pointer::escape_token;
use crate::lower::profile::list;
use crate::lower::profile::rules::{GEMINI_KEYWORDS, gemini_format_allowed};

/// Most schema nodes an inlined schema may have; past it, `$ref`s are kept.
const MAX_INLINED_NODES: usize = 20_000;

/// A `$ref` back into a definition being expanded.
struct Cycle;

/// Replaces every `#/$defs/…` reference by its definition and removes `$defs`. A reference
/// back into a definition being expanded ends the expansion there: an optional property or a
/// union member holding it is dropped, a required property becomes a plain object.
pub(super) fn inline_definitions(schema: &mut Value, changes: &mut Vec<String>) {
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
pub(super) fn gemini_keywords(
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
