//! Test support for generated crates (feature `testing`).
//!
//! A generated crate's `tests/tools.rs` has one test per tool:
//!
//! ```ignore
//! const CASES: &str = include_str!("cases.json");
//! #[test]
//! fn list_pets() {
//!     mcpgen_runtime::testing::run_fixture(&my_crate::SERVER, &mcpgen_runtime::testing::case(CASES, "list_pets"));
//! }
//! #[test]
//! fn list_pets_auth() {
//!     mcpgen_runtime::testing::run_auth_checks(&my_crate::SERVER, &mcpgen_runtime::testing::case(CASES, "list_pets"));
//! }
//! ```
//!
//! [`check_fixture`] (and [`run_fixture`], its blocking form) starts a [`MockUpstream`] (axum on
//! `127.0.0.1:0`, recording every request and answering with the fixture's canned response),
//! a [`MockAuthServer`] when the tool obtains upstream tokens, and the server, configured with
//! the fixture's `env`, the mock's URL (keeping the path of the spec's base URL) and the mock
//! token endpoint. It runs as a test principal (subject [`TEST_SUBJECT`], client
//! [`TEST_CLIENT_ID`]) holding every scope the server declares and a caller token, and talks to
//! it with an in-process rmcp client over `tokio::io::duplex` ([`connect`]). It then:
//! 1. lists the tools (following `nextCursor`) and asserts the tool is listed and its
//!    `inputSchema` compiles as a JSON Schema;
//! 2. with `call.confirm`, calls the tool without a confirmation token and asserts a dry run:
//!    not `isError` (unless the tool publishes an output schema), mentioning the method and the
//!    path, holding a confirmation token, and no upstream (or token endpoint) request; then
//!    calls again with the token;
//! 3. asserts the request the mock received and the result; with `oauth`, that the token
//!    endpoint received the right grant (client credentials with the client's id and secret,
//!    or token exchange with the caller token as `subject_token`);
//! 4. if the fixture has `invalid`, calls the tool with those arguments and asserts an
//!    `isError` result whose text mentions `invalid.mentions`, and that the mock received no
//!    further request;
//! 5. asserts that no `secrets`, no `call.absent` string, no caller or upstream token occurs in
//!    any result (serialized whole) or any audit line, that no confirmation token occurs in an
//!    audit line, and that each call wrote exactly one audit line.
//!
//! [`run_auth_checks`] starts the real streamable HTTP transport on `127.0.0.1:0` with a
//! [`MockAuthServer`] as the issuer (metadata, JWKS with a freshly generated [`TestKey`]) and
//! proves, for the fixture's tool, with real signed tokens: the protected resource metadata is
//! served with this server's resource and scopes; no token → 401 with a `resource_metadata`
//! pointer; a bad signature, a wrong audience, a wrong issuer, an expired token → 401
//! `invalid_token`; a token without the tool's scopes does not see the tool in `tools/list` and
//! its call is refused with 403 `insufficient_scope` naming the scopes, with no upstream request
//! (skipped for tools without scopes); a valid token's call meets the fixture's expectations;
//! no secret or token appears in any result or audit line.
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
//! | `caller_token` | string | the test caller's access token (default [`TEST_CALLER_TOKEN`]); passthrough sends it, token exchange exchanges it |
//! | `oauth.access_token` | string | the upstream token the mock token endpoint issues (client credentials, token exchange) |
//! | `oauth.expires_in` | integer | its lifetime (default 3600) |
//! | `call.confirm` | bool | the tool needs confirmation: dry run first, then the call with the token (default `false`) |
//! | `call.arguments` | object | tool arguments (default `{}`) |
//! | `call.upstream.status` | integer | status the mock answers |
//! | `call.upstream.content_type` | string or null | its `Content-Type` (default none) |
//! | `call.upstream.body` | string | its body as text (default `""`) |
//! | `call.upstream.body_base64` | string | its body as base64, for binary responses (wins over `body`) |
//! | `call.request.method` | string | expected method |
//! | `call.request.path` | string | expected raw path (percent-encoded, base path included) |
//! | `call.request.query` | array of `[name, value]` | expected decoded query pairs, in order (default `[]`: no query) |
//! | `call.request.headers` | object of strings | headers that must be present with exactly these values (names case-insensitive; several values are joined with `, `); others are allowed. For token identities, `authorization` is `Bearer <oauth.access_token>` (or `Bearer <caller_token>` for passthrough) |
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

mod auth_checks;
mod auth_server;
mod clients;
mod fixture;
mod mock;
mod multipart;

pub use auth_checks::{AuthRun, check_auth, run_auth_checks};
pub use auth_server::{FormRequest, MockAuthServer, TestKey, TokenReply};
pub use clients::{ConfirmingClient, connect_modern, connect_with};
pub use fixture::{
    CallCase, CannedResponse, ExpectedBlob, ExpectedBody, ExpectedPart, ExpectedRequest,
    ExpectedResult, Fixture, InvalidCase, OAuthCase, check_request, check_result, result_text,
};
pub use mock::{MockResponse, MockUpstream, RecordedRequest};
pub use multipart::{ReceivedPart, boundary as multipart_boundary, parse as parse_multipart};

use rmcp::RoleClient;
use rmcp::model::{CallToolRequestParams, CallToolResult, PaginatedRequestParams, Tool};
use rmcp::service::{RunningService, Service};
use serde_json::Value;
use std::sync::OnceLock;

use crate::identity::upstream_token::{ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT};
use crate::observe::audit::AuditSink;
use crate::protocol::server::McpServer;
use crate::spec::{CONFIRMATION_ARGUMENT, IdentityMode, ServerSpec, ToolSpec};
use crate::support::cli::Cli;
use crate::support::principal::Principal;
use crate::support::secret::Secret;
use crate::support::settings::Settings;

/// Subject of the test principal.
pub const TEST_SUBJECT: &str = "mcpgen-test-user";

/// Client id of the test principal.
pub const TEST_CLIENT_ID: &str = "mcpgen-test-client";

/// The test principal's access token when the fixture sets no `caller_token`.
pub const TEST_CALLER_TOKEN: &str = "mcpgen-test-caller-token-5b1e";

/// An in-process MCP client connected to `server` over an in-memory duplex pipe (legacy
/// `initialize` handshake, no client capabilities).
///
/// # Panics
/// If the MCP handshake fails.
pub async fn connect(server: McpServer) -> RunningService<RoleClient, ()> {
    connect_with(server, ()).await
}

/// Lists every tool, following `nextCursor`.
///
/// # Panics
/// If a `tools/list` request fails or the pages never end.
pub async fn list_all_tools<C: Service<RoleClient>>(
    client: &RunningService<RoleClient, C>,
) -> Vec<Tool> {
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

/// One tool's fixture (JSON text) from a crate's fixtures file, a JSON object of fixtures by
/// tool name. The file is parsed once per test binary.
///
/// # Panics
/// If the file is not such an object or has no fixture for `tool`.
pub fn case(cases: &'static str, tool: &str) -> String {
    static PARSED: OnceLock<(usize, serde_json::Map<String, Value>)> = OnceLock::new();
    let parse = || match serde_json::from_str(cases) {
        Ok(Value::Object(fixtures)) => fixtures,
        _ => panic!("the fixtures file is not a JSON object of fixtures by tool name"),
    };
    let address = cases.as_ptr() as usize;
    let (parsed_address, parsed) = PARSED.get_or_init(|| (address, parse()));
    let other;
    let fixtures = if *parsed_address == address {
        parsed
    } else {
        other = parse();
        &other
    };
    fixtures
        .get(tool)
        .map(Value::to_string)
        .unwrap_or_else(|| panic!("the fixtures file has no fixture for `{tool}`"))
}

/// The tool of `spec` a fixture names.
///
/// # Panics
/// If there is none.
pub fn fixture_tool(spec: &'static ServerSpec, name: &str) -> &'static ToolSpec {
    spec.tools
        .iter()
        .find(|t| t.name == name)
        .copied()
        .unwrap_or_else(|| {
            panic!(
                "the fixture's tool `{name}` is not a tool of `{}`",
                spec.name
            )
        })
}

/// `spec` with `tool` as its only tool: a per-tool test starts a server that prepares one tool
/// rather than all of them, so a crate's suite grows linearly with its tools, not
/// quadratically. Scopes, limits and the upstream stay the server's own.
pub fn narrowed(spec: &'static ServerSpec, tool: &'static ToolSpec) -> &'static ServerSpec {
    let tools: &'static [&'static ToolSpec] = Box::leak(Box::new([tool]));
    Box::leak(Box::new(ServerSpec {
        name: spec.name,
        version: spec.version,
        title: spec.title,
        instructions: spec.instructions,
        contract: spec.contract,
        upstream: spec.upstream,
        tools,
        scopes: spec.scopes,
        limits: spec.limits,
        escalation: spec.escalation,
    }))
}

/// The mock token endpoint a fixture needs: one when the tool obtains upstream tokens.
///
/// # Panics
/// When the fixture's `oauth` and the tool's identity disagree.
pub async fn fixture_auth_server(tool: &ToolSpec, fixture: &Fixture) -> Option<MockAuthServer> {
    let needs = crate::support::requirements::needs_oauth_client(tool.identity);
    match (&fixture.oauth, needs) {
        (None, false) => None,
        (None, true) => panic!(
            "tool `{}` obtains upstream tokens ({}): the fixture needs \"oauth\": \
             {{\"access_token\": \"...\"}}",
            tool.name,
            crate::observe::audit::identity_name(tool.identity)
        ),
        (Some(_), false) => panic!(
            "the fixture has `oauth`, but tool `{}` uses the {} identity, which obtains no token",
            tool.name,
            crate::observe::audit::identity_name(tool.identity)
        ),
        (Some(oauth), true) => {
            let server = MockAuthServer::start().await;
            server.set_token_reply(TokenReply::ok(
                &oauth.access_token,
                Some(oauth.expires_in.unwrap_or(3600)),
            ));
            Some(server)
        }
    }
}

/// Asserts that the mock token endpoint received exactly the grant `tool` needs.
///
/// # Panics
/// When it did not.
pub fn check_grant(
    spec: &ServerSpec,
    tool: &ToolSpec,
    fixture: &Fixture,
    server: &MockAuthServer,
    caller_token: &str,
) {
    let name = tool.name;
    let requests = server.token_requests();
    assert_eq!(
        requests.len(),
        1,
        "tool `{name}`: the token endpoint should receive one request, got {requests:#?}"
    );
    let request = &requests[0];
    let Some(oauth) = &spec.upstream.oauth else {
        panic!("tool `{name}`: the server has no OAuth client");
    };
    let id = fixture
        .env
        .get(oauth.client_id_env)
        .map(String::as_str)
        .unwrap_or_default();
    let secret = fixture
        .env
        .get(oauth.client_secret_env)
        .map(String::as_str)
        .unwrap_or_default();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!(
                "{}:{}",
                crate::support::fetch::basic_part(id),
                crate::support::fetch::basic_part(secret)
            )
        )
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(basic.as_str()),
        "tool `{name}`: the token request must authenticate the client with HTTP Basic ({} / {})",
        oauth.client_id_env,
        oauth.client_secret_env
    );
    match tool.identity {
        IdentityMode::ClientCredentials => assert_eq!(
            request.field("grant_type"),
            Some("client_credentials"),
            "tool `{name}`: grant {:?}",
            request.form
        ),
        IdentityMode::TokenExchange => {
            assert_eq!(
                request.field("grant_type"),
                Some(TOKEN_EXCHANGE_GRANT),
                "tool `{name}`: grant {:?}",
                request.form
            );
            assert_eq!(
                request.field("subject_token"),
                Some(caller_token),
                "tool `{name}`: token exchange must send the caller's token as subject_token"
            );
            assert_eq!(request.field("subject_token_type"), Some(ACCESS_TOKEN_TYPE));
        }
        _ => panic!("tool `{name}`: no grant expected"),
    }
    let scope = oauth.scopes.join(" ");
    if !scope.is_empty() {
        assert_eq!(
            request.field("scope"),
            Some(scope.as_str()),
            "tool `{name}`: scope"
        );
    }
    if let Some(audience) = oauth.audience {
        assert_eq!(
            request.field("audience"),
            Some(audience),
            "tool `{name}`: audience"
        );
    }
}

/// Asserts that `result` is a dry run of `expected` and returns its confirmation token.
///
/// # Panics
/// When it is not.
pub fn check_dry_run(
    tool: &ToolSpec,
    expected: &ExpectedRequest,
    result: &CallToolResult,
) -> String {
    let name = tool.name;
    let text = result_text(result);
    assert_eq!(
        result.is_error.unwrap_or(false),
        tool.output.schema.is_some(),
        "tool `{name}`: a dry run is not an error (except for tools with an output schema): {text}"
    );
    assert!(
        text.contains("DRY RUN") && text.contains(&expected.method.to_ascii_uppercase()),
        "tool `{name}`: the dry run should say it is one and name the method {}: {text}",
        expected.method
    );
    // Values the model never sees (fixed, environment) are masked as `****` in the dry run, so a
    // masked path segment stands for whatever the expected path has there.
    assert!(
        shows_path(&text, &expected.path),
        "tool `{name}`: the dry run should show the path {}: {text}",
        expected.path
    );
    crate::call::dry_run::token_in(&text)
        .unwrap_or_else(|| panic!("tool `{name}`: the dry run holds no confirmation token: {text}"))
        .to_owned()
}

/// Whether `text` shows a URL whose path is `path`, segments masked as `****` matching any value.
fn shows_path(text: &str, path: &str) -> bool {
    let expected: Vec<&str> = path.split('/').collect();
    text.split_whitespace().any(|word| {
        let Some(start) = word.find("://") else {
            return false;
        };
        let after_host = &word[start + 3..];
        let shown = after_host.find('/').map_or("", |i| &after_host[i..]);
        let shown = shown.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = shown.split('/').collect();
        segments.len() == expected.len()
            && segments
                .iter()
                .zip(&expected)
                .all(|(s, e)| s == e || s.contains("****"))
    })
}

/// Runs one fixture against `spec` (see the [module docs](self)) and returns what it saw.
///
/// # Panics
/// When the fixture is malformed or any expectation fails.
pub async fn check_fixture(spec: &'static ServerSpec, fixture: &str) -> FixtureRun {
    let fixture: Fixture = serde_json::from_str(fixture)
        .unwrap_or_else(|e| panic!("the fixture is not valid fixture JSON: {e}"));
    let tool = fixture.tool.as_str();
    let tool_spec = fixture_tool(spec, tool);
    let spec = narrowed(spec, tool_spec);
    let mock = MockUpstream::start(fixture.call.upstream.to_mock()).await;
    let auth_server = fixture_auth_server(tool_spec, &fixture).await;
    let caller_token = fixture
        .caller_token
        .clone()
        .unwrap_or_else(|| TEST_CALLER_TOKEN.to_owned());
    let cli = Cli {
        upstream_url: Some(mock.url_with_path_of(spec.upstream.base_url)),
        oauth_token_url: auth_server.as_ref().map(MockAuthServer::token_url),
        ..Cli::default()
    };
    let settings = Settings::from_lookup(spec, &cli, |name| Ok(fixture.env.get(name).cloned()))
        .unwrap_or_else(|e| {
            panic!("tool `{tool}`: the fixture's `env` does not configure the server: {e}")
        })
        .with_principal(Principal {
            subject: TEST_SUBJECT.into(),
            client_id: Some(TEST_CLIENT_ID.into()),
            scopes: spec.scopes.iter().map(|s| (*s).to_owned()).collect(),
            token: Some(Secret::new(caller_token.clone())),
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
    let mut calls = 0;
    let mut results = Vec::new();
    let mut confirmation = None;
    let mut arguments = fixture.call.arguments.clone();
    if fixture.call.confirm {
        calls += 1;
        let dry = call(arguments.clone()).await;
        let token = check_dry_run(tool_spec, &fixture.call.request, &dry);
        let sent = mock.requests();
        assert!(
            sent.is_empty(),
            "tool `{tool}`: a dry run must not reach the upstream, got {sent:#?}"
        );
        if let Some(server) = &auth_server {
            assert!(
                server.token_requests().is_empty(),
                "tool `{tool}`: a dry run must not request upstream tokens"
            );
        }
        arguments.insert(CONFIRMATION_ARGUMENT.into(), Value::String(token.clone()));
        results.push(("dry-run result", dry));
        confirmation = Some(token);
    }
    calls += 1;
    let result = call(arguments).await;
    let requests = mock.requests();
    let hint = if tool_spec.confirm && !fixture.call.confirm {
        "\nhelp: the tool needs confirmation; set \"call\": {\"confirm\": true, ...}"
    } else {
        ""
    };
    assert_eq!(
        requests.len(),
        1,
        "tool `{tool}`: the upstream should receive exactly one request, got {}: {requests:#?}\nresult: {}{hint}",
        requests.len(),
        result_text(&result)
    );
    check_request(tool, &fixture.call.request, &requests[0]);
    check_result(tool, &fixture.call.result, &result);
    if let Some(server) = &auth_server {
        check_grant(spec, tool_spec, &fixture, server, &caller_token);
    }

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
    results.push(("result", result.clone()));
    if let Some(bad) = &invalid_result {
        results.push(("invalid-call result", bad.clone()));
    }
    let mut haystacks = Vec::new();
    for (what, r) in &results {
        haystacks.push((
            what.to_string(),
            serde_json::to_string(r).unwrap_or_default(),
        ));
        haystacks.push((format!("{what} text"), result_text(r)));
    }
    haystacks.extend(lines.iter().map(|l| ("audit line".to_owned(), l.clone())));
    let mut needles: Vec<&str> = fixture
        .secrets
        .iter()
        .chain(&fixture.call.absent)
        .map(String::as_str)
        .collect();
    needles.push(&caller_token);
    if let Some(oauth) = &fixture.oauth {
        needles.push(&oauth.access_token);
    }
    assert_absent(tool, &needles, &haystacks);
    if let Some(token) = &confirmation {
        let logs: Vec<(String, String)> = lines
            .iter()
            .map(|l| ("audit line".to_owned(), l.clone()))
            .collect();
        assert_absent(tool, &[token.as_str()], &logs);
    }
    FixtureRun {
        result,
        invalid_result,
        requests,
        audit: lines,
    }
}

/// Asserts that no needle occurs in any haystack (`(what, text)` pairs).
///
/// # Panics
/// Naming the needle and where it was found.
pub fn assert_absent(tool: &str, needles: &[&str], haystacks: &[(String, String)]) {
    for needle in needles.iter().filter(|n| !n.is_empty()) {
        for (what, hay) in haystacks {
            assert!(
                !hay.contains(needle),
                "tool `{tool}`: {needle:?} must not appear, but the {what} contains it: {hay}"
            );
        }
    }
}
