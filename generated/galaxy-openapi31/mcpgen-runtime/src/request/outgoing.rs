//! The request as it will be sent upstream, and why one could not be built.

use std::fmt;

use crate::request::body::{BodyError, OutgoingBody};
use crate::spec::HttpMethod;

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path relative to the base URL, percent-encoded, starting with `/`.
    pub path: String,
    /// Encoded `name=value` pieces of the query string, in order.
    pub query: Vec<String>,
    /// The pieces of `query` that carry credentials (API keys in the query): set again on the
    /// URL of every redirect the request follows.
    pub query_credentials: Vec<String>,
    /// Headers, in order (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<OutgoingBody>,
}

impl OutgoingRequest {
    /// The full URL below `base` (a base URL without trailing slash).
    pub fn url(&self, base: &str) -> String {
        let mut url = format!("{}{}", base.trim_end_matches('/'), self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query.join("&"));
        }
        url
    }

    /// The size of the body in bytes (multipart: the parts' contents).
    pub fn body_len(&self) -> u64 {
        match &self.body {
            None => 0,
            Some(OutgoingBody::Bytes { bytes, .. }) => bytes.len() as u64,
            Some(OutgoingBody::Multipart(parts)) => parts.iter().map(|p| p.data.len() as u64).sum(),
        }
    }

    /// The value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Valid arguments that still cannot become a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// A path template placeholder has no value.
    UnresolvedPath {
        /// The placeholder name.
        name: String,
    },
    /// A path parameter's value is empty or blank: the request would address another resource
    /// (`/contacts/` is the collection, not a contact).
    BlankPathValue {
        /// The argument (or, for a fixed or environment value, the parameter) that is blank.
        name: String,
    },
    /// A path parameter's value would make a `.` or `..` segment.
    DotSegment {
        /// The parameter.
        name: String,
    },
    /// A header or cookie value holds characters HTTP does not allow there.
    InvalidHeader {
        /// The parameter.
        name: String,
    },
    /// The operation requires a body and its argument is absent.
    MissingBody {
        /// The body argument.
        name: String,
    },
    /// The body cannot be encoded.
    Body(BodyError),
    /// A credential's environment variable was not read at startup.
    MissingCredential {
        /// The variable.
        var: String,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::UnresolvedPath { name } => {
                write!(f, "path parameter `{name}` has no value")
            }
            RequestError::BlankPathValue { name } => write!(
                f,
                "`{name}` must not be empty or blank: it fills a segment of the request's path, \
                 and an empty segment would address another resource"
            ),
            RequestError::DotSegment { name } => write!(
                f,
                "path parameter `{name}` must not be `.` or `..` (it would change the path)"
            ),
            RequestError::InvalidHeader { name } => write!(
                f,
                "`{name}` holds characters that cannot be sent in an HTTP header (control \
                 characters or non-ASCII text)"
            ),
            RequestError::MissingBody { name } => {
                write!(f, "the request body `{name}` is required")
            }
            RequestError::Body(e) => e.fmt(f),
            RequestError::MissingCredential { var } => {
                write!(f, "credential variable {var} was not configured")
            }
        }
    }
}

impl std::error::Error for RequestError {}

impl From<BodyError> for RequestError {
    fn from(e: BodyError) -> Self {
        RequestError::Body(e)
    }
}

/// Appends a header after checking that HTTP can carry its value.
pub(crate) fn push_header(
    headers: &mut Vec<(String, String)>,
    name: &str,
    value: String,
) -> Result<(), RequestError> {
    let name_ok = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok();
    let value_ok = reqwest::header::HeaderValue::from_str(&value).is_ok();
    if !name_ok || !value_ok {
        return Err(RequestError::InvalidHeader { name: name.into() });
    }
    headers.push((name.to_ascii_lowercase(), value));
    Ok(())
}
