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
