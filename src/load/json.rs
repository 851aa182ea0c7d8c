//! Reading a large JSON document on every core.
//!
//! A pass finds the text of each top-level member, and of each member of the large ones (such
//! as `paths` and `components`, and theirs), without building values; the parts are then parsed on every
//! core and put together in their order. The result is the value `serde_json` reads from the
//! whole text: the same members in the same order, a repeated key keeping its first place and
//! its last value. Objects and arrays are read at exactly their size ([`ExactValue`]).

use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Below this size a document is read in one piece: splitting would not pay.
const SPLIT_FROM_BYTES: usize = 1 << 20;

/// A member whose text is larger than this share of the document is split into its members.
const SPLIT_MEMBER_SHARE: usize = 16;

/// A JSON document read, and whether it may reference another file.
#[derive(Debug)]
pub struct Read {
    /// The value.
    pub value: Value,
    /// Whether some `$ref` member holds a string that is not a fragment (`#…`): one that may name
    /// another file. When not, nothing needs to walk the value to look for such references.
    pub refers_elsewhere: bool,
}

/// `text` parsed as JSON, large objects on every core.
pub fn parse(text: &str) -> serde_json::Result<Read> {
    if text.len() < SPLIT_FROM_BYTES {
        return read_whole(text);
    }
    let Ok(Members(top)) = serde_json::from_str::<Members<'_>>(text) else {
        // Not an object (or not JSON): read whole, for the value or the error.
        return read_whole(text);
    };
    let large = text.len() / SPLIT_MEMBER_SHARE;
    let tree = Part::Object(
        top.into_iter()
            .map(|(k, raw)| (k, split(raw, large)))
            .collect(),
    );
    let mut leaves = Vec::new();
    tree.leaves(&mut leaves);
    let read = crate::parallel::map(&leaves, |leaf| vec![read_whole(leaf)]);
    let mut refers_elsewhere = false;
    let mut values = read.into_iter().map(|leaf| {
        leaf.map(|leaf| {
            refers_elsewhere |= leaf.refers_elsewhere;
            leaf.value
        })
    });
    let value = tree.build(&mut values)?;
    Ok(Read {
        value,
        refers_elsewhere,
    })
}

/// `text` parsed as JSON in one piece.
fn read_whole(text: &str) -> serde_json::Result<Read> {
    let refers_elsewhere = std::cell::Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Exact {
        refers_elsewhere: &refers_elsewhere,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Read {
        value,
        refers_elsewhere: refers_elsewhere.get(),
    })
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
                let mut object = Map::with_capacity(members.len());
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

/// Reads a JSON value whose objects and arrays are given exactly the room their members take:
/// the value `serde_json` reads, without the spare room its maps and vectors keep from growing
/// by doubling (a quarter of a large spec's memory). Notes whether a `$ref` member holds a
/// string that is not a fragment.
#[derive(Clone, Copy)]
struct Exact<'f> {
    refers_elsewhere: &'f std::cell::Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Exact<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Exact<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // Members are gathered first, so the map is made once at its size. A repeated key
        // keeps its first place and its last value, as in `serde_json`.
        let mut members: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if key == "$ref"
                && let Value::String(reference) = &value
                && !reference.starts_with('#')
            {
                self.refers_elsewhere.set(true);
            }
            members.push((key, value));
        }
        let mut object = Map::with_capacity(members.len());
        for (key, value) in members {
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of value reads as serde_json reads it (numbers at their limits, escapes,
    /// repeated keys, empty and nested containers), and arrays hold no spare room.
    #[test]
    fn exact_values_read_as_serde_json_reads() {
        let text = r#"{"b": [1, -9223372036854775808, 18446744073709551615, 1.5e300, -0.0, 0.1],
            "a": {"k": 1, "j": {}, "k": [[], {}, null]}, "s": "t\"\u00e9\n\ud83d\ude00",
            "t": true, "f": false, "n": null, "e": [], "o": {}}"#;
        let whole: Value = serde_json::from_str(text).unwrap();
        let exact = read_whole(text).unwrap().value;
        assert_eq!(exact, whole);
        assert_eq!(
            exact.to_string(),
            whole.to_string(),
            "same keys in the same order"
        );
        let capacity = |v: &Value| v.as_array().map(Vec::capacity);
        let grown: Value = serde_json::from_str("[0, 1, 2, 3, 4]").unwrap();
        assert!(capacity(&grown) > Some(5), "serde_json keeps spare room");
        assert_eq!(
            capacity(&read_whole("[0, 1, 2, 3, 4]").unwrap().value),
            Some(5)
        );
        assert_eq!(
            read_whole("[1, ").unwrap_err().to_string(),
            serde_json::from_str::<Value>("[1, ")
                .unwrap_err()
                .to_string()
        );
    }

    /// A `$ref` whose string is not a fragment is noted wherever it is, in a document read whole
    /// or in parts; fragments, other types and other keys are not.
    #[test]
    fn references_to_other_files_are_noted() {
        let refers = |text: &str| parse(text).unwrap().refers_elsewhere;
        assert!(refers(r##"{"a": [{"b": {"$ref": "other.yaml#/x"}}]}"##));
        assert!(refers(r##"{"$ref": "https://example.com/s.json"}"##));
        assert!(!refers(r##"{"a": {"$ref": "#/components/schemas/A"}}"##));
        assert!(!refers(
            r##"{"a": {"$ref": 3, "ref": "b.yaml", "x": "$ref"}}"##
        ));
        let filler = "x".repeat(SPLIT_FROM_BYTES);
        let large = |inner: &str| {
            format!(r#"{{"info": {{"d": "{filler}"}}, "paths": {{"/a": {{"$ref": "{inner}"}}}}}}"#)
        };
        assert!(refers(&large("paths.yaml#/a")));
        assert!(!refers(&large("#/a")));
    }

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
        let read = parse(&text).unwrap().value;
        assert_eq!(read, whole);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&read), keys(&whole));
        assert_eq!(keys(&read["paths"]), keys(&whole["paths"]));
        assert_eq!(whole["paths"]["/p3"], serde_json::json!({"again": true}));
        // Not an object, and not JSON: as serde_json reads them.
        let filler = "x".repeat(SPLIT_FROM_BYTES);
        let list = format!("[\"{filler}\"]");
        assert_eq!(
            parse(&list).unwrap().value,
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
