//! JWT access tokens: parsing the compact JWS form, checking the signature, validating claims.
//!
//! Owns the rules every token passes: at most [`MAX_TOKEN_LEN`] bytes, three base64url parts,
//! a JSON header whose `alg` is one the key source allows (`none` never is), no `crit`
//! extensions, a valid signature, then the claims: `exp` (required) and `nbf` with the
//! configured skew, `iss` equal to the issuer when one is configured, `aud` naming this server's
//! resource, a subject (`sub`, else `client_id`/`azp`), and scopes from `scope` (space-separated)
//! or `scp` (array or string). Tokens are hostile input: every failure is an [`AuthError`],
//! never a panic, and no error repeats token content.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::AuthError;
use super::keys::{Alg, VerifyingKey};

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A token split into its parts, signature not yet checked.
#[derive(Debug, Clone)]
pub struct UnverifiedJwt {
    /// The header's `alg`.
    pub alg: Alg,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Whether a token has the shape of a compact JWS (three dot-separated parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn part(text: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| AuthError::Malformed("a token part is not base64url"))
}

fn object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, AuthError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AuthError::Malformed(what)),
    }
}

impl UnverifiedJwt {
    /// Splits and decodes a compact JWS.
    pub fn parse(token: &str) -> Result<Self, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed("the token is too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("the token is not a JWT"));
        };
        let header = object(&part(h)?, "the token header is not a JSON object")?;
        let alg_name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(AuthError::Malformed("the token header has no alg"))?;
        let alg = Alg::parse(alg_name).ok_or(AuthError::UnsupportedAlgorithm)?;
        if header.contains_key("crit") {
            return Err(AuthError::Malformed(
                "the token header has critical extensions",
            ));
        }
        if let Some(typ) = header.get("typ") {
            let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
            if !matches!(typ.as_str(), "jwt" | "at+jwt" | "application/at+jwt") {
                return Err(AuthError::Malformed("the token type is not a JWT"));
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(AuthError::Malformed("the token kid is not a string")),
        };
        let claims = object(&part(c)?, "the token claims are not a JSON object")?;
        Ok(UnverifiedJwt {
            alg,
            kid,
            claims,
            signing_input: format!("{h}.{c}"),
            signature: part(s)?,
        })
    }

    /// Whether one of `keys` signed this token with its `alg`.
    pub fn verify(&self, keys: &[impl AsRef<VerifyingKey>]) -> bool {
        keys.iter().any(|k| {
            k.as_ref()
                .verify(self.alg, self.signing_input.as_bytes(), &self.signature)
        })
    }
}

/// What validated claims must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules<'a> {
    /// Required `iss`, when an issuer is configured.
    pub issuer: Option<&'a str>,
    /// The resource `aud` must name.
    pub audience: &'a str,
    /// Tolerated clock skew, in seconds.
    pub skew: u64,
    /// Now, in seconds since the epoch.
    pub now: u64,
    /// Whether `exp` must be present (JWTs: yes; introspection answers: optional).
    pub require_exp: bool,
    /// Whether `aud` must be present (JWTs: yes; introspection answers need not carry it, but
    /// when they do it must name this server).
    pub require_aud: bool,
}

/// The caller a token describes (before the token itself is attached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `sub`, else the client id.
    pub subject: String,
    /// `client_id`, `azp` or `cid`.
    pub client_id: Option<String>,
    /// Granted scopes.
    pub scopes: BTreeSet<String>,
    /// `exp`, when present.
    pub expires_at: Option<u64>,
}

/// A whole number of seconds as OAuth and JWT send them (`exp`, `nbf`, `expires_in`): a
/// non-negative JSON number, fractions cut off.
pub(crate) fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

fn string<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Longest subject or client id kept, in characters.
const MAX_ID_CHARS: usize = 256;

/// Checks the claims of a verified token (or an introspection answer) against `rules`.
pub fn check_claims(
    claims: &Map<String, Value>,
    rules: &ClaimRules<'_>,
) -> Result<Claims, AuthError> {
    let date = |name: &'static str| -> Result<Option<u64>, AuthError> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => seconds(v)
                .map(Some)
                .ok_or(AuthError::Malformed("a time claim is not a number")),
        }
    };
    let exp = date("exp")?;
    match exp {
        None if rules.require_exp => return Err(AuthError::MissingClaim("exp")),
        Some(exp) if rules.now >= exp.saturating_add(rules.skew) => {
            return Err(AuthError::Expired);
        }
        _ => {}
    }
    if let Some(nbf) = date("nbf")?
        && rules.now.saturating_add(rules.skew) < nbf
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(issuer) = rules.issuer
        && string(claims, "iss") != Some(issuer)
    {
        return Err(AuthError::WrongIssuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == rules.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(rules.audience)),
        None | Some(Value::Null) => !rules.require_aud,
        _ => false,
    };
    if !audience_ok {
        return Err(AuthError::WrongAudience);
    }
    let client_id = ["client_id", "azp", "cid"]
        .iter()
        .find_map(|name| string(claims, name))
        .map(|s| s.chars().take(MAX_ID_CHARS).collect::<String>());
    let subject = string(claims, "sub")
        .map(|s| s.chars().take(MAX_ID_CHARS).collect::<String>())
        .or_else(|| client_id.clone())
        .ok_or(AuthError::MissingClaim("sub"))?;
    let mut scopes = BTreeSet::new();
    if let Some(scope) = claims.get("scope").and_then(Value::as_str) {
        scopes.extend(scope.split_whitespace().map(str::to_owned));
    }
    match claims.get("scp") {
        Some(Value::Array(items)) => {
            scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
        }
        Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(str::to_owned)),
        _ => {}
    }
    Ok(Claims {
        subject,
        client_id,
        scopes,
        expires_at: exp,
    })
}
