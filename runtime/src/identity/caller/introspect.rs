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

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::MockAuthServer;
    use serde_json::json;

    fn rules(now: u64) -> ClaimRules<'static> {
        ClaimRules {
            issuer: None,
            audience: "http://127.0.0.1:8000/mcp",
            skew: 60,
            now,
            require_exp: false,
            require_aud: false,
        }
    }

    #[tokio::test]
    async fn active_tokens_pass_inactive_ones_fail_and_answers_are_cached() {
        let server = MockAuthServer::start().await;
        let intro = Introspector::new(
            fetch::client("t").unwrap(),
            server.introspection_url(),
            Secret::new("rs-client"),
            Secret::new("rs-secret-9"),
        );
        let now = crate::identity::caller::unix_now();
        server.set_introspection(
            "opaque-1",
            json!({"active": true, "sub": "ann", "client_id": "app", "scope": "pets:read",
                "exp": now + 600, "aud": ["http://127.0.0.1:8000/mcp"]}),
        );
        server.set_introspection(
            "opaque-other",
            json!({"active": true, "sub": "bob", "aud": "https://other.example/mcp"}),
        );
        let t = Instant::now();
        let claims = intro.introspect("opaque-1", &rules(now), t).await.unwrap();
        assert_eq!(claims.subject, "ann");
        assert!(claims.scopes.contains("pets:read"));
        let seen = server.introspection_requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].form,
            [
                ("token".to_owned(), "opaque-1".to_owned()),
                ("token_type_hint".to_owned(), "access_token".to_owned())
            ]
        );
        // Basic base64("rs-client:rs-secret-9").
        assert_eq!(
            seen[0].authorization.as_deref(),
            Some("Basic cnMtY2xpZW50OnJzLXNlY3JldC05")
        );
        // Cached for 30 s.
        intro
            .introspect("opaque-1", &rules(now), t + Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(server.introspection_requests().len(), 1);
        intro
            .introspect("opaque-1", &rules(now), t + Duration::from_secs(31))
            .await
            .unwrap();
        assert_eq!(server.introspection_requests().len(), 2);

        assert_eq!(
            intro.introspect("unknown", &rules(now), t).await,
            Err(AuthError::Inactive)
        );
        assert_eq!(
            intro.introspect("opaque-other", &rules(now), t).await,
            Err(AuthError::WrongAudience)
        );
        server.set_introspection(
            "opaque-old",
            json!({"active": true, "sub": "c", "exp": now - 3600}),
        );
        assert_eq!(
            intro.introspect("opaque-old", &rules(now), t).await,
            Err(AuthError::Expired)
        );
        server.set_introspection_status(500);
        assert!(matches!(
            intro.introspect("opaque-2", &rules(now), t).await,
            Err(AuthError::Unavailable(_))
        ));
    }
}
