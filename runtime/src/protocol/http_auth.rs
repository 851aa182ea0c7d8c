//! The HTTP transport as an OAuth 2.1 protected resource (RFC 9728, MCP authorization).
//!
//! Owns what happens to a request for `/mcp` before rmcp sees it: the bearer token is validated
//! (401 with `WWW-Authenticate: Bearer resource_metadata="…"` when it is missing, plus
//! `error="invalid_token"` when it is refused; 503 when the keys cannot be fetched), the
//! [`Principal`] is put in the request extensions (where tools read it through
//! `http::request::Parts`), and a `tools/call` of a tool whose scopes the token lacks is
//! answered 403 with `error="insufficient_scope"` and the scopes it needs (the JSON-RPC body
//! is read for the tool name, and the 2026-07-28 `Mcp-Name` header too). Also serves the
//! protected resource metadata at `/.well-known/oauth-protected-resource` (and its `/mcp`
//! suffixed form). Every refusal writes one audit line (`event: "auth"`).
//!
//! With `--insecure-no-auth` every request gets an anonymous principal holding every declared
//! scope (and its bearer token, unchecked, if it sent one), and no metadata is served.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::call::pipeline::RequestIds;
use crate::identity::caller::{AuthError, Authenticator, insufficient_scope_text};
use crate::observe::audit::{AuditSink, AuthRecord, Caller, DenyReason};
use crate::observe::metrics::Metrics;
use crate::spec::{ServerSpec, ToolSpec};
use crate::support::principal::Principal;
use crate::support::secret::Secret;

/// Path of the protected resource metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Subject of every caller when authentication is disabled.
pub const ANONYMOUS: &str = "anonymous";

/// How HTTP callers are authenticated.
#[derive(Debug)]
pub enum AuthMode {
    /// Bearer tokens are required and validated.
    Required(Box<Authenticator>),
    /// Development only: nobody is authenticated.
    Disabled,
}

/// The authentication layer of the HTTP transport, built once.
#[derive(Debug)]
pub struct HttpAuth {
    spec: &'static ServerSpec,
    mode: AuthMode,
    metadata_url: String,
    metadata: Value,
    tools: HashMap<&'static str, &'static ToolSpec>,
    audit: AuditSink,
    metrics: Metrics,
    ids: RequestIds,
    max_body: usize,
}

fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

impl HttpAuth {
    /// The layer for `spec`, whose public base URL is `public_url` (no trailing slash).
    /// `max_body` bounds the JSON-RPC request bodies read; refusals are logged to `audit` and
    /// counted in `metrics`.
    pub fn new(
        spec: &'static ServerSpec,
        mode: AuthMode,
        public_url: &str,
        audit: AuditSink,
        metrics: Metrics,
        max_body: usize,
    ) -> Self {
        let public_url = public_url.trim_end_matches('/');
        let (resource, issuer) = match &mode {
            AuthMode::Required(a) => (a.audience.clone(), a.issuer.clone()),
            AuthMode::Disabled => (format!("{public_url}/mcp"), None),
        };
        let mut metadata = json!({
            "resource": resource,
            "scopes_supported": spec.scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": spec.title.unwrap_or(spec.name),
        });
        if let Some(issuer) = issuer {
            metadata["authorization_servers"] = json!([issuer]);
        }
        HttpAuth {
            spec,
            mode,
            metadata_url: format!("{public_url}{METADATA_PATH}"),
            metadata,
            tools: spec.tools.iter().map(|t| (t.name, *t)).collect(),
            audit,
            metrics,
            ids: RequestIds::default(),
            max_body,
        }
    }

    /// The URL of the protected resource metadata.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The protected resource metadata document.
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// Whether the server can take calls: callers' tokens can be checked (see
    /// [`Authenticator::ready`]); always, with authentication disabled.
    pub async fn ready(&self) -> bool {
        match &self.mode {
            AuthMode::Required(authenticator) => authenticator.ready().await,
            AuthMode::Disabled => true,
        }
    }

    /// Whether authentication is disabled.
    pub fn disabled(&self) -> bool {
        matches!(self.mode, AuthMode::Disabled)
    }

    /// `mcp` (the rmcp service router) behind this layer, plus the metadata routes.
    pub fn wrap(self: Arc<Self>, mcp: Router) -> Router {
        let guarded = mcp.layer(middleware::from_fn_with_state(Arc::clone(&self), guard));
        if self.disabled() {
            return guarded;
        }
        let doc = self.metadata.clone();
        let serve = move || {
            let doc = doc.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    doc.to_string(),
                )
            }
        };
        guarded
            .route(METADATA_PATH, get(serve.clone()))
            .route(&format!("{METADATA_PATH}/mcp"), get(serve))
    }

    /// Writes `record`'s audit line and answers its status with this challenge and body.
    fn refuse(&self, record: AuthRecord, challenge: String, body: Value) -> Response {
        self.audit.write(&record.to_line(SystemTime::now()));
        self.metrics.http_refusal(record.status);
        let mut response = (
            StatusCode::from_u16(record.status).unwrap_or(StatusCode::UNAUTHORIZED),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if !challenge.is_empty()
            && let Ok(value) = challenge.parse()
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    fn token_refused(&self, error: &AuthError) -> Response {
        let description = error.to_string();
        let (reason, challenge) = match error {
            AuthError::MissingToken => (
                DenyReason::InvalidToken,
                format!("Bearer resource_metadata=\"{}\"", self.metadata_url),
            ),
            AuthError::Unavailable(_) => (DenyReason::AuthUnavailable, String::new()),
            _ => (
                DenyReason::InvalidToken,
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\", \
                     resource_metadata=\"{}\"",
                    quoted(&description),
                    self.metadata_url
                ),
            ),
        };
        let body = match error {
            AuthError::MissingToken => json!({
                "error": "invalid_request",
                "error_description": "this MCP server needs an OAuth access token (Authorization: Bearer)",
                "resource_metadata": self.metadata_url,
            }),
            AuthError::Unavailable(_) => json!({
                "error": "temporarily_unavailable",
                "error_description": "the access token cannot be checked right now; try again later",
            }),
            _ => json!({"error": "invalid_token", "error_description": description}),
        };
        let record = AuthRecord {
            request_id: self.ids.next(),
            status: error.status(),
            reason,
            detail: error.code().to_owned(),
            caller: Caller::default(),
            tool: None,
        };
        // The request body has not been read: say that the connection ends here, so a client
        // that sends the body in a later write does not reuse a connection the server drops.
        let mut response = self.refuse(record, challenge, body);
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        response
    }

    fn scope_refused(&self, principal: &Principal, tool: &ToolSpec, missing: &[&str]) -> Response {
        let needed = tool.scopes.join(" ");
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\", \
             error_description=\"{}\"",
            quoted(&needed),
            self.metadata_url,
            quoted(&format!(
                "the tool {} needs scope {}",
                tool.name,
                missing.join(" ")
            ))
        );
        let mut description = insufficient_scope_text(tool.name, missing);
        if let Some(escalation) = tool.escalation.or(self.spec.escalation) {
            description.push_str("\n\n");
            description.push_str(escalation);
        }
        let body = json!({
            "error": "insufficient_scope",
            "error_description": description,
            "scope": needed,
        });
        let record = AuthRecord {
            request_id: self.ids.next(),
            status: 403,
            reason: DenyReason::InsufficientScope,
            detail: format!("missing scope {}", missing.join(" ")),
            caller: Caller {
                subject: Some(principal.subject.clone()),
                client_id: principal.client_id.clone(),
            },
            tool: Some(tool.name.to_owned()),
        };
        self.refuse(record, challenge, body)
    }
}

/// The bearer token of a request: `Ok(None)` without an `Authorization` header, `Err` when it
/// is not a single `Bearer` credential.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Malformed("several Authorization headers"));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(AuthError::Malformed(
            "the Authorization header is not Bearer",
        )),
    }
}

/// Tool names a JSON-RPC body (a message or a batch) calls with `tools/call`.
fn called_tools(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let messages = match &value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    messages
        .into_iter()
        .filter(|m| m.get("method").and_then(Value::as_str) == Some("tools/call"))
        .filter_map(|m| m.pointer("/params/name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

async fn guard(State(auth): State<Arc<HttpAuth>>, request: Request, next: Next) -> Response {
    let token = bearer(request.headers());
    let principal = match &auth.mode {
        AuthMode::Disabled => Principal {
            subject: ANONYMOUS.into(),
            client_id: None,
            scopes: auth.spec.scopes.iter().map(|s| (*s).to_owned()).collect(),
            token: token.ok().flatten().map(Secret::new),
        },
        AuthMode::Required(authenticator) => {
            let token = match token {
                Ok(Some(token)) => token,
                Ok(None) => return auth.token_refused(&AuthError::MissingToken),
                Err(e) => return auth.token_refused(&e),
            };
            match authenticator.authenticate(&token).await {
                Ok(principal) => principal,
                Err(e) => return auth.token_refused(&e),
            }
        }
    };
    let (mut parts, body) = request.into_parts();
    let body = if parts.method == Method::POST {
        let bytes = match axum::body::to_bytes(body, auth.max_body).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CONNECTION, "close"),
                    ],
                    json!({"error": "request_too_large",
                        "error_description": format!("MCP requests are limited to {} bytes", auth.max_body)})
                    .to_string(),
                )
                    .into_response();
            }
        };
        let mut names = called_tools(&bytes);
        let header_method = parts
            .headers
            .get("mcp-method")
            .and_then(|v| v.to_str().ok());
        if header_method == Some("tools/call")
            && let Some(name) = parts.headers.get("mcp-name").and_then(|v| v.to_str().ok())
        {
            names.push(name.to_owned());
        }
        for name in names {
            if let Some(tool) = auth.tools.get(name.as_str()) {
                let missing = principal.missing_scopes(tool.scopes);
                if !missing.is_empty() {
                    return auth.scope_refused(&principal, tool, &missing);
                }
            }
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Ok(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc.def"),
        );
        assert_eq!(bearer(&h), Ok(Some("abc.def".into())));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        assert!(bearer(&h).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert!(bearer(&h).is_err());
    }

    #[test]
    fn tools_called_are_found_in_messages_and_batches() {
        let one = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}"#;
        assert_eq!(called_tools(one), ["a"]);
        let batch = br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"b"}},
            {"method":"tools/call","params":{"name":7}}]"#;
        assert_eq!(called_tools(batch), ["b"]);
        assert!(called_tools(b"not json").is_empty());
        assert!(called_tools(br#"{"method":"tools/call"}"#).is_empty());
    }

    #[test]
    fn challenge_values_are_quoted_safely() {
        assert_eq!(quoted(r#"a "b" \c"#), r#"a \"b\" \\c"#);
        assert_eq!(quoted("line\nbreak"), "linebreak");
        let text = insufficient_scope_text("delete_pet", &["pets:write", "admin"]);
        assert!(text.starts_with("insufficient_scope: "));
        assert!(text.contains("scopes `pets:write`, `admin`"), "{text}");
    }
}

#[cfg(all(test, feature = "testing"))]
mod live_tests {
    use super::*;
    use crate::protocol::server::McpServer;
    use crate::support::cli::{AuthFlags, Cli, TransportKind};
    use crate::support::settings::Settings;
    use crate::testing::{MockAuthServer, MockResponse, MockUpstream, TestKey};
    use crate::testing_specs::PETS;

    struct Running {
        url: String,
        audit: AuditSink,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    async fn serve(
        mock: &MockUpstream,
        auth: AuthFlags,
        settings: Settings,
        max_body: usize,
    ) -> Running {
        let (listener, local) = crate::protocol::transport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let public = format!("http://{local}");
        let cli = Cli {
            transport: TransportKind::Http,
            auth,
            ..Cli::default()
        };
        let settings = settings
            .with_var("PETS_API_KEY", "k-secret-1")
            .with_var("PETS_TENANT", "t");
        let audit = AuditSink::memory();
        let server = McpServer::new(&PETS, settings.clone(), audit.clone()).unwrap();
        let auth = crate::protocol::serve::http_auth(
            &PETS,
            &cli,
            &settings,
            &public,
            audit.clone(),
            server.metrics(),
            max_body,
        )
        .unwrap();
        let app = crate::protocol::transport::router(server, &[], Arc::new(auth));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::protocol::transport::serve_http(
            listener,
            app,
            async {
                let _ = stopped.await;
            },
        ));
        let _ = mock;
        Running {
            url: format!("{public}/mcp"),
            audit,
            _stop: stop,
        }
    }

    async fn post(
        url: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> (u16, String, String) {
        let mut request = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, challenge, response.text().await.unwrap())
    }

    fn call(tool: &str, args: Value) -> String {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": args}})
        .to_string()
    }

    /// A refusal sent before the body is read closes the connection, and says so: a client that
    /// sends the body in a later write must not reuse a connection the server then drops.
    #[tokio::test]
    async fn a_refused_token_announces_that_the_connection_closes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mock = MockUpstream::start(MockResponse::json(200, &json!([]))).await;
        let issuer = MockAuthServer::start().await;
        let flags = AuthFlags {
            issuer: Some(issuer.issuer()),
            ..AuthFlags::default()
        };
        let running = serve(&mock, flags, Settings::new(mock.url()), 1 << 20).await;
        let address = running
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp");
        let body = call("list_pets", json!({}));
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer not-a-jwt\r\n\
             content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let _ = stream.write_all(body.as_bytes()).await;
        let mut response = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut response),
        )
        .await;
        let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
        assert!(response.starts_with("http/1.1 401"), "{response}");
        assert!(response.contains("\r\nconnection: close\r\n"), "{response}");
    }

    #[tokio::test]
    async fn opaque_tokens_are_introspected() {
        let mock = MockUpstream::start(MockResponse::json(200, &json!([]))).await;
        let issuer = MockAuthServer::start().await;
        let flags = AuthFlags {
            introspection_url: Some(issuer.introspection_url()),
            introspection_client_id_env: Some("RS_ID".into()),
            introspection_client_secret_env: Some("RS_SECRET".into()),
            ..AuthFlags::default()
        };
        let settings = Settings::new(mock.url())
            .with_var("RS_ID", "rs")
            .with_secret_var("RS_SECRET", "rs-secret-1234");
        let running = serve(&mock, flags, settings, 1 << 20).await;
        issuer.set_introspection(
            "opaque-good",
            json!({"active": true, "sub": "ann", "scope": "pets:read pets:write"}),
        );
        let (status, _, body) = post(
            &running.url,
            "opaque-good",
            &[],
            call("list_pets", json!({})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""isError":false"#), "{body}");
        let (status, challenge, _) = post(
            &running.url,
            "opaque-bad",
            &[],
            call("list_pets", json!({})),
        )
        .await;
        assert_eq!(status, 401);
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(challenge.contains("not active"), "{challenge}");
        let line = running.audit.lines().last().unwrap().clone();
        assert!(line.contains(r#""detail":"inactive""#), "{line}");
        assert!(!line.contains("opaque-bad"));
    }

    #[tokio::test]
    async fn the_mcp_name_header_is_checked_too_and_bodies_are_bounded() {
        let mock = MockUpstream::start(MockResponse::json(200, &json!([]))).await;
        let issuer = MockAuthServer::start().await;
        let key = TestKey::generate("k1");
        issuer.set_keys(&[&key]);
        let flags = AuthFlags {
            issuer: Some(issuer.issuer()),
            jwks_url: Some(issuer.jwks_url()),
            ..AuthFlags::default()
        };
        let running = serve(&mock, flags, Settings::new(mock.url()), 4096).await;
        let audience = running.url.clone();
        let now = crate::identity::caller::unix_now();
        let reader = key.sign(
            &json!({"iss": issuer.issuer(), "aud": audience, "sub": "ann",
            "exp": now + 60, "scp": ["pets:read"]}),
        );
        let (status, challenge, body) = post(
            &running.url,
            &reader,
            &[("mcp-method", "tools/call"), ("mcp-name", "create_pet")],
            call("list_pets", json!({})),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(challenge.contains("scope=\"pets:write\""), "{challenge}");
        assert!(body.contains("Ask #platform-access"), "{body}");
        let (status, _, _) = post(&running.url, &reader, &[], "x".repeat(5000)).await;
        assert_eq!(status, 413);
        assert!(mock.requests().is_empty());
        assert_eq!(issuer.jwks_requests(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_a_503_not_a_401() {
        let mock = MockUpstream::start(MockResponse::json(200, &json!([]))).await;
        let issuer = MockAuthServer::start().await;
        issuer.set_jwks_status(500);
        let flags = AuthFlags {
            issuer: Some(issuer.issuer()),
            ..AuthFlags::default()
        };
        let running = serve(&mock, flags, Settings::new(mock.url()), 1 << 20).await;
        let key = TestKey::generate("k1");
        let token = key.sign(
            &json!({"iss": issuer.issuer(), "aud": running.url, "sub": "a",
            "exp": crate::identity::caller::unix_now() + 60}),
        );
        let (status, challenge, body) =
            post(&running.url, &token, &[], call("list_pets", json!({}))).await;
        assert_eq!(status, 503, "{body}");
        assert!(challenge.is_empty());
        assert!(body.contains("temporarily_unavailable"));
        let line = running.audit.lines().last().unwrap().clone();
        assert!(
            line.contains(r#""decision":"denied:auth_unavailable""#),
            "{line}"
        );
    }

    #[tokio::test]
    async fn a_static_key_file_verifies_tokens_without_an_issuer() {
        let mock = MockUpstream::start(MockResponse::json(200, &json!([]))).await;
        let key = TestKey::generate("dev");
        let path = std::env::temp_dir().join(format!("mcpgen-static-{}.jwk", std::process::id()));
        std::fs::write(&path, key.jwk().to_string()).unwrap();
        let flags = AuthFlags {
            static_key_file: Some(path.to_string_lossy().into_owned()),
            ..AuthFlags::default()
        };
        let running = serve(&mock, flags, Settings::new(mock.url()), 1 << 20).await;
        let _ = std::fs::remove_file(&path);
        let now = crate::identity::caller::unix_now();
        let good =
            key.sign(&json!({"iss": "anyone", "aud": running.url, "sub": "dev", "exp": now + 60}));
        let (status, _, body) = post(&running.url, &good, &[], call("list_pets", json!({}))).await;
        assert_eq!(status, 200, "{body}");
        let other = TestKey::generate("dev");
        let bad = other.sign(&json!({"aud": running.url, "sub": "dev", "exp": now + 60}));
        let (status, challenge, _) =
            post(&running.url, &bad, &[], call("list_pets", json!({}))).await;
        assert_eq!(status, 401);
        assert!(challenge.contains("signature is invalid"), "{challenge}");
    }

    #[tokio::test]
    async fn a_2026_http_client_confirms_through_input_required_rounds() {
        let mock = MockUpstream::start(MockResponse::json(200, &json!({}))).await;
        let running = serve(
            &mock,
            AuthFlags {
                insecure_no_auth: true,
                ..AuthFlags::default()
            },
            Settings::new(mock.url()).with_auth_disabled(true),
            1 << 20,
        )
        .await;
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}}
        });
        let headers = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "delete_pet"),
        ];
        let send = |params: Value| {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
            let url = running.url.clone();
            async move {
                let mut request = reqwest::Client::new()
                    .post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(body.to_string());
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                let text = request.send().await.unwrap().text().await.unwrap();
                serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!({"raw": text}))
            }
        };
        let first =
            send(json!({"_meta": meta, "name": "delete_pet", "arguments": {"pet_id": "7"}})).await;
        let result = &first["result"];
        assert_eq!(result["resultType"], "input_required", "{first}");
        let message = result["inputRequests"]["confirm"]["params"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{first}"));
        assert!(message.contains("/pets/7"), "{message}");
        let state = result["requestState"].as_str().unwrap().to_owned();
        assert!(mock.requests().is_empty());
        let second = send(
            json!({"_meta": meta, "name": "delete_pet", "arguments": {"pet_id": "7"},
            "requestState": state,
            "inputResponses": {"confirm": {"action": "accept", "content": {"confirm": true}}}}),
        )
        .await;
        assert_eq!(second["result"]["isError"], false, "{second}");
        assert_eq!(mock.requests().len(), 1);
        let lines = running.audit.lines();
        assert!(
            lines[0].contains(r#""decision":"confirmation_requested""#),
            "{lines:?}"
        );
        assert!(lines[1].contains(r#""decision":"confirmed""#), "{lines:?}");
        assert!(lines.iter().all(|l| l.contains(r#""auth":"disabled""#)));
    }
}
