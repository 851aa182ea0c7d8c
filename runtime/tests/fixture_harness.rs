//! End-to-end tests of the runtime through [`check_fixture`], against the hand-written
//! `testing_specs::PETS` server; they also prove the harness notices wrong expectations.

#![cfg(feature = "testing")]

// Each suite uses some of the shared specs.
#[allow(dead_code)]
#[path = "support/specs.rs"]
mod testing_specs;

use serde_json::{Value, json};

use mcpgen_runtime::observe::audit::AuditSink;
use mcpgen_runtime::protocol::server::McpServer;
use mcpgen_runtime::spec::{self, SchemaText, ServerSpec};
use mcpgen_runtime::support::settings::Settings;
use mcpgen_runtime::testing::*;
use rmcp::model::PaginatedRequestParams;
use testing_specs::PETS;

const KEY: &str = "test-secret-3f9a";

fn env() -> Value {
    json!({"PETS_API_KEY": KEY, "PETS_TENANT": "acme"})
}

async fn run(fixture: Value) -> FixtureRun {
    check_fixture(&PETS, &fixture.to_string()).await
}

fn get_pet_fixture() -> Value {
    json!({
        "tool": "get_pet",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {"pet_id": "42/ü", "fields": ["name", "age"], "trace": "t-9", "session": "s 1"},
            "upstream": {
                "status": 200,
                "content_type": "application/json",
                "body": r#"{"id":42,"name":"Rex","owner":{"email":"rex@owner.example","card":"4111111111111111"},"internal_note":"mcpgen-redacted-7"}"#
            },
            "request": {
                "method": "GET",
                "path": "/v1/pets/42%2F%C3%BC",
                "query": [["fields", "name,age"], ["verbose", "false"], ["format", "json"], ["tenant", "acme"]],
                "headers": {"api_key": KEY, "Accept": "application/json", "x-trace": "t-9", "cookie": "session=s%201"},
                "body": null
            },
            "result": {"is_error": false, "structured": {"id": 42, "name": "Rex", "owner": {"card": "****1111"}}},
            "absent": ["rex@owner.example", "4111111111111111", "mcpgen-redacted-7"]
        },
        "invalid": {"arguments": {"pet_id": "1", "verbose": "yes"}, "mentions": "verbose"}
    })
}

#[tokio::test]
async fn get_with_path_query_header_cookie_and_api_key() {
    let run = run(get_pet_fixture()).await;
    // The request id sent upstream is the one in the audit line.
    let sent = run.requests[0].header("x-request-id").unwrap();
    let line: Value = serde_json::from_str(&run.audit[0]).unwrap();
    assert_eq!(line["request_id"], sent.as_str());
    assert_eq!(line["operation"], "getPet");
    assert_eq!(line["upstream_status"], 200);
    assert_eq!(line["outcome"], "ok");
    assert_eq!(
        line["arguments"],
        json!(["fields", "pet_id", "session", "trace"])
    );
    let invalid: Value = serde_json::from_str(&run.audit[1]).unwrap();
    assert_eq!(invalid["outcome"], "invalid_arguments");
    assert_eq!(invalid["upstream_status"], Value::Null);
    // Argument values never reach the log.
    for line in &run.audit {
        for value in ["42/ü", "t-9", "s 1", "yes"] {
            assert!(!line.contains(value), "{value} in {line}");
        }
    }
}

#[tokio::test]
async fn post_json_body_with_bearer_token() {
    run(json!({
        "tool": "create_pet",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {"name": "Rex", "tags": ["good", "boy"]},
            "upstream": {"status": 201, "content_type": "application/json", "body": r#"{"id":7,"name":"Rex"}"#},
            "request": {
                "method": "POST",
                "path": "/v1/pets",
                "headers": {"authorization": format!("Bearer {KEY}"), "content-type": "application/json"},
                "body": {"json": {"name": "Rex", "tags": ["good", "boy"], "source": "mcp"}}
            },
            "result": {"is_error": false, "structured": {"id": 7, "name": "Rex"}}
        },
        "invalid": {"arguments": {"name": ""}, "mentions": "/name"}
    }))
    .await;
}

#[tokio::test]
async fn form_body_with_basic_auth_and_query_key() {
    let run = run(json!({
        "tool": "login",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {"user": "ann", "pass": "p@ss word&1"},
            "upstream": {"status": 200, "content_type": "text/plain; charset=utf-8", "body": "welcome ann"},
            "request": {
                "method": "POST",
                "path": "/v1/login",
                "query": [["key", KEY]],
                "headers": {"authorization": "Basic YWNtZTp0ZXN0LXNlY3JldC0zZjlh", "accept": "text/plain"},
                "body": {"form": [["user", "ann"], ["pass", "p@ss word&1"]]}
            },
            "result": {"is_error": false, "text": "welcome ann"}
        },
        "invalid": {"arguments": {"user": "ann"}, "mentions": "pass"}
    }))
    .await;
    assert_eq!(
        run.requests[0].raw_query.as_deref(),
        Some(&*format!("key={KEY}"))
    );
}

#[tokio::test]
async fn multipart_upload_with_a_file_part() {
    run(json!({
        "tool": "upload_photo",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {"pet_id": 5, "photo": "data:image/png;base64,iVBORw0KGgo=", "caption": "at the beach", "meta": {"w": 2}},
            "upstream": {"status": 200, "content_type": "application/json", "body": r#"{"ok":true}"#},
            "request": {
                "method": "POST",
                "path": "/v1/pets/5/photo",
                "headers": {"cookie": format!("sid={KEY}")},
                "body": {"multipart": [
                    {"name": "photo", "filename": "photo", "content_type": "image/png", "base64": "iVBORw0KGgo="},
                    {"name": "caption", "filename": null, "content_type": null, "text": "at the beach"},
                    {"name": "meta", "filename": null, "content_type": "application/json", "text": r#"{"w":2}"#}
                ]}
            },
            "result": {"is_error": false, "structured": {"ok": true}}
        },
        "invalid": {"arguments": {"pet_id": "five", "photo": "x"}, "mentions": "pet_id"}
    }))
    .await;
}

#[tokio::test]
async fn wrapped_array_with_allowlist_and_masking() {
    run(json!({
        "tool": "list_pets",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {"limit": 2},
            "upstream": {
                "status": 200,
                "content_type": "application/json",
                "body": r#"[{"id":1,"name":"Rex","chip":"985112003456789","vet":"dr-who-5521"},{"id":2,"name":"Tom","chip":null}]"#
            },
            "request": {"method": "GET", "path": "/v1/pets", "query": [["limit", "2"]], "headers": {"api_key": KEY}, "body": null},
            "result": {"is_error": false, "structured": {"items": [
                {"id": 1, "name": "Rex", "chip": "****789"},
                {"id": 2, "name": "Tom", "chip": null}
            ]}},
            "absent": ["985112003456789", "dr-who-5521"]
        },
        "invalid": {"arguments": {"limit": 0}, "mentions": "limit"}
    }))
    .await;
}

#[tokio::test]
async fn upstream_404_is_a_tool_error() {
    let run = run(json!({
        "tool": "get_pet",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {"pet_id": "404"},
            "upstream": {"status": 404, "content_type": "application/json", "body": format!(r#"{{"message":"no pet 404","echo":"{KEY}"}}"#)},
            "request": {"method": "GET", "path": "/v1/pets/404",
                "query": [["verbose", "false"], ["format", "json"], ["tenant", "acme"]], "body": null},
            "result": {"is_error": true, "text_contains": "upstream returned HTTP 404 Not Found\n{\"message\":\"no pet 404\""}
        }
    }))
    .await;
    let line: Value = serde_json::from_str(&run.audit[0]).unwrap();
    assert_eq!(
        (line["outcome"].as_str(), line["upstream_status"].as_u64()),
        (Some("upstream_error"), Some(404))
    );
}

#[tokio::test]
async fn output_drift_is_a_success_with_conforming_structured_content() {
    let run = run(json!({
        "tool": "list_pets",
        "env": env(),
        "secrets": [KEY],
        "call": {
            "arguments": {},
            "upstream": {"status": 200, "content_type": "application/json", "body": r#"[{"id":"one","chip":"985112003456789"},{"id":2,"name":"Tom"}]"#},
            "request": {"method": "GET", "path": "/v1/pets", "body": null},
            "result": {"is_error": false, "text_contains": "does not match this tool's output schema at /items/*, /items/*/id"},
            "absent": ["985112003456789"]
        }
    }))
    .await;
    // The first item breaks its schema (a string id, no name): it is left out of the
    // structured content, which conforms; the text holds the whole (masked) answer.
    assert_eq!(
        run.result.structured_content,
        Some(json!({"items": [{"id": 2, "name": "Tom"}]}))
    );
    let text = result_text(&run.result);
    assert!(
        text.contains(r#""id":"one""#) && text.contains("****789"),
        "{text}"
    );
    let line: Value = serde_json::from_str(&run.audit[0]).unwrap();
    assert_eq!(
        (line["level"].as_str(), line["outcome"].as_str()),
        (Some("warn"), Some("output_drift"))
    );
    assert_eq!(line["drift"], json!(["/items/*", "/items/*/id"]));
}

#[tokio::test]
async fn binary_body_and_binary_response() {
    run(json!({
        "tool": "put_file",
        "env": env(),
        "call": {
            "arguments": {"name": "report.pdf", "content": "JVBERi0xLjQK"},
            "upstream": {"status": 200, "content_type": "application/pdf", "body_base64": "JVBERi0xLjQK/w=="},
            "request": {
                "method": "PUT",
                "path": "/v1/files/report.pdf",
                "headers": {"content-type": "application/octet-stream", "accept": "*/*"},
                "body": {"base64": "JVBERi0xLjQK"}
            },
            "result": {"is_error": false, "blob": {"mime_type": "application/pdf", "base64": "JVBERi0xLjQK/w=="}}
        }
    }))
    .await;
}

#[tokio::test]
async fn no_content_response() {
    run(json!({
        "tool": "put_file",
        "env": env(),
        "call": {
            "arguments": {"name": "a", "content": ""},
            "upstream": {"status": 204},
            "request": {"method": "PUT", "path": "/v1/files/a", "body": null},
            "result": {"is_error": false, "text": "HTTP 204 No Content"}
        }
    }))
    .await;
}

// The harness itself must fail when reality differs from the fixture.

#[tokio::test]
#[should_panic(expected = "header `api_key`")]
async fn harness_notices_a_wrong_header() {
    let mut fixture = get_pet_fixture();
    fixture["call"]["request"]["headers"]["api_key"] = json!("other");
    run(fixture).await;
}

#[tokio::test]
#[should_panic(expected = "query pairs")]
async fn harness_notices_a_wrong_query() {
    let mut fixture = get_pet_fixture();
    fixture["call"]["request"]["query"] = json!([["fields", "name,age"]]);
    run(fixture).await;
}

#[tokio::test]
#[should_panic(expected = "must not appear")]
async fn harness_notices_a_leak() {
    let mut fixture = get_pet_fixture();
    // "Rex" is in the result; declaring it absent must fail the check.
    fixture["call"]["absent"] = json!(["Rex"]);
    run(fixture).await;
}

#[tokio::test]
#[should_panic(expected = "multipart parts")]
async fn harness_notices_a_wrong_part() {
    run(json!({
        "tool": "upload_photo",
        "env": env(),
        "call": {
            "arguments": {"pet_id": 5, "photo": "aGk="},
            "upstream": {"status": 200, "content_type": "application/json", "body": "{}"},
            "request": {"method": "POST", "path": "/v1/pets/5/photo",
                "body": {"multipart": [{"name": "photo", "filename": "photo", "content_type": "image/png", "text": "hi"}]}},
            "result": {"is_error": false}
        }
    }))
    .await;
}

#[tokio::test]
#[should_panic(expected = "missing environment variable: PETS_TENANT")]
async fn harness_reports_missing_env() {
    let mut fixture = get_pet_fixture();
    fixture["env"] = json!({"PETS_API_KEY": KEY});
    run(fixture).await;
}

// Failures that fixtures do not cover: timeouts, size limits, unreachable upstreams.

static SLOW: ServerSpec = ServerSpec {
    name: "slow",
    version: "0.0.1",
    title: None,
    instructions: None,
    contract: None,
    upstream: spec::UpstreamSpec {
        base_url: "http://127.0.0.1:9/v1",
        base_url_env: "",
        timeout_ms: 300,
        max_response_bytes: 16,
        credentials: &[],
        oauth: None,
    },
    tools: &[&testing_specs::PUT_FILE],
    scopes: &[],
    limits: testing_specs::LIMITS,
    escalation: None,
};

async fn slow_server(mock: &MockUpstream) -> McpServer {
    let settings = Settings::new(mock.url_with_path_of(SLOW.upstream.base_url));
    McpServer::new(&SLOW, settings, AuditSink::memory()).unwrap()
}

fn args(v: Value) -> Option<serde_json::Map<String, Value>> {
    v.as_object().cloned()
}

#[tokio::test]
async fn timeouts_and_unreachable_upstreams_are_tool_errors_and_size_limits_are_notes() {
    let mock = MockUpstream::start(MockResponse {
        delay: Some(std::time::Duration::from_millis(2_000)),
        ..MockResponse::json(200, &json!({}))
    })
    .await;
    let server = slow_server(&mock).await;
    let call = || server.call("put_file", args(json!({"name": "a", "content": ""})));
    let result = call().await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        result_text(&result).contains("did not answer within 300 ms"),
        "{}",
        result_text(&result)
    );

    mock.set_response(MockResponse::json(
        200,
        &json!({"much": "more than sixteen bytes"}),
    ));
    let result = call().await.unwrap();
    let text = result_text(&result);
    assert_eq!(result.is_error, Some(false));
    assert!(
        text.contains("larger than this server's limit of 16 bytes"),
        "{text}"
    );
    assert!(
        text.starts_with(r#"{"much": "more t"#) || text.starts_with(r#"{"much":"more th"#),
        "{text}"
    );

    let outcomes: Vec<String> = server
        .audit()
        .lines()
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(outcomes, ["timeout", "response_truncated"]);

    let url = mock.url();
    drop(mock);
    let gone = McpServer::new(
        &SLOW,
        Settings::new(format!("{url}/v1")),
        AuditSink::memory(),
    )
    .unwrap();
    let result = gone
        .call("put_file", args(json!({"name": "a", "content": ""})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        result_text(&result).contains("could not be reached"),
        "{}",
        result_text(&result)
    );
    assert!(
        !result_text(&result).contains(&url),
        "the URL is not echoed"
    );

    let err = gone
        .call("nope", args(json!({"k": "v-secret"})))
        .await
        .unwrap_err();
    assert_eq!(err.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    let line: Value = serde_json::from_str(gone.audit().lines().last().unwrap()).unwrap();
    assert_eq!(line["outcome"], "unknown_tool");
    assert_eq!(
        (line["tool"].as_str(), line["operation"].is_null()),
        (Some("nope"), true)
    );
    assert_eq!(line["arguments"], json!(["k"]));
}

#[tokio::test]
async fn list_tools_rejects_a_bad_cursor_over_mcp() {
    let mock = MockUpstream::start(MockResponse::json(200, &json!({}))).await;
    let settings = Settings::new(mock.url())
        .with_var("PETS_API_KEY", KEY)
        .with_var("PETS_TENANT", "t");
    let client = connect(McpServer::new(&PETS, settings, AuditSink::memory()).unwrap()).await;
    let names: Vec<String> = list_all_tools(&client)
        .await
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "create_pet",
            "delete_pet",
            "get_pet",
            "list_pets",
            "login",
            "put_file",
            "upload_photo"
        ]
    );
    let bad = PaginatedRequestParams::default().with_cursor(Some("bogus".into()));
    let err = client.list_tools(Some(bad)).await.unwrap_err();
    assert!(err.to_string().contains("invalid cursor"), "{err}");
    let info = client.peer_info().unwrap();
    let server_info = info.server_info.as_ref().unwrap();
    assert_eq!(server_info.name, "pets");
    assert_eq!(server_info.title.as_deref(), Some("Pet Store"));
    assert_eq!(
        info.instructions.as_deref(),
        Some("Tools for the pet store.")
    );
    let _ = client.cancel().await;
}

// A tool whose published schema was rewritten for OpenAI strict mode: every property required,
// optional ones nullable; arguments are checked against the spec's own schema.

static STRICT_LIST: spec::ToolSpec = spec::ToolSpec {
    name: "list_pets",
    title: None,
    description: "Lists pets.",
    operation: spec::OperationSpec {
        id: None,
        method: spec::HttpMethod::Get,
        path: "/pets",
    },
    input_schema: SchemaText::Inline(
        r#"{"type":"object","properties":{"limit":{"type":["integer","null"]},
        "tag":{"type":["string","null"]}},"required":["limit","tag"],"additionalProperties":false}"#,
    ),
    spec_input_schema: Some(SchemaText::Inline(
        r#"{"type":"object","properties":{"limit":{"type":"integer","minimum":1},
        "tag":{"type":"string"}},"additionalProperties":false}"#,
    )),
    nulls_absent: true,
    output: spec::OutputSpec::NONE,
    params: &[
        spec::ParamSpec {
            name: "limit",
            location: spec::ParamLocation::Query,
            style: spec::ParamStyle::Form,
            explode: true,
            allow_reserved: false,
            value: spec::ValueSource::Argument {
                name: "limit",
                default: None,
            },
        },
        spec::ParamSpec {
            name: "tag",
            location: spec::ParamLocation::Query,
            style: spec::ParamStyle::Form,
            explode: true,
            allow_reserved: false,
            value: spec::ValueSource::Argument {
                name: "tag",
                default: None,
            },
        },
    ],
    body: None,
    accept: "application/json",
    credentials: &[],
    scopes: &[],
    hints: spec::HintsSpec {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    },
    confirm: false,
    identity: spec::IdentityMode::ServiceAccount,
    contract: testing_specs::CONTRACT,
    escalation: None,
};

static STRICT: ServerSpec = ServerSpec {
    name: "strict",
    version: "0.0.1",
    title: None,
    instructions: None,
    contract: None,
    upstream: spec::UpstreamSpec {
        base_url: "http://127.0.0.1:9/v1",
        base_url_env: "",
        timeout_ms: 5_000,
        max_response_bytes: 1 << 20,
        credentials: &[],
        oauth: None,
    },
    tools: &[&STRICT_LIST],
    scopes: &[],
    limits: testing_specs::LIMITS,
    escalation: None,
};

#[tokio::test]
async fn null_means_absent_and_the_spec_schema_is_still_enforced() {
    let mock = MockUpstream::start(MockResponse::json(200, &json!([]))).await;
    let settings = Settings::new(mock.url_with_path_of(STRICT.upstream.base_url));
    let server = McpServer::new(&STRICT, settings, AuditSink::memory()).unwrap();

    let result = server
        .call("list_pets", args(json!({"limit": null, "tag": "cat"})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].query, [("tag".to_owned(), "cat".to_owned())]);

    // Leaving an argument out is as good as null (the published schema is stricter than it
    // needs to be)…
    let result = server
        .call("list_pets", args(json!({"tag": "dog"})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    assert_eq!(
        mock.requests()[1].query,
        [("tag".to_owned(), "dog".to_owned())]
    );
    // …and the spec's schema still bounds the values.
    let result = server
        .call("list_pets", args(json!({"limit": 0, "tag": null})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        result_text(&result).contains("Invalid arguments"),
        "{}",
        result_text(&result)
    );
    assert_eq!(mock.requests().len(), 2, "refused calls reach no upstream");

    let result = server
        .call("list_pets", args(json!({"limit": 5, "tag": null})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    assert_eq!(
        mock.requests()[2].query,
        [("limit".to_owned(), "5".to_owned())]
    );
}
