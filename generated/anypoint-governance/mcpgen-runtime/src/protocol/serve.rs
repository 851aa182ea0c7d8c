//! Serving: from parsed flags and settings to a running transport, and why it stopped.
//!
//! Owns the refusal of an HTTP server without authentication, the public URL, the HTTP
//! authentication layer's construction, the metrics listener, and the start-up audit lines.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::call::catalog::StartupError;
use crate::identity::caller::Authenticator;
use crate::observe::audit::{self, AuditSink};
use crate::observe::metrics;
use crate::protocol::http_auth::{AuthMode, HttpAuth};
use crate::protocol::server::McpServer;
use crate::protocol::transport;
use crate::spec::ServerSpec;
use crate::support::cli::{Cli, TransportKind};
use crate::support::fetch;
use crate::support::settings::{ConfigError, Settings};

/// Why a server stopped with an error.
#[derive(Debug)]
pub enum RunError {
    /// The specs cannot be served.
    Startup(StartupError),
    /// The flags or environment are unusable.
    Config(ConfigError),
    /// The listen address cannot be bound.
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The error.
        error: std::io::Error,
    },
    /// The transport failed.
    Io(std::io::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Startup(e) => write!(f, "cannot start: {e}"),
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Bind { addr, error } => write!(
                f,
                "cannot listen on {addr}: {error}\nhelp: pick another address with --listen"
            ),
            RunError::Io(e) => write!(f, "transport failed: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Refuses an HTTP configuration that would serve without authentication by accident, or
/// that asks for both authentication and none.
pub fn check_http_auth(cli: &Cli) -> Result<(), ConfigError> {
    match (cli.auth.any_validation(), cli.auth.insecure_no_auth) {
        (true, true) => Err(ConfigError::Invalid(
            "--insecure-no-auth cannot be combined with --auth-* flags".into(),
        )),
        (false, false) => Err(ConfigError::Invalid(
            "refusing to serve HTTP without authentication\nhelp: configure token validation \
             (e.g. --auth-issuer https://login.example.com, see --help), or pass \
             --insecure-no-auth for local development only"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// The public base URL: `--public-url` (validated, no trailing slash), else `http://<local>`.
pub fn public_url(cli: &Cli, local: std::net::SocketAddr) -> Result<String, ConfigError> {
    match &cli.public_url {
        None => Ok(format!("http://{local}")),
        Some(url) => {
            let parsed = reqwest::Url::parse(url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .filter(|u| u.query().is_none() && u.fragment().is_none())
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        "--public-url is not an absolute http:// or https:// URL without query"
                            .into(),
                    )
                })?;
            Ok(parsed.as_str().trim_end_matches('/').to_owned())
        }
    }
}

/// The HTTP authentication layer `cli` configures for a server reachable at `public`.
pub fn http_auth(
    spec: &'static ServerSpec,
    cli: &Cli,
    settings: &Settings,
    public: &str,
    audit: AuditSink,
    metrics: metrics::Metrics,
    max_body: usize,
) -> Result<HttpAuth, ConfigError> {
    check_http_auth(cli)?;
    let http = fetch::client(&format!("{}/{} (mcpgen)", spec.name, spec.version))
        .map_err(ConfigError::Invalid)?;
    let mode = match Authenticator::from_cli(cli, settings, &format!("{public}/mcp"), http)? {
        Some(authenticator) => AuthMode::Required(Box::new(authenticator)),
        None => AuthMode::Disabled,
    };
    Ok(HttpAuth::new(spec, mode, public, audit, metrics, max_body))
}

/// Serves `spec` as `cli` says until the client leaves (stdio) or Ctrl-C/SIGTERM arrives.
pub async fn run(
    spec: &'static ServerSpec,
    cli: &Cli,
    settings: Settings,
    audit: AuditSink,
) -> Result<(), RunError> {
    if cli.transport == TransportKind::Http {
        check_http_auth(cli).map_err(RunError::Config)?;
    }
    let server =
        McpServer::new(spec, settings.clone(), audit.clone()).map_err(RunError::Startup)?;
    // Metrics are served on their own listener, for either transport.
    let metrics_local = match cli.metrics_listen {
        None => None,
        Some(addr) => {
            let (listener, local) = transport::bind(addr)
                .await
                .map_err(|error| RunError::Bind { addr, error })?;
            let app = transport::metrics_router(server.metrics());
            tokio::spawn(transport::serve_http(
                listener,
                app,
                transport::shutdown_signal(),
            ));
            Some(local)
        }
    };
    let startup = |listen| {
        audit::startup_line(
            SystemTime::now(),
            spec.name,
            spec.version,
            cli.transport.as_str(),
            listen,
            metrics_local,
            server.tool_count(),
        )
    };
    match cli.transport {
        TransportKind::Stdio => {
            audit.write(&startup(None));
            if cli.auth.any_validation() || cli.auth.insecure_no_auth {
                audit.write(&audit::warning_line(
                    SystemTime::now(),
                    "config",
                    "the --auth-* flags apply to the HTTP transport only; stdio runs as the \
                     configured stdio principal",
                ));
            }
            transport::serve_stdio(server.clone(), transport::shutdown_signal())
                .await
                .map_err(RunError::Io)
        }
        TransportKind::Http => {
            let (listener, local) =
                transport::bind(cli.listen)
                    .await
                    .map_err(|error| RunError::Bind {
                        addr: cli.listen,
                        error,
                    })?;
            let public = public_url(cli, local).map_err(RunError::Config)?;
            let max_body = mcp_body_limit(server.limits().max_request_bytes);
            let auth = http_auth(
                spec,
                cli,
                &settings,
                &public,
                audit.clone(),
                server.metrics(),
                max_body,
            )
            .map_err(RunError::Config)?;
            audit.write(&startup(Some(local)));
            if auth.disabled() {
                audit.write(&audit::warning_line(
                    SystemTime::now(),
                    "insecure_no_auth",
                    "AUTHENTICATION IS DISABLED (--insecure-no-auth): anyone who can reach this \
                     server can call every tool with every scope. Development only.",
                ));
            }
            let mut hosts = cli.allowed_hosts.clone();
            if let Some(host) = reqwest::Url::parse(&public).ok().and_then(|u| {
                let host = u.host_str()?.to_owned();
                Some(match u.port() {
                    Some(port) => vec![format!("{host}:{port}"), host],
                    None => vec![host],
                })
            }) {
                hosts.extend(host);
            }
            let app = transport::router(server.clone(), &hosts, Arc::new(auth));
            transport::serve_http(listener, app, transport::shutdown_signal())
                .await
                .map_err(RunError::Io)
        }
    }
}

/// Largest MCP request body read over HTTP for a server sending at most `max_request_bytes`
/// upstream: binary bodies arrive base64-encoded (4/3 larger) inside a JSON-RPC envelope.
pub fn mcp_body_limit(max_request_bytes: u64) -> usize {
    let limit = u128::from(max_request_bytes) * 4 / 3 + 64 * 1024;
    usize::try_from(limit).unwrap_or(usize::MAX)
}
