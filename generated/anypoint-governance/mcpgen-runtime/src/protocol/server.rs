//! The MCP server: rmcp's `ServerHandler`, implemented by hand over the tool catalog.
//!
//! Owns building the state every call shares (once; [`McpServer`] is a cheap `Arc` clone of it,
//! as the HTTP transport's per-request factory needs) and the mapping of MCP requests onto it:
//! `initialize` info, `tools/list` filtered to the tools the caller's scopes allow, with
//! paging, and `tools/call`. The caller is the [`Principal`] the HTTP layer put in the request
//! (read through `http::request::Parts`), or, without HTTP (stdio, in-process), the configured
//! local principal. Whether a human can be asked is read from the client's capabilities and
//! protocol version. It holds no transport code.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::call::catalog::{Catalog, InvalidCursor, StartupError};
use crate::call::concurrency::{ConcurrencyLimiter, QUEUE_WAIT};
use crate::call::pipeline::{Asker, Call, RequestIds, ServerState};
use crate::identity::confirm::Confirmations;
use crate::identity::upstream_token::Identities;
use crate::observe::audit::AuditSink;
use crate::observe::metrics::Metrics;
use crate::observe::trace::Tracer;
use crate::protocol::pages::WritesPage;
use crate::request::upstream::Upstream;
use crate::response::scrub::Scrubber;
use crate::spec::{CredentialKind, ServerSpec, ToolSpec};
use crate::state::SharedState;
use crate::support::cli::Limits;
use crate::support::principal::Principal;
use crate::support::requirements::sends_credential;
use crate::support::settings::Settings;

/// A generated server's MCP handler.
#[derive(Debug, Clone)]
pub struct McpServer {
    state: Arc<ServerState>,
    /// Whether every `tools/list` result names its tools' catalog positions for the transport
    /// to write ([`crate::protocol::pages`]; the stdio transport) rather than carry parsed tools. Over
    /// HTTP the layer that writes pages marks the requests it writes instead.
    writes_pages: bool,
}

impl McpServer {
    /// Prepares the server: tool catalog, validators, HTTP clients, limits, the OAuth client.
    /// Fails when a spec is broken (bad schema JSON, unknown credential, bad fixed value, a
    /// confirm tool without the confirmation argument) or a client cannot be built.
    pub fn new(
        spec: &'static ServerSpec,
        settings: Settings,
        audit: AuditSink,
    ) -> Result<Self, StartupError> {
        let catalog = Catalog::new(spec)?;
        let limits = Limits::resolve(spec, settings.limit_flags());
        let user_agent = format!("{}/{} (mcpgen)", spec.name, spec.version);
        let startup = |what: &str, e: String| StartupError {
            tool: None,
            message: format!("the {what} cannot be built: {e}"),
        };
        let upstream = Upstream::new(
            &spec.upstream,
            settings.upstream_url(),
            &user_agent,
            limits.max_response_bytes,
        )
        .map_err(|e| startup("HTTP client", e))?;
        let oauth_http = crate::support::fetch::client(&user_agent)
            .map_err(|e| startup("OAuth HTTP client", e))?;
        // Keys, tokens and passwords are scrubbed from results; user names are not secrets
        // (and scrubbing them would mangle ordinary data).
        let credential_secrets: Vec<String> = spec
            .tools
            .iter()
            .flat_map(|tool| {
                tool.credentials.iter().filter_map(move |id| {
                    let c = spec.upstream.credentials.iter().find(|c| c.id == *id)?;
                    sends_credential(tool, &c.kind).then_some(c)
                })
            })
            .flat_map(|c| match &c.kind {
                CredentialKind::ApiKey { env, .. } | CredentialKind::Bearer { env } => settings
                    .var(env)
                    .map(|s| s.expose().to_owned())
                    .into_iter()
                    .collect::<Vec<_>>(),
                // The password, and the header value it is sent in.
                CredentialKind::Basic {
                    username_env,
                    password_env,
                } => match (settings.var(username_env), settings.var(password_env)) {
                    (Some(user), Some(password)) => vec![
                        password.expose().to_owned(),
                        crate::request::credentials::basic_value(user.expose(), password.expose()),
                    ],
                    (None, Some(password)) => vec![password.expose().to_owned()],
                    _ => Vec::new(),
                },
            })
            .collect();
        let oauth_secret = spec
            .upstream
            .oauth
            .as_ref()
            .and_then(|o| settings.var(o.client_secret_env));
        let local = settings.principal().cloned().unwrap_or_else(|| {
            Principal::new(
                crate::support::cli::DEFAULT_STDIO_SUBJECT,
                spec.scopes.iter().copied(),
            )
        });
        let scrubber = Scrubber::new(
            credential_secrets.into_iter().chain(
                oauth_secret
                    .into_iter()
                    .chain(settings.secret_values())
                    .chain(settings.confirmation_secret())
                    .chain(settings.state_url())
                    .chain(local.token.as_ref())
                    .map(|s| s.expose().to_owned()),
            ),
        );
        let metrics = Metrics::new(spec.name, spec.version);
        let shared = Arc::new(
            SharedState::new(
                &settings,
                spec.name,
                limits.calls_per_minute,
                metrics.clone(),
            )
            .map_err(|e| startup("shared state client", e))?,
        );
        let identities = Identities::new(spec, &settings, oauth_http, Arc::clone(&shared));
        let confirmations = Confirmations::new(settings.confirmation_secret());
        let tracer = match settings.otlp_endpoint() {
            Some(endpoint) => Tracer::otlp(
                crate::support::fetch::client(&user_agent)
                    .map_err(|e| startup("OTLP HTTP client", e))?,
                endpoint,
                spec.name,
                spec.version,
            ),
            None => Tracer::disabled(),
        };
        Ok(McpServer {
            state: Arc::new(ServerState {
                spec,
                catalog,
                upstream,
                audit,
                scrubber,
                ids: RequestIds::default(),
                shared,
                concurrency: ConcurrencyLimiter::new(limits.max_concurrent_calls, QUEUE_WAIT),
                limits,
                identities,
                confirmations,
                local,
                settings,
                metrics,
                tracer,
            }),
            writes_pages: false,
        })
    }

    /// This server, answering `tools/list` with the tools' catalog positions, for a transport
    /// that writes the tools from their schema texts ([`crate::protocol::stdio::StdioTransport`]).
    pub(crate) fn with_written_pages(&self) -> McpServer {
        McpServer {
            state: Arc::clone(&self.state),
            writes_pages: true,
        }
    }

    /// The state every call shares (the HTTP layer that writes `tools/list` pages reads its
    /// catalog).
    pub(crate) fn state(&self) -> Arc<ServerState> {
        Arc::clone(&self.state)
    }

    /// The tool catalog.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.state.catalog
    }

    /// The static spec served.
    pub fn spec(&self) -> &'static ServerSpec {
        self.state.spec
    }

    /// Number of tools served.
    pub fn tool_count(&self) -> usize {
        self.state.catalog.len()
    }

    /// Where audit lines go.
    pub fn audit(&self) -> &AuditSink {
        &self.state.audit
    }

    /// The server's metrics (shared: the HTTP layer counts its refusals in them too).
    pub fn metrics(&self) -> Metrics {
        self.state.metrics.clone()
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.state.limits
    }

    /// Upstream token requests made so far (client credentials and token exchange).
    pub fn token_requests(&self) -> u64 {
        self.state.identities.token_requests()
    }

    /// The caller of transports without their own authentication (stdio, in-process).
    pub fn local_principal(&self) -> &Principal {
        &self.state.local
    }

    /// Calls a tool without a transport, as the local principal: what `tools/call` does
    /// (authorization, limits, validation, confirmation by dry run and token, upstream request,
    /// shaping, one audit line). Errors only for an unknown tool.
    pub async fn call(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_as(self.state.local.clone(), name, arguments)
            .await
    }

    /// [`McpServer::call`] as `principal`.
    pub async fn call_as(
        &self,
        principal: Principal,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = Call {
            name: name.to_owned(),
            arguments,
            principal: Some(principal),
            asker: Asker::Fallback,
            traceparent: None,
        };
        match self.state.call_tool(call, std::future::pending()).await? {
            CallToolResponse::Complete(result) => Ok(result),
            _ => Err(ErrorData::internal_error(
                "the call did not complete in one round",
                None,
            )),
        }
    }

    /// One `tools/list` page of the tools `principal` may use (`cursor` from the previous
    /// page's `nextCursor`).
    pub fn list_tools_page(
        &self,
        principal: &Principal,
        cursor: Option<&str>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.page(principal, cursor, self.writes_pages)
    }

    /// [`McpServer::list_tools_page`], naming the tools by catalog position when `written`.
    fn page(
        &self,
        principal: &Principal,
        cursor: Option<&str>,
        written: bool,
    ) -> Result<ListToolsResult, ErrorData> {
        let visible = |tool: &ToolSpec| principal.allows(tool.scopes);
        let invalid = |e: InvalidCursor| ErrorData::invalid_params(e.to_string(), None);
        let catalog = &self.state.catalog;
        if written {
            let (positions, next) = catalog
                .page_positions_for(cursor, visible)
                .map_err(invalid)?;
            let mut result = ListToolsResult::with_all_items(Vec::new());
            result.meta = Some(crate::protocol::pages::positions_meta(&positions));
            result.next_cursor = next;
            return Ok(result);
        }
        let (tools, next) = catalog.page_for(cursor, visible).map_err(invalid)?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next;
        Ok(result)
    }

    /// The caller of a request: the HTTP layer's principal, or the local one without HTTP.
    fn principal_of(&self, context: &RequestContext<RoleServer>) -> Option<Principal> {
        match context.extensions.get::<axum::http::request::Parts>() {
            Some(parts) => parts.extensions.get::<Principal>().cloned(),
            None => Some(self.state.local.clone()),
        }
    }
}

/// How a human can be asked during this request.
fn asker_of(context: &RequestContext<RoleServer>, request: &CallToolRequestParams) -> Asker {
    let form = context
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    if !form {
        return Asker::Fallback;
    }
    let modern = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    if modern {
        Asker::Rounds {
            request_state: request.request_state.clone(),
            responses: request.input_responses.clone(),
        }
    } else if context
        .extensions
        .get::<axum::http::request::Parts>()
        .is_none()
    {
        // A legacy session (stdio, in-process): the server can send requests to the client.
        Asker::Elicit(context.peer.clone())
    } else {
        // Legacy stateless HTTP has no channel back to the client.
        Asker::Fallback
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let spec = self.state.spec;
        let mut info = Implementation::new(spec.name, spec.version);
        if let Some(title) = spec.title {
            info = info.with_title(title);
        }
        let config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(info);
        match spec.instructions {
            Some(instructions) => config.with_instructions(instructions),
            None => config,
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let cursor = request.and_then(|r| r.cursor);
        let Some(principal) = self.principal_of(&context) else {
            return Ok(ListToolsResult::with_all_items(Vec::new()));
        };
        let written = self.writes_pages
            || context
                .extensions
                .get::<axum::http::request::Parts>()
                .is_some_and(|parts| parts.extensions.get::<WritesPage>().is_some());
        self.page(&principal, cursor.as_deref(), written)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.catalog.get(name).and_then(|e| e.tool().ok())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let ct = context.ct.clone();
        // The client's trace, from the request's `_meta` (rmcp may have moved it to the context).
        let traceparent = [
            request.meta.as_ref().map(|m| &m.0.0),
            Some(&context.meta.0.0),
        ]
        .into_iter()
        .flatten()
        .find_map(|meta| meta.get("traceparent")?.as_str().map(str::to_owned));
        let call = Call {
            principal: self.principal_of(&context),
            asker: asker_of(&context, &request),
            name: request.name.into_owned(),
            arguments: request.arguments,
            traceparent,
        };
        self.state.call_tool(call, ct.cancelled_owned()).await
    }
}
