//! Serving an [`McpServer`] over stdio or streamable HTTP.
//!
//! Owns the transports only: rmcp's stdio transport; and rmcp's `StreamableHttpService` in
//! stateless mode with plain JSON responses, mounted at `/mcp` in axum next to `GET /healthz`,
//! with `TCP_NODELAY` on accepted sockets (without it, keep-alive clients wait ~40 ms per
//! reply), `Host` checking (loopback plus `--allowed-host`) and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use crate::server::McpServer;

/// Host names the HTTP transport always accepts.
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Serves MCP on stdin/stdout until the client closes the stream or `shutdown` resolves.
pub async fn serve_stdio(server: McpServer, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(io::Error::other)?;
    let token = running.cancellation_token();
    tokio::select! {
        done = running.waiting() => { done.map_err(io::Error::other)?; }
        () = shutdown => token.cancel(),
    }
    Ok(())
}

/// The axum app: `POST /mcp` (and the rest of streamable HTTP) plus `GET /healthz`.
///
/// `allowed_hosts` extends the loopback names accepted in the `Host` header.
pub fn router(server: McpServer, allowed_hosts: &[String]) -> Router {
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
    let service: StreamableHttpService<McpServer, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::default(), config);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest_service("/mcp", service)
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
