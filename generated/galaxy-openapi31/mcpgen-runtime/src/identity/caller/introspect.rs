//! RFC 7662 token introspection for opaque (non-JWT) access tokens.
//!
//! Owns asking the authorization server about a token (`POST token=…&token_type_hint=
//! access_token`, authenticated as this server's client with HTTP Basic) and reading its
//! answer: `active` must be `true`, then the same claim rules as JWTs apply, except that `exp`
//! and `aud` may be absent (when present they are checked). Positive answers are cached for
//! [`CACHE_FOR`] (never past the token's `exp`), keyed by a SHA-256 of the token, so the token
//! itself is not kept.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::AuthError;
use super::jwt::{ClaimRules, Claims, check_claims};
use crate::support::bounded::{self, ExpiringCache};
use crate::support::fetch;
use crate::support::secret::Secret;

/// How long a positive answer is reused.
pub const CACHE_FOR: Duration = Duration::from_secs(30);

/// Most answers cached; a full cache forgets expired answers, then those expiring first.
pub const MAX_CACHED: usize = 10_000;

/// An introspection endpoint and this server's credentials there.
#[derive(Debug)]
pub struct Introspector {
    http: reqwest::Client,
    url: String,
    client_id: Secret,
    client_secret: Secret,
    cache: ExpiringCache<Claims>,
}

impl Introspector {
    /// An introspector for `url`.
    pub fn new(
        http: reqwest::Client,
        url: String,
        client_id: Secret,
        client_secret: Secret,
    ) -> Self {
        Introspector {
            http,
            url,
            client_id,
            client_secret,
            cache: ExpiringCache::new(MAX_CACHED),
        }
    }

    /// The caller `token` belongs to, if the authorization server says it is active and its
    /// claims pass `rules`.
    pub async fn introspect(
        &self,
        token: &str,
        rules: &ClaimRules<'_>,
        now: Instant,
    ) -> Result<Claims, AuthError> {
        let key = bounded::digest(token);
        if let Some(claims) = self.cache.get(&key, now)
            && claims
                .expires_at
                .is_none_or(|exp| rules.now < exp.saturating_add(rules.skew))
        {
            return Ok(claims);
        }
        let answer = fetch::post_form(
            &self.http,
            &self.url,
            Some((&self.client_id, &self.client_secret)),
            &[("token", token), ("token_type_hint", "access_token")],
        )
        .await
        .map_err(|e| AuthError::Unavailable(format!("introspection failed: {e}")))?;
        if answer.status != 200 {
            return Err(AuthError::Unavailable(format!(
                "the introspection endpoint answered HTTP {}",
                answer.status
            )));
        }
        let body = answer.body.ok_or_else(|| {
            AuthError::Unavailable("the introspection answer is not a JSON object".into())
        })?;
        if body.get("active") != Some(&Value::Bool(true)) {
            return Err(AuthError::Inactive);
        }
        let claims = check_claims(&body, rules)?;
        let mut until = now + CACHE_FOR;
        if let Some(exp) = claims.expires_at {
            until = until.min(now + Duration::from_secs(exp.saturating_sub(rules.now)));
        }
        self.cache.insert(key, claims.clone(), until, now);
        Ok(claims)
    }
}
