//! JSON over HTTP for the OAuth side of the server: authorization server metadata, JWKS,
//! introspection and token endpoints.
//!
//! Owns the one HTTP client these share (a timeout, no redirects: a token request must not be
//! replayed at another host) and reading their answers with a size limit. Everything that comes
//! back is hostile input: a body that is too large, not JSON or not an object is an error, and
//! errors never repeat what was sent (tokens, client secrets) nor the whole body received.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::support::http::{error_text, install_crypto_provider};
use crate::support::secret::Secret;

/// Largest metadata, JWKS or token endpoint answer read, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// Timeout of one request to an authorization server.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The client for authorization servers.
pub fn client(user_agent: &str) -> Result<reqwest::Client, String> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .map_err(error_text)
}

/// An answer: status and JSON object body (`None` when the body is not a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonAnswer {
    /// HTTP status.
    pub status: u16,
    /// The body, when it is a JSON object.
    pub body: Option<Map<String, Value>>,
}

async fn read(mut response: reqwest::Response) -> Result<JsonAnswer, String> {
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(error_text)? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(format!("the answer is larger than {MAX_BODY} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    Ok(JsonAnswer { status, body })
}

/// `GET url` expecting JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Result<JsonAnswer, String> {
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(error_text)?;
    read(response).await
}

/// One half of HTTP Basic client credentials, form-encoded as RFC 6749 §2.3.1 asks.
pub fn basic_part(text: &str) -> String {
    url_form(text)
}

fn url_form(text: &str) -> String {
    let pair = serde_urlencoded::to_string([("", text)]).unwrap_or_default();
    pair.strip_prefix('=').unwrap_or(&pair).to_owned()
}

/// `POST url` with a form body and HTTP Basic client authentication (RFC 6749 §2.3.1: id and
/// secret form-encoded, then joined), expecting JSON.
pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    basic: Option<(&Secret, &Secret)>,
    form: &[(&str, &str)],
) -> Result<JsonAnswer, String> {
    let body = serde_urlencoded::to_string(form).map_err(|e| e.to_string())?;
    let mut request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(basic_part(id.expose()), Some(basic_part(secret.expose())));
    }
    let response = request.send().await.map_err(error_text)?;
    read(response).await
}
