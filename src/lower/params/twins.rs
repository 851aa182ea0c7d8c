//! A path parameter and a required top-level member of a flattened JSON or form body with the
//! same wire name (`PUT /contacts/{id}` whose body requires `id`) are one argument, sent in both
//! places: the API expects the same value twice, and two arguments (`id` and `body_id`) would
//! let the model send different ones.
//!
//! They pair when their schemas agree: no keyword that both state (`type`, `format`, bounds,
//! `enum` …, looking through `$ref`s) has different values. The argument keeps the path
//! parameter's schema with the body member's other constraints added, so its value fits both
//! places, and the member's description when the parameter has none. A `params` entry or
//! `expose` item that names one of them alone (`path:id`, `body:id`) keeps them apart, as two
//! arguments named by location; an entry under the shared name (`id`) shapes the one argument.

use super::{BodyShape, Candidate, Slot};
use crate::ir::{BodyEncoding, ParamLocation};
use crate::lower::schema::SchemaBuilder;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Keywords that describe a value without constraining it.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// References followed through a chain before giving up.
const MAX_HOPS: usize = 16;

/// Pairs the body members of `candidates` with the path parameters of the same name, giving
/// each pair's parameter the merged schema; returns, for each candidate, the path parameter it
/// is sent with (`Some` only for paired body members). `keys` are the annotation file's
/// `params` keys and `expose` items.
pub(super) fn pair<'k>(
    candidates: &mut [Candidate],
    body: Option<&BodyShape>,
    keys: impl Iterator<Item = &'k String>,
    builder: &SchemaBuilder<'_>,
) -> Vec<Option<usize>> {
    let mut twin_of = vec![None; candidates.len()];
    let flattened = body.is_some_and(|b| {
        b.flattened && matches!(b.encoding, BodyEncoding::Json | BodyEncoding::Form)
    });
    if !flattened {
        return twin_of;
    }
    let alone: BTreeSet<&str> = keys
        .filter_map(|key| key.split_once(':'))
        .filter(|(slot, _)| matches!(*slot, "path" | "body"))
        .map(|(_, name)| name)
        .collect();
    for member in 0..candidates.len() {
        let candidate = &candidates[member];
        if candidate.slot != Slot::Body
            || !candidate.required
            || alone.contains(candidate.wire_name.as_str())
        {
            continue;
        }
        let Some(param) = candidates.iter().position(|c| {
            c.slot == Slot::Param(ParamLocation::Path) && c.wire_name == candidate.wire_name
        }) else {
            continue;
        };
        if let Some(schema) = merged_schema(
            builder,
            &candidates[param].schema,
            &candidates[member].schema,
        ) {
            candidates[param].schema = schema;
            twin_of[member] = Some(param);
        }
    }
    twin_of
}

/// The one schema for a path parameter and a body member, or `None` when they disagree.
fn merged_schema(builder: &SchemaBuilder<'_>, param: &Value, member: &Value) -> Option<Value> {
    let param_own = constraints(builder, param)?;
    let member_own = constraints(builder, member)?;
    if member_own
        .iter()
        .any(|(key, value)| param_own.get(key).is_some_and(|own| own != value))
    {
        return None;
    }
    let mut merged = match param {
        Value::Object(obj) => obj.clone(),
        Value::Bool(true) => Map::new(),
        _ => return None,
    };
    for (key, value) in member_own {
        if !param_own.contains_key(&key) {
            merged.insert(key, value);
        }
    }
    if !merged.contains_key("description")
        && let Some(description) = member.get("description")
    {
        merged.insert("description".to_owned(), description.clone());
    }
    Some(Value::Object(merged))
}

/// The keywords of a schema that constrain its value, through its chain of local `$ref`s;
/// `None` when the chain cannot be followed or states one keyword twice with different values.
fn constraints(builder: &SchemaBuilder<'_>, schema: &Value) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut current = schema;
    for _ in 0..MAX_HOPS {
        let obj = match current {
            Value::Object(obj) => obj,
            Value::Bool(true) => return Some(out),
            _ => return None,
        };
        for (key, value) in obj {
            if key == "$ref" || ANNOTATIONS.contains(&key.as_str()) {
                continue;
            }
            match out.get(key) {
                Some(seen) if seen != value => return None,
                Some(_) => {}
                None => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        match obj.get("$ref").and_then(Value::as_str) {
            Some(reference) => current = builder.definition(reference)?,
            None => return Some(out),
        }
    }
    None
}
