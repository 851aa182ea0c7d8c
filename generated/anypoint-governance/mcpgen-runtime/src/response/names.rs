//! The name rules: members the field rules remove, taken out by name wherever the published
//! schema does not name them, so they cannot leave through a position the schema does not
//! describe (an undescribed envelope, an error body).

use serde_json::{Map, Value};

use crate::response::conform::{Conjunction, Pruner};

/// Removes every member that `remove` matches by name, at any depth of `value`, unless the
/// published `schema` names it in `properties` at that position (through `$ref`, `allOf` or any
/// `anyOf` branch) or the field rules name the position itself ([`Explicit`]). Members an `additionalProperties` or `patternProperties` schema describes,
/// and everything below a member no schema describes, are matched by name. With no schema, every
/// member is matched by name.
///
/// This is how field rules hold whatever shape an answer takes: positional rules (allowlist,
/// redactions) cover the described positions, and a member named like one they remove cannot
/// leave the server through a position the schema does not describe (an envelope the spec does
/// not mention, a record embedded in an error).
pub fn remove_named(
    schema: Option<&Map<String, Value>>,
    value: &mut Value,
    remove: &dyn Fn(&str) -> bool,
    explicit: &Explicit,
) {
    let mut walk = NameWalk {
        remove,
        explicit,
        position: Vec::new(),
    };
    let Some(schema) = schema else {
        return walk.below(value, Vec::new(), None);
    };
    let mut pruner = Pruner::new(schema);
    let mut root = Conjunction::default();
    pruner.expand_object(schema, &mut root, 0);
    let nodes = pruner.all_branches(root);
    walk.below(value, nodes, Some(&mut pruner));
}

/// The positions the field rules name (allowlist and redaction paths): a member there was
/// decided by position, so the name rules leave it, described by the schema or not.
#[derive(Debug, Default, Clone)]
pub struct Explicit {
    /// Allowlist paths: every position along one is named (the way to an allowed field).
    along: Vec<Vec<String>>,
    /// Redaction paths: the position itself is named (the value there was removed or masked).
    at: Vec<Vec<String>>,
}

impl Explicit {
    /// The positions of `allow` and `redact` paths (JSON pointers, `*` for any item or
    /// member), under `wrap` when results are wrapped.
    pub fn new(wrap: Option<&str>, allow: &[&str], redact: &[&str]) -> Self {
        let tokens = |path: &&str| {
            let mut tokens: Vec<String> = wrap.map(str::to_owned).into_iter().collect();
            tokens.extend(crate::response::shape::pointer_tokens(path));
            tokens
        };
        Explicit {
            along: allow.iter().map(tokens).collect(),
            at: redact.iter().map(tokens).collect(),
        }
    }

    fn names(&self, position: &[String]) -> bool {
        let agree = |path: &[String]| {
            path.iter()
                .zip(position)
                .all(|(token, key)| token == "*" || token == key)
        };
        self.along
            .iter()
            .any(|p| p.len() >= position.len() && agree(p))
            || self
                .at
                .iter()
                .any(|p| p.len() == position.len() && agree(p))
    }
}

/// One walk of [`remove_named`].
struct NameWalk<'a> {
    remove: &'a dyn Fn(&str) -> bool,
    explicit: &'a Explicit,
    /// Keys and indices down to the value being walked.
    position: Vec<String>,
}

impl NameWalk<'_> {
    fn below<'s>(
        &mut self,
        value: &mut Value,
        nodes: Vec<&'s Map<String, Value>>,
        mut pruner: Option<&mut Pruner<'s>>,
    ) {
        match value {
            Value::Object(members) => {
                members.retain(|key, _| {
                    if !(self.remove)(key) {
                        return true;
                    }
                    let described = nodes
                        .iter()
                        .any(|node| node.get("properties").and_then(|p| p.get(key)).is_some());
                    self.position.push(key.clone());
                    let named = self.explicit.names(&self.position);
                    self.position.pop();
                    described || named
                });
                for (key, member) in members.iter_mut() {
                    let below = match pruner.as_deref_mut() {
                        Some(pruner) => pruner.member_branches(&nodes, key),
                        None => Vec::new(),
                    };
                    self.position.push(key.clone());
                    self.below(member, below, pruner.as_deref_mut());
                    self.position.pop();
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let below = match pruner.as_deref_mut() {
                        Some(pruner) => pruner.item_branches(&nodes, i),
                        None => Vec::new(),
                    };
                    self.position.push(i.to_string());
                    self.below(item, below, pruner.as_deref_mut());
                    self.position.pop();
                }
            }
            _ => {}
        }
    }
}
