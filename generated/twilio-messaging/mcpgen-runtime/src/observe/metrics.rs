//! Prometheus metrics of a generated server, served by `--metrics-listen` at `GET /metrics`.
//!
//! Counted where the audit line is written, so the two always agree: tool calls by tool,
//! decision and outcome; call latency per tool (a histogram); upstream responses by status
//! class; answers that drifted from the published output schema, per tool; calls in progress;
//! calls of unknown tools; refusals at the HTTP layer by status.
//! Every label value comes from the generated spec or a closed set (decisions, outcomes,
//! status classes), never from a client, so the number of series is bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::observe::audit::{Decision, Outcome};

/// Upper bounds (seconds) of the call latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The metrics of one server; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    server: &'static str,
    version: &'static str,
    in_flight: AtomicI64,
    unknown_tool_calls: AtomicU64,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// (tool, decision, outcome) → calls.
    calls: BTreeMap<(&'static str, Decision, &'static str), u64>,
    /// tool → latency histogram.
    latency: BTreeMap<&'static str, Histogram>,
    /// (tool, status class) → upstream responses.
    upstream: BTreeMap<(&'static str, &'static str), u64>,
    /// tool → 2xx answers that drifted from the published output schema.
    drift: BTreeMap<&'static str, u64>,
    /// HTTP status → refusals before MCP handling.
    http_refusals: BTreeMap<u16, u64>,
    /// Use of the shared state store → failures.
    shared_state_errors: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative), the last one for `+Inf`.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum_seconds: f64,
    count: u64,
}

/// Marks a call in progress until dropped.
#[derive(Debug)]
pub struct InFlight(Metrics);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Empty metrics for the server `server` at contract version `version`.
    pub fn new(server: &'static str, version: &'static str) -> Self {
        Metrics(Arc::new(Inner {
            server,
            version,
            in_flight: AtomicI64::new(0),
            unknown_tool_calls: AtomicU64::new(0),
            counts: Mutex::default(),
        }))
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counters stay meaningful after a panic elsewhere: take them as they are.
        self.0.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a call in progress until the returned guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.0.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Counts a call of a tool the server does not have.
    pub fn unknown_tool(&self) {
        self.0.unknown_tool_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a finished call of `tool`.
    pub fn call(
        &self,
        tool: &'static str,
        decision: Decision,
        outcome: Outcome,
        upstream_status: Option<u16>,
        latency: Duration,
    ) {
        let mut counts = self.counts();
        *counts
            .calls
            .entry((tool, decision, outcome.as_str()))
            .or_default() += 1;
        let seconds = latency.as_secs_f64();
        let histogram = counts.latency.entry(tool).or_default();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        histogram.buckets[bucket] += 1;
        histogram.sum_seconds += seconds;
        histogram.count += 1;
        if let Some(status) = upstream_status {
            *counts
                .upstream
                .entry((tool, status_class(status)))
                .or_default() += 1;
        }
        if outcome == Outcome::OutputDrift {
            *counts.drift.entry(tool).or_default() += 1;
        }
    }

    /// Counts a request refused at the HTTP layer (401, 403, 413 …).
    pub fn http_refusal(&self, status: u16) {
        *self.counts().http_refusals.entry(status).or_default() += 1;
    }

    /// Counts a use of the replicas' shared state store that failed (`redeem`, `rate_limit`,
    /// `cache`).
    pub fn shared_state_error(&self, operation: &'static str) {
        *self
            .counts()
            .shared_state_errors
            .entry(operation)
            .or_default() += 1;
    }

    /// The Prometheus text exposition (format 0.0.4), series sorted.
    pub fn render(&self) -> String {
        let inner = &self.0;
        let mut out = String::new();
        family(
            &mut out,
            "mcpgen_build_info",
            "gauge",
            "The server and its contract version.",
        );
        let _ = writeln!(
            out,
            "mcpgen_build_info{{server=\"{}\",version=\"{}\"}} 1",
            escape(inner.server),
            escape(inner.version)
        );
        family(
            &mut out,
            "mcpgen_tool_calls_in_flight",
            "gauge",
            "Tool calls in progress.",
        );
        let _ = writeln!(
            out,
            "mcpgen_tool_calls_in_flight {}",
            inner.in_flight.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "mcpgen_unknown_tool_calls_total",
            "counter",
            "Calls of tools the server does not have.",
        );
        let _ = writeln!(
            out,
            "mcpgen_unknown_tool_calls_total {}",
            inner.unknown_tool_calls.load(Ordering::Relaxed)
        );
        let counts = self.counts();
        family(
            &mut out,
            "mcpgen_tool_calls_total",
            "counter",
            "Tool calls by tool, policy decision and outcome (as in the audit log).",
        );
        for ((tool, decision, outcome), n) in &counts.calls {
            let _ = writeln!(
                out,
                "mcpgen_tool_calls_total{{tool=\"{}\",decision=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(tool),
                decision.as_string()
            );
        }
        family(
            &mut out,
            "mcpgen_tool_call_duration_seconds",
            "histogram",
            "Time from receiving a tool call to answering it.",
        );
        for (tool, histogram) in &counts.latency {
            let tool = escape(tool);
            let mut cumulative = 0;
            for (i, n) in histogram.buckets.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                let _ = writeln!(
                    out,
                    "mcpgen_tool_call_duration_seconds_bucket{{tool=\"{tool}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "mcpgen_tool_call_duration_seconds_sum{{tool=\"{tool}\"}} {}",
                histogram.sum_seconds
            );
            let _ = writeln!(
                out,
                "mcpgen_tool_call_duration_seconds_count{{tool=\"{tool}\"}} {}",
                histogram.count
            );
        }
        family(
            &mut out,
            "mcpgen_upstream_responses_total",
            "counter",
            "Upstream HTTP responses by tool and status class.",
        );
        for ((tool, class), n) in &counts.upstream {
            let _ = writeln!(
                out,
                "mcpgen_upstream_responses_total{{tool=\"{}\",status=\"{class}\"}} {n}",
                escape(tool)
            );
        }
        family(
            &mut out,
            "mcpgen_tool_output_drift_total",
            "counter",
            "Upstream 2xx answers that did not match the tool's published output schema (the \
             structured content left the drifted parts out; the audit line names them).",
        );
        for (tool, n) in &counts.drift {
            let _ = writeln!(
                out,
                "mcpgen_tool_output_drift_total{{tool=\"{}\"}} {n}",
                escape(tool)
            );
        }
        family(
            &mut out,
            "mcpgen_http_refusals_total",
            "counter",
            "HTTP requests refused before MCP handling (no or bad token, missing scope, too large).",
        );
        for (status, n) in &counts.http_refusals {
            let _ = writeln!(out, "mcpgen_http_refusals_total{{status=\"{status}\"}} {n}");
        }
        family(
            &mut out,
            "mcpgen_shared_state_errors_total",
            "counter",
            "Uses of the replicas' shared state store (--state-url) that failed: redemptions \
             refused (fail closed), rate limits and caches kept by this replica instead.",
        );
        for (operation, n) in &counts.shared_state_errors {
            let _ = writeln!(
                out,
                "mcpgen_shared_state_errors_total{{operation=\"{operation}\"}} {n}"
            );
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `2xx`, `3xx`, `4xx`, `5xx`, or `other`.
fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// A label value as the text format requires: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
