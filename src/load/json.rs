//! Reading a large JSON document on every core.
//!
//! A pass finds the text of each top-level member, and of each member of the large ones (such
//! as `paths` and `components`, and theirs), without building values; the parts are then parsed on every
//! core and put together in their order. The result is the value `serde_json` reads from the
//! whole text: the same members in the same order, a repeated key keeping its first place and
//! its last value.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Below this size a document is read in one piece: splitting would not pay.
const SPLIT_FROM_BYTES: usize = 1 << 20;

/// A member whose text is larger than this share of the document is split into its members.
const SPLIT_MEMBER_SHARE: usize = 16;

/// `text` parsed as JSON, large objects on every core.
pub fn parse(text: &str) -> serde_json::Result<Value> {
    if text.len() < SPLIT_FROM_BYTES {
        return serde_json::from_str(text);
    }
    let Ok(Members(top)) = serde_json::from_str::<Members<'_>>(text) else {
        // Not an object (or not JSON): read whole, for the value or the error.
        return serde_json::from_str(text);
    };
    let large = text.len() / SPLIT_MEMBER_SHARE;
    let tree = Part::Object(
        top.into_iter()
            .map(|(k, raw)| (k, split(raw, large)))
            .collect(),
    );
    let mut leaves = Vec::new();
    tree.leaves(&mut leaves);
    let mut values =
        crate::parallel::map(&leaves, |leaf| vec![serde_json::from_str::<Value>(leaf)]).into_iter();
    tree.build(&mut values)
}

/// A document cut into parts: an object whose members are parsed apart, or a text parsed whole.
enum Part<'a> {
    Object(Vec<(String, Part<'a>)>),
    Text(&'a str),
}

/// `raw` cut until no part over `large` bytes is an object left whole.
fn split(raw: &RawValue, large: usize) -> Part<'_> {
    let text = raw.get();
    if text.len() > large
        && let Ok(Members(members)) = serde_json::from_str::<Members<'_>>(text)
    {
        return Part::Object(
            members
                .into_iter()
                .map(|(k, m)| (k, split(m, large)))
                .collect(),
        );
    }
    Part::Text(text)
}

impl<'a> Part<'a> {
    /// The texts to parse, in document order.
    fn leaves(&self, out: &mut Vec<&'a str>) {
        match self {
            Part::Object(members) => members.iter().for_each(|(_, p)| p.leaves(out)),
            Part::Text(text) => out.push(text),
        }
    }

    /// The value, taking the parsed leaves in document order.
    fn build(
        self,
        values: &mut impl Iterator<Item = serde_json::Result<Value>>,
    ) -> serde_json::Result<Value> {
        match self {
            Part::Object(members) => {
                let mut object = Map::new();
                for (key, part) in members {
                    object.insert(key, part.build(values)?);
                }
                Ok(Value::Object(object))
            }
            Part::Text(_) => values.next().unwrap_or(Ok(Value::Null)),
        }
    }
}

/// An object's members as their unparsed texts, in order (repeated keys kept: the caller
/// inserts them in order, as `serde_json` does).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document over the split size whose parts are split at both levels, with what could
    /// trip the reassembly: repeated keys at both levels, escapes, nested arrays.
    #[test]
    fn read_in_parts_as_read_whole() {
        let filler = "x".repeat(SPLIT_FROM_BYTES / 20);
        let paths: Vec<String> = (0..40)
            .map(|i| format!(r#""/p{i}": {{"get": {{"description": "{filler}", "n": [{i}, {{"a": null}}]}}}}"#))
            .collect();
        let text = format!(
            r#"{{"openapi": "3.1.0", "paths": {{{}, "/p3": {{"again": true}}}}, "info": {{"t\"q": "é\n"}}, "openapi": "3.0.0", "tags": [1, [2]]}}"#,
            paths.join(", ")
        );
        let whole: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parse(&text).unwrap(), whole);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&parse(&text).unwrap()), keys(&whole));
        assert_eq!(keys(&parse(&text).unwrap()["paths"]), keys(&whole["paths"]));
        assert_eq!(whole["paths"]["/p3"], serde_json::json!({"again": true}));
        // Not an object, and not JSON: as serde_json reads them.
        let filler = "x".repeat(SPLIT_FROM_BYTES);
        let list = format!("[\"{filler}\"]");
        assert_eq!(
            parse(&list).unwrap(),
            serde_json::from_str::<Value>(&list).unwrap()
        );
        let broken = format!("{{\"a\": \"{filler}\", }}");
        assert_eq!(
            parse(&broken).unwrap_err().to_string(),
            serde_json::from_str::<Value>(&broken)
                .unwrap_err()
                .to_string()
        );
    }
}
