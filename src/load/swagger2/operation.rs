//! Path items and operations: following path-item and parameter `$ref`s, merging path-level and
//! operation-level parameters, and putting the converted parameters, request body and responses
//! together.
//!
//! Owns the shape of each converted operation and the problems recorded against it. The
//! conversions of single parameters, bodies and responses live in `params`, `body` and
//! `responses`.

use serde_json::{Map, Value, json};

use super::body;
use super::context::{Source, Upgrade, media_types};
use super::params::{self, Note};
use super::responses;
use crate::diag::Diagnostic;
use crate::load::pointer;

/// HTTP methods of a path item.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Media type used when neither the operation nor the spec says.
const DEFAULT_MEDIA: &str = "application/json";

/// The converted `paths` object.
pub fn paths(upgrade: &mut Upgrade<'_>, paths: Option<&Value>) -> Value {
    let Some(source) = upgrade.root_source("/paths").filter(|_| paths.is_some()) else {
        return json!({});
    };
    let Some(members) = source.value.as_object() else {
        return source.value.clone();
    };
    let mut out = Map::new();
    for path in members.keys() {
        let Some(item) = source.member(path) else {
            continue;
        };
        if path.starts_with("x-") {
            out.insert(path.clone(), item.value.clone());
            continue;
        }
        let converted = item.pointer.clone();
        let item = match upgrade.follow(item.clone()) {
            Ok(followed) => followed,
            Err(error) => {
                let at = upgrade.location(&item);
                upgrade.problem(&converted, error.to_diagnostic(at));
                out.insert(path.clone(), item.value.clone());
                continue;
            }
        };
        if item.pointer != converted || item.doc != upgrade.root_key() {
            upgrade.record(&converted, &item);
        }
        out.insert(path.clone(), path_item(upgrade, &converted, &item));
    }
    Value::Object(out)
}

/// A resolved parameter and where it is used.
#[derive(Debug, Clone)]
struct Param<'a> {
    /// The parameter itself (after following its `$ref`).
    source: Source<'a>,
    name: String,
    location: String,
}

fn path_item<'a>(upgrade: &mut Upgrade<'a>, converted: &str, item: &Source<'a>) -> Value {
    let Some(members) = item.value.as_object() else {
        let at = upgrade.location(item);
        upgrade.problem(
            converted,
            Diagnostic::error("swagger2-unconvertible", at, "path item is not a mapping"),
        );
        return item.value.clone();
    };
    let shared = item
        .member("parameters")
        .map(|list| resolve_params(upgrade, converted, &list))
        .unwrap_or_default();
    let mut out = Map::new();
    for key in members.keys() {
        let Some(member) = item.member(key) else {
            continue;
        };
        if METHODS.contains(&key.as_str()) {
            let operation_pointer = pointer::push_token(converted, key);
            let value = operation(upgrade, &operation_pointer, &member, &shared);
            out.insert(key.clone(), value);
        } else if key != "parameters" && key != "$ref" {
            out.insert(key.clone(), upgrade.transplant(&member));
        }
    }
    Value::Object(out)
}

/// Follows each entry of a `parameters` list; entries that cannot be resolved are problems of
/// `converted` and left out.
fn resolve_params<'a>(
    upgrade: &mut Upgrade<'a>,
    converted: &str,
    list: &Source<'a>,
) -> Vec<Param<'a>> {
    let mut out = Vec::new();
    for entry in list.items() {
        let at = upgrade.location(&entry);
        let source = match upgrade.follow(entry) {
            Ok(source) => source,
            Err(error) => {
                upgrade.problem(converted, error.to_diagnostic(at));
                continue;
            }
        };
        let text = |key: &str| {
            source
                .value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (Some(name), Some(location)) = (text("name"), text("in")) else {
            let at = upgrade.location(&source);
            upgrade.problem(
                converted,
                Diagnostic::error(
                    "swagger2-unconvertible",
                    at,
                    "parameter has no `name` or no `in`",
                )
                .with_help("give every parameter a `name` and an `in`"),
            );
            continue;
        };
        out.push(Param {
            source,
            name,
            location,
        });
    }
    out
}

/// Path-level parameters not overridden by the operation (same name and `in`), then the
/// operation's own.
fn merge<'a>(shared: &[Param<'a>], own: Vec<Param<'a>>) -> Vec<Param<'a>> {
    let mut merged: Vec<Param<'a>> = shared
        .iter()
        .filter(|p| {
            !own.iter()
                .any(|o| o.name == p.name && o.location == p.location)
        })
        .cloned()
        .collect();
    merged.extend(own);
    merged
}

fn operation<'a>(
    upgrade: &mut Upgrade<'a>,
    converted: &str,
    source: &Source<'a>,
    shared: &[Param<'a>],
) -> Value {
    let Some(members) = source.value.as_object() else {
        let at = upgrade.location(source);
        upgrade.problem(
            converted,
            Diagnostic::error("swagger2-unconvertible", at, "operation is not a mapping"),
        );
        return source.value.clone();
    };
    let root = upgrade.root_value();
    let effective = |key: &str| {
        media_types(members.get(key))
            .or_else(|| media_types(root.and_then(|r| r.get(key))))
            .filter(|list| !list.is_empty())
            .unwrap_or_else(|| vec![DEFAULT_MEDIA.to_owned()])
    };
    let (consumes, produces) = (effective("consumes"), effective("produces"));
    let own = source
        .member("parameters")
        .map(|list| resolve_params(upgrade, converted, &list))
        .unwrap_or_default();
    let params = merge(shared, own);

    let mut out = Map::new();
    let mut emitted_params = false;
    for key in members.keys() {
        match key.as_str() {
            "parameters" => {
                emit_params(upgrade, converted, &params, &consumes, &mut out);
                emitted_params = true;
            }
            "responses" => {
                if let Some(responses) = source.member("responses") {
                    let value = responses::responses(upgrade, converted, &responses, &produces);
                    out.insert("responses".into(), value);
                }
            }
            "consumes" | "produces" | "schemes" => {}
            _ => {
                if let Some(member) = source.member(key) {
                    out.insert(key.clone(), upgrade.transplant(&member));
                }
            }
        }
    }
    if !emitted_params {
        emit_params(upgrade, converted, &params, &consumes, &mut out);
    }
    Value::Object(out)
}

/// Writes `parameters` and `requestBody` of an operation.
fn emit_params(
    upgrade: &mut Upgrade<'_>,
    converted: &str,
    params: &[Param<'_>],
    consumes: &[String],
    out: &mut Map<String, Value>,
) {
    let mut list = Vec::new();
    let mut bodies = Vec::new();
    let mut form = Vec::new();
    for param in params {
        let value = upgrade.transplant(&param.source);
        let Some(object) = value.as_object() else {
            continue;
        };
        match param.location.as_str() {
            "query" | "path" | "header" => {
                let mut notes = Vec::new();
                let at = pointer::push_token(
                    &format!("{converted}/parameters"),
                    &list.len().to_string(),
                );
                upgrade.record(&at, &param.source);
                list.push(params::parameter(object, &param.location, &mut notes));
                report(upgrade, converted, &param.source, notes);
            }
            "body" => bodies.push((param, object.clone())),
            "formData" => form.push((param, object.clone())),
            other => {
                let at = upgrade.location(&param.source);
                let message = format!(
                    "parameter `{}` has `in: {other}`, which is not a Swagger 2.0 location",
                    param.name
                );
                upgrade.problem(
                    converted,
                    Diagnostic::error("swagger2-unconvertible", at, message)
                        .with_help("use one of query, path, header, body or formData"),
                );
            }
        }
    }
    if !list.is_empty() {
        out.insert("parameters".into(), Value::Array(list));
    }
    let request_body = pointer::push_token(converted, "requestBody");
    if let Some((param, object)) = bodies.first() {
        if bodies.len() > 1 || !form.is_empty() {
            let at = upgrade.location(&param.source);
            upgrade.problem(
                converted,
                Diagnostic::error("swagger2-unconvertible", at, "operation has more than one body (several `in: body`, or `in: body` with `in: formData`); only the first `in: body` is used")
                    .with_help("keep one `in: body` parameter, or only `in: formData` ones"),
            );
        }
        upgrade.record(&request_body, &param.source);
        if let Some(schema) = param.source.member("schema") {
            for media in consumes {
                let at = format!(
                    "{}/schema",
                    pointer::push_token(&format!("{request_body}/content"), media)
                );
                upgrade.record(&at, &schema);
            }
        }
        out.insert("requestBody".into(), body::body(object, consumes));
    } else if let Some((first, _)) = form.first() {
        let objects: Vec<Map<String, Value>> =
            form.iter().map(|(_, object)| object.clone()).collect();
        let media = body::form_media_type(&objects, consumes);
        upgrade.record(&request_body, &first.source);
        let properties = format!(
            "{}/schema/properties",
            pointer::push_token(&format!("{request_body}/content"), media)
        );
        for (param, _) in &form {
            upgrade.record(
                &pointer::push_token(&properties, &param.name),
                &param.source,
            );
        }
        out.insert("requestBody".into(), body::form(&objects, media));
    }
}

fn report(upgrade: &mut Upgrade<'_>, converted: &str, source: &Source<'_>, notes: Vec<Note>) {
    for note in notes {
        let at = upgrade.location(source);
        upgrade.problem(
            converted,
            Diagnostic::warning("swagger2-unconvertible", at, note.message).with_help(note.help),
        );
    }
}
