//! Published schemas agree with themselves: a `default`, or an entry of `examples`, that breaks
//! the schema it annotates is left out.
//!
//! Specs ship stale or placeholder values (a `format: date` default of `"2020-13-45"`, a "uuid"
//! example that is not one, an object example on an array property); a client that checks them,
//! or a model that copies them, is misled. [`prune`] runs on a finished schema (its `$defs`
//! included, after every rewrite that could invalidate a value: enum narrowing, profiles,
//! allowlists and masks) and checks each such value against the subschema it annotates, with the
//! definitions that subschema reaches and with `format` checked. Only nodes that carry a value
//! are checked; verdicts are remembered per thread by the checked text, so a definition shared by
//! many tools is compiled once.

use crate::defs;
use crate::load::pointer::escape_token;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;

/// One schema node that lost a `default` or some `examples`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// JSON pointer of the node within the schema.
    pub pointer: String,
    /// Its `default` was left out.
    pub default: bool,
    /// Entries of its `examples` left out.
    pub examples: usize,
}

impl Dropped {
    /// `/properties/born (default, 1 example)`, for a diagnostic.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if self.default {
            what.push("default".to_owned());
        }
        match self.examples {
            0 => {}
            1 => what.push("1 example".to_owned()),
            n => what.push(format!("{n} examples")),
        }
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        format!("{at} ({})", what.join(", "))
    }
}

/// What a node's values are worth against its own subschema.
#[derive(Debug, Clone, Default)]
struct Verdict {
    /// Whether the `default` fits (true when there is none).
    default: bool,
    /// Whether each entry of `examples` fits.
    examples: Vec<bool>,
}

thread_local! {
    /// Verdicts by SHA-256 of the checked node's self-contained text (values included).
    static VERDICTS: RefCell<HashMap<[u8; 32], Verdict>> = RefCell::new(HashMap::new());
}

/// Leaves out of `schema` every `default` and `examples` entry that breaks the subschema it
/// annotates (an `examples` with no entry left is removed); returns what was left out, in
/// document order. A subschema that does not compile keeps its values (nothing can be said).
pub fn prune(schema: &mut Value) -> Vec<Dropped> {
    let mut carriers = Vec::new();
    collect(schema, String::new(), &mut carriers);
    if carriers.is_empty() {
        return Vec::new();
    }
    // Every verdict first, on the schema as it is: annotations do not change what validates.
    let verdicts: Vec<(String, Verdict)> = carriers
        .into_iter()
        .filter_map(|pointer| {
            let node = schema.pointer(&pointer)?;
            Some((pointer, verdict(schema, node)))
        })
        .collect();
    let mut dropped = Vec::new();
    for (pointer, verdict) in verdicts {
        let Some(Value::Object(node)) = schema.pointer_mut(&pointer) else {
            continue;
        };
        let default = !verdict.default;
        if default {
            node.shift_remove("default");
        }
        let examples = drop_examples(node, &verdict.examples);
        if default || examples > 0 {
            dropped.push(Dropped {
                pointer,
                default,
                examples,
            });
        }
    }
    dropped
}

/// Removes the entries of `examples` that do not fit (the keyword too when none is left);
/// returns how many went.
fn drop_examples(node: &mut Map<String, Value>, fits: &[bool]) -> usize {
    let Some(Value::Array(examples)) = node.get_mut("examples") else {
        return 0;
    };
    let before = examples.len();
    let mut verdicts = fits.iter();
    examples.retain(|_| verdicts.next().copied().unwrap_or(true));
    let gone = before - examples.len();
    if examples.is_empty() {
        node.shift_remove("examples");
    }
    gone
}

/// Pointers of the schema nodes (under `node`, at `pointer`) that carry `default` or
/// `examples`, in document order. Only schema positions are visited: values of `enum`,
/// `const`, `default` and `examples` are data, and `properties` maps hold names.
fn collect(node: &Value, pointer: String, out: &mut Vec<String>) {
    let Value::Object(obj) = node else { return };
    if obj.contains_key("default") || obj.contains_key("examples") {
        out.push(pointer.clone());
    }
    let child = |key: &str| format!("{pointer}/{}", escape_token(key));
    for (key, value) in obj {
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "dependentSchemas" => {
                if let Value::Object(members) = value {
                    let here = child(key);
                    for (name, member) in members {
                        let at = format!("{here}/{}", escape_token(name));
                        collect(member, at, out);
                    }
                }
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                if let Value::Array(items) = value {
                    let here = child(key);
                    for (i, item) in items.iter().enumerate() {
                        collect(item, format!("{here}/{i}"), out);
                    }
                }
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedItems"
            | "unevaluatedProperties" => {
                collect(value, child(key), out);
            }
            _ => {}
        }
    }
}

/// The verdict on `node`'s values against `node` (with the definitions of `root` it reaches),
/// from the cache when the same text was checked before on this thread.
fn verdict(root: &Value, node: &Value) -> Verdict {
    let standalone = defs::standalone(root, node);
    let key: [u8; 32] = Sha256::digest(standalone.to_string().as_bytes()).into();
    if let Some(found) = VERDICTS.with(|cache| cache.borrow().get(&key).cloned()) {
        return found;
    }
    let validator = crate::validator::options()
        .should_validate_formats(true)
        .build(&standalone)
        .ok();
    let fits = |value: &Value| validator.as_ref().is_none_or(|v| v.is_valid(value));
    let found = Verdict {
        default: node.get("default").is_none_or(fits),
        examples: match node.get("examples") {
            Some(Value::Array(examples)) => examples.iter().map(fits).collect(),
            _ => Vec::new(),
        },
    };
    VERDICTS.with(|cache| cache.borrow_mut().insert(key, found.clone()));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_that_break_their_schema_are_left_out_formats_included() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "born": {"type": "string", "format": "date", "default": "2020-13-45"},
                "id": {"type": "string", "format": "uuid", "examples": ["not-a-uuid", "00000000-0000-4000-8000-000000000001"]},
                "tags": {"type": "array", "items": {"type": "string"}, "examples": [{"a": 1}]},
                "owner": {"$ref": "#/$defs/Owner", "examples": ["TODO"]},
                "size": {"type": "integer", "minimum": 0, "default": 3, "examples": [1, 2]},
                "default": {"type": "boolean", "default": false}
            },
            "examples": [{"size": -1}, {"size": 1}],
            "$defs": {
                "Owner": {
                    "type": "object",
                    "properties": {"email": {"type": "string", "format": "email", "examples": ["nobody"]}},
                    "default": {"email": "a@example.com"}
                }
            }
        });
        let dropped = prune(&mut schema);
        let described: Vec<String> = dropped.iter().map(Dropped::describe).collect();
        assert_eq!(
            described,
            [
                "/ (1 example)",
                "/properties/born (default)",
                "/properties/id (1 example)",
                "/properties/tags (1 example)",
                "/properties/owner (1 example)",
                "/$defs/Owner/properties/email (1 example)",
            ]
        );
        let props = &schema["properties"];
        assert_eq!(props["born"], json!({"type": "string", "format": "date"}));
        assert_eq!(
            props["id"]["examples"],
            json!(["00000000-0000-4000-8000-000000000001"])
        );
        assert_eq!(props["tags"].get("examples"), None, "no entry left");
        assert_eq!(props["owner"], json!({"$ref": "#/$defs/Owner"}));
        assert_eq!(props["size"]["default"], json!(3));
        assert_eq!(props["size"]["examples"], json!([1, 2]));
        assert_eq!(
            props["default"]["default"],
            json!(false),
            "a property named `default` is a name, not the keyword"
        );
        assert_eq!(schema["examples"], json!([{"size": 1}]));
        assert_eq!(
            schema["$defs"]["Owner"]["default"],
            json!({"email": "a@example.com"}),
            "checked against the definition it annotates"
        );
        assert_eq!(prune(&mut schema), [], "a pruned schema agrees with itself");
    }

    #[test]
    fn values_inside_data_are_not_schemas_and_broken_schemas_keep_their_values() {
        let mut data = json!({
            "enum": [{"default": 1}, {"examples": ["x"]}],
            "default": {"examples": ["x"]},
            "examples": [{"default": 1}]
        });
        let before = data.clone();
        assert_eq!(prune(&mut data), [], "{data}");
        assert_eq!(data, before);
        let mut broken = json!({"type": "string", "pattern": "([", "default": 1});
        let before = broken.clone();
        assert_eq!(prune(&mut broken), [], "nothing can be said");
        assert_eq!(broken, before);
    }
}
