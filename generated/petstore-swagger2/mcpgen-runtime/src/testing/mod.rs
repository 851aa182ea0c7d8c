//! Test support for generated crates (feature `testing`).
//!
//! A generated crate's `tests/tools.rs` has one test per tool:
//!
//! ```ignore
//! #[tokio::test]
//! async fn list_pets() {
//!     mcpgen_runtime::testing::check_fixture(&my_crate::SERVER, include_str!("cases/list_pets.json")).await;
//! }
//! ```
//!
//! [`check_fixture`] starts a [`MockUpstream`] (axum on `127.0.0.1:0`, recording every request
//! and answering with the fixture's canned response) and the server, configured with the
//! fixture's `env` and the mock's URL (keeping the path of the spec's base URL), and talks to
//! it with an in-process rmcp client over `tokio::io::duplex` ([`connect`]). It then:
//! 1. lists the tools (following `nextCursor`) and asserts the tool is listed and its
//!    `inputSchema` compiles as a JSON Schema;
//! 2. calls the tool and asserts the request the mock received and the result;
//! 3. if the fixture has `invalid`, calls the tool with those arguments and asserts an
//!    `isError` result whose text mentions `invalid.mentions`, and that the mock received no
//!    further request;
//! 4. asserts that no `secrets` and no `call.absent` string occurs in any result (serialized
//!    whole) or any audit line, and that each call wrote exactly one audit line.
//!
//! Failures panic with the expected and the actual value side by side.
//!
//! # Fixture format
//!
//! A JSON object (unknown keys are rejected, so typos fail loudly):
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `tool` | string | tool name |
//! | `env` | object of strings | environment variables the server reads (default `{}`) |
//! | `secrets` | array of strings | must never appear in results or logs (default `[]`) |
//! | `call.arguments` | object | tool arguments (default `{}`) |
//! | `call.upstream.status` | integer | status the mock answers |
//! | `call.upstream.content_type` | string or null | its `Content-Type` (default none) |
//! | `call.upstream.body` | string | its body as text (default `""`) |
//! | `call.upstream.body_base64` | string | its body as base64, for binary responses (wins over `body`) |
//! | `call.request.method` | string | expected method |
//! | `call.request.path` | string | expected raw path (percent-encoded, base path included) |
//! | `call.request.query` | array of `[name, value]` | expected decoded query pairs, in order (default `[]`: no query) |
//! | `call.request.headers` | object of strings | headers that must be present with exactly these values (names case-insensitive; several values are joined with `, `); others are allowed |
//! | `call.request.body` | null or object | `null`: no body; `{"json": value}`; `{"form": [[k, v], ...]}`; `{"multipart": [part, ...]}`; `{"text": "..."}`; `{"base64": "..."}` |
//! | multipart part | object | `name`, `filename` (string or null), `content_type` (string or null), and `text` or `base64` |
//! | `call.result.is_error` | bool | expected `isError` |
//! | `call.result.structured` | any | expected `structuredContent` (checked when present) |
//! | `call.result.text` | string | expected text content, all text blocks concatenated |
//! | `call.result.text_contains` | string | a substring of the text content |
//! | `call.result.blob` | object | `{"mime_type", "base64"}`: an image, audio or embedded-resource blob block |
//! | `call.absent` | array of strings | must not appear in the result or the audit log (default `[]`) |
//! | `invalid.arguments` | object | arguments that break the input schema |
//! | `invalid.mentions` | string | text the error must contain (usually the argument name) |
//!
//! ```json
//! {
//!   "tool": "get_pet",
//!   "env": {"PETS_API_KEY": "test-secret-3f9a"},
//!   "secrets": ["test-secret-3f9a"],
//!   "call": {
//!     "arguments": {"pet_id": "42"},
//!     "upstream": {"status": 200, "content_type": "application/json", "body": "{\"id\":42,\"name\":\"Rex\"}"},
//!     "request": {
//!       "method": "GET", "path": "/v1/pets/42", "query": [],
//!       "headers": {"api_key": "test-secret-3f9a", "accept": "application/json"},
//!       "body": null
//!     },
//!     "result": {"is_error": false, "structured": {"id": 42, "name": "Rex"}},
//!     "absent": []
//!   },
//!   "invalid": {"arguments": {"pet_id": 42}, "mentions": "pet_id"}
//! }
//! ```

mod fixture;
mod mock;
mod multipart;
#[cfg(test)]
mod tests;

pub use fixture::{
    CallCase, CannedResponse, ExpectedBlob, ExpectedBody, ExpectedPart, ExpectedRequest,
    ExpectedResult, Fixture, InvalidCase, check_request, check_result, result_text,
};
pub use mock::{MockResponse, MockUpstream, RecordedRequest};
pub use multipart::{ReceivedPart, boundary as multipart_boundary, parse as parse_multipart};

use rmcp::model::{CallToolRequestParams, CallToolResult, PaginatedRequestParams, Tool};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use crate::audit::AuditSink;
use crate::config::Settings;
use crate::server::McpServer;
use crate::spec::ServerSpec;

/// An in-process MCP client connected to `server` over an in-memory duplex pipe.
///
/// # Panics
/// If the MCP handshake fails.
pub async fn connect(server: McpServer) -> RunningService<RoleClient, ()> {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io)
        .await
        .unwrap_or_else(|e| panic!("in-process MCP client: handshake failed: {e}"))
}

/// Lists every tool, following `nextCursor`.
///
/// # Panics
/// If a `tools/list` request fails or the pages never end.
pub async fn list_all_tools(client: &RunningService<RoleClient, ()>) -> Vec<Tool> {
    let mut tools = Vec::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let params = cursor.map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
        let page = client
            .list_tools(params)
            .await
            .unwrap_or_else(|e| panic!("tools/list failed: {e}"));
        tools.extend(page.tools);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return tools,
        }
    }
    panic!("tools/list: pages never end");
}

/// What a fixture run saw, for further assertions.
#[derive(Debug)]
pub struct FixtureRun {
    /// The result of the valid call.
    pub result: CallToolResult,
    /// The result of the invalid call, if the fixture has one.
    pub invalid_result: Option<CallToolResult>,
    /// Requests the mock upstream received.
    pub requests: Vec<RecordedRequest>,
    /// Audit lines written.
    pub audit: Vec<String>,
}

/// Runs [`check_fixture`] on its own tokio runtime, for plain `#[test]` functions: generated
/// crates then need no direct dependency on tokio.
///
/// # Panics
/// As [`check_fixture`], or if the runtime cannot be built.
pub fn run_fixture(spec: &'static ServerSpec, fixture: &str) -> FixtureRun {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime for the fixture: {e}"))
        .block_on(check_fixture(spec, fixture))
}

/// Runs one fixture against `spec` (see the [module docs](self)) and returns what it saw.
///
/// # Panics
/// When the fixture is malformed or any expectation fails.
pub async fn check_fixture(spec: &'static ServerSpec, fixture: &str) -> FixtureRun {
    let fixture: Fixture = serde_json::from_str(fixture)
        .unwrap_or_else(|e| panic!("the fixture is not valid fixture JSON: {e}"));
    let tool = fixture.tool.as_str();
    let mock = MockUpstream::start(fixture.call.upstream.to_mock()).await;
    let upstream_url = mock.url_with_path_of(spec.upstream.base_url);
    let settings = Settings::from_lookup(spec, Some(&upstream_url), |name| {
        Ok(fixture.env.get(name).cloned())
    })
    .unwrap_or_else(|e| {
        panic!("tool `{tool}`: the fixture's `env` does not configure the server: {e}")
    });
    let audit = AuditSink::memory();
    let server = McpServer::new(spec, settings, audit.clone())
        .unwrap_or_else(|e| panic!("the server cannot start: {e}"));
    let client = connect(server).await;

    let tools = list_all_tools(&client).await;
    let listed = tools.iter().find(|t| t.name == tool).unwrap_or_else(|| {
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        panic!("tool `{tool}` is not listed; tools/list returned {names:?}")
    });
    let schema = Value::Object((*listed.input_schema).clone());
    if let Err(e) = jsonschema::validator_for(&schema) {
        panic!("tool `{tool}`: inputSchema does not compile: {e}");
    }

    let call = |arguments: serde_json::Map<String, Value>| {
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let client = &client;
        async move {
            client.call_tool(params).await.unwrap_or_else(|e| {
                panic!("tool `{tool}`: tools/call failed at the protocol level: {e}")
            })
        }
    };
    let result = call(fixture.call.arguments.clone()).await;
    let requests = mock.requests();
    assert_eq!(
        requests.len(),
        1,
        "tool `{tool}`: the upstream should receive exactly one request, got {}: {requests:#?}\nresult: {}",
        requests.len(),
        result_text(&result)
    );
    check_request(tool, &fixture.call.request, &requests[0]);
    check_result(tool, &fixture.call.result, &result);

    let mut calls = 1;
    let invalid_result = match &fixture.invalid {
        None => None,
        Some(invalid) => {
            calls += 1;
            let bad = call(invalid.arguments.clone()).await;
            let text = result_text(&bad);
            assert_eq!(
                bad.is_error,
                Some(true),
                "tool `{tool}`: invalid arguments should give an isError result, got: {text}"
            );
            assert!(
                text.contains(&invalid.mentions),
                "tool `{tool}`: the invalid-arguments error should mention {:?}, got: {text}",
                invalid.mentions
            );
            let after = mock.requests().len();
            assert_eq!(
                after, 1,
                "tool `{tool}`: invalid arguments must not reach the upstream ({after} requests)"
            );
            Some(bad)
        }
    };
    let _ = client.cancel().await;

    let lines = audit.lines();
    let call_lines = lines
        .iter()
        .filter(|l| l.contains(r#""event":"tool_call""#))
        .count();
    assert_eq!(
        call_lines, calls,
        "tool `{tool}`: expected one audit line per call ({calls}), got: {lines:#?}"
    );
    let mut haystacks = vec![
        (
            "result".to_owned(),
            serde_json::to_string(&result).unwrap_or_default(),
        ),
        ("result text".to_owned(), result_text(&result)),
    ];
    if let Some(bad) = &invalid_result {
        haystacks.push((
            "invalid-call result".into(),
            serde_json::to_string(bad).unwrap_or_default(),
        ));
        haystacks.push(("invalid-call result text".into(), result_text(bad)));
    }
    haystacks.extend(lines.iter().map(|l| ("audit line".to_owned(), l.clone())));
    for needle in fixture.secrets.iter().chain(&fixture.call.absent) {
        for (what, hay) in &haystacks {
            assert!(
                !hay.contains(needle.as_str()),
                "tool `{tool}`: {needle:?} must not appear, but the {what} contains it: {hay}"
            );
        }
    }
    FixtureRun {
        result,
        invalid_result,
        requests,
        audit: lines,
    }
}
