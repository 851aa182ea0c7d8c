//! A mock authorization server, and test keys that sign real JWTs.
//!
//! [`MockAuthServer`] is an axum server on `127.0.0.1:0` playing the issuer: RFC 8414 metadata
//! (under `/.well-known/oauth-authorization-server`, whatever the path after it), a JWKS at
//! `/jwks`, a token endpoint at `/token` (client credentials and token exchange; answers with
//! a configurable [`TokenReply`]) and an introspection endpoint at `/introspect`. It records
//! what it receives so tests can check the grants. [`TestKey`] is a fresh ES256 key (ring) that
//! signs tokens the server under test verifies through that JWKS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A fresh ES256 signing key with a key id.
#[derive(Debug)]
pub struct TestKey {
    kid: String,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl TestKey {
    /// Generates a key.
    ///
    /// # Panics
    /// If the system has no randomness (a broken test machine).
    pub fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("test key: cannot generate an ES256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("test key: cannot read the generated key");
        TestKey {
            kid: kid.to_owned(),
            pair,
            rng,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        })
    }

    /// A compact JWS of `claims`, signed with this key (header `alg: ES256`, its `kid`,
    /// `typ: at+jwt`).
    ///
    /// # Panics
    /// If signing fails (it does not, for a valid key).
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .pair
            .sign(&self.rng, input.as_bytes())
            .expect("test key: signing failed");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// What the token endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// Wait this long first.
    pub delay: Option<Duration>,
}

impl TokenReply {
    /// A successful `Bearer` token answer.
    pub fn ok(access_token: &str, expires_in: Option<u64>) -> Self {
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        });
        if let Some(secs) = expires_in {
            body["expires_in"] = json!(secs);
        }
        TokenReply {
            status: 200,
            body: body.to_string(),
            delay: None,
        }
    }

    /// Any status and body.
    pub fn raw(status: u16, body: &str) -> Self {
        TokenReply {
            status,
            body: body.to_owned(),
            delay: None,
        }
    }

    /// The same answer after `ms` milliseconds.
    pub fn delayed(mut self, ms: u64) -> Self {
        self.delay = Some(Duration::from_millis(ms));
        self
    }
}

/// A form POST the mock received (token or introspection request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRequest {
    /// Decoded form pairs, in order.
    pub form: Vec<(String, String)>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

impl FormRequest {
    /// The first value of a form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct AuthState {
    base: String,
    keys: Mutex<Vec<Value>>,
    jwks_status: Mutex<u16>,
    jwks_body: Mutex<Option<String>>,
    jwks_requests: Mutex<usize>,
    metadata_requests: Mutex<usize>,
    token_reply: Mutex<TokenReply>,
    token_requests: Mutex<Vec<FormRequest>>,
    introspection: Mutex<HashMap<String, Value>>,
    introspection_status: Mutex<u16>,
    introspection_requests: Mutex<Vec<FormRequest>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running mock authorization server; stops when dropped.
#[derive(Debug)]
pub struct MockAuthServer {
    addr: SocketAddr,
    state: Arc<AuthState>,
    task: JoinHandle<()>,
}

impl MockAuthServer {
    /// Starts the mock on a free loopback port, with no keys and a token endpoint that answers
    /// `invalid_grant`.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("mock authorization server: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("mock authorization server: no local address");
        let state = Arc::new(AuthState {
            base: format!("http://{addr}"),
            keys: Mutex::default(),
            jwks_status: Mutex::new(200),
            jwks_body: Mutex::default(),
            jwks_requests: Mutex::default(),
            metadata_requests: Mutex::default(),
            token_reply: Mutex::new(TokenReply::raw(400, r#"{"error":"invalid_grant"}"#)),
            token_requests: Mutex::default(),
            introspection: Mutex::default(),
            introspection_status: Mutex::new(200),
            introspection_requests: Mutex::default(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockAuthServer { addr, state, task }
    }

    /// The issuer: `http://127.0.0.1:<port>`.
    pub fn issuer(&self) -> String {
        self.state.base.clone()
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.state.base)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.state.base)
    }

    /// The introspection endpoint.
    pub fn introspection_url(&self) -> String {
        format!("{}/introspect", self.state.base)
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Publishes these keys in the JWKS.
    pub fn set_keys(&self, keys: &[&TestKey]) {
        *lock(&self.state.keys) = keys.iter().map(|k| k.jwk()).collect();
    }

    /// Makes the JWKS endpoint answer with this status.
    pub fn set_jwks_status(&self, status: u16) {
        *lock(&self.state.jwks_status) = status;
    }

    /// Makes the JWKS endpoint answer with this body instead of the keys.
    pub fn set_jwks_body(&self, body: &str) {
        *lock(&self.state.jwks_body) = Some(body.to_owned());
    }

    /// JWKS requests received.
    pub fn jwks_requests(&self) -> usize {
        *lock(&self.state.jwks_requests)
    }

    /// Metadata requests received.
    pub fn metadata_requests(&self) -> usize {
        *lock(&self.state.metadata_requests)
    }

    /// What the token endpoint answers from now on.
    pub fn set_token_reply(&self, reply: TokenReply) {
        *lock(&self.state.token_reply) = reply;
    }

    /// Token requests received.
    pub fn token_requests(&self) -> Vec<FormRequest> {
        lock(&self.state.token_requests).clone()
    }

    /// What introspection says about `token`.
    pub fn set_introspection(&self, token: &str, answer: Value) {
        lock(&self.state.introspection).insert(token.to_owned(), answer);
    }

    /// Makes the introspection endpoint answer with this status.
    pub fn set_introspection_status(&self, status: u16) {
        *lock(&self.state.introspection_status) = status;
    }

    /// Introspection requests received.
    pub fn introspection_requests(&self) -> Vec<FormRequest> {
        lock(&self.state.introspection_requests).clone()
    }
}

impl Drop for MockAuthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn form_request(headers: &HeaderMap, body: &[u8]) -> FormRequest {
    FormRequest {
        form: serde_urlencoded::from_bytes(body).unwrap_or_default(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

async fn handle(
    State(state): State<Arc<AuthState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if path.starts_with("/.well-known/oauth-authorization-server") {
        *lock(&state.metadata_requests) += 1;
        let base = &state.base;
        let doc = json!({
            "issuer": base,
            "jwks_uri": format!("{base}/jwks"),
            "token_endpoint": format!("{base}/token"),
            "introspection_endpoint": format!("{base}/introspect"),
            "grant_types_supported": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        });
        return json_response(200, doc.to_string());
    }
    match path {
        "/jwks" => {
            *lock(&state.jwks_requests) += 1;
            let status = *lock(&state.jwks_status);
            let body = lock(&state.jwks_body)
                .clone()
                .unwrap_or_else(|| json!({"keys": *lock(&state.keys)}).to_string());
            json_response(status, body)
        }
        "/token" => {
            lock(&state.token_requests).push(form_request(&headers, &body));
            let reply = lock(&state.token_reply).clone();
            if let Some(delay) = reply.delay {
                tokio::time::sleep(delay).await;
            }
            json_response(reply.status, reply.body)
        }
        "/introspect" => {
            let request = form_request(&headers, &body);
            let token = request.field("token").unwrap_or_default().to_owned();
            lock(&state.introspection_requests).push(request);
            let status = *lock(&state.introspection_status);
            let answer = lock(&state.introspection)
                .get(&token)
                .cloned()
                .unwrap_or_else(|| json!({"active": false}));
            json_response(status, answer.to_string())
        }
        _ => json_response(404, r#"{"error":"not_found"}"#.into()),
    }
}
