use super::*;

#[test]
fn arguments_are_sampled_from_what_the_server_enforces() {
    let spec = json!({
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 1000},
            "note": {"type": "string", "examples": ["hello"]}
        },
        "required": ["count"]
    });
    // A published schema that says less than the spec's (as a rewrite may): its sample is
    // refused by the server, so the spec's schema is sampled instead.
    let looser = json!({
        "type": "object",
        "properties": {"count": {"type": "integer"}, "note": {"type": ["string", "null"]}},
        "required": ["count", "note"],
        "additionalProperties": false
    });
    let validator = jsonschema::validator_for(&spec).unwrap();
    let args = arguments(&looser, Some(&spec), true, Some(&validator));
    assert!(validator.is_valid(&without_nulls(&args)), "{args}");
    // A published schema as strict as the spec's: its sample (every property, null for
    // absent) is what a strict-mode client sends.
    let strict = json!({
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 1000},
            "note": {"type": ["string", "null"]}
        },
        "required": ["count", "note"],
        "additionalProperties": false
    });
    let args = arguments(&strict, Some(&spec), true, Some(&validator));
    assert!(validator.is_valid(&without_nulls(&args)), "{args}");
    assert!(args.get("note").is_some(), "every property is sent: {args}");
    // Otherwise the spec's schema is sampled, with its examples.
    let args = arguments(&looser, Some(&spec), false, Some(&validator));
    assert_eq!(args["note"], "hello", "{args}");
    assert!(validator.is_valid(&args), "{args}");
}

#[test]
fn an_any_of_sample_fits_a_branch_not_only_the_outer_keywords() {
    // The outer schema declares `kind` loosely; each branch narrows it (a discriminator).
    let schema = json!({
        "type": "object",
        "properties": {"kind": {"type": "string"}},
        "required": ["kind"],
        "anyOf": [
            {"properties": {"kind": {"const": "a"}}},
            {"properties": {"kind": {"const": "b"}}}
        ]
    });
    let value = Sampler::new(&schema, "s-").sample_root();
    assert_eq!(value, Some(json!({"kind": "a"})));
}

#[test]
fn samples_validate_against_their_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer", "minimum": 10, "maximum": 20},
            "kind": {"type": "string", "enum": ["cat", "dog"]},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "pattern": "^[0-9]+$"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "minItems": 2},
            "ratio": {"type": "number", "exclusiveMaximum": 1}
        },
        "required": ["id"],
        "additionalProperties": false,
        "$defs": {"Tag": {"type": "object", "properties": {"name": {"type": "string", "minLength": 12}}}}
    });
    let value = Sampler::new(&schema, "s-")
        .sample_root()
        .expect("a valid sample");
    assert_eq!(value["id"], json!(10));
    assert_eq!(value["kind"], json!("cat"));
    assert_eq!(value["code"], json!("0"));
    assert_eq!(value["tags"].as_array().map(Vec::len), Some(2));
    assert!(jsonschema::is_valid(&schema, &value));
}

/// An object whose `oneOf`/`anyOf` branches only say which members are required (a shape
/// GitHub's API uses for request bodies).
#[test]
fn unions_that_select_required_members_of_an_object() {
    for key in ["oneOf", "anyOf"] {
        let schema = json!({
            "type": "object",
            "properties": {
                "body": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "alerts": {"type": "array", "items": {"type": "integer"}},
                        "rules": {"type": "array", "items": {"type": "string"}}
                    },
                    key: [{"required": ["alerts"]}, {"required": ["rules"]}],
                    "required": ["name"],
                    "additionalProperties": false
                }
            },
            "required": ["body"]
        });
        let value = Sampler::new(&schema, "s-")
            .sample_root()
            .unwrap_or_else(|| panic!("{key}: a valid sample"));
        assert!(value["body"].is_object(), "{key}: {value}");
        assert!(jsonschema::is_valid(&schema, &value), "{key}: {value}");
    }
}

#[test]
fn examples_and_defaults_that_break_the_schema_are_not_used() {
    let schema = json!({
        "type": "object",
        "properties": {
            "digest": {"type": "string", "examples": ["sha256:0ecb..."], "pattern": "^sha256:[a-f0-9]{8}$"},
            "size": {"type": "integer", "default": -1, "minimum": 0},
            "name": {"type": "string", "examples": ["libfoo"]}
        },
        "required": ["digest", "size", "name"]
    });
    let value = Sampler::new(&schema, "s-")
        .sample_root()
        .expect("a valid sample");
    assert!(jsonschema::is_valid(&schema, &value), "{value}");
    assert_eq!(
        value["name"],
        json!("libfoo"),
        "a fitting example is still used"
    );
}

#[test]
fn recursive_schemas_terminate() {
    let schema = json!({"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}}});
    let value = Sampler::new(&schema, "s-").sample_root();
    assert!(value.is_some());
}

#[test]
fn invented_strings_are_distinct() {
    let schema =
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}});
    let value = Sampler::new(&schema, "v").sample_root().unwrap();
    assert_ne!(value["a"], value["b"]);
}

/// A definitions table beside the schema, as a schema builder keeps it.
fn table(entries: &[(&str, Value)]) -> std::collections::BTreeMap<String, Value> {
    entries
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema.clone()))
        .collect()
}

#[test]
fn a_response_is_sampled_through_a_table_of_definitions_without_counting_references() {
    // Each level is a reference and a union: only the nesting of values counts, so the
    // optional members four objects down are still sampled.
    let level = |next: &str| {
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "next": {"anyOf": [{"$ref": format!("#/$defs/{next}")}, {"type": "null"}]}
        }})
    };
    let defs = table(&[
        ("A", level("B")),
        ("B", level("C")),
        ("C", level("D")),
        ("D", level("E")),
        (
            "E",
            json!({"type": "object", "properties": {"leaf": {"type": "integer"}}}),
        ),
    ]);
    let root = json!({"$ref": "#/$defs/A"});
    let value = Sampler::descriptive_in(&root, &defs, usize::MAX, "u-").sample_best();
    assert_eq!(
        value["next"]["next"]["next"]["next"]["leaf"],
        json!(1),
        "{value}"
    );
    assert_eq!(value["name"], json!("u-1"));
}

#[test]
fn a_response_sample_holds_a_bounded_number_of_values() {
    let wide = json!({"type": "object", "properties": (0..50)
        .map(|i| (format!("m{i:02}"), json!({"$ref": "#/$defs/Item"})))
        .collect::<Map<String, Value>>()});
    let defs = table(&[(
        "Item",
        json!({"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "extra": {"type": "string"}}}),
    )]);
    let whole = Sampler::descriptive_in(&wide, &defs, usize::MAX, "u-").sample_best();
    assert_eq!(whole.as_object().unwrap().len(), 50);
    assert!(whole["m49"].get("extra").is_some());
    let bounded = Sampler::descriptive_in(&wide, &defs, 20, "u-").sample_best();
    let members = bounded.as_object().unwrap();
    // Past the budget optional members are left out; what is sampled keeps what it requires.
    assert!(members.len() < 20, "{bounded}");
    assert!(
        members.values().all(|item| item.get("id").is_some()),
        "{bounded}"
    );
}

#[test]
fn a_response_that_requires_itself_is_open_below_the_depth_sampled() {
    // Every node requires a child: the sample ends in an open object, as a bounded schema
    // describes the value there, instead of giving up on the whole answer.
    let defs = table(&[(
        "Node",
        json!({"type": "object", "required": ["id", "child", "tags"],
        "properties": {"id": {"type": "integer"}, "child": {"$ref": "#/$defs/Node"},
            "tags": {"type": "array", "items": {"type": "string"}}}}),
    )]);
    let root = json!({"$ref": "#/$defs/Node"});
    let value = Sampler::descriptive_in(&root, &defs, usize::MAX, "u-").sample_best();
    let mut node = &value;
    let mut depth = 0;
    while let Some(child) = node.get("child") {
        assert_eq!(node["id"], json!(1), "{value}");
        node = child;
        depth += 1;
    }
    assert_eq!(node, &json!({}), "{value}");
    assert!(depth > MAX_DEPTH, "{value}");
}

#[test]
fn a_loop_of_references_without_nesting_gives_up() {
    let defs = table(&[
        ("A", json!({"anyOf": [{"$ref": "#/$defs/B"}]})),
        ("B", json!({"allOf": [{"$ref": "#/$defs/A"}]})),
    ]);
    let root = json!({"$ref": "#/$defs/A"});
    // Without the guard this recursed until the stack overflowed.
    let value = Sampler::descriptive_in(&root, &defs, usize::MAX, "u-").sample_root();
    assert!(value.is_some());
}
