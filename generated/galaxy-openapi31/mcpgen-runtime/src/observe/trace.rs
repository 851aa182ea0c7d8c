//! Traces: W3C trace context in and out, and OpenTelemetry spans exported over OTLP/HTTP.
//!
//! Each tool call belongs to a trace: the one a client names in the request's `_meta`
//! (`traceparent`, W3C Trace Context), or a new one. Its id is written on the audit line. With
//! `--otlp-endpoint`, the call's spans (the call itself, then argument checks, the upstream
//! token, the upstream request and shaping the result) are exported to `<endpoint>/v1/traces`
//! as OTLP/HTTP JSON, in batches, from a task of their own: a call never waits for the
//! collector, and spans beyond a bounded queue are dropped (and counted). The upstream receives
//! `traceparent` naming the upstream request's span whenever a trace is exported or the client
//! sent one.

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Spans waiting for export at most; more are dropped.
const QUEUE: usize = 4096;
/// Spans sent in one export request at most.
const BATCH: usize = 512;
/// How long a span waits for others to fill its batch.
const LINGER: Duration = Duration::from_millis(500);

/// A trace and the span a new span descends from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id (16 bytes, never all zero).
    pub trace_id: [u8; 16],
    /// The parent span's id, when the trace came from elsewhere.
    pub parent: Option<[u8; 8]>,
}

impl TraceContext {
    /// The trace a `traceparent` value names (version 00 or a later one read as 00), if valid.
    pub fn from_traceparent(value: &str) -> Option<TraceContext> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        if flags.len() != 2 || !flags.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?;
        let parent: [u8; 8] = hex(parent)?;
        if trace_id == [0; 16] || parent == [0; 8] {
            return None;
        }
        Some(TraceContext {
            trace_id,
            parent: Some(parent),
        })
    }

    /// A new trace.
    pub fn new_root() -> TraceContext {
        let mut trace_id = random::<16>();
        if trace_id == [0; 16] {
            trace_id[15] = 1;
        }
        TraceContext {
            trace_id,
            parent: None,
        }
    }

    /// The trace id as 32 lower-case hex digits (as the audit line writes it).
    pub fn trace_id_hex(&self) -> String {
        to_hex(&self.trace_id)
    }
}

/// The `traceparent` header naming `span` of `trace` (sampled).
pub fn traceparent(trace: &TraceContext, span: [u8; 8]) -> String {
    format!("00-{}-{}-01", to_hex(&trace.trace_id), to_hex(&span))
}

/// A new span id (8 random bytes, never all zero).
pub fn span_id() -> [u8; 8] {
    let mut id = random::<8>();
    if id == [0; 8] {
        id[7] = 1;
    }
    id
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system's generator does not fail on the platforms the server runs on; if it ever did,
    // the id would be all zero and replaced by the callers (a valid, if not unique, id).
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes
}

fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a span is to the trace (OTLP `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Work inside the server.
    Internal,
    /// The server answering a request (the tool call).
    Server,
    /// The server calling out (the upstream request).
    Client,
}

/// A finished span.
#[derive(Debug, Clone)]
pub struct Span {
    /// Its trace.
    pub trace: TraceContext,
    /// Its id.
    pub id: [u8; 8],
    /// Its parent's id (none for the root of a new trace).
    pub parent: Option<[u8; 8]>,
    /// What it did (`tools/call get_pet`, `upstream`, …).
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// When it started and ended.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// Attributes: name → string, integer or boolean value.
    pub attributes: Vec<(&'static str, Value)>,
    /// Whether it ended in an error.
    pub error: bool,
}

impl Span {
    /// A span of `trace` starting now, child of `parent`.
    pub fn start(
        trace: &TraceContext,
        parent: Option<[u8; 8]>,
        name: impl Into<String>,
        kind: SpanKind,
    ) -> Span {
        let now = SystemTime::now();
        Span {
            trace: *trace,
            id: span_id(),
            parent,
            name: name.into(),
            kind,
            start: now,
            end: now,
            attributes: Vec::new(),
            error: false,
        }
    }

    /// Adds an attribute.
    pub fn set(&mut self, name: &'static str, value: impl Into<Value>) {
        self.attributes.push((name, value.into()));
    }

    /// Ends it now.
    pub fn end(mut self) -> Span {
        self.end = SystemTime::now();
        self
    }

    fn to_otlp(&self) -> Value {
        let nanos = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
                .to_string()
        };
        let mut span = json!({
            "traceId": to_hex(&self.trace.trace_id),
            "spanId": to_hex(&self.id),
            "name": self.name,
            "kind": match self.kind {
                SpanKind::Internal => 1,
                SpanKind::Server => 2,
                SpanKind::Client => 3,
            },
            "startTimeUnixNano": nanos(self.start),
            "endTimeUnixNano": nanos(self.end),
            "attributes": attributes(self.attributes.iter().map(|(k, v)| (*k, v))),
            "status": {"code": if self.error { 2 } else { 1 }},
        });
        if let Some(parent) = self.parent {
            span["parentSpanId"] = to_hex(&parent).into();
        }
        span
    }
}

/// OTLP `KeyValue`s.
fn attributes<'a>(pairs: impl Iterator<Item = (&'a str, &'a Value)>) -> Vec<Value> {
    pairs
        .map(|(key, value)| {
            let value = match value {
                Value::Bool(b) => json!({"boolValue": b}),
                // OTLP's JSON writes 64-bit integers as strings.
                Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
                Value::String(s) => json!({"stringValue": s}),
                other => json!({"stringValue": other.to_string()}),
            };
            json!({"key": key, "value": value})
        })
        .collect()
}

/// Where finished spans go: nowhere, or the exporter's queue.
#[derive(Debug, Clone, Default)]
pub struct Tracer {
    queue: Option<mpsc::Sender<Span>>,
    dropped: Arc<AtomicU64>,
}

impl Tracer {
    /// A tracer that exports nothing.
    pub fn disabled() -> Tracer {
        Tracer::default()
    }

    /// A tracer exporting to `<endpoint>/v1/traces` as `service` (the server's name), from a
    /// task on the current runtime.
    pub fn otlp(http: reqwest::Client, endpoint: &str, service: &str, version: &str) -> Tracer {
        let (queue, spans) = mpsc::channel(QUEUE);
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let resource = json!({"attributes": attributes(
            [("service.name", &Value::from(service)), ("service.version", &Value::from(version))]
                .into_iter()
        )});
        tokio::spawn(export(http, url, resource, spans));
        Tracer {
            queue: Some(queue),
            dropped: Arc::default(),
        }
    }

    /// Whether spans are exported.
    pub fn enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues finished spans for export (dropping them when the queue is full).
    pub fn record(&self, spans: impl IntoIterator<Item = Span>) {
        let Some(queue) = &self.queue else { return };
        for span in spans {
            if queue.try_send(span).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Spans dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Sends batches of spans until every tracer is gone. A collector that fails loses that batch
/// only: traces are diagnostics, never worth holding calls for.
async fn export(
    http: reqwest::Client,
    url: String,
    resource: Value,
    mut spans: mpsc::Receiver<Span>,
) {
    while let Some(first) = spans.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, spans.recv()).await {
                Ok(Some(span)) => batch.push(span),
                Ok(None) | Err(_) => break,
            }
        }
        let body = json!({"resourceSpans": [{
            "resource": resource,
            "scopeSpans": [{
                "scope": {"name": "mcpgen-runtime", "version": env!("CARGO_PKG_VERSION")},
                "spans": batch.iter().map(Span::to_otlp).collect::<Vec<_>>(),
            }],
        }]});
        let _ = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
    }
}
