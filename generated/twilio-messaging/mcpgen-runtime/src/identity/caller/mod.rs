//! Who is calling: checking the bearer tokens of HTTP callers, which makes their [`Principal`].
//!
//! Owns the [`Authenticator`] (built once from the `--auth-*` flags): JWTs are verified with a
//! JWKS ([`jwks`]), a static PEM/JWK key or an HS256 secret ([`keys`]), then their claims are
//! checked ([`jwt`]); opaque tokens go to RFC 7662 introspection ([`introspect`]) when it is
//! configured. [`crate::protocol::http_auth`] puts it in front of `/mcp` and serves the protected
//! resource metadata.
//! Scope decisions (which tools a principal may see and call) are [`Principal::missing_scopes`].
//!
//! Tokens are secrets: they live in [`Secret`]s, are never logged, and no error message repeats
//! any part of one.

pub mod introspect;
pub mod jwks;
pub mod jwt;
pub mod keys;

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::support::cli::{Cli, DEFAULT_CLOCK_SKEW_SECS};
use crate::support::principal::Principal;
use crate::support::secret::Secret;
use crate::support::settings::{ConfigError, Settings, is_http_url};
use introspect::Introspector;
use jwks::{JwksCache, JwksSource};
use jwt::{ClaimRules, Claims, UnverifiedJwt};
use keys::VerifyingKey;

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No bearer token was sent.
    MissingToken,
    /// The token is not a well-formed JWT (or is too long).
    Malformed(&'static str),
    /// The token's `alg` is not one the configured keys accept (`none`, HMAC with a JWKS…).
    UnsupportedAlgorithm,
    /// No key has the token's `kid`, even after refetching the JWKS.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` has passed (beyond the clock skew).
    Expired,
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not name this server's resource.
    WrongAudience,
    /// A required claim is missing.
    MissingClaim(&'static str),
    /// Introspection says the token is not active.
    Inactive,
    /// The keys or the introspection endpoint could not be reached: the server cannot decide
    /// (answered with 503, not 401, so clients do not throw their tokens away).
    Unavailable(String),
}

impl AuthError {
    /// A short code for the audit log (`expired`, `bad_signature`, …).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::Malformed(_) => "malformed",
            AuthError::UnsupportedAlgorithm => "unsupported_algorithm",
            AuthError::UnknownKey => "unknown_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::MissingClaim(_) => "missing_claim",
            AuthError::Inactive => "inactive",
            AuthError::Unavailable(_) => "unavailable",
        }
    }

    /// The HTTP status this failure is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Unavailable(_) => 503,
            _ => 401,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MissingToken => f.write_str("no bearer token was sent"),
            AuthError::Malformed(what) => write!(f, "the token is malformed: {what}"),
            AuthError::UnsupportedAlgorithm => {
                f.write_str("the token's signing algorithm is not accepted")
            }
            AuthError::UnknownKey => f.write_str("no known key matches the token's key id"),
            AuthError::BadSignature => f.write_str("the token signature is invalid"),
            AuthError::Expired => f.write_str("the token has expired"),
            AuthError::NotYetValid => f.write_str("the token is not valid yet"),
            AuthError::WrongIssuer => f.write_str("the token was issued by another issuer"),
            AuthError::WrongAudience => {
                f.write_str("the token was issued for another audience (resource)")
            }
            AuthError::MissingClaim(claim) => write!(f, "the token has no `{claim}` claim"),
            AuthError::Inactive => f.write_str("the token is not active"),
            AuthError::Unavailable(why) => {
                write!(f, "the token cannot be checked right now: {why}")
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// Where JWT signing keys come from.
#[derive(Debug)]
pub enum KeySource {
    /// Fixed keys: a PEM/JWK file or an HS256 secret.
    Static(Vec<Arc<VerifyingKey>>),
    /// The issuer's JWKS.
    Jwks(JwksCache),
}

impl KeySource {
    async fn keys(
        &self,
        kid: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Arc<VerifyingKey>>, AuthError> {
        match self {
            KeySource::Static(keys) => Ok(keys
                .iter()
                .filter(|k| kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid)
                .cloned()
                .collect()),
            KeySource::Jwks(cache) => cache.keys(kid, now).await,
        }
    }
}

/// Validates bearer tokens.
#[derive(Debug)]
pub struct Authenticator {
    /// Required `iss`, when configured.
    pub issuer: Option<String>,
    /// This server's resource identifier, required in `aud`.
    pub audience: String,
    /// Clock skew tolerated, in seconds.
    pub skew: u64,
    /// JWT keys, when JWTs are accepted.
    pub keys: Option<KeySource>,
    /// Introspection, when opaque tokens are accepted.
    pub introspection: Option<Introspector>,
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Authenticator {
    /// The authenticator the flags describe, for a server whose resource identifier defaults
    /// to `default_audience`. `Ok(None)` when no validation is configured.
    pub fn from_cli(
        cli: &Cli,
        settings: &Settings,
        default_audience: &str,
        http: reqwest::Client,
    ) -> Result<Option<Self>, ConfigError> {
        let flags = &cli.auth;
        if !flags.any_validation() {
            return Ok(None);
        }
        let invalid = |m: String| ConfigError::Invalid(m);
        for (flag, url) in [
            ("--auth-issuer", &flags.issuer),
            ("--auth-jwks-url", &flags.jwks_url),
            ("--auth-introspection-url", &flags.introspection_url),
        ] {
            if let Some(url) = url
                && !is_http_url(url)
            {
                return Err(invalid(format!(
                    "{flag} is not an absolute http:// or https:// URL"
                )));
            }
        }
        let sources = [
            flags.jwks_url.is_some(),
            flags.static_key_file.is_some(),
            flags.hs256_secret_env.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if sources > 1 {
            return Err(invalid(
                "give only one of --auth-jwks-url, --auth-static-key-file and \
                 --auth-hs256-secret-env"
                    .into(),
            ));
        }
        let keys = if let Some(path) = &flags.static_key_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(format!(
                    "--auth-static-key-file: cannot read the key file: {}",
                    e.kind()
                ))
            })?;
            let keys = VerifyingKey::from_key_file(&text)
                .map_err(|e| invalid(format!("--auth-static-key-file: {e}")))?;
            Some(KeySource::Static(keys.into_iter().map(Arc::new).collect()))
        } else if let Some(var) = &flags.hs256_secret_env {
            let secret = settings
                .var(var)
                .cloned()
                .ok_or_else(|| ConfigError::MissingVars(vec![var.clone()]))?;
            if secret.expose().len() < 32 {
                return Err(invalid(format!(
                    "the HS256 secret in {var} is shorter than 32 bytes"
                )));
            }
            Some(KeySource::Static(vec![Arc::new(VerifyingKey::hmac(
                secret,
            ))]))
        } else if let Some(url) = &flags.jwks_url {
            if flags.issuer.is_none() {
                return Err(invalid(
                    "--auth-jwks-url needs --auth-issuer (tokens' `iss` is checked against it)"
                        .into(),
                ));
            }
            Some(KeySource::Jwks(JwksCache::new(
                http.clone(),
                JwksSource::Url(url.clone()),
            )))
        } else if flags.introspection_url.is_none() {
            let issuer = flags.issuer.clone().unwrap_or_default();
            Some(KeySource::Jwks(JwksCache::new(
                http.clone(),
                JwksSource::Issuer(issuer),
            )))
        } else {
            None
        };
        let introspection = match &flags.introspection_url {
            None => None,
            Some(url) => {
                let var = |flag: &str, name: &Option<String>| {
                    let name = name
                        .as_ref()
                        .ok_or_else(|| invalid(format!("--auth-introspection-url needs {flag}")))?;
                    settings
                        .var(name)
                        .cloned()
                        .ok_or_else(|| ConfigError::MissingVars(vec![name.clone()]))
                };
                Some(Introspector::new(
                    http,
                    url.clone(),
                    var(
                        "--auth-introspection-client-id-env",
                        &flags.introspection_client_id_env,
                    )?,
                    var(
                        "--auth-introspection-client-secret-env",
                        &flags.introspection_client_secret_env,
                    )?,
                ))
            }
        };
        Ok(Some(Authenticator {
            issuer: flags.issuer.clone(),
            audience: flags
                .audience
                .clone()
                .unwrap_or_else(|| default_audience.to_owned()),
            skew: flags.clock_skew_secs.unwrap_or(DEFAULT_CLOCK_SKEW_SECS),
            keys,
            introspection,
        }))
    }

    /// Whether tokens can be checked now: the issuer's keys are loaded (fetched if they were
    /// not; static keys and introspection always are).
    pub async fn ready(&self) -> bool {
        match &self.keys {
            Some(KeySource::Jwks(cache)) => cache.keys(None, Instant::now()).await.is_ok(),
            Some(KeySource::Static(_)) | None => true,
        }
    }

    /// Validates `token` as of now.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.authenticate_at(token, unix_now(), Instant::now())
            .await
    }

    /// Validates `token` as of `now` (seconds since the epoch; `instant` for the caches).
    pub async fn authenticate_at(
        &self,
        token: &str,
        now: u64,
        instant: Instant,
    ) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::MissingToken);
        }
        if token.len() > jwt::MAX_TOKEN_LEN {
            return Err(AuthError::Malformed("the token is too long"));
        }
        let rules = ClaimRules {
            issuer: self.issuer.as_deref(),
            audience: &self.audience,
            skew: self.skew,
            now,
            require_exp: true,
            require_aud: true,
        };
        let claims = match (&self.keys, &self.introspection) {
            (Some(keys), Some(_)) if jwt::looks_like_jwt(token) => {
                self.jwt(keys, token, &rules, instant).await?
            }
            (Some(keys), None) => self.jwt(keys, token, &rules, instant).await?,
            (_, Some(intro)) => {
                let rules = ClaimRules {
                    require_exp: false,
                    require_aud: false,
                    ..rules
                };
                intro.introspect(token, &rules, instant).await?
            }
            (None, None) => return Err(AuthError::Unavailable("no validation".into())),
        };
        Ok(Principal {
            subject: claims.subject,
            client_id: claims.client_id,
            scopes: claims.scopes,
            token: Some(Secret::new(token)),
        })
    }

    async fn jwt(
        &self,
        keys: &KeySource,
        token: &str,
        rules: &ClaimRules<'_>,
        instant: Instant,
    ) -> Result<Claims, AuthError> {
        let jwt = UnverifiedJwt::parse(token)?;
        let candidates = keys.keys(jwt.kid.as_deref(), instant).await?;
        if !candidates.iter().any(|k| k.accepts(jwt.alg)) {
            return Err(if candidates.is_empty() {
                AuthError::UnknownKey
            } else {
                AuthError::UnsupportedAlgorithm
            });
        }
        if !jwt.verify(&candidates) {
            return Err(AuthError::BadSignature);
        }
        jwt::check_claims(&jwt.claims, rules)
    }
}

/// The text of an insufficient-scope refusal (the HTTP layer and the handler say the same).
pub fn insufficient_scope_text(tool: &str, missing: &[&str]) -> String {
    let (s, list) = (
        if missing.len() == 1 { "" } else { "s" },
        missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    format!(
        "insufficient_scope: the tool `{tool}` needs scope{s} {list}, which the caller's access \
         token does not grant; the upstream API was not called."
    )
}
