//! The audit log: one JSON line per tool call, one per request refused at the HTTP layer, and
//! one at startup.
//!
//! Owns the line format, the RFC 3339 timestamp (date math written here, no chrono) and the
//! sink the lines go to ([`AuditSink`]: stderr in production, since stdout is the stdio protocol
//! channel, optionally also a file; memory in tests). A line names the caller (subject, client
//! id), the tool and its contract version, the policy decision, the upstream identity mode, the
//! arguments a call used but never their values, and never holds a credential or token: callers
//! hand it names, statuses and outcomes only.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::spec::IdentityMode;

/// Where log lines go.
#[derive(Debug, Clone)]
pub enum AuditSink {
    /// Standard error (production).
    Stderr,
    /// Standard error and a file the lines are appended to (`--audit-file`).
    StderrAndFile(Arc<Mutex<File>>),
    /// An in-memory buffer (tests); clones share the buffer.
    Memory(Arc<Mutex<Vec<String>>>),
}

impl AuditSink {
    /// A sink that collects lines in memory.
    pub fn memory() -> Self {
        AuditSink::Memory(Arc::default())
    }

    /// Stderr plus `path`, opened for appending (created when missing).
    pub fn with_file(path: &str) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(AuditSink::StderrAndFile(Arc::new(Mutex::new(file))))
    }

    /// Writes one line (a newline is added). Write failures are ignored: logging never fails a call.
    pub fn write(&self, line: &str) {
        let stderr = || {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line.as_bytes());
            let _ = err.write_all(b"\n");
        };
        match self {
            AuditSink::Stderr => stderr(),
            AuditSink::StderrAndFile(file) => {
                stderr();
                let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                let mut buf = Vec::with_capacity(line.len() + 1);
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                let _ = file.write_all(&buf);
            }
            AuditSink::Memory(lines) => {
                let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
                lines.push(line.to_owned());
            }
        }
    }

    /// The lines collected so far (always empty unless [`AuditSink::Memory`]).
    pub fn lines(&self) -> Vec<String> {
        match self {
            AuditSink::Stderr | AuditSink::StderrAndFile(_) => Vec::new(),
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
    /// The call was not carried out: refused by policy, a dry run, declined by the human, or
    /// waiting for the human's answer (the decision says which).
    NotExecuted,
    /// The arguments broke the input schema; the upstream was not called.
    InvalidArguments,
    /// The request could not be built from valid arguments (e.g. bad base64, header value).
    InvalidRequest,
    /// No upstream token could be obtained for the tool's identity mode.
    IdentityError,
    /// The upstream answered with a non-2xx status.
    UpstreamError,
    /// The upstream could not be reached, or the exchange failed midway.
    TransportError,
    /// The upstream did not answer within the timeout.
    Timeout,
    /// The upstream redirected to another origin; the redirect was not followed.
    RedirectRefused,
    /// The upstream answered 2xx, but its answer was larger than the response size limit and
    /// was cut off (the result is a success that says so).
    ResponseTruncated,
    /// The upstream answered 2xx with a body labelled JSON that does not parse (shown as text).
    InvalidResponse,
    /// The upstream answered 2xx with JSON that does not match the published output schema: the
    /// structured content leaves the drifted parts out, the text holds the whole answer.
    OutputDrift,
    /// The upstream answered 2xx and the result was cut to fit the result budget.
    ResultCut,
    /// The upstream answered 2xx with a body the tool's field rules cannot apply to (not JSON):
    /// the result says what arrived, not what it held.
    Withheld,
    /// The output schema accepts no result the server can build (a hand-edited schema): the
    /// answer is returned as an error without data.
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
            Outcome::NotExecuted => "not_executed",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::InvalidRequest => "invalid_request",
            Outcome::IdentityError => "identity_error",
            Outcome::UpstreamError => "upstream_error",
            Outcome::TransportError => "transport_error",
            Outcome::Timeout => "timeout",
            Outcome::RedirectRefused => "redirect_refused",
            Outcome::ResponseTruncated => "response_truncated",
            Outcome::InvalidResponse => "invalid_response",
            Outcome::OutputDrift => "output_drift",
            Outcome::ResultCut => "result_cut",
            Outcome::Withheld => "withheld",
            Outcome::OutputMismatch => "output_mismatch",
            Outcome::Cancelled => "cancelled",
            Outcome::UnknownTool => "unknown_tool",
        }
    }

    /// The level a call with this outcome is logged at.
    pub fn level(self) -> Level {
        match self {
            Outcome::Ok | Outcome::Cancelled | Outcome::NotExecuted | Outcome::ResultCut => {
                Level::Info
            }
            Outcome::InvalidArguments
            | Outcome::OutputDrift
            | Outcome::Withheld
            | Outcome::InvalidRequest
            | Outcome::UpstreamError
            | Outcome::InvalidResponse
            | Outcome::OutputMismatch
            | Outcome::ResponseTruncated
            | Outcome::RedirectRefused
            | Outcome::UnknownTool => Level::Warn,
            Outcome::TransportError | Outcome::Timeout | Outcome::IdentityError => Level::Error,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call or request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DenyReason {
    /// No (valid) bearer token.
    InvalidToken,
    /// The caller lacks a scope the tool needs.
    InsufficientScope,
    /// The caller made too many calls this minute.
    RateLimited,
    /// Too many calls are in progress.
    ConcurrencyLimit,
    /// The request body is larger than the limit.
    RequestTooLarge,
    /// The tool acts with the caller's identity and the call carries no caller token.
    IdentityUnavailable,
    /// No tool has that name.
    UnknownTool,
    /// The keys or introspection endpoint could not be reached.
    AuthUnavailable,
    /// A confirmation could not be checked: the replicas' shared state store is unreachable.
    StateUnavailable,
}

impl DenyReason {
    /// The reason as written after `denied:`.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::InvalidToken => "invalid_token",
            DenyReason::InsufficientScope => "insufficient_scope",
            DenyReason::RateLimited => "rate_limited",
            DenyReason::ConcurrencyLimit => "concurrency_limit",
            DenyReason::RequestTooLarge => "request_too_large",
            DenyReason::IdentityUnavailable => "identity_unavailable",
            DenyReason::UnknownTool => "unknown_tool",
            DenyReason::AuthUnavailable => "auth_unavailable",
            DenyReason::StateUnavailable => "state_unavailable",
        }
    }
}

/// What policy decided about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    /// Allowed without confirmation.
    Allowed,
    /// Refused.
    Denied(DenyReason),
    /// Carried out after a human confirmed it.
    Confirmed,
    /// Described, not carried out: the caller must confirm first.
    DryRun,
    /// The human was asked and said no (or dismissed the question).
    Declined,
    /// The human is being asked (2026-07-28 `input_required` round).
    ConfirmationRequested,
}

impl Decision {
    /// The decision as written in the log (`denied:rate_limited`).
    pub fn as_string(self) -> String {
        match self {
            Decision::Allowed => "allowed".into(),
            Decision::Denied(reason) => format!("denied:{}", reason.as_str()),
            Decision::Confirmed => "confirmed".into(),
            Decision::DryRun => "dry_run".into(),
            Decision::Declined => "declined".into(),
            Decision::ConfirmationRequested => "confirmation_requested".into(),
        }
    }
}

/// The name of an identity mode in the log.
pub fn identity_name(mode: IdentityMode) -> &'static str {
    match mode {
        IdentityMode::ServiceAccount => "service_account",
        IdentityMode::ClientCredentials => "client_credentials",
        IdentityMode::TokenExchange => "token_exchange",
        IdentityMode::Passthrough => "passthrough",
    }
}

/// Most argument names written in one audit line.
pub const MAX_LOGGED_NAMES: usize = 100;

/// Longest argument or tool name written in an audit line, in characters.
pub const MAX_LOGGED_NAME_CHARS: usize = 128;

/// Longest subject or client id written in an audit line, in characters.
pub const MAX_LOGGED_ID_CHARS: usize = 256;

/// Who made a call, as the audit log names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The principal's subject.
    pub subject: Option<String>,
    /// The principal's client id.
    pub client_id: Option<String>,
}

/// What one tool call leaves in the log. Holds no argument values and no secrets by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallRecord {
    /// The call's request id (also sent upstream as `X-Request-Id`).
    pub request_id: String,
    /// The call's trace id (32 hex digits): the client's trace, or a new one.
    pub trace_id: String,
    /// Who called.
    pub caller: Caller,
    /// Tool name.
    pub tool: String,
    /// The server's contract version (`serverInfo.version`).
    pub contract_version: &'static str,
    /// The tool's contract hash; `None` for an unknown tool.
    pub contract: Option<String>,
    /// `operationId`, or `METHOD /path`; `None` for an unknown tool.
    pub operation: Option<String>,
    /// What policy decided.
    pub decision: Decision,
    /// Whose identity the tool uses upstream; `None` for an unknown tool.
    pub identity: Option<IdentityMode>,
    /// HTTP status of the upstream response, if one arrived.
    pub upstream_status: Option<u16>,
    /// Time from receiving the call to answering it.
    pub latency_ms: u64,
    /// Bytes of the call's arguments (JSON) received from the client.
    pub bytes_in: u64,
    /// Bytes of the tool result (JSON) returned to the client.
    pub bytes_out: u64,
    /// How the call ended.
    pub outcome: Outcome,
    /// Names of the arguments the call carried (sorted by the writer).
    pub arguments: Vec<String>,
    /// A short value-free explanation (schema paths, error kind), for non-`ok` outcomes.
    pub detail: Option<String>,
    /// Where a 2xx answer drifted from the published output schema: generalised schema paths
    /// (`/items/*/owner`), for the `output_drift` outcome.
    pub drift: Vec<String>,
    /// The server runs without caller authentication (`--insecure-no-auth`).
    pub auth_disabled: bool,
}

/// Most drifted paths written in one audit line.
pub const MAX_LOGGED_DRIFT: usize = 32;

/// The first `max` characters of `s`.
pub(crate) fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl ToolCallRecord {
    /// The JSON line for this record, stamped with `now`.
    ///
    /// Client-chosen strings are bounded so a call cannot flood the log: at most
    /// [`MAX_LOGGED_NAMES`] argument names, and names (and the tool name) cut to
    /// [`MAX_LOGGED_NAME_CHARS`] characters.
    pub fn to_line(&self, now: SystemTime) -> String {
        let name = |s: &str| cut(s, MAX_LOGGED_NAME_CHARS);
        let mut arguments: Vec<String> = self.arguments.iter().map(|a| name(a)).collect();
        arguments.sort_unstable();
        arguments.dedup();
        arguments.truncate(MAX_LOGGED_NAMES);
        let level = match self.decision {
            Decision::Denied(_) | Decision::Declined => Level::Warn,
            _ => self.outcome.level(),
        };
        let mut line = Map::new();
        line.insert("ts".into(), rfc3339_utc(now).into());
        line.insert("level".into(), level.as_str().into());
        line.insert("event".into(), "tool_call".into());
        line.insert("request_id".into(), self.request_id.clone().into());
        line.insert("trace_id".into(), self.trace_id.clone().into());
        self.caller.insert_into(&mut line);
        line.insert("tool".into(), name(&self.tool).into());
        line.insert("contract_version".into(), self.contract_version.into());
        line.insert("contract".into(), json!(self.contract));
        line.insert("operation".into(), json!(self.operation));
        line.insert("decision".into(), self.decision.as_string().into());
        line.insert("identity".into(), json!(self.identity.map(identity_name)));
        line.insert("upstream_status".into(), json!(self.upstream_status));
        line.insert("latency_ms".into(), self.latency_ms.into());
        line.insert("bytes_in".into(), self.bytes_in.into());
        line.insert("bytes_out".into(), self.bytes_out.into());
        line.insert("outcome".into(), self.outcome.as_str().into());
        line.insert("arguments".into(), json!(arguments));
        if let Some(detail) = &self.detail {
            line.insert("detail".into(), detail.clone().into());
        }
        if !self.drift.is_empty() {
            let drift: Vec<String> = self
                .drift
                .iter()
                .take(MAX_LOGGED_DRIFT)
                .map(|p| name(p))
                .collect();
            line.insert("drift".into(), json!(drift));
        }
        if self.auth_disabled {
            line.insert("auth".into(), "disabled".into());
        }
        Value::Object(line).to_string()
    }
}

impl Caller {
    fn insert_into(&self, line: &mut Map<String, Value>) {
        let id = |s: &Option<String>| json!(s.as_deref().map(|s| cut(s, MAX_LOGGED_ID_CHARS)));
        line.insert("subject".into(), id(&self.subject));
        line.insert("client_id".into(), id(&self.client_id));
    }
}

/// A request refused at the HTTP layer (401, 403, 503), before any tool ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRecord {
    /// An id for this refusal.
    pub request_id: String,
    /// HTTP status answered.
    pub status: u16,
    /// Why.
    pub reason: DenyReason,
    /// The token problem (`expired`, `bad_signature`…) or the missing scopes.
    pub detail: String,
    /// The caller, when the token was valid.
    pub caller: Caller,
    /// The tool called, when known.
    pub tool: Option<String>,
}

impl AuthRecord {
    /// The JSON line for this record, stamped with `now`.
    pub fn to_line(&self, now: SystemTime) -> String {
        let mut line = Map::new();
        line.insert("ts".into(), rfc3339_utc(now).into());
        line.insert(
            "level".into(),
            if self.status >= 500 { "error" } else { "warn" }.into(),
        );
        line.insert("event".into(), "auth".into());
        line.insert("request_id".into(), self.request_id.clone().into());
        self.caller.insert_into(&mut line);
        line.insert(
            "tool".into(),
            json!(self.tool.as_deref().map(|t| cut(t, MAX_LOGGED_NAME_CHARS))),
        );
        line.insert("status".into(), self.status.into());
        line.insert(
            "decision".into(),
            Decision::Denied(self.reason).as_string().into(),
        );
        line.insert("detail".into(), self.detail.clone().into());
        Value::Object(line).to_string()
    }
}

/// A warning line outside any call (`event` names what it is about).
pub fn warning_line(now: SystemTime, event: &str, message: &str) -> String {
    json!({"ts": rfc3339_utc(now), "level": "warn", "event": event, "message": message}).to_string()
}

/// The startup line: server identity, transport, listen address (HTTP only), metrics address
/// (when served) and tool count.
pub fn startup_line(
    now: SystemTime,
    server: &str,
    version: &str,
    transport: &str,
    listen: Option<SocketAddr>,
    metrics: Option<SocketAddr>,
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
        "metrics": metrics.map(|a| a.to_string()),
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
