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

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::{MockAuthServer, TestKey};

    #[test]
    fn metadata_urls_follow_rfc_8414_then_oidc() {
        assert_eq!(
            metadata_urls("https://id.example/tenant/"),
            [
                "https://id.example/.well-known/oauth-authorization-server/tenant",
                "https://id.example/tenant/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            metadata_urls("https://id.example"),
            [
                "https://id.example/.well-known/oauth-authorization-server",
                "https://id.example/.well-known/openid-configuration"
            ]
        );
        assert!(metadata_urls("not a url").is_empty());
    }

    fn http() -> reqwest::Client {
        fetch::client("test").unwrap()
    }

    #[tokio::test]
    async fn caches_refetches_on_unknown_kid_at_most_every_30s_and_rotates() {
        let server = MockAuthServer::start().await;
        let first = TestKey::generate("k1");
        server.set_keys(&[&first]);
        let cache = JwksCache::new(http(), JwksSource::Url(server.jwks_url()));
        let t0 = Instant::now();
        let keys = cache.keys(Some("k1"), t0).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(server.jwks_requests(), 1);
        // Cached.
        cache
            .keys(Some("k1"), t0 + Duration::from_secs(5))
            .await
            .unwrap();
        cache.keys(None, t0 + Duration::from_secs(6)).await.unwrap();
        assert_eq!(server.jwks_requests(), 1);
        // Rotation: the issuer adds k2; an unknown kid within 30 s of the last fetch is
        // refused without a fetch, later it triggers one.
        let second = TestKey::generate("k2");
        server.set_keys(&[&first, &second]);
        assert_eq!(
            cache.keys(Some("k2"), t0 + Duration::from_secs(10)).await,
            Err(AuthError::UnknownKey)
        );
        assert_eq!(server.jwks_requests(), 1);
        let keys = cache
            .keys(Some("k2"), t0 + Duration::from_secs(31))
            .await
            .unwrap();
        assert_eq!(keys[0].kid.as_deref(), Some("k2"));
        assert_eq!(server.jwks_requests(), 2);
        // Made-up kids do not cause more than one fetch per 30 s.
        for i in 0..5 {
            let _ = cache
                .keys(Some(&format!("bogus-{i}")), t0 + Duration::from_secs(40))
                .await;
        }
        assert_eq!(server.jwks_requests(), 2);
        // Periodic refresh drops k1 once the issuer retires it.
        server.set_keys(&[&second]);
        let later = t0 + REFRESH_AFTER + Duration::from_secs(60);
        assert_eq!(
            cache.keys(Some("k1"), later).await,
            Err(AuthError::UnknownKey)
        );
        assert_eq!(server.jwks_requests(), 3);
    }

    #[tokio::test]
    async fn a_failing_issuer_keeps_old_keys_and_reports_unavailable_when_it_has_none() {
        let server = MockAuthServer::start().await;
        let key = TestKey::generate("k1");
        server.set_keys(&[&key]);
        let cache = JwksCache::new(http(), JwksSource::Issuer(server.issuer()));
        let t0 = Instant::now();
        cache.keys(Some("k1"), t0).await.unwrap();
        assert_eq!(
            server.metadata_requests(),
            1,
            "discovered through the metadata"
        );
        server.set_jwks_status(500);
        let later = t0 + REFRESH_AFTER + Duration::from_secs(1);
        assert!(cache.keys(Some("k1"), later).await.is_ok(), "old keys kept");

        let broken = MockAuthServer::start().await;
        broken.set_jwks_status(503);
        let cache = JwksCache::new(http(), JwksSource::Url(broken.jwks_url()));
        let err = cache.keys(Some("k1"), t0).await.unwrap_err();
        assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
        // Not retried within 30 s.
        let _ = cache.keys(Some("k1"), t0 + Duration::from_secs(1)).await;
        assert_eq!(broken.jwks_requests(), 1);

        let garbage = MockAuthServer::start().await;
        garbage.set_jwks_body("{\"keys\": [{\"kty\": \"oct\", \"k\": \"AAAA\"}]}");
        let cache = JwksCache::new(http(), JwksSource::Url(garbage.jwks_url()));
        assert!(matches!(
            cache.keys(None, t0).await,
            Err(AuthError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn metadata_naming_another_issuer_is_refused() {
        let server = MockAuthServer::start().await;
        server.set_keys(&[&TestKey::generate("k1")]);
        let cache = JwksCache::new(
            http(),
            JwksSource::Issuer(format!("{}/other", server.issuer())),
        );
        let err = cache.keys(None, Instant::now()).await.unwrap_err();
        assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    }
}
