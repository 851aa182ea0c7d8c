//! The `mcpgen` binary as users run it: init → build → list, the published JSON Schema of the
//! annotation file, and rebuilding over an earlier output.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn mcpgen(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("mcpgen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One of a tool's schemas as the generated crate in `dir/out` publishes it (from its contract).
fn contract_schema(dir: &Path, tool: &str, key: &str) -> serde_json::Value {
    let text = fs::read_to_string(dir.join("out/mcp-contract.json")).unwrap();
    let contract: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema = contract["tools"][tool][key].clone();
    assert!(schema.is_object(), "{tool} has a {key} in the contract");
    schema
}

#[test]
fn published_schema_is_current_and_accepts_every_example() {
    let published: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("mcpgen.schema.json").unwrap()).unwrap();
    let current: serde_json::Value =
        serde_json::from_str(&mcpgen::annotations::json_schema()).unwrap();
    assert_eq!(
        published, current,
        "mcpgen.schema.json is stale: run `cargo run -- schema > mcpgen.schema.json`"
    );
    let validator = jsonschema::validator_for(&published).unwrap();
    for entry in fs::read_dir("specs").unwrap().flatten() {
        let annotation = entry.path().join("mcpgen.yaml");
        if !annotation.is_file() {
            continue;
        }
        let document = mcpgen::load::read_document(&annotation).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document.value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{} breaks the schema: {errors:?}",
            annotation.display()
        );
    }
    let typo = serde_json::json!({"version": 1, "spec": "a.yaml", "server": {"name": "x"}, "tools": {"t": {"operation": "x", "readonly": true}}});
    assert!(!validator.is_valid(&typo), "unknown keys are refused");
}

#[test]
fn init_then_build_then_list() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        "tests/corpus/oai-petstore-v3.0.yaml",
        dir.path().join("openapi.yaml"),
    )
    .unwrap();

    let init = mcpgen(&["init", "openapi.yaml", "--select", "read"], dir.path());
    assert!(init.status.success(), "{}", text(&init.stderr));
    let annotation = fs::read_to_string(dir.path().join("mcpgen.yaml")).unwrap();
    assert!(annotation.contains("  list_pets:  # GET /pets: List all pets\n    operation: \"listPets\"\n    enabled: true\n"), "{annotation}");
    assert!(annotation.contains("  create_pets:  # POST /pets: Create a pet\n    operation: \"createPets\"\n    enabled: false\n    read_only: false"), "{annotation}");

    let again = mcpgen(&["init", "openapi.yaml"], dir.path());
    assert_eq!(
        again.status.code(),
        Some(1),
        "init does not overwrite without --force"
    );

    let build = mcpgen(&["build"], dir.path());
    assert!(build.status.success(), "{}", text(&build.stderr));
    let out = dir.path().join("swagger-petstore-mcp");
    let tools = fs::read_to_string(out.join("src/tools.rs")).unwrap();
    assert!(tools.contains("pub mod list_pets {"), "{tools}");
    assert!(tools.contains("pub mod show_pet_by_id {"), "{tools}");
    assert!(
        !tools.contains("pub mod create_pets {"),
        "writes stay disabled"
    );

    // Disabling a tool and rebuilding removes its module, and nothing else changes.
    let edited = annotation.replace("  show_pet_by_id:  # GET /pets/{petId}: Info for a specific pet\n    operation: \"showPetById\"\n    enabled: true", "  show_pet_by_id:  # GET /pets/{petId}: Info for a specific pet\n    operation: \"showPetById\"\n    enabled: false");
    assert_ne!(edited, annotation);
    fs::write(dir.path().join("mcpgen.yaml"), edited).unwrap();
    let rebuild = mcpgen(&["build"], dir.path());
    assert!(rebuild.status.success(), "{}", text(&rebuild.stderr));
    let tools = fs::read_to_string(out.join("src/tools.rs")).unwrap();
    assert!(!tools.contains("pub mod show_pet_by_id {"), "{tools}");
    assert!(
        text(&rebuild.stdout).contains("removed"),
        "{}",
        text(&rebuild.stdout)
    );

    let list = mcpgen(&["list", "-c", "mcpgen.yaml"], dir.path());
    assert!(list.status.success());
    let listed = text(&list.stdout);
    assert!(
        listed.contains("list_pets") && listed.contains("show_pet_by_id (disabled)"),
        "{listed}"
    );
    assert!(listed.contains("3 operations, 1 enabled tools"), "{listed}");
}

#[test]
fn init_select_all_on_a_spec_without_operations_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        "tests/corpus/oai-webhook-example-v3.1.yaml",
        dir.path().join("openapi.yaml"),
    )
    .unwrap();
    let init = mcpgen(&["init", "openapi.yaml", "--select", "all"], dir.path());
    assert!(init.status.success(), "{}", text(&init.stderr));
    let build = mcpgen(&["build"], dir.path());
    assert_eq!(build.status.code(), Some(1));
    assert!(
        text(&build.stderr).contains("error[no-operations]"),
        "{}",
        text(&build.stderr)
    );
}

#[test]
fn several_specs_in_one_server() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        "tests/corpus/oai-petstore-v3.0.yaml",
        dir.path().join("pets.yaml"),
    )
    .unwrap();
    fs::copy(
        "tests/corpus/oai-petstore-expanded-v3.0.yaml",
        dir.path().join("pets-expanded.yaml"),
    )
    .unwrap();
    let annotation = "version: 1\nspec: [pets.yaml, pets-expanded.yaml]\nserver: { name: pets-mcp }\ntools:\n  list_pets:\n    operation: GET /pets\n  find_pets:\n    operation: findPets\n";
    fs::write(dir.path().join("mcpgen.yaml"), annotation).unwrap();
    let ambiguous = mcpgen(&["build"], dir.path());
    assert_eq!(ambiguous.status.code(), Some(1));
    let stderr = text(&ambiguous.stderr);
    assert!(
        stderr.contains("error[ambiguous-operation]") && stderr.contains("pets.yaml#GET /pets"),
        "{stderr}"
    );

    fs::write(
        dir.path().join("mcpgen.yaml"),
        annotation.replace("operation: GET /pets", "operation: pets.yaml#GET /pets"),
    )
    .unwrap();
    let build = mcpgen(&["build"], dir.path());
    assert!(build.status.success(), "{}", text(&build.stderr));
    let manifest = fs::read_to_string(dir.path().join("pets-mcp/.mcpgen/manifest.json")).unwrap();
    assert!(
        manifest.contains("\"pets.yaml\"") && manifest.contains("\"pets-expanded.yaml\""),
        "{manifest}"
    );
    let lib = fs::read_to_string(dir.path().join("pets-mcp/src/lib.rs")).unwrap();
    assert!(
        lib.contains("tools::find_pets::TOOL") && lib.contains("tools::list_pets::TOOL"),
        "{lib}"
    );
}

/// `server.profiles`: `build` rewrites the published input schemas for the clients named, says
/// what it changed, and keeps the spec's schema for checking arguments.
#[test]
fn build_normalises_input_schemas_for_client_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let spec = r##"openapi: 3.1.0
info: { title: Trees, version: "1" }
servers: [{ url: "https://trees.example.com" }]
paths:
  /nodes:
    post:
      operationId: createNode
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Node" }
      responses: { "201": { description: created } }
components:
  schemas:
    Node:
      type: object
      required: [name]
      properties:
        name: { type: string, minLength: 1 }
        site: { type: string, format: uri }
        weight: { type: [number, "null"], exclusiveMinimum: 0 }
        children: { type: array, items: { $ref: "#/components/schemas/Node" } }
"##;
    fs::write(dir.path().join("trees.yaml"), spec).unwrap();
    let annotation = |profiles: &str| {
        format!(
            "version: 1\nspec: trees.yaml\nserver: {{ name: trees-mcp, profiles: {profiles} }}\n\
             tools:\n  create_node:\n    operation: createNode\n    read_only: false\n"
        )
    };
    let published = |dir: &Path| -> (String, serde_json::Value) {
        let schema = contract_schema(dir, "create_node", "input_schema");
        (schema.to_string(), schema)
    };

    fs::write(dir.path().join("mcpgen.yaml"), annotation("[gemini]")).unwrap();
    let built = mcpgen(&["build", "-o", "out"], dir.path());
    assert!(built.status.success(), "{}", text(&built.stderr));
    let stderr = text(&built.stderr);
    assert!(stderr.contains("note[schema-normalised]"), "{stderr}");
    assert!(
        stderr.contains("recursive properties dropped: `/children/*/children`"),
        "{stderr}"
    );
    let (raw, schema) = published(dir.path());
    assert!(!raw.contains("$ref") && !raw.contains("$defs"), "{raw}");
    assert_eq!(schema["properties"]["weight"]["nullable"], true, "{raw}");
    assert_eq!(schema["properties"]["weight"]["type"], "number", "{raw}");
    assert_eq!(
        schema["properties"]["site"]["description"], "(format: uri)",
        "{raw}"
    );
    let kept = contract_schema(dir.path(), "create_node", "spec_input_schema").to_string();
    assert!(
        kept.contains("exclusiveMinimum") && kept.contains("$ref"),
        "{kept}"
    );
    let contract = fs::read_to_string(dir.path().join("out/mcp-contract.json")).unwrap();
    assert!(
        contract.contains("\"profiles\": [\n      \"gemini\""),
        "{contract}"
    );
    let lint = mcpgen(&["lint", "-c", "mcpgen.yaml"], dir.path());
    assert!(
        !text(&lint.stderr).contains("lint-client-profile"),
        "{}",
        text(&lint.stderr)
    );

    fs::write(dir.path().join("mcpgen.yaml"), annotation("[openai]")).unwrap();
    let built = mcpgen(&["build", "-o", "out"], dir.path());
    assert!(built.status.success(), "{}", text(&built.stderr));
    let (raw, schema) = published(dir.path());
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["name", "site", "weight", "children"], "{raw}");
    assert_eq!(
        schema["properties"]["site"]["type"],
        serde_json::json!(["string", "null"])
    );
    assert_eq!(
        schema["$defs"]["Node"]["additionalProperties"], false,
        "{raw}"
    );
    assert!(
        text(&built.stderr).contains("null means absent"),
        "{}",
        text(&built.stderr)
    );
    let tool = fs::read_to_string(dir.path().join("out/src/tools.rs")).unwrap();
    assert!(tool.contains("nulls_absent: true"), "{tool}");
}

/// A `default` or `examples` entry that breaks the schema it annotates (formats included, at any
/// depth, definitions too) is left out of every published schema, with one note per tool; values
/// a profile's rewrite breaks go from the rewritten schema only.
#[test]
fn published_defaults_and_examples_fit_their_schema() {
    let dir = tempfile::tempdir().unwrap();
    let spec = r##"openapi: 3.0.3
info: { title: Things, version: "1" }
servers: [{ url: "https://things.example.com" }]
paths:
  /things:
    post:
      operationId: createThing
      parameters:
        - { name: since, in: query, schema: { type: string, format: date, default: "2020-13-45" } }
        - { name: until, in: query, schema: { type: string, format: date, default: "2020-12-31" } }
        - { name: ref, in: query, schema: { type: string, format: uuid, example: not-a-uuid } }
        - { name: kind, in: query, schema: { type: string, enum: [cat, dog], default: cat } }
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                parent:
                  type: object
                  properties: { name: { type: string }, note: { type: string } }
                  example: { name: root }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  tags: { type: array, items: { type: string }, example: { a: 1 } }
                  owner: { $ref: "#/components/schemas/Owner" }
components:
  schemas:
    Owner: { type: object, properties: { name: { type: string } }, example: TBD }
"##;
    fs::write(dir.path().join("things.yaml"), spec).unwrap();
    let annotation = "version: 1\nspec: things.yaml\nserver: { name: things-mcp, profiles: [openai] }\n\
                      tools:\n  create_thing:\n    operation: createThing\n    read_only: false\n\
                      \x20   params:\n      kind: { enum: [dog] }\n";
    fs::write(dir.path().join("mcpgen.yaml"), annotation).unwrap();
    let built = mcpgen(&["build", "-o", "out"], dir.path());
    let stderr = text(&built.stderr);
    assert!(built.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("note[example-dropped]").count(),
        1,
        "one note per tool: {stderr}"
    );
    assert!(
        stderr.contains("input /properties/since (default); input /properties/ref (1 example)"),
        "{stderr}"
    );
    let read = |key: &str| contract_schema(dir.path(), "create_thing", key);
    let spec_input = read("spec_input_schema");
    let props = &spec_input["properties"];
    assert_eq!(props["since"].get("default"), None, "{spec_input}");
    assert_eq!(
        props["until"]["default"], "2020-12-31",
        "a fitting default stays"
    );
    assert_eq!(props["ref"].get("examples"), None, "{spec_input}");
    assert_eq!(
        props["kind"],
        serde_json::json!({"type": "string", "enum": ["dog"]}),
        "the spec's default is not among the values the annotation file allows"
    );
    assert_eq!(
        props["parent"]["examples"],
        serde_json::json!([{"name": "root"}]),
        "fits the spec's schema: {spec_input}"
    );
    let input = read("input_schema");
    assert_eq!(
        input["properties"]["parent"].get("examples"),
        None,
        "`note` became required for OpenAI strict mode: {input}"
    );
    let output = read("output_schema");
    assert_eq!(
        output["properties"]["tags"].get("examples"),
        None,
        "{output}"
    );
    assert_eq!(output["$defs"]["Owner"].get("examples"), None, "{output}");
    let contract = fs::read_to_string(dir.path().join("out/mcp-contract.json")).unwrap();
    for gone in ["2020-13-45", "not-a-uuid", "TBD"] {
        assert!(!contract.contains(gone), "{gone} in the contract");
    }

    // The annotation file's own default must fit, format included: an error, not a silent drop.
    let annotation = format!("{annotation}      until: {{ default: \"2021-02-30\" }}\n");
    fs::write(dir.path().join("mcpgen.yaml"), annotation).unwrap();
    let refused = mcpgen(&["build", "-o", "out"], dir.path());
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("error[invalid-default]"),
        "{}",
        text(&refused.stderr)
    );
}

/// Two specs whose files sit at the same path below their own roots (`../x/s.yaml` and
/// `../../x/s.yaml`) each keep their own schemas: what lowering shares between tools is keyed by
/// spec, not by the document's relative name alone.
#[test]
fn same_named_documents_of_two_specs_keep_their_own_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |op: &str, member: &str| {
        format!(
            "openapi: 3.0.3\ninfo: {{ title: T, version: \"1\" }}\nservers: [{{ url: \"https://t.example.com\" }}]\npaths:\n  /{op}:\n    get:\n      operationId: {op}\n      responses:\n        \"200\":\n          description: ok\n          content:\n            application/json:\n              schema: {{ $ref: \"#/components/schemas/Thing\" }}\ncomponents:\n  schemas:\n    Thing:\n      type: object\n      properties:\n        {member}: {{ type: string }}\n"
        )
    };
    let (near, far, here) = (
        dir.path().join("a/b/x"),
        dir.path().join("a/x"),
        dir.path().join("a/b/c"),
    );
    for d in [&near, &far, &here] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(near.join("s.yaml"), spec("getNear", "near_member")).unwrap();
    fs::write(far.join("s.yaml"), spec("getFar", "far_member")).unwrap();
    let annotation = "version: 1\nspec: [../x/s.yaml, ../../x/s.yaml]\nserver: { name: twins-mcp }\ntools:\n  get_near:\n    operation: getNear\n  get_far:\n    operation: getFar\n";
    fs::write(here.join("mcpgen.yaml"), annotation).unwrap();
    let build = mcpgen(&["build", "-o", "out"], &here);
    assert!(build.status.success(), "{}", text(&build.stderr));
    let near = contract_schema(&here, "get_near", "output_schema");
    let far = contract_schema(&here, "get_far", "output_schema");
    assert!(near["properties"].get("near_member").is_some(), "{near}");
    assert!(far["properties"].get("far_member").is_some(), "{far}");
}

/// `init` tries its starter file and leaves disabled, with the reason, the tools that would not
/// lower (here a response schema pointing at nothing), so what it writes builds as it is.
#[test]
fn init_disables_tools_that_do_not_lower_and_the_rest_builds() {
    let dir = tempfile::tempdir().unwrap();
    let spec = r##"openapi: 3.0.3
info: {title: Dangling, version: "1.0"}
servers: [{url: "https://api.example.com"}]
paths:
  /good:
    get:
      operationId: getGood
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {id: {type: string}}}
  /bad:
    get:
      operationId: getBad
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Missing"}
"##;
    fs::write(dir.path().join("api.yaml"), spec).unwrap();
    let init = mcpgen(
        &["init", "api.yaml", "--select", "all", "-o", "mcpgen.yaml"],
        dir.path(),
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let annotation = fs::read_to_string(dir.path().join("mcpgen.yaml")).unwrap();
    let bad = annotation
        .lines()
        .skip_while(|l| !l.starts_with("  get_bad:"))
        .nth(2)
        .unwrap_or_default();
    assert!(
        bad.contains("enabled: false") && bad.contains("[dangling-ref]"),
        "{annotation}"
    );
    assert!(annotation.contains("operation: \"getGood\"\n    enabled: true"));
    let build = mcpgen(&["build", "-o", "out"], dir.path());
    assert!(build.status.success(), "{}", text(&build.stderr));
    let contract = fs::read_to_string(dir.path().join("out/mcp-contract.json")).unwrap();
    assert!(contract.contains("\"get_good\"") && !contract.contains("\"get_bad\""));
}
