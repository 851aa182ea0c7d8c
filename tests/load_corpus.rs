//! Every spec of the public corpus (`tests/corpus/`, see SOURCES.md) loads, with the expected
//! version, number of operations and unavailable files.

use std::path::{Path, PathBuf};

use mcpgen::load::{SpecSet, SpecVersion, load_spec};
use serde_json::Value;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn load(entry: &str, root_dir: &str) -> SpecSet {
    let corpus = corpus();
    load_spec(&corpus.join(entry), &corpus.join(root_dir))
        .unwrap_or_else(|e| panic!("{entry} did not load:\n{}", e.render()))
}

fn operations(set: &SpecSet, section: &str) -> usize {
    let Some(items) = set.root().value.get(section).and_then(Value::as_object) else {
        return 0;
    };
    items
        .values()
        .filter_map(Value::as_object)
        .map(|item| {
            item.keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .count()
        })
        .sum()
}

/// (entry, root directory, version, operations, webhook operations), from SOURCES.md.
const CORPUS: &[(&str, &str, SpecVersion, usize, usize)] = &[
    ("oai-petstore-v2.0.json", ".", SpecVersion::Swagger2, 3, 0),
    (
        "oai-petstore-separate-v2.0/spec/swagger.yaml",
        "oai-petstore-separate-v2.0",
        SpecVersion::Swagger2,
        4,
        0,
    ),
    ("oai-petstore-v3.0.yaml", ".", SpecVersion::OpenApi30, 3, 0),
    (
        "oai-petstore-expanded-v3.0.yaml",
        ".",
        SpecVersion::OpenApi30,
        4,
        0,
    ),
    (
        "oai-callback-example-v3.0.yaml",
        ".",
        SpecVersion::OpenApi30,
        1,
        0,
    ),
    (
        "oai-link-example-v3.0.yaml",
        ".",
        SpecVersion::OpenApi30,
        6,
        0,
    ),
    ("oai-uspto-v3.0.yaml", ".", SpecVersion::OpenApi30, 3, 0),
    (
        "oai-webhook-example-v3.1.yaml",
        ".",
        SpecVersion::OpenApi31,
        0,
        1,
    ),
    (
        "oai-non-oauth-scopes-v3.1.yaml",
        ".",
        SpecVersion::OpenApi31,
        1,
        0,
    ),
    (
        "readme-petstore-v2.0.json",
        ".",
        SpecVersion::Swagger2,
        20,
        0,
    ),
    (
        "readme-discriminators-v3.0.json",
        ".",
        SpecVersion::OpenApi30,
        10,
        0,
    ),
    (
        "readme-polymorphism-v3.0.json",
        ".",
        SpecVersion::OpenApi30,
        13,
        0,
    ),
    (
        "readme-circular-v3.0.json",
        ".",
        SpecVersion::OpenApi30,
        1,
        0,
    ),
    (
        "readme-callbacks-v3.0.json",
        ".",
        SpecVersion::OpenApi30,
        1,
        0,
    ),
    (
        "readme-parameters-style-v3.0.json",
        ".",
        SpecVersion::OpenApi30,
        25,
        0,
    ),
    (
        "readme-webhooks-v3.1.json",
        ".",
        SpecVersion::OpenApi31,
        0,
        2,
    ),
    (
        "scalar-galaxy-v3.1.yaml",
        ".",
        SpecVersion::OpenApi31,
        10,
        1,
    ),
    (
        "mulesoft-anypoint-api-governance/api.yaml",
        "mulesoft-anypoint-api-governance",
        SpecVersion::OpenApi30,
        11,
        0,
    ),
    (
        "mulesoft-anypoint-api-manager/api.yaml",
        "mulesoft-anypoint-api-manager",
        SpecVersion::OpenApi30,
        118,
        0,
    ),
    (
        "mulesoft-anypoint-cloudhub-20.yaml",
        ".",
        SpecVersion::OpenApi30,
        55,
        0,
    ),
    (
        "mulesoft-anypoint-access-management.yaml",
        ".",
        SpecVersion::OpenApi30,
        267,
        0,
    ),
    (
        "mulesoft-anypoint-agent-scanner-configuration.yaml",
        ".",
        SpecVersion::OpenApi31,
        15,
        0,
    ),
    (
        "twilio-conversations-v1.json",
        ".",
        SpecVersion::OpenApi30,
        103,
        0,
    ),
    ("twilio-api-v2010.json", ".", SpecVersion::OpenApi30, 197, 0),
];

#[test]
fn every_corpus_spec_loads_with_its_operations() {
    for (entry, root_dir, version, ops, webhooks) in CORPUS {
        let set = load(entry, root_dir);
        assert_eq!(set.version(), *version, "{entry}");
        assert_eq!(operations(&set, "paths"), *ops, "{entry}: operations");
        assert_eq!(
            operations(&set, "webhooks"),
            *webhooks,
            "{entry}: webhook operations"
        );
        assert!(
            set.root().positions.len() > 10,
            "{entry}: positions recorded"
        );
        if *version == SpecVersion::Swagger2 {
            assert_eq!(set.root().value["openapi"], "3.0.3", "{entry}");
        }
    }
}

#[test]
fn every_corpus_spec_in_the_list() {
    let listed: Vec<&str> = CORPUS.iter().map(|(entry, ..)| *entry).collect();
    let mut found = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") || name.ends_with(".yaml") {
            assert!(
                listed.contains(&name.as_str()),
                "{name} is not in the corpus test"
            );
            found += 1;
        }
    }
    assert_eq!(
        found + 3,
        CORPUS.len(),
        "three multi-file specs live in directories"
    );
}

#[test]
fn every_ref_in_the_corpus_resolves() {
    for (entry, root_dir, ..) in CORPUS {
        let set = load(entry, root_dir);
        // The governance spec's reference to the absent `Profile-created-example.yaml` is inside
        // a commented-out block of api.yaml, so nothing in the corpus as published is unavailable.
        let unavailable: Vec<&str> = set.unavailable().map(|(name, _)| name).collect();
        assert!(unavailable.is_empty(), "{entry}: {unavailable:?}");
        let mut checked = 0;
        for (key, document) in set.documents_by_key() {
            for (at, reference) in refs(&document.value) {
                let resolved = set.resolve_deep(key, &reference);
                // Circular schemas are legal; only a chain of bare `$ref`s may loop.
                if let Err(error) = &resolved {
                    assert!(
                        matches!(error, mcpgen::load::ResolveError::Cycle { .. }),
                        "{entry}: {key} {at}: `{reference}`: {error}"
                    );
                }
                checked += 1;
            }
        }
        assert!(
            checked > 0 || !entry.contains("mulesoft-anypoint-api"),
            "{entry}: no refs checked"
        );
    }
}

#[test]
fn dangling_example_ref_is_unavailable_not_fatal() {
    // SOURCES.md: api.yaml names `./examples/Profile-created-example.yaml`, absent upstream. As
    // published the reference sits in a commented-out block, so make it live in a copy.
    let source = corpus().join("mulesoft-anypoint-api-governance");
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&source, copy.path());
    let api = copy.path().join("api.yaml");
    let text = std::fs::read_to_string(&api).unwrap();
    assert!(text.contains("#                  $ref: './examples/Profile-created-example.yaml'"));
    let live = text.replacen(
        "\ncomponents:\n",
        "\ncomponents:\n  examples:\n    ProfileCreated:\n      $ref: './examples/Profile-created-example.yaml'\n",
        1,
    );
    std::fs::write(&api, live).unwrap();

    let set = load_spec(&api, copy.path()).unwrap_or_else(|e| panic!("{}", e.render()));
    let unavailable: Vec<_> = set.unavailable().collect();
    assert_eq!(unavailable.len(), 1);
    let (name, diagnostic) = unavailable[0];
    assert_eq!(name, "examples/Profile-created-example.yaml");
    assert_eq!(diagnostic.code, "file-not-found");
    assert!(
        diagnostic
            .to_string()
            .contains("api.yaml:429:7 at /components/examples/ProfileCreated/$ref"),
        "placed at the reference: {diagnostic}"
    );
    assert_eq!(operations(&set, "paths"), 11);
    let error = set
        .resolve(set.root_key(), "./examples/Profile-created-example.yaml")
        .unwrap_err();
    assert_eq!(error.code(), "file-not-found");
    // Everything else still resolves.
    let pointer = "/components/examples/ProfileCreated";
    assert!(set.root().value.pointer(pointer).is_some());
    assert!(set.documents().count() > 20);
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn petstore_separate_resolves_across_directories() {
    let set = load(
        "oai-petstore-separate-v2.0/spec/swagger.yaml",
        "oai-petstore-separate-v2.0",
    );
    let keys: Vec<&str> = set
        .documents_by_key()
        .map(|(key, _)| key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "common/Error.yaml",
            "spec/NewPet.yaml",
            "spec/Pet.yaml",
            "spec/parameters.yaml",
            "spec/swagger.yaml"
        ]
    );
    let get = &set.root().value["paths"]["/pets"]["get"];
    assert_eq!(get["parameters"][0]["name"], "tags");
    assert_eq!(get["parameters"][0]["style"], "form");
    assert_eq!(get["parameters"][0]["explode"], false);
    let error_schema =
        &get["responses"]["default"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(error_schema, "../common/Error.yaml");
    let resolved = set
        .resolve_deep(set.root_key(), error_schema.as_str().unwrap())
        .unwrap();
    assert_eq!(resolved.doc.as_str(), "common/Error.yaml");
}

/// Every `$ref` string with its pointer.
fn refs(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), value)];
    while let Some((at, value)) = stack.pop() {
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    let child = mcpgen::load::push_token(&at, name);
                    match member {
                        Value::String(reference) if name == "$ref" => {
                            out.push((child, reference.clone()))
                        }
                        _ => stack.push((child, member)),
                    }
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    stack.push((format!("{at}/{index}"), item));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn json_specs_parse_exactly_as_serde_json_does() {
    let mut checked = 0;
    for (entry, ..) in CORPUS.iter().filter(|(entry, ..)| entry.ends_with(".json")) {
        let path = corpus().join(entry);
        let bytes = std::fs::read(&path).unwrap();
        let document = mcpgen::load::parse_document(&path, &bytes).unwrap();
        let expected: Value = serde_json::from_slice(&bytes).unwrap();
        // Compared as text, so member order counts too.
        assert_eq!(
            serde_json::to_string(&document.value).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "{entry}"
        );
        assert!(document.positions.len() > 10, "{entry}: positions recorded");
        checked += 1;
    }
    assert_eq!(checked, 10);
}
