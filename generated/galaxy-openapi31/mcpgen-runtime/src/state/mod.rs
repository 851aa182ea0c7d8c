//! State that must hold across replicas: redeemed confirmation tokens, per-caller rate limits,
//! and the upstream tokens the server obtains.
//!
//! Owns where that state lives: in this process (the default; right for one replica), or in
//! Redis when `--state-url` is given (feature `shared-state`), so that a token redeemed on one
//! replica is refused on every other, a caller's allowance is one allowance whatever replica
//! answers, and replicas reuse each other's upstream tokens instead of each asking for its own.
//!
//! When Redis cannot be reached, each use fails its own way, and each failure is counted
//! (`mcpgen_shared_state_errors_total`): a redemption fails closed (the confirmed write is
//! refused, `denied:state_unavailable`), a rate limit falls back to this replica's own table
//! (reads keep working, limited per replica), a cache falls back to this replica's cache; after a
//! failure, rate limits and caches leave the store alone for [`RETRY_AFTER`].
//!
//! Nothing readable leaves the process: key names are HMACs of what they stand for (a caller
//! subject, a token's digest), and cached tokens are sealed with AES-256-GCM, under keys derived
//! from the replicas' shared secret (`--confirmation-secret-env`).

pub mod rate;
#[cfg(feature = "shared-state")]
mod redis;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::observe::metrics::Metrics;
use crate::state::rate::RateLimiter;
use crate::support::secret::Secret;
use crate::support::settings::Settings;

/// Longest wait for Redis in one use; past it the use counts as failed.
pub const STATE_TIMEOUT: Duration = Duration::from_millis(500);

/// After a failed use of the store, how long rate limits and caches keep to this replica's own
/// tables before trying it again: a store that drops packets would otherwise cost every call
/// the state timeout. Redemptions always try it (they cannot fall back).
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Unexpired redeemed tokens remembered in this process; past it, redemptions fail closed
/// until some expire (forgetting one would let it be replayed).
pub const MAX_REDEEMED: usize = 100_000;

/// A valid token or state, to be redeemed once ([`SharedState::redeem`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// Its tag: the HMAC that names this token alone.
    pub id: [u8; 32],
    /// When it expires, in Unix seconds (it need not be remembered after).
    pub expiry: u64,
}

/// The shared store could not be reached (or answered nonsense) in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// Which upstream token a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The server's own client-credentials token (one per server).
    ClientCredentials,
    /// A caller's token exchanged for an upstream token (one per caller token).
    Exchanged,
}

impl TokenKind {
    /// The kind as a key part and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::ClientCredentials => "client_credentials",
            TokenKind::Exchanged => "token_exchange",
        }
    }
}

/// Where replicas' shared state lives, with this process's own tables as the fallback.
pub struct SharedState {
    redeemed: Mutex<HashMap<[u8; 32], u64>>,
    rate: RateLimiter,
    #[cfg(feature = "shared-state")]
    remote: Option<redis::RedisState>,
    /// Until when rate limits and caches leave `remote` alone, after it failed.
    #[cfg_attr(not(feature = "shared-state"), allow(dead_code))]
    resting_until: Mutex<Option<Instant>>,
    /// Counts the failures of `remote`.
    #[cfg_attr(not(feature = "shared-state"), allow(dead_code))]
    metrics: Metrics,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("shared", &self.is_shared())
            .finish_non_exhaustive()
    }
}

impl SharedState {
    /// State kept in this process: `calls_per_minute` per caller (0: unlimited).
    pub fn local(calls_per_minute: u32, metrics: Metrics) -> Self {
        SharedState {
            redeemed: Mutex::default(),
            rate: RateLimiter::new(calls_per_minute),
            #[cfg(feature = "shared-state")]
            remote: None,
            resting_until: Mutex::default(),
            metrics,
        }
    }

    /// The state `settings` ask for: shared through `--state-url` (keys under `namespace`, the
    /// server's name), else kept in this process.
    pub fn new(
        settings: &Settings,
        namespace: &str,
        calls_per_minute: u32,
        metrics: Metrics,
    ) -> Result<Self, String> {
        let Some(url) = settings.state_url() else {
            return Ok(SharedState::local(calls_per_minute, metrics));
        };
        let Some(secret) = settings.confirmation_secret() else {
            return Err("--state-url needs --confirmation-secret-env".into());
        };
        #[cfg(feature = "shared-state")]
        {
            SharedState::redis(url, namespace, secret, calls_per_minute, metrics)
        }
        #[cfg(not(feature = "shared-state"))]
        {
            let _ = (url, namespace, secret);
            Err("this server was built without the `shared-state` feature".into())
        }
    }

    /// State shared through the Redis server at `url` (connected lazily: a server starts, and
    /// serves reads, while Redis is down), its keys under `namespace` and derived from `secret`.
    #[cfg(feature = "shared-state")]
    pub fn redis(
        url: &Secret,
        namespace: &str,
        secret: &Secret,
        calls_per_minute: u32,
        metrics: Metrics,
    ) -> Result<Self, String> {
        let remote = redis::RedisState::connect(url, namespace, secret)?;
        Ok(SharedState {
            remote: Some(remote),
            ..SharedState::local(calls_per_minute, metrics)
        })
    }

    /// Whether the state is shared with other replicas.
    pub fn is_shared(&self) -> bool {
        #[cfg(feature = "shared-state")]
        {
            self.remote.is_some()
        }
        #[cfg(not(feature = "shared-state"))]
        {
            false
        }
    }

    /// Redeems `ticket` at `now` (Unix seconds): `Ok(true)` the first time anywhere, `Ok(false)`
    /// when it was already redeemed, `Err` when the shared store cannot say (fail closed).
    pub async fn redeem(&self, ticket: &Ticket, now: u64) -> Result<bool, Unavailable> {
        #[cfg(feature = "shared-state")]
        if let Some(remote) = &self.remote {
            return self.counted("redeem", remote.redeem(ticket).await);
        }
        let mut redeemed = self.redeemed.lock().unwrap_or_else(|e| e.into_inner());
        if redeemed.get(&ticket.id).is_some_and(|expiry| *expiry > now) {
            return Ok(false);
        }
        if redeemed.len() >= MAX_REDEEMED {
            // Expired tokens are forgotten only when the table is full, not on every call.
            redeemed.retain(|_, expiry| *expiry > now);
            if redeemed.len() >= MAX_REDEEMED {
                return Err(Unavailable);
            }
        }
        redeemed.insert(ticket.id, ticket.expiry);
        Ok(true)
    }

    /// Takes one call from `subject`'s allowance: `Err` holds how long until the next call is
    /// allowed. Shared when the store answers, else this replica's own allowance.
    pub async fn take_call(&self, subject: &str) -> Result<(), Duration> {
        #[cfg(feature = "shared-state")]
        if let Some(remote) = self.remote_unless_resting()
            && let Ok(verdict) = self.counted(
                "rate_limit",
                remote.take_call(subject, self.rate.per_minute()).await,
            )
        {
            return verdict;
        }
        self.rate.check(subject, Instant::now())
    }

    /// A token another replica obtained, with how long it is still good for; `None` when
    /// there is none (or the store cannot be reached: the caller then asks for its own).
    pub async fn cached_token(
        &self,
        kind: TokenKind,
        key: &[u8; 32],
    ) -> Option<(Secret, Duration)> {
        #[cfg(feature = "shared-state")]
        if let Some(remote) = self.remote_unless_resting() {
            return self
                .counted("cache", remote.cached_token(kind, key).await)
                .ok()
                .flatten();
        }
        let _ = (kind, key);
        None
    }

    /// Offers `token`, good for `lifetime`, to the other replicas.
    pub async fn keep_token(
        &self,
        kind: TokenKind,
        key: &[u8; 32],
        token: &Secret,
        lifetime: Duration,
    ) {
        #[cfg(feature = "shared-state")]
        if let Some(remote) = self.remote_unless_resting() {
            let _ = self.counted("cache", remote.keep_token(kind, key, token, lifetime).await);
        }
        let _ = (kind, key, token, lifetime);
    }

    /// Counts a failed use of the store.
    #[cfg(feature = "shared-state")]
    fn counted<T>(
        &self,
        operation: &'static str,
        result: Result<T, Unavailable>,
    ) -> Result<T, Unavailable> {
        if result.is_err() {
            self.metrics.shared_state_error(operation);
            *self.resting_until.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Instant::now() + RETRY_AFTER);
        }
        result
    }

    /// The store, unless a use failed less than [`RETRY_AFTER`] ago.
    #[cfg(feature = "shared-state")]
    fn remote_unless_resting(&self) -> Option<&redis::RedisState> {
        let resting = self.resting_until.lock().unwrap_or_else(|e| e.into_inner());
        let rests = resting.is_some_and(|until| Instant::now() < until);
        if rests { None } else { self.remote.as_ref() }
    }
}
