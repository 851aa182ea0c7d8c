//! The `tools/call` pipeline: validate, build, send, shape, audit.
//!
//! Owns the order of the steps and the audit record of each call. Every failure after the tool
//! is found becomes a tool result with `isError: true` (never a JSON-RPC error), and exactly one
//! audit line is written per call, whatever happens.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, JsonObject};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::{Outcome, ToolCallRecord};
use crate::catalog::ToolEntry;
use crate::result::{ResultPlan, Shaped};
use crate::server::ServerState;
use crate::upstream::UpstreamError;
use crate::validate;

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

impl ServerState {
    /// Runs one tool call. `cancelled` resolves when the client gives up on the call.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        cancelled: impl Future<Output = ()>,
    ) -> Result<CallToolResult, ErrorData> {
        let started = Instant::now();
        let request_id = self.ids.next();
        let args = arguments.unwrap_or_default();
        let Some(entry) = self.catalog.get(name) else {
            let record = ToolCallRecord {
                request_id,
                tool: name.to_owned(),
                operation: None,
                upstream_status: None,
                latency_ms: 0,
                outcome: Outcome::UnknownTool,
                arguments: args.keys().cloned().collect(),
                detail: None,
            };
            self.audit.write(&record.to_line(SystemTime::now()));
            let shown: String = name.chars().take(128).collect();
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{shown}`"),
                None,
            ));
        };
        let (shaped, status) = tokio::select! {
            done = self.run(entry, &args, &request_id) => done,
            () = cancelled => (
                Shaped::error(Outcome::Cancelled, "the call was cancelled", None),
                None,
            ),
        };
        let record = ToolCallRecord {
            request_id,
            tool: entry.spec.name.to_owned(),
            operation: Some(entry.operation.clone()),
            upstream_status: status,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            outcome: shaped.outcome,
            arguments: args.keys().cloned().collect(),
            detail: shaped.detail.as_deref().map(|d| self.scrubber.text(d)),
        };
        self.audit.write(&record.to_line(SystemTime::now()));
        Ok(shaped.result)
    }

    async fn run(
        &self,
        entry: &ToolEntry,
        args: &JsonObject,
        request_id: &str,
    ) -> (Shaped, Option<u16>) {
        if let Err(violations) = entry.input.check(&Value::Object(args.clone())) {
            let mut paths: Vec<&str> = violations
                .iter()
                .map(|v| v.instance_path.as_str())
                .collect();
            paths.dedup();
            let text = format!(
                "Invalid arguments for tool `{}`; the upstream API was not called.\n{}",
                entry.spec.name,
                validate::describe(&violations, MAX_ARGUMENT_ERRORS)
            );
            let detail = format!("argument errors at {}", paths.join(", "));
            return (
                Shaped::error(Outcome::InvalidArguments, text, Some(detail)),
                None,
            );
        }
        let request = match entry.plan.build(args, &self.settings, request_id) {
            Ok(request) => request,
            Err(e) => {
                let text = format!("The request could not be built: {e}");
                return (
                    Shaped::error(Outcome::InvalidRequest, text, Some(e.to_string())),
                    None,
                );
            }
        };
        let response = match self.upstream.send(request).await {
            Ok(response) => response,
            Err(e) => {
                let outcome = match e {
                    UpstreamError::Timeout { .. } => Outcome::Timeout,
                    UpstreamError::TooLarge { .. } => Outcome::ResponseTooLarge,
                    UpstreamError::InvalidRequest(_) => Outcome::InvalidRequest,
                    UpstreamError::Transport(_) => Outcome::TransportError,
                };
                let text = self.scrubber.text(&e.to_string());
                return (Shaped::error(outcome, text.clone(), Some(text)), None);
            }
        };
        let plan = ResultPlan {
            output: &entry.spec.output,
            validator: entry.output.as_ref(),
            scrubber: &self.scrubber,
            resource_uri: &entry.resource_uri,
        };
        (plan.shape(&response), Some(response.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_hex_and_distinct() {
        let ids = RequestIds::default();
        let a = ids.next();
        let b = ids.next();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_ne!(
            RequestIds::default().next(),
            RequestIds {
                seed: [1; 16],
                counter: AtomicU64::new(0)
            }
            .next()
        );
    }
}
