//! Query, path and header parameters, and the schema of any non-body parameter or header.
//!
//! Owns moving the 2.0 inline type keywords into a `schema` and mapping `collectionFormat` to
//! `style` / `explode`. Must not deal with `in: body` or `in: formData` (see `body`).

use serde_json::{Map, Value, json};

/// Keywords of a 2.0 parameter, header or items object that belong in its 3.0 `schema`.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "items",
    "enum",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
];

/// A problem met while converting one parameter (the caller knows where it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: &'static str,
}

/// The 3.0 schema of a 2.0 parameter, header or items object (`type: file` becomes a binary
/// string; nested `items` are converted too).
pub fn schema_of(source: &Map<String, Value>) -> Map<String, Value> {
    let mut schema = Map::new();
    for keyword in SCHEMA_KEYWORDS {
        let Some(value) = source.get(*keyword) else {
            continue;
        };
        let value = match (*keyword, value) {
            ("items", Value::Object(items)) if !items.contains_key("$ref") => {
                Value::Object(schema_of(items))
            }
            _ => value.clone(),
        };
        schema.insert((*keyword).to_owned(), value);
    }
    if source.get("type").and_then(Value::as_str) == Some("file") {
        schema.insert("type".into(), json!("string"));
        schema.insert("format".into(), json!("binary"));
    }
    schema
}

/// A query, path or header parameter in 3.0 form.
pub fn parameter(source: &Map<String, Value>, location: &str, notes: &mut Vec<Note>) -> Value {
    let mut out = Map::new();
    for key in ["name", "in", "description"] {
        if let Some(value) = source.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    let required =
        location == "path" || source.get("required").and_then(Value::as_bool) == Some(true);
    if required {
        out.insert("required".into(), json!(true));
    }
    for key in ["deprecated", "allowEmptyValue"] {
        if let Some(value) = source.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if source.get("type").and_then(Value::as_str) == Some("file") {
        notes.push(Note {
            message: format!(
                "`type: file` is only allowed on `in: formData` parameters, not `in: {location}`"
            ),
            help: "move the file to a formData parameter",
        });
    }
    if source.get("type").and_then(Value::as_str) == Some("array") {
        style(source, location, &mut out, notes);
    }
    out.insert("schema".into(), Value::Object(schema_of(source)));
    for (name, value) in source {
        if name.starts_with("x-") && name != "x-nullable" {
            out.insert(name.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// `collectionFormat` (default `csv`) → `style` and `explode`.
fn style(
    source: &Map<String, Value>,
    location: &str,
    out: &mut Map<String, Value>,
    notes: &mut Vec<Note>,
) {
    let format = source
        .get("collectionFormat")
        .and_then(Value::as_str)
        .unwrap_or("csv");
    let plain = if location == "query" {
        "form"
    } else {
        "simple"
    };
    let (style, explode) = match (format, location) {
        ("csv", _) => (plain, false),
        ("multi", "query") => ("form", true),
        ("ssv", "query") => ("spaceDelimited", false),
        ("pipes", "query") => ("pipeDelimited", false),
        ("tsv", _) => {
            out.insert("x-collection-format".into(), json!("tsv"));
            (plain, false)
        }
        (other, _) => {
            notes.push(Note {
                message: format!("`collectionFormat: {other}` cannot be expressed for `in: {location}` in OpenAPI 3.0"),
                help: "use `csv` for path and header parameters",
            });
            out.insert("x-collection-format".into(), json!(other));
            (plain, false)
        }
    };
    out.insert("style".into(), json!(style));
    out.insert("explode".into(), json!(explode));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(param: Value) -> (Value, Vec<Note>) {
        let mut notes = Vec::new();
        let location = param["in"].as_str().unwrap_or_default().to_owned();
        let out = parameter(param.as_object().unwrap(), &location, &mut notes);
        (out, notes)
    }

    #[test]
    fn moves_type_keywords_into_the_schema() {
        let (out, notes) = convert(json!({
            "name": "limit", "in": "query", "description": "max", "required": false, "type": "integer",
            "format": "int32", "minimum": 1, "maximum": 100, "default": 20, "x-example": 5
        }));
        assert!(notes.is_empty());
        assert_eq!(
            out,
            json!({"name": "limit", "in": "query", "description": "max",
                   "schema": {"type": "integer", "format": "int32", "default": 20, "maximum": 100, "minimum": 1},
                   "x-example": 5})
        );
        let (path, _) =
            convert(json!({"name": "id", "in": "path", "type": "string", "pattern": "^[a-z]+$"}));
        assert_eq!(path["required"], json!(true));
        assert_eq!(
            path["schema"],
            json!({"type": "string", "pattern": "^[a-z]+$"})
        );
    }

    #[test]
    fn collection_formats_map_to_styles() {
        let array = |location: &str, format: Option<&str>| {
            let mut param = json!({"name": "t", "in": location, "type": "array", "items": {"type": "string", "enum": ["a"]}});
            if let Some(format) = format {
                param["collectionFormat"] = json!(format);
            }
            convert(param)
        };
        let style = |out: &Value| (out["style"].clone(), out["explode"].clone());
        assert_eq!(
            style(&array("query", None).0),
            (json!("form"), json!(false))
        );
        assert_eq!(
            style(&array("query", Some("csv")).0),
            (json!("form"), json!(false))
        );
        assert_eq!(
            style(&array("query", Some("multi")).0),
            (json!("form"), json!(true))
        );
        assert_eq!(
            style(&array("query", Some("ssv")).0),
            (json!("spaceDelimited"), json!(false))
        );
        assert_eq!(
            style(&array("query", Some("pipes")).0),
            (json!("pipeDelimited"), json!(false))
        );
        let (tsv, notes) = array("query", Some("tsv"));
        assert_eq!(
            (style(&tsv), &tsv["x-collection-format"]),
            ((json!("form"), json!(false)), &json!("tsv"))
        );
        assert!(notes.is_empty());
        assert_eq!(
            style(&array("path", Some("csv")).0),
            (json!("simple"), json!(false))
        );
        assert_eq!(
            style(&array("header", None).0),
            (json!("simple"), json!(false))
        );
        let (multi_header, notes) = array("header", Some("multi"));
        assert_eq!(notes.len(), 1);
        assert_eq!(multi_header["x-collection-format"], json!("multi"));
        assert_eq!(
            array("query", None).0["schema"],
            json!({"type": "array", "items": {"type": "string", "enum": ["a"]}})
        );
    }

    #[test]
    fn file_type_becomes_binary_string() {
        let schema = schema_of(
            json!({"type": "file", "description": "d"})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            Value::Object(schema),
            json!({"type": "string", "format": "binary"})
        );
        let (_, notes) = convert(json!({"name": "f", "in": "query", "type": "file"}));
        assert_eq!(notes.len(), 1);
    }
}
