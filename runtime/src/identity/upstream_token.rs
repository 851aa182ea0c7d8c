//! Whose identity reaches the upstream API: the token a tool sends in `Authorization`.
//!
//! Owns the four [`IdentityMode`]s: the service account (no token here: credentials from the
//! environment do the job), OAuth 2.0 client credentials (one token for the server, cached and
//! refreshed [`REFRESH_MARGIN`] before it expires; one request at a time fetches it), RFC 8693
//! token exchange (the caller's token exchanged for an upstream token on their behalf, cached
//! per caller token, keyed by its SHA-256), and passthrough (the caller's token as is). When
//! replicas share state, the tokens obtained are offered to the others and taken from them
//! ([`SharedState::cached_token`]), so N replicas do not make N token requests.
//! Token endpoint answers are hostile input; errors name the OAuth error code and HTTP status,
//! never a token or the client secret.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::spec::{IdentityMode, OAuthClientSpec, ServerSpec};
use crate::state::{SharedState, TokenKind};
use crate::support::bounded::{self, ExpiringCache};
use crate::support::fetch;
use crate::support::principal::Principal;
use crate::support::secret::Secret;
use crate::support::settings::Settings;

/// A cached token is replaced this long before it expires (or at 10% of its lifetime left,
/// whichever is sooner).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How long a token without `expires_in` is reused.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Most exchanged tokens cached.
pub const MAX_EXCHANGED: usize = 10_000;

/// The grant type of RFC 8693 token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The token type of an OAuth access token (RFC 8693).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Why no upstream token is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// The tool acts on the caller's behalf and the call carries no caller token.
    NoCallerToken,
    /// The tool needs the server's OAuth client and none is configured.
    NotConfigured,
    /// The token endpoint refused (HTTP status and OAuth `error` code).
    Refused {
        /// HTTP status.
        status: u16,
        /// The OAuth error code, when the answer had one.
        error: Option<String>,
    },
    /// The token endpoint's answer is unusable.
    BadAnswer(&'static str),
    /// The token endpoint could not be reached.
    Unreachable(String),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::NoCallerToken => f.write_str(
                "this tool acts on the upstream API with the caller's own identity, and this \
                 call carries no caller access token (over stdio, give one with \
                 --stdio-token-env)",
            ),
            IdentityError::NotConfigured => {
                f.write_str("no OAuth client is configured for upstream tokens")
            }
            IdentityError::Refused { status, error } => match error {
                Some(code) => write!(
                    f,
                    "the token endpoint refused to issue an upstream token (HTTP {status}, {code})"
                ),
                None => write!(
                    f,
                    "the token endpoint refused to issue an upstream token (HTTP {status})"
                ),
            },
            IdentityError::BadAnswer(why) => {
                write!(f, "the token endpoint's answer is unusable: {why}")
            }
            IdentityError::Unreachable(why) => {
                write!(f, "the token endpoint could not be reached: {why}")
            }
        }
    }
}

impl std::error::Error for IdentityError {}

#[derive(Debug, Clone)]
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// The server's OAuth client and its token caches.
#[derive(Debug)]
pub struct Identities {
    http: reqwest::Client,
    client: Option<Client>,
    client_credentials: tokio::sync::Mutex<Option<Cached>>,
    exchanged: ExpiringCache<Secret>,
    shared: Arc<SharedState>,
    requests: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Client {
    spec: &'static OAuthClientSpec,
    token_url: String,
    id: Secret,
    secret: Secret,
}

/// When a token issued at `now`, valid for `lifetime`, should be replaced.
fn refresh_at(now: Instant, lifetime: Duration) -> Instant {
    let margin = REFRESH_MARGIN.min(lifetime / 10);
    now + lifetime.saturating_sub(margin)
}

impl Identities {
    /// The identities of `spec`'s tools: the OAuth client (when the spec has one and its id and
    /// secret are set) with the token URL from settings or the spec; tokens are shared with
    /// other replicas through `shared`.
    pub fn new(
        spec: &'static ServerSpec,
        settings: &Settings,
        http: reqwest::Client,
        shared: Arc<SharedState>,
    ) -> Self {
        let client = spec.upstream.oauth.as_ref().and_then(|oauth| {
            Some(Client {
                spec: oauth,
                token_url: settings
                    .oauth_token_url()
                    .unwrap_or(oauth.token_url)
                    .to_owned(),
                id: settings.var(oauth.client_id_env)?.clone(),
                secret: settings.var(oauth.client_secret_env)?.clone(),
            })
        });
        Identities {
            http,
            client,
            client_credentials: tokio::sync::Mutex::default(),
            exchanged: ExpiringCache::new(MAX_EXCHANGED),
            shared,
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Token endpoint requests made so far.
    pub fn token_requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a call by `principal` can get a token for `mode` without asking anyone
    /// (the caller token is present where the mode needs one).
    pub fn available(
        &self,
        mode: IdentityMode,
        principal: &Principal,
    ) -> Result<(), IdentityError> {
        match mode {
            IdentityMode::ServiceAccount => Ok(()),
            IdentityMode::ClientCredentials => self
                .client
                .as_ref()
                .map(|_| ())
                .ok_or(IdentityError::NotConfigured),
            IdentityMode::TokenExchange => {
                self.client.as_ref().ok_or(IdentityError::NotConfigured)?;
                principal
                    .token
                    .as_ref()
                    .map(|_| ())
                    .ok_or(IdentityError::NoCallerToken)
            }
            IdentityMode::Passthrough => principal
                .token
                .as_ref()
                .map(|_| ())
                .ok_or(IdentityError::NoCallerToken),
        }
    }

    /// The token to send as `Authorization: Bearer` for a call by `principal` in `mode`
    /// (`None` for the service account), as of `now`.
    pub async fn token(
        &self,
        mode: IdentityMode,
        principal: &Principal,
        now: Instant,
    ) -> Result<Option<Secret>, IdentityError> {
        self.available(mode, principal)?;
        match mode {
            IdentityMode::ServiceAccount => Ok(None),
            IdentityMode::Passthrough => Ok(principal.token.clone()),
            IdentityMode::ClientCredentials => self.client_credentials(now).await.map(Some),
            IdentityMode::TokenExchange => {
                let subject = principal
                    .token
                    .as_ref()
                    .ok_or(IdentityError::NoCallerToken)?;
                self.exchange(subject, now).await.map(Some)
            }
        }
    }

    async fn client_credentials(&self, now: Instant) -> Result<Secret, IdentityError> {
        let client = self.client.as_ref().ok_or(IdentityError::NotConfigured)?;
        let mut cached = self.client_credentials.lock().await;
        if let Some(c) = cached.as_ref()
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        // One key: the server has one client-credentials token.
        let key = [0u8; 32];
        if let Some((token, left)) = self
            .shared
            .cached_token(TokenKind::ClientCredentials, &key)
            .await
        {
            *cached = Some(Cached {
                token: token.clone(),
                refresh_at: now + left,
            });
            return Ok(token);
        }
        let scope = client.spec.scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if let Some(audience) = client.spec.audience {
            form.push(("audience", audience));
        }
        let (token, lifetime) = self.request(client, &form).await?;
        let refresh_at = refresh_at(now, lifetime);
        self.shared
            .keep_token(TokenKind::ClientCredentials, &key, &token, refresh_at - now)
            .await;
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    async fn exchange(&self, subject: &Secret, now: Instant) -> Result<Secret, IdentityError> {
        let client = self.client.as_ref().ok_or(IdentityError::NotConfigured)?;
        let key = bounded::digest(subject.expose());
        if let Some(token) = self.exchanged.get(&key, now) {
            return Ok(token);
        }
        if let Some((token, left)) = self.shared.cached_token(TokenKind::Exchanged, &key).await {
            self.exchanged.insert(key, token.clone(), now + left, now);
            return Ok(token);
        }
        let scope = client.spec.scopes.join(" ");
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", subject.expose()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
        ];
        if let Some(audience) = client.spec.audience {
            form.push(("audience", audience));
        }
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let (token, lifetime) = self.request(client, &form).await?;
        let refresh_at = refresh_at(now, lifetime);
        self.shared
            .keep_token(TokenKind::Exchanged, &key, &token, refresh_at - now)
            .await;
        self.exchanged.insert(key, token.clone(), refresh_at, now);
        Ok(token)
    }

    async fn request(
        &self,
        client: &Client,
        form: &[(&str, &str)],
    ) -> Result<(Secret, Duration), IdentityError> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let answer = fetch::post_form(
            &self.http,
            &client.token_url,
            Some((&client.id, &client.secret)),
            form,
        )
        .await
        .map_err(IdentityError::Unreachable)?;
        let body = answer.body.unwrap_or_default();
        if !(200..300).contains(&answer.status) {
            let error = body
                .get("error")
                .and_then(Value::as_str)
                .filter(|e| e.len() <= 64 && e.chars().all(|c| c.is_ascii_graphic()))
                .map(str::to_owned);
            return Err(IdentityError::Refused {
                status: answer.status,
                error,
            });
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(IdentityError::BadAnswer("no access_token"))?;
        if reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(IdentityError::BadAnswer(
                "the access token cannot be sent in a header",
            ));
        }
        if let Some(kind) = body.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(IdentityError::BadAnswer("the token type is not Bearer"));
        }
        let lifetime = lifetime_of(&body)?;
        Ok((Secret::new(token), lifetime))
    }
}

/// How long a token endpoint's answer says its token lasts: `expires_in` as a number or (as
/// some servers send it) a string holding one, at most a year; the default when absent.
fn lifetime_of(body: &serde_json::Map<String, Value>) -> Result<Duration, IdentityError> {
    let seconds = match body.get("expires_in") {
        None | Some(Value::Null) => return Ok(DEFAULT_LIFETIME),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text.trim())
            .ok()
            .and_then(|v| crate::identity::caller::jwt::seconds(&v)),
        Some(other) => crate::identity::caller::jwt::seconds(other),
    };
    seconds
        .map(|s| Duration::from_secs(s.min(86_400 * 365)))
        .ok_or(IdentityError::BadAnswer("expires_in is not a number"))
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::{MockAuthServer, TokenReply};
    use crate::testing_specs::OAUTH_PETS;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn token_lifetimes_are_read_as_numbers_or_numeric_strings() {
        let of = |body: Value| lifetime_of(body.as_object().unwrap()).map(|d| d.as_secs());
        assert_eq!(of(json!({})), Ok(DEFAULT_LIFETIME.as_secs()));
        assert_eq!(
            of(json!({"expires_in": null})),
            Ok(DEFAULT_LIFETIME.as_secs())
        );
        assert_eq!(of(json!({"expires_in": 3600})), Ok(3600));
        assert_eq!(of(json!({"expires_in": "3600"})), Ok(3600));
        assert_eq!(of(json!({"expires_in": 3600.5})), Ok(3600));
        assert_eq!(of(json!({"expires_in": " 3600.5 "})), Ok(3600));
        assert_eq!(of(json!({"expires_in": 1e12})), Ok(86_400 * 365));
        for bad in [json!(-1), json!("soon"), json!(true), json!("")] {
            assert!(of(json!({"expires_in": bad})).is_err(), "{bad}");
        }
    }

    fn identities(server: &MockAuthServer) -> Identities {
        let settings = Settings::new("http://x")
            .with_var("PETS_CLIENT_ID", "mcp client")
            .with_var("PETS_CLIENT_SECRET", "cs-9f8e7d")
            .with_oauth_token_url(server.token_url());
        Identities::new(&OAUTH_PETS, &settings, fetch::client("t").unwrap(), local())
    }

    fn local() -> Arc<SharedState> {
        Arc::new(SharedState::local(
            0,
            crate::observe::metrics::Metrics::new("t", "1"),
        ))
    }

    fn caller(token: Option<&str>) -> Principal {
        Principal {
            token: token.map(Secret::new),
            ..Principal::new("ann", ["pets:read"])
        }
    }

    #[tokio::test]
    async fn client_credentials_are_cached_and_refreshed_before_expiry() {
        let server = MockAuthServer::start().await;
        server.set_token_reply(TokenReply::ok("up-1", Some(3600)));
        let ids = identities(&server);
        let t = Instant::now();
        let p = caller(None);
        let token = ids
            .token(IdentityMode::ClientCredentials, &p, t)
            .await
            .unwrap();
        assert_eq!(token.unwrap().expose(), "up-1");
        let seen = server.token_requests();
        assert_eq!(seen.len(), 1);
        let form: HashMap<_, _> = seen[0].form.iter().cloned().collect();
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["scope"], "pets:read pets:write");
        assert_eq!(form["audience"], "https://petstore.example.com");
        // Basic base64("mcp+client:cs-9f8e7d"): id and secret form-encoded first.
        assert_eq!(
            seen[0].authorization.as_deref(),
            Some("Basic bWNwK2NsaWVudDpjcy05ZjhlN2Q=")
        );
        // Cached until 60 s before expiry, then refreshed.
        server.set_token_reply(TokenReply::ok("up-2", Some(3600)));
        let cached = ids
            .token(
                IdentityMode::ClientCredentials,
                &p,
                t + Duration::from_secs(3500),
            )
            .await
            .unwrap();
        assert_eq!(cached.unwrap().expose(), "up-1");
        let fresh = ids
            .token(
                IdentityMode::ClientCredentials,
                &p,
                t + Duration::from_secs(3541),
            )
            .await
            .unwrap();
        assert_eq!(fresh.unwrap().expose(), "up-2");
        assert_eq!(server.token_requests().len(), 2);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_token_request() {
        let server = MockAuthServer::start().await;
        server.set_token_reply(TokenReply::ok("up-1", Some(3600)).delayed(200));
        let ids = identities(&server);
        let p = caller(None);
        let t = Instant::now();
        let one = || ids.token(IdentityMode::ClientCredentials, &p, t);
        let (a, b, c, d) = tokio::join!(one(), one(), one(), one());
        for token in [a, b, c, d] {
            assert_eq!(token.unwrap().unwrap().expose(), "up-1");
        }
        assert_eq!(server.token_requests().len(), 1);
    }

    /// Two replicas on one Redis: the token one obtains is the token the other uses, so the
    /// token endpoint sees one request, not one per replica.
    #[cfg(feature = "shared-state")]
    #[tokio::test]
    async fn replicas_sharing_state_ask_the_token_endpoint_once() {
        let Some(redis) = crate::state::redis_tests::RedisServer::start() else {
            return;
        };
        let server = MockAuthServer::start().await;
        server.set_token_reply(TokenReply::ok("up-shared", Some(3600)));
        let settings = Settings::new("http://x")
            .with_var("PETS_CLIENT_ID", "mcp client")
            .with_var("PETS_CLIENT_SECRET", "cs-9f8e7d")
            .with_oauth_token_url(server.token_url());
        let replica = || {
            let (state, _) = redis.replica(0);
            let http = fetch::client("t").unwrap();
            Identities::new(&OAUTH_PETS, &settings, http, Arc::new(state))
        };
        let (a, b) = (replica(), replica());
        let p = caller(None);
        let now = Instant::now();
        let from_a = a.token(IdentityMode::ClientCredentials, &p, now).await;
        let from_b = b.token(IdentityMode::ClientCredentials, &p, now).await;
        assert_eq!(from_a.unwrap().unwrap().expose(), "up-shared");
        assert_eq!(from_b.unwrap().unwrap().expose(), "up-shared");
        assert_eq!(server.token_requests().len(), 1);
    }

    #[tokio::test]
    async fn token_exchange_sends_the_caller_token_and_caches_per_caller() {
        let server = MockAuthServer::start().await;
        server.set_token_reply(TokenReply::ok("on-behalf-1", Some(600)));
        let ids = identities(&server);
        let t = Instant::now();
        let ann = caller(Some("caller-token-ann"));
        let token = ids
            .token(IdentityMode::TokenExchange, &ann, t)
            .await
            .unwrap();
        assert_eq!(token.unwrap().expose(), "on-behalf-1");
        let form: HashMap<_, _> = server.token_requests()[0].form.iter().cloned().collect();
        assert_eq!(form["grant_type"], TOKEN_EXCHANGE_GRANT);
        assert_eq!(form["subject_token"], "caller-token-ann");
        assert_eq!(form["subject_token_type"], ACCESS_TOKEN_TYPE);
        assert_eq!(form["requested_token_type"], ACCESS_TOKEN_TYPE);
        assert_eq!(form["audience"], "https://petstore.example.com");
        // Same caller token: cached. Another caller: a new exchange.
        ids.token(
            IdentityMode::TokenExchange,
            &ann,
            t + Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(server.token_requests().len(), 1);
        server.set_token_reply(TokenReply::ok("on-behalf-2", Some(600)));
        let bob = caller(Some("caller-token-bob"));
        let token = ids
            .token(IdentityMode::TokenExchange, &bob, t)
            .await
            .unwrap();
        assert_eq!(token.unwrap().expose(), "on-behalf-2");
        assert_eq!(server.token_requests().len(), 2);
        // No caller token: refused before any request.
        let none = caller(None);
        assert_eq!(
            ids.token(IdentityMode::TokenExchange, &none, t).await,
            Err(IdentityError::NoCallerToken)
        );
        assert_eq!(server.token_requests().len(), 2);
    }

    #[tokio::test]
    async fn passthrough_forwards_the_caller_token_and_service_account_sends_none() {
        let server = MockAuthServer::start().await;
        let ids = identities(&server);
        let t = Instant::now();
        let ann = caller(Some("caller-token-ann"));
        let token = ids.token(IdentityMode::Passthrough, &ann, t).await.unwrap();
        assert_eq!(token.unwrap().expose(), "caller-token-ann");
        assert_eq!(
            ids.token(IdentityMode::ServiceAccount, &ann, t).await,
            Ok(None)
        );
        assert_eq!(
            ids.token(IdentityMode::Passthrough, &caller(None), t).await,
            Err(IdentityError::NoCallerToken)
        );
        assert!(server.token_requests().is_empty());
    }

    #[tokio::test]
    async fn hostile_token_answers_are_errors_without_secrets() {
        let server = MockAuthServer::start().await;
        let ids = identities(&server);
        let p = caller(None);
        let t = Instant::now();
        for (reply, want) in [
            (
                TokenReply::raw(
                    400,
                    r#"{"error":"invalid_client","error_description":"cs-9f8e7d is wrong"}"#,
                ),
                "HTTP 400, invalid_client",
            ),
            (TokenReply::raw(200, "not json"), "no access_token"),
            (
                TokenReply::raw(200, r#"{"access_token":""}"#),
                "no access_token",
            ),
            (
                TokenReply::raw(200, r#"{"access_token":"a\nb","token_type":"Bearer"}"#),
                "cannot be sent",
            ),
            (
                TokenReply::raw(200, r#"{"access_token":"ab","token_type":"mac"}"#),
                "not Bearer",
            ),
            (
                TokenReply::raw(200, r#"{"access_token":"ab","expires_in":"soon"}"#),
                "expires_in",
            ),
            (TokenReply::raw(500, "<html>"), "HTTP 500"),
        ] {
            server.set_token_reply(reply);
            let err = ids
                .token(IdentityMode::ClientCredentials, &p, t)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{want}: {err}");
            assert!(!err.contains("cs-9f8e7d"), "{err}");
        }
        let unconfigured = Identities::new(
            &OAUTH_PETS,
            &Settings::new("http://x"),
            fetch::client("t").unwrap(),
            local(),
        );
        assert_eq!(
            unconfigured
                .token(IdentityMode::ClientCredentials, &p, t)
                .await,
            Err(IdentityError::NotConfigured)
        );
    }
}
