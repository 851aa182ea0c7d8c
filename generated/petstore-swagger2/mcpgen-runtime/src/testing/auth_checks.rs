//! [`run_auth_checks`]: the real HTTP transport, real signed tokens, one fixture's tool.
//!
//! Owns the sequence the [module docs](super) describe: it serves the generated server on
//! `127.0.0.1:0` with a [`MockAuthServer`] as the issuer (its metadata leads to a JWKS holding a
//! freshly generated [`TestKey`]), speaks raw JSON-RPC over HTTP with `reqwest` as a client
//! would, and checks every answer, the mock upstream's requests and the audit lines.

use std::sync::Arc;

use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

use super::{
    MockAuthServer, MockUpstream, RecordedRequest, TestKey, assert_absent, check_dry_run,
    check_grant, check_request, check_result, fixture_auth_server, fixture_tool, result_text,
};
use crate::identity::caller::unix_now;
use crate::observe::audit::AuditSink;
use crate::protocol::http_auth::METADATA_PATH;
use crate::protocol::server::McpServer;
use crate::spec::{CONFIRMATION_ARGUMENT, IdentityMode, ServerSpec};
use crate::support::cli::{AuthFlags, Cli, TransportKind};
use crate::support::settings::Settings;
use crate::testing::Fixture;

/// What [`check_auth`] saw, for further assertions.
#[derive(Debug)]
pub struct AuthRun {
    /// The result of the authorized call.
    pub result: CallToolResult,
    /// Requests the mock upstream received.
    pub requests: Vec<RecordedRequest>,
    /// Audit lines written.
    pub audit: Vec<String>,
    /// The valid access token used.
    pub token: String,
}

/// Runs [`check_auth`] on its own tokio runtime, for plain `#[test]` functions.
///
/// # Panics
/// As [`check_auth`], or if the runtime cannot be built.
pub fn run_auth_checks(spec: &'static ServerSpec, fixture: &str) -> AuthRun {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime for the auth checks: {e}"))
        .block_on(check_auth(spec, fixture))
}

struct Http {
    client: reqwest::Client,
    url: String,
    next_id: std::sync::atomic::AtomicU64,
}

/// An answer: status, `WWW-Authenticate`, body.
struct Answer {
    status: u16,
    challenge: String,
    body: Value,
    raw: String,
}

impl Http {
    async fn post(&self, token: Option<&str>, method: &str, params: Value) -> Answer {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("auth checks: POST /mcp failed: {e}"));
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let raw = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            challenge,
            body,
            raw,
        }
    }

    /// Every tool the token may see, following `nextCursor` over the pages.
    async fn tool_names(&self, token: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let params = match &cursor {
                Some(cursor) => json!({ "cursor": cursor }),
                None => json!({}),
            };
            let answer = self.post(Some(token), "tools/list", params).await;
            assert_eq!(
                answer.status, 200,
                "auth checks: tools/list with a valid token: {}",
                answer.raw
            );
            let result = &answer.body["result"];
            names.extend(
                result["tools"]
                    .as_array()
                    .unwrap_or_else(|| panic!("auth checks: tools/list answer: {}", answer.raw))
                    .iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_owned)),
            );
            match result["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return names,
            }
        }
        panic!("auth checks: tools/list pages never end");
    }

    async fn call(
        &self,
        token: &str,
        tool: &str,
        args: &Map<String, Value>,
    ) -> (Answer, CallToolResult) {
        let answer = self
            .post(
                Some(token),
                "tools/call",
                json!({"name": tool, "arguments": args}),
            )
            .await;
        assert_eq!(
            answer.status, 200,
            "auth checks: tools/call `{tool}` with a valid token: {}",
            answer.raw
        );
        let result = serde_json::from_value(answer.body["result"].clone()).unwrap_or_else(|e| {
            panic!(
                "auth checks: tools/call `{tool}` gave no tool result ({e}): {}",
                answer.raw
            )
        });
        (answer, result)
    }
}

/// Runs the auth checks of one fixture's tool against `spec` (see the [module docs](super)).
///
/// # Panics
/// When the fixture is malformed or any check fails.
pub async fn check_auth(spec: &'static ServerSpec, fixture: &str) -> AuthRun {
    let fixture: Fixture = serde_json::from_str(fixture)
        .unwrap_or_else(|e| panic!("the fixture is not valid fixture JSON: {e}"));
    let tool = fixture.tool.as_str();
    let tool_spec = fixture_tool(spec, tool);
    let spec = super::narrowed(spec, tool_spec);
    let mock = MockUpstream::start(fixture.call.upstream.to_mock()).await;
    let token_server = fixture_auth_server(tool_spec, &fixture).await;
    let issuer_server = MockAuthServer::start().await;
    let key = TestKey::generate("mcpgen-test-key");
    issuer_server.set_keys(&[&key]);
    let issuer = issuer_server.issuer();

    let (listener, local) =
        crate::protocol::transport::bind("127.0.0.1:0".parse().expect("address"))
            .await
            .unwrap_or_else(|e| panic!("auth checks: cannot bind 127.0.0.1:0: {e}"));
    let public = format!("http://{local}");
    let audience = format!("{public}/mcp");
    let cli = Cli {
        transport: TransportKind::Http,
        listen: local,
        upstream_url: Some(mock.url_with_path_of(spec.upstream.base_url)),
        auth: AuthFlags {
            issuer: Some(issuer.clone()),
            ..AuthFlags::default()
        },
        oauth_token_url: token_server.as_ref().map(MockAuthServer::token_url),
        ..Cli::default()
    };
    let settings = Settings::from_lookup(spec, &cli, |name| Ok(fixture.env.get(name).cloned()))
        .unwrap_or_else(|e| {
            panic!("tool `{tool}`: the fixture's `env` does not configure the server: {e}")
        });
    let audit = AuditSink::memory();
    let server = McpServer::new(spec, settings.clone(), audit.clone())
        .unwrap_or_else(|e| panic!("the server cannot start: {e}"));
    let max_body = crate::protocol::serve::mcp_body_limit(server.limits().max_request_bytes);
    let metrics = server.metrics();
    let auth = crate::protocol::serve::http_auth(
        spec,
        &cli,
        &settings,
        &public,
        audit.clone(),
        metrics.clone(),
        max_body,
    )
    .unwrap_or_else(|e| panic!("auth checks: the HTTP auth layer cannot be built: {e}"));
    let app = crate::protocol::transport::router(server, &[], Arc::new(auth));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(crate::protocol::transport::serve_http(
        listener,
        app,
        async {
            let _ = stopped.await;
        },
    ));
    let http = Http {
        client: reqwest::Client::new(),
        url: format!("{public}/mcp"),
        next_id: std::sync::atomic::AtomicU64::new(1),
    };

    // Protected resource metadata.
    let metadata_url = format!("{public}{METADATA_PATH}");
    let metadata = http
        .client
        .get(&metadata_url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("auth checks: GET {METADATA_PATH} failed: {e}"))
        .text()
        .await
        .unwrap_or_default();
    let metadata: Value = serde_json::from_str(&metadata)
        .unwrap_or_else(|e| panic!("auth checks: the metadata is not JSON ({e}): {metadata}"));
    assert_eq!(
        metadata["resource"],
        audience.as_str(),
        "metadata: {metadata}"
    );
    assert_eq!(
        metadata["authorization_servers"],
        json!([issuer]),
        "metadata: {metadata}"
    );
    assert_eq!(
        metadata["scopes_supported"],
        json!(spec.scopes),
        "metadata: {metadata}"
    );

    // No token.
    let pointer = format!("resource_metadata=\"{metadata_url}\"");
    let answer = http.post(None, "tools/list", json!({})).await;
    assert_eq!(
        answer.status, 401,
        "no token must be refused: {}",
        answer.raw
    );
    assert!(
        answer.challenge.starts_with("Bearer ") && answer.challenge.contains(&pointer),
        "a 401 must point at the metadata, got WWW-Authenticate: {:?}",
        answer.challenge
    );

    // Tokens that must be refused.
    let now = unix_now();
    let scopes = spec.scopes.join(" ");
    let claims = |iss: &str, aud: &str, exp: u64, scope: &str| {
        json!({"iss": iss, "aud": aud, "sub": "mcpgen-auth-check-user",
            "client_id": "mcpgen-auth-check-client", "iat": now, "exp": exp, "scope": scope})
    };
    let valid = key.sign(&claims(&issuer, &audience, now + 300, &scopes));
    let impostor = TestKey::generate(key.kid());
    let refused = [
        (
            "a bad signature",
            impostor.sign(&claims(&issuer, &audience, now + 300, &scopes)),
        ),
        (
            "a wrong audience",
            key.sign(&claims(
                &issuer,
                "https://other.example/mcp",
                now + 300,
                &scopes,
            )),
        ),
        (
            "a wrong issuer",
            key.sign(&claims(
                "https://evil.example",
                &audience,
                now + 300,
                &scopes,
            )),
        ),
        (
            "an expired token",
            key.sign(&claims(
                &issuer,
                &audience,
                now.saturating_sub(3600),
                &scopes,
            )),
        ),
    ];
    let mut args = fixture.call.arguments.clone();
    for (what, token) in &refused {
        let answer = http
            .post(
                Some(token),
                "tools/call",
                json!({"name": tool, "arguments": args}),
            )
            .await;
        assert_eq!(
            answer.status, 401,
            "{what} must be refused with 401: {}",
            answer.raw
        );
        assert!(
            answer.challenge.contains("error=\"invalid_token\"")
                && answer.challenge.contains(&pointer),
            "{what}: WWW-Authenticate should say invalid_token and point at the metadata: {:?}",
            answer.challenge
        );
    }
    assert!(
        mock.requests().is_empty(),
        "refused tokens must not reach the upstream: {:#?}",
        mock.requests()
    );

    // A token without the tool's scopes.
    let mut answers = Vec::new();
    let mut tokens: Vec<String> = refused.iter().map(|(_, t)| t.clone()).collect();
    if !tool_spec.scopes.is_empty() {
        let unscoped = key.sign(&claims(&issuer, &audience, now + 300, "mcpgen:none"));
        let names = http.tool_names(&unscoped).await;
        assert!(
            !names.iter().any(|n| n == tool),
            "tool `{tool}` needs {:?}: a token without them must not see it in tools/list, got {names:?}",
            tool_spec.scopes
        );
        let answer = http
            .post(
                Some(&unscoped),
                "tools/call",
                json!({"name": tool, "arguments": args}),
            )
            .await;
        assert_eq!(
            answer.status, 403,
            "tool `{tool}`: a call without its scopes must be refused with 403: {}",
            answer.raw
        );
        let needed = format!("scope=\"{}\"", tool_spec.scopes.join(" "));
        assert!(
            answer.challenge.contains("error=\"insufficient_scope\"")
                && answer.challenge.contains(&needed)
                && answer.challenge.contains(&pointer),
            "tool `{tool}`: WWW-Authenticate should say insufficient_scope and {needed}: {:?}",
            answer.challenge
        );
        assert!(
            answer.raw.contains(tool_spec.scopes[0]),
            "the refusal should name the missing scope: {}",
            answer.raw
        );
        assert!(
            mock.requests().is_empty(),
            "tool `{tool}`: a call without its scopes must not reach the upstream: {:#?}",
            mock.requests()
        );
        answers.push(answer.raw);
        tokens.push(unscoped);
    }

    // A valid token.
    let names = http.tool_names(&valid).await;
    assert!(
        names.iter().any(|n| n == tool),
        "tool `{tool}` should be listed for a token with every scope, got {names:?}"
    );
    let mut results = Vec::new();
    if fixture.call.confirm {
        let (answer, dry) = http.call(&valid, tool, &args).await;
        let token = check_dry_run(tool_spec, &fixture.call.request, &dry);
        assert!(
            mock.requests().is_empty(),
            "tool `{tool}`: a dry run must not reach the upstream"
        );
        args.insert(CONFIRMATION_ARGUMENT.into(), Value::String(token));
        answers.push(answer.raw);
        results.push(dry);
    }
    let (answer, result) = http.call(&valid, tool, &args).await;
    let requests = mock.requests();
    assert_eq!(
        requests.len(),
        1,
        "tool `{tool}`: the upstream should receive exactly one request, got {requests:#?}\nresult: {}",
        result_text(&result)
    );
    let mut expected = fixture.call.request.clone();
    if tool_spec.identity == IdentityMode::Passthrough {
        expected
            .headers
            .retain(|name, _| !name.eq_ignore_ascii_case("authorization"));
        expected
            .headers
            .insert("authorization".into(), format!("Bearer {valid}"));
    }
    check_request(tool, &expected, &requests[0]);
    check_result(tool, &fixture.call.result, &result);
    if let Some(server) = &token_server {
        check_grant(spec, tool_spec, &fixture, server, &valid);
    }
    answers.push(answer.raw);
    results.push(result.clone());

    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), serving).await;

    let lines = audit.lines();
    let auth_lines = lines
        .iter()
        .filter(|l| l.contains(r#""event":"auth""#))
        .count();
    let expected_auth_lines = 1 + refused.len() + usize::from(!tool_spec.scopes.is_empty());
    assert_eq!(
        auth_lines, expected_auth_lines,
        "each refused request should leave one auth audit line: {lines:#?}"
    );
    // The metrics count the same refusals.
    let scraped = metrics.render();
    let refusals: u64 = scraped
        .lines()
        .filter(|l| l.starts_with("mcpgen_http_refusals_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(
        refusals, expected_auth_lines as u64,
        "mcpgen_http_refusals_total should count every refused request:\n{scraped}"
    );
    let mut haystacks: Vec<(String, String)> = answers
        .into_iter()
        .map(|a| ("answer".to_owned(), a))
        .collect();
    for r in &results {
        haystacks.push(("result text".into(), result_text(r)));
    }
    haystacks.extend(lines.iter().map(|l| ("audit line".to_owned(), l.clone())));
    let mut needles: Vec<&str> = fixture
        .secrets
        .iter()
        .chain(&fixture.call.absent)
        .map(String::as_str)
        .collect();
    needles.push(&valid);
    needles.extend(tokens.iter().map(String::as_str));
    if let Some(oauth) = &fixture.oauth {
        needles.push(&oauth.access_token);
    }
    assert_absent(tool, &needles, &haystacks);
    AuthRun {
        result,
        requests,
        audit: lines,
        token: valid,
    }
}
