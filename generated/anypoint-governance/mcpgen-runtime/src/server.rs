//! The MCP server: rmcp's `ServerHandler`, implemented by hand over the tool catalog.
//!
//! Owns the server's shared state (built once; [`McpServer`] is a cheap `Arc` clone, as the
//! HTTP transport's per-request factory needs) and the mapping of MCP requests onto it:
//! `initialize` info, `tools/list` with paging, `tools/call`. It holds no transport code.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::audit::AuditSink;
use crate::call::RequestIds;
use crate::catalog::{Catalog, StartupError};
use crate::config::Settings;
use crate::result::Scrubber;
use crate::spec::{CredentialKind, ServerSpec};
use crate::upstream::Upstream;

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
}

/// A generated server's MCP handler.
#[derive(Debug, Clone)]
pub struct McpServer {
    state: Arc<ServerState>,
}

impl McpServer {
    /// Prepares the server: tool catalog, validators, HTTP client. Fails when a spec is broken
    /// (bad schema JSON, unknown credential, bad fixed value) or the client cannot be built.
    pub fn new(
        spec: &'static ServerSpec,
        settings: Settings,
        audit: AuditSink,
    ) -> Result<Self, StartupError> {
        let catalog = Catalog::new(spec)?;
        let user_agent = format!("{}/{} (mcpgen)", spec.name, spec.version);
        let upstream = Upstream::new(&spec.upstream, settings.upstream_url(), &user_agent)
            .map_err(|e| StartupError {
                tool: None,
                message: format!("the HTTP client cannot be built: {e}"),
            })?;
        // Keys, tokens and passwords are scrubbed from results; user names are not secrets
        // (and scrubbing them would mangle ordinary data).
        let secrets = spec
            .upstream
            .credentials
            .iter()
            .map(|c| match &c.kind {
                CredentialKind::ApiKey { env, .. } | CredentialKind::Bearer { env } => *env,
                CredentialKind::Basic { password_env, .. } => *password_env,
            })
            .filter_map(|var| settings.var(var).map(|s| s.expose().to_owned()));
        let scrubber = Scrubber::new(secrets);
        Ok(McpServer {
            state: Arc::new(ServerState {
                spec,
                catalog,
                settings,
                upstream,
                audit,
                scrubber,
                ids: RequestIds::default(),
            }),
        })
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

    /// Calls a tool without a transport: what `tools/call` does (validation, upstream request,
    /// shaping, one audit line). Errors only for an unknown tool.
    pub async fn call(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        self.state
            .call_tool(name, arguments, std::future::pending())
            .await
    }

    /// One `tools/list` page (`cursor` from the previous page's `nextCursor`).
    pub fn list_tools_page(&self, cursor: Option<&str>) -> Result<ListToolsResult, ErrorData> {
        let (tools, next) = self
            .state
            .catalog
            .page(cursor)
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next;
        Ok(result)
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
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let cursor = request.and_then(|r| r.cursor);
        self.list_tools_page(cursor.as_deref())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.catalog.get(name).map(|e| e.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let ct = context.ct.clone();
        self.state
            .call_tool(&request.name, request.arguments, ct.cancelled_owned())
            .await
            .map(Into::into)
    }
}
