//! Turning an upstream answer into the MCP tool result.
//!
//! `isError: true` means one of three things: the upstream said no (a non-2xx status), the
//! server refused the call, or the call could not complete. A 2xx answer is therefore always a
//! success, and the result says what of it can be shown:
//!
//! | 2xx answer | `structuredContent` (tools with an output schema) | text blocks |
//! |---|---|---|
//! | JSON matching the schema | the shaped value | the same JSON |
//! | JSON that drifted from the schema | the shaped value pruned until it conforms ([`conform`]) | the whole shaped JSON, then a note naming the drifted paths |
//! | over the result budget | cut to fit ([`budget`]), still conforming | the JSON cut to fit, then a note: what was left out, which arguments page or filter |
//! | no body, or `null` | `{}` | the status line |
//! | not JSON, for a tool with field rules (allowlist, redactions) | `{}` | what arrived and how big, never its content |
//! | not JSON, no field rules | `{}` | text as text, images and audio as such, other media as an embedded resource; with an output schema, a note that JSON was expected |
//! | larger than the response size limit | `{}` | a note, and the first part as text when no field rule applies |
//!
//! "Shaped" is the allowlist, then redactions, then members named like the ones those rules
//! remove taken out wherever the schema does not name them ([`names::remove_named`]), then
//! secret values scrubbed. Without an output schema, JSON objects are structured content too.
//!
//! Non-2xx: `isError: true`, `upstream returned HTTP <code> <reason>` and the body cut to about
//! [`ERROR_BODY_LIMIT`] bytes. For a tool with field rules, a JSON body passes the redactions
//! and the name rules ([`crate::spec::NameRules`]: with an allowlist, only allowed and common
//! error member names survive), and any other body is left out.
//!
//! Every text leaving here has the server's credential values replaced by `[REDACTED]`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Map, Value};

use crate::observe::audit::Outcome;
use crate::request::upstream::UpstreamResponse;
use crate::response::budget::{self, Cut};
use crate::response::scrub::Scrubber;
use crate::response::{conform, names, shape};
use crate::spec::OutputSpec;
use crate::support::media::{essence, is_json, is_text};
use crate::support::validate::SchemaValidator;

/// Bytes of an error body included in an error result.
pub const ERROR_BODY_LIMIT: usize = 4 * 1024;

/// Longest media type repeated in a result.
const MAX_MEDIA_CHARS: usize = 100;

/// Drifted paths named in a note or an audit line.
const MAX_NAMED_PATHS: usize = 8;

/// A tool result with how the call ended, for the audit log and metrics.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// What the client receives.
    pub result: CallToolResult,
    /// The audit outcome.
    pub outcome: Outcome,
    /// Value-free detail for the audit line.
    pub detail: Option<String>,
    /// Where a 2xx answer drifted from the published output schema (generalised paths).
    pub drift: Vec<String>,
}

impl Shaped {
    /// An `isError` result with one text block.
    pub fn error(outcome: Outcome, text: impl Into<String>, detail: Option<String>) -> Self {
        Shaped {
            result: CallToolResult::error(vec![ContentBlock::text(text)]),
            outcome,
            detail,
            drift: Vec::new(),
        }
    }
}

/// What a tool's results must look like, prepared once per tool.
#[derive(Debug)]
pub struct ResultPlan<'a> {
    /// The tool's output rules.
    pub output: &'a OutputSpec,
    /// The compiled output schema, when the tool publishes one.
    pub validator: Option<&'a SchemaValidator>,
    /// The published output schema itself (with its `$defs`).
    pub schema: Option<&'a Map<String, Value>>,
    /// Secret values to scrub.
    pub scrubber: &'a Scrubber,
    /// URI given to binary results embedded as resources.
    pub resource_uri: &'a str,
    /// The result budget, in tokens.
    pub max_result_tokens: u32,
}

/// Cuts text to about `limit` bytes on a character boundary, saying how much was left out.
pub fn truncate(text: &str, limit: usize) -> String {
    match budget::fit_text(text, limit) {
        None => text.to_owned(),
        Some((kept, _)) => format!("{kept}… (truncated; {} bytes in total)", text.len()),
    }
}

/// `HTTP 200 OK`, or `HTTP 599` for a status without a reason phrase.
fn status_line(response: &UpstreamResponse) -> String {
    format!("HTTP {} {}", response.status, response.reason())
        .trim_end()
        .to_owned()
}

/// A size in words: `1,234 bytes`.
fn bytes(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out} bytes")
}

/// How a 2xx body reads.
enum Body {
    Json(Value),
    BadJson(serde_json::Error),
    Other(String),
}

impl ResultPlan<'_> {
    /// The result for an answer that arrived.
    pub fn shape(&self, response: &UpstreamResponse) -> Shaped {
        let status = status_line(response);
        if !response.is_success() {
            return self.upstream_error(response, &status);
        }
        if response.truncated {
            return self.too_large(response, &status);
        }
        if response.body.is_empty() {
            return self.nothing(&status);
        }
        match self.read(response) {
            Body::Json(Value::Null) => self.nothing(&format!("{status} (body: null)")),
            Body::Json(value) => self.json(value),
            Body::BadJson(e) if !self.has_field_rules() => {
                let text = self.scrubber.text(&String::from_utf8_lossy(&response.body));
                let mut shaped = self.text(&text, Outcome::InvalidResponse);
                shaped.detail = Some(format!("body labelled JSON does not parse: {e}"));
                shaped.result.content.push(ContentBlock::text(format!(
                    "Note: the upstream answered {status} with a body labelled JSON that does \
                     not parse ({e}); it is shown as text."
                )));
                shaped
            }
            Body::BadJson(_) => self.withheld(response, &status, "JSON that does not parse"),
            Body::Other(media) if self.has_field_rules() => {
                self.withheld(response, &status, &media)
            }
            Body::Other(media) => self.other_media(response, &media),
        }
    }

    /// Whether the tool has an allowlist or redactions, which apply to JSON only.
    fn has_field_rules(&self) -> bool {
        !self.output.allow.is_empty() || !self.output.redact.is_empty()
    }

    /// How the body reads: JSON when labelled so, or when unlabelled (or the tool expects JSON)
    /// and it parses; upstreams often mislabel JSON as text/plain or octet-stream.
    fn read(&self, response: &UpstreamResponse) -> Body {
        let media = response.content_type.as_deref().map(essence);
        match media {
            Some(m) if is_json(&m) => match serde_json::from_slice(&response.body) {
                Ok(value) => Body::Json(value),
                Err(e) => Body::BadJson(e),
            },
            other => {
                let try_json = other.is_none() || self.schema.is_some() || self.has_field_rules();
                if try_json && let Ok(value) = serde_json::from_slice(&response.body) {
                    return Body::Json(value);
                }
                Body::Other(other.unwrap_or_else(|| {
                    if std::str::from_utf8(&response.body).is_ok() {
                        "text/plain".into()
                    } else {
                        "application/octet-stream".into()
                    }
                }))
            }
        }
    }

    /// A successful result: `structured` (or `{}` when the tool publishes an output schema and
    /// there is nothing to structure) and the content blocks.
    fn success(&self, structured: Option<Value>, content: Vec<ContentBlock>) -> Shaped {
        let mut result = CallToolResult::success(content);
        result.structured_content = match structured {
            Some(value) => Some(value),
            None if self.validator.is_some() => Some(Value::Object(Map::new())),
            None => None,
        };
        Shaped {
            result,
            outcome: Outcome::Ok,
            detail: None,
            drift: Vec::new(),
        }
    }

    /// No body, or a `null` one: a success that says so.
    fn nothing(&self, status: &str) -> Shaped {
        let mut shaped = self.success(None, vec![ContentBlock::text(status)]);
        shaped.detail = Some("no body".into());
        shaped
    }

    /// A 2xx body the tool's field rules cannot be applied to: what arrived, not its content.
    fn withheld(&self, response: &UpstreamResponse, status: &str, what: &str) -> Shaped {
        // The media type is upstream text too.
        let what = &self
            .scrubber
            .text(&crate::observe::audit::cut(what, MAX_MEDIA_CHARS));
        let mut shaped = self.success(
            None,
            vec![ContentBlock::text(format!(
                "The upstream answered {status} with {} of {what}. It is not shown: this tool's \
                 field rules (an allowlist or redactions) apply to JSON only.",
                bytes(response.body.len())
            ))],
        );
        shaped.outcome = Outcome::Withheld;
        shaped.detail = Some(format!(
            "{} of {what} not shown",
            bytes(response.body.len())
        ));
        shaped
    }

    /// Text cut to the result budget, with a note when cut.
    fn text(&self, text: &str, outcome: Outcome) -> Shaped {
        let limit = budget::bytes_for_tokens(self.max_result_tokens);
        let mut content = Vec::new();
        let mut detail = None;
        match budget::fit_text(text, limit) {
            None => content.push(ContentBlock::text(text)),
            Some((kept, total)) => {
                content.push(ContentBlock::text(kept));
                content.push(ContentBlock::text(format!(
                    "Note: this text was cut to fit about {} tokens: {} of {total} characters \
                     shown. {}",
                    self.max_result_tokens,
                    kept.chars().count(),
                    self.narrowing()
                )));
                detail = Some("text cut to the result budget".to_owned());
            }
        }
        let mut shaped = self.success(None, content);
        shaped.outcome = if detail.is_some() && outcome == Outcome::Ok {
            Outcome::ResultCut
        } else {
            outcome
        };
        shaped.detail = detail;
        shaped
    }

    /// A 2xx body of another media type, for a tool without field rules.
    fn other_media(&self, response: &UpstreamResponse, media: &str) -> Shaped {
        let mut shaped = if is_text(media) {
            self.text(
                &self.scrubber.text(&String::from_utf8_lossy(&response.body)),
                Outcome::Ok,
            )
        } else if self.scrubber.found_in(&response.body) {
            self.success(
                None,
                vec![ContentBlock::text(format!(
                    "The upstream answered with {} of {media}. It is not shown: it holds a \
                     credential of this server.",
                    bytes(response.body.len())
                ))],
            )
        } else {
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
            self.success(None, vec![block])
        };
        if self.schema.is_some() {
            shaped.result.content.push(ContentBlock::text(format!(
                "Note: this tool's output schema describes JSON, but the upstream sent {media}; \
                 structuredContent is empty and the answer is above."
            )));
            shaped.outcome = Outcome::OutputDrift;
            shaped.drift = vec![String::new()];
            shaped.detail = Some(format!("{media} instead of JSON"));
        }
        shaped
    }

    /// A JSON answer: shaped, made to conform, cut to the budget.
    fn json(&self, value: Value) -> Shaped {
        let mut value = shape::allow(value, self.output.allow);
        shape::redact(&mut value, self.output.redact);
        let mut value = match self.output.wrap {
            Some(key) => Value::Object(Map::from_iter([(key.to_owned(), value)])),
            None => value,
        };
        if self.has_field_rules() {
            let drop = self.output.names.drop;
            let explicit = self.explicit(self.output.wrap);
            names::remove_named(
                self.schema,
                &mut value,
                &|name| drop.contains(&name),
                &explicit,
            );
        }
        self.scrubber.value(&mut value);

        // `shown` is the structured content; `whole`, when set, the text (the answer drifted).
        let (mut shown, mut whole, drift) = match (self.validator, self.schema) {
            (Some(validator), Some(schema)) if !validator.is_valid(&value) => {
                match conform::conform(schema, &value) {
                    Some(conformed) => (Some(conformed.value), Some(value), conformed.drift),
                    None => (None, Some(value), vec![String::new()]),
                }
            }
            (Some(_), _) => (Some(value), None, Vec::new()),
            (None, _) if value.is_object() => (Some(value), None, Vec::new()),
            (None, _) => (None, Some(value), Vec::new()),
        };

        let limit = budget::bytes_for_tokens(self.max_result_tokens);
        let mut cuts = shown
            .as_mut()
            .map(|v| budget::fit(v, limit))
            .unwrap_or_default();
        if let Some(whole) = whole.as_mut() {
            cuts = budget::fit(whole, limit);
        }
        // The last line of defence: structured content must validate, whatever happened above.
        if let (Some(validator), Some(value)) = (self.validator, shown.as_ref())
            && !validator.is_valid(value)
        {
            let empty = Value::Object(Map::new());
            if !validator.is_valid(&empty) {
                return Shaped::error(
                    Outcome::OutputMismatch,
                    "The upstream call succeeded, but this tool's output schema accepts no \
                     result the server can build; the answer is not shown.",
                    Some("output schema rejects the empty object".into()),
                );
            }
            whole.get_or_insert_with(|| value.clone());
            shown = Some(empty);
        }

        let text = match (&whole, &shown) {
            (Some(whole), _) => whole.to_string(),
            (None, Some(shown)) => shown.to_string(),
            (None, None) => String::new(),
        };
        let mut content = vec![ContentBlock::text(text)];
        let mut detail = Vec::new();
        if !drift.is_empty() {
            content.push(ContentBlock::text(drift_note(&drift)));
            detail.push(format!("output drift at {}", named(&drift)));
        }
        if !cuts.is_empty() {
            content.push(ContentBlock::text(self.cut_note(&cuts)));
            detail.push(format!("cut to {} tokens", self.max_result_tokens));
        }
        let mut shaped = self.success(shown, content);
        shaped.outcome = if !drift.is_empty() {
            Outcome::OutputDrift
        } else if !cuts.is_empty() {
            Outcome::ResultCut
        } else {
            Outcome::Ok
        };
        shaped.detail = (!detail.is_empty()).then(|| detail.join("; "));
        shaped.drift = drift;
        shaped
    }

    /// The positions the tool's allowlist and redactions name, under `wrap`.
    fn explicit(&self, wrap: Option<&str>) -> names::Explicit {
        let redact: Vec<&str> = self.output.redact.iter().map(|r| r.path).collect();
        names::Explicit::new(wrap, self.output.allow, &redact)
    }

    /// What to call next to see the rest of a cut result.
    fn narrowing(&self) -> String {
        if self.output.narrow_with.is_empty() {
            return "To see the rest, narrow the request.".to_owned();
        }
        let names: Vec<String> = self
            .output
            .narrow_with
            .iter()
            .map(|n| format!("`{n}`"))
            .collect();
        format!(
            "To see the rest, call again with {} to page or narrow it.",
            names.join(", ")
        )
    }

    fn cut_note(&self, cuts: &[Cut]) -> String {
        let mut what: Vec<String> = cuts
            .iter()
            .take(MAX_NAMED_PATHS)
            .map(Cut::to_string)
            .collect();
        if cuts.len() > MAX_NAMED_PATHS {
            what.push(format!("and {} more", cuts.len() - MAX_NAMED_PATHS));
        }
        format!(
            "Note: this result was cut to fit about {} tokens ({}). {}",
            self.max_result_tokens,
            what.join("; "),
            self.narrowing()
        )
    }

    /// A 2xx answer larger than the response size limit: the call succeeded, the answer is not
    /// (wholly) shown.
    fn too_large(&self, response: &UpstreamResponse, status: &str) -> Shaped {
        let limit = response.body.len();
        let note = format!(
            "The upstream answered {status}, but its answer was larger than this server's limit \
             of {} and was cut off there. {}",
            bytes(limit),
            self.narrowing()
        );
        let media = response
            .content_type
            .as_deref()
            .map(essence)
            .unwrap_or_default();
        let textual = is_json(&media) || is_text(&media) || media.is_empty();
        let mut content = Vec::new();
        if textual && !self.has_field_rules() {
            let partial = self
                .scrubber
                .cut_text(&String::from_utf8_lossy(&response.body));
            let shown =
                budget::fit_text(&partial, budget::bytes_for_tokens(self.max_result_tokens))
                    .map_or(partial.as_str(), |(kept, _)| kept);
            content.push(ContentBlock::text(shown));
        }
        content.push(ContentBlock::text(note));
        let mut shaped = self.success(None, content);
        shaped.outcome = Outcome::ResponseTruncated;
        shaped.detail = Some(format!("response cut off at {limit} bytes"));
        shaped
    }

    /// A non-2xx answer: an error result with what of the body may be shown.
    fn upstream_error(&self, response: &UpstreamResponse, status: &str) -> Shaped {
        let media = response
            .content_type
            .as_deref()
            .map(essence)
            .unwrap_or_default();
        let json =
            (is_json(&media) || media.is_empty() || self.has_field_rules()) && !response.truncated;
        let parsed = json
            .then(|| serde_json::from_slice::<Value>(&response.body).ok())
            .flatten();
        // With an allowlist, only members can be judged by name: a bare string or list of
        // scalars (`"Contact ann@… is locked"`) is not shown.
        let judged_by_name = |v: &Value| match v {
            Value::Object(_) => true,
            Value::Array(items) => items.iter().all(Value::is_object),
            _ => false,
        };
        let parsed = parsed.filter(|v| self.output.names.keep.is_none() || judged_by_name(v));
        let body = match parsed {
            Some(mut value) => {
                shape::redact(&mut value, self.output.redact);
                if self.has_field_rules() {
                    let names = &self.output.names;
                    // An error body does not have the answer's shape: the allowlist's positions
                    // (`/*/id` matches any member) say nothing about it, only names do.
                    let explicit = names::Explicit::default();
                    names::remove_named(
                        None,
                        &mut value,
                        &|name| {
                            names.drop.contains(&name)
                                || names.keep.is_some_and(|keep| !keep.contains(&name))
                        },
                        &explicit,
                    );
                }
                self.scrubber.value(&mut value);
                value.to_string()
            }
            None if self.has_field_rules() => {
                if response.body.is_empty() {
                    String::new()
                } else {
                    format!(
                        "({} of {} not shown: this tool's field rules apply to JSON only)",
                        bytes(response.body.len()),
                        if media.is_empty() {
                            "an unlabelled body"
                        } else {
                            &media
                        }
                    )
                }
            }
            None => self.scrubber.text(&String::from_utf8_lossy(&response.body)),
        };
        let mut text = format!("upstream returned {status}");
        if !body.trim().is_empty() {
            text.push('\n');
            text.push_str(&self.scrubber.text(&truncate(body.trim(), ERROR_BODY_LIMIT)));
        }
        if response.truncated {
            text.push_str(&format!(
                "\n[The answer was larger than the limit of {} and was cut off there.]",
                bytes(response.body.len())
            ));
        }
        Shaped::error(Outcome::UpstreamError, text, None)
    }
}

/// The first few paths, then how many more: `/a, /b/*/c and 3 more`.
fn named(paths: &[String]) -> String {
    let shown: Vec<&str> = paths
        .iter()
        .take(MAX_NAMED_PATHS)
        .map(|p| if p.is_empty() { "(root)" } else { p.as_str() })
        .collect();
    let mut out = shown.join(", ");
    if paths.len() > MAX_NAMED_PATHS {
        out.push_str(&format!(" and {} more", paths.len() - MAX_NAMED_PATHS));
    }
    out
}

fn drift_note(drift: &[String]) -> String {
    format!(
        "Note: the upstream's answer does not match this tool's output schema at {}; \
         structuredContent leaves those parts out, and the text above holds the whole answer.",
        named(drift)
    )
}
