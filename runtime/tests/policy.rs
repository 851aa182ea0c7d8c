//! End-to-end tests of who may call what, and how: scopes, confirmation (dry run and token,
//! legacy elicitation, 2026-07-28 `input_required` rounds), limits, upstream identities and
//! the audit fields, through in-process clients and [`McpServer::call`]; then the fixture
//! harness's additions and [`run_auth_checks`] on the hand-written servers.

#![cfg(feature = "testing")]

// Each suite uses some of the shared specs.
#[allow(dead_code)]
#[path = "support/specs.rs"]
mod testing_specs;

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResponse, InputResponses};
use serde_json::{Map, Value, json};

use mcpgen_runtime::observe::audit::AuditSink;
use mcpgen_runtime::protocol::server::McpServer;
use mcpgen_runtime::spec;
use mcpgen_runtime::support::cli::LimitFlags;
use mcpgen_runtime::support::principal::Principal;
use mcpgen_runtime::support::secret::Secret;
use mcpgen_runtime::support::settings::Settings;
use mcpgen_runtime::testing::*;
use testing_specs::{OAUTH_PETS, PETS};

const KEY: &str = "test-secret-3f9a";

fn settings(mock: &MockUpstream) -> Settings {
    Settings::new(mock.url_with_path_of(PETS.upstream.base_url))
        .with_var("PETS_API_KEY", KEY)
        .with_var("PETS_TENANT", "acme-tenant")
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn lines(server: &McpServer) -> Vec<Value> {
    server
        .audit()
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ok_mock() -> MockResponse {
    MockResponse::json(200, &json!({"id": 42, "name": "Rex"}))
}

#[tokio::test]
async fn tools_list_shows_only_what_the_scopes_allow_and_calls_without_them_are_refused() {
    let mock = MockUpstream::start(ok_mock()).await;
    let reader = Principal::new("ann", ["pets:read"]);
    let server = McpServer::new(
        &PETS,
        settings(&mock).with_principal(reader.clone()),
        AuditSink::memory(),
    )
    .unwrap();
    let client = connect(server.clone()).await;
    let names: Vec<String> = list_all_tools(&client)
        .await
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    // pets:write tools are hidden; tools without scopes are visible to everyone.
    assert_eq!(
        names,
        ["get_pet", "list_pets", "login", "put_file", "upload_photo"]
    );
    let result = client
        .call_tool(
            CallToolRequestParams::new("create_pet").with_arguments(args(json!({"name": "Rex"}))),
        )
        .await
        .unwrap();
    let text = result_text(&result);
    assert_eq!(result.is_error, Some(true));
    assert!(
        text.starts_with("insufficient_scope: the tool `create_pet` needs scope `pets:write`"),
        "{text}"
    );
    assert!(
        text.ends_with("Ask #platform-access for more access."),
        "{text}"
    );
    assert!(mock.requests().is_empty(), "the upstream was called");
    let _ = client.cancel().await;
    let line = lines(&server).pop().unwrap();
    assert_eq!(line["decision"], "denied:insufficient_scope");
    assert_eq!(line["subject"], "ann");
    assert_eq!(line["outcome"], "not_executed");
    assert_eq!(line["detail"], "missing scope pets:write");

    // The tool's own escalation text wins over the server's.
    let result = server
        .call("delete_pet", Some(args(json!({"pet_id": "1"}))))
        .await
        .unwrap();
    assert!(
        result_text(&result).ends_with("To delete pets, ask the pet store team in #pets-access."),
        "{}",
        result_text(&result)
    );
}

#[tokio::test]
async fn a_confirm_tool_without_anyone_to_ask_dry_runs_then_redeems_its_token_once() {
    let mock = MockUpstream::start(MockResponse {
        status: 204,
        content_type: None,
        body: Vec::new(),
        headers: Vec::new(),
        delay: None,
    })
    .await;
    let server = McpServer::new(&PETS, settings(&mock), AuditSink::memory()).unwrap();
    let call = |a: Value| server.call("delete_pet", Some(args(a)));
    let dry = call(json!({"pet_id": "42", "reason": "old"}))
        .await
        .unwrap();
    let text = result_text(&dry);
    assert_eq!(dry.is_error, Some(false), "{text}");
    let base = mock.url();
    assert!(
        text.contains(&format!(
            "DELETE {base}/v1/pets/42?reason=old&audit_tag=****"
        )),
        "{text}"
    );
    assert!(
        text.contains("headers (values not shown): accept, api_key, x-tenant"),
        "{text}"
    );
    for hidden in ["hidden-tag-77", KEY, "acme-tenant"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    assert!(mock.requests().is_empty(), "a dry run reached the upstream");
    let token = mcpgen_runtime::call::dry_run::token_in(&text)
        .unwrap()
        .to_owned();

    // Another pet, or another caller: the token does not confirm it.
    let other = call(json!({"pet_id": "43", "reason": "old", "confirmation_token": token}))
        .await
        .unwrap();
    assert!(
        result_text(&other)
            .starts_with("Not executed: the confirmation token given does not match")
    );
    let bob = Principal::new("bob", ["pets:read", "pets:write"]);
    let stolen = server
        .call_as(
            bob,
            "delete_pet",
            Some(args(
                json!({"pet_id": "42", "reason": "old", "confirmation_token": token}),
            )),
        )
        .await
        .unwrap();
    assert!(result_text(&stolen).contains("does not match"));
    assert!(mock.requests().is_empty());

    // The same arguments with the token: executed, without the token upstream.
    let done = call(json!({"reason": "old", "pet_id": "42", "confirmation_token": token}))
        .await
        .unwrap();
    assert_eq!(result_text(&done), "HTTP 204 No Content");
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "DELETE");
    assert_eq!(
        sent[0].raw_query.as_deref(),
        Some("reason=old&audit_tag=hidden-tag-77")
    );
    assert!(!format!("{:?}", sent[0]).contains(&token));

    // Once only.
    let again = call(json!({"pet_id": "42", "reason": "old", "confirmation_token": token}))
        .await
        .unwrap();
    assert!(
        result_text(&again)
            .starts_with("Not executed: the confirmation token given was already used"),
        "{}",
        result_text(&again)
    );
    assert_eq!(mock.requests().len(), 1);

    let decisions: Vec<String> = lines(&server)
        .iter()
        .map(|l| l["decision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        decisions,
        ["dry_run", "dry_run", "dry_run", "confirmed", "dry_run"]
    );
    for line in server.audit().lines() {
        assert!(!line.contains(&token), "the token is logged: {line}");
    }
}

#[tokio::test]
async fn a_legacy_session_asks_the_human_by_elicitation() {
    let mock = MockUpstream::start(ok_mock()).await;
    let server = McpServer::new(&PETS, settings(&mock), AuditSink::memory()).unwrap();
    let delete =
        || CallToolRequestParams::new("delete_pet").with_arguments(args(json!({"pet_id": "42"})));

    let yes = ConfirmingClient::accepting();
    let client = connect_with(server.clone(), yes.clone()).await;
    let result = client.call_tool(delete()).await.unwrap();
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    assert_eq!(mock.requests().len(), 1);
    let questions = yes.questions();
    assert_eq!(questions.len(), 1);
    assert!(
        questions[0].contains("`delete_pet`")
            && questions[0].contains("DELETE ")
            && questions[0].contains("/v1/pets/42"),
        "{}",
        questions[0]
    );
    assert!(!questions[0].contains(KEY) && !questions[0].contains("hidden-tag-77"));
    let _ = client.cancel().await;

    for no in [
        ConfirmingClient::declining(),
        ConfirmingClient::cancelling(),
        ConfirmingClient::unticking(),
    ] {
        let client = connect_with(server.clone(), no.clone()).await;
        let result = client.call_tool(delete()).await.unwrap();
        let text = result_text(&result);
        assert_eq!(result.is_error, Some(true), "{text}");
        assert!(
            text.starts_with("declined: the user did not confirm `delete_pet`"),
            "{text}"
        );
        assert!(text.ends_with("#pets-access."), "{text}");
        assert_eq!(no.questions().len(), 1);
        let _ = client.cancel().await;
    }
    assert_eq!(
        mock.requests().len(),
        1,
        "a declined call reached the upstream"
    );
    let decisions: Vec<String> = lines(&server)
        .iter()
        .map(|l| l["decision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(decisions, ["confirmed", "declined", "declined", "declined"]);
}

#[tokio::test]
async fn a_call_waiting_for_a_human_holds_no_concurrency_slot() {
    let mock = MockUpstream::start(ok_mock()).await;
    let capped = settings(&mock).with_limits(LimitFlags {
        max_concurrent_calls: Some(1),
        ..LimitFlags::default()
    });
    let server = McpServer::new(&PETS, capped, AuditSink::memory()).unwrap();
    let slow = ConfirmingClient::accepting().thinking(2_500);
    let client = connect_with(server.clone(), slow.clone()).await;
    let delete = client.call_tool(
        CallToolRequestParams::new("delete_pet").with_arguments(args(json!({"pet_id": "42"}))),
    );
    let other = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        server
            .call("get_pet", Some(args(json!({"pet_id": "1"}))))
            .await
    };
    let (deleted, got) = tokio::join!(delete, other);
    assert_eq!(
        got.unwrap().is_error,
        Some(false),
        "blocked by a call waiting for a human"
    );
    assert_eq!(deleted.unwrap().is_error, Some(false));
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(
        mock.requests()[0].method,
        "GET",
        "the read ran while the delete waited"
    );
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_2026_client_is_asked_with_input_required_and_a_sealed_state() {
    let mock = MockUpstream::start(ok_mock()).await;
    let server = McpServer::new(&PETS, settings(&mock), AuditSink::memory()).unwrap();
    let delete =
        || CallToolRequestParams::new("delete_pet").with_arguments(args(json!({"pet_id": "42"})));
    let yes = ConfirmingClient::accepting();
    let client = connect_modern(server.clone(), yes.clone()).await;
    // One round by hand: the server asks, nothing is sent.
    let CallToolResponse::InputRequired(asked) = client.call_tool_once(delete()).await.unwrap()
    else {
        panic!("expected input_required");
    };
    let state = asked.request_state.clone().unwrap();
    assert!(state.starts_with("mcps1."), "{state}");
    assert!(asked.input_requests.unwrap().contains_key("confirm"));
    assert!(mock.requests().is_empty());
    // A forged state with an accepting answer is asked again, not executed; so is a state
    // replayed for other arguments.
    let accept: InputResponses = [(
        "confirm".to_owned(),
        json!({"action": "accept", "content": {"confirm": true}}),
    )]
    .into_iter()
    .collect();
    let forged = delete()
        .with_input_responses(accept.clone())
        .with_request_state(format!("{state}x"));
    assert!(matches!(
        client.call_tool_once(forged).await.unwrap(),
        CallToolResponse::InputRequired(_)
    ));
    let replayed = CallToolRequestParams::new("delete_pet")
        .with_arguments(args(json!({"pet_id": "43"})))
        .with_input_responses(accept)
        .with_request_state(state);
    assert!(matches!(
        client.call_tool_once(replayed).await.unwrap(),
        CallToolResponse::InputRequired(_)
    ));
    assert!(mock.requests().is_empty());
    // The SDK's helper drives the rounds through the client's elicitation handler.
    let result = client.call_tool(delete()).await.unwrap();
    assert_eq!(result.is_error, Some(false), "{}", result_text(&result));
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(yes.questions().len(), 1);
    let _ = client.cancel().await;

    let no = ConfirmingClient::declining();
    let client = connect_modern(server.clone(), no).await;
    let result = client.call_tool(delete()).await.unwrap();
    assert!(result_text(&result).starts_with("declined:"));
    assert_eq!(mock.requests().len(), 1);
    let _ = client.cancel().await;
    let decisions: Vec<String> = lines(&server)
        .iter()
        .map(|l| l["decision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        decisions,
        [
            "confirmation_requested",
            "confirmation_requested",
            "confirmation_requested",
            "confirmation_requested",
            "confirmed",
            "confirmation_requested",
            "declined"
        ]
    );
}

#[tokio::test]
async fn rate_limits_request_size_and_concurrency_are_enforced_before_the_upstream() {
    let mock = MockUpstream::start(ok_mock()).await;
    let limited = settings(&mock).with_limits(LimitFlags {
        calls_per_minute: Some(2),
        max_request_bytes: Some(40),
        ..LimitFlags::default()
    });
    let server = McpServer::new(&PETS, limited, AuditSink::memory()).unwrap();
    let get = || server.call("get_pet", Some(args(json!({"pet_id": "1"}))));
    assert_eq!(get().await.unwrap().is_error, Some(false));
    assert_eq!(get().await.unwrap().is_error, Some(false));
    let third = get().await.unwrap();
    let text = result_text(&third);
    assert!(
        text.starts_with("rate_limited: this caller made more than 2 tool calls"),
        "{text}"
    );
    assert!(
        text.ends_with("Ask #platform-access for more access."),
        "{text}"
    );
    assert_eq!(mock.requests().len(), 2);
    // Another caller has its own allowance; a large body is refused.
    let bob = Principal::new("bob", ["pets:write"]);
    let big = server
        .call_as(
            bob,
            "create_pet",
            Some(args(json!({"name": "R".repeat(100)}))),
        )
        .await
        .unwrap();
    let text = result_text(&big);
    assert!(
        text.starts_with(
            "request_too_large: the request body would be 126 bytes; this server sends at most 40"
        ),
        "{text}"
    );
    assert_eq!(mock.requests().len(), 2);
    let decisions: Vec<String> = lines(&server)
        .iter()
        .map(|l| l["decision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        decisions,
        [
            "allowed",
            "allowed",
            "denied:rate_limited",
            "denied:request_too_large"
        ]
    );

    let slow = MockUpstream::start(MockResponse {
        delay: Some(Duration::from_millis(3_000)),
        ..ok_mock()
    })
    .await;
    let capped = settings(&slow).with_limits(LimitFlags {
        max_concurrent_calls: Some(1),
        ..LimitFlags::default()
    });
    let server = McpServer::new(&PETS, capped, AuditSink::memory()).unwrap();
    let call = || server.call("get_pet", Some(args(json!({"pet_id": "1"}))));
    let (a, b) = tokio::join!(call(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        call().await
    });
    assert_eq!(a.unwrap().is_error, Some(false));
    let b = b.unwrap();
    assert!(
        result_text(&b).starts_with("busy: 1 tool calls are already in progress"),
        "{}",
        result_text(&b)
    );
    assert_eq!(slow.requests().len(), 1);
}

#[tokio::test]
async fn a_blank_path_argument_is_refused_before_the_upstream() {
    let mock = MockUpstream::start(ok_mock()).await;
    let server = McpServer::new(&PETS, settings(&mock), AuditSink::memory()).unwrap();
    for blank in ["", "  "] {
        let result = server
            .call("get_pet", Some(args(json!({"pet_id": blank}))))
            .await
            .unwrap();
        let text = result_text(&result);
        assert_eq!(result.is_error, Some(true));
        assert!(
            text.starts_with("Invalid arguments for tool `get_pet`; the upstream API was not called.\n- `pet_id` must not be empty or blank"),
            "{text}"
        );
    }
    assert!(
        mock.requests().is_empty(),
        "a blank path reached the upstream"
    );
    let line = lines(&server).pop().unwrap();
    assert_eq!(line["outcome"], "invalid_arguments");
    assert_eq!(line["detail"], "blank path argument pet_id");
}

#[tokio::test]
async fn a_2xx_response_over_the_size_limit_is_a_success_that_says_so() {
    let mock = MockUpstream::start(MockResponse::json(
        200,
        &json!({"id": 42, "name": "R".repeat(500)}),
    ))
    .await;
    let small = settings(&mock).with_limits(LimitFlags {
        max_response_bytes: Some(64),
        ..LimitFlags::default()
    });
    let server = McpServer::new(&PETS, small, AuditSink::memory()).unwrap();
    // get_pet publishes an output schema and an allowlist: no partial JSON, `{}` structured.
    let result = server
        .call("get_pet", Some(args(json!({"pet_id": "42"}))))
        .await
        .unwrap();
    let text = result_text(&result);
    assert_eq!(result.is_error, Some(false));
    assert_eq!(result.structured_content, Some(json!({})));
    assert!(
        text.contains(
            "answered HTTP 200 OK, but its answer was larger than this server's limit of 64 bytes"
        ),
        "{text}"
    );
    assert!(
        !text.contains("RRRR"),
        "partial JSON shown despite field rules: {text}"
    );
    let line = lines(&server).pop().unwrap();
    assert_eq!(line["outcome"], "response_truncated");
    assert_eq!(line["upstream_status"], 200);
}

#[tokio::test]
async fn audit_lines_name_the_caller_contract_decision_identity_and_sizes() {
    let mock = MockUpstream::start(ok_mock()).await;
    let mut caller = Principal::new("ann@example.com", ["pets:read"]);
    caller.client_id = Some("desktop-app".into());
    let server = McpServer::new(&PETS, settings(&mock), AuditSink::memory()).unwrap();
    let result = server
        .call_as(
            caller,
            "get_pet",
            Some(args(json!({"pet_id": "42", "trace": "t-secret-9"}))),
        )
        .await
        .unwrap();
    let line = lines(&server).pop().unwrap();
    assert_eq!(line["subject"], "ann@example.com");
    assert_eq!(line["client_id"], "desktop-app");
    assert_eq!(line["tool"], "get_pet");
    assert_eq!(line["contract"], testing_specs::CONTRACT);
    assert_eq!(line["decision"], "allowed");
    assert_eq!(line["identity"], "service_account");
    assert_eq!(line["upstream_status"], 200);
    assert_eq!(
        line["bytes_in"],
        serde_json::to_vec(&json!({"pet_id": "42", "trace": "t-secret-9"}))
            .unwrap()
            .len()
    );
    assert_eq!(
        line["bytes_out"],
        serde_json::to_vec(&result).unwrap().len()
    );
    assert_eq!(line["arguments"], json!(["pet_id", "trace"]));
    assert!(line.get("auth").is_none());
    let raw = server.audit().lines().pop().unwrap();
    assert!(!raw.contains("t-secret-9") && !raw.contains(KEY));
}

fn oauth_env() -> Value {
    json!({"PETS_API_KEY": "sa-bearer-71c2", "PETS_QUERY_KEY": "qk-5521",
        "PETS_CLIENT_ID": "mcp-client", "PETS_CLIENT_SECRET": "cs-9f8e7d"})
}

fn whoami_fixture(tool: &str, authorization: &str) -> Value {
    json!({
        "tool": tool,
        "env": oauth_env(),
        "secrets": ["sa-bearer-71c2", "qk-5521", "cs-9f8e7d"],
        "caller_token": "caller-jwt-ann",
        "call": {
            "upstream": {"status": 200, "content_type": "application/json", "body": "{\"me\":\"ann\"}"},
            "request": {"method": "GET", "path": "/v1/me", "query": [["key", "qk-5521"]],
                "headers": {"authorization": authorization}, "body": null},
            "result": {"is_error": false, "structured": {"me": "ann"}}
        }
    })
}

#[tokio::test]
async fn each_identity_mode_sends_its_token_upstream() {
    let mut cc = whoami_fixture("whoami_cc", "Bearer up-cc-token");
    cc["oauth"] = json!({"access_token": "up-cc-token"});
    check_fixture(&OAUTH_PETS, &cc.to_string()).await;
    let mut exchange = whoami_fixture("whoami_exchange", "Bearer on-behalf-of-ann");
    exchange["oauth"] = json!({"access_token": "on-behalf-of-ann", "expires_in": 60});
    let run = check_fixture(&OAUTH_PETS, &exchange.to_string()).await;
    let line: Value = serde_json::from_str(&run.audit[0]).unwrap();
    assert_eq!(line["identity"], "token_exchange");
    check_fixture(
        &OAUTH_PETS,
        &whoami_fixture("whoami_pass", "Bearer caller-jwt-ann").to_string(),
    )
    .await;
    check_fixture(
        &OAUTH_PETS,
        &whoami_fixture("whoami_sa", "Bearer sa-bearer-71c2").to_string(),
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "token exchange must send the caller's token as subject_token")]
async fn the_harness_notices_a_wrong_subject_token() {
    // The fixture says one caller token; the server is made to exchange another.
    let mut fixture = whoami_fixture("whoami_exchange", "Bearer on-behalf-of-ann");
    fixture["oauth"] = json!({"access_token": "on-behalf-of-ann"});
    let fixture: Fixture = serde_json::from_value(fixture).unwrap();
    let server = MockAuthServer::start().await;
    server.set_token_reply(TokenReply::ok("on-behalf-of-ann", Some(60)));
    let mock = MockUpstream::start(ok_mock()).await;
    let settings = Settings::new(mock.url())
        .with_var("PETS_QUERY_KEY", "qk")
        .with_var("PETS_CLIENT_ID", "mcp-client")
        .with_var("PETS_CLIENT_SECRET", "cs-9f8e7d")
        .with_oauth_token_url(server.token_url())
        .with_principal(Principal {
            token: Some(Secret::new("someone-else")),
            ..Principal::new("ann", ["pets:read"])
        });
    let mcp = McpServer::new(&OAUTH_PETS, settings, AuditSink::memory()).unwrap();
    mcp.call("whoami_exchange", None).await.unwrap();
    check_grant(
        &OAUTH_PETS,
        &testing_specs::WHOAMI_EXCHANGE,
        &fixture,
        &server,
        "caller-jwt-ann",
    );
}

#[tokio::test]
async fn acting_for_the_caller_without_a_caller_token_is_refused_before_any_request() {
    let server = MockAuthServer::start().await;
    let mock = MockUpstream::start(ok_mock()).await;
    let settings = Settings::new(mock.url())
        .with_var("PETS_QUERY_KEY", "qk")
        .with_var("PETS_CLIENT_ID", "mcp-client")
        .with_var("PETS_CLIENT_SECRET", "cs-9f8e7d")
        .with_oauth_token_url(server.token_url());
    let mcp = McpServer::new(&OAUTH_PETS, settings, AuditSink::memory()).unwrap();
    for tool in ["whoami_exchange", "whoami_pass"] {
        let result = mcp.call(tool, None).await.unwrap();
        let text = result_text(&result);
        assert!(text.starts_with("identity_unavailable: this tool acts on the upstream API with the caller's own identity"), "{text}");
        assert!(text.contains("--stdio-token-env"), "{text}");
    }
    // A token endpoint that refuses: the call fails without reaching the upstream.
    server.set_token_reply(TokenReply::raw(401, r#"{"error":"invalid_client"}"#));
    let result = mcp.call("whoami_cc", None).await.unwrap();
    let text = result_text(&result);
    assert!(
        text.contains("HTTP 401, invalid_client") && !text.contains("cs-9f8e7d"),
        "{text}"
    );
    assert!(mock.requests().is_empty());
    assert_eq!(server.token_requests().len(), 1);
    let outcomes: Vec<String> = lines(&mcp)
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["decision"].as_str().unwrap(),
                l["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "denied:identity_unavailable not_executed",
            "denied:identity_unavailable not_executed",
            "allowed identity_error"
        ]
    );
}

fn delete_fixture() -> Value {
    json!({
        "tool": "delete_pet",
        "env": {"PETS_API_KEY": KEY, "PETS_TENANT": "acme-tenant"},
        "secrets": [KEY],
        "call": {
            "confirm": true,
            "arguments": {"pet_id": "42"},
            "upstream": {"status": 204},
            "request": {"method": "DELETE", "path": "/v1/pets/42", "query": [["audit_tag", "hidden-tag-77"]],
                "headers": {"api_key": KEY, "x-tenant": "acme-tenant"}, "body": null},
            "result": {"is_error": false, "text": "HTTP 204 No Content"}
        },
        "invalid": {"arguments": {"pet_id": 42}, "mentions": "pet_id"}
    })
}

#[tokio::test]
async fn fixtures_with_confirm_dry_run_first() {
    let run = check_fixture(&PETS, &delete_fixture().to_string()).await;
    let decisions: Vec<String> = run
        .audit
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["decision"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(decisions, ["dry_run", "confirmed", "allowed"]);
}

#[tokio::test]
#[should_panic(expected = "set \"call\": {\"confirm\": true")]
async fn the_harness_says_when_a_fixture_forgets_confirm() {
    let mut fixture = delete_fixture();
    fixture["call"]["confirm"] = json!(false);
    check_fixture(&PETS, &fixture.to_string()).await;
}

#[tokio::test]
#[should_panic(expected = "the fixture needs \"oauth\"")]
async fn the_harness_says_when_a_fixture_forgets_oauth() {
    check_fixture(
        &OAUTH_PETS,
        &whoami_fixture("whoami_cc", "Bearer x").to_string(),
    )
    .await;
}

fn get_pet_fixture() -> Value {
    json!({
        "tool": "get_pet",
        "env": {"PETS_API_KEY": KEY, "PETS_TENANT": "acme"},
        "secrets": [KEY],
        "call": {
            "arguments": {"pet_id": "42"},
            "upstream": {"status": 200, "content_type": "application/json",
                "body": r#"{"id":42,"name":"Rex","owner":{"email":"rex@owner.example"}}"#},
            "request": {"method": "GET", "path": "/v1/pets/42",
                "query": [["verbose", "false"], ["format", "json"], ["tenant", "acme"]],
                "headers": {"api_key": KEY}, "body": null},
            "result": {"is_error": false, "structured": {"id": 42, "name": "Rex", "owner": {}}},
            "absent": ["rex@owner.example"]
        }
    })
}

// run_auth_checks builds its own runtime: these are plain tests.

#[test]
fn auth_checks_on_a_scoped_tool() {
    let run = run_auth_checks(&PETS, &get_pet_fixture().to_string());
    let call: Vec<Value> = run
        .audit
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "tool_call")
        .collect();
    assert_eq!(call.len(), 1);
    assert_eq!(call[0]["subject"], "mcpgen-auth-check-user");
    assert_eq!(call[0]["client_id"], "mcpgen-auth-check-client");
    let refusals: Vec<String> = run
        .audit
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "auth")
        .map(|l| format!("{} {}", l["status"], l["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refusals,
        [
            "401 missing_token",
            "401 bad_signature",
            "401 wrong_audience",
            "401 wrong_issuer",
            "401 expired",
            "403 missing scope pets:read"
        ]
    );
}

#[test]
fn auth_checks_on_an_unscoped_tool_and_a_confirm_tool() {
    run_auth_checks(
        &PETS,
        &json!({
            "tool": "list_pets",
            "env": {"PETS_API_KEY": KEY, "PETS_TENANT": "acme"},
            "secrets": [KEY],
            "call": {
                "arguments": {"limit": 1},
                "upstream": {"status": 200, "content_type": "application/json", "body": "[]"},
                "request": {"method": "GET", "path": "/v1/pets", "query": [["limit", "1"]], "body": null},
                "result": {"is_error": false, "structured": {"items": []}}
            }
        })
        .to_string(),
    );
    let run = run_auth_checks(&PETS, &delete_fixture().to_string());
    assert_eq!(run.requests.len(), 1);
}

#[test]
fn auth_checks_with_upstream_identities() {
    let mut exchange = whoami_fixture("whoami_exchange", "Bearer on-behalf-of-ann");
    exchange["oauth"] = json!({"access_token": "on-behalf-of-ann"});
    run_auth_checks(&OAUTH_PETS, &exchange.to_string());
    // Passthrough: the harness expects the valid token it minted to reach the upstream.
    let run = run_auth_checks(
        &OAUTH_PETS,
        &whoami_fixture("whoami_pass", "Bearer caller-jwt-ann").to_string(),
    );
    assert_eq!(
        run.requests[0].header("authorization"),
        Some(format!("Bearer {}", run.token))
    );
}

#[test]
#[should_panic(expected = "must not appear")]
fn auth_checks_notice_a_leak() {
    let mut fixture = get_pet_fixture();
    fixture["call"]["absent"] = json!(["Rex"]);
    run_auth_checks(&PETS, &fixture.to_string());
}
