//! Local references in the schemas mcpgen publishes. Every tool schema is self-contained: its
//! named parts sit under the root's `$defs` and are referenced as `#/$defs/<name>`, where a name
//! is a plain identifier (letters, digits, `_`, `-`, `.`), so no JSON-pointer escaping applies.

use serde_json::Value;

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

/// The definition a reference points to in `root`'s `$defs`.
pub fn definition<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.get("$defs")?.get(name_of(reference)?)
}

/// `schema` with its local `$ref` followed (through chains of references, a bounded number of
/// times); `schema` itself when it is not a reference or the target is missing.
pub fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
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
}
