//! Human confirmation of tools marked `confirm: true`: the tokens that bind a confirmation to
//! one call (what the human is shown is [`crate::call::dry_run`]).
//!
//! Owns the confirmation token: an HMAC-SHA256 (ring) over the tool name, the caller subject,
//! the canonical JSON of the arguments without [`CONFIRMATION_ARGUMENT`], an expiry
//! ([`TTL_SECS`]), a random nonce and a purpose, so a token confirms exactly one call by one
//! caller, for a while, and once (a [`Ticket`] is redeemed in [`crate::state`], which remembers
//! it until it expires, in Redis when replicas share state; the nonce keeps two confirmations of
//! the same call apart). The key is random per process, or from `--confirmation-secret-env` so
//! replicas accept each other's tokens. The same construction seals the 2026-07-28
//! `requestState` (another purpose: a state is not a token).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value};

use crate::spec::CONFIRMATION_ARGUMENT;
use crate::state::Ticket;
use crate::support::secret::Secret;

/// How long a confirmation token (or sealed request state) is valid, in seconds.
pub const TTL_SECS: u64 = 600;

/// What a sealed value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A `confirmation_token` handed to the model in a dry run.
    Token,
    /// A 2026-07-28 `requestState` (proves nothing about the human's answer).
    State,
}

impl Purpose {
    fn prefix(self) -> &'static str {
        match self {
            Purpose::Token => "mcpc1",
            Purpose::State => "mcps1",
        }
    }
}

/// Why a token does not confirm a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not a token of this server (or tampered with, or for other arguments, tool or caller).
    Invalid,
    /// Its time is up.
    Expired,
    /// It was already used.
    Used,
}

impl TokenProblem {
    /// A sentence for the caller.
    pub fn describe(self) -> &'static str {
        match self {
            TokenProblem::Invalid => {
                "the confirmation token given does not match this call (other arguments, tool or \
                 caller)"
            }
            TokenProblem::Expired => "the confirmation token given has expired",
            TokenProblem::Used => "the confirmation token given was already used",
        }
    }
}

/// Issues and checks confirmation tokens.
pub struct Confirmations {
    key: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Confirmations(****)")
    }
}

/// The arguments as canonical JSON: object members sorted by name at every level.
pub fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The arguments that bind a token: all but [`CONFIRMATION_ARGUMENT`].
pub fn bound_arguments(args: &Map<String, Value>) -> Value {
    Value::Object(
        args.iter()
            .filter(|(k, _)| k.as_str() != CONFIRMATION_ARGUMENT)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

impl Confirmations {
    /// Keyed by `secret`, or by 32 random bytes.
    pub fn new(secret: Option<&Secret>) -> Self {
        let key = match secret {
            Some(secret) => hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()),
            None => {
                let mut bytes = [0u8; 32];
                if SystemRandom::new().fill(&mut bytes).is_err() {
                    // No system randomness: fall back to a key no client can know in advance.
                    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
                    bytes.copy_from_slice(
                        &ring::digest::digest(&ring::digest::SHA256, seed.as_bytes()).as_ref()
                            [..32],
                    );
                }
                hmac::Key::new(hmac::HMAC_SHA256, &bytes)
            }
        };
        Confirmations {
            key,
            rng: SystemRandom::new(),
        }
    }

    fn tag(&self, purpose: Purpose, call: &Binding<'_>, expiry: u64, nonce: &str) -> hmac::Tag {
        let args = canonical(&bound_arguments(call.args));
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [
            purpose.prefix().as_bytes(),
            call.tool.as_bytes(),
            call.subject.as_bytes(),
            expiry.to_string().as_bytes(),
            nonce.as_bytes(),
            args.as_bytes(),
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        ctx.sign()
    }

    /// A token for this call, valid until `now + TTL_SECS`.
    pub fn issue(&self, purpose: Purpose, call: &Binding<'_>, now: u64) -> String {
        let expiry = now + TTL_SECS;
        let mut bytes = [0u8; 12];
        if self.rng.fill(&mut bytes).is_err() {
            // Without randomness the nonce is only a counter-like value; the tag still binds.
            bytes[..8].copy_from_slice(&expiry.to_be_bytes());
        }
        let nonce = URL_SAFE_NO_PAD.encode(bytes);
        let tag = self.tag(purpose, call, expiry, &nonce);
        format!(
            "{}.{expiry}.{nonce}.{}",
            purpose.prefix(),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Checks `token` for this call: the [`Ticket`] to redeem when it is this server's, for
    /// this call, and not expired.
    pub fn check(
        &self,
        purpose: Purpose,
        token: &str,
        call: &Binding<'_>,
        now: u64,
    ) -> Result<Ticket, TokenProblem> {
        if token.len() > 200 {
            return Err(TokenProblem::Invalid);
        }
        let mut parts = token.split('.');
        let (Some(prefix), Some(expiry), Some(nonce), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenProblem::Invalid);
        };
        if prefix != purpose.prefix() {
            return Err(TokenProblem::Invalid);
        }
        let expiry: u64 = expiry.parse().map_err(|_| TokenProblem::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenProblem::Invalid)?;
        let expected = self.tag(purpose, call, expiry, nonce);
        if !constant_time_eq(expected.as_ref(), &tag) {
            return Err(TokenProblem::Invalid);
        }
        if now >= expiry {
            return Err(TokenProblem::Expired);
        }
        let id = tag.try_into().map_err(|_| TokenProblem::Invalid)?;
        Ok(Ticket { id, expiry })
    }
}

/// The call a token is bound to.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// Tool name.
    pub tool: &'a str,
    /// Caller subject.
    pub subject: &'a str,
    /// The call's arguments ([`CONFIRMATION_ARGUMENT`] is left out).
    pub args: &'a Map<String, Value>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
