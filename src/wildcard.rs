//! Wildcard JSON pointers: the paths of response allowlists and redactions.
//!
//! A path is a JSON pointer (RFC 6901) whose segments may be `*`, matching every array item
//! or object member (`/results/*/email`). This module parses them and applies them to JSON
//! values exactly as the generated server's runtime does; `lower` uses the parser, and `emit`
//! uses the value operations to compute what a tool's own tests must expect.

use crate::load::pointer::escape_token;
use serde_json::{Map, Value};
use std::fmt;

/// One segment of a wildcard path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Segment {
    /// An object member name or array index.
    Key(String),
    /// Every array item or object member.
    Any,
}

/// A parsed wildcard path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WildcardPath {
    /// The segments, outermost first.
    pub segments: Vec<Segment>,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NoLeadingSlash,
    /// The path selects the whole document.
    Root,
    /// A `~` is not followed by `0` or `1`.
    BadEscape,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NoLeadingSlash => write!(f, "a path must start with `/`"),
            PathError::Root => write!(f, "a path must name a field, not the whole response"),
            PathError::BadEscape => {
                write!(f, "`~` must be written `~0`, and `/` inside a name `~1`")
            }
        }
    }
}

impl WildcardPath {
    /// Parses a path such as `/results/*/email`.
    pub fn parse(text: &str) -> Result<WildcardPath, PathError> {
        let rest = text.strip_prefix('/').ok_or(PathError::NoLeadingSlash)?;
        if text == "/" || text.is_empty() {
            return Err(PathError::Root);
        }
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            if raw == "*" {
                segments.push(Segment::Any);
                continue;
            }
            let mut key = String::new();
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => key.push('~'),
                        Some('1') => key.push('/'),
                        _ => return Err(PathError::BadEscape),
                    }
                } else {
                    key.push(c);
                }
            }
            segments.push(Segment::Key(key));
        }
        Ok(WildcardPath { segments })
    }
}

impl fmt::Display for WildcardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            match segment {
                Segment::Any => f.write_str("/*")?,
                Segment::Key(k) => write!(f, "/{}", escape_token(k))?,
            }
        }
        Ok(())
    }
}

/// Keeps only the members of `value` that lie on one of `paths` (and everything below them).
/// With no paths, the value is returned unchanged.
pub fn allow(value: &Value, paths: &[WildcardPath]) -> Value {
    if paths.is_empty() {
        return value.clone();
    }
    let suffixes: Vec<&[Segment]> = paths.iter().map(|p| p.segments.as_slice()).collect();
    project(value, &suffixes).unwrap_or(Value::Null)
}

/// The part of `value` selected by the path suffixes, or None when nothing is selected.
fn project(value: &Value, suffixes: &[&[Segment]]) -> Option<Value> {
    if suffixes.iter().any(|s| s.is_empty()) {
        return Some(value.clone());
    }
    let children = |key: &str| children(suffixes, key);
    match value {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (key, member) in obj {
                let next = children(key);
                if !next.is_empty()
                    && let Some(kept) = project(member, &next)
                {
                    out.insert(key.clone(), kept);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let next = children(&i.to_string());
                    if next.is_empty() {
                        None
                    } else {
                        project(item, &next)
                    }
                })
                .collect(),
        )),
        _ => None,
    }
}

/// The rest of each non-empty path suffix whose first segment matches member `key`.
pub fn children<'p>(suffixes: &[&'p [Segment]], key: &str) -> Vec<&'p [Segment]> {
    suffixes
        .iter()
        .filter_map(|s| s.split_first())
        .filter(|(first, _)| match first {
            Segment::Any => true,
            Segment::Key(k) => k == key,
        })
        .map(|(_, rest)| rest)
        .collect()
}

/// Removes every member matched by `path`.
pub fn remove(value: &mut Value, path: &WildcardPath) {
    let Some((last, parents)) = path.segments.split_last() else {
        return;
    };
    for_each_match(value, parents, &mut |parent| match (parent, last) {
        (Value::Object(obj), Segment::Key(k)) => {
            obj.shift_remove(k);
        }
        (Value::Object(obj), Segment::Any) => obj.clear(),
        (Value::Array(items), Segment::Key(k)) => {
            if let Ok(i) = k.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        (Value::Array(items), Segment::Any) => items.clear(),
        _ => {}
    });
}

/// Masks every value matched by `path`: `"[REDACTED]"`, or `"****"` and the last `keep_last`
/// characters when the value is longer than twice that. `null` stays `null`.
pub fn mask(value: &mut Value, path: &WildcardPath, keep_last: u8) {
    for_each_match(value, &path.segments, &mut |target| {
        if target.is_null() {
            return;
        }
        let text = match target {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        };
        let keep = usize::from(keep_last);
        let chars: Vec<char> = text.chars().collect();
        *target = if keep > 0 && chars.len() > keep * 2 {
            Value::String(format!(
                "****{}",
                chars[chars.len() - keep..].iter().collect::<String>()
            ))
        } else {
            Value::String("[REDACTED]".to_owned())
        };
    });
}

/// Calls `f` on every value matched by `segments`.
fn for_each_match(value: &mut Value, segments: &[Segment], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = segments.split_first() else {
        f(value);
        return;
    };
    match (value, first) {
        (Value::Object(obj), Segment::Key(k)) => {
            if let Some(member) = obj.get_mut(k) {
                for_each_match(member, rest, f);
            }
        }
        (Value::Object(obj), Segment::Any) => {
            obj.values_mut().for_each(|m| for_each_match(m, rest, f))
        }
        (Value::Array(items), Segment::Key(k)) => {
            if let Some(item) = k.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                for_each_match(item, rest, f);
            }
        }
        (Value::Array(items), Segment::Any) => {
            items.iter_mut().for_each(|m| for_each_match(m, rest, f))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> WildcardPath {
        WildcardPath::parse(text).unwrap()
    }

    #[test]
    fn parses_and_prints_paths() {
        assert_eq!(
            p("/a/*/b~1c~0d").segments,
            vec![
                Segment::Key("a".into()),
                Segment::Any,
                Segment::Key("b/c~d".into())
            ]
        );
        assert_eq!(p("/a/*/b~1c~0d").to_string(), "/a/*/b~1c~0d");
        assert_eq!(WildcardPath::parse("a/b"), Err(PathError::NoLeadingSlash));
        assert_eq!(WildcardPath::parse("/"), Err(PathError::Root));
        assert_eq!(WildcardPath::parse("/a~2"), Err(PathError::BadEscape));
    }

    #[test]
    fn allow_keeps_listed_paths_only() {
        let v = json!({"id": 1, "owner": {"name": "a", "email": "e"}, "items": [{"x": 1, "y": 2}, {"x": 3}], "n": null});
        assert_eq!(
            allow(&v, &[p("/id"), p("/owner/name"), p("/items/*/x")]),
            json!({"id": 1, "owner": {"name": "a"}, "items": [{"x": 1}, {"x": 3}]})
        );
        assert_eq!(allow(&v, &[]), v);
        assert_eq!(
            allow(&json!([{"a": 1, "b": 2}]), &[p("/*/a")]),
            json!([{"a": 1}])
        );
    }

    #[test]
    fn remove_and_mask_follow_wildcards() {
        let mut v = json!({"people": [{"ssn": "123-45-6789", "card": "4111111111111111", "n": null}, {"ssn": 7}]});
        mask(&mut v, &p("/people/*/card"), 4);
        mask(&mut v, &p("/people/*/n"), 0);
        remove(&mut v, &p("/people/*/ssn"));
        assert_eq!(v, json!({"people": [{"card": "****1111", "n": null}, {}]}));
        let mut short = json!({"pin": "1234"});
        mask(&mut short, &p("/pin"), 4);
        assert_eq!(short, json!({"pin": "[REDACTED]"}));
        let mut missing = json!({"a": 1});
        remove(&mut missing, &p("/b/c"));
        assert_eq!(missing, json!({"a": 1}));
    }
}
