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
