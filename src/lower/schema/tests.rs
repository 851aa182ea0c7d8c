use super::*;
use crate::load::parse_spec_for_tests;

#[test]
fn annotations_are_repaired_or_left_out_when_json_schema_forbids_them() {
    let openapi_examples =
        json!({"Example 1": {"value": {"id": 1}}, "Example 2": {"summary": "no value"}});
    assert_eq!(
        annotation("examples", &openapi_examples),
        Some(json!([{"id": 1}]))
    );
    assert_eq!(annotation("examples", &json!({"a": 1})), None);
    assert_eq!(annotation("examples", &json!("one")), Some(json!(["one"])));
    assert_eq!(annotation("examples", &json!([1, 2])), Some(json!([1, 2])));
    assert_eq!(annotation("title", &json!(5)), None);
    assert_eq!(annotation("deprecated", &json!("yes")), None);
    assert_eq!(
        annotation("default", &json!({"x": 1})),
        Some(json!({"x": 1}))
    );
}

fn build(spec: &str, direction: Direction, pointer: &str) -> (Value, Diagnostics) {
    let specs = parse_spec_for_tests(spec);
    let root_key = specs.root_key().clone();
    let cache = DefCache::new();
    let mut builder = SchemaBuilder::new(&specs, direction, &cache);
    let schema = specs
        .root()
        .value
        .pointer(pointer)
        .cloned()
        .unwrap_or(Value::Null);
    let root = builder.root(&root_key, pointer, &schema);
    (builder.finish(root), builder.diagnostics)
}

const PETS: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer, format: int64, readOnly: true}
        name: {type: string, minLength: 1, example: Rex}
        tag: {type: string, nullable: true}
        secret: {type: string, writeOnly: true}
        kind: {type: string, enum: [cat, dog], nullable: true}
        parent: {$ref: '#/components/schemas/Pet'}
        age: {type: integer, minimum: 0, exclusiveMinimum: true}
      additionalProperties: false
      x-internal: true
      discriminator: {propertyName: kind}
"##;

#[test]
fn request_schemas_keep_constraints_and_drop_read_only_at_the_top() {
    let (mut schema, diags) = build(PETS, Direction::Request, "/components/schemas/Pet");
    assert!(diags.is_empty(), "{diags:?}");
    let pet = json!({
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "integer", "format": "int64", "readOnly": true},
            "name": {"type": "string", "minLength": 1, "examples": ["Rex"]},
            "tag": {"type": ["string", "null"]},
            "secret": {"type": "string"},
            "kind": {"type": ["string", "null"], "enum": ["cat", "dog", null]},
            "parent": {"$ref": "#/$defs/Pet"},
            "age": {"type": "integer", "exclusiveMinimum": 0}
        },
        "additionalProperties": false
    });
    assert_eq!(schema["$defs"]["Pet"], pet, "nested: readOnly members stay");
    drop_read_only(&mut schema);
    let mut top = pet.clone();
    top["properties"]
        .as_object_mut()
        .unwrap()
        .shift_remove("id");
    top["required"] = json!(["name"]);
    schema.as_object_mut().unwrap().shift_remove("$defs");
    assert_eq!(
        schema, top,
        "the body itself: readOnly members are left out"
    );
}

#[test]
fn response_schemas_describe_shape_only() {
    let (schema, _) = build(PETS, Direction::Response, "/components/schemas/Pet");
    let props = &schema["properties"];
    assert_eq!(schema.get("required"), None);
    assert_eq!(schema.get("additionalProperties"), None);
    assert_eq!(props["id"], json!({"type": "integer"}));
    assert_eq!(props["kind"], json!({"type": ["string", "null"]}));
    assert_eq!(
        props.get("secret"),
        None,
        "writeOnly properties are not returned"
    );
    assert_eq!(props["parent"], json!({"$ref": "#/$defs/Pet"}));
}

#[test]
fn discriminators_make_one_of_branches_exclusive() {
    let spec = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Event:
      oneOf: [{$ref: '#/components/schemas/Approved'}, {$ref: '#/components/schemas/Denied'}]
      discriminator: {propertyName: kind, mapping: {approved: '#/components/schemas/Approved'}}
    Approved: {allOf: [{$ref: '#/components/schemas/Base'}]}
    Denied: {allOf: [{$ref: '#/components/schemas/Base'}]}
    Base: {type: object, properties: {kind: {type: string}}}
"##;
    let (schema, _) = build(spec, Direction::Request, "/components/schemas/Event");
    assert_eq!(
        schema["oneOf"][0]["properties"],
        json!({"kind": {"const": "approved"}})
    );
    assert_eq!(
        schema["oneOf"][1]["properties"],
        json!({"kind": {"const": "Denied"}})
    );
    assert!(jsonschema::is_valid(&schema, &json!({"kind": "approved"})));
    assert!(!jsonschema::is_valid(&schema, &json!({"kind": "other"})));
}

#[test]
fn dangling_refs_are_reported_not_fatal() {
    let spec = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    A: {type: object, properties: {b: {$ref: '#/components/schemas/Missing'}}}
"##;
    let (schema, diags) = build(spec, Direction::Request, "/components/schemas/A");
    assert_eq!(schema["properties"]["b"], json!({}));
    assert_eq!(diags.len(), 1);
    assert!(diags.has_errors());
}

#[test]
fn nullable_refs_and_compositions_accept_null() {
    let spec = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    A: {type: object, properties: {b: {allOf: [{$ref: '#/components/schemas/B'}], nullable: true}}}
    B: {type: string}
"##;
    let (schema, _) = build(spec, Direction::Response, "/components/schemas/A");
    assert_eq!(
        schema["properties"]["b"],
        json!({"anyOf": [{"allOf": [{"$ref": "#/$defs/B"}]}, {"type": "null"}]})
    );
}

#[test]
fn invalid_patterns_are_dropped_with_a_warning() {
    let spec = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    A: {type: string, pattern: "([a-z"}
"##;
    let (schema, diags) = build(spec, Direction::Request, "/components/schemas/A");
    assert_eq!(schema, json!({"type": "string"}));
    assert_eq!(diags.len(), 1);
    assert!(!diags.has_errors());
}

#[test]
fn hostile_nesting_is_an_error_not_a_stack_overflow() {
    let mut schema = String::from("{\"type\":\"string\"}");
    for _ in 0..100 {
        schema = format!("{{\"type\":\"array\",\"items\":{schema}}}");
    }
    let spec = format!(
        "{{\"openapi\":\"3.0.0\",\"info\":{{\"title\":\"t\",\"version\":\"1\"}},\"paths\":{{}},\"components\":{{\"schemas\":{{\"A\":{schema}}}}}}}"
    );
    let (_, diags) = build(&spec, Direction::Request, "/components/schemas/A");
    assert!(diags.has_errors());
}
