//! In-process MCP clients: legacy (`initialize`) and 2026-07-28 (`server/discover`)
//! connections over an in-memory pipe, and [`ConfirmingClient`], a client that can be asked to
//! confirm (elicitation) and answers as told.

use std::sync::{Arc, Mutex};

use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    Implementation, ProtocolVersion,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService, Service,
};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::json;

use crate::protocol::server::McpServer;
use crate::protocol::stdio::StdioTransport;

/// The client's end of an in-memory pipe to `server`, served as over stdio
/// ([`StdioTransport`]: `tools/list` pages written from the schema texts).
fn pipe(server: McpServer) -> tokio::io::DuplexStream {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let (read, write) = tokio::io::split(server_io);
        let transport = StdioTransport::new(&server, read, write);
        if let Ok(running) = transport.server().clone().serve(transport).await {
            let _ = running.waiting().await;
        }
    });
    client_io
}

/// `client` connected to `server` in process, with the legacy `initialize` handshake (a
/// session: the server can send requests, such as elicitations, to the client).
///
/// # Panics
/// If the MCP handshake fails.
pub async fn connect_with<C: Service<RoleClient>>(
    server: McpServer,
    client: C,
) -> RunningService<RoleClient, C> {
    client
        .serve(pipe(server))
        .await
        .unwrap_or_else(|e| panic!("in-process MCP client: handshake failed: {e}"))
}

/// `client` connected to `server` in process with protocol 2026-07-28 (`server/discover`, no
/// session: the server asks for input with `input_required` results).
///
/// # Panics
/// If discovery fails.
pub async fn connect_modern<C: Service<RoleClient>>(
    server: McpServer,
    client: C,
) -> RunningService<RoleClient, C> {
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    client
        .serve_with_lifecycle(pipe(server), lifecycle)
        .await
        .unwrap_or_else(|e| panic!("in-process MCP client: discovery failed: {e}"))
}

/// A client that declares form elicitation and answers every confirmation question the same
/// way, remembering the questions.
#[derive(Debug, Clone)]
pub struct ConfirmingClient {
    action: ElicitationAction,
    confirm: bool,
    delay: std::time::Duration,
    questions: Arc<Mutex<Vec<String>>>,
}

impl ConfirmingClient {
    /// Accepts, ticking `confirm`.
    pub fn accepting() -> Self {
        Self::answering(ElicitationAction::Accept, true)
    }

    /// Accepts the form but leaves `confirm` unticked.
    pub fn unticking() -> Self {
        Self::answering(ElicitationAction::Accept, false)
    }

    /// Declines.
    pub fn declining() -> Self {
        Self::answering(ElicitationAction::Decline, false)
    }

    /// Dismisses the question.
    pub fn cancelling() -> Self {
        Self::answering(ElicitationAction::Cancel, false)
    }

    fn answering(action: ElicitationAction, confirm: bool) -> Self {
        ConfirmingClient {
            action,
            confirm,
            delay: std::time::Duration::ZERO,
            questions: Arc::default(),
        }
    }

    /// The same client, taking `ms` milliseconds to answer (a human thinking).
    pub fn thinking(mut self, ms: u64) -> Self {
        self.delay = std::time::Duration::from_millis(ms);
        self
    }

    /// The messages of the questions asked so far.
    pub fn questions(&self) -> Vec<String> {
        self.questions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ClientHandler for ConfirmingClient {
    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {"form": {}}})).unwrap_or_default();
        ClientConfig::new(
            capabilities,
            Implementation::new("mcpgen-confirming-client", "0"),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let message = match &request {
            ElicitRequestParams::FormElicitationParams { message, .. }
            | ElicitRequestParams::UrlElicitationParams { message, .. } => message.clone(),
            _ => String::new(),
        };
        self.questions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
        tokio::time::sleep(self.delay).await;
        let result = ElicitResult::new(self.action.clone());
        Ok(if self.action == ElicitationAction::Accept {
            result.with_content(json!({"confirm": self.confirm}))
        } else {
            result
        })
    }
}
