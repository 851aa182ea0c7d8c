//! Credentials never leave their origin: how a whole server answers upstream redirects, for
//! every kind of credential it sends.
//!
//! Each tool of [`REDIRECTS`] sends one kind of credential (API key in a header, the query or a
//! cookie; bearer; basic; a client-credentials token; an exchanged token; the caller's token
//! passed through). The upstream is a [`MockUpstream`]; a second one, on another port of
//! 127.0.0.1, is another origin. For every kind: a redirect to the other origin is refused
//! without any request reaching it, and no credential value shows in the result or the audit
//! lines; a redirect on the upstream's origin is followed, the credential is sent again, and
//! the final answer is returned. Then the method rules (303, 307), relative `Location`s, loops,
//! long chains and hostile `Location`s.
//!
//! These tests need only the runtime's public API and its `testing` feature, so they live here
//! rather than in `src/` (which every generated crate vendors).
#![cfg(feature = "testing")]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mcpgen_runtime::observe::audit::AuditSink;
use mcpgen_runtime::protocol::server::McpServer;
use mcpgen_runtime::spec::*;
use mcpgen_runtime::support::principal::Principal;
use mcpgen_runtime::support::secret::Secret;
use mcpgen_runtime::support::settings::Settings;
use mcpgen_runtime::testing::{
    MockAuthServer, MockResponse, MockUpstream, RecordedRequest, TokenReply, result_text,
};
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

const HEADER_KEY: &str = "hdr-key-5f1e2d";
const QUERY_KEY: &str = "qry-key-8a7b6c";
const COOKIE_KEY: &str = "cookie-key-3d4e5f";
const BEARER: &str = "bearer-tok-9c8b7a";
const BASIC_USER: &str = "basic-user";
const BASIC_PASSWORD: &str = "basic-pass-7e6d5c";
const CLIENT_SECRET: &str = "client-secret-2b3c4d";
const CC_TOKEN: &str = "cc-token-1a2b3c";
const EXCHANGED_TOKEN: &str = "xchg-token-4d5e6f";
const CALLER_TOKEN: &str = "caller-token-7a8b9c";

const NO_OUTPUT: OutputSpec = OutputSpec::NONE;

/// A tool calling `method path` with `credentials` and `identity`.
const fn tool(
    name: &'static str,
    method: HttpMethod,
    path: &'static str,
    credentials: &'static [&'static str],
    identity: IdentityMode,
    body: Option<BodySpec>,
) -> ToolSpec {
    ToolSpec {
        name,
        title: None,
        description: "A tool whose upstream redirects.",
        operation: OperationSpec {
            id: None,
            method,
            path,
        },
        input_schema: SchemaText::Inline(
            r#"{"type":"object","properties":{"thing":{"type":"object"}}}"#,
        ),
        spec_input_schema: None,
        nulls_absent: false,
        output: NO_OUTPUT,
        params: &[],
        body,
        accept: "application/json",
        credentials,
        scopes: &[],
        hints: HintsSpec {
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
        },
        confirm: false,
        identity,
        contract: "test-contract",
        escalation: None,
    }
}

const fn get(
    name: &'static str,
    credentials: &'static [&'static str],
    identity: IdentityMode,
) -> ToolSpec {
    tool(
        name,
        HttpMethod::Get,
        "/things",
        credentials,
        identity,
        None,
    )
}

use IdentityMode::{ClientCredentials, Passthrough, ServiceAccount, TokenExchange};

static HEADER_TOOL: ToolSpec = get("header_key", &["header_key"], ServiceAccount);
static QUERY_TOOL: ToolSpec = get("query_key", &["query_key"], ServiceAccount);
static COOKIE_TOOL: ToolSpec = get("cookie_key", &["cookie_key"], ServiceAccount);
static BEARER_TOOL: ToolSpec = get("bearer", &["bearer"], ServiceAccount);
static BASIC_TOOL: ToolSpec = get("basic", &["basic"], ServiceAccount);
static CC_TOOL: ToolSpec = get("client_credentials", &[], ClientCredentials);
static EXCHANGE_TOOL: ToolSpec = get("token_exchange", &[], TokenExchange);
static PASS_TOOL: ToolSpec = get("passthrough", &[], Passthrough);
/// POST /things with a JSON body and the header API key.
static CREATE_TOOL: ToolSpec = tool(
    "create_thing",
    HttpMethod::Post,
    "/things",
    &["header_key"],
    ServiceAccount,
    Some(BodySpec {
        media_type: "application/json",
        encoding: BodyEncoding::Json,
        required: true,
        value: BodyValue::Argument { name: "thing" },
    }),
);

/// The server: one tool per credential kind, and a POST.
static REDIRECTS: ServerSpec = ServerSpec {
    name: "redirects",
    version: "0.1.0",
    title: None,
    instructions: None,
    contract: None,
    upstream: UpstreamSpec {
        base_url: "https://api.example.test/v1",
        base_url_env: "",
        timeout_ms: 5_000,
        max_response_bytes: 64 * 1024,
        credentials: &[
            CredentialSpec {
                id: "header_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Header,
                    name: "X-Api-Key",
                    env: "HEADER_KEY",
                },
            },
            CredentialSpec {
                id: "query_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Query,
                    name: "api_key",
                    env: "QUERY_KEY",
                },
            },
            CredentialSpec {
                id: "cookie_key",
                kind: CredentialKind::ApiKey {
                    location: ApiKeyLocation::Cookie,
                    name: "sid",
                    env: "COOKIE_KEY",
                },
            },
            CredentialSpec {
                id: "bearer",
                kind: CredentialKind::Bearer { env: "BEARER" },
            },
            CredentialSpec {
                id: "basic",
                kind: CredentialKind::Basic {
                    username_env: "BASIC_USER",
                    password_env: "BASIC_PASSWORD",
                },
            },
        ],
        oauth: Some(OAuthClientSpec {
            token_url: "https://id.example.test/token",
            client_id_env: "CLIENT_ID",
            client_secret_env: "CLIENT_SECRET",
            scopes: &[],
            audience: None,
        }),
    },
    tools: &[
        &BASIC_TOOL,
        &BEARER_TOOL,
        &CC_TOOL,
        &COOKIE_TOOL,
        &CREATE_TOOL,
        &HEADER_TOOL,
        &PASS_TOOL,
        &QUERY_TOOL,
        &EXCHANGE_TOOL,
    ],
    scopes: &[],
    limits: LimitsSpec {
        max_request_bytes: 1024 * 1024,
        calls_per_minute: 0,
        max_concurrent_calls: 0,
        max_result_tokens: 20_000,
    },
    escalation: Some("Ask #api-platform for help."),
};

/// One kind of credential: its tool, where the upstream must find it, and the values that must
/// never show.
struct Kind {
    tool: &'static str,
    /// What the token endpoint issues (client credentials, token exchange).
    issued: Option<&'static str>,
    carried: Carried,
    secrets: Vec<String>,
}

/// Where a credential arrives upstream.
enum Carried {
    Header(&'static str, String),
    Query(&'static str, &'static str),
}

impl Carried {
    fn check(&self, tool: &str, request: &RecordedRequest) {
        match self {
            Carried::Header(name, value) => assert_eq!(
                request.header(name).as_deref(),
                Some(value.as_str()),
                "{tool}: header `{name}` at {}",
                request.path
            ),
            Carried::Query(name, value) => {
                let values: Vec<&str> = request
                    .query
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                assert_eq!(values, [*value], "{tool}: query `{name}`: {request:?}");
            }
        }
    }
}

fn kinds() -> Vec<Kind> {
    let bearer = |token: &str| Carried::Header("authorization", format!("Bearer {token}"));
    let basic = STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}"));
    let kind = |tool, carried, secrets: &[&str]| Kind {
        tool,
        issued: None,
        carried,
        secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
    };
    vec![
        kind(
            "header_key",
            Carried::Header("x-api-key", HEADER_KEY.into()),
            &[HEADER_KEY],
        ),
        kind(
            "query_key",
            Carried::Query("api_key", QUERY_KEY),
            &[QUERY_KEY],
        ),
        kind(
            "cookie_key",
            Carried::Header("cookie", format!("sid={COOKIE_KEY}")),
            &[COOKIE_KEY],
        ),
        kind("bearer", bearer(BEARER), &[BEARER]),
        kind(
            "basic",
            Carried::Header("authorization", format!("Basic {basic}")),
            &[BASIC_PASSWORD, &basic],
        ),
        Kind {
            issued: Some(CC_TOKEN),
            ..kind(
                "client_credentials",
                bearer(CC_TOKEN),
                &[CC_TOKEN, CLIENT_SECRET],
            )
        },
        Kind {
            issued: Some(EXCHANGED_TOKEN),
            ..kind(
                "token_exchange",
                bearer(EXCHANGED_TOKEN),
                &[EXCHANGED_TOKEN, CALLER_TOKEN, CLIENT_SECRET],
            )
        },
        kind("passthrough", bearer(CALLER_TOKEN), &[CALLER_TOKEN]),
    ]
}

/// A server in front of `upstream`, with every credential set, the caller holding
/// [`CALLER_TOKEN`], and a token endpoint that issues `issued`.
struct Setup {
    upstream: MockUpstream,
    elsewhere: MockUpstream,
    _tokens: MockAuthServer,
    server: McpServer,
}

impl Setup {
    async fn start(issued: Option<&str>) -> Self {
        let upstream = MockUpstream::start(MockResponse::json(200, &json!({"ok": true}))).await;
        let elsewhere =
            MockUpstream::start(MockResponse::json(200, &json!({"stolen": true}))).await;
        let tokens = MockAuthServer::start().await;
        tokens.set_token_reply(TokenReply::ok(issued.unwrap_or("unused-token"), Some(3600)));
        let settings = Settings::new(format!("{}/v1", upstream.url()))
            .with_var("HEADER_KEY", HEADER_KEY)
            .with_var("QUERY_KEY", QUERY_KEY)
            .with_var("COOKIE_KEY", COOKIE_KEY)
            .with_var("BEARER", BEARER)
            .with_var("BASIC_USER", BASIC_USER)
            .with_var("BASIC_PASSWORD", BASIC_PASSWORD)
            .with_var("CLIENT_ID", "redirects-client")
            .with_var("CLIENT_SECRET", CLIENT_SECRET)
            .with_oauth_token_url(tokens.token_url())
            .with_principal(Principal {
                token: Some(Secret::new(CALLER_TOKEN)),
                ..Principal::new("ann", Vec::<String>::new())
            });
        let server = McpServer::new(&REDIRECTS, settings, AuditSink::memory())
            .unwrap_or_else(|e| panic!("the test server cannot start: {e}"));
        Setup {
            upstream,
            elsewhere,
            _tokens: tokens,
            server,
        }
    }

    async fn call(&self, tool: &str, arguments: Value) -> CallToolResult {
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object")
        };
        self.server
            .call(tool, Some(arguments))
            .await
            .unwrap_or_else(|e| panic!("{tool}: tools/call failed: {e}"))
    }

    /// The audit line of the last call.
    fn last_line(&self) -> Map<String, Value> {
        let lines = self.server.audit().lines();
        let last = lines.last().expect("an audit line");
        serde_json::from_str(last).expect("audit lines are JSON objects")
    }

    /// Asserts that none of `secrets` shows in `result` (whole, as JSON) or any audit line.
    fn assert_nothing_leaks(&self, tool: &str, secrets: &[String], result: &CallToolResult) {
        let mut shown = self.server.audit().lines();
        shown.push(serde_json::to_string(result).expect("results serialize"));
        for secret in secrets {
            for text in &shown {
                assert!(
                    !text
                        .to_ascii_lowercase()
                        .contains(&secret.to_ascii_lowercase()),
                    "{tool}: {secret:?} shows in {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_for_every_credential_kind() {
    for kind in kinds() {
        let tool = kind.tool;
        let setup = Setup::start(kind.issued).await;
        let secret = &kind.secrets[0];
        // The upstream even writes the secret into the Location: path, query and fragment.
        let location = format!(
            "{}/collect/{secret}?key={secret}&sig=abc#{secret}",
            setup.elsewhere.url()
        );
        setup.upstream.queue(MockResponse::redirect(302, location));
        let result = setup.call(tool, json!({})).await;
        let text = result_text(&result);

        assert_eq!(result.is_error, Some(true), "{tool}: {text}");
        assert!(
            setup.elsewhere.requests().is_empty(),
            "{tool}: the other origin was called"
        );
        assert_eq!(setup.upstream.requests().len(), 1, "{tool}");
        kind.carried.check(tool, &setup.upstream.requests()[0]);
        let target = format!("{}/collect/[REDACTED]", setup.elsewhere.url());
        assert!(
            text.starts_with(&format!(
                "redirect_refused: the upstream API answered 302 with a redirect to {target}, \
                 another origin than this server's upstream ({}).",
                setup.upstream.url()
            )),
            "{tool}: {text}"
        );
        assert!(
            text.contains("does not follow redirects to other origins")
                && text.contains("ask the operator of this MCP server")
                && text.ends_with("Ask #api-platform for help."),
            "{tool}: {text}"
        );
        assert!(
            !text.contains("sig=abc"),
            "{tool}: the query is shown: {text}"
        );
        let line = setup.last_line();
        assert_eq!(line["outcome"], "redirect_refused", "{tool}");
        assert_eq!(line["level"], "warn", "{tool}");
        assert_eq!(line["upstream_status"], 302, "{tool}");
        assert_eq!(
            line["detail"],
            format!("redirect to {}", setup.elsewhere.url()),
            "{tool}"
        );
        assert!(
            setup.server.metrics().render().contains(&format!(
                "mcpgen_tool_calls_total{{tool=\"{tool}\",decision=\"allowed\",outcome=\"redirect_refused\"}} 1"
            )),
            "{tool}: {}",
            setup.server.metrics().render()
        );
        setup.assert_nothing_leaks(tool, &kind.secrets, &result);
    }
}

#[tokio::test]
async fn a_redirect_on_the_same_origin_is_followed_with_the_credential_for_every_kind() {
    for kind in kinds() {
        let tool = kind.tool;
        let setup = Setup::start(kind.issued).await;
        // The Location names the query key with a forged value: the real one replaces it.
        let location = format!("{}/v1/moved?page=2&api_key=forged", setup.upstream.url());
        setup.upstream.queue(MockResponse::redirect(302, location));
        let result = setup.call(tool, json!({})).await;

        assert_eq!(
            result.is_error,
            Some(false),
            "{tool}: {}",
            result_text(&result)
        );
        assert_eq!(
            result.structured_content,
            Some(json!({"ok": true})),
            "{tool}"
        );
        let requests = setup.upstream.requests();
        assert_eq!(requests.len(), 2, "{tool}: {requests:#?}");
        assert_eq!(requests[0].path, "/v1/things", "{tool}");
        assert_eq!(
            (requests[1].method.as_str(), requests[1].path.as_str()),
            ("GET", "/v1/moved"),
            "{tool}"
        );
        for request in &requests {
            kind.carried.check(tool, request);
            assert_eq!(
                request.header("accept").as_deref(),
                Some("application/json")
            );
        }
        let expected_query = if tool == "query_key" {
            vec![("page", "2"), ("api_key", QUERY_KEY)]
        } else {
            vec![("page", "2"), ("api_key", "forged")]
        };
        let query: Vec<(&str, &str)> = requests[1]
            .query
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(query, expected_query, "{tool}");
        assert_eq!(
            requests[0].header("x-request-id"),
            requests[1].header("x-request-id"),
            "{tool}: one call, one request id"
        );
        assert!(setup.elsewhere.requests().is_empty());
        let line = setup.last_line();
        assert_eq!(line["outcome"], "ok", "{tool}");
        assert_eq!(line["upstream_status"], 200, "{tool}");
        setup.assert_nothing_leaks(tool, &kind.secrets, &result);
    }
}

#[tokio::test]
async fn a_303_after_post_becomes_a_get_without_body() {
    let setup = Setup::start(None).await;
    setup
        .upstream
        .queue(MockResponse::redirect(303, "/v1/things/1"));
    let result = setup
        .call("create_thing", json!({"thing": {"name": "x"}}))
        .await;
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    let requests = setup.upstream.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].body, br#"{"name":"x"}"#);
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("GET", "/v1/things/1")
    );
    assert!(requests[1].body.is_empty());
    assert_eq!(requests[1].content_type, None);
    assert_eq!(requests[1].header("x-api-key").as_deref(), Some(HEADER_KEY));
}

#[tokio::test]
async fn a_302_after_post_becomes_a_get_and_307_and_308_keep_method_and_body() {
    let setup = Setup::start(None).await;
    setup
        .upstream
        .queue(MockResponse::redirect(307, "/v1/things-again"));
    setup
        .upstream
        .queue(MockResponse::redirect(308, "/v1/things-there"));
    setup
        .upstream
        .queue(MockResponse::redirect(302, "/v1/things-read"));
    let result = setup
        .call("create_thing", json!({"thing": {"name": "x"}}))
        .await;
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    let requests = setup.upstream.requests();
    let seen: Vec<(&str, &str, &[u8])> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.body.as_slice()))
        .collect();
    let body: &[u8] = br#"{"name":"x"}"#;
    assert_eq!(
        seen,
        [
            ("POST", "/v1/things", body),
            ("POST", "/v1/things-again", body),
            ("POST", "/v1/things-there", body),
            ("GET", "/v1/things-read", &[][..]),
        ]
    );
    for request in &requests[..3] {
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        assert_eq!(request.header("x-api-key").as_deref(), Some(HEADER_KEY));
    }
}

#[tokio::test]
async fn a_relative_location_resolves_against_the_url_asked() {
    let setup = Setup::start(None).await;
    setup.upstream.queue(MockResponse::redirect(302, "moved"));
    setup
        .upstream
        .queue(MockResponse::redirect(301, "../v2/final?x=1"));
    let result = setup.call("query_key", json!({})).await;
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    let requests = setup.upstream.requests();
    let paths: Vec<(&str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.path.as_str(), r.raw_query.as_deref()))
        .collect();
    let key = format!("api_key={QUERY_KEY}");
    assert_eq!(
        paths,
        [
            ("/v1/things", Some(key.as_str())),
            ("/v1/moved", Some(key.as_str())),
            ("/v2/final", Some(format!("x=1&{key}").as_str())),
        ]
    );
}

#[tokio::test]
async fn a_redirect_after_a_followed_one_still_may_not_leave_the_origin() {
    let setup = Setup::start(None).await;
    setup
        .upstream
        .queue(MockResponse::redirect(307, "/v1/next"));
    let away = format!("{}/x", setup.elsewhere.url());
    setup.upstream.queue(MockResponse::redirect(302, away));
    let result = setup.call("header_key", json!({})).await;
    assert!(result_text(&result).starts_with("redirect_refused:"));
    assert_eq!(setup.upstream.requests().len(), 2);
    assert!(setup.elsewhere.requests().is_empty());
}

#[tokio::test]
async fn loops_and_long_chains_end_with_a_clear_error() {
    // A redirect to the URL just asked.
    let setup = Setup::start(None).await;
    setup
        .upstream
        .set_response(MockResponse::redirect(302, "/v1/things"));
    let result = setup.call("header_key", json!({})).await;
    let text = result_text(&result);
    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        text,
        format!(
            "redirect_loop: the upstream API redirected in a loop (302 back to {}/v1/things, \
             which was already asked); the redirects were not followed further.",
            setup.upstream.url()
        )
    );
    assert_eq!(setup.upstream.requests().len(), 1);
    let line = setup.last_line();
    assert_eq!(
        (&line["outcome"], &line["detail"], &line["upstream_status"]),
        (
            &json!("upstream_error"),
            &json!("redirect loop"),
            &json!(302)
        )
    );

    // A → B → A.
    setup.upstream.queue(MockResponse::redirect(307, "/v1/b"));
    let result = setup.call("header_key", json!({})).await;
    assert!(result_text(&result).starts_with("redirect_loop:"));
    assert_eq!(setup.upstream.requests().len(), 3);

    // Six redirects, each somewhere new: five are followed.
    let setup = Setup::start(None).await;
    for n in 1..=6 {
        setup
            .upstream
            .queue(MockResponse::redirect(302, format!("/v1/hop-{n}")));
    }
    let result = setup.call("header_key", json!({})).await;
    assert_eq!(
        result_text(&result),
        "too_many_redirects: the upstream API redirected more than 5 times (the last answer \
         was 302); this server follows at most 5 redirects."
    );
    assert_eq!(setup.upstream.requests().len(), 6);
    assert_eq!(setup.last_line()["detail"], "more than 5 redirects");
}

#[tokio::test]
async fn no_location_can_make_the_server_reveal_a_secret() {
    let setup = Setup::start(None).await;
    let encoded: String = HEADER_KEY.bytes().map(|b| format!("%{b:02X}")).collect();
    let upper = HEADER_KEY.to_ascii_uppercase();
    for location in [
        // In the host (which URL parsing lower-cases), in user info, percent-encoded in the path.
        format!("https://{upper}.example.test/a"),
        format!("https://{HEADER_KEY}:{HEADER_KEY}@files.example.test/a"),
        format!("https://files.example.test/{encoded}"),
    ] {
        setup.upstream.queue(MockResponse::redirect(302, location));
        let result = setup.call("header_key", json!({})).await;
        assert!(result_text(&result).starts_with("redirect_refused:"));
        setup.assert_nothing_leaks("header_key", &[HEADER_KEY.to_owned()], &result);
    }
    assert_eq!(setup.upstream.requests().len(), 3);
}

#[tokio::test]
async fn a_redirect_without_a_location_is_the_answer() {
    let setup = Setup::start(None).await;
    setup.upstream.set_response(MockResponse {
        headers: Vec::new(),
        ..MockResponse::redirect(302, "")
    });
    let result = setup.call("header_key", json!({})).await;
    assert_eq!(result.is_error, Some(true));
    assert!(
        result_text(&result).contains("302"),
        "{}",
        result_text(&result)
    );
    assert_eq!(setup.upstream.requests().len(), 1);
    assert_eq!(setup.last_line()["outcome"], "upstream_error");
}
