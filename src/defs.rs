//! Reading the schemas mcpgen publishes: their local references and their `required` lists.
//! Every tool schema is self-contained: its named parts sit under the root's `$defs` and are
//! referenced as `#/$defs/<name>`, where a name is a plain identifier (letters, digits, `_`,
//! `-`, `.`), so no JSON-pointer escaping applies.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

const PREFIX: &str = "#/$defs/";

/// References followed in one chain before giving up (a chain of bare `$ref`s may loop).
const MAX_HOPS: usize = 16;

/// The reference to the definition `name`.
pub fn reference_to(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// The definition name a local reference points to (`#/$defs/Pet` → `Pet`).
pub fn name_of(reference: &str) -> Option<&str> {
    reference.strip_prefix(PREFIX)
}

/// Where the definitions of a schema are: a root holding them under `$defs`, or a table kept
/// beside a root that has none yet (a schema builder's, while a tool is lowered).
pub trait Defs {
    /// The definition named `name`.
    fn def(&self, name: &str) -> Option<&Value>;
}

impl Defs for Value {
    fn def(&self, name: &str) -> Option<&Value> {
        self.get("$defs")?.get(name)
    }
}

impl Defs for std::collections::BTreeMap<String, Value> {
    fn def(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The definition a reference points to in `root`'s definitions.
pub fn definition<'a, D: Defs + ?Sized>(root: &'a D, reference: &str) -> Option<&'a Value> {
    root.def(name_of(reference)?)
}

/// `schema` with its local `$ref` followed (through chains of references, a bounded number of
/// times); `schema` itself when it is not a reference or the target is missing.
pub fn resolve<'a, D: Defs + ?Sized>(root: &'a D, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_HOPS {
        let target = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| definition(root, r));
        match target {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// Names of the definitions `schema` reaches through references, transitively (sorted);
/// `lookup` finds a definition by name.
pub fn reachable<'a>(
    schema: &'a Value,
    lookup: impl Fn(&str) -> Option<&'a Value>,
) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut queue = vec![schema];
    while let Some(value) = queue.pop() {
        match value {
            Value::Object(obj) => {
                if let Some(name) = obj.get("$ref").and_then(Value::as_str).and_then(name_of)
                    && used.insert(name.to_owned())
                    && let Some(def) = lookup(name)
                {
                    queue.push(def);
                }
                queue.extend(
                    obj.iter()
                        .filter(|(k, _)| k.as_str() != "$defs")
                        .map(|(_, v)| v),
                );
            }
            Value::Array(items) => queue.extend(items.iter()),
            _ => {}
        }
    }
    used
}

/// The property names an object schema's `required` keyword lists (non-strings ignored).
pub fn required(schema: &Map<String, Value>) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// `schema`, a part of `root`, made self-contained: with the definitions of `root` it reaches
/// (and no others, so checking a small part never compiles the whole schema).
pub fn standalone(root: &Value, schema: &Value) -> Value {
    let mut out = schema.clone();
    let Value::Object(obj) = &mut out else {
        return out;
    };
    // The root's own `$defs` when `schema` is the root: replaced by what is reached.
    obj.remove("$defs");
    let Some(all) = root.get("$defs").and_then(Value::as_object) else {
        return out;
    };
    let used: Map<String, Value> = reachable(schema, |name| all.get(name))
        .into_iter()
        .filter_map(|name| all.get(&name).map(|d| (name, d.clone())))
        .collect();
    if !used.is_empty() {
        obj.insert("$defs".to_owned(), Value::Object(used));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_resolve_through_chains_and_stop_on_loops() {
        let root = json!({
            "$ref": "#/$defs/A",
            "$defs": {
                "A": {"$ref": "#/$defs/B"},
                "B": {"type": "string"},
                "Loop": {"$ref": "#/$defs/Loop"}
            }
        });
        assert_eq!(resolve(&root, &root), &json!({"type": "string"}));
        assert_eq!(name_of(&reference_to("Pet")), Some("Pet"));
        assert_eq!(
            definition(&root, "#/$defs/B"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(definition(&root, "#/components/schemas/B"), None);
        let missing = json!({"$ref": "#/$defs/Nope"});
        assert_eq!(resolve(&root, &missing), &missing);
        let looping = json!({"$ref": "#/$defs/Loop"});
        assert_eq!(resolve(&root, &looping), &root["$defs"]["Loop"]);
    }

    #[test]
    fn a_part_is_made_standalone_with_only_the_definitions_it_reaches() {
        let root = json!({
            "$defs": {
                "A": {"type": "array", "items": {"$ref": "#/$defs/B"}},
                "B": {"type": "string"},
                "C": {"type": "integer"}
            }
        });
        let part = json!({"properties": {"a": {"$ref": "#/$defs/A"}}});
        assert_eq!(
            standalone(&root, &part),
            json!({
                "properties": {"a": {"$ref": "#/$defs/A"}},
                "$defs": {"A": root["$defs"]["A"], "B": root["$defs"]["B"]}
            })
        );
        let plain = json!({"type": "string"});
        assert_eq!(standalone(&root, &plain), plain);
        // The root itself keeps only what it reaches.
        let mut whole = root.clone();
        whole["$ref"] = json!("#/$defs/B");
        assert_eq!(
            standalone(&whole, &whole),
            json!({"$ref": "#/$defs/B", "$defs": {"B": {"type": "string"}}})
        );
    }
}
