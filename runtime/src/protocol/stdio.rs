//! The stdio transport: rmcp's line reader, and a writer of whole lines that writes
//! `tools/list` pages from the tools' schema texts ([`crate::protocol::pages`]).
//!
//! The handler ([`McpServer::with_written_pages`]) answers every page with its tools' catalog
//! positions; this transport writes the tools in their place. Every other message is serialised
//! as rmcp's stdio transport does, one JSON message per line; reading (the line limit, parse
//! errors and the error responses they get) is rmcp's own, and its error responses go through
//! the same ordered queue as the transport's messages.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rmcp::RoleServer;
use rmcp::model::{JsonRpcMessage, ServerResult};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::PollSender;

use crate::call::catalog::Catalog;
use crate::protocol::pages;
use crate::protocol::server::McpServer;

/// Lines queued for the writer before senders wait for it.
const QUEUED_LINES: usize = 16;

/// MCP over a pair of byte streams (stdin and stdout), one JSON-RPC message per line.
pub struct StdioTransport<R: AsyncRead> {
    server: McpServer,
    read: AsyncRwTransport<RoleServer, R, LineWriter>,
    lines: Option<mpsc::Sender<Vec<u8>>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl<R: AsyncRead + Send + Unpin> StdioTransport<R> {
    /// Serves `server` reading `read` and writing `write`. Its `tools/list` pages are written
    /// from the schema texts; must be called within a Tokio runtime (the writer is a task).
    pub fn new(
        server: &McpServer,
        read: R,
        write: impl AsyncWrite + Send + Unpin + 'static,
    ) -> Self {
        let (lines, queue) = mpsc::channel(QUEUED_LINES);
        StdioTransport {
            server: server.with_written_pages(),
            read: AsyncRwTransport::new_server(read, LineWriter::new(lines.clone())),
            lines: Some(lines),
            writer: Some(tokio::spawn(write_lines(write, queue))),
        }
    }

    /// The server this transport serves, answering `tools/list` with catalog positions.
    pub fn server(&self) -> &McpServer {
        &self.server
    }
}

impl<R: AsyncRead + Send + Unpin> Transport<RoleServer> for StdioTransport<R> {
    type Error = io::Error;

    fn send(
        &mut self,
        message: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        let lines = self.lines.clone();
        let server = self.server.clone();
        async move {
            let line = encode(server.catalog(), message)?;
            match lines {
                Some(lines) => lines.send(line).await.map_err(|_| closed()),
                None => Err(closed()),
            }
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.read.receive()
    }

    async fn close(&mut self) -> io::Result<()> {
        // The reader's writer (for its error responses) and this sender are the queue's last
        // senders once in-flight sends end; the writer task then drains the queue and stops.
        self.read.close().await?;
        self.lines = None;
        match self.writer.take() {
            Some(writer) => writer.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the stdio transport is closed")
}

/// One message as a line: a `tools/list` page with its tools written from their texts
/// ([`pages::write_page`]), any other message as serde serialises it.
fn encode(catalog: &Catalog, message: TxJsonRpcMessage<RoleServer>) -> io::Result<Vec<u8>> {
    let page = match &message {
        JsonRpcMessage::Response(response) => match &response.result {
            ServerResult::ListToolsResult(list) => pages::names_positions(list.meta.as_ref()),
            _ => false,
        },
        _ => false,
    };
    let written = if page {
        pages::write_page(catalog, serde_json::to_value(&message)?).map_err(io::Error::other)?
    } else {
        None
    };
    let mut line = match written {
        Some(line) => line,
        None => serde_json::to_vec(&message)?,
    };
    line.push(b'\n');
    Ok(line)
}

/// Writes queued lines in order, flushing when the queue is empty; ends when every sender is
/// gone or a write fails (the client has gone).
async fn write_lines(
    mut out: impl AsyncWrite + Unpin,
    mut queue: mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    while let Some(line) = queue.recv().await {
        out.write_all(&line).await?;
        while let Ok(line) = queue.try_recv() {
            out.write_all(&line).await?;
        }
        out.flush().await?;
    }
    Ok(())
}

/// The writer rmcp's reader answers malformed lines through: each flushed message is queued as
/// one line, in order with the transport's own.
struct LineWriter {
    buffer: Vec<u8>,
    lines: PollSender<Vec<u8>>,
}

impl LineWriter {
    fn new(lines: mpsc::Sender<Vec<u8>>) -> Self {
        LineWriter {
            buffer: Vec::new(),
            lines: PollSender::new(lines),
        }
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().buffer.extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.buffer.is_empty() {
            return Poll::Ready(Ok(()));
        }
        ready!(this.lines.poll_reserve(cx)).map_err(|_| closed())?;
        let line = std::mem::take(&mut this.buffer);
        this.lines.send_item(line).map_err(|_| closed())?;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::audit::AuditSink;
    use crate::spec::ToolSpec;
    use crate::support::principal::Principal;
    use crate::support::settings::Settings;
    use crate::testing_specs::{server_with, tool_spec};
    use rmcp::ServiceExt;
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// A pretty-printed schema (as the contract keeps them) with strings that need escaping.
    const PRETTY: &str = "{\n  \"type\": \"object\",\n  \"description\": \"a \\\"b\\\"\\n c\"\n}";

    /// 150 tools (two pages); the local principal may not see `hidden`.
    fn served() -> McpServer {
        let mut tools: Vec<&'static ToolSpec> = (0..150)
            .map(|i| {
                let name: &'static str = Box::leak(format!("tool_{i:03}").into_boxed_str());
                let mut spec = tool_spec(name, PRETTY, false, &[]);
                spec.description = "one \"line\"\nand another";
                &*Box::leak(Box::new(spec))
            })
            .collect();
        let mut hidden = tool_spec("hidden", "{}", false, &[]);
        hidden.scopes = &["admin"];
        tools.insert(7, Box::leak(Box::new(hidden)));
        let settings = Settings::new("http://127.0.0.1:9")
            .with_principal(Principal::new("local", Vec::<String>::new()));
        McpServer::new(server_with(None, tools), settings, AuditSink::memory()).unwrap()
    }

    /// A client's end of a server's stdin and stdout.
    struct Pipe {
        write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
        lines: tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>,
        serving: JoinHandle<()>,
    }

    impl Pipe {
        /// `server` over this transport when `written`, else over rmcp's own.
        fn start(server: &McpServer, written: bool) -> Pipe {
            let (server_io, client_io) = tokio::io::duplex(1 << 16);
            let (read, write) = tokio::io::split(server_io);
            let server = server.clone();
            let serving = tokio::spawn(async move {
                let running = if written {
                    let transport = StdioTransport::new(&server, read, write);
                    transport.server().clone().serve(transport).await
                } else {
                    server.serve((read, write)).await
                };
                running.unwrap().waiting().await.unwrap();
            });
            let (read, write) = tokio::io::split(client_io);
            let lines = BufReader::new(read).lines();
            Pipe {
                write,
                lines,
                serving,
            }
        }

        /// Sends one line and returns the answer's line.
        async fn exchange(&mut self, line: &str) -> String {
            self.write
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
            self.lines.next_line().await.unwrap().unwrap()
        }
    }

    #[tokio::test]
    async fn writes_each_line_as_rmcp_would_with_tools_list_pages_from_their_texts() {
        let server = served();
        let (mut written, mut typed) = (Pipe::start(&server, true), Pipe::start(&server, false));
        let mut both = async |message: Value| {
            let line = message.to_string();
            let answer = written.exchange(&line).await;
            assert!(
                !answer.contains("io.mcpgen"),
                "the page marker is never sent"
            );
            let answer: Value = serde_json::from_str(&answer).unwrap();
            let expected: Value = serde_json::from_str(&typed.exchange(&line).await).unwrap();
            assert!(
                answer == expected,
                "{line}: {answer:.300} differs from {expected:.300}"
            );
            answer
        };
        both(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .await;

        // Every page, one line each, for the local principal.
        let (mut cursor, mut id, mut listed) = (None::<String>, 2, Vec::new());
        loop {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let answer = both(json!({"jsonrpc": "2.0", "id": id, "method": "tools/list",
                "params": params}))
            .await;
            listed.extend(answer["result"]["tools"].as_array().unwrap().clone());
            match answer["result"]["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
            id += 1;
        }
        assert_eq!(listed.len(), 150, "two pages, without the hidden tool");
        assert_eq!(listed[0]["inputSchema"]["description"], "a \"b\"\n c");
        assert!(listed.iter().all(|t| t["name"] != "hidden"));

        // A bad cursor is an error; a line that is JSON but no message gets rmcp's answer,
        // written through the same queue.
        let bad = both(json!({"jsonrpc": "2.0", "id": 90, "method": "tools/list",
            "params": {"cursor": "nope"}}))
        .await;
        assert_eq!(bad["error"]["code"], -32602);
        let invalid = both(json!({"not": "a message"})).await;
        assert_eq!(invalid["error"]["code"], -32600);

        // When the client closes its end, the server drains its queue and stops.
        for mut pipe in [written, typed] {
            pipe.write.shutdown().await.unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), pipe.serving)
                .await
                .unwrap()
                .unwrap();
        }
    }
}
