//! Verification keys: JWKs, PEM public keys and HS256 secrets, and signature checks with ring.
//!
//! Owns turning hostile key documents (a JWKS fetched over the network, a key file) into
//! [`VerifyingKey`]s, and verifying a JWS signature with one. Keys that cannot be used (unknown
//! `kty` or curve, `use: enc`, RSA below 2048 bits) are skipped, never a panic. A minimal DER
//! reader handles the SubjectPublicKeyInfo of PEM files (RSA, P-256, P-384, Ed25519).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self, UnparsedPublicKey};
use serde_json::Value;

use crate::support::secret::Secret;

/// Most keys read from one JWKS document.
pub const MAX_KEYS: usize = 64;

/// JWS algorithms this server can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
    /// HMAC with SHA-256 (only with a configured shared secret).
    Hs256,
}

impl Alg {
    /// The algorithm named in a JWS header (`none` and unknown names are `None`).
    pub fn parse(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            "HS256" => Alg::Hs256,
            _ => return None,
        })
    }

    /// The JWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
        }
    }
}

/// The public part of a key.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// A P-256 point, uncompressed (`04 || x || y`).
    P256(Vec<u8>),
    /// A P-384 point, uncompressed.
    P384(Vec<u8>),
    /// An Ed25519 public key.
    Ed25519(Vec<u8>),
    /// An HMAC secret.
    Hmac(Secret),
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyMaterial::Rsa { .. } => "Rsa",
            KeyMaterial::P256(_) => "P256",
            KeyMaterial::P384(_) => "P384",
            KeyMaterial::Ed25519(_) => "Ed25519",
            KeyMaterial::Hmac(_) => "Hmac(****)",
        })
    }
}

/// A key tokens may be verified with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// `kid`, when the key has one.
    pub kid: Option<String>,
    /// `alg`, when the key is restricted to one algorithm.
    pub alg: Option<String>,
    /// The key.
    pub material: KeyMaterial,
}

impl AsRef<VerifyingKey> for VerifyingKey {
    fn as_ref(&self) -> &VerifyingKey {
        self
    }
}

impl VerifyingKey {
    /// An HS256 key from a shared secret.
    pub fn hmac(secret: Secret) -> Self {
        VerifyingKey {
            kid: None,
            alg: Some("HS256".into()),
            material: KeyMaterial::Hmac(secret),
        }
    }

    /// Whether this key can verify `alg` (key type, curve and the key's own `alg`).
    pub fn accepts(&self, alg: Alg) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
            return false;
        }
        match &self.material {
            KeyMaterial::Rsa { .. } => matches!(
                alg,
                Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512
            ),
            KeyMaterial::P256(_) => alg == Alg::Es256,
            KeyMaterial::P384(_) => alg == Alg::Es384,
            KeyMaterial::Ed25519(_) => alg == Alg::EdDsa,
            KeyMaterial::Hmac(_) => alg == Alg::Hs256,
        }
    }

    /// Whether `signature` is a valid `alg` signature of `message` by this key.
    pub fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        if !self.accepts(alg) {
            return false;
        }
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                let params: &signature::RsaParameters = match alg {
                    Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Alg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Alg::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Alg::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                signature::RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            KeyMaterial::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            KeyMaterial::P384(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            KeyMaterial::Ed25519(key) => UnparsedPublicKey::new(&signature::ED25519, key)
                .verify(message, sig)
                .is_ok(),
            KeyMaterial::Hmac(secret) => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
                ring::hmac::verify(&key, message, sig).is_ok()
            }
        }
    }

    /// Reads one JWK (public members only; private members are ignored). Symmetric (`oct`)
    /// keys are refused: a JWKS must not make HMAC tokens acceptable.
    pub fn from_jwk(jwk: &Value) -> Result<Self, String> {
        let obj = jwk.as_object().ok_or("a JWK must be a JSON object")?;
        let text = |name: &str| obj.get(name).and_then(Value::as_str);
        if text("use").is_some_and(|u| u != "sig") {
            return Err("the key is not for signatures".into());
        }
        let bytes = |name: &str| -> Result<Vec<u8>, String> {
            let value = text(name).ok_or_else(|| format!("member `{name}` is missing"))?;
            URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|_| format!("member `{name}` is not base64url"))
        };
        let material = match text("kty") {
            Some("RSA") => rsa(bytes("n")?, bytes("e")?)?,
            Some("EC") => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                match text("crv") {
                    Some("P-256") if x.len() == 32 && y.len() == 32 => {
                        KeyMaterial::P256([&[4u8][..], &x, &y].concat())
                    }
                    Some("P-384") if x.len() == 48 && y.len() == 48 => {
                        KeyMaterial::P384([&[4u8][..], &x, &y].concat())
                    }
                    _ => return Err("unsupported or malformed EC key".into()),
                }
            }
            Some("OKP") => {
                let x = bytes("x")?;
                match text("crv") {
                    Some("Ed25519") if x.len() == 32 => KeyMaterial::Ed25519(x),
                    _ => return Err("unsupported or malformed OKP key".into()),
                }
            }
            Some(other) => return Err(format!("unsupported key type `{other}`")),
            None => return Err("member `kty` is missing".into()),
        };
        Ok(VerifyingKey {
            kid: text("kid").map(str::to_owned),
            alg: text("alg").map(str::to_owned),
            material,
        })
    }

    /// The usable keys of a JWKS document (`{"keys": [...]}`); unusable keys are skipped.
    pub fn from_jwks(doc: &Value) -> Result<Vec<Self>, String> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("a JWKS must be an object with a `keys` array")?;
        Ok(keys
            .iter()
            .take(MAX_KEYS)
            .filter_map(|k| VerifyingKey::from_jwk(k).ok())
            .collect())
    }

    /// Reads a key file: a PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`), a JWK, or a JWKS.
    pub fn from_key_file(text: &str) -> Result<Vec<Self>, String> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            let value: Value = serde_json::from_str(trimmed)
                .map_err(|_| "the key file is not valid JSON".to_owned())?;
            let keys = if value.get("keys").is_some() {
                VerifyingKey::from_jwks(&value)?
            } else {
                vec![VerifyingKey::from_jwk(&value)?]
            };
            if keys.is_empty() {
                return Err("the JWKS holds no usable signing key".into());
            }
            return Ok(keys);
        }
        let (label, der) = pem(text).ok_or(
            "the key file is neither a JWK nor a PEM public key (-----BEGIN PUBLIC KEY-----)",
        )?;
        let material = match label.as_str() {
            "PUBLIC KEY" => spki(&der)?,
            "RSA PUBLIC KEY" => rsa_public_key(&der)?,
            other => {
                return Err(format!(
                    "PEM `{other}` is not a public key; export the public key (PUBLIC KEY)"
                ));
            }
        };
        Ok(vec![VerifyingKey {
            kid: None,
            alg: None,
            material,
        }])
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn rsa(n: Vec<u8>, e: Vec<u8>) -> Result<KeyMaterial, String> {
    let (n, e) = (strip_zeros(n), strip_zeros(e));
    if n.len() < 256 {
        return Err("RSA keys shorter than 2048 bits are refused".into());
    }
    if e.is_empty() || e.len() > 4 {
        return Err("malformed RSA exponent".into());
    }
    Ok(KeyMaterial::Rsa { n, e })
}

/// The label and DER bytes of the first PEM block.
fn pem(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body = &rest[label_end + 5..];
    let end = body.find("-----END ")?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(b64).ok()?;
    Some((label, der))
}

/// One DER element: `(tag, content, rest)`.
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..count] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[count..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), String> {
    match der(input) {
        Some((t, content, rest)) if t == tag => Ok((content, rest)),
        _ => Err("malformed DER in the public key".into()),
    }
}

/// A SubjectPublicKeyInfo.
fn spki(input: &[u8]) -> Result<KeyMaterial, String> {
    let (info, _) = expect(input, SEQUENCE)?;
    let (algorithm, rest) = expect(info, SEQUENCE)?;
    let (bits, _) = expect(rest, BIT_STRING)?;
    let (&unused, key) = bits
        .split_first()
        .ok_or("malformed DER in the public key")?;
    if unused != 0 {
        return Err("malformed DER in the public key".into());
    }
    let (oid, params) = expect(algorithm, OID)?;
    match oid {
        OID_RSA => rsa_public_key(key),
        OID_EC => {
            let (curve, _) = expect(params, OID)?;
            match (curve, key.len(), key.first()) {
                (OID_P256, 65, Some(4)) => Ok(KeyMaterial::P256(key.to_vec())),
                (OID_P384, 97, Some(4)) => Ok(KeyMaterial::P384(key.to_vec())),
                _ => Err("unsupported EC curve or point format".into()),
            }
        }
        OID_ED25519 if key.len() == 32 => Ok(KeyMaterial::Ed25519(key.to_vec())),
        _ => Err("unsupported public key algorithm".into()),
    }
}

/// A PKCS#1 RSAPublicKey.
fn rsa_public_key(input: &[u8]) -> Result<KeyMaterial, String> {
    let (seq, _) = expect(input, SEQUENCE)?;
    let (n, rest) = expect(seq, INTEGER)?;
    let (e, _) = expect(rest, INTEGER)?;
    rsa(n.to_vec(), e.to_vec())
}
