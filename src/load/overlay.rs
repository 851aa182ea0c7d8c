//! OpenAPI Overlays (1.0, 1.1): ordered actions applied to a spec's root document as it was
//! read, before anything else reads it.
//!
//! An action's `target` is an RFC 9535 JSONPath; each node it selects is removed (`remove:
//! true`), or merged with `update` (or with the one node a `copy` path selects): objects merge
//! member by member, recursively; arrays concatenate an array and append anything else; a
//! primitive replaces a primitive. What an action writes is recorded as coming from the overlay
//! (see [`Origins`]), so a diagnostic about it points into the overlay file. Owns parsing and
//! applying overlays only; which spec an overlay applies to is the project's business.

use super::document::Document;
use super::origins::Origins;
use super::paths::DocKey;
use super::pointer::push_token;
use crate::diag::{Diagnostic, Diagnostics};
use serde_json::Value;
use serde_json_path::JsonPath;

/// Whether a parsed document is an Overlay rather than an OpenAPI description.
pub fn is_overlay(value: &Value) -> bool {
    value.get("overlay").is_some()
}

/// A parsed overlay: its document and its actions, in order.
#[derive(Debug)]
pub struct Overlay {
    /// The overlay file as read.
    pub document: Document,
    actions: Vec<Action>,
}

#[derive(Debug)]
struct Action {
    /// Index in `actions`, for locating diagnostics.
    index: usize,
    target: JsonPath,
    change: Change,
}

#[derive(Debug)]
enum Change {
    Remove,
    Update(Value),
    Copy(JsonPath),
}

impl Overlay {
    /// Parses an overlay document, or says where it is malformed.
    pub fn parse(document: Document) -> Result<Overlay, Diagnostics> {
        let mut problems = Diagnostics::new();
        let at = |pointer: &str| document.location(pointer);
        let version = document.value.get("overlay").and_then(Value::as_str);
        if !version.is_some_and(|v| v.starts_with("1.0.") || v.starts_with("1.1.")) {
            problems.push(
                Diagnostic::error(
                    "invalid-overlay",
                    at("/overlay"),
                    format!(
                        "overlay version {} is not supported",
                        version.map_or_else(|| "(not a string)".to_owned(), |v| format!("`{v}`"))
                    ),
                )
                .with_help("mcpgen applies Overlay 1.0.x and 1.1.x (`overlay: 1.0.0`)"),
            );
        }
        let info = document.value.get("info");
        for field in ["title", "version"] {
            if !info
                .and_then(|i| i.get(field))
                .is_some_and(Value::is_string)
            {
                problems.push(
                    Diagnostic::error(
                        "invalid-overlay",
                        at("/info"),
                        format!("the overlay's `info.{field}` must be a string"),
                    )
                    .with_help("every overlay names itself: `info: {title: …, version: …}`"),
                );
            }
        }
        let mut actions = Vec::new();
        match document.value.get("actions").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (index, action) in list.iter().enumerate() {
                    match parse_action(index, action, &at) {
                        Ok(action) => actions.push(action),
                        Err(diagnostic) => problems.push(*diagnostic),
                    }
                }
            }
            _ => problems.push(
                Diagnostic::error(
                    "invalid-overlay",
                    at("/actions"),
                    "the overlay's `actions` must be a list of one action or more",
                )
                .with_help(
                    "each action has a `target` (JSONPath) and `update`, `copy` or `remove: true`",
                ),
            ),
        }
        if problems.has_errors() {
            return Err(problems);
        }
        Ok(Overlay { document, actions })
    }

    /// Applies the actions in order to `value` (the spec's root document, whose key is
    /// `spec`), recording in `origins` where what they wrote came from (this overlay's `key`, or
    /// for a copy the spec itself). Problems are located in the overlay file.
    pub fn apply(
        &self,
        key: &DocKey,
        spec: &DocKey,
        value: &mut Value,
        origins: &mut Origins,
    ) -> Diagnostics {
        let mut out = Diagnostics::new();
        for action in &self.actions {
            let base = format!("/actions/{}", action.index);
            let targets: Vec<String> = action
                .target
                .query_located(value)
                .locations()
                .map(|path| path.to_json_pointer())
                .collect();
            if targets.is_empty() {
                out.push(
                    Diagnostic::warning(
                        "overlay-target-unmatched",
                        self.document.location(&format!("{base}/target")),
                        "the action's target selects nothing in the spec; it changes nothing",
                    )
                    .with_help(
                        "the spec may have changed since the overlay was written: check the target",
                    ),
                );
                continue;
            }
            match &action.change {
                Change::Remove if targets.iter().any(String::is_empty) => out.push(
                    Diagnostic::error(
                        "overlay-remove-root",
                        self.document.location(&format!("{base}/target")),
                        "the action removes the whole spec",
                    )
                    .with_help("target the members to remove, e.g. `$.paths['/internal']`"),
                ),
                Change::Remove => remove_all(value, targets, origins),
                Change::Update(update) => {
                    let source = Source {
                        doc: key,
                        pointer: format!("{base}/update"),
                    };
                    merge_into_all(value, &targets, update, &source, origins)
                        .map_err(|message| {
                            out.push(
                                Diagnostic::error(
                                    "overlay-update-mismatch",
                                    self.document.location(&source.pointer),
                                    message,
                                )
                                .with_help("an object merges into objects, anything appends to arrays, a primitive replaces primitives"),
                            )
                        })
                        .ok();
                }
                Change::Copy(from) => {
                    let found: Vec<(String, Value)> = from
                        .query_located(value)
                        .iter()
                        .map(|node| (node.location().to_json_pointer(), node.node().clone()))
                        .collect();
                    let [(pointer, copied)] = found.as_slice() else {
                        out.push(
                            Diagnostic::error(
                                "overlay-copy-source",
                                self.document.location(&format!("{base}/copy")),
                                format!("`copy` must select one node; it selects {}", found.len()),
                            )
                            .with_help("narrow the copy path to a single node"),
                        );
                        continue;
                    };
                    let source = Source {
                        doc: spec,
                        pointer: pointer.clone(),
                    };
                    if let Err(message) = merge_into_all(value, &targets, copied, &source, origins)
                    {
                        out.push(
                            Diagnostic::error(
                                "overlay-update-mismatch",
                                self.document.location(&format!("{base}/copy")),
                                message,
                            )
                            .with_help("an object merges into objects, anything appends to arrays, a primitive replaces primitives"),
                        );
                    }
                }
            }
        }
        out
    }
}

fn parse_action(
    index: usize,
    action: &Value,
    at: &dyn Fn(&str) -> crate::diag::Location,
) -> Result<Action, Box<Diagnostic>> {
    let base = format!("/actions/{index}");
    let invalid = |pointer: String, message: String| {
        Box::new(
            Diagnostic::error("invalid-overlay", at(&pointer), message).with_help(
                "each action has a `target` (JSONPath) and `update`, `copy` or `remove: true`",
            ),
        )
    };
    let Some(object) = action.as_object() else {
        return Err(invalid(base, "an action must be a mapping".to_owned()));
    };
    let Some(text) = object.get("target").and_then(Value::as_str) else {
        return Err(invalid(
            format!("{base}/target"),
            "the action's `target` must be a JSONPath string".to_owned(),
        ));
    };
    let target = JsonPath::parse(text).map_err(|e| {
        Box::new(
            Diagnostic::error(
                "overlay-target",
                at(&format!("{base}/target")),
                format!("`{text}` is not a JSONPath (RFC 9535): {e}"),
            )
            .with_help("targets start at the document root, `$`, e.g. `$.paths['/pets'].get`"),
        )
    })?;
    let change = match (
        object.get("remove"),
        object.get("copy"),
        object.get("update"),
    ) {
        (Some(Value::Bool(true)), _, _) => Change::Remove,
        (Some(remove), _, _) if !remove.is_boolean() => {
            return Err(invalid(
                format!("{base}/remove"),
                "`remove` must be true or false".to_owned(),
            ));
        }
        (_, Some(Value::String(path)), _) => Change::Copy(JsonPath::parse(path).map_err(|e| {
            Box::new(
                Diagnostic::error(
                    "overlay-target",
                    at(&format!("{base}/copy")),
                    format!("`{path}` is not a JSONPath (RFC 9535): {e}"),
                )
                .with_help("a copy path selects the one node to copy, e.g. `$.paths['/items']`"),
            )
        })?),
        (_, Some(_), _) => {
            return Err(invalid(
                format!("{base}/copy"),
                "`copy` must be a JSONPath string".to_owned(),
            ));
        }
        (_, None, Some(update)) => Change::Update(update.clone()),
        (_, None, None) => {
            return Err(invalid(
                base,
                "the action has neither `update`, `copy` nor `remove: true`".to_owned(),
            ));
        }
    };
    Ok(Action {
        index,
        target,
        change,
    })
}

/// Where merged values come from: a document and the pointer of the value merged.
struct Source<'a> {
    doc: &'a DocKey,
    pointer: String,
}

/// Removes every target, deepest and last first, so removing one does not move another.
fn remove_all(value: &mut Value, mut targets: Vec<String>, origins: &mut Origins) {
    targets.sort_by_key(|t| std::cmp::Reverse(order_key(t)));
    targets.dedup();
    for target in targets {
        let Some((parent, token)) = target.rsplit_once('/') else {
            // The whole document: refused before this is reached.
            continue;
        };
        let token = token.replace("~1", "/").replace("~0", "~");
        match value.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.shift_remove(&token);
            }
            Some(Value::Array(items)) => {
                if let Ok(i) = token.parse::<usize>()
                    && i < items.len()
                {
                    items.remove(i);
                }
            }
            _ => {}
        }
        origins.forget(&target);
    }
}

/// A pointer's tokens, array indices compared as numbers.
fn order_key(pointer: &str) -> Vec<(u64, String)> {
    pointer
        .split('/')
        .map(|t| match t.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, t.to_owned()),
        })
        .collect()
}

/// Merges `update` into each target (see the module doc), or says why it cannot.
fn merge_into_all(
    value: &mut Value,
    targets: &[String],
    update: &Value,
    source: &Source<'_>,
    origins: &mut Origins,
) -> Result<(), String> {
    for target in targets {
        let Some(node) = value.pointer_mut(target) else {
            continue;
        };
        merge(node, update, target, source.doc, &source.pointer, origins)?;
    }
    Ok(())
}

fn merge(
    node: &mut Value,
    update: &Value,
    at: &str,
    doc: &DocKey,
    from: &str,
    origins: &mut Origins,
) -> Result<(), String> {
    match (node, update) {
        (Value::Object(map), Value::Object(members)) => {
            for (name, member) in members {
                let here = push_token(at, name);
                let there = push_token(from, name);
                match map.get_mut(name) {
                    Some(existing) if existing.is_object() && member.is_object() => {
                        merge(existing, member, &here, doc, &there, origins)?;
                    }
                    Some(existing) if existing.is_array() && member.is_array() => {
                        merge(existing, member, &here, doc, &there, origins)?;
                    }
                    Some(existing) => {
                        *existing = member.clone();
                        origins.record(here, doc, there);
                    }
                    None => {
                        map.insert(name.clone(), member.clone());
                        origins.record(here, doc, there);
                    }
                }
            }
            Ok(())
        }
        (Value::Object(_), _) => Err(format!(
            "the target at `{}` is an object; what is merged into it must be an object",
            display(at)
        )),
        (Value::Array(items), Value::Array(more)) => {
            for (i, item) in more.iter().enumerate() {
                origins.record(
                    push_token(at, &items.len().to_string()),
                    doc,
                    push_token(from, &i.to_string()),
                );
                items.push(item.clone());
            }
            Ok(())
        }
        (Value::Array(items), item) => {
            origins.record(push_token(at, &items.len().to_string()), doc, from);
            items.push(item.clone());
            Ok(())
        }
        (node, primitive) if !primitive.is_object() && !primitive.is_array() => {
            *node = primitive.clone();
            origins.record(at, doc, from);
            Ok(())
        }
        _ => Err(format!(
            "the target at `{}` is a single value; only a single value can replace it",
            display(at)
        )),
    }
}

fn display(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_document;
    use serde_json::json;
    use std::path::Path;

    fn overlay(text: &str) -> Result<Overlay, Diagnostics> {
        Overlay::parse(parse_document(Path::new("fix.overlay.yaml"), text.as_bytes()).unwrap())
    }

    fn applied(spec: Value, text: &str) -> (Value, Origins, Diagnostics) {
        let overlay = overlay(text).unwrap_or_else(|e| panic!("{}", e.render()));
        let mut value = spec;
        let mut origins = Origins::default();
        let problems = overlay.apply(
            &DocKey::new("fix.overlay.yaml"),
            &DocKey::new("openapi.yaml"),
            &mut value,
            &mut origins,
        );
        (value, origins, problems)
    }

    #[test]
    fn updates_merge_arrays_concatenate_primitives_replace_and_removals_go() {
        let spec = json!({
            "info": {"title": "A", "version": "1"},
            "tags": [{"name": "a"}],
            "paths": {"/a": {"get": {"responses": {"200": {}, "500": {}}}},
                      "/b": {"get": {"responses": {"500": {}}}}}
        });
        let (value, origins, problems) = applied(
            spec,
            r#"overlay: 1.0.0
info: {title: t, version: "1"}
actions:
  - target: $.info
    update: {title: B, license: {name: MIT}}
  - target: $.tags
    update: [{name: b}]
  - target: $.tags
    update: {name: c}
  - target: $.paths..responses['500']
    remove: true
  - target: $.info.version
    update: "2"
"#,
        );
        assert!(problems.is_empty(), "{}", problems.render());
        assert_eq!(
            value,
            json!({
                "info": {"title": "B", "version": "2", "license": {"name": "MIT"}},
                "tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                "paths": {"/a": {"get": {"responses": {"200": {}}}},
                          "/b": {"get": {"responses": {}}}}
            })
        );
        let from = |p: &str| {
            origins
                .find(p)
                .map(|o| (o.doc.as_str().to_owned(), o.pointer))
        };
        assert_eq!(
            from("/info/license/name"),
            Some((
                "fix.overlay.yaml".to_owned(),
                "/actions/0/update/license/name".to_owned()
            ))
        );
        assert_eq!(from("/tags/2").unwrap().1, "/actions/2/update");
        assert_eq!(from("/tags/0"), None, "what the overlay left is the spec's");
        assert_eq!(from("/info/version").unwrap().1, "/actions/4/update");
    }

    #[test]
    fn an_unmatched_target_warns_and_a_mismatch_is_an_error_in_the_overlay_file() {
        let (_, _, problems) = applied(
            json!({"info": {"title": "A"}}),
            r#"overlay: 1.0.0
info: {title: t, version: "1"}
actions:
  - target: $.nothing
    update: {x: 1}
  - target: $.info
    update: [1]
  - target: $
    remove: true
"#,
        );
        let text = problems.render();
        assert!(text.contains("warning[overlay-target-unmatched]"), "{text}");
        assert!(
            text.contains("fix.overlay.yaml:4:5 at /actions/0/target"),
            "{text}"
        );
        assert!(text.contains("error[overlay-update-mismatch]"), "{text}");
        assert!(text.contains("/actions/1/update"), "{text}");
        assert!(text.contains("error[overlay-remove-root]"), "{text}");
        assert!(text.contains("/actions/2/target"), "{text}");
    }

    #[test]
    fn malformed_overlays_are_refused_where_they_are_wrong() {
        let problems = overlay(
            r#"overlay: 2.0.0
info: {title: t}
actions:
  - target: "$.paths[?"
    update: {}
  - target: $.info
"#,
        )
        .unwrap_err()
        .render();
        for needle in [
            "overlay version `2.0.0` is not supported",
            "`info.version` must be a string",
            "error[overlay-target]",
            "at /actions/0/target",
            "neither `update`, `copy` nor `remove: true`",
        ] {
            assert!(problems.contains(needle), "{needle} in {problems}");
        }
    }

    /// The OpenAPI Initiative's compliant sets (`tests/overlay/compliant/`): each overlay applied
    /// to its `openapi.yaml` gives its `output.yaml`.
    #[test]
    fn the_official_compliant_sets_give_their_outputs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/overlay/compliant");
        let mut sets = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let read = |name: &str| {
                let path = dir.join(name);
                parse_document(&path, &std::fs::read(&path).unwrap()).unwrap()
            };
            let spec = read("openapi.yaml").value;
            let expected = read("output.yaml").value;
            let overlay = Overlay::parse(read("overlay.yaml"))
                .unwrap_or_else(|e| panic!("{}: {}", dir.display(), e.render()));
            let mut value = spec;
            let problems = overlay.apply(
                &DocKey::new("overlay.yaml"),
                &DocKey::new("openapi.yaml"),
                &mut value,
                &mut Origins::default(),
            );
            assert!(
                !problems.has_errors(),
                "{}: {}",
                dir.display(),
                problems.render()
            );
            assert_eq!(value, expected, "{}", dir.display());
            sets += 1;
        }
        assert_eq!(sets, 8, "every set was applied");
    }

    #[test]
    fn a_copy_merges_the_one_node_it_selects() {
        let (value, origins, problems) = applied(
            json!({"paths": {"/items": {"get": {"summary": "list"}}, "/other": {}}}),
            r#"overlay: 1.1.0
info: {title: t, version: "1"}
actions:
  - target: $.paths['/other']
    copy: $.paths['/items']
"#,
        );
        assert!(problems.is_empty(), "{}", problems.render());
        assert_eq!(
            value["paths"]["/other"],
            json!({"get": {"summary": "list"}})
        );
        let origin = origins.find("/paths/~1other/get/summary").unwrap();
        assert_eq!(origin.doc.as_str(), "openapi.yaml");
        assert_eq!(origin.pointer, "/paths/~1items/get/summary");
    }
}
