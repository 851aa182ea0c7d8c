//! The `tools/call` pipeline: authorize, limit, validate, build, confirm, obtain the upstream
//! identity, send, shape, audit.
//!
//! Owns the order of the steps and the audit record of each call:
//! 1. the caller's scopes must cover the tool's (`insufficient_scope`, naming what is missing);
//! 2. the caller's rate limit;
//! 3. the arguments must match the input schema;
//! 4. a tool acting with the caller's identity needs the caller's token;
//! 5. the request is built and must fit the request body limit;
//! 6. a `confirm: true` tool needs a human: elicitation when the client can be asked (a legacy
//!    session through the peer, or a 2026-07-28 `input_required` round), else a dry run that
//!    hands out a confirmation token, which a later call with the same arguments redeems;
//! 7. a slot under the concurrency cap (taken only now, so calls waiting for a human hold none);
//! 8. the upstream token of the tool's identity mode is obtained and sent;
//! 9. redirects: those on the upstream's origin are followed with the credentials, one to
//!    another origin is refused (`redirect_refused`, with the escalation text);
//! 10. the answer is shaped into the result (`result.rs`; a per-call scrubber also removes the
//!     tokens of this call), within the tool's result budget.
//!
//! Refusals are tool results with `isError: true` ending with the escalation text (the tool's,
//! else the server's); nothing reaches the upstream before step 8. Every failure after the tool
//! is found is a tool result (never a JSON-RPC error), and exactly one audit line is written per
//! call, whatever happens.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, InputResponses, JsonObject};
use rmcp::service::Peer;
use rmcp::{ErrorData, RoleServer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::call::catalog::{Catalog, ToolEntry};
use crate::call::concurrency::ConcurrencyLimiter;
use crate::identity::caller::insufficient_scope_text;
use crate::identity::confirm::Confirmations;
use crate::identity::upstream_token::Identities;
use crate::observe::audit::{AuditSink, Caller, Decision, DenyReason, Outcome, ToolCallRecord};
use crate::observe::metrics::Metrics;
use crate::observe::trace::{Span, SpanKind, TraceContext, Tracer, traceparent};
use crate::request::outgoing::RequestError;
use crate::request::redirect::{self, RedirectError};
use crate::request::upstream::{Upstream, UpstreamError};
use crate::response::result::{ResultPlan, Shaped};
use crate::response::scrub::Scrubber;
use crate::spec::{CONFIRMATION_ARGUMENT, ServerSpec};
use crate::state::SharedState;
use crate::support::cli::Limits;
use crate::support::principal::Principal;
use crate::support::secret::Secret;
use crate::support::settings::Settings;
use crate::support::validate;

/// Violations listed in an invalid-arguments result.
const MAX_ARGUMENT_ERRORS: usize = 10;

/// Issues request ids: 32 hex characters, unique per process and unlikely to repeat across
/// processes (a hash of the start time, the process id and a counter).
#[derive(Debug)]
pub struct RequestIds {
    seed: [u8; 16],
    counter: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let mut seed = [0; 16];
        seed[..8].copy_from_slice(&nanos.to_le_bytes());
        seed[8..12].copy_from_slice(&std::process::id().to_le_bytes());
        RequestIds {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl RequestIds {
    /// The next id.
    pub fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let digest = Sha256::new()
            .chain_update(self.seed)
            .chain_update(n.to_le_bytes())
            .finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How a human can be asked to confirm a call.
#[derive(Debug, Clone)]
pub enum Asker {
    /// Nobody can be asked while the call runs: dry run and confirmation token.
    Fallback,
    /// A legacy session whose client can elicit: ask through the peer.
    Elicit(Peer<RoleServer>),
    /// A 2026-07-28 client that can elicit: answer `input_required`, read the answer on retry.
    Rounds {
        /// The `requestState` echoed by the client.
        request_state: Option<String>,
        /// The client's answers.
        responses: Option<InputResponses>,
    },
}

/// One `tools/call`.
#[derive(Debug, Clone)]
pub struct Call {
    /// Tool name.
    pub name: String,
    /// Arguments.
    pub arguments: Option<JsonObject>,
    /// Who calls (`None`: an HTTP request that no authentication layer vouched for).
    pub principal: Option<Principal>,
    /// How to ask a human.
    pub asker: Asker,
    /// The client's W3C `traceparent` (from the request's `_meta`), if it sent one.
    pub traceparent: Option<String>,
}

/// The spans of one call: a root span for the call, and its steps as children.
pub(crate) struct CallTrace {
    context: TraceContext,
    root: Span,
    /// Whether the upstream is sent `traceparent` (the client sent one, or traces are exported).
    propagate: bool,
    steps: Vec<Span>,
}

impl CallTrace {
    fn new(traceparent: Option<&str>, tool: &str, exported: bool) -> CallTrace {
        let from_client = traceparent.and_then(TraceContext::from_traceparent);
        let context = from_client.unwrap_or_else(TraceContext::new_root);
        let mut root = Span::start(
            &context,
            context.parent,
            format!("tools/call {tool}"),
            SpanKind::Server,
        );
        root.set("mcp.method.name", "tools/call");
        root.set("gen_ai.tool.name", tool);
        CallTrace {
            context,
            root,
            propagate: exported || from_client.is_some(),
            steps: Vec::new(),
        }
    }

    /// A step of the call, starting now.
    fn step(&self, name: &str, kind: SpanKind) -> Span {
        Span::start(&self.context, Some(self.root.id), name, kind)
    }

    /// Records a step that ended now.
    fn done(&mut self, step: Span) {
        self.steps.push(step.end());
    }

    /// Every span, the root ended now with how the call ended.
    fn finish(self, ended: &Ended) -> Vec<Span> {
        self.finish_as(ended.decision, ended.outcome, ended.status)
    }

    /// Every span, the root ended now with this decision, outcome and upstream status.
    fn finish_as(mut self, decision: Decision, outcome: Outcome, status: Option<u16>) -> Vec<Span> {
        self.root.set("mcp.decision", decision.as_string());
        self.root.set("mcp.outcome", outcome.as_str());
        if let Some(status) = status {
            self.root.set("http.response.status_code", status);
        }
        self.root.error = !matches!(
            outcome,
            Outcome::Ok | Outcome::OutputDrift | Outcome::ResultCut | Outcome::Withheld
        );
        let mut spans = self.steps;
        spans.push(self.root.end());
        spans
    }
}

/// How a call ended, before the audit line is written.
pub(super) struct Ended {
    response: CallToolResponse,
    decision: Decision,
    outcome: Outcome,
    detail: Option<String>,
    drift: Vec<String>,
    status: Option<u16>,
}

impl Ended {
    /// A call that ended before anything was sent upstream (a refusal, a dry run, a question
    /// for the human, or the human's no).
    pub(super) fn not_executed(
        response: CallToolResponse,
        decision: Decision,
        detail: Option<String>,
    ) -> Self {
        Ended {
            response,
            decision,
            outcome: Outcome::NotExecuted,
            detail,
            drift: Vec::new(),
            status: None,
        }
    }

    fn shaped(shaped: Shaped, decision: Decision, status: Option<u16>) -> Self {
        Ended {
            response: shaped.result.into(),
            decision,
            outcome: shaped.outcome,
            detail: shaped.detail,
            drift: shaped.drift,
            status,
        }
    }
}

fn bytes_of(response: &CallToolResponse) -> u64 {
    match response {
        CallToolResponse::Complete(result) => json_len(result),
        CallToolResponse::InputRequired(result) => json_len(result),
        _ => 0,
    }
}

/// The length of `value` as JSON, counted as it is serialised (no copy of the text is made).
fn json_len(value: &impl serde::Serialize) -> u64 {
    crate::response::budget::json_len(value) as u64
}

pub(super) fn text_result(text: String, is_error: bool) -> CallToolResult {
    if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    }
}

/// Everything a call needs, shared by all sessions.
#[derive(Debug)]
pub struct ServerState {
    pub(crate) spec: &'static ServerSpec,
    pub(crate) catalog: Catalog,
    pub(crate) settings: Settings,
    pub(crate) upstream: Upstream,
    pub(crate) audit: AuditSink,
    pub(crate) scrubber: Scrubber,
    pub(crate) ids: RequestIds,
    pub(crate) limits: Limits,
    pub(crate) shared: Arc<SharedState>,
    pub(crate) concurrency: ConcurrencyLimiter,
    pub(crate) identities: Identities,
    pub(crate) confirmations: Confirmations,
    pub(crate) local: Principal,
    pub(crate) metrics: Metrics,
    pub(crate) tracer: Tracer,
}

impl ServerState {
    /// Runs one tool call. `cancelled` resolves when the client gives up on the call.
    pub async fn call_tool(
        &self,
        call: Call,
        cancelled: impl Future<Output = ()>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let request_id = self.ids.next();
        let mut trace = CallTrace::new(
            call.traceparent.as_deref(),
            &call.name,
            self.tracer.enabled(),
        );
        let args = call.arguments.unwrap_or_default();
        let bytes_in = json_len(&args);
        let caller = Caller {
            subject: call.principal.as_ref().map(|p| p.subject.clone()),
            client_id: call.principal.as_ref().and_then(|p| p.client_id.clone()),
        };
        let Some(entry) = self.catalog.get(&call.name) else {
            let record = ToolCallRecord {
                request_id,
                trace_id: trace.context.trace_id_hex(),
                caller,
                tool: call.name.clone(),
                contract_version: self.spec.version,
                contract: None,
                operation: None,
                decision: Decision::Denied(DenyReason::UnknownTool),
                identity: None,
                upstream_status: None,
                latency_ms: 0,
                bytes_in,
                bytes_out: 0,
                outcome: Outcome::UnknownTool,
                arguments: args.keys().cloned().collect(),
                detail: None,
                drift: Vec::new(),
                auth_disabled: self.settings.auth_disabled(),
            };
            self.audit.write(&record.to_line(SystemTime::now()));
            self.tracer.record(trace.finish_as(
                Decision::Denied(DenyReason::UnknownTool),
                Outcome::UnknownTool,
                None,
            ));
            self.metrics.unknown_tool();
            let shown = crate::observe::audit::cut(
                &call.name,
                crate::observe::audit::MAX_LOGGED_NAME_CHARS,
            );
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{shown}`"),
                None,
            ));
        };
        let _in_flight = self.metrics.in_flight();
        let ended = match &call.principal {
            None => self.refuse(
                entry,
                DenyReason::InvalidToken,
                "unauthenticated: this call carries no authenticated caller; the upstream API \
                 was not called."
                    .into(),
            ),
            Some(principal) => tokio::select! {
                done = self.run(entry, &args, principal, &call.asker, &request_id, &mut trace) => done,
                () = cancelled => Ended::shaped(
                    Shaped::error(Outcome::Cancelled, "the call was cancelled", None),
                    Decision::Allowed,
                    None,
                ),
            },
        };
        let latency = started.elapsed();
        let trace_id = trace.context.trace_id_hex();
        self.tracer.record(trace.finish(&ended));
        let record = ToolCallRecord {
            request_id,
            trace_id,
            caller,
            tool: entry.spec.name.to_owned(),
            contract_version: self.spec.version,
            contract: Some(entry.spec.contract.to_owned()),
            operation: Some(entry.operation.clone()),
            decision: ended.decision,
            identity: Some(entry.spec.identity),
            upstream_status: ended.status,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            bytes_in,
            bytes_out: bytes_of(&ended.response),
            outcome: ended.outcome,
            arguments: args.keys().cloned().collect(),
            detail: ended.detail.as_deref().map(|d| self.scrubber.text(d)),
            drift: ended.drift,
            auth_disabled: self.settings.auth_disabled(),
        };
        self.audit.write(&record.to_line(SystemTime::now()));
        self.metrics.call(
            entry.spec.name,
            record.decision,
            record.outcome,
            record.upstream_status,
            latency,
        );
        Ok(ended.response)
    }

    /// A refusal: an error result ending with the escalation text.
    pub(super) fn refuse(&self, entry: &ToolEntry, reason: DenyReason, text: String) -> Ended {
        Ended::not_executed(
            text_result(self.escalated(entry, text), true).into(),
            Decision::Denied(reason),
            Some(reason.as_str().to_owned()),
        )
    }

    /// `text`, then the tool's (or else the server's) escalation message.
    pub(super) fn escalated(&self, entry: &ToolEntry, text: String) -> String {
        match entry.spec.escalation.or(self.spec.escalation) {
            Some(escalation) => format!("{text}\n\n{escalation}"),
            None => text,
        }
    }

    async fn run(
        &self,
        entry: &ToolEntry,
        args: &JsonObject,
        principal: &Principal,
        asker: &Asker,
        request_id: &str,
        trace: &mut CallTrace,
    ) -> Ended {
        let spec = entry.spec;
        let mut authorizing = trace.step("authorize", SpanKind::Internal);
        let missing = principal.missing_scopes(spec.scopes);
        if !missing.is_empty() {
            authorizing.error = true;
            trace.done(authorizing);
            let mut ended = self.refuse(
                entry,
                DenyReason::InsufficientScope,
                insufficient_scope_text(spec.name, &missing),
            );
            ended.detail = Some(format!("missing scope {}", missing.join(" ")));
            return ended;
        }
        if let Err(wait) = self.shared.take_call(&principal.subject).await {
            authorizing.error = true;
            trace.done(authorizing);
            return self.refuse(
                entry,
                DenyReason::RateLimited,
                format!(
                    "rate_limited: this caller made more than {} tool calls in the last minute; \
                     try again in {} seconds. The upstream API was not called.",
                    self.limits.calls_per_minute,
                    wait.as_secs() + 1
                ),
            );
        }
        trace.done(authorizing);
        let mut validating = trace.step("validate arguments", SpanKind::Internal);
        let without_nulls;
        let args = if spec.nulls_absent {
            without_nulls = remove_nulls(args);
            &without_nulls
        } else {
            args
        };
        let compiled = match entry.compiled() {
            Ok(compiled) => compiled,
            Err(e) => {
                validating.error = true;
                trace.done(validating);
                let text = format!(
                    "This tool cannot run: its {e}. The upstream API was not called; the server's \
                     operator should rebuild it with mcpgen."
                );
                return Ended::shaped(
                    Shaped::error(Outcome::InvalidRequest, text, Some(e.to_owned())),
                    Decision::Allowed,
                    None,
                );
            }
        };
        let checked = compiled.input.check(&Value::Object(args.clone()));
        validating.error = checked.is_err();
        trace.done(validating);
        if let Err(violations) = checked {
            return invalid_arguments(spec.name, &violations);
        }
        if let Err(e) = self.identities.available(spec.identity, principal) {
            return self.refuse(
                entry,
                DenyReason::IdentityUnavailable,
                format!("identity_unavailable: {e}. The upstream API was not called."),
            );
        }
        let mut call_args = args.clone();
        call_args.remove(CONFIRMATION_ARGUMENT);
        let placeholder = (spec.identity != crate::spec::IdentityMode::ServiceAccount)
            .then(|| Secret::new(crate::support::secret::MASK));
        let mut request =
            match entry
                .plan
                .build(&call_args, &self.settings, request_id, placeholder.as_ref())
            {
                Ok(request) => request,
                Err(RequestError::BlankPathValue { name }) => {
                    let text = format!(
                        "Invalid arguments for tool `{}`; the upstream API was not called.\n- {}",
                        spec.name,
                        RequestError::BlankPathValue { name: name.clone() }
                    );
                    return Ended::shaped(
                        Shaped::error(
                            Outcome::InvalidArguments,
                            text,
                            Some(format!("blank path argument {name}")),
                        ),
                        Decision::Allowed,
                        None,
                    );
                }
                Err(e) => {
                    let text = format!("The request could not be built: {e}");
                    return Ended::shaped(
                        Shaped::error(Outcome::InvalidRequest, text, Some(e.to_string())),
                        Decision::Allowed,
                        None,
                    );
                }
            };
        let size = request.body_len();
        if size > self.limits.max_request_bytes {
            return self.refuse(
                entry,
                DenyReason::RequestTooLarge,
                format!(
                    "request_too_large: the request body would be {size} bytes; this server \
                     sends at most {} bytes upstream. The upstream API was not called.",
                    self.limits.max_request_bytes
                ),
            );
        }
        let mut decision = Decision::Allowed;
        if spec.confirm {
            if let Err(stop) = self.confirm(entry, args, principal, asker).await {
                return stop;
            }
            decision = Decision::Confirmed;
        }
        // The slot is taken only now: a call waiting for a human holds none.
        let Ok(_permit) = self.concurrency.acquire().await else {
            let mut ended = self.refuse(
                entry,
                DenyReason::ConcurrencyLimit,
                format!(
                    "busy: {} tool calls are already in progress on this server; try again in a \
                     moment. The upstream API was not called.",
                    self.concurrency.max()
                ),
            );
            if decision == Decision::Confirmed {
                ended.detail = Some("concurrency_limit after confirmation".into());
            }
            return ended;
        };
        let mut identity = trace.step("upstream identity", SpanKind::Internal);
        identity.set(
            "mcp.identity",
            crate::observe::audit::identity_name(spec.identity),
        );
        let token = self
            .identities
            .token(spec.identity, principal, Instant::now())
            .await;
        identity.error = token.is_err();
        trace.done(identity);
        let token = match token {
            Ok(token) => token,
            Err(e) => {
                let text = self.escalated(
                    entry,
                    format!(
                        "identity_unavailable: no upstream access token could be obtained: {e}. \
                         The upstream API was not called."
                    ),
                );
                return Ended::shaped(
                    Shaped::error(Outcome::IdentityError, text, Some(e.to_string())),
                    decision,
                    None,
                );
            }
        };
        if let Some(token) = &token {
            for (name, value) in &mut request.headers {
                if name == "authorization" {
                    *value = format!("Bearer {}", token.expose());
                }
            }
        }
        let scrubber = self.call_scrubber(principal, token.as_ref());
        let mut sent = trace.step("upstream", SpanKind::Client);
        sent.set("http.request.method", spec.operation.method.as_str());
        sent.set("url.template", spec.operation.path);
        if trace.propagate {
            request.headers.push((
                "traceparent".to_owned(),
                traceparent(&trace.context, sent.id),
            ));
        }
        let response = self.upstream.send(request).await;
        match &response {
            Ok(response) => sent.set("http.response.status_code", response.status),
            Err(_) => sent.error = true,
        }
        trace.done(sent);
        let response = match response {
            Ok(response) => response,
            Err(e) => return self.unanswered(entry, &e, &scrubber, decision),
        };
        let plan = ResultPlan {
            output: &spec.output,
            validator: compiled.output.as_ref().map(|o| &o.validator),
            schema: compiled.output.as_ref().map(|o| &o.schema),
            scrubber: &scrubber,
            resource_uri: &entry.resource_uri,
            max_result_tokens: spec
                .output
                .max_result_tokens
                .unwrap_or(self.limits.max_result_tokens),
        };
        let shaping = trace.step("shape result", SpanKind::Internal);
        let shaped = plan.shape(&response);
        trace.done(shaping);
        Ended::shaped(shaped, decision, Some(response.status))
    }

    /// How a call ends when the upstream gave no response to shape. The text is scrubbed in any
    /// ASCII case: a redirect target is upstream input, and URL parsing lower-cases hosts. A
    /// redirect to another origin gets the escalation text and, for the audit line, only the
    /// target's origin.
    fn unanswered(
        &self,
        entry: &ToolEntry,
        error: &UpstreamError,
        scrubber: &Scrubber,
        decision: Decision,
    ) -> Ended {
        // A target is scrubbed whole, then cut: a cut first could leave a secret's start.
        let text = match error {
            UpstreamError::Redirect(e) => scrubber.text_ignoring_case(&e.message(|url| {
                redirect::shown_cut(&scrubber.text_ignoring_case(&redirect::full_target_text(url)))
            })),
            other => scrubber.text_ignoring_case(&other.to_string()),
        };
        let (outcome, detail, status) = match error {
            UpstreamError::Timeout { .. } => (Outcome::Timeout, text.clone(), None),
            UpstreamError::InvalidRequest(_) => (Outcome::InvalidRequest, text.clone(), None),
            UpstreamError::Transport(_) => (Outcome::TransportError, text.clone(), None),
            UpstreamError::Redirect(RedirectError::OtherOrigin { status, target, .. }) => {
                let origin = scrubber.text_ignoring_case(&redirect::origin_text(target));
                let text = self.escalated(entry, text);
                let shaped = Shaped::error(
                    Outcome::RedirectRefused,
                    text,
                    Some(format!("redirect to {origin}")),
                );
                return Ended::shaped(shaped, decision, Some(*status));
            }
            UpstreamError::Redirect(e @ RedirectError::Loop { .. }) => (
                Outcome::UpstreamError,
                "redirect loop".into(),
                Some(e.status()),
            ),
            UpstreamError::Redirect(e @ RedirectError::TooMany { .. }) => (
                Outcome::UpstreamError,
                format!("more than {} redirects", redirect::MAX_REDIRECTS),
                Some(e.status()),
            ),
        };
        Ended::shaped(Shaped::error(outcome, text, Some(detail)), decision, status)
    }

    /// The server's scrubber plus the tokens this call holds.
    fn call_scrubber(&self, principal: &Principal, token: Option<&Secret>) -> Scrubber {
        let extra: Vec<String> = principal
            .token
            .iter()
            .chain(token)
            .map(|s| s.expose().to_owned())
            .collect();
        if extra.is_empty() {
            self.scrubber.clone()
        } else {
            self.scrubber.with(extra)
        }
    }
}

/// The result of a call whose arguments break the tool's schema.
fn invalid_arguments(tool: &str, violations: &[validate::Violation]) -> Ended {
    let mut paths: Vec<&str> = violations
        .iter()
        .map(|v| v.instance_path.as_str())
        .collect();
    paths.dedup();
    let text = format!(
        "Invalid arguments for tool `{tool}`; the upstream API was not called.\n{}",
        validate::describe(violations, MAX_ARGUMENT_ERRORS)
    );
    let detail = format!("argument errors at {}", paths.join(", "));
    Ended::shaped(
        Shaped::error(Outcome::InvalidArguments, text, Some(detail)),
        Decision::Allowed,
        None,
    )
}

/// The arguments without `null` members, at any depth (array items stay): for tools whose
/// published schema writes "absent" as `null`.
fn remove_nulls(args: &JsonObject) -> JsonObject {
    fn clean(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), clean(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(clean).collect()),
            other => other.clone(),
        }
    }
    args.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), clean(v)))
        .collect()
}
