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

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(byte: u8, expiry: u64) -> Ticket {
        Ticket {
            id: [byte; 32],
            expiry,
        }
    }

    #[tokio::test]
    async fn a_ticket_is_redeemed_once_and_forgotten_after_it_expires() {
        let state = SharedState::local(0, Metrics::new("s", "1"));
        assert_eq!(state.redeem(&ticket(1, 100), 10).await, Ok(true));
        assert_eq!(state.redeem(&ticket(1, 100), 11).await, Ok(false));
        assert_eq!(state.redeem(&ticket(2, 100), 11).await, Ok(true));
        // Past its expiry it no longer counts (the token itself is refused as expired).
        assert_eq!(state.redeem(&ticket(1, 100), 150).await, Ok(true));
        assert!(!state.is_shared());
    }

    #[tokio::test]
    async fn a_full_table_forgets_expired_tokens_and_else_fails_closed() {
        let state = SharedState::local(0, Metrics::new("s", "1"));
        let fill = |expiry: u64| {
            let mut redeemed = state.redeemed.lock().unwrap();
            redeemed.clear();
            for i in 0..MAX_REDEEMED as u64 {
                let mut id = [0; 32];
                id[..8].copy_from_slice(&i.to_le_bytes());
                id[31] = 1;
                redeemed.insert(id, expiry);
            }
        };
        fill(100);
        assert_eq!(state.redeem(&ticket(7, 300), 150).await, Ok(true));
        assert_eq!(state.redeemed.lock().unwrap().len(), 1);
        // Full of tokens still good: forgetting one would let it be replayed.
        fill(200);
        assert_eq!(state.redeem(&ticket(8, 300), 150).await, Err(Unavailable));
    }

    #[tokio::test]
    async fn local_rate_limits_are_this_replicas_own() {
        let state = SharedState::local(2, Metrics::new("s", "1"));
        assert!(state.take_call("ann").await.is_ok());
        assert!(state.take_call("ann").await.is_ok());
        assert!(state.take_call("ann").await.is_err());
        assert!(state.take_call("bob").await.is_ok());
        assert_eq!(
            state.cached_token(TokenKind::Exchanged, &[0; 32]).await,
            None
        );
    }
}

/// Against a real `redis-server` (Debian's `redis-server`), started on a free loopback port:
/// two states on one Redis stand for two replicas. Skipped when the binary is absent, unless
/// `MCPGEN_REDIS=1` (set by `scripts/test`), which makes its absence a failure.
#[cfg(all(test, feature = "shared-state"))]
pub(crate) mod redis_tests {
    use super::*;
    use std::process::{Child, Command, Stdio};

    /// A real `redis-server` on a free loopback port, killed when dropped.
    pub(crate) struct RedisServer {
        child: Child,
        port: u16,
    }

    impl RedisServer {
        pub(crate) fn start() -> Option<RedisServer> {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let Ok(child) = spawned else {
                assert!(
                    std::env::var("MCPGEN_REDIS").as_deref() != Ok("1"),
                    "redis-server is not installed (apt-get install redis-server)"
                );
                return None;
            };
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(RedisServer { child, port });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("redis-server did not start");
        }

        fn url(&self) -> Secret {
            Secret::new(format!("redis://127.0.0.1:{}/", self.port))
        }

        pub(crate) fn replica(&self, per_minute: u32) -> (SharedState, Metrics) {
            let metrics = Metrics::new("s", "1");
            let secret = Secret::new("0123456789abcdef0123456789");
            let state =
                SharedState::redis(&self.url(), "pets", &secret, per_minute, metrics.clone())
                    .unwrap();
            (state, metrics)
        }

        fn keys(&self) -> Vec<String> {
            let client = ::redis::Client::open(self.url().expose()).unwrap();
            let mut connection = client.get_connection().unwrap();
            let mut keys: Vec<String> = ::redis::cmd("KEYS")
                .arg("*")
                .query(&mut connection)
                .unwrap();
            keys.sort();
            keys
        }

        fn raw(&self, key: &str) -> Vec<u8> {
            let client = ::redis::Client::open(self.url().expose()).unwrap();
            let mut connection = client.get_connection().unwrap();
            ::redis::cmd("GET").arg(key).query(&mut connection).unwrap()
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[tokio::test]
    async fn replicas_redeem_a_ticket_once_between_them() {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let ((a, _), (b, _)) = (redis.replica(0), redis.replica(0));
        let ticket = Ticket {
            id: [7; 32],
            expiry: crate::identity::caller::unix_now() + 60,
        };
        assert_eq!(a.redeem(&ticket, 0).await, Ok(true));
        assert_eq!(b.redeem(&ticket, 0).await, Ok(false));
        assert_eq!(a.redeem(&ticket, 0).await, Ok(false));
        let other = Ticket {
            id: [8; 32],
            ..ticket
        };
        assert_eq!(b.redeem(&other, 0).await, Ok(true));
        assert!(a.is_shared());
        // Key names say nothing of what they stand for.
        for key in redis.keys() {
            assert!(key.starts_with("mcpgen:pets:redeemed:"), "{key}");
            assert!(!key.contains("0707"), "{key}");
        }
    }

    #[tokio::test]
    async fn a_callers_allowance_is_one_across_replicas() {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let ((a, _), (b, _)) = (redis.replica(4), redis.replica(4));
        for replica in [&a, &b, &a, &b] {
            assert!(replica.take_call("ann@example.com").await.is_ok());
        }
        let wait = b.take_call("ann@example.com").await.unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(15),
            "{wait:?}"
        );
        assert!(a.take_call("ann@example.com").await.is_err());
        assert!(a.take_call("bob@example.com").await.is_ok());
        assert!(redis.keys().iter().all(|k| !k.contains("example")));
    }

    #[tokio::test]
    async fn replicas_share_upstream_tokens_sealed() {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let ((a, _), (b, _)) = (redis.replica(0), redis.replica(0));
        let key = crate::support::bounded::digest("caller-token");
        assert_eq!(b.cached_token(TokenKind::Exchanged, &key).await, None);
        let token = Secret::new("upstream-token-4f1c");
        a.keep_token(TokenKind::Exchanged, &key, &token, Duration::from_secs(60))
            .await;
        let (shared, left) = b.cached_token(TokenKind::Exchanged, &key).await.unwrap();
        assert_eq!(shared.expose(), "upstream-token-4f1c");
        assert!(left > Duration::from_secs(55) && left <= Duration::from_secs(60));
        // Another kind is another entry; what Redis holds is sealed.
        assert_eq!(
            a.cached_token(TokenKind::ClientCredentials, &key).await,
            None
        );
        let keys = redis.keys();
        assert_eq!(keys.len(), 1, "{keys:?}");
        let raw = redis.raw(&keys[0]);
        assert!(!String::from_utf8_lossy(&raw).contains("upstream-token"));
        // A replica with another secret cannot open it, and asks for its own.
        let stranger = SharedState::redis(
            &redis.url(),
            "pets",
            &Secret::new("another-secret-0123456789"),
            0,
            Metrics::new("s", "1"),
        )
        .unwrap();
        assert_eq!(
            stranger.cached_token(TokenKind::Exchanged, &key).await,
            None
        );
    }

    #[tokio::test]
    async fn without_redis_redemptions_fail_closed_and_limits_stay_local() {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let (a, metrics) = redis.replica(2);
        let (b, b_metrics) = redis.replica(2);
        assert!(a.take_call("ann").await.is_ok());
        drop(redis);
        let errors = |metrics: &Metrics, operation: &str| {
            let prefix = format!("mcpgen_shared_state_errors_total{{operation=\"{operation}\"}} ");
            metrics
                .render()
                .lines()
                .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        };
        // This replica's own allowance takes over; after the first failure the store is left
        // alone for a while (only that failure is counted), so calls do not wait on it.
        assert!(a.take_call("ann").await.is_ok());
        assert!(a.take_call("ann").await.is_ok());
        assert!(a.take_call("ann").await.is_err());
        assert_eq!(errors(&metrics, "rate_limit").as_deref(), Some("1"));
        let key = [1; 32];
        assert_eq!(a.cached_token(TokenKind::Exchanged, &key).await, None);
        assert_eq!(errors(&metrics, "cache"), None);
        // A redemption cannot fall back: it always asks, and fails closed.
        let ticket = Ticket {
            id: [9; 32],
            expiry: crate::identity::caller::unix_now() + 60,
        };
        assert_eq!(a.redeem(&ticket, 0).await, Err(Unavailable));
        assert_eq!(a.redeem(&ticket, 0).await, Err(Unavailable));
        assert_eq!(errors(&metrics, "redeem").as_deref(), Some("2"));
        // A cache read that fails is counted as such.
        assert_eq!(b.cached_token(TokenKind::Exchanged, &key).await, None);
        assert_eq!(errors(&b_metrics, "cache").as_deref(), Some("1"));
    }
}
