//! The deterministic rewrite that makes a tool's input schema fit the client profiles listed in
//! `server.profiles` ([`super::rules`] says what each accepts).
//!
//! The rewrite only touches the schema clients see. The server checks arguments against the
//! schema before the rewrite (after removing nulls, see [`Normalised::nulls_absent`]), so
//! nothing the rewrite loosens reaches the upstream.

use crate::defs;
use crate::ir::Profile;
use crate::load::pointer::escape_token;
use crate::lower::profile::gemini::{gemini_keywords, inline_definitions};
use crate::lower::profile::list;
use serde_json::{Value, json};
use std::collections::BTreeSet;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::profile::rules::violations;

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
