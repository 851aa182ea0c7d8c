//! Turning an upstream response into the MCP tool result.
//!
//! Owns the rules for what a model and a strict client receive:
//! - 2xx JSON: allowlist, redactions, secret scrubbing, optional wrap, then validation against
//!   the published output schema. Valid: `structuredContent` plus the same JSON as text.
//!   Invalid: the deliberate fallback, `isError: true` with a note naming the first violations
//!   and the shaped JSON as text, so no client ever gets structured content that breaks the
//!   published contract.
//! - 2xx body that parses as JSON but is labelled otherwise (or not at all): read as JSON when
//!   the content type is missing or the tool publishes an output schema.
//! - 2xx text: text content. 2xx other media: image or audio content for `image/*` and
//!   `audio/*`, else an embedded resource blob (base64) with its media type. When the tool
//!   publishes an output schema, a non-JSON 2xx body breaks it: the fallback applies.
//! - 2xx without a body (e.g. 204): text `HTTP 204 No Content`. When the tool publishes an
//!   output schema, the empty object (`{ <wrap>: null }` for wrapped outputs) is returned as
//!   structured content if the schema accepts it; otherwise the fallback applies, with a note
//!   that the call itself succeeded, so a model does not retry a write.
//! - Non-2xx: `isError: true`, `upstream returned HTTP <code> <reason>` and the body (JSON
//!   bodies redacted), truncated to about 4 KiB.
//! - A response cut off at the size limit: with an output schema, `isError: true` with a note
//!   and the partial text (partial JSON cannot be structured content); without one, the partial
//!   text with a note. Partial JSON of a tool with an allowlist or redactions is never shown
//!   (the rules cannot be applied to JSON that does not parse), nor is partial binary data.
//!
//! Every text leaving here has the server's credential values replaced by `[REDACTED]`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Map, Value};

use crate::audit::Outcome;
use crate::shape::{self, REDACTED};
use crate::spec::OutputSpec;
use crate::upstream::UpstreamResponse;
use crate::validate::{self, SchemaValidator};

/// Bytes of an error body included in an error result.
pub const ERROR_BODY_LIMIT: usize = 4 * 1024;

/// Violations listed in a mismatch note.
const MAX_VIOLATIONS: usize = 5;

/// A tool result with how the call ended, for the audit log.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// What the client receives.
    pub result: CallToolResult,
    /// The audit outcome.
    pub outcome: Outcome,
    /// Value-free detail for the audit line.
    pub detail: Option<String>,
}

impl Shaped {
    /// An `isError` result with one text block.
    pub fn error(outcome: Outcome, text: impl Into<String>, detail: Option<String>) -> Self {
        Shaped {
            result: CallToolResult::error(vec![ContentBlock::text(text)]),
            outcome,
            detail,
        }
    }

    fn ok(result: CallToolResult) -> Self {
        Shaped {
            result,
            outcome: Outcome::Ok,
            detail: None,
        }
    }
}

/// Shortest secret value the [`Scrubber`] replaces.
pub const MIN_SCRUBBED_LEN: usize = 6;

/// Replaces known secret values in text and JSON strings.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// A scrubber for these values; values shorter than [`MIN_SCRUBBED_LEN`] characters are
    /// ignored (replacing them would mangle ordinary text without protecting anything).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SCRUBBED_LEN)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Scrubber { secrets }
    }

    /// A copy that also replaces `more` (the tokens of one call).
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> Scrubber {
        Scrubber::new(self.secrets.iter().cloned().chain(more))
    }

    /// The text with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// The text with every secret replaced wherever it occurs in any ASCII case: for text an
    /// upstream wrote into a URL, whose host the URL parser lower-cases.
    pub fn text_ignoring_case(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            let needle = secret.to_ascii_lowercase();
            let mut from = 0;
            // ASCII lower-casing keeps every byte offset, so positions found in the lower-cased
            // text are positions in `out`.
            while let Some(at) = out.to_ascii_lowercase()[from..].find(&needle) {
                let at = from + at;
                out.replace_range(at..at + needle.len(), REDACTED);
                from = at + REDACTED.len();
            }
        }
        out
    }

    /// Scrubs every string (and member name) in a JSON value.
    pub fn value(&self, value: &mut Value) {
        if self.secrets.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(members) => {
                let old = std::mem::take(members);
                for (k, mut v) in old {
                    self.value(&mut v);
                    members.insert(self.text(&k), v);
                }
            }
            _ => {}
        }
    }
}

/// What a tool's results must look like, prepared once.
#[derive(Debug)]
pub struct ResultPlan<'a> {
    /// The tool's output rules.
    pub output: &'a OutputSpec,
    /// The compiled output schema, when the tool publishes one.
    pub validator: Option<&'a SchemaValidator>,
    /// Secret values to scrub.
    pub scrubber: &'a Scrubber,
    /// URI given to binary results embedded as resources.
    pub resource_uri: &'a str,
}

fn media_type(content_type: Option<&str>) -> Option<String> {
    content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json") || media == "text/json"
}

fn is_text(media: &str) -> bool {
    media.starts_with("text/")
        || media.ends_with("+xml")
        || matches!(
            media,
            "application/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/csv"
                | "application/x-ndjson"
        )
}

/// Cuts text to about `limit` bytes on a character boundary, saying how much was left out.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… (truncated; {} bytes in total)",
        &text[..end],
        text.len()
    )
}

impl ResultPlan<'_> {
    /// The result for a response that arrived.
    pub fn shape(&self, response: &UpstreamResponse) -> Shaped {
        let status_line = format!("HTTP {} {}", response.status, response.reason())
            .trim_end()
            .to_owned();
        if response.truncated {
            return self.truncated(response, &status_line);
        }
        if !response.is_success() {
            return self.upstream_error(response, &status_line);
        }
        if response.body.is_empty() {
            return self.empty(&status_line);
        }
        let media = media_type(response.content_type.as_deref());
        let json = match media.as_deref() {
            Some(m) if is_json(m) => true,
            // A body that parses as JSON is read as JSON when the content type is missing, or
            // when the tool publishes an output schema (upstreams often mislabel JSON as
            // text/plain or application/octet-stream).
            None => serde_json::from_slice::<Value>(&response.body).is_ok(),
            Some(_) => {
                self.validator.is_some() && serde_json::from_slice::<Value>(&response.body).is_ok()
            }
        };
        if json {
            return match serde_json::from_slice::<Value>(&response.body) {
                Ok(value) => self.json(value, &status_line),
                Err(e) => Shaped::error(
                    Outcome::InvalidResponse,
                    format!(
                        "The upstream call succeeded ({status_line}) but its response is not \
                         valid JSON: {e}"
                    ),
                    Some(format!("invalid JSON: {e}")),
                ),
            };
        }
        let media = media.unwrap_or_else(|| {
            if std::str::from_utf8(&response.body).is_ok() {
                "text/plain".into()
            } else {
                "application/octet-stream".into()
            }
        });
        let textual = is_text(&media);
        if self.validator.is_some() {
            let shown = if textual {
                self.scrubber.text(&truncate(
                    &String::from_utf8_lossy(&response.body),
                    ERROR_BODY_LIMIT,
                ))
            } else {
                format!("({} bytes of binary data)", response.body.len())
            };
            return Shaped::error(
                Outcome::OutputMismatch,
                format!(
                    "The upstream call succeeded ({status_line}), but it returned {media} \
                     instead of the JSON this tool's output schema describes.\n\n{shown}"
                ),
                Some(format!("expected JSON, got {media}")),
            );
        }
        if textual {
            let text = self.scrubber.text(&String::from_utf8_lossy(&response.body));
            return Shaped::ok(CallToolResult::success(vec![ContentBlock::text(text)]));
        }
        let data = STANDARD.encode(&response.body);
        let block = if media.starts_with("image/") {
            ContentBlock::image(data, media)
        } else if media.starts_with("audio/") {
            ContentBlock::audio(data, media)
        } else {
            ContentBlock::resource(
                ResourceContents::blob(data, self.resource_uri).with_mime_type(media),
            )
        };
        Shaped::ok(CallToolResult::success(vec![block]))
    }

    fn truncated(&self, response: &UpstreamResponse, status_line: &str) -> Shaped {
        let limit = response.body.len();
        let media = media_type(response.content_type.as_deref()).unwrap_or_default();
        let utf8 = std::str::from_utf8(&response.body).is_ok()
            || std::str::from_utf8(&response.body[..limit.saturating_sub(3)]).is_ok();
        let first = response.body.iter().find(|b| !b.is_ascii_whitespace());
        let json_like = is_json(&media) || (media.is_empty() && matches!(first, Some(b'{' | b'[')));
        let textual = is_json(&media) || is_text(&media) || (media.is_empty() && utf8);
        let shaped_json = !self.output.allow.is_empty() || !self.output.redact.is_empty();
        let shown = (textual && !(json_like && shaped_json))
            .then(|| self.scrubber.text(&String::from_utf8_lossy(&response.body)));
        let note = format!(
            "[The upstream response was larger than the limit of {limit} bytes and was cut off \
             there.]"
        );
        let detail = Some(format!("response cut off at {limit} bytes"));
        if response.is_success()
            && self.validator.is_none()
            && let Some(text) = &shown
        {
            return Shaped {
                result: CallToolResult::success(vec![ContentBlock::text(format!(
                    "{text}\n\n{note}"
                ))]),
                outcome: Outcome::ResponseTruncated,
                detail,
            };
        }
        let mut text = if response.is_success() {
            format!(
                "The upstream call succeeded ({status_line}), but its response was larger than \
                 the limit of {limit} bytes, so it was cut off and cannot be returned as this \
                 tool's structured result. Narrow the request (filters, paging) to get less data."
            )
        } else {
            format!("upstream returned {status_line}\n{note}")
        };
        match shown {
            Some(partial) => {
                text.push_str("\n\nThe first part of the response:\n");
                text.push_str(&partial);
            }
            None if textual => text.push_str(
                "\n(The partial response is not shown: this tool's field rules cannot be \
                 applied to incomplete JSON.)",
            ),
            None => text.push_str("\n(The partial binary data is not shown.)"),
        }
        Shaped::error(Outcome::ResponseTruncated, text, detail)
    }

    fn upstream_error(&self, response: &UpstreamResponse, status_line: &str) -> Shaped {
        let media = media_type(response.content_type.as_deref()).unwrap_or_default();
        let body = match serde_json::from_slice::<Value>(&response.body) {
            Ok(mut value) if is_json(&media) || media.is_empty() => {
                shape::redact(&mut value, self.output.redact);
                self.scrubber.value(&mut value);
                value.to_string()
            }
            _ => self.scrubber.text(&String::from_utf8_lossy(&response.body)),
        };
        let mut text = format!("upstream returned {status_line}");
        if !body.trim().is_empty() {
            text.push('\n');
            text.push_str(&self.scrubber.text(&truncate(body.trim(), ERROR_BODY_LIMIT)));
        }
        Shaped::error(Outcome::UpstreamError, text, None)
    }

    fn empty(&self, status_line: &str) -> Shaped {
        let Some(validator) = self.validator else {
            return Shaped::ok(CallToolResult::success(vec![ContentBlock::text(
                status_line,
            )]));
        };
        let candidate = match self.output.wrap {
            Some(key) => Value::Object(Map::from_iter([(key.to_owned(), Value::Null)])),
            None => Value::Object(Map::new()),
        };
        if validator.check(&candidate).is_ok() {
            return Shaped::ok(CallToolResult::structured(candidate));
        }
        Shaped::error(
            Outcome::OutputMismatch,
            format!(
                "The upstream call succeeded ({status_line}) but sent no body, while this \
                 tool's output schema describes one. The operation was carried out; there is \
                 no data to return."
            ),
            Some("empty body with an output schema".into()),
        )
    }

    fn json(&self, value: Value, status_line: &str) -> Shaped {
        let mut value = shape::allow(value, self.output.allow);
        shape::redact(&mut value, self.output.redact);
        self.scrubber.value(&mut value);
        let value = match self.output.wrap {
            Some(key) => Value::Object(Map::from_iter([(key.to_owned(), value)])),
            None => value,
        };
        let Some(validator) = self.validator else {
            return Shaped::ok(if value.is_object() {
                CallToolResult::structured(value)
            } else {
                CallToolResult::success(vec![ContentBlock::text(value.to_string())])
            });
        };
        match validator.check(&value) {
            Ok(()) => Shaped::ok(CallToolResult::structured(value)),
            Err(violations) => {
                let mut schema_paths: Vec<&str> =
                    violations.iter().map(|v| v.schema_path.as_str()).collect();
                schema_paths.dedup();
                schema_paths.truncate(MAX_VIOLATIONS);
                Shaped::error(
                    Outcome::OutputMismatch,
                    format!(
                        "The upstream call succeeded ({status_line}), but the upstream response \
                         did not match this tool's published output schema, so it is returned \
                         as text instead of structured content.\nSchema violations:\n{}\n\n\
                         Response:\n{value}",
                        validate::describe(&violations, MAX_VIOLATIONS)
                    ),
                    Some(format!(
                        "{} output schema violation(s) at schema paths {}",
                        violations.len(),
                        schema_paths.join(", ")
                    )),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{RedactAction, RedactionSpec};
    use serde_json::json;

    static PETS_OUT: OutputSpec = OutputSpec {
        schema: Some(""),
        wrap: Some("items"),
        allow: &["/*/id", "/*/name", "/*/card"],
        redact: &[RedactionSpec {
            path: "/*/card",
            action: RedactAction::Mask { keep_last: 4 },
        }],
    };
    static PLAIN_OUT: OutputSpec = OutputSpec {
        schema: None,
        wrap: None,
        allow: &[],
        redact: &[],
    };

    fn schema() -> SchemaValidator {
        SchemaValidator::compile(&json!({
            "type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": {
                "type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}}}
        }))
        .unwrap()
    }

    fn response(status: u16, ct: Option<&str>, body: &[u8]) -> UpstreamResponse {
        UpstreamResponse {
            status,
            content_type: ct.map(str::to_owned),
            body: body.to_vec(),
            truncated: false,
        }
    }

    fn cut(status: u16, ct: Option<&str>, body: &[u8]) -> UpstreamResponse {
        UpstreamResponse {
            truncated: true,
            ..response(status, ct, body)
        }
    }

    #[test]
    fn truncated_responses_say_so_and_never_bypass_field_rules() {
        // An output schema: an error with the partial text.
        let v = schema();
        let s = shape(
            &PLAIN_OUT,
            Some(&v),
            cut(200, Some("application/json"), br#"{"items":[{"id":1},{"id"#),
        );
        assert_eq!(s.outcome, Outcome::ResponseTruncated);
        assert_eq!(s.result.is_error, Some(true));
        assert_eq!(s.result.structured_content, None);
        let text = text_of(&s.result);
        assert!(
            text.contains("larger than the limit of 23 bytes")
                && text.contains(r#"{"items":[{"id":1}"#),
            "{text}"
        );
        // No output schema, text: the text with a note, not an error.
        let s = shape(
            &PLAIN_OUT,
            None,
            cut(200, Some("text/plain"), b"line 1\nline 2 sk-live-123456"),
        );
        assert_eq!(s.result.is_error, Some(false));
        let text = text_of(&s.result);
        assert!(
            text.starts_with("line 1\nline 2 [REDACTED]") && text.ends_with("cut off there.]"),
            "{text}"
        );
        // Field rules (allowlist, redactions) cannot apply to partial JSON: nothing is shown.
        let s = shape(
            &PETS_OUT,
            None,
            cut(
                200,
                Some("application/json"),
                br#"[{"id":1,"card":"4111111111111111","na"#,
            ),
        );
        let text = text_of(&s.result);
        assert_eq!(s.result.is_error, Some(true));
        assert!(
            !text.contains("4111") && text.contains("not shown"),
            "{text}"
        );
        // Binary: not shown.
        let s = shape(
            &PLAIN_OUT,
            None,
            cut(200, Some("image/png"), &[0x89, 0x50, 0, 1]),
        );
        assert!(
            s.result.is_error == Some(true)
                && text_of(&s.result).contains("binary data is not shown")
        );
        // An error status keeps its status line.
        let s = shape(&PLAIN_OUT, None, cut(500, Some("text/plain"), b"boom boom"));
        assert!(text_of(&s.result).starts_with("upstream returned HTTP 500 Internal Server Error"));
    }

    fn text_of(result: &CallToolResult) -> String {
        result
            .content
            .iter()
            .filter_map(|c| c.as_text())
            .map(|t| t.text.clone())
            .collect()
    }

    fn shape(
        output: &OutputSpec,
        validator: Option<&SchemaValidator>,
        r: UpstreamResponse,
    ) -> Shaped {
        let scrubber = Scrubber::new(["sk-live-123456".to_owned(), "abcde".to_owned()]);
        ResultPlan {
            output,
            validator,
            scrubber: &scrubber,
            resource_uri: "mcpgen://pets/x",
        }
        .shape(&r)
    }

    #[test]
    fn json_is_shaped_wrapped_and_validated() {
        let v = schema();
        let body = br#"[{"id":1,"name":"Rex","card":"4111111111111111","owner":"x"}]"#;
        let s = shape(
            &PETS_OUT,
            Some(&v),
            response(200, Some("application/json; charset=utf-8"), body),
        );
        assert_eq!(s.outcome, Outcome::Ok);
        assert_eq!(s.result.is_error, Some(false));
        let expected = json!({"items": [{"id": 1, "name": "Rex", "card": "****1111"}]});
        assert_eq!(s.result.structured_content, Some(expected.clone()));
        assert_eq!(
            serde_json::from_str::<Value>(&text_of(&s.result)).unwrap(),
            expected
        );
    }

    #[test]
    fn a_response_breaking_the_schema_falls_back_to_error_text() {
        let v = schema();
        let body = br#"[{"id":"one","name":"Rex","card":"4111111111111111"}]"#;
        let s = shape(
            &PETS_OUT,
            Some(&v),
            response(200, Some("application/vnd.api+json"), body),
        );
        assert_eq!(s.outcome, Outcome::OutputMismatch);
        assert_eq!(s.result.is_error, Some(true));
        assert_eq!(s.result.structured_content, None);
        let text = text_of(&s.result);
        assert!(
            text.contains("did not match this tool's published output schema"),
            "{text}"
        );
        assert!(text.contains("/items/0/id"), "{text}");
        assert!(
            text.contains("****1111") && !text.contains("4111111111111111"),
            "{text}"
        );
        let detail = s.detail.unwrap();
        assert!(
            detail.contains("/properties/items") && !detail.contains("one"),
            "{detail}"
        );
    }

    #[test]
    fn without_a_schema_objects_are_structured_and_others_text() {
        let s = shape(
            &PLAIN_OUT,
            None,
            response(200, None, br#"{"a":"sk-live-123456"}"#),
        );
        assert_eq!(s.result.structured_content, Some(json!({"a": REDACTED})));
        let s = shape(
            &PLAIN_OUT,
            None,
            response(201, Some("application/json"), b"[1,2]"),
        );
        assert_eq!(s.result.structured_content, None);
        assert_eq!(text_of(&s.result), "[1,2]");
        let s = shape(
            &PLAIN_OUT,
            None,
            response(200, Some("application/json"), b"{nope"),
        );
        assert_eq!(s.outcome, Outcome::InvalidResponse);
        assert_eq!(s.result.is_error, Some(true));
    }

    #[test]
    fn text_binary_and_images() {
        let s = shape(
            &PLAIN_OUT,
            None,
            response(200, Some("text/csv"), b"a,b\n1,2"),
        );
        assert_eq!(
            (s.outcome, text_of(&s.result)),
            (Outcome::Ok, "a,b\n1,2".into())
        );
        let s = shape(
            &PLAIN_OUT,
            None,
            response(200, Some("application/pdf"), &[0x25, 0x50, 0xff]),
        );
        let json = serde_json::to_value(&s.result).unwrap();
        assert_eq!(
            json["content"][0],
            json!({"type": "resource", "resource": {"uri": "mcpgen://pets/x", "mimeType": "application/pdf", "blob": "JVD/"}})
        );
        let s = shape(
            &PLAIN_OUT,
            None,
            response(200, Some("image/png"), &[1, 2, 3]),
        );
        let json = serde_json::to_value(&s.result).unwrap();
        assert_eq!(
            json["content"][0],
            json!({"type": "image", "data": "AQID", "mimeType": "image/png"})
        );
        // With an output schema, anything but JSON breaks the contract.
        let v = schema();
        let s = shape(
            &PETS_OUT,
            Some(&v),
            response(200, Some("text/html"), b"<p>hi</p>"),
        );
        assert_eq!(s.outcome, Outcome::OutputMismatch);
        assert!(text_of(&s.result).contains("<p>hi</p>"));
        // ... unless the body is JSON under the wrong label.
        let s = shape(
            &PETS_OUT,
            Some(&v),
            response(200, Some("text/plain"), br#"[{"id":3}]"#),
        );
        assert_eq!(
            s.result.structured_content,
            Some(json!({"items": [{"id": 3}]}))
        );
        // Without a schema, a text label is believed.
        let s = shape(
            &PLAIN_OUT,
            None,
            response(200, Some("text/plain"), br#"{"id":3}"#),
        );
        assert_eq!(s.result.structured_content, None);
        assert_eq!(text_of(&s.result), r#"{"id":3}"#);
    }

    #[test]
    fn empty_bodies() {
        let s = shape(&PLAIN_OUT, None, response(204, None, b""));
        assert_eq!(
            (s.outcome, text_of(&s.result)),
            (Outcome::Ok, "HTTP 204 No Content".into())
        );
        assert_eq!(s.result.is_error, Some(false));
        // A schema that requires a body: the fallback, saying the call succeeded.
        let v = schema();
        let s = shape(&PETS_OUT, Some(&v), response(204, None, b""));
        assert_eq!(s.outcome, Outcome::OutputMismatch);
        assert!(text_of(&s.result).contains("The operation was carried out"));
        // A schema that accepts the empty object: structured `{}`.
        let lenient = SchemaValidator::compile(&json!({"type": "object"})).unwrap();
        let s = shape(
            &PLAIN_OUT,
            Some(&lenient),
            response(200, Some("application/json"), b""),
        );
        assert_eq!(s.result.structured_content, Some(json!({})));
    }

    #[test]
    fn upstream_errors_are_tool_errors_with_a_redacted_truncated_body() {
        let s = shape(
            &PLAIN_OUT,
            None,
            response(404, Some("application/json"), br#"{"error":"no pet"}"#),
        );
        assert_eq!(s.outcome, Outcome::UpstreamError);
        assert_eq!(s.result.is_error, Some(true));
        assert_eq!(
            text_of(&s.result),
            "upstream returned HTTP 404 Not Found\n{\"error\":\"no pet\"}"
        );
        let big = format!("key sk-live-123456 {}", "x".repeat(10_000));
        let s = shape(
            &PLAIN_OUT,
            None,
            response(500, Some("text/plain"), big.as_bytes()),
        );
        let text = text_of(&s.result);
        assert!(
            text.starts_with("upstream returned HTTP 500 Internal Server Error\nkey [REDACTED] x")
        );
        assert!(
            text.len() < 4300 && text.contains("truncated"),
            "{}",
            text.len()
        );
        assert!(!text.contains("sk-live"));
        let s = shape(&PLAIN_OUT, None, response(599, None, b""));
        assert_eq!(text_of(&s.result), "upstream returned HTTP 599");
    }

    #[test]
    fn scrubber_replaces_secrets_in_text_values_and_keys() {
        let scrubber = Scrubber::new(["abcde".into(), "token-1".into(), "token-12".into()]);
        assert_eq!(
            scrubber.text("x token-12 token-1 abcde"),
            "x [REDACTED] [REDACTED] abcde"
        );
        let mut v = json!({"token-1": ["a token-1", 5], "k": {"n": "token-12"}});
        scrubber.value(&mut v);
        assert_eq!(
            v,
            json!({"[REDACTED]": ["a [REDACTED]", 5], "k": {"n": "[REDACTED]"}})
        );
    }

    #[test]
    fn scrubbing_can_ignore_case() {
        let scrubber = Scrubber::new(["Key-AbC123".into(), "[REDACTED]x".into()]);
        assert_eq!(
            scrubber.text_ignoring_case("https://key-abc123.evil.test/KEY-ABC123/é/key-abc12"),
            "https://[REDACTED].evil.test/[REDACTED]/é/key-abc12"
        );
        // A secret that the replacement itself would spell again is not looked for inside it.
        assert_eq!(scrubber.text_ignoring_case("[redacted]x"), "[REDACTED]");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h… (truncated; 6 bytes in total)");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
