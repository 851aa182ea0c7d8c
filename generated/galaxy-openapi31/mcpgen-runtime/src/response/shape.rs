//! Shaping of upstream JSON before it leaves the server: the allowlist, then redactions.
//!
//! Paths are JSON pointers (`/items/*/owner/email`) into the unwrapped upstream value, where a
//! `*` token matches every array item and every object member. Paths that do not exist in a
//! value are no-ops. Pure functions on [`serde_json::Value`]; no I/O, no knowledge of MCP.

use serde_json::{Map, Value};

use crate::spec::{RedactAction, RedactionSpec};

/// Replacement for a masked value that shows nothing of it.
pub const REDACTED: &str = "[REDACTED]";

/// Splits a JSON pointer into unescaped tokens; `""` (the whole value) has none.
/// A pointer that does not start with `/` is read as if it did.
pub fn pointer_tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .strip_prefix('/')
        .unwrap_or(pointer)
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Keeps only the parts of `value` named by `allow`; an empty list keeps everything.
///
/// A pointer keeps its whole target subtree. Object members and array items that no pointer
/// reaches are dropped (array items keep their relative order); a pointer that runs into a
/// scalar keeps nothing there.
pub fn allow(value: Value, allow: &[&str]) -> Value {
    if allow.is_empty() {
        return value;
    }
    let mut tree = KeepTree::default();
    for pointer in allow {
        tree.insert(&pointer_tokens(pointer));
    }
    tree.apply(value).unwrap_or(Value::Null)
}

/// Which parts of a value the allowlist keeps, as a tree of pointer tokens.
#[derive(Debug, Default, Clone)]
struct KeepTree {
    /// A pointer ends here: the whole subtree is kept.
    all: bool,
    children: Vec<(String, KeepTree)>,
}

impl KeepTree {
    fn insert(&mut self, tokens: &[String]) {
        let Some((first, rest)) = tokens.split_first() else {
            self.all = true;
            return;
        };
        let index = match self.children.iter().position(|(t, _)| t == first) {
            Some(i) => i,
            None => {
                self.children.push((first.clone(), KeepTree::default()));
                self.children.len() - 1
            }
        };
        self.children[index].1.insert(rest);
    }

    /// The union of the children matching `key` (exactly or through `*`), if any matches.
    fn child(&self, key: &str) -> Option<KeepTree> {
        let mut matches = self
            .children
            .iter()
            .filter(|(t, _)| t == "*" || t == key)
            .map(|(_, c)| c);
        let first = matches.next()?.clone();
        Some(matches.fold(first, |mut merged, next| {
            merged.all |= next.all;
            merged.children.extend(next.children.iter().cloned());
            merged
        }))
    }

    fn apply(&self, value: Value) -> Option<Value> {
        if self.all {
            return Some(value);
        }
        match value {
            Value::Object(members) => {
                let kept: Map<String, Value> = members
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let child = self.child(&k)?;
                        child.apply(v).map(|v| (k, v))
                    })
                    .collect();
                Some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.child(&i.to_string())?.apply(v))
                    .collect();
                Some(Value::Array(kept))
            }
            _ => None,
        }
    }
}

/// Applies every redaction rule, in order, to `value`.
pub fn redact(value: &mut Value, rules: &[RedactionSpec]) {
    for rule in rules {
        redact_at(value, &pointer_tokens(rule.path), rule.action);
    }
}

fn redact_at(value: &mut Value, tokens: &[String], action: RedactAction) {
    let Some((first, rest)) = tokens.split_first() else {
        // The rule names the whole value.
        *value = match action {
            RedactAction::Remove => Value::Null,
            RedactAction::Mask { keep_last } => mask(value, keep_last),
        };
        return;
    };
    let last = rest.is_empty();
    match value {
        Value::Object(members) => {
            if last && action == RedactAction::Remove {
                if first == "*" {
                    members.clear();
                } else {
                    members.shift_remove(first);
                }
                return;
            }
            for (key, child) in members.iter_mut() {
                if first == "*" || key == first {
                    redact_at(child, rest, action);
                }
            }
        }
        Value::Array(items) => {
            if last && action == RedactAction::Remove {
                if first == "*" {
                    items.clear();
                } else if let Ok(i) = first.parse::<usize>()
                    && i < items.len()
                {
                    items.remove(i);
                }
                return;
            }
            for (i, child) in items.iter_mut().enumerate() {
                if first == "*" || *first == i.to_string() {
                    redact_at(child, rest, action);
                }
            }
        }
        _ => {}
    }
}

/// The masked form of a value: `null` stays `null`; a string (or a number or boolean, first
/// written as text) becomes `"****"` plus its last `keep_last` characters when it is longer
/// than twice that, else `"[REDACTED]"`; arrays and objects become `"[REDACTED]"`.
pub fn mask(value: &Value, keep_last: u8) -> Value {
    let text = match value {
        Value::Null => return Value::Null,
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(_) | Value::Object(_) => return Value::String(REDACTED.into()),
    };
    let keep = usize::from(keep_last);
    let len = text.chars().count();
    if keep > 0 && len > 2 * keep {
        let tail: String = text.chars().skip(len - keep).collect();
        Value::String(format!("****{tail}"))
    } else {
        Value::String(REDACTED.into())
    }
}
