//! The issuer's signing keys: a JWKS fetched over HTTP and cached, with key rotation.
//!
//! Owns where the JWKS lives (a configured URL, or the `jwks_uri` of the issuer's RFC 8414 /
//! OpenID Connect metadata, whose `issuer` must be the configured one) and when it is fetched:
//! on first use, again after [`REFRESH_AFTER`], and at once when a token names a `kid` the
//! cache does not hold, but never more often than every [`MIN_REFETCH`] (so a flood of tokens
//! with made-up key ids cannot flood the issuer). A failed refresh keeps the keys already held.
//! One fetch runs at a time; callers wait for it rather than starting their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use super::AuthError;
use super::keys::VerifyingKey;
use crate::support::fetch;

/// Keys older than this are refetched on the next use.
pub const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// Fetches are at least this far apart.
pub const MIN_REFETCH: Duration = Duration::from_secs(30);

/// Where the JWKS comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A configured URL.
    Url(String),
    /// Discovered from the metadata of this issuer.
    Issuer(String),
}

#[derive(Debug, Default)]
struct State {
    url: Option<String>,
    keys: Vec<Arc<VerifyingKey>>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
    fetches: u64,
}

/// A cached JWKS.
#[derive(Debug)]
pub struct JwksCache {
    http: reqwest::Client,
    source: JwksSource,
    state: Mutex<State>,
}

/// The metadata URLs tried for an issuer, in order: RFC 8414 (`/.well-known/` inserted before
/// the issuer's path), then OpenID Connect Discovery (appended).
pub fn metadata_urls(issuer: &str) -> Vec<String> {
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return Vec::new();
    };
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ]
}

impl JwksCache {
    /// A cache that fetches from `source` with `http`.
    pub fn new(http: reqwest::Client, source: JwksSource) -> Self {
        JwksCache {
            http,
            source,
            state: Mutex::default(),
        }
    }

    /// How many times the JWKS was fetched (successfully or not).
    pub async fn fetches(&self) -> u64 {
        self.state.lock().await.fetches
    }

    /// The keys a token with this `kid` may be signed with (every key when it has none), as
    /// of `now`.
    pub async fn keys(
        &self,
        kid: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Arc<VerifyingKey>>, AuthError> {
        let mut state = self.state.lock().await;
        let may_fetch = |state: &State| {
            state
                .attempted
                .is_none_or(|t| now.saturating_duration_since(t) >= MIN_REFETCH)
        };
        let stale = state
            .fetched
            .is_none_or(|t| now.saturating_duration_since(t) >= REFRESH_AFTER);
        let mut error = None;
        if stale && may_fetch(&state) {
            error = self.refresh(&mut state, now).await.err();
        }
        let select = |state: &State| -> Vec<Arc<VerifyingKey>> {
            state
                .keys
                .iter()
                .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
                .cloned()
                .collect()
        };
        let mut found = select(&state);
        if found.is_empty() && kid.is_some() && may_fetch(&state) {
            error = self.refresh(&mut state, now).await.err();
            found = select(&state);
        }
        if state.keys.is_empty() {
            return Err(AuthError::Unavailable(error.unwrap_or_else(|| {
                "the issuer's keys could not be fetched recently".into()
            })));
        }
        if found.is_empty() {
            return Err(AuthError::UnknownKey);
        }
        Ok(found)
    }

    async fn refresh(&self, state: &mut State, now: Instant) -> Result<(), String> {
        state.attempted = Some(now);
        state.fetches += 1;
        let url = match (&state.url, &self.source) {
            (Some(url), _) => url.clone(),
            (None, JwksSource::Url(url)) => url.clone(),
            (None, JwksSource::Issuer(issuer)) => {
                let url = self.discover(issuer).await?;
                state.url = Some(url.clone());
                url
            }
        };
        let answer = fetch::get_json(&self.http, &url)
            .await
            .map_err(|e| format!("JWKS fetch failed: {e}"))?;
        if !(200..300).contains(&answer.status) {
            return Err(format!("the JWKS endpoint answered HTTP {}", answer.status));
        }
        let doc = Value::Object(answer.body.ok_or("the JWKS is not a JSON object")?);
        let keys = VerifyingKey::from_jwks(&doc)?;
        if keys.is_empty() {
            return Err("the JWKS holds no usable signing key".into());
        }
        state.keys = keys.into_iter().map(Arc::new).collect();
        state.fetched = Some(now);
        Ok(())
    }

    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let mut last = "the issuer is not a URL".to_owned();
        for url in metadata_urls(issuer) {
            let answer = match fetch::get_json(&self.http, &url).await {
                Ok(answer) => answer,
                Err(e) => {
                    last = format!("metadata fetch failed: {e}");
                    continue;
                }
            };
            let Some(meta) = answer.body.filter(|_| answer.status == 200) else {
                last = format!("the metadata endpoint answered HTTP {}", answer.status);
                continue;
            };
            if meta.get("issuer").and_then(Value::as_str) != Some(issuer) {
                return Err("the authorization server metadata names another issuer".into());
            }
            return match meta.get("jwks_uri").and_then(Value::as_str) {
                Some(uri) if crate::support::settings::is_http_url(uri) => Ok(uri.to_owned()),
                _ => Err("the authorization server metadata has no usable jwks_uri".into()),
            };
        }
        Err(last)
    }
}
