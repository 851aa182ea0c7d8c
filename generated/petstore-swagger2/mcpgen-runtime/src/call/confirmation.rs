//! Asking a human before a tool marked `confirm: true` runs: through MCP elicitation when the
//! client can answer (the 2026-07-28 `input_required` round or the legacy request), otherwise
//! the dry run and its single-use token, redeemed in the shared state.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequiredResult, JsonObject,
};
use rmcp::service::Peer;
use serde_json::Value;

use crate::call::catalog::ToolEntry;
use crate::call::dry_run;
use crate::call::pipeline::{Asker, Ended, ServerState, text_result};
use crate::identity::caller::unix_now;
use crate::identity::confirm::{Binding, Purpose, TokenProblem};
use crate::observe::audit::{Decision, DenyReason};
use crate::spec::CONFIRMATION_ARGUMENT;
use crate::state::Unavailable;
use crate::support::principal::Principal;

/// Key of the confirmation question in a 2026-07-28 `inputRequests` map.
pub const ELICITATION_KEY: &str = "confirm";

/// How long the human has to answer an elicitation.
pub const ELICITATION_TIMEOUT: Duration = Duration::from_secs(600);

impl ServerState {
    /// Gets a human's confirmation: `Ok` to go on, `Err` with how the call ends instead.
    pub(super) async fn confirm(
        &self,
        entry: &ToolEntry,
        args: &JsonObject,
        principal: &Principal,
        asker: &Asker,
    ) -> Result<(), Ended> {
        let spec = entry.spec;
        let binding = Binding {
            tool: spec.name,
            subject: &principal.subject,
            args,
        };
        let now = unix_now();
        let mut call_args = args.clone();
        call_args.remove(CONFIRMATION_ARGUMENT);
        let description = match entry.plan.masked(&call_args, &self.settings) {
            Ok(request) => dry_run::describe(&request, self.upstream.base_url()),
            Err(_) => format!("{} {}", spec.operation.method.as_str(), spec.operation.path),
        };
        let message = dry_run::elicitation_message(spec.name, &description);
        match asker {
            Asker::Elicit(peer) => match elicit(peer, &message).await {
                Some(true) => return Ok(()),
                Some(false) => return Err(self.declined(entry)),
                None => {}
            },
            Asker::Rounds {
                request_state,
                responses,
            } => {
                let ticket = request_state.as_deref().and_then(|state| {
                    self.confirmations
                        .check(Purpose::State, state, &binding, now)
                        .ok()
                });
                let redeemed = match ticket {
                    Some(ticket) => self
                        .shared
                        .redeem(&ticket, now)
                        .await
                        .map_err(|Unavailable| self.state_unavailable(entry))?,
                    None => false,
                };
                if redeemed {
                    match responses.as_ref().and_then(|r| r.get(ELICITATION_KEY)) {
                        Some(answer) if accepted(answer) => return Ok(()),
                        Some(_) => return Err(self.declined(entry)),
                        None => {}
                    }
                }
                if let Some(params) = elicitation_params(&message) {
                    let state = self.confirmations.issue(Purpose::State, &binding, now);
                    let request = InputRequest::Elicitation(ElicitRequest::new(params));
                    let inputs = [(ELICITATION_KEY.to_owned(), request)];
                    let result =
                        InputRequiredResult::new(Some(inputs.into_iter().collect()), Some(state));
                    return Err(Ended::not_executed(
                        result.into(),
                        Decision::ConfirmationRequested,
                        None,
                    ));
                }
            }
            Asker::Fallback => {}
        }
        let given = args.get(CONFIRMATION_ARGUMENT).and_then(Value::as_str);
        let problem = match given {
            None => None,
            Some(token) => match self
                .confirmations
                .check(Purpose::Token, token, &binding, now)
            {
                Ok(ticket) => match self.shared.redeem(&ticket, now).await {
                    Ok(true) => return Ok(()),
                    Ok(false) => Some(TokenProblem::Used),
                    Err(Unavailable) => return Err(self.state_unavailable(entry)),
                },
                Err(problem) => Some(problem),
            },
        };
        let token = self.confirmations.issue(Purpose::Token, &binding, now);
        let text = dry_run::dry_run_text(spec.name, &description, &token, problem);
        // A tool that publishes an output schema must not return a successful result without
        // structured content (clients validate it), so its dry run is flagged as an error.
        let result = text_result(text, spec.output.schema.is_some());
        Err(Ended::not_executed(
            result.into(),
            Decision::DryRun,
            problem.map(|p| p.describe().to_owned()),
        ))
    }

    /// A confirmed write refused because the replicas' shared state cannot say whether its
    /// token was already used (fail closed).
    fn state_unavailable(&self, entry: &ToolEntry) -> Ended {
        self.refuse(
            entry,
            DenyReason::StateUnavailable,
            format!(
                "state_unavailable: the confirmation of `{}` cannot be checked now (the store \
                 the server's replicas share is unreachable), so the call was refused; nothing \
                 was sent to the upstream API. Try again in a minute.",
                entry.spec.name
            ),
        )
    }

    fn declined(&self, entry: &ToolEntry) -> Ended {
        let text = self.escalated(
            entry,
            format!(
                "declined: the user did not confirm `{}`; nothing was sent to the upstream API.",
                entry.spec.name
            ),
        );
        Ended::not_executed(text_result(text, true).into(), Decision::Declined, None)
    }
}

/// The confirmation form: one required boolean, `confirm`.
fn elicitation_params(message: &str) -> Option<ElicitRequestParams> {
    let schema = ElicitationSchema::builder()
        .required_bool_with("confirm", |b| {
            b.title("Run this request")
                .description("Tick to let the assistant send this request.")
        })
        .build()
        .ok()?;
    Some(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.to_owned(),
        requested_schema: schema,
    })
}

/// Whether an elicitation answer (as JSON) confirms: `accept`, and `confirm` not `false`.
fn accepted(answer: &Value) -> bool {
    answer.get("action").and_then(Value::as_str) == Some("accept")
        && answer.pointer("/content/confirm") != Some(&Value::Bool(false))
}

/// Asks through a legacy session: `Some(confirmed)`, or `None` when the client could not be
/// asked (the caller then falls back to a dry run).
async fn elicit(peer: &Peer<RoleServer>, message: &str) -> Option<bool> {
    let result: ElicitResult = peer
        .create_elicitation_with_timeout(elicitation_params(message)?, Some(ELICITATION_TIMEOUT))
        .await
        .ok()?;
    let answer = serde_json::to_value(&result).ok()?;
    Some(result.action == ElicitationAction::Accept && accepted(&answer))
}
