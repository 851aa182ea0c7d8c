//! Gathering the candidate arguments of an operation: its parameters (path ones in template
//! order) and its request body (one argument per property of an object body, or one `body`
//! argument), each with its schema, location and style, before [`super::lower_arguments`]
//! decides what each becomes.

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{BodyEncoding, ParamLocation, ParamStyle};
use crate::load::pointer::escape_token;
use crate::load::{DocKey, SpecSet, SpecVersion};
use crate::lower::operations::OperationRef;
use crate::lower::schema::{SchemaBuilder, drop_read_only};
use serde_json::{Value, json};

use super::{BodyShape, Candidate, Slot};

/// Collects path, query, header and cookie parameters: path-level ones merged with the
/// operation's, path parameters in template order, then the others in spec order.
pub(super) fn parameter_candidates(
    specs: &SpecSet,
    op: &OperationRef<'_>,
    builder: &mut SchemaBuilder<'_>,
    diagnostics: &mut Diagnostics,
) -> Vec<Candidate> {
    let mut raw: Vec<(DocKey, String, &Value)> = Vec::new();
    for (owner, owner_pointer) in [
        (op.path_item, &op.path_item_pointer),
        (op.operation, &op.pointer),
    ] {
        let Some(list) = owner.get("parameters").and_then(Value::as_array) else {
            continue;
        };
        for (i, param) in list.iter().enumerate() {
            let pointer = format!("{owner_pointer}/parameters/{i}");
            let (doc, pointer, value) = match specs.follow(&op.doc, &pointer, param) {
                Ok(found) => found,
                Err(err) => {
                    diagnostics.push(err.to_diagnostic(specs.locate(&op.doc, &pointer)));
                    continue;
                }
            };
            raw.push((doc, pointer, value));
        }
    }
    // The operation's definition wins over the path item's for the same name and location.
    let mut merged: Vec<(DocKey, String, &Value)> = Vec::new();
    for item in raw {
        let key = (item.2.get("name").cloned(), item.2.get("in").cloned());
        if let Some(existing) = merged
            .iter_mut()
            .find(|m| (m.2.get("name").cloned(), m.2.get("in").cloned()) == key)
        {
            *existing = item;
        } else {
            merged.push(item);
        }
    }

    let template = path_template_names(request_path(&op.path));
    let mut path_params: Vec<Candidate> = Vec::new();
    let mut others: Vec<Candidate> = Vec::new();
    for (doc, pointer, param) in merged {
        let Some(candidate) =
            parameter_candidate(specs, &doc, &pointer, param, builder, diagnostics)
        else {
            continue;
        };
        if let Slot::Param(ParamLocation::Path) = candidate.slot {
            if template.contains(&candidate.wire_name) {
                path_params.push(candidate);
            } else {
                diagnostics.push(
                    Diagnostic::warning(
                        "unused-path-param",
                        specs.locate(&doc, &pointer),
                        format!(
                            "path parameter `{}` does not appear in {}",
                            candidate.wire_name, op.path
                        ),
                    )
                    .with_help("it is left out of the tool"),
                );
            }
        } else {
            others.push(candidate);
        }
    }
    let mut ordered = Vec::new();
    for name in &template {
        match path_params.iter().position(|c| &c.wire_name == name) {
            Some(i) => ordered.push(path_params.remove(i)),
            None => {
                diagnostics.push(
                    Diagnostic::warning(
                        "undeclared-path-param",
                        specs.locate(&op.doc, &op.pointer),
                        format!("path {} uses `{{{name}}}` but the operation does not declare it", op.path),
                    )
                    .with_help("it becomes a required string argument; declare it in the spec to describe it"),
                );
                ordered.push(Candidate {
                    wire_name: name.clone(),
                    slot: Slot::Param(ParamLocation::Path),
                    required: true,
                    schema: json!({"type": "string", "minLength": 1}),
                    doc: op.doc.clone(),
                    pointer: op.pointer.clone(),
                    style: ParamStyle::Simple,
                    explode: false,
                    allow_reserved: false,
                    file: false,
                    content_type: None,
                });
            }
        }
    }
    let by_location = |l: ParamLocation| {
        others
            .iter()
            .filter(move |c| c.slot == Slot::Param(l))
            .cloned()
    };
    ordered.extend(by_location(ParamLocation::Query));
    ordered.extend(by_location(ParamLocation::Header));
    ordered.extend(by_location(ParamLocation::Cookie));
    ordered
}

/// The part of a path key that is sent: a `#fragment` or `?query` in the key (a trick some
/// specs use to tell operations on one path apart) never reaches the server.
pub fn request_path(path: &str) -> &str {
    path.find(['#', '?']).map_or(path, |cut| &path[..cut])
}

/// The names in a path template, in order (`/a/{b}/c.{d}` → `b`, `d`).
pub fn path_template_names(path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        rest = &rest[start + len + 1..];
    }
    names
}

/// Reads one parameter object.
pub(super) fn parameter_candidate(
    specs: &SpecSet,
    doc: &DocKey,
    pointer: &str,
    param: &Value,
    builder: &mut SchemaBuilder<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<Candidate> {
    let here = || specs.locate(doc, pointer);
    let Some(name) = param.get("name").and_then(Value::as_str) else {
        diagnostics.push(
            Diagnostic::error("invalid-parameter", here(), "the parameter has no `name`")
                .with_help("fix the parameter in the spec"),
        );
        return None;
    };
    let location = match param.get("in").and_then(Value::as_str) {
        Some("path") => ParamLocation::Path,
        Some("query") => ParamLocation::Query,
        Some("header") => ParamLocation::Header,
        Some("cookie") => ParamLocation::Cookie,
        other => {
            diagnostics.push(
                Diagnostic::error(
                    "unsupported-parameter",
                    here(),
                    format!(
                        "parameter `{name}` has unsupported location {}",
                        other.map_or("(none)".to_owned(), |o| format!("`{o}`"))
                    ),
                )
                .with_help("parameters must be in path, query, header or cookie"),
            );
            return None;
        }
    };
    let is_token = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
    if matches!(location, ParamLocation::Header | ParamLocation::Cookie) && !is_token {
        let required = param.get("required") == Some(&Value::Bool(true));
        let message = format!(
            "{} parameter `{name}` has a name that cannot be sent over HTTP",
            location.as_str()
        );
        let diagnostic = if required {
            Diagnostic::error("invalid-parameter-name", here(), message)
                .with_help("fix the name in the spec; a required header or cookie must be sendable")
        } else {
            Diagnostic::warning("invalid-parameter-name", here(), message)
                .with_help("it is left out of the tool")
        };
        diagnostics.push(diagnostic);
        return None;
    }
    if location == ParamLocation::Header
        && ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str())
    {
        diagnostics.push(
            Diagnostic::warning("ignored-header-param", here(), format!("header parameter `{name}` is ignored"))
                .with_help("OpenAPI says Accept, Content-Type and Authorization parameters are ignored: the server sets them itself"),
        );
        return None;
    }
    let default_style = match location {
        ParamLocation::Path | ParamLocation::Header => ParamStyle::Simple,
        ParamLocation::Query | ParamLocation::Cookie => ParamStyle::Form,
    };
    let style = match param.get("style").and_then(Value::as_str) {
        None => default_style,
        Some(text) => match parse_style(text, location) {
            Some(style) => style,
            None => {
                diagnostics.push(
                    Diagnostic::error("unsupported-style", specs.locate(doc, &format!("{pointer}/style")), format!("style `{text}` is not valid for a {} parameter", location.as_str()))
                        .with_help("path: simple, label, matrix; query: form, spaceDelimited, pipeDelimited, deepObject; header: simple; cookie: form"),
                );
                return None;
            }
        },
    };
    let explode = param
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == ParamStyle::Form);
    let allow_reserved = param
        .get("allowReserved")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut schema = match (param.get("schema"), param.get("content")) {
        (Some(schema), _) => builder.root(doc, &format!("{pointer}/schema"), schema),
        (None, Some(_)) => {
            diagnostics.push(
                Diagnostic::error("unsupported-parameter", here(), format!("parameter `{name}` is described by `content`, which mcpgen does not serialize yet"))
                    .with_help("hide it with `hidden: true` (if optional) or give it a `fixed` value in the annotation file"),
            );
            return None;
        }
        (None, None) => json!({"type": "string"}),
    };
    if let (Some(description), Value::Object(obj)) = (
        param.get("description").and_then(Value::as_str),
        &mut schema,
    ) && !description.trim().is_empty()
    {
        obj.insert("description".to_owned(), json!(description.trim()));
    }
    if param.get("deprecated") == Some(&Value::Bool(true))
        && let Value::Object(obj) = &mut schema
    {
        obj.insert("deprecated".to_owned(), Value::Bool(true));
    }
    // A parameter is always the client's to send: `readOnly` on its schema (some specs reuse a
    // response member's schema) would tell clients to leave out a required argument.
    if let Value::Object(obj) = &mut schema {
        obj.remove("readOnly");
    }
    if location == ParamLocation::Path {
        require_non_empty(&mut schema);
    }
    let required =
        location == ParamLocation::Path || param.get("required") == Some(&Value::Bool(true));
    Some(Candidate {
        wire_name: name.to_owned(),
        slot: Slot::Param(location),
        required,
        schema,
        doc: doc.clone(),
        pointer: pointer.to_owned(),
        style,
        explode,
        allow_reserved,
        file: false,
        content_type: None,
    })
}

/// A path value fills a segment of the request's path: an empty one would address another
/// resource (`/contacts/` instead of one contact). A plain string schema says so with
/// `minLength: 1` (the runtime also refuses blank values, whatever the schema).
pub(super) fn require_non_empty(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    let plain_string = obj.get("type") == Some(&json!("string"))
        && !obj.contains_key("enum")
        && !obj.contains_key("const")
        && obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) == 0;
    if plain_string {
        obj.insert("minLength".to_owned(), json!(1));
    }
}

/// Parses a style name allowed for a location.
pub(super) fn parse_style(text: &str, location: ParamLocation) -> Option<ParamStyle> {
    let style = match text {
        "simple" => ParamStyle::Simple,
        "label" => ParamStyle::Label,
        "matrix" => ParamStyle::Matrix,
        "form" => ParamStyle::Form,
        "spaceDelimited" => ParamStyle::SpaceDelimited,
        "pipeDelimited" => ParamStyle::PipeDelimited,
        "deepObject" => ParamStyle::DeepObject,
        _ => return None,
    };
    let allowed = match location {
        ParamLocation::Path => matches!(
            style,
            ParamStyle::Simple | ParamStyle::Label | ParamStyle::Matrix
        ),
        ParamLocation::Query => matches!(
            style,
            ParamStyle::Form
                | ParamStyle::SpaceDelimited
                | ParamStyle::PipeDelimited
                | ParamStyle::DeepObject
        ),
        ParamLocation::Header => style == ParamStyle::Simple,
        ParamLocation::Cookie => style == ParamStyle::Form,
    };
    allowed.then_some(style)
}

/// How a media type is sent, and how much mcpgen prefers it (lower is better).
pub(super) fn classify_media(media: &str) -> (u8, BodyEncoding) {
    match crate::media::essence(media).as_str() {
        "application/json" => (0, BodyEncoding::Json),
        e if crate::media::is_json(e) => (1, BodyEncoding::Json),
        "application/x-www-form-urlencoded" => (2, BodyEncoding::Form),
        "multipart/form-data" | "multipart/mixed" => (3, BodyEncoding::Multipart),
        e if e.starts_with("text/") || e == "application/xml" => (4, BodyEncoding::Text),
        "*/*" => (5, BodyEncoding::Json),
        _ => (6, BodyEncoding::Binary),
    }
}

/// Reads the request body and adds its candidates (its properties, or one `body` argument).
pub(super) fn body_candidates(
    specs: &SpecSet,
    op: &OperationRef<'_>,
    builder: &mut SchemaBuilder<'_>,
    candidates: &mut Vec<Candidate>,
    diagnostics: &mut Diagnostics,
) -> Option<BodyShape> {
    let raw = op.operation.get("requestBody")?;
    let pointer = format!("{}/requestBody", op.pointer);
    let (doc, pointer, body) = match specs.follow(&op.doc, &pointer, raw) {
        Ok(found) => found,
        Err(err) => {
            diagnostics.push(err.to_diagnostic(specs.locate(&op.doc, &pointer)));
            return None;
        }
    };
    let content = body.get("content").and_then(Value::as_object)?;
    let (media_type, media) = content
        .iter()
        .min_by_key(|(media, _)| classify_media(media).0)?;
    let (_, encoding) = classify_media(media_type);
    let media_pointer = format!("{pointer}/content/{}", escape_token(media_type));
    let required = body.get("required") == Some(&Value::Bool(true));
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let raw_schema = media.get("schema");
    let sent_type = if media_type == "*/*" {
        "application/json".to_owned()
    } else {
        media_type.clone()
    };

    let object = raw_schema
        .and_then(|s| object_properties(specs, &doc, &format!("{media_pointer}/schema"), s, 0));
    let flatten = match encoding {
        BodyEncoding::Form | BodyEncoding::Multipart => true,
        BodyEncoding::Json => object
            .as_ref()
            .is_some_and(|o| o.closed && !o.properties.is_empty()),
        BodyEncoding::Text | BodyEncoding::Binary => false,
    };
    if flatten {
        let Some(object) = object else {
            diagnostics.push(
                Diagnostic::error(
                    "unsupported-body",
                    specs.locate(&doc, &media_pointer),
                    format!("the {media_type} body is not an object with properties"),
                )
                .with_help("form and multipart bodies need an object schema with `properties`"),
            );
            return None;
        };
        let encodings = media.get("encoding");
        for (name, prop_doc, prop_pointer, prop) in object.properties {
            if builder.is_hidden_property(&prop_doc, prop) {
                continue;
            }
            let file =
                encoding == BodyEncoding::Multipart && is_file_schema(specs, &prop_doc, prop);
            let mut schema = if file {
                let description = prop
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("File content");
                let one = json!({"type": "string", "contentEncoding": "base64", "description": format!("{description} (base64, or a data: URI)")});
                if prop.get("type").and_then(Value::as_str) == Some("array") {
                    json!({"type": "array", "items": one})
                } else {
                    one
                }
            } else {
                builder.root(&prop_doc, &prop_pointer, prop)
            };
            if let Value::Object(obj) = &mut schema
                && obj.get("description").is_none()
                && let Some(d) = prop.get("description").and_then(Value::as_str)
            {
                obj.insert("description".to_owned(), json!(d));
            }
            let content_type = encodings
                .and_then(|e| e.get(&name))
                .and_then(|e| e.get("contentType"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            candidates.push(Candidate {
                // A flattened body's required members are required arguments even when the body
                // is optional: sending some members without them is always refused.
                required: object.required.contains(&name),
                wire_name: name,
                slot: Slot::Body,
                schema,
                doc: prop_doc,
                pointer: prop_pointer,
                style: ParamStyle::Form,
                explode: true,
                allow_reserved: false,
                file,
                content_type,
            });
        }
    } else {
        let mut schema = match (encoding, raw_schema) {
            (BodyEncoding::Binary, _) => json!({"type": "string", "contentEncoding": "base64"}),
            (BodyEncoding::Text, _) => json!({"type": "string"}),
            (_, Some(schema)) => {
                let mut root = builder.root(&doc, &format!("{media_pointer}/schema"), schema);
                drop_read_only(&mut root);
                root
            }
            (_, None) => json!({}),
        };
        if let (Some(d), Value::Object(obj)) = (description, &mut schema) {
            obj.insert("description".to_owned(), json!(d));
        }
        candidates.push(Candidate {
            wire_name: "body".to_owned(),
            slot: Slot::Body,
            required,
            schema,
            doc: doc.clone(),
            pointer: media_pointer,
            style: ParamStyle::Form,
            explode: true,
            allow_reserved: false,
            file: false,
            content_type: None,
        });
    }
    Some(BodyShape {
        media_type: sent_type,
        encoding,
        required,
        flattened: flatten,
    })
}

/// An object schema's properties (through `$ref`s and `allOf`), with where each is defined.
pub(super) struct ObjectShape<'a> {
    properties: Vec<(String, DocKey, String, &'a Value)>,
    required: Vec<String>,
    /// No `additionalProperties`, `oneOf` or `anyOf`: the properties are the whole story.
    closed: bool,
}

/// Reads the properties of an object schema, merging `allOf` branches.
pub(super) fn object_properties<'a>(
    specs: &'a SpecSet,
    doc: &DocKey,
    pointer: &str,
    schema: &'a Value,
    depth: usize,
) -> Option<ObjectShape<'a>> {
    if depth > 16 {
        return None;
    }
    let (doc, pointer, schema) = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let t = specs.resolve_deep(doc, r).ok()?;
            (t.doc.clone(), t.pointer.clone(), t.value)
        }
        None => (doc.clone(), pointer.to_owned(), schema),
    };
    let obj = schema.as_object()?;
    let mut shape = ObjectShape {
        properties: Vec::new(),
        required: Vec::new(),
        closed: true,
    };
    if obj.contains_key("oneOf")
        || obj.contains_key("anyOf")
        || obj
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
    {
        shape.closed = false;
    }
    if let Some(branches) = obj.get("allOf").and_then(Value::as_array) {
        for (i, branch) in branches.iter().enumerate() {
            let inner = object_properties(
                specs,
                &doc,
                &format!("{pointer}/allOf/{i}"),
                branch,
                depth + 1,
            )?;
            shape.closed &= inner.closed;
            shape.required.extend(inner.required);
            for prop in inner.properties {
                shape.properties.retain(|p| p.0 != prop.0);
                shape.properties.push(prop);
            }
        }
    }
    let typed_object = obj.get("type").and_then(Value::as_str) == Some("object");
    match obj.get("properties").and_then(Value::as_object) {
        Some(props) => {
            for (name, prop) in props {
                shape.properties.retain(|p| &p.0 != name);
                shape.properties.push((
                    name.clone(),
                    doc.clone(),
                    format!("{pointer}/properties/{}", escape_token(name)),
                    prop,
                ));
            }
        }
        None if !typed_object && !obj.contains_key("allOf") => return None,
        None => {}
    }
    if let Some(required) = obj.get("required").and_then(Value::as_array) {
        shape
            .required
            .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    Some(shape)
}

/// Whether a multipart property is a file (binary string, 2.0 `file`, or 3.1 content keywords).
pub(super) fn is_file_schema(specs: &SpecSet, doc: &DocKey, schema: &Value) -> bool {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => match specs.resolve_deep(doc, r) {
            Ok(t) => t.value,
            Err(_) => return false,
        },
        None => schema,
    };
    let one = |s: &Value| {
        s.get("format").and_then(Value::as_str) == Some("binary")
            || s.get("type").and_then(Value::as_str) == Some("file")
            || (specs.version() == SpecVersion::OpenApi31
                && (s.get("contentMediaType").is_some() || s.get("contentEncoding").is_some()))
    };
    one(schema) || schema.get("items").is_some_and(one)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_and_queries_in_path_keys_are_not_sent() {
        assert_eq!(request_path("/cookies#formExploded"), "/cookies");
        assert_eq!(request_path("/search?type=a"), "/search");
        assert_eq!(request_path("/plain/{id}"), "/plain/{id}");
    }

    #[test]
    fn template_names_in_order_without_duplicates() {
        assert_eq!(
            path_template_names("/a/{b}/c.{d}/{b}"),
            vec!["b".to_owned(), "d".to_owned()]
        );
        assert!(path_template_names("/plain").is_empty());
        assert!(path_template_names("/broken/{x").is_empty());
    }

    #[test]
    fn media_types_are_ranked() {
        assert_eq!(
            classify_media("application/json; charset=utf-8"),
            (0, BodyEncoding::Json)
        );
        assert_eq!(
            classify_media("application/vnd.api+json"),
            (1, BodyEncoding::Json)
        );
        assert_eq!(
            classify_media("application/x-www-form-urlencoded"),
            (2, BodyEncoding::Form)
        );
        assert_eq!(
            classify_media("multipart/form-data"),
            (3, BodyEncoding::Multipart)
        );
        assert_eq!(classify_media("text/csv"), (4, BodyEncoding::Text));
        assert_eq!(
            classify_media("application/octet-stream"),
            (6, BodyEncoding::Binary)
        );
    }

    #[test]
    fn styles_are_checked_against_locations() {
        assert_eq!(
            parse_style("deepObject", ParamLocation::Query),
            Some(ParamStyle::DeepObject)
        );
        assert_eq!(parse_style("deepObject", ParamLocation::Path), None);
        assert_eq!(
            parse_style("matrix", ParamLocation::Path),
            Some(ParamStyle::Matrix)
        );
        assert_eq!(parse_style("label", ParamLocation::Header), None);
    }
}
