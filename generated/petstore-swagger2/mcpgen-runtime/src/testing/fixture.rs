//! The fixture format (see the [module docs](super)) and the checks of one exchange against it.
//!
//! Owns deserializing fixtures and comparing a recorded request and a tool result with their
//! expectations. Every check panics with the expected and the actual value side by side.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::mock::{MockResponse, RecordedRequest};
use super::multipart;

/// One fixture: a tool, its environment, one call and one invalid call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The tool called.
    pub tool: String,
    /// Environment variables the server reads (credentials, `Env` values).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Values that must never appear in a result or an audit line.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The test caller's access token (default: a fixed test value); what passthrough sends and
    /// token exchange exchanges.
    #[serde(default)]
    pub caller_token: Option<String>,
    /// The token endpoint the harness serves for client credentials and token exchange.
    #[serde(default)]
    pub oauth: Option<OAuthCase>,
    /// The call that reaches the upstream.
    pub call: CallCase,
    /// A call with invalid arguments, which must not reach the upstream.
    #[serde(default)]
    pub invalid: Option<InvalidCase>,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthCase {
    /// The upstream access token it issues.
    pub access_token: String,
    /// Its `expires_in` (default 3600).
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// The call that reaches the upstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCase {
    /// The tool needs a human's confirmation: the harness first calls without a token and
    /// expects a dry run, then calls again with the token it got.
    #[serde(default)]
    pub confirm: bool,
    /// Tool arguments.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// What the mock upstream answers.
    pub upstream: CannedResponse,
    /// The request the upstream must receive.
    pub request: ExpectedRequest,
    /// The tool result expected.
    pub result: ExpectedResult,
    /// Strings that must appear nowhere in the result (nor in the audit log).
    #[serde(default)]
    pub absent: Vec<String>,
}

/// The mock upstream's answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` (none when absent or `null`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// The body as text.
    #[serde(default)]
    pub body: String,
    /// The body as base64 (binary responses); wins over `body`.
    #[serde(default)]
    pub body_base64: Option<String>,
}

impl CannedResponse {
    /// The mock response.
    ///
    /// # Panics
    /// If `body_base64` is not base64.
    pub fn to_mock(&self) -> MockResponse {
        let body = match &self.body_base64 {
            Some(b64) => STANDARD
                .decode(b64)
                .unwrap_or_else(|e| panic!("fixture: upstream.body_base64 is not base64: {e}")),
            None => self.body.clone().into_bytes(),
        };
        MockResponse {
            status: self.status,
            content_type: self.content_type.clone(),
            body,
            headers: Vec::new(),
            delay: None,
        }
    }
}

/// The request the upstream must receive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRequest {
    /// HTTP method.
    pub method: String,
    /// Raw path (percent-encoded), base path included.
    pub path: String,
    /// Decoded query pairs, in order (empty: no query).
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// Headers that must be present with exactly these values; others are allowed.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body (`null`: no body).
    #[serde(default)]
    pub body: Option<ExpectedBody>,
}

/// An expected request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpectedBody {
    /// JSON, compared as a value.
    Json(Value),
    /// `application/x-www-form-urlencoded`, decoded pairs in order.
    Form(Vec<(String, String)>),
    /// `multipart/form-data` parts, in order.
    Multipart(Vec<ExpectedPart>),
    /// Text, compared exactly.
    Text(String),
    /// Bytes, as base64.
    Base64(String),
}

/// An expected multipart part.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedPart {
    /// Field name.
    pub name: String,
    /// File name (`null`: not a file part).
    #[serde(default)]
    pub filename: Option<String>,
    /// Part content type (`null`: none sent).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Content as text.
    #[serde(default)]
    pub text: Option<String>,
    /// Content as base64.
    #[serde(default)]
    pub base64: Option<String>,
}

/// The expected tool result.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedResult {
    /// `isError`.
    pub is_error: bool,
    /// `structuredContent`, compared as a value.
    #[serde(default)]
    pub structured: Option<Value>,
    /// The text content (all text blocks concatenated), compared exactly.
    #[serde(default)]
    pub text: Option<String>,
    /// A substring of the text content.
    #[serde(default)]
    pub text_contains: Option<String>,
    /// A binary content block (image, audio or embedded resource blob).
    #[serde(default)]
    pub blob: Option<ExpectedBlob>,
}

/// An expected binary content block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedBlob {
    /// Its media type.
    pub mime_type: String,
    /// Its data, base64.
    pub base64: String,
}

/// A call with invalid arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidCase {
    /// The arguments.
    pub arguments: Map<String, Value>,
    /// A string (usually the argument name) the error text must contain.
    pub mentions: String,
}

fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "<unprintable>".into())
}

/// All text content of a result, concatenated.
pub fn result_text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(ContentBlock::as_text)
        .map(|t| t.text.as_str())
        .collect()
}

/// Asserts that `actual` is the request `expected` describes.
///
/// # Panics
/// On the first difference, showing expected and actual.
pub fn check_request(tool: &str, expected: &ExpectedRequest, actual: &RecordedRequest) {
    let ctx = format!("tool `{tool}`: upstream request");
    assert!(
        expected.method.eq_ignore_ascii_case(&actual.method),
        "{ctx}: method\n  expected: {}\n    actual: {}",
        expected.method,
        actual.method
    );
    assert_eq!(
        expected.path, actual.path,
        "{ctx}: path\n  expected: {}\n    actual: {}",
        expected.path, actual.path
    );
    assert_eq!(
        expected.query,
        actual.query,
        "{ctx}: query pairs (raw query: {:?})\n  expected: {}\n    actual: {}",
        actual.raw_query,
        pretty(&expected.query),
        pretty(&actual.query)
    );
    for (name, value) in &expected.headers {
        let got = actual.header(name);
        assert_eq!(
            got.as_deref(),
            Some(value.as_str()),
            "{ctx}: header `{name}`\n  expected: {value:?}\n    actual: {got:?}\n  all headers: {:?}",
            actual.headers
        );
    }
    check_body(&ctx, expected.body.as_ref(), actual);
}

fn check_body(ctx: &str, expected: Option<&ExpectedBody>, actual: &RecordedRequest) {
    let ct = actual.content_type.clone().unwrap_or_default();
    let text = String::from_utf8_lossy(&actual.body);
    match expected {
        None => assert!(
            actual.body.is_empty(),
            "{ctx}: expected no body, got {} bytes ({ct}): {text}",
            actual.body.len()
        ),
        Some(ExpectedBody::Json(value)) => {
            let got: Value = serde_json::from_slice(&actual.body).unwrap_or_else(|e| {
                panic!("{ctx}: body is not JSON ({e}); content type {ct:?}: {text}")
            });
            assert_eq!(
                value,
                &got,
                "{ctx}: JSON body\n  expected: {}\n    actual: {}",
                pretty(value),
                pretty(&got)
            );
            assert!(
                ct.contains("json"),
                "{ctx}: JSON body sent with content type {ct:?}"
            );
        }
        Some(ExpectedBody::Form(pairs)) => {
            assert!(
                ct.starts_with("application/x-www-form-urlencoded"),
                "{ctx}: form body sent with content type {ct:?}"
            );
            let got: Vec<(String, String)> = serde_urlencoded::from_bytes(&actual.body)
                .unwrap_or_else(|e| panic!("{ctx}: form body does not decode ({e}): {text}"));
            assert_eq!(
                pairs,
                &got,
                "{ctx}: form body\n  expected: {}\n    actual: {}",
                pretty(pairs),
                pretty(&got)
            );
        }
        Some(ExpectedBody::Multipart(parts)) => check_multipart(ctx, parts, actual),
        Some(ExpectedBody::Text(expected)) => assert_eq!(
            expected, &text,
            "{ctx}: text body\n  expected: {expected:?}\n    actual: {text:?}"
        ),
        Some(ExpectedBody::Base64(b64)) => {
            let want = STANDARD
                .decode(b64)
                .unwrap_or_else(|e| panic!("fixture: request.body.base64 is not base64: {e}"));
            assert_eq!(
                want,
                actual.body,
                "{ctx}: binary body\n  expected: {b64}\n    actual: {}",
                STANDARD.encode(&actual.body)
            );
        }
    }
}

fn check_multipart(ctx: &str, expected: &[ExpectedPart], actual: &RecordedRequest) {
    let ct = actual.content_type.clone().unwrap_or_default();
    let boundary = multipart::boundary(&ct).unwrap_or_else(|| {
        panic!("{ctx}: multipart body sent with content type {ct:?} (no boundary)")
    });
    let parts = multipart::parse(&actual.body, &boundary)
        .unwrap_or_else(|e| panic!("{ctx}: malformed multipart body: {e}"));
    let describe = |name: &str, filename: &Option<String>, ct: &Option<String>, data: &[u8]| {
        let content = match std::str::from_utf8(data) {
            Ok(text) => format!("text {text:?}"),
            Err(_) => format!("base64 {}", STANDARD.encode(data)),
        };
        format!("{name} (filename {filename:?}, content type {ct:?}): {content}")
    };
    let got: Vec<String> = parts
        .iter()
        .map(|p| describe(&p.name, &p.filename, &p.content_type, &p.data))
        .collect();
    let want: Vec<String> = expected
        .iter()
        .map(|p| {
            let data = match (&p.text, &p.base64) {
                (_, Some(b64)) => STANDARD.decode(b64).unwrap_or_else(|e| {
                    panic!("fixture: part `{}` base64 is invalid: {e}", p.name)
                }),
                (Some(text), None) => text.clone().into_bytes(),
                (None, None) => Vec::new(),
            };
            describe(&p.name, &p.filename, &p.content_type, &data)
        })
        .collect();
    assert_eq!(
        want,
        got,
        "{ctx}: multipart parts\n  expected: {}\n    actual: {}",
        pretty(&want),
        pretty(&got)
    );
}

/// Asserts that `actual` is the result `expected` describes.
///
/// # Panics
/// On the first difference, showing expected and actual.
pub fn check_result(tool: &str, expected: &ExpectedResult, actual: &CallToolResult) {
    let ctx = format!("tool `{tool}`: result");
    let shown = pretty(actual);
    assert_eq!(
        actual.is_error.unwrap_or(false),
        expected.is_error,
        "{ctx}: isError\n  expected: {}\n    result: {shown}",
        expected.is_error
    );
    if let Some(structured) = &expected.structured {
        assert_eq!(
            Some(structured),
            actual.structured_content.as_ref(),
            "{ctx}: structuredContent\n  expected: {}\n    result: {shown}",
            pretty(structured)
        );
    }
    let text = result_text(actual);
    if let Some(want) = &expected.text {
        assert_eq!(
            want, &text,
            "{ctx}: text\n  expected: {want:?}\n    actual: {text:?}"
        );
    }
    if let Some(part) = &expected.text_contains {
        assert!(
            text.contains(part.as_str()),
            "{ctx}: text should contain {part:?}\n    actual: {text:?}"
        );
    }
    if let Some(blob) = &expected.blob {
        let found = actual.content.iter().any(|c| match c {
            ContentBlock::Image(i) => i.mime_type == blob.mime_type && i.data == blob.base64,
            ContentBlock::Audio(a) => a.mime_type == blob.mime_type && a.data == blob.base64,
            ContentBlock::Resource(r) => match &r.resource {
                ResourceContents::BlobResourceContents {
                    mime_type,
                    blob: data,
                    ..
                } => mime_type.as_deref() == Some(blob.mime_type.as_str()) && *data == blob.base64,
                _ => false,
            },
            _ => false,
        });
        assert!(
            found,
            "{ctx}: expected a {} blob with data {}\n    result: {shown}",
            blob.mime_type, blob.base64
        );
    }
}
