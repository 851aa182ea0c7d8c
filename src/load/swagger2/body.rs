//! `in: body` and `in: formData` parameters → `requestBody`.
//!
//! Owns choosing the media types (`consumes`, or form encodings) and building the body schema. A
//! body parameter's schema is carried as it is. Must not convert query, path or header
//! parameters.

use serde_json::{Map, Value, json};

use super::params::schema_of;

/// Multipart media type.
pub const MULTIPART: &str = "multipart/form-data";
/// URL-encoded form media type.
pub const URLENCODED: &str = "application/x-www-form-urlencoded";

/// The request body of an `in: body` parameter: one content entry per `consumes` type.
pub fn body(param: &Map<String, Value>, consumes: &[String]) -> Value {
    let schema = param.get("schema").cloned().unwrap_or_else(|| json!({}));
    let mut content = Map::new();
    for media in consumes {
        content.insert(media.clone(), json!({ "schema": schema }));
    }
    let mut out = Map::new();
    if let Some(description) = param.get("description") {
        out.insert("description".into(), description.clone());
    }
    out.insert("content".into(), Value::Object(content));
    if param.get("required").and_then(Value::as_bool) == Some(true) {
        out.insert("required".into(), json!(true));
    }
    if let Some(name) = param.get("name") {
        out.insert("x-codegen-request-body-name".into(), name.clone());
    }
    for (name, value) in param {
        if name.starts_with("x-") {
            out.insert(name.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// The media type of a form body: multipart when `consumes` lists it or a field is a file.
pub fn form_media_type(params: &[Map<String, Value>], consumes: &[String]) -> &'static str {
    let has_file = params
        .iter()
        .any(|p| p.get("type").and_then(Value::as_str) == Some("file"));
    if has_file || consumes.iter().any(|m| m.eq_ignore_ascii_case(MULTIPART)) {
        MULTIPART
    } else {
        URLENCODED
    }
}

/// The request body of the `in: formData` parameters: an object schema with one property per
/// parameter, under [`form_media_type`].
pub fn form(params: &[Map<String, Value>], media: &str) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut encoding = Map::new();
    for param in params {
        let Some(name) = param.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut schema = schema_of(param);
        if let Some(description) = param.get("description") {
            schema.insert("description".into(), description.clone());
        }
        properties.insert(name.to_owned(), Value::Object(schema));
        if param.get("required").and_then(Value::as_bool) == Some(true) {
            required.push(json!(name));
        }
        if media == URLENCODED && param.get("type").and_then(Value::as_str) == Some("array") {
            let multi = param.get("collectionFormat").and_then(Value::as_str) == Some("multi");
            encoding.insert(name.to_owned(), json!({"style": "form", "explode": multi}));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required.clone()));
    }
    let mut media_entry = Map::new();
    media_entry.insert("schema".into(), Value::Object(schema));
    if !encoding.is_empty() {
        media_entry.insert("encoding".into(), Value::Object(encoding));
    }
    let mut out = Map::new();
    out.insert("content".into(), json!({ media: media_entry }));
    if !required.is_empty() {
        out.insert("required".into(), json!(true));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(values: Value) -> Vec<Map<String, Value>> {
        values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn body_gets_one_content_entry_per_consumed_type() {
        let param = json!({"name": "pet", "in": "body", "description": "Pet to add", "required": true,
                           "schema": {"$ref": "#/definitions/Pet"}});
        let out = body(
            param.as_object().unwrap(),
            &["application/json".into(), "application/xml".into()],
        );
        assert_eq!(
            out,
            json!({"description": "Pet to add", "required": true, "x-codegen-request-body-name": "pet",
                   "content": {"application/json": {"schema": {"$ref": "#/definitions/Pet"}},
                               "application/xml": {"schema": {"$ref": "#/definitions/Pet"}}}})
        );
        let keys: Vec<&String> = out["content"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["application/json", "application/xml"]);
    }

    #[test]
    fn form_fields_urlencoded() {
        let params = maps(json!([
            {"name": "name", "in": "formData", "type": "string", "description": "new name", "required": true},
            {"name": "tags", "in": "formData", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"}
        ]));
        let media = form_media_type(&params, &["application/x-www-form-urlencoded".into()]);
        assert_eq!(media, URLENCODED);
        assert_eq!(
            form(&params, media),
            json!({"required": true, "content": {URLENCODED: {
                "schema": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "description": "new name"},
                    "tags": {"type": "array", "items": {"type": "string"}}}},
                "encoding": {"tags": {"style": "form", "explode": true}}}}})
        );
    }

    #[test]
    fn form_with_a_file_is_multipart() {
        let params = maps(json!([
            {"name": "meta", "in": "formData", "type": "string"},
            {"name": "file", "in": "formData", "type": "file", "required": false}
        ]));
        // Even when `consumes` says urlencoded, a file needs multipart.
        let media = form_media_type(&params, &[URLENCODED.into()]);
        assert_eq!(media, MULTIPART);
        let out = form(&params, media);
        assert_eq!(
            out["content"][MULTIPART]["schema"]["properties"]["file"],
            json!({"type": "string", "format": "binary"})
        );
        assert!(out.get("required").is_none());
        assert!(out["content"][MULTIPART].get("encoding").is_none());
        // Listed multipart wins without files too.
        let text_only = maps(json!([{"name": "a", "in": "formData", "type": "string"}]));
        assert_eq!(
            form_media_type(&text_only, &[URLENCODED.into(), MULTIPART.into()]),
            MULTIPART
        );
        assert_eq!(form_media_type(&text_only, &[]), URLENCODED);
    }
}
