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
