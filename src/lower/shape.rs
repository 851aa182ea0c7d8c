//! Response shaping on schemas: the output schema after the allowlist and redactions.
//!
//! The runtime applies the same paths to real responses (see `crate::wildcard`); here they
//! are applied to the response schema, so the published `outputSchema` describes exactly what
//! can leave the server. Paths are checked against the schema: a path that names a field the
//! schema does not have is an error (a typo would otherwise silently redact nothing). Shared
//! `$defs` are never edited in place: a definition on a shaped path is inlined first.

use crate::lower::schema::SchemaBuilder;
use crate::wildcard::{Segment, WildcardPath};
use serde_json::{Map, Value, json};

/// Why a path could not be applied to a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// The schema has no such field; the known fields at that level are listed.
    NoSuchField {
        /// The segment that did not match.
        segment: String,
        /// Field names the schema has there.
        known: Vec<String>,
    },
    /// The schema says nothing about what is there (e.g. `{}`), so the path cannot be checked.
    Unchecked,
    /// A removal whose last segment is `*`.
    RemoveEverything,
}

/// What a redaction does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaRedaction {
    /// The field disappears.
    Remove,
    /// The field becomes a (nullable) string.
    Mask,
}

/// Keeps only the fields on `paths` (empty keeps all).
pub fn allow(
    builder: &SchemaBuilder<'_>,
    schema: &Value,
    paths: &[WildcardPath],
) -> Result<Value, (usize, ShapeError)> {
    if paths.is_empty() {
        return Ok(schema.clone());
    }
    // Check each path first so errors name the path at fault.
    for (i, path) in paths.iter().enumerate() {
        check(builder, schema, &path.segments, 0).map_err(|e| (i, e))?;
    }
    let suffixes: Vec<&[Segment]> = paths.iter().map(|p| p.segments.as_slice()).collect();
    Ok(project(builder, schema, &suffixes, 0))
}

/// Applies one redaction to the schema in place.
pub fn redact(
    builder: &SchemaBuilder<'_>,
    schema: &mut Value,
    path: &WildcardPath,
    action: SchemaRedaction,
) -> Result<(), ShapeError> {
    if action == SchemaRedaction::Remove && path.segments.last() == Some(&Segment::Any) {
        return Err(ShapeError::RemoveEverything);
    }
    check(builder, schema, &path.segments, 0)?;
    apply(builder, schema, &path.segments, action, 0);
    Ok(())
}

/// Deepest `$ref` chain followed while shaping.
const MAX_DEPTH: usize = 64;

/// Replaces a `$ref` node by the definition it names (keeping its siblings).
fn inline(builder: &SchemaBuilder<'_>, schema: &Value) -> Value {
    let mut current = schema.clone();
    for _ in 0..MAX_DEPTH {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(def) = builder.definition(reference) else {
            break;
        };
        let mut merged = def.clone();
        if let (Value::Object(out), Value::Object(siblings)) = (&mut merged, &current) {
            for (k, v) in siblings {
                if k != "$ref" && !out.contains_key(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        current = merged;
    }
    current
}

/// The schemas a segment leads to from `schema` (through compositions), or why none.
fn step<'s>(schema: &'s Value, segment: &Segment) -> Result<Vec<&'s Value>, ShapeError> {
    let Some(obj) = schema.as_object() else {
        return Err(ShapeError::Unchecked);
    };
    let mut targets = Vec::new();
    let mut known = Vec::new();
    let mut opaque = true;
    if let Some(Value::Object(props)) = obj.get("properties") {
        opaque = false;
        known.extend(props.keys().cloned());
        match segment {
            Segment::Any => targets.extend(props.values()),
            Segment::Key(k) => targets.extend(props.get(k)),
        }
    }
    if let Some(additional) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        opaque = false;
        if targets.is_empty() || *segment == Segment::Any {
            targets.push(additional);
        }
    }
    if let Some(items) = obj.get("items") {
        opaque = false;
        let index = matches!(segment, Segment::Any)
            || matches!(segment, Segment::Key(k) if k.parse::<usize>().is_ok());
        if index {
            targets.push(items);
        }
    }
    let type_says_scalar = match obj.get("type") {
        Some(Value::String(t)) => !matches!(t.as_str(), "object" | "array"),
        Some(Value::Array(ts)) => ts
            .iter()
            .all(|t| !matches!(t.as_str(), Some("object" | "array"))),
        _ => false,
    };
    if type_says_scalar {
        opaque = false;
    }
    let has_composition = ["allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| obj.contains_key(*k));
    if targets.is_empty() && opaque && !has_composition {
        return Err(ShapeError::Unchecked);
    }
    if targets.is_empty() && !has_composition {
        let segment = match segment {
            Segment::Any => "*".to_owned(),
            Segment::Key(k) => k.clone(),
        };
        return Err(ShapeError::NoSuchField { segment, known });
    }
    Ok(targets)
}

/// Checks that `segments` lead somewhere in the schema.
fn check(
    builder: &SchemaBuilder<'_>,
    schema: &Value,
    segments: &[Segment],
    depth: usize,
) -> Result<(), ShapeError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(());
    };
    if depth > MAX_DEPTH {
        return Err(ShapeError::Unchecked);
    }
    let schema = inline(builder, schema);
    let direct = step(&schema, first);
    let mut first_error = match &direct {
        Ok(targets) => {
            let mut last = None;
            for target in targets {
                match check(builder, target, rest, depth + 1) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                }
            }
            last
        }
        Err(e) => Some(e.clone()),
    };
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match check(builder, branch, segments, depth + 1) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    if !matches!(e, ShapeError::Unchecked) || first_error.is_none() {
                        first_error = Some(merge_known(first_error, e));
                    }
                }
            }
        }
    }
    Err(first_error.unwrap_or(ShapeError::Unchecked))
}

/// Combines the field lists of two "no such field" errors from sibling branches.
fn merge_known(previous: Option<ShapeError>, next: ShapeError) -> ShapeError {
    match (previous, next) {
        (
            Some(ShapeError::NoSuchField { segment, mut known }),
            ShapeError::NoSuchField { known: more, .. },
        ) => {
            known.extend(more);
            known.sort();
            known.dedup();
            ShapeError::NoSuchField { segment, known }
        }
        (_, next) => next,
    }
}

/// The part of the schema selected by the path suffixes.
fn project(
    builder: &SchemaBuilder<'_>,
    schema: &Value,
    suffixes: &[&[Segment]],
    depth: usize,
) -> Value {
    if suffixes.iter().any(|s| s.is_empty()) || depth > MAX_DEPTH {
        return schema.clone();
    }
    let schema = inline(builder, schema);
    let Value::Object(obj) = &schema else {
        return schema;
    };
    let children = |key: &str| crate::wildcard::children(suffixes, key);
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "properties" => {
                let mut props = Map::new();
                for (name, prop) in value.as_object().into_iter().flatten() {
                    let next = children(name);
                    if !next.is_empty() {
                        props.insert(name.clone(), project(builder, prop, &next, depth + 1));
                    }
                }
                out.insert(key.clone(), Value::Object(props));
            }
            "additionalProperties" if value.is_object() => {
                let declared: Vec<&str> = obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let next: Vec<&[Segment]> = suffixes
                    .iter()
                    .filter(|s| match &s[0] {
                        Segment::Any => true,
                        Segment::Key(k) => !declared.contains(&k.as_str()),
                    })
                    .map(|s| &s[1..])
                    .collect();
                if !next.is_empty() {
                    out.insert(key.clone(), project(builder, value, &next, depth + 1));
                }
            }
            "items" => {
                let next: Vec<&[Segment]> = suffixes
                    .iter()
                    .filter(|s| {
                        matches!(&s[0], Segment::Any)
                            || matches!(&s[0], Segment::Key(k) if k.parse::<usize>().is_ok())
                    })
                    .map(|s| &s[1..])
                    .collect();
                if !next.is_empty() {
                    out.insert(key.clone(), project(builder, value, &next, depth + 1));
                }
            }
            "allOf" | "anyOf" | "oneOf" => {
                let branches: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| project(builder, b, suffixes, depth + 1))
                    .collect();
                out.insert(key.clone(), Value::Array(branches));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Applies a redaction along `segments` (already checked).
fn apply(
    builder: &SchemaBuilder<'_>,
    schema: &mut Value,
    segments: &[Segment],
    action: SchemaRedaction,
    depth: usize,
) {
    let Some((first, rest)) = segments.split_first() else {
        if action == SchemaRedaction::Mask {
            *schema = json!({"type": ["string", "null"], "description": "Redacted by policy."});
        }
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    if schema.get("$ref").is_some() {
        *schema = inline(builder, schema);
    }
    let Value::Object(obj) = schema else { return };
    let last = rest.is_empty();
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        match (first, last, action) {
            (Segment::Key(k), true, SchemaRedaction::Remove) => {
                props.shift_remove(k);
            }
            (Segment::Key(k), _, _) => {
                if let Some(prop) = props.get_mut(k) {
                    apply(builder, prop, rest, action, depth + 1);
                }
            }
            (Segment::Any, _, _) => props
                .values_mut()
                .for_each(|p| apply(builder, p, rest, action, depth + 1)),
        }
    }
    if let (Segment::Key(k), true, SchemaRedaction::Remove) = (first, last, action)
        && let Some(Value::Array(required)) = obj.get_mut("required")
    {
        required.retain(|r| r.as_str() != Some(k));
    }
    if let Some(additional) = obj
        .get_mut("additionalProperties")
        .filter(|a| a.is_object())
    {
        let declared_elsewhere = matches!(first, Segment::Key(_));
        if !(last && action == SchemaRedaction::Remove && declared_elsewhere) {
            apply(builder, additional, rest, action, depth + 1);
        }
    }
    let indexes = matches!(first, Segment::Any)
        || matches!(first, Segment::Key(k) if k.parse::<usize>().is_ok());
    if indexes && let Some(items) = obj.get_mut("items") {
        // Removing `/list/0` leaves the items' schema alone; masking changes every item.
        if !last || action == SchemaRedaction::Mask {
            apply(builder, items, rest, action, depth + 1);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = obj.get_mut(key) {
            for branch in branches {
                apply(builder, branch, segments, action, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_spec_for_tests;
    use crate::lower::schema::Direction;

    const SPEC: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Page:
      type: object
      properties:
        results: {type: array, items: {$ref: '#/components/schemas/Contact'}}
        total: {type: integer}
    Contact:
      type: object
      properties:
        id: {type: string}
        email: {type: string}
        owner: {$ref: '#/components/schemas/Contact'}
"##;

    fn with_page(f: impl FnOnce(&SchemaBuilder<'_>, Value)) {
        let specs = parse_spec_for_tests(SPEC);
        let key = specs.root_key().clone();
        let cache = crate::lower::schema::DefCache::new();
        let mut builder = SchemaBuilder::new(&specs, Direction::Response, &cache);
        let page = specs
            .root()
            .value
            .pointer("/components/schemas/Page")
            .unwrap()
            .clone();
        let root = builder.root(&key, "/components/schemas/Page", &page);
        f(&builder, root);
    }

    #[test]
    fn allowlist_projects_through_refs_without_touching_shared_defs() {
        with_page(|builder, root| {
            let paths = [WildcardPath::parse("/results/*/id").unwrap()];
            let shaped = allow(builder, &root, &paths).unwrap();
            assert_eq!(
                shaped,
                json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}}}})
            );
            assert!(
                builder.definition("#/$defs/Contact").unwrap()["properties"]
                    .get("email")
                    .is_some()
            );
        });
    }

    #[test]
    fn redactions_remove_or_mask_and_typos_are_caught() {
        with_page(|builder, root| {
            let mut shaped = root.clone();
            redact(
                builder,
                &mut shaped,
                &WildcardPath::parse("/results/*/email").unwrap(),
                SchemaRedaction::Remove,
            )
            .unwrap();
            redact(
                builder,
                &mut shaped,
                &WildcardPath::parse("/total").unwrap(),
                SchemaRedaction::Mask,
            )
            .unwrap();
            let contact = &shaped["properties"]["results"]["items"];
            assert_eq!(contact["properties"].get("email"), None);
            assert_eq!(
                contact["properties"]["owner"],
                json!({"$ref": "#/$defs/Contact"}),
                "only the path is inlined"
            );
            assert_eq!(
                shaped["properties"]["total"]["type"],
                json!(["string", "null"])
            );
            let typo = redact(
                builder,
                &mut shaped,
                &WildcardPath::parse("/results/*/emial").unwrap(),
                SchemaRedaction::Remove,
            );
            assert!(
                matches!(typo, Err(ShapeError::NoSuchField { segment, known }) if segment == "emial" && known.contains(&"id".to_owned()))
            );
            assert_eq!(
                redact(
                    builder,
                    &mut shaped,
                    &WildcardPath::parse("/results/*").unwrap(),
                    SchemaRedaction::Remove
                ),
                Err(ShapeError::RemoveEverything)
            );
        });
    }
}
