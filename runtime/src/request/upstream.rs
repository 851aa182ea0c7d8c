//! Sending requests to the upstream API with reqwest.
//!
//! Owns the HTTP client (built once: rustls with the `ring` provider, the spec's timeout, no
//! redirects followed by reqwest), the conversion of an [`OutgoingRequest`] into a reqwest
//! request (multipart bodies are assembled by reqwest, which writes the boundary), sending the
//! hops of a redirect chain as [`redirect`] decides them, and reading the
//! final response up to a size limit (the rest is not read, and the response is marked
//! truncated). Every hop carries the request's headers (its credentials among them) and its
//! credential query pieces again, on purpose: hops never leave the upstream's origin. Error
//! messages come from reqwest with the URL stripped (a query may carry an API key).

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};

use crate::request::body::OutgoingBody;
use crate::request::outgoing::OutgoingRequest;
use crate::request::redirect::{self, Chain, Hop, RedirectError};
use crate::spec::UpstreamSpec;
use crate::support::http::{error_text, install_crypto_provider};

/// The upstream API: client, base URL and response limit.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base_url: String,
    timeout_ms: u64,
    max_response_bytes: u64,
}

/// A response, read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body (at most the size limit).
    pub body: Vec<u8>,
    /// The body was cut off at the size limit.
    pub truncated: bool,
}

impl UpstreamResponse {
    /// The status's reason phrase (`Not Found`), or `""` for unknown codes.
    pub fn reason(&self) -> &'static str {
        reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("")
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no response could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// No complete response within the timeout.
    Timeout {
        /// The timeout, in milliseconds.
        ms: u64,
    },
    /// The request could not be sent as built (bad URL, method or part content type).
    InvalidRequest(String),
    /// Connecting failed or the exchange broke off.
    Transport(String),
    /// The upstream redirected where this server does not follow (another origin, a loop, too
    /// many hops).
    Redirect(RedirectError),
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Timeout { ms } => {
                write!(f, "the upstream API did not answer within {ms} ms")
            }
            UpstreamError::InvalidRequest(msg) => write!(f, "the request could not be sent: {msg}"),
            UpstreamError::Transport(msg) => {
                write!(f, "the upstream API could not be reached: {msg}")
            }
            UpstreamError::Redirect(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for UpstreamError {}

impl Upstream {
    /// Builds the client for this upstream at `base_url` (from settings), identifying as
    /// `user_agent`, reading at most `max_response_bytes` of a response.
    pub fn new(
        spec: &UpstreamSpec,
        base_url: &str,
        user_agent: &str,
        max_response_bytes: u64,
    ) -> Result<Self, String> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(spec.timeout_ms.max(1)))
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(error_text)?;
        Ok(Upstream {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout_ms: spec.timeout_ms,
            max_response_bytes,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The response size limit.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// Sends a request, following same-origin redirects (see [`redirect`]),
    /// and reads the final response, up to the size limit.
    pub async fn send(&self, request: OutgoingRequest) -> Result<UpstreamResponse, UpstreamError> {
        let url = Url::parse(&request.url(&self.base_url))
            .map_err(|_| UpstreamError::InvalidRequest("the URL is not valid".into()))?;
        let mut chain = Chain::new(request.method, url, request.query_credentials.clone());
        loop {
            let hop = chain.current();
            let response = self
                .to_reqwest(&request, hop)?
                .send()
                .await
                .map_err(|e| self.classify(e))?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok());
            let Some(target) = redirect::target(status, location, &hop.url) else {
                return self.read(response).await;
            };
            chain
                .follow(status, target)
                .map_err(UpstreamError::Redirect)?;
        }
    }

    /// Reads a response, up to the size limit.
    async fn read(
        &self,
        mut response: reqwest::Response,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = usize::try_from(self.max_response_bytes).unwrap_or(usize::MAX);
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut truncated = declared.is_some_and(|len| len > self.max_response_bytes);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            let room = limit - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(UpstreamResponse {
            status,
            content_type,
            body,
            truncated,
        })
    }

    fn classify(&self, error: reqwest::Error) -> UpstreamError {
        if error.is_timeout() {
            UpstreamError::Timeout {
                ms: self.timeout_ms,
            }
        } else if error.is_builder() {
            UpstreamError::InvalidRequest(error_text(error))
        } else {
            UpstreamError::Transport(error_text(error))
        }
    }

    /// The reqwest request of one hop: `request`'s headers (credentials included), sent to
    /// the hop's URL with its method, and `request`'s body unless the hop dropped it. The body
    /// is copied: a 307 or 308 may need it again.
    fn to_reqwest(
        &self,
        request: &OutgoingRequest,
        hop: &Hop,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let invalid = |what: &str| UpstreamError::InvalidRequest(what.to_owned());
        let method = reqwest::Method::from_bytes(hop.method.as_str().as_bytes())
            .map_err(|_| invalid("bad method"))?;
        let mut builder = self.client.request(method, hop.url.clone());
        for (name, value) in &request.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("bad header name"))?;
            let value = HeaderValue::from_str(value).map_err(|_| invalid("bad header value"))?;
            builder = builder.header(name, value);
        }
        match request.body.as_ref().filter(|_| hop.body) {
            None => {}
            Some(OutgoingBody::Bytes {
                content_type,
                bytes,
            }) => {
                let value =
                    HeaderValue::from_str(content_type).map_err(|_| invalid("bad content type"))?;
                builder = builder.header(CONTENT_TYPE, value).body(bytes.clone());
            }
            Some(OutgoingBody::Multipart(parts)) => {
                let mut form = reqwest::multipart::Form::new();
                for part in parts {
                    let mut p = reqwest::multipart::Part::bytes(part.data.clone());
                    if let Some(filename) = &part.filename {
                        p = p.file_name(filename.clone());
                    }
                    if let Some(ct) = &part.content_type {
                        p = p
                            .mime_str(ct)
                            .map_err(|_| invalid("bad multipart content type"))?;
                    }
                    form = form.part(part.name.clone(), p);
                }
                builder = builder.multipart(form);
            }
        }
        Ok(builder)
    }
}
