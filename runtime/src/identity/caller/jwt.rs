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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::identity::caller::keys::KeyMaterial;
    use crate::support::secret::Secret;
    use ring::rand::SystemRandom;
    use ring::signature::{self, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    /// The public half of a 2048-bit RSA key made for these tests (the private half was
    /// discarded), and tokens it signed with each RSA algorithm (`ALG token` per line).
    const RSA_PUBLIC_PEM: &str = include_str!("../../../tests/support/test_rsa_key.pub.pem");
    const RSA_TOKENS: &str = include_str!("../../../tests/support/test_rsa_tokens.txt");

    pub(crate) fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A compact JWS of `claims` with this header, signed by `sign`.
    pub(crate) fn token(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64(&sig))
    }

    fn rules(now: u64) -> ClaimRules<'static> {
        ClaimRules {
            issuer: Some("https://id.example"),
            audience: "https://mcp.example/mcp",
            skew: 60,
            now,
            require_exp: true,
            require_aud: true,
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://id.example", "aud": "https://mcp.example/mcp", "sub": "ann",
            "exp": 2_000, "nbf": 900, "scope": "pets:read pets:write", "client_id": "app-1"})
    }

    fn check(claims: Value, now: u64) -> Result<Claims, AuthError> {
        check_claims(claims.as_object().unwrap(), &rules(now))
    }

    #[test]
    fn valid_claims_give_the_caller() {
        let c = check(claims(), 1_000).unwrap();
        assert_eq!(c.subject, "ann");
        assert_eq!(c.client_id.as_deref(), Some("app-1"));
        assert_eq!(
            c.scopes,
            BTreeSet::from(["pets:read".to_owned(), "pets:write".to_owned()])
        );
        assert_eq!(c.expires_at, Some(2_000));
        let mut scp = claims();
        scp["scope"] = Value::Null;
        scp["scp"] = json!(["a", 7, "b"]);
        scp["aud"] = json!(["other", "https://mcp.example/mcp"]);
        scp.as_object_mut().unwrap().remove("sub");
        let c = check(scp, 1_000).unwrap();
        assert_eq!(c.scopes, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
        assert_eq!(
            c.subject, "app-1",
            "client tokens fall back to the client id"
        );
    }

    #[test]
    fn each_claim_failure_is_its_own_error() {
        assert_eq!(check(claims(), 2_059).map(|_| ()), Ok(()), "within skew");
        assert_eq!(check(claims(), 2_060), Err(AuthError::Expired));
        assert_eq!(check(claims(), 839), Err(AuthError::NotYetValid));
        assert!(check(claims(), 840).is_ok());
        let with = |name: &str, value: Value| {
            let mut c = claims();
            c[name] = value;
            c
        };
        assert_eq!(
            check(with("iss", json!("https://evil.example")), 1_000),
            Err(AuthError::WrongIssuer)
        );
        assert_eq!(
            check(with("aud", json!("https://other.example/mcp")), 1_000),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!(["a", "b"])), 1_000),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!(7)), 1_000),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(
            check(with("exp", Value::Null), 1_000),
            Err(AuthError::MissingClaim("exp"))
        );
        assert!(matches!(
            check(with("exp", json!("soon")), 1_000),
            Err(AuthError::Malformed(_))
        ));
        let mut anonymous = claims();
        for name in ["sub", "client_id"] {
            anonymous.as_object_mut().unwrap().remove(name);
        }
        assert_eq!(check(anonymous, 1_000), Err(AuthError::MissingClaim("sub")));
    }

    fn es256() -> (EcdsaKeyPair, VerifyingKey) {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let key = VerifyingKey {
            kid: Some("k1".into()),
            alg: None,
            material: KeyMaterial::P256(pair.public_key().as_ref().to_vec()),
        };
        (pair, key)
    }

    #[test]
    fn signatures_are_checked_with_the_header_alg() {
        let (pair, key) = es256();
        let rng = SystemRandom::new();
        let sign = |m: &[u8]| pair.sign(&rng, m).unwrap().as_ref().to_vec();
        let header = json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"});
        let t = token(&header, &claims(), sign);
        let jwt = UnverifiedJwt::parse(&t).unwrap();
        assert_eq!((jwt.alg, jwt.kid.as_deref()), (Alg::Es256, Some("k1")));
        assert!(jwt.verify(&[Box::new(key.clone())]));
        // A changed claim breaks the signature.
        let (h, rest) = t.split_once('.').unwrap();
        let (_, s) = rest.split_once('.').unwrap();
        let mut forged = claims();
        forged["sub"] = json!("root");
        let forged = format!("{h}.{}.{s}", b64(forged.to_string().as_bytes()));
        assert!(
            !UnverifiedJwt::parse(&forged)
                .unwrap()
                .verify(&[Box::new(key.clone())])
        );
        // Another key's signature does not verify.
        let (_, other) = es256();
        assert!(!jwt.verify(&[Box::new(other)]));
        // Nor is this key used for another alg (a P-256 key checks ES256 only).
        let mut relabeled = UnverifiedJwt::parse(&t).unwrap();
        relabeled.alg = Alg::Es384;
        assert!(!relabeled.verify(&[Box::new(key.clone())]));
    }

    #[test]
    fn rsa_pkcs1_and_pss_tokens_verify_against_a_pem_key() {
        let keys = VerifyingKey::from_key_file(RSA_PUBLIC_PEM).unwrap();
        let mut seen = 0;
        for line in RSA_TOKENS.lines() {
            let (name, t) = line.split_once(' ').unwrap();
            let jwt = UnverifiedJwt::parse(t).unwrap();
            assert_eq!(jwt.alg.as_str(), name);
            assert!(jwt.verify(&keys), "{name}");
            // The same input and signature checked as any other alg fail: the key verifies
            // with the alg the header names, and only with it.
            for other in [
                Alg::Rs256,
                Alg::Rs384,
                Alg::Rs512,
                Alg::Ps256,
                Alg::Ps384,
                Alg::Ps512,
            ] {
                let mut relabeled = UnverifiedJwt::parse(t).unwrap();
                if relabeled.alg != other {
                    relabeled.alg = other;
                    assert!(!relabeled.verify(&keys), "{name} checked as {other:?}");
                }
            }
            // One flipped bit in the signature fails.
            let mut broken = UnverifiedJwt::parse(t).unwrap();
            broken.signature[100] ^= 1;
            assert!(!broken.verify(&keys), "{name}");
            seen += 1;
        }
        assert_eq!(seen, 6);
    }

    #[test]
    fn malformed_tokens_and_bad_algs_are_refused() {
        let enc = |v: &Value| b64(v.to_string().as_bytes());
        let body = enc(&claims());
        for (token, want) in [
            ("".to_owned(), "malformed"),
            ("a.b".to_owned(), "malformed"),
            ("a.b.c.d".to_owned(), "malformed"),
            (format!("!!.{body}.AA"), "malformed"),
            (format!("{}.{body}.AA", enc(&json!([1]))), "malformed"),
            (
                format!("{}.{body}.AA", enc(&json!({"typ": "JWT"}))),
                "malformed",
            ),
            (format!("{}.{body}.", enc(&json!({"alg": "none"}))), "alg"),
            (
                format!("{}.{body}.AA", enc(&json!({"alg": "HS512"}))),
                "alg",
            ),
            (
                format!("{}.{body}.AA", enc(&json!({"alg": 7}))),
                "malformed",
            ),
            (
                format!("{}.{body}.AA", enc(&json!({"alg": "ES256", "crit": ["x"]}))),
                "malformed",
            ),
            (
                format!(
                    "{}.{body}.AA",
                    enc(&json!({"alg": "ES256", "typ": "JOSE+xml"}))
                ),
                "malformed",
            ),
            (
                format!("{}.{body}.AA", enc(&json!({"alg": "ES256", "kid": 1}))),
                "malformed",
            ),
            (
                format!("{}.{}.AA", enc(&json!({"alg": "ES256"})), enc(&json!("s"))),
                "malformed",
            ),
            (
                format!("{}.{body}.A", enc(&json!({"alg": "ES256"}))),
                "malformed",
            ),
            ("x".repeat(MAX_TOKEN_LEN + 1), "malformed"),
        ] {
            let err = UnverifiedJwt::parse(&token).unwrap_err();
            let ok = match want {
                "alg" => err == AuthError::UnsupportedAlgorithm,
                _ => matches!(err, AuthError::Malformed(_)),
            };
            assert!(ok, "{token:.60}: {err:?}");
        }
        // An HS256 token signed with the public key bytes does not verify with an EC key.
        let (_, key) = es256();
        let KeyMaterial::P256(public) = &key.material else {
            panic!()
        };
        let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, public);
        let t = token(&json!({"alg": "HS256"}), &claims(), |m| {
            ring::hmac::sign(&hmac, m).as_ref().to_vec()
        });
        assert!(!UnverifiedJwt::parse(&t).unwrap().verify(&[Box::new(key)]));
        let _ = Secret::new("unused");
    }
}
