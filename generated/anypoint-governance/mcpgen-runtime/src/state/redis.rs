//! The Redis side of [`super::SharedState`].
//!
//! Owns the keys (`mcpgen:<server>:<use>:<HMAC>`), the commands and scripts, and the sealing of
//! cached tokens:
//! - a redemption is `SET key 1 NX EXAT <expiry>`: only the first replica to set it gets `OK`;
//! - a rate limit is a token bucket updated by one Lua script, on Redis's clock (replicas'
//!   clocks may differ), with the same semantics as [`crate::state::rate::RateLimiter`];
//! - a cached token is `SET key <sealed> PX <lifetime>`, read back with its remaining `PTTL`.
//!
//! The connection is made lazily and remade after a failure (the redis crate's `ConnectionManager`); every
//! use is bounded by [`super::STATE_TIMEOUT`].

use std::fmt::Write as _;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::{STATE_TIMEOUT, TokenKind, Unavailable};
use crate::state::Ticket;
use crate::support::secret::Secret;

/// The token bucket: `KEYS[1]` the caller's bucket, `ARGV[1]` calls per minute. Returns 0 when
/// the call is allowed, else the milliseconds until it would be.
const TAKE_CALL: &str = r"
local capacity = tonumber(ARGV[1])
local per_ms = capacity / 60000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * per_ms)
  at = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], 61000)
return wait
";

/// The answer of one use of Redis, if it comes within [`STATE_TIMEOUT`].
async fn within<T>(
    answer: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, Unavailable> {
    match tokio::time::timeout(STATE_TIMEOUT, answer).await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(Unavailable),
    }
}

/// A connection to Redis and the keys derived from the replicas' shared secret.
pub(super) struct RedisState {
    connection: ConnectionManager,
    namespace: String,
    names: hmac::Key,
    seal: LessSafeKey,
    rng: SystemRandom,
    take_call: redis::Script,
}

/// 32 bytes for `purpose`, derived from the shared secret.
fn derived(secret: &Secret, purpose: &[u8]) -> [u8; 32] {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"mcpgen shared state")
        .extract(secret.expose().as_bytes());
    let mut bytes = [0u8; 32];
    // A 32-byte output of HKDF-SHA256 is always within its limit.
    if let Ok(okm) = prk.expand(&[purpose], hkdf::HKDF_SHA256) {
        let _ = okm.fill(&mut bytes);
    }
    bytes
}

impl RedisState {
    /// A lazily connected client of `url` (`redis://[user:password@]host[:port][/db]`).
    pub(super) fn connect(url: &Secret, namespace: &str, secret: &Secret) -> Result<Self, String> {
        // The URL may hold a password: errors never show it.
        let client = redis::Client::open(url.expose()).map_err(|_| {
            "--state-url is not a redis:// URL (redis://[user:password@]host[:port][/db])"
                .to_owned()
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(STATE_TIMEOUT))
            .set_response_timeout(Some(STATE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("the Redis client cannot be set up: {:?}", e.kind()))?;
        let seal = UnboundKey::new(&AES_256_GCM, &derived(secret, b"cache"))
            .map(LessSafeKey::new)
            .map_err(|_| "the shared-state key cannot be derived".to_owned())?;
        Ok(RedisState {
            connection,
            namespace: namespace.to_owned(),
            names: hmac::Key::new(hmac::HMAC_SHA256, &derived(secret, b"names")),
            seal,
            rng: SystemRandom::new(),
            take_call: redis::Script::new(TAKE_CALL),
        })
    }

    /// `mcpgen:<namespace>:<use>:<hex HMAC of what>`.
    fn key(&self, what_for: &str, what: &[u8]) -> String {
        let tag = hmac::sign(&self.names, &[what_for.as_bytes(), b"\0", what].concat());
        let mut key = format!("mcpgen:{}:{what_for}:", self.namespace);
        for byte in &tag.as_ref()[..20] {
            let _ = write!(key, "{byte:02x}");
        }
        key
    }

    /// Runs one command within [`STATE_TIMEOUT`].
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, Unavailable> {
        let mut connection = self.connection.clone();
        within(command.query_async(&mut connection)).await
    }

    pub(super) async fn redeem(&self, ticket: &Ticket) -> Result<bool, Unavailable> {
        let mut set = redis::cmd("SET");
        set.arg(self.key("redeemed", &ticket.id))
            .arg(1)
            .arg("NX")
            .arg("EXAT")
            .arg(ticket.expiry);
        let answer: Option<String> = self.run(&set).await?;
        Ok(answer.is_some())
    }

    pub(super) async fn take_call(
        &self,
        subject: &str,
        per_minute: u32,
    ) -> Result<Result<(), Duration>, Unavailable> {
        if per_minute == 0 {
            return Ok(Ok(()));
        }
        let mut invocation = self.take_call.key(self.key("rate", subject.as_bytes()));
        invocation.arg(per_minute);
        let mut connection = self.connection.clone();
        let wait: u64 = within(invocation.invoke_async(&mut connection)).await?;
        Ok(if wait == 0 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait))
        })
    }

    pub(super) async fn cached_token(
        &self,
        kind: TokenKind,
        key: &[u8; 32],
    ) -> Result<Option<(Secret, Duration)>, Unavailable> {
        let name = self.key(kind.as_str(), key);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&name).cmd("PTTL").arg(&name);
        let mut connection = self.connection.clone();
        let (sealed, ttl): (Option<Vec<u8>>, i64) =
            within(pipe.query_async(&mut connection)).await?;
        let (Some(sealed), Ok(ttl)) = (sealed, u64::try_from(ttl)) else {
            return Ok(None);
        };
        // Anything that does not open under this key (tampered with, another secret's) is no
        // token: the replica asks for its own.
        Ok(self
            .open(&name, sealed)
            .map(|token| (token, Duration::from_millis(ttl))))
    }

    pub(super) async fn keep_token(
        &self,
        kind: TokenKind,
        key: &[u8; 32],
        token: &Secret,
        lifetime: Duration,
    ) -> Result<(), Unavailable> {
        let millis = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Ok(());
        }
        let name = self.key(kind.as_str(), key);
        let Some(sealed) = self.sealed(&name, token) else {
            return Ok(());
        };
        let mut set = redis::cmd("SET");
        set.arg(&name).arg(sealed).arg("PX").arg(millis);
        self.run::<()>(&set).await
    }

    /// `token` sealed for the key `name`: a random nonce, then the ciphertext and its tag (the
    /// name is the associated data, so a value moved to another key does not open).
    fn sealed(&self, name: &str, token: &Secret) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut data = token.expose().as_bytes().to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .ok()?;
        Some([nonce.as_slice(), &data].concat())
    }

    fn open(&self, name: &str, mut sealed: Vec<u8>) -> Option<Secret> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let mut data = sealed.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(Secret::new)
    }
}
