//! How two JSON Schemas of a tool differ, node by node: types narrowed or widened, properties
//! and requirements added or removed, bounds tightened or loosened; each change classified for
//! the side it is on (what the model sends, or what the client receives).

use crate::defs;
use serde_json::Value;
use std::collections::BTreeSet;

use super::Changes;

/// Which way data flows through a schema.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Input,
    Output,
}

pub(super) fn compare_schema(old: &Value, new: &Value, side: Side, c: &mut Changes<'_>) {
    let mut seen = BTreeSet::new();
    compare_node(old, old, new, new, side, "", 0, &mut seen, c);
    let fields = std::mem::take(&mut c.newly_nullable);
    if !fields.is_empty() {
        let shown: Vec<String> = fields.iter().take(8).map(|f| format!("`{f}`")).collect();
        let more = match fields.len() {
            n if n > 8 => format!(" and {} more", n - 8),
            _ => String::new(),
        };
        c.breaking(
            format!("output fields now accept null: {}{more}", shown.join(", ")),
            "clients may receive null where they did not before",
        );
    }
}

/// JSON Schema `type` as a set ("any" when absent).
fn types(schema: &Value) -> BTreeSet<String> {
    match schema.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn name_of(side: Side, path: &str) -> String {
    match side {
        Side::Input => format!("argument `{}`", path.trim_start_matches('.')),
        Side::Output => format!("output field `{}`", path.trim_start_matches('.')),
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_node<'a>(
    old_root: &'a Value,
    old: &'a Value,
    new_root: &'a Value,
    new: &'a Value,
    side: Side,
    path: &str,
    depth: usize,
    seen: &mut BTreeSet<(*const Value, *const Value)>,
    c: &mut Changes<'_>,
) {
    // The roots hold the `$defs` that `$ref`s point into.
    let (old, new) = (defs::resolve(old_root, old), defs::resolve(new_root, new));
    // Nodes of the two (unchanging) trees, by address: a pair is compared once, and a cycle
    // through `$defs` ends.
    if depth > 24 || !seen.insert((old, new)) || old == new {
        return;
    }
    let label = if path.is_empty() {
        match side {
            Side::Input => "arguments".to_owned(),
            Side::Output => "output".to_owned(),
        }
    } else {
        name_of(side, path)
    };
    // Types.
    let (old_types, new_types) = (types(old), types(new));
    if !old_types.is_empty() || !new_types.is_empty() {
        let narrowed = match side {
            // Inputs: a type the server accepted before and refuses now breaks senders.
            Side::Input => {
                !old_types.is_empty()
                    && (new_types.is_empty()
                        || !old_types.iter().all(|t| {
                            new_types.contains(t)
                                || (t == "integer" && new_types.contains("number"))
                        }))
            }
            // Outputs: a type the server may return now that clients did not expect breaks readers.
            Side::Output => {
                !old_types.is_empty()
                    && (new_types.is_empty()
                        || !new_types.iter().all(|t| {
                            old_types.contains(t)
                                || (t == "integer" && old_types.contains("number"))
                        }))
            }
        };
        let only_null_added = side == Side::Output
            && new_types.len() == old_types.len() + 1
            && new_types.contains("null")
            && !old_types.contains("null")
            && old_types.iter().all(|t| new_types.contains(t));
        if only_null_added {
            c.newly_nullable
                .push(path.trim_start_matches('.').to_owned());
        } else if old_types != new_types {
            let change = format!(
                "{label}: type {} → {}",
                show_types(&old_types),
                show_types(&new_types)
            );
            if narrowed {
                c.breaking(
                    change,
                    if side == Side::Input {
                        "values clients sent before are refused now"
                    } else {
                        "clients may receive values of a type they do not expect"
                    },
                );
            } else {
                c.compatible(
                    change,
                    if side == Side::Input {
                        "more values are accepted"
                    } else {
                        "fewer kinds of values are returned"
                    },
                );
            }
        }
    }
    // Enums (inputs only: outputs are descriptive and carry none).
    if side == Side::Input {
        let values = |s: &Value| {
            s.get("enum")
                .and_then(Value::as_array)
                .map(|v| v.iter().map(Value::to_string).collect::<BTreeSet<String>>())
        };
        match (values(old), values(new)) {
            (None, Some(_)) => c.breaking(
                format!("{label}: values restricted to an enum"),
                "values clients sent before may be refused",
            ),
            (Some(_), None) => {
                c.compatible(format!("{label}: enum lifted"), "more values are accepted")
            }
            (Some(o), Some(n)) => {
                let lost: Vec<&String> = o.difference(&n).collect();
                let gained: Vec<&String> = n.difference(&o).collect();
                if !lost.is_empty() {
                    c.breaking(
                        format!("{label}: enum values removed: {}", join(&lost)),
                        "clients sending them are refused",
                    );
                }
                if !gained.is_empty() {
                    c.compatible(
                        format!("{label}: enum values added: {}", join(&gained)),
                        "more values are accepted",
                    );
                }
            }
            (None, None) => {}
        }
        compare_bounds(old, new, &label, c);
    }
    // Object members.
    let props = |s: &Value| {
        s.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (old_props, new_props) = (props(old), props(new));
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let (old_required, new_required) = (required(old), required(new));
    for (name, old_prop) in &old_props {
        let child = format!("{path}.{name}");
        match new_props.get(name) {
            None => match side {
                Side::Input => c.breaking(
                    format!("{} removed", name_of(side, &child)),
                    "clients that send it are refused",
                ),
                Side::Output => c.breaking(
                    format!("{} removed", name_of(side, &child)),
                    "clients or agents reading it find nothing",
                ),
            },
            Some(new_prop) => compare_node(
                old_root,
                old_prop,
                new_root,
                new_prop,
                side,
                &child,
                depth + 1,
                seen,
                c,
            ),
        }
    }
    for (name, _) in new_props
        .iter()
        .filter(|(n, _)| !old_props.contains_key(*n))
    {
        let child = format!("{path}.{name}");
        match side {
            Side::Input if new_required.contains(name) => c.breaking(
                format!("new required {}", name_of(side, &child)),
                "calls without it are refused",
            ),
            Side::Input => c.compatible(
                format!("new optional {}", name_of(side, &child)),
                "existing calls keep working",
            ),
            Side::Output => c.compatible(
                format!("{} added", name_of(side, &child)),
                "clients ignore fields they do not know; it is new data leaving the server: check whether it needs a redaction",
            ),
        }
    }
    if side == Side::Input {
        for name in new_required
            .difference(&old_required)
            .filter(|n| old_props.contains_key(*n))
        {
            c.breaking(
                format!("{} now required", name_of(side, &format!("{path}.{name}"))),
                "calls without it are refused",
            );
        }
        for name in old_required
            .difference(&new_required)
            .filter(|n| new_props.contains_key(*n))
        {
            c.compatible(
                format!("{} now optional", name_of(side, &format!("{path}.{name}"))),
                "existing calls keep working",
            );
        }
    }
    // Array items.
    if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
        compare_node(
            old_root,
            old_items,
            new_root,
            new_items,
            side,
            &format!("{path}[]"),
            depth + 1,
            seen,
            c,
        );
    }
}

/// Bounds that, tightened, refuse values that were accepted.
fn compare_bounds(old: &Value, new: &Value, label: &str, c: &mut Changes<'_>) {
    let number = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
    // (keyword, true when a larger value is tighter)
    let bounds = [
        ("minimum", true),
        ("exclusiveMinimum", true),
        ("minLength", true),
        ("minItems", true),
        ("maximum", false),
        ("exclusiveMaximum", false),
        ("maxLength", false),
        ("maxItems", false),
    ];
    for (keyword, larger_is_tighter) in bounds {
        match (number(old, keyword), number(new, keyword)) {
            (o, Some(n)) if o.is_none_or(|o| if larger_is_tighter { n > o } else { n < o }) => {
                c.breaking(
                    format!(
                        "{label}: {keyword} {} → {n}",
                        o.map_or("none".to_owned(), |o| o.to_string())
                    ),
                    "values accepted before may be refused",
                );
            }
            (Some(o), n) if n.is_none_or(|n| n != o) => {
                c.compatible(
                    format!(
                        "{label}: {keyword} {o} → {}",
                        n.map_or("none".to_owned(), |n| n.to_string())
                    ),
                    "more values are accepted",
                );
            }
            _ => {}
        }
    }
    for keyword in ["pattern", "format"] {
        let (o, n) = (old.get(keyword), new.get(keyword));
        if o != n {
            match n {
                Some(n) => c.breaking(
                    format!("{label}: {keyword} now {n}"),
                    "values accepted before may be refused",
                ),
                None => c.compatible(
                    format!("{label}: {keyword} lifted"),
                    "more values are accepted",
                ),
            }
        }
    }
}

fn show_types(types: &BTreeSet<String>) -> String {
    if types.is_empty() {
        "any".to_owned()
    } else {
        types.iter().cloned().collect::<Vec<_>>().join("|")
    }
}

fn join(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
