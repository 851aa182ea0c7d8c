//! The audit log: one JSON line per tool call, and one at startup.
//!
//! Owns the line format, the RFC 3339 timestamp (date math written here, no chrono) and the
//! sink the lines go to ([`AuditSink`]: stderr in production, since stdout is the stdio protocol
//! channel; memory in tests). A line names the arguments a call used but never their values, and
//! never holds a credential: callers hand it names, statuses and outcomes only.

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Where log lines go.
#[derive(Debug, Clone)]
pub enum AuditSink {
    /// Standard error (production).
    Stderr,
    /// An in-memory buffer (tests); clones share the buffer.
    Memory(Arc<Mutex<Vec<String>>>),
}

impl AuditSink {
    /// A sink that collects lines in memory.
    pub fn memory() -> Self {
        AuditSink::Memory(Arc::default())
    }

    /// Writes one line (a newline is added). Write failures are ignored: logging never fails a call.
    pub fn write(&self, line: &str) {
        match self {
            AuditSink::Stderr => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(line.as_bytes());
                let _ = err.write_all(b"\n");
            }
            AuditSink::Memory(lines) => {
                let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
                lines.push(line.to_owned());
            }
        }
    }

    /// The lines collected so far (always empty for [`AuditSink::Stderr`]).
    pub fn lines(&self) -> Vec<String> {
        match self {
            AuditSink::Stderr => Vec::new(),
            AuditSink::Memory(lines) => lines.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// The call did not succeed, or succeeded with a degraded result.
    Warn,
    /// The server could not do its part (network, internal failure).
    Error,
}

impl Level {
    /// The level as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream answered 2xx and the result was delivered.
    Ok,
    /// The arguments broke the input schema; the upstream was not called.
    InvalidArguments,
    /// The request could not be built from valid arguments (e.g. bad base64, header value).
    InvalidRequest,
    /// The upstream answered with a non-2xx status.
    UpstreamError,
    /// The upstream could not be reached, or the exchange failed midway.
    TransportError,
    /// The upstream did not answer within the timeout.
    Timeout,
    /// The upstream response was larger than the limit.
    ResponseTooLarge,
    /// The upstream response could not be read as its declared media type.
    InvalidResponse,
    /// The result did not match the published output schema; sent as an error with the data as text.
    OutputMismatch,
    /// The client cancelled the call.
    Cancelled,
    /// No tool has the requested name (answered with a JSON-RPC `invalid_params` error).
    UnknownTool,
}

impl Outcome {
    /// The outcome as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::InvalidRequest => "invalid_request",
            Outcome::UpstreamError => "upstream_error",
            Outcome::TransportError => "transport_error",
            Outcome::Timeout => "timeout",
            Outcome::ResponseTooLarge => "response_too_large",
            Outcome::InvalidResponse => "invalid_response",
            Outcome::OutputMismatch => "output_mismatch",
            Outcome::Cancelled => "cancelled",
            Outcome::UnknownTool => "unknown_tool",
        }
    }

    /// The level a call with this outcome is logged at.
    pub fn level(self) -> Level {
        match self {
            Outcome::Ok | Outcome::Cancelled => Level::Info,
            Outcome::InvalidArguments
            | Outcome::InvalidRequest
            | Outcome::UpstreamError
            | Outcome::InvalidResponse
            | Outcome::OutputMismatch
            | Outcome::ResponseTooLarge
            | Outcome::UnknownTool => Level::Warn,
            Outcome::TransportError | Outcome::Timeout => Level::Error,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Most argument names written in one audit line.
pub const MAX_LOGGED_NAMES: usize = 100;

/// Longest argument or tool name written in an audit line, in characters.
pub const MAX_LOGGED_NAME_CHARS: usize = 128;

/// What one tool call leaves in the log. Holds no argument values and no secrets by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallRecord {
    /// The call's request id (also sent upstream as `X-Request-Id`).
    pub request_id: String,
    /// Tool name.
    pub tool: String,
    /// `operationId`, or `METHOD /path`; `None` for an unknown tool.
    pub operation: Option<String>,
    /// HTTP status of the upstream response, if one arrived.
    pub upstream_status: Option<u16>,
    /// Time from receiving the call to answering it.
    pub latency_ms: u64,
    /// How the call ended.
    pub outcome: Outcome,
    /// Names of the arguments the call carried (sorted by the writer).
    pub arguments: Vec<String>,
    /// A short value-free explanation (schema paths, error kind), for non-`ok` outcomes.
    pub detail: Option<String>,
}

impl ToolCallRecord {
    /// The JSON line for this record, stamped with `now`.
    ///
    /// Client-chosen strings are bounded so a call cannot flood the log: at most
    /// [`MAX_LOGGED_NAMES`] argument names, and names (and the tool name) cut to
    /// [`MAX_LOGGED_NAME_CHARS`] characters.
    pub fn to_line(&self, now: SystemTime) -> String {
        let cut = |s: &str| s.chars().take(MAX_LOGGED_NAME_CHARS).collect::<String>();
        let mut arguments: Vec<String> = self.arguments.iter().map(|a| cut(a)).collect();
        arguments.sort_unstable();
        arguments.dedup();
        arguments.truncate(MAX_LOGGED_NAMES);
        let mut line = Map::new();
        line.insert("ts".into(), rfc3339_utc(now).into());
        line.insert("level".into(), self.outcome.level().as_str().into());
        line.insert("event".into(), "tool_call".into());
        line.insert("request_id".into(), self.request_id.clone().into());
        line.insert("tool".into(), cut(&self.tool).into());
        line.insert("operation".into(), json!(self.operation));
        line.insert("upstream_status".into(), json!(self.upstream_status));
        line.insert("latency_ms".into(), self.latency_ms.into());
        line.insert("outcome".into(), self.outcome.as_str().into());
        line.insert("arguments".into(), json!(arguments));
        if let Some(detail) = &self.detail {
            line.insert("detail".into(), detail.clone().into());
        }
        Value::Object(line).to_string()
    }
}

/// The startup line: server identity, transport, listen address (HTTP only) and tool count.
pub fn startup_line(
    now: SystemTime,
    server: &str,
    version: &str,
    transport: &str,
    listen: Option<SocketAddr>,
    tools: usize,
) -> String {
    json!({
        "ts": rfc3339_utc(now),
        "level": "info",
        "event": "startup",
        "server": server,
        "version": version,
        "transport": transport,
        "listen": listen.map(|a| a.to_string()),
        "tools": tools,
    })
    .to_string()
}

/// Formats a time as RFC 3339 in UTC with milliseconds: `2026-11-25T20:20:00.123Z`.
///
/// Times before 1970 are written as the epoch.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(at(951_782_400, 5)), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            rfc3339_utc(at(1_709_251_199, 999)),
            "2024-02-29T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339_utc(at(1_735_689_600, 0)),
            "2025-01-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339_utc(at(4_102_444_799, 0)),
            "2099-12-31T23:59:59.000Z"
        );
        assert_eq!(
            rfc3339_utc(at(4_107_542_400, 0)),
            "2100-03-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH - Duration::from_secs(10)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn every_day_round_trips_through_the_calendar() {
        // Walk 800 years day by day and check the calendar never skips or repeats a date.
        let mut prev = civil_from_days(-1);
        for d in 0..(800 * 366) {
            let cur = civil_from_days(d);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                cur == next_day || cur == next_month || cur == next_year,
                "{prev:?} -> {cur:?}"
            );
            prev = cur;
        }
    }

    #[test]
    fn tool_call_line_has_every_field_and_sorted_names() {
        let record = ToolCallRecord {
            request_id: "r-1".into(),
            tool: "list_pets".into(),
            operation: Some("listPets".into()),
            upstream_status: Some(200),
            latency_ms: 12,
            outcome: Outcome::Ok,
            arguments: vec!["limit".into(), "kind".into()],
            detail: None,
        };
        let line: Value = serde_json::from_str(&record.to_line(at(0, 0))).unwrap();
        assert_eq!(
            line,
            json!({
                "ts": "1970-01-01T00:00:00.000Z", "level": "info", "event": "tool_call",
                "request_id": "r-1", "tool": "list_pets", "operation": "listPets",
                "upstream_status": 200, "latency_ms": 12, "outcome": "ok",
                "arguments": ["kind", "limit"]
            })
        );
        let failed = ToolCallRecord {
            upstream_status: None,
            outcome: Outcome::Timeout,
            detail: Some("timed out".into()),
            ..record
        };
        let line: Value = serde_json::from_str(&failed.to_line(at(0, 0))).unwrap();
        assert_eq!(line["upstream_status"], Value::Null);
        assert_eq!(line["level"], "error");
        assert_eq!(line["outcome"], "timeout");
    }

    #[test]
    fn client_chosen_names_are_bounded() {
        let record = ToolCallRecord {
            request_id: "r".into(),
            tool: "t".repeat(1000),
            operation: None,
            upstream_status: None,
            latency_ms: 0,
            outcome: Outcome::UnknownTool,
            arguments: (0..500)
                .map(|i| format!("{i:04}{}", "a".repeat(300)))
                .collect(),
            detail: None,
        };
        let line: Value = serde_json::from_str(&record.to_line(at(0, 0))).unwrap();
        assert_eq!(line["tool"].as_str().unwrap().len(), MAX_LOGGED_NAME_CHARS);
        let names = line["arguments"].as_array().unwrap();
        assert_eq!(names.len(), MAX_LOGGED_NAMES);
        assert!(
            names
                .iter()
                .all(|n| n.as_str().unwrap().len() == MAX_LOGGED_NAME_CHARS)
        );
        assert_eq!(
            (line["operation"].clone(), line["outcome"].clone()),
            (Value::Null, json!("unknown_tool"))
        );
    }

    #[test]
    fn memory_sink_collects_lines() {
        let sink = AuditSink::memory();
        sink.clone().write("a");
        sink.write("b");
        assert_eq!(sink.lines(), vec!["a", "b"]);
        let line = startup_line(at(0, 0), "pets", "1.0.0", "http", None, 3);
        assert!(line.contains(r#""event":"startup""#) && line.contains(r#""tools":3"#));
    }
}
