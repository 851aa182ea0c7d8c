//! What lowering decides about a tool's answers: the `Accept` header, the published output
//! schema (every member also accepts `null`, the root stays an object), the name rules that hold
//! where an answer does not have the published shape, result budgets and the arguments that page.

use mcpgen::ir::{NameRulesIr, ServerIr, ToolIr};
use mcpgen::load::load_project;
use serde_json::{Value, json};

const SPEC: &str = r##"
openapi: 3.0.3
info: {title: Contacts, version: "1"}
servers: [{url: "https://crm.example.com/v3"}]
paths:
  /contacts:
    get:
      operationId: listContacts
      parameters:
        - {name: q, in: query, schema: {type: string}}
        - {name: after, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        "200":
          description: ok
          content:
            application/json: {schema: {$ref: "#/components/schemas/Page"}}
            application/xml: {schema: {$ref: "#/components/schemas/Page"}}
  /contacts/{id}:
    get:
      operationId: getContact
      # `readOnly` on a parameter (a response member's schema reused) must not reach clients.
      parameters: [{name: id, in: path, required: true, schema: {type: string, readOnly: true}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: "#/components/schemas/Contact"}}}
  /contacts/{id}/tags:
    get:
      operationId: listTags
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {type: string}}}}
  /exports/{id}:
    get:
      operationId: getExport
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: ok
          content: {"*/*": {schema: {type: object, properties: {url: {type: string}}}}}
components:
  schemas:
    Page:
      type: object
      required: [results]
      properties:
        total: {type: integer}
        results: {type: array, items: {$ref: "#/components/schemas/Contact"}}
    Contact:
      type: object
      required: [id]
      properties:
        id: {type: string}
        name: {type: string}
        email: {type: string, format: email}
        notes: {type: string}
        owner: {$ref: "#/components/schemas/Contact"}
"##;

const ANNOTATIONS: &str = r#"
version: 1
spec: spec.yaml
server:
  name: contacts-mcp
  limits: {max_result_tokens: 5000}
  output_schema: {max_tokens: 800}
tools:
  list_contacts:
    operation: listContacts
    response:
      allow: [/total, /results/*/id, /results/*/name, /results/*/email]
      redact: [{path: /results/*/email, action: mask}]
      max_result_tokens: 12000
  get_contact:
    operation: getContact
    response:
      redact: [/email, /owner/notes]
      output_schema: full
  get_contact_summary:
    operation: getContact
    response:
      output_schema: {max_depth: 2}
  get_contact_text:
    operation: getContact
    response:
      output_schema: none
  get_export:
    operation: getExport
  fetch_contact:
    operation: getContact
  fetch_contact_again:
    operation: getContact
  list_tags:
    operation: listTags
"#;

fn lowered() -> ServerIr {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    std::fs::write(dir.path().join("mcpgen.yaml"), ANNOTATIONS).unwrap();
    let project = load_project(&dir.path().join("mcpgen.yaml")).unwrap();
    mcpgen::lower::lower(&project).unwrap().ir
}

fn tool<'a>(ir: &'a ServerIr, name: &str) -> &'a ToolIr {
    ir.tools.iter().find(|t| t.name.as_str() == name).unwrap()
}

#[test]
fn accept_asks_for_json_when_the_operation_offers_it() {
    let ir = lowered();
    assert_eq!(tool(&ir, "list_contacts").accept, "application/json");
    // A wildcard answer described by a schema: JSON first.
    assert_eq!(tool(&ir, "get_export").accept, "application/json, */*");
}

#[test]
fn published_output_members_accept_null_and_the_root_stays_an_object() {
    let ir = lowered();
    let schema = tool(&ir, "get_contact").output.schema.clone().unwrap();
    assert_eq!(schema["type"], json!("object"));
    assert_eq!(
        schema["properties"]["id"]["type"],
        json!(["string", "null"])
    );
    // `owner` is the Contact schema with `notes` redacted away; its own `owner` refers back.
    let owner = &schema["properties"]["owner"];
    assert_eq!(owner["type"], json!(["object", "null"]));
    assert!(owner["properties"].get("notes").is_none());
    assert!(schema["properties"].get("email").is_none());
    assert_eq!(
        schema["$defs"]["Contact"]["type"],
        json!(["object", "null"])
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&json!({"id": null, "name": null, "owner": null})));
    assert!(validator.is_valid(&json!({"owner": {"owner": {"id": null}}})));
    assert!(!validator.is_valid(&Value::Null), "the root is an object");
}

#[test]
fn bounded_output_schemas_are_written_out_to_their_depth_and_budget() {
    let ir = lowered();
    // `get_contact_summary`: bounded (the server's policy), at most two levels, recursion cut.
    let schema = tool(&ir, "get_contact_summary")
        .output
        .schema
        .clone()
        .unwrap();
    assert!(schema.get("$defs").is_none(), "{schema}");
    let owner = &schema["properties"]["owner"];
    assert_eq!(owner["properties"]["id"]["type"], json!(["string", "null"]));
    assert_eq!(
        owner["properties"]["owner"],
        json!({"type": ["object", "null"], "description": "a Contact, as above"})
    );
    assert!(serde_json::to_vec(&*schema).unwrap().len() <= 800 * 4);
    // Bounded schemas accept what the full one accepts.
    let full = jsonschema::validator_for(tool(&ir, "get_contact").output.schema.as_ref().unwrap())
        .unwrap();
    let bounded = jsonschema::validator_for(&schema).unwrap();
    let answer = json!({"id": "1", "name": "Ann", "owner": {"id": "2", "owner": {"id": "3", "owner": null}}});
    assert!(full.is_valid(&answer) && bounded.is_valid(&answer));
    // `none`: no output schema, nothing wrapped.
    let text = tool(&ir, "get_contact_text");
    assert_eq!(text.output.schema, None);
    assert_eq!(text.output.wrap, None);
}

#[test]
fn name_rules_follow_the_allowlist_and_the_redactions() {
    let ir = lowered();
    // Redactions only: the redacted names.
    assert_eq!(
        tool(&ir, "get_contact").output.names,
        NameRulesIr {
            keep: None,
            drop: vec!["email".into(), "notes".into()],
        }
    );
    // An allowlist: what it leaves out (notes, owner) and what is redacted (email) are dropped;
    // error bodies keep allowed and error-envelope names.
    let names = &tool(&ir, "list_contacts").output.names;
    assert_eq!(names.drop, vec!["email", "notes", "owner"]);
    let keep = names.keep.as_ref().unwrap();
    for name in ["total", "results", "id", "name", "message", "code", "error"] {
        assert!(keep.contains(&name.to_owned()), "{name} in {keep:?}");
    }
    assert!(!keep.iter().any(|k| names.drop.contains(k)));
    // No field rules, no names.
    assert_eq!(tool(&ir, "get_export").output.names, NameRulesIr::default());
}

#[test]
fn a_path_argument_must_not_be_empty_and_is_never_read_only() {
    let ir = lowered();
    let schema = &tool(&ir, "get_contact").input_schema;
    assert_eq!(
        schema["properties"]["id"],
        json!({"type": "string", "minLength": 1})
    );
}

#[test]
fn budgets_and_paging_arguments() {
    let ir = lowered();
    assert_eq!(ir.limits.max_result_tokens, 5000);
    let list = tool(&ir, "list_contacts");
    assert_eq!(list.output.max_result_tokens, Some(12000));
    assert_eq!(list.output.narrow_with, ["after", "limit"]);
    assert_eq!(tool(&ir, "get_contact").output.max_result_tokens, None);
    assert!(tool(&ir, "get_contact").output.narrow_with.is_empty());
}

/// Tools answering with the same schema under the same policy and without field rules share one
/// lowered description; a different policy or field rules get their own.
#[test]
fn tools_answering_alike_share_one_output_description() {
    let ir = lowered();
    let schema = |name: &str| tool(&ir, name).output.schema.clone().unwrap();
    let upstream = |name: &str| tool(&ir, name).output.upstream_sample.clone().unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &schema("fetch_contact"),
        &schema("fetch_contact_again")
    ));
    assert!(std::sync::Arc::ptr_eq(
        &upstream("fetch_contact"),
        &upstream("fetch_contact_again")
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &schema("fetch_contact"),
        &schema("get_contact_summary")
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &schema("fetch_contact"),
        &schema("get_contact")
    ));
}

/// A tool that passes its answer on as sent knows from lowering whether its canned answer fits
/// the published schema (wrapped when the answer is not an object), decided where the schema
/// was compiled; a tool that shapes the answer leaves that to its tests.
#[test]
fn whether_the_canned_answer_fits_is_decided_where_the_schema_is_compiled() {
    let ir = lowered();
    let mut decided = 0;
    for tool in &ir.tools {
        let output = &tool.output;
        let shaped = !output.allow.is_empty() || !output.redact.is_empty();
        let (Some(schema), Some(sample), false) = (&output.schema, &output.upstream_sample, shaped)
        else {
            assert_eq!(output.upstream_sample_fits, None, "{}", tool.name);
            continue;
        };
        let answer = match &output.wrap {
            Some(member) => json!({ member.as_str(): **sample }),
            None => Value::clone(sample),
        };
        let fits = jsonschema::validator_for(schema).unwrap().is_valid(&answer);
        assert_eq!(output.upstream_sample_fits, Some(fits), "{}", tool.name);
        decided += 1;
    }
    assert!(decided >= 4, "{decided}");
    let tags = &tool(&ir, "list_tags").output;
    assert!(tags.wrap.is_some());
    assert_eq!(tags.upstream_sample_fits, Some(true));
}

/// Definitions a response reaches are made only when read, but what each of them would report
/// still is: here a definition three references deep, never published (the output schema is
/// bounded to depth 1), holds an invalid schema, and both tools that reach it fail. Where two
/// definitions share a base name, the full schema names them apart and each `$ref` finds its
/// own.
#[test]
fn definitions_made_when_read_still_report_and_keep_names_apart() {
    const DEEP: &str = r##"
openapi: 3.0.3
info: {title: Deep, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/A"}}}}
  /b:
    get:
      operationId: getB
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/B"}}}}
  /items:
    get:
      operationId: getItems
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
components:
  schemas:
    A: {type: object, properties: {b: {$ref: "#/components/schemas/B"}}}
    B: {type: object, properties: {c: {$ref: "#/components/schemas/C"}}}
    C: {type: object, properties: {bad: 5}}
    Item:
      type: object
      properties:
        name: {type: string}
        inner: {$ref: "#/components/schemas/Other/properties/Item"}
    Other:
      type: object
      properties:
        Item: {type: object, properties: {count: {type: integer}}}
"##;
    let annotations = |tools: &str| {
        format!(
            "version: 1\nspec: spec.yaml\nserver:\n  name: deep-mcp\n  output_schema: {{max_depth: 1}}\nupstream: {{base_url: 'https://x.example.com'}}\ntools:\n{tools}"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), DEEP).unwrap();
    let path = dir.path().join("mcpgen.yaml");
    let deep = "  get_a: {operation: getA}\n  get_b: {operation: getB}\n";
    std::fs::write(&path, annotations(deep)).unwrap();
    let project = load_project(&path).unwrap();
    let errors = mcpgen::lower::lower(&project).unwrap_err();
    let invalid: Vec<_> = errors
        .sorted()
        .into_iter()
        .filter(|d| d.code == "invalid-schema")
        .collect();
    assert_eq!(invalid.len(), 1, "{}", errors.render());
    assert!(
        errors
            .render()
            .contains("/components/schemas/C/properties/bad"),
        "{}",
        errors.render()
    );
    let (_, failed) = mcpgen::lower::lower_partial(&project).unwrap();
    assert_eq!(
        failed.keys().map(String::as_str).collect::<Vec<_>>(),
        ["get_a", "get_b"]
    );

    let items = "  get_items:\n    operation: getItems\n    response: {output_schema: full}\n";
    std::fs::write(&path, annotations(items)).unwrap();
    let ir = mcpgen::lower::lower(&load_project(&path).unwrap())
        .unwrap()
        .ir;
    let schema = tool(&ir, "get_items")
        .output
        .schema
        .as_deref()
        .unwrap()
        .clone();
    let defs = schema["$defs"].as_object().unwrap();
    let names: Vec<&str> = defs.keys().map(String::as_str).collect();
    // The root is `Item` itself (named `Item`); the other `Item` is named apart.
    assert_eq!(names, ["Item_2"], "{schema:#}");
    assert_eq!(
        schema["properties"]["inner"]["$ref"], "#/$defs/Item_2",
        "{schema:#}"
    );
    assert!(
        defs["Item_2"]["properties"].get("count").is_some(),
        "{schema:#}"
    );
}

/// A response or a request body may reach definitions chained thousands deep (each referring
/// to the next): they are named, walked and made without recursing through the chain, so
/// lowering does not overflow a thread's stack.
#[test]
fn a_response_reaching_a_long_chain_of_definitions_lowers() {
    const LINKS: usize = 20_000;
    let mut schemas = serde_json::Map::new();
    for i in 0..LINKS {
        let next = if i + 1 < LINKS {
            json!({"$ref": format!("#/components/schemas/S{}", i + 1)})
        } else {
            json!({"type": "string"})
        };
        schemas.insert(
            format!("S{i}"),
            json!({"type": "object", "properties": {"next": next}}),
        );
    }
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Chain", "version": "1"},
        "paths": {"/chain": {
            "get": {"operationId": "getChain", "responses": {"200": {
                "description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}
            }}},
            "post": {"operationId": "postChain",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}},
                "responses": {"204": {"description": "done"}}}
        }},
        "components": {"schemas": schemas},
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.json"), spec.to_string()).unwrap();
    let path = dir.path().join("mcpgen.yaml");
    std::fs::write(
        &path,
        "version: 1\nspec: spec.json\nserver: {name: chain-mcp}\nupstream: {base_url: 'https://x.example.com'}\ntools:\n  get_chain: {operation: getChain}\n  post_chain: {operation: postChain, read_only: false}\n",
    )
    .unwrap();
    let ir = mcpgen::lower::lower(&load_project(&path).unwrap())
        .unwrap()
        .ir;
    let schema = tool(&ir, "get_chain").output.schema.as_deref().unwrap();
    assert!(schema["properties"].get("next").is_some(), "{schema:#}");
    // The request body's schema is published whole: its member `next` is the argument, `S1`
    // written in place, and every later link is a definition, each named once.
    let input = &tool(&ir, "post_chain").input_schema;
    assert_eq!(input["$defs"].as_object().map(|d| d.len()), Some(LINKS - 2));
    assert_eq!(
        input["properties"]["next"]["properties"]["next"]["$ref"],
        "#/$defs/S2"
    );
}
