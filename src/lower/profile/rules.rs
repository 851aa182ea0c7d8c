//! What each client profile accepts in a tool's input schema: the rules `lint` reports
//! ([`violations`]) and the rewrite ([`super::rewrite`]) satisfies.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::defs;
use crate::ir::Profile;

/// Keywords Gemini's function declarations accept.
pub(super) const GEMINI_KEYWORDS: &[&str] = &[
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
pub(super) fn gemini_format_allowed(schema_type: Option<&str>, format: &str) -> bool {
    matches!(
        (schema_type, format),
        (Some("string"), "enum" | "date-time")
            | (Some("number"), "float" | "double")
            | (Some("integer"), "int32" | "int64")
    )
}

/// What in `schema` breaks `profile`'s rules (empty when it suits the profile), each problem
/// with its location; what [`super::rewrite::normalise`] fixes, and what `mcpgen lint` reports.
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
pub(super) fn is_property_map(path: &str) -> bool {
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
