//! Operation `responses`: `$ref`s to `#/responses/…` inlined, `schema` and `examples` moved under
//! `content` (one entry per `produces` type), headers given schemas.
//!
//! Owns the response conversion. Must not convert request parameters.

use serde_json::{Map, Value, json};

use super::context::{Source, Upgrade, carry_extensions};
use super::params::schema_of;
use crate::load::pointer;

/// The converted `responses` of the operation at `operation` (converted pointer).
pub fn responses(
    upgrade: &mut Upgrade<'_>,
    operation: &str,
    source: &Source<'_>,
    produces: &[String],
) -> Value {
    let converted_responses = pointer::push_token(operation, "responses");
    let Some(members) = source.value.as_object() else {
        return source.value.clone();
    };
    let mut out = Map::new();
    for code in members.keys() {
        let Some(entry) = source.member(code) else {
            continue;
        };
        let converted = pointer::push_token(&converted_responses, code);
        if code.starts_with("x-") {
            out.insert(code.clone(), upgrade.transplant(&entry));
            continue;
        }
        let entry = match upgrade.follow(entry.clone()) {
            Ok(followed) => followed,
            Err(error) => {
                let at = upgrade.location(&entry);
                upgrade.problem(operation, error.to_diagnostic(at));
                out.insert(code.clone(), upgrade.transplant(&entry));
                continue;
            }
        };
        upgrade.record(&converted, &entry);
        let value = upgrade.transplant(&entry);
        let Some(response) = value.as_object() else {
            out.insert(code.clone(), value);
            continue;
        };
        let schema_origin = entry.member("schema");
        let converted_response = response_object(response, produces);
        if let (Some(schema_origin), Some(content)) = (
            schema_origin,
            converted_response.get("content").and_then(Value::as_object),
        ) {
            for media in content.keys() {
                let at = format!(
                    "{}/schema",
                    pointer::push_token(&format!("{converted}/content"), media)
                );
                upgrade.record(&at, &schema_origin);
            }
        }
        out.insert(code.clone(), Value::Object(converted_response));
    }
    Value::Object(out)
}

/// One response object in 3.0 form.
fn response_object(response: &Map<String, Value>, produces: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    let description = response
        .get("description")
        .cloned()
        .unwrap_or_else(|| json!(""));
    out.insert("description".into(), description);
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        let converted: Map<String, Value> = headers
            .iter()
            .map(|(name, header)| (name.clone(), header_object(header)))
            .collect();
        out.insert("headers".into(), Value::Object(converted));
    }
    let examples = response.get("examples").and_then(Value::as_object);
    let schema = response.get("schema");
    let mut content = Map::new();
    if schema.is_some() {
        for media in produces {
            content.insert(
                media.clone(),
                media_entry(schema, examples.and_then(|e| e.get(media))),
            );
        }
    }
    for (media, example) in examples.into_iter().flatten() {
        if !content.contains_key(media) {
            content.insert(media.clone(), media_entry(schema, Some(example)));
        }
    }
    if !content.is_empty() {
        out.insert("content".into(), Value::Object(content));
    }
    carry_extensions(response, &mut out);
    out
}

fn media_entry(schema: Option<&Value>, example: Option<&Value>) -> Value {
    let mut entry = Map::new();
    if let Some(schema) = schema {
        entry.insert("schema".into(), schema.clone());
    }
    if let Some(example) = example {
        entry.insert("example".into(), example.clone());
    }
    Value::Object(entry)
}

fn header_object(header: &Value) -> Value {
    let Some(header) = header.as_object() else {
        return header.clone();
    };
    let mut out = Map::new();
    if let Some(description) = header.get("description") {
        out.insert("description".into(), description.clone());
    }
    out.insert("schema".into(), Value::Object(schema_of(header)));
    carry_extensions(header, &mut out);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_examples_move_under_content() {
        let response = json!({
            "description": "ok",
            "schema": {"$ref": "#/definitions/Pet"},
            "examples": {"application/json": {"id": 1}, "text/plain": "one"},
            "headers": {"X-Rate": {"type": "integer", "description": "calls left"}},
            "x-extra": true
        });
        let out = response_object(
            response.as_object().unwrap(),
            &["application/json".into(), "application/xml".into()],
        );
        assert_eq!(
            Value::Object(out),
            json!({"description": "ok",
                   "headers": {"X-Rate": {"description": "calls left", "schema": {"type": "integer"}}},
                   "content": {
                       "application/json": {"schema": {"$ref": "#/definitions/Pet"}, "example": {"id": 1}},
                       "application/xml": {"schema": {"$ref": "#/definitions/Pet"}},
                       "text/plain": {"schema": {"$ref": "#/definitions/Pet"}, "example": "one"}},
                   "x-extra": true})
        );
    }

    #[test]
    fn response_without_schema_has_no_content() {
        let out = response_object(
            json!({"description": "gone"}).as_object().unwrap(),
            &["application/json".into()],
        );
        assert_eq!(Value::Object(out), json!({"description": "gone"}));
        let out = response_object(json!({}).as_object().unwrap(), &[]);
        assert_eq!(Value::Object(out), json!({"description": ""}));
    }
}
