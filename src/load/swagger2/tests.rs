//! Upgrade tests on whole Swagger 2.0 specs written to a temporary directory.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::diag::Location;
use crate::load::{DocKey, SpecSet, SpecVersion, load_spec};

const SPEC: &str = r##"swagger: "2.0"
info: {title: Pets, version: "1"}
host: api.example.com
basePath: /v1/
schemes: [http, https]
consumes: [application/json]
produces: [application/json]
x-top: kept
securityDefinitions:
  basicAuth: {type: basic, description: users}
  key: {type: apiKey, name: X-Key, in: header}
  implicit: {type: oauth2, flow: implicit, authorizationUrl: "https://a/auth", scopes: {read: Read}}
  code: {type: oauth2, flow: accessCode, authorizationUrl: "https://a/auth", tokenUrl: "https://a/token", scopes: {}}
  app: {type: oauth2, flow: application, tokenUrl: "https://a/token", scopes: {admin: Admin}, x-kind: m2m}
  pw: {type: oauth2, flow: password, tokenUrl: "https://a/token"}
security:
  - key: []
tags:
  - name: pets
parameters:
  limit: {name: limit, in: query, type: integer, maximum: 50}
responses:
  NotFound:
    description: not found
    schema: {$ref: "#/definitions/Error"}
paths:
  /pets:
    parameters:
      - {name: X-Trace, in: header, type: string}
      - {name: limit, in: query, type: string}
    get:
      operationId: listPets
      tags: [pets]
      x-op: true
      parameters:
        - $ref: "#/parameters/limit"
        - $ref: "common/params.yaml#/Tag"
        - {name: ids, in: query, type: array, items: {type: integer}, collectionFormat: multi}
      responses:
        "200":
          description: pets
          schema: {type: array, items: {$ref: "#/definitions/Pet"}}
          examples: {application/json: [{id: 1}]}
          headers:
            X-Next: {type: string, description: next page}
        "404": {$ref: "#/responses/NotFound"}
    post:
      operationId: addPet
      consumes: [application/json, application/xml]
      parameters:
        - name: pet
          in: body
          description: the pet
          required: true
          schema: {$ref: "#/definitions/Pet"}
      responses:
        "201": {description: created}
      security:
        - implicit: [read]
  /pets/{id}/photo:
    post:
      operationId: uploadPhoto
      parameters:
        - {name: id, in: path, type: integer, required: true}
        - {name: caption, in: formData, type: string, required: true}
        - {name: file, in: formData, type: file}
      responses:
        "200": {description: ok}
  /pets/{id}:
    patch:
      operationId: renamePet
      consumes: [application/x-www-form-urlencoded]
      parameters:
        - {name: id, in: path, type: integer, required: true}
        - {name: name, in: formData, type: string, description: new name}
        - {name: tags, in: formData, type: array, items: {type: string}, collectionFormat: csv}
        - {name: session, in: cookie, type: string}
      responses:
        "204": {description: renamed}
    put:
      operationId: replacePet
      parameters:
        - $ref: "common/params.yaml#/Body"
        - $ref: "#/parameters/missing"
      responses:
        default: {$ref: "common/params.yaml#/Problem"}
definitions:
  Pet: {type: object, x-nullable: true, properties: {id: {type: integer}}}
  Error: {type: object}
"##;

const PARAMS: &str = r##"Tag: {name: tag, in: query, type: string, enum: [a, b]}
Body:
  name: thing
  in: body
  schema: {$ref: "../schemas/Thing.yaml"}
Problem:
  description: problem
  schema: {$ref: "#/ProblemSchema"}
ProblemSchema: {type: object}
"##;

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, SpecSet) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let set = load_spec(&dir.path().join(files[0].0), dir.path())
        .unwrap_or_else(|e| panic!("{}", e.render()));
    (dir, set)
}

fn petstore() -> (tempfile::TempDir, SpecSet) {
    load(&[
        ("spec.yaml", SPEC),
        ("common/params.yaml", PARAMS),
        ("schemas/Thing.yaml", "type: object\n"),
    ])
}

fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value
        .pointer(pointer)
        .unwrap_or_else(|| panic!("nothing at {pointer}"))
}

#[test]
fn top_level_servers_security_schemes_and_carried_keys() {
    let (_dir, set) = petstore();
    assert_eq!(set.version(), SpecVersion::Swagger2);
    let root = &set.root().value;
    assert_eq!(root["openapi"], json!("3.0.3"));
    assert_eq!(
        root["servers"],
        json!([{"url": "https://api.example.com/v1"}])
    );
    assert_eq!(root["x-top"], json!("kept"));
    assert_eq!(root["security"], json!([{"key": []}]));
    assert_eq!(root["tags"], json!([{"name": "pets"}]));
    for gone in [
        "swagger",
        "host",
        "basePath",
        "schemes",
        "consumes",
        "produces",
        "securityDefinitions",
    ] {
        assert!(root.get(gone).is_none(), "{gone} should be gone");
    }
    // Schemas stay where they were, untouched.
    assert_eq!(root["definitions"]["Pet"]["x-nullable"], json!(true));
    assert_eq!(
        root["components"]["securitySchemes"],
        json!({
            "basicAuth": {"type": "http", "scheme": "basic", "description": "users"},
            "key": {"type": "apiKey", "name": "X-Key", "in": "header"},
            "implicit": {"type": "oauth2", "flows": {"implicit": {"authorizationUrl": "https://a/auth", "scopes": {"read": "Read"}}}},
            "code": {"type": "oauth2", "flows": {"authorizationCode": {"authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {}}}},
            "app": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {"admin": "Admin"}}}, "x-kind": "m2m"},
            "pw": {"type": "oauth2", "flows": {"password": {"tokenUrl": "https://a/token", "scopes": {}}}}
        })
    );
}

#[test]
fn parameters_are_merged_resolved_and_converted() {
    let (_dir, set) = petstore();
    let get = at(&set.root().value, "/paths/~1pets/get");
    assert_eq!(
        get["parameters"],
        json!([
            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}},
            {"name": "tag", "in": "query", "schema": {"type": "string", "enum": ["a", "b"]}},
            {"name": "ids", "in": "query", "style": "form", "explode": true,
             "schema": {"type": "array", "items": {"type": "integer"}}}
        ])
    );
    assert_eq!(get["operationId"], json!("listPets"));
    assert_eq!(get["x-op"], json!(true));
    assert!(
        at(&set.root().value, "/paths/~1pets")
            .get("parameters")
            .is_none()
    );
    assert!(set.operation_problems("/paths/~1pets/get").is_empty());
}

#[test]
fn body_parameter_becomes_request_body_per_consumed_type() {
    let (_dir, set) = petstore();
    let post = at(&set.root().value, "/paths/~1pets/post");
    assert_eq!(
        post["requestBody"],
        json!({"description": "the pet", "required": true, "x-codegen-request-body-name": "pet",
               "content": {"application/json": {"schema": {"$ref": "#/definitions/Pet"}},
                           "application/xml": {"schema": {"$ref": "#/definitions/Pet"}}}})
    );
    let names: Vec<&Value> = post["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, [&json!("X-Trace"), &json!("limit")]);
    assert_eq!(post["security"], json!([{"implicit": ["read"]}]));
    // The `$ref` keeps resolving by pointer in the upgraded root.
    let resolved = set
        .resolve_deep(set.root_key(), "#/definitions/Pet")
        .unwrap();
    assert_eq!(resolved.value["type"], json!("object"));
}

#[test]
fn form_data_becomes_multipart_or_urlencoded() {
    let (_dir, set) = petstore();
    let upload = at(&set.root().value, "/paths/~1pets~1{id}~1photo/post");
    assert_eq!(upload["parameters"][0]["name"], json!("id"));
    assert_eq!(
        upload["requestBody"],
        json!({"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["caption"],
            "properties": {"caption": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}}}})
    );
    let rename = at(&set.root().value, "/paths/~1pets~1{id}/patch");
    assert_eq!(
        rename["requestBody"]["content"]["application/x-www-form-urlencoded"],
        json!({"schema": {"type": "object", "properties": {
                   "name": {"type": "string", "description": "new name"},
                   "tags": {"type": "array", "items": {"type": "string"}}}},
               "encoding": {"tags": {"style": "form", "explode": false}}})
    );
    // `in: cookie` is not 2.0: a problem of that operation, not a failed load.
    let problems = set.operation_problems("/paths/~1pets~1{id}/patch");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, "swagger2-unconvertible");
    assert!(
        problems[0].message.contains("in: cookie"),
        "{}",
        problems[0].message
    );
}

#[test]
fn responses_are_inlined_and_moved_under_content() {
    let (_dir, set) = petstore();
    let responses = at(&set.root().value, "/paths/~1pets/get/responses");
    assert_eq!(
        responses["200"],
        json!({"description": "pets",
               "headers": {"X-Next": {"description": "next page", "schema": {"type": "string"}}},
               "content": {"application/json": {
                   "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                   "example": [{"id": 1}]}}})
    );
    assert_eq!(
        responses["404"],
        json!({"description": "not found", "content": {"application/json": {"schema": {"$ref": "#/definitions/Error"}}}})
    );
    assert_eq!(
        at(&set.root().value, "/paths/~1pets/post/responses/201"),
        &json!({"description": "created"})
    );
}

#[test]
fn values_from_other_files_keep_their_refs_meaning() {
    let (_dir, set) = petstore();
    let put = at(&set.root().value, "/paths/~1pets~1{id}/put");
    // `../schemas/Thing.yaml` written in common/params.yaml is `schemas/Thing.yaml` from the root.
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"],
        json!({"$ref": "schemas/Thing.yaml"})
    );
    assert_eq!(
        set.resolve(set.root_key(), "schemas/Thing.yaml")
            .unwrap()
            .value,
        &json!({"type": "object"})
    );
    // `#/ProblemSchema` written in common/params.yaml points into that file.
    assert_eq!(
        put["responses"]["default"]["content"]["application/json"]["schema"],
        json!({"$ref": "common/params.yaml#/ProblemSchema"})
    );
    // The dangling parameter ref is a problem of this operation only.
    let problems = set.operation_problems("/paths/~1pets~1{id}/put");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, "dangling-ref");
}

#[test]
fn locate_maps_converted_pointers_back_to_the_file_as_written() {
    let (dir, set) = petstore();
    let root = set.root_key().clone();
    let path = crate::load::paths::display_form(&dir.path().join("spec.yaml"));
    let line_of = |needle: &str| SPEC.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let located = |pointer: &str| match set.locate(&root, pointer) {
        Location::InFile {
            path: p,
            pointer,
            line_col: Some((line, _)),
        } => {
            assert_eq!(p, path);
            (pointer, line)
        }
        other => panic!("no line for {pointer}: {other:?}"),
    };
    assert_eq!(
        located("/paths/~1pets/post/requestBody"),
        (
            "/paths/~1pets/post/parameters/0".into(),
            line_of("        - name: pet")
        )
    );
    assert_eq!(
        located("/paths/~1pets/post/requestBody/content/application~1xml/schema"),
        (
            "/paths/~1pets/post/parameters/0/schema".into(),
            line_of("schema: {$ref: \"#/definitions/Pet\"}")
        )
    );
    assert_eq!(
        located(
            "/paths/~1pets~1{id}~1photo/post/requestBody/content/multipart~1form-data/schema/properties/file"
        ),
        (
            "/paths/~1pets~1{id}~1photo/post/parameters/2".into(),
            line_of("{name: file, in: formData")
        )
    );
    assert_eq!(
        located("/paths/~1pets/get/parameters/0").1,
        line_of("{name: X-Trace")
    );
    assert_eq!(
        located("/paths/~1pets/get/parameters/1"),
        ("/parameters/limit".into(), line_of("limit: {name: limit"))
    );
    assert_eq!(located("/servers").0, "/host");
    assert_eq!(
        located("/components/securitySchemes/app").0,
        "/securityDefinitions/app"
    );
    assert_eq!(located("/definitions/Pet").1, line_of("Pet: {type: object"));
    // A parameter inlined from another file is located in that file.
    match set.locate(&root, "/paths/~1pets/get/parameters/2") {
        Location::InFile {
            path,
            pointer,
            line_col,
        } => {
            assert!(path.ends_with("common/params.yaml"), "{path:?}");
            assert_eq!((pointer.as_str(), line_col), ("/Tag", Some((1, 1))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn servers_without_host_or_https() {
    let spec = |extra: &str| {
        format!("swagger: '2.0'\ninfo: {{title: t, version: '1'}}\n{extra}paths: {{}}\n")
    };
    let servers = |extra: &str| {
        let (_dir, set) = load(&[("s.yaml", &spec(extra))]);
        set.root().value["servers"].clone()
    };
    assert_eq!(servers("basePath: /api\n"), json!([{"url": "/api"}]));
    assert_eq!(servers(""), json!([{"url": "/"}]));
    assert_eq!(
        servers("host: h.io\nschemes: [http]\n"),
        json!([{"url": "http://h.io"}])
    );
    assert_eq!(servers("host: h.io\n"), json!([{"url": "https://h.io"}]));
}

#[test]
fn unsupported_security_definition_is_a_warning() {
    let spec = "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\nsecurityDefinitions:\n  weird: {type: oauth2, flow: magic}\n";
    let (_dir, set) = load(&[("s.yaml", spec)]);
    let warnings: Vec<_> = set.warnings().into_iter().collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, "swagger2-unconvertible");
    assert_eq!(
        set.root().value["components"]["securitySchemes"]["weird"],
        json!({"type": "oauth2", "flow": "magic"})
    );
}

#[test]
fn path_items_in_other_files_are_inlined_with_their_refs_rebased() {
    let root = "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n  /things:\n    $ref: 'paths/things.yaml'\n";
    let item = "get:\n  parameters:\n    - $ref: '#/Q'\n  responses:\n    '200':\n      description: ok\n      schema: {$ref: '../models.yaml#/Thing'}\nQ: {name: q, in: query, type: string}\n";
    let (_dir, set) = load(&[
        ("api.yaml", root),
        ("paths/things.yaml", item),
        ("models.yaml", "Thing: {type: object}\n"),
    ]);
    let get = at(&set.root().value, "/paths/~1things/get");
    assert_eq!(
        get["parameters"],
        json!([{"name": "q", "in": "query", "schema": {"type": "string"}}])
    );
    let schema = &get["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(schema, &json!({"$ref": "models.yaml#/Thing"}));
    let thing = set
        .resolve(set.root_key(), schema["$ref"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (thing.doc, thing.value),
        (&DocKey::new("models.yaml"), &json!({"type": "object"}))
    );
    match set.locate(set.root_key(), "/paths/~1things/get") {
        Location::InFile {
            path,
            pointer,
            line_col,
        } => {
            assert!(path.ends_with("paths/things.yaml"), "{path:?}");
            assert_eq!((pointer.as_str(), line_col), ("/get", Some((1, 1))));
        }
        other => panic!("{other:?}"),
    }
}
