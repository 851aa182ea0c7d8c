//! Serving an [`McpServer`] over stdio or streamable HTTP.
//!
//! Owns the transports only: stdio ([`StdioTransport`]: rmcp's line reader, `tools/list`
//! pages written from schema texts); and rmcp's `StreamableHttpService` (its `tools/list`
//! pages written likewise, [`crate::protocol::pages::write_http_pages`]) in
//! stateless mode with plain JSON responses, mounted at `/mcp` in axum behind the
//! authentication layer ([`crate::protocol::http_auth`], which also serves the protected resource
//! metadata), next to `GET /healthz`, with `TCP_NODELAY` on accepted sockets (without it,
//! keep-alive clients wait ~40 ms per reply), `Host` checking (loopback plus `--allowed-host`)
//! and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use crate::observe::metrics::Metrics;
use crate::protocol::http_auth::HttpAuth;
use crate::protocol::server::McpServer;
use crate::protocol::stdio::StdioTransport;

/// Host names the HTTP transport always accepts.
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Serves MCP on stdin/stdout until the client closes the stream or `shutdown` resolves.
pub async fn serve_stdio(server: McpServer, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let (stdin, stdout) = rmcp::transport::stdio();
    let transport = StdioTransport::new(&server, stdin, stdout);
    let running = transport
        .server()
        .clone()
        .serve(transport)
        .await
        .map_err(io::Error::other)?;
    let token = running.cancellation_token();
    tokio::select! {
        done = running.waiting() => { done.map_err(io::Error::other)?; }
        () = shutdown => token.cancel(),
    }
    Ok(())
}

/// The axum app: `POST /mcp` (and the rest of streamable HTTP) behind `auth`, the protected
/// resource metadata, `GET /healthz` (the process answers) and `GET /readyz` (it can take
/// calls: 503 until the issuer's keys are loaded).
///
/// `allowed_hosts` extends the loopback names accepted in the `Host` header.
pub fn router(server: McpServer, allowed_hosts: &[String], auth: Arc<HttpAuth>) -> Router {
    let hosts: Vec<String> = LOOPBACK_HOSTS
        .iter()
        .map(|h| (*h).to_owned())
        .chain(allowed_hosts.iter().cloned())
        .collect();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(hosts);
    // The factory runs per request in stateless mode: it clones an `Arc`, nothing more.
    let handler = server.clone();
    let service: StreamableHttpService<McpServer, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(handler.clone()), Arc::default(), config);
    // `tools/list` pages are written from the schema texts (inside the authentication layer,
    // which has read and bounded the body by then).
    let mcp =
        Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn_with_state(
                server.state(),
                crate::protocol::pages::write_http_pages,
            ));
    let readiness = Arc::clone(&auth);
    let ready = move || {
        let auth = Arc::clone(&readiness);
        async move {
            if auth.ready().await {
                (StatusCode::OK, "ready")
            } else {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: the issuer's keys could not be loaded yet",
                )
            }
        }
    };
    auth.wrap(mcp)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

/// The metrics endpoint, served on its own listener (`--metrics-listen`): `GET /metrics` in the
/// Prometheus text format. It carries no tokens or data, only counts; bind it where only the
/// monitoring system can reach it.
pub fn metrics_router(metrics: Metrics) -> Router {
    let scrape = move || {
        let text = metrics.render();
        async move {
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
        }
    };
    Router::new().route("/metrics", get(scrape))
}

/// Serves the HTTP transport on an already-bound listener until `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` (port 0 picks a free port) and returns the listener and its real address.
pub async fn bind(addr: SocketAddr) -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Resolves on Ctrl-C, or on SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::observe::audit::AuditSink;
    use crate::protocol::http_auth::AuthMode;
    use crate::support::settings::Settings;
    use crate::testing::{MockResponse, MockUpstream};
    use crate::testing_specs::PETS;
    use serde_json::{Value, json};

    async fn json_of(response: reqwest::Response) -> Value {
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    async fn post(
        client: &reqwest::Client,
        url: &str,
        host: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string());
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send().await.unwrap()
    }

    #[tokio::test]
    async fn stateless_http_serves_raw_json_rpc_tool_calls() {
        let mock = MockUpstream::start(MockResponse::json(
            200,
            &json!([{"id": 1, "name": "Rex", "chip": "985112003456789"}]),
        ))
        .await;
        let settings = Settings::new(mock.url())
            .with_var("PETS_API_KEY", "k-secret")
            .with_var("PETS_TENANT", "acme");
        let audit = AuditSink::memory();
        let server =
            McpServer::new(&PETS, settings.with_auth_disabled(true), audit.clone()).unwrap();
        let typed = server.clone();
        let metrics = server.metrics();
        let auth = Arc::new(HttpAuth::new(
            &PETS,
            AuthMode::Disabled,
            "http://127.0.0.1",
            audit.clone(),
            metrics.clone(),
            1 << 20,
        ));
        let app = router(server, &["mcp.example.com".to_owned()], auth);
        let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(serve_http(listener, app, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/mcp");

        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "list_pets", "arguments": {"limit": 1}}});
        let response = post(&client, &url, None, &call).await;
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body = json_of(response).await;
        assert_eq!(body["id"], 7);
        assert_eq!(body["result"]["isError"], false);
        assert_eq!(
            body["result"]["structuredContent"],
            json!({"items": [{"id": 1, "name": "Rex", "chip": "****789"}]})
        );
        assert_eq!(
            mock.requests()[0].query,
            [("limit".to_owned(), "1".to_owned())]
        );
        assert_eq!(audit.lines().len(), 1);
        assert!(audit.lines()[0].contains(r#""auth":"disabled""#));
        assert!(audit.lines()[0].contains(r#""subject":"anonymous""#));

        // The same call through an allowed extra host name; an unknown host is refused.
        let allowed = post(&client, &url, Some("mcp.example.com"), &call).await;
        assert_eq!(allowed.status(), 200);
        let refused = post(&client, &url, Some("evil.example.com"), &call).await;
        assert_eq!(refused.status(), 403);

        // `tools/list` pages are written from the schema texts: the tools rmcp would write, and
        // not the marker that names them.
        let list = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list"});
        let response = post(&client, &url, None, &list).await;
        let text = response.text().await.unwrap();
        assert!(!text.contains("io.mcpgen"), "the page marker is never sent");
        let body: Value = serde_json::from_str(&text).unwrap();
        let everyone =
            crate::support::principal::Principal::new("anonymous", PETS.scopes.iter().copied());
        let typed = serde_json::to_value(typed.list_tools_page(&everyone, None).unwrap()).unwrap();
        assert_eq!(body["result"]["tools"], typed["tools"]);
        assert_eq!(
            body["result"]["tools"].as_array().unwrap().len(),
            PETS.tools.len()
        );

        let unknown = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "nope", "arguments": {}}});
        let body = json_of(post(&client, &url, None, &unknown).await).await;
        assert_eq!(body["error"]["code"], -32602, "{body}");

        let health = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (health.status().as_u16(), health.text().await.unwrap()),
            (200, "ok".into())
        );
        let ready = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (ready.status().as_u16(), ready.text().await.unwrap()),
            (200, "ready".into()),
            "authentication disabled: nothing to wait for"
        );

        // The metrics listener counts what the audit log recorded.
        let (metrics_listener, metrics_addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_http(
            metrics_listener,
            metrics_router(metrics),
            async {
                let _ = metrics_stopped.await;
            },
        ));
        let scraped = client
            .get(format!("http://{metrics_addr}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(scraped.status(), 200);
        assert!(
            scraped.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = scraped.text().await.unwrap();
        for line in [
            "mcpgen_tool_calls_total{tool=\"list_pets\",decision=\"allowed\",outcome=\"ok\"} 2",
            "mcpgen_upstream_responses_total{tool=\"list_pets\",status=\"2xx\"} 2",
            "mcpgen_unknown_tool_calls_total 1",
            "mcpgen_tool_calls_in_flight 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        let _ = stop_metrics.send(());

        stop.send(()).unwrap();
        let done = tokio::time::timeout(std::time::Duration::from_secs(5), serving).await;
        assert!(
            matches!(done, Ok(Ok(Ok(())))),
            "graceful shutdown: {done:?}"
        );
    }

    /// A collector that keeps every OTLP/HTTP export it receives.
    async fn collector() -> (SocketAddr, Arc<std::sync::Mutex<Vec<Value>>>) {
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = Arc::clone(&received);
        let app = Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: String| {
                let keep = Arc::clone(&keep);
                async move {
                    keep.lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap());
                    "{}"
                }
            }),
        );
        let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        tokio::spawn(serve_http(listener, app, std::future::pending()));
        (addr, received)
    }

    #[tokio::test]
    async fn a_call_joins_the_clients_trace_and_its_spans_reach_the_collector() {
        let mock = MockUpstream::start(MockResponse::json(200, &json!([{"id": 1}]))).await;
        let (collector_addr, exports) = collector().await;
        let settings = Settings::new(mock.url())
            .with_var("PETS_API_KEY", "k-secret")
            .with_var("PETS_TENANT", "acme")
            .with_auth_disabled(true)
            .with_otlp_endpoint(format!("http://{collector_addr}"));
        let audit = AuditSink::memory();
        let server = McpServer::new(&PETS, settings, audit.clone()).unwrap();
        let auth = Arc::new(HttpAuth::new(
            &PETS,
            AuthMode::Disabled,
            "http://127.0.0.1",
            audit.clone(),
            server.metrics(),
            1 << 20,
        ));
        let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        tokio::spawn(serve_http(
            listener,
            router(server, &[], auth),
            std::future::pending(),
        ));
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/mcp");
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "list_pets", "arguments": {"limit": 1},
            "_meta": {"traceparent": format!("00-{trace}-00f067aa0ba902b7-01")}}});
        assert_eq!(post(&client, &url, None, &call).await.status(), 200);
        // A call without a trace starts one.
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "list_pets", "arguments": {"limit": 2}}});
        assert_eq!(post(&client, &url, None, &call).await.status(), 200);

        // The upstream is told which span called it, in the client's trace.
        let sent: Vec<String> = mock
            .requests()
            .iter()
            .map(|r| {
                r.headers
                    .iter()
                    .find(|(n, _)| n == "traceparent")
                    .map(|(_, v)| v.clone())
                    .expect("traceparent sent upstream")
            })
            .collect();
        let parts: Vec<&str> = sent[0].split('-').collect();
        assert_eq!((parts[0], parts[1], parts[3]), ("00", trace, "01"));
        assert_ne!(
            parts[2], "00f067aa0ba902b7",
            "the upstream request's own span"
        );
        let second_trace = sent[1].split('-').nth(1).unwrap().to_owned();
        assert_ne!(second_trace, trace);
        // The audit lines name the traces.
        let lines = audit.lines();
        assert!(
            lines[0].contains(&format!(r#""trace_id":"{trace}""#)),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains(&format!(r#""trace_id":"{second_trace}""#)));

        // Every span reaches the collector, as OTLP JSON.
        let mut spans: Vec<Value> = Vec::new();
        for _ in 0..50 {
            spans = exports
                .lock()
                .unwrap()
                .iter()
                .flat_map(|e| {
                    e["resourceSpans"][0]["scopeSpans"][0]["spans"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            if spans.len() >= 10 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let in_trace: Vec<&Value> = spans.iter().filter(|s| s["traceId"] == trace).collect();
        let root = in_trace
            .iter()
            .find(|s| s["name"] == "tools/call list_pets")
            .expect("the call's span");
        assert_eq!(root["parentSpanId"], "00f067aa0ba902b7");
        assert_eq!(root["kind"], 2);
        let mut steps: Vec<&str> = in_trace
            .iter()
            .filter(|s| s["parentSpanId"] == root["spanId"])
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        steps.sort_unstable();
        assert_eq!(
            steps,
            [
                "authorize",
                "shape result",
                "upstream",
                "upstream identity",
                "validate arguments"
            ]
        );
        let upstream = in_trace.iter().find(|s| s["name"] == "upstream").unwrap();
        assert_eq!(
            upstream["spanId"], parts[2],
            "the span the upstream was told of"
        );
        assert_eq!(upstream["kind"], 3);
        let export = &exports.lock().unwrap()[0];
        assert_eq!(
            export["resourceSpans"][0]["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": PETS.name}})
        );
        let other = spans
            .iter()
            .find(|s| s["traceId"] == second_trace.as_str() && s["kind"] == 2)
            .expect("the second call's span");
        assert!(
            other.get("parentSpanId").is_none(),
            "a new trace has no parent"
        );
    }
}
