//! The stdio transport: rmcp's line reader, and a writer of whole lines that writes
//! `tools/list` pages from the tools' schema texts.
//!
//! Parsing every schema of a page into JSON values only to serialise them again is what a large
//! server's `tools/list` spends its time on (GitHub's 1,223 tools: ~40 ms for 3.5 MB). Over
//! stdio the handler ([`McpServer::with_written_pages`]) answers a page with its tools' catalog
//! positions in the result's `_meta`, and this transport writes each tool's [`ToolText`] in
//! their place. Every other message is serialised as rmcp's stdio transport does, one JSON
//! message per line; reading (the line limit, parse errors and the error responses they get) is
//! rmcp's own.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rmcp::RoleServer;
use rmcp::model::{JsonRpcMessage, MetaObject, ServerResult};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::PollSender;

use crate::catalog::{Catalog, ToolText};
use crate::server::McpServer;

/// The `_meta` member in which the handler names a page's tools by their catalog positions,
/// for this transport to write; it is never sent.
const TOOL_POSITIONS: &str = "io.mcpgen/tool-positions";

/// Lines queued for the writer before senders wait for it.
const QUEUED_LINES: usize = 16;

/// The `_meta` of a `tools/list` result whose tools are the catalog's at `positions`.
pub(crate) fn positions_meta(positions: &[usize]) -> MetaObject {
    let mut meta = Map::new();
    meta.insert(TOOL_POSITIONS.to_owned(), Value::from(positions));
    MetaObject(meta)
}

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

/// One message as a line: a `tools/list` page with its tools written from their texts, any
/// other message as serde serialises it.
fn encode(catalog: &Catalog, mut message: TxJsonRpcMessage<RoleServer>) -> io::Result<Vec<u8>> {
    let positions = match &mut message {
        JsonRpcMessage::Response(response) => match &mut response.result {
            ServerResult::ListToolsResult(list) => take_positions(&mut list.meta),
            _ => None,
        },
        _ => None,
    };
    let mut line = match positions {
        None => serde_json::to_vec(&message)?,
        Some(positions) => {
            // The message as rmcp would send it, but for its tools: serialised with an empty
            // list, which is then left out and replaced.
            let Value::Object(mut envelope) = serde_json::to_value(&message)? else {
                return Err(io::Error::other("a response is not a JSON object"));
            };
            let Some(Value::Object(mut rest)) = envelope.shift_remove("result") else {
                return Err(io::Error::other("a tools/list response has no result"));
            };
            rest.shift_remove("tools");
            let tools = positions
                .iter()
                .map(|&i| catalog.at(i).map(|entry| entry.text()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| io::Error::other("a tools/list page names an unknown tool"))?;
            let mut page = serde_json::to_vec(&WrittenPage {
                envelope,
                result: PageResult { tools, rest },
            })?;
            // The schema texts may be pretty-printed (the contract's are): a line must not
            // break inside them.
            compact(&mut page);
            page
        }
    };
    line.push(b'\n');
    Ok(line)
}

/// Removes the whitespace between the tokens of a JSON text, in place; strings (in which a
/// line break can only be escaped) are kept as they are.
fn compact(json: &mut Vec<u8>) {
    let (mut read, mut kept) = (0, 0);
    while read < json.len() {
        let byte = json[read];
        if byte != b'"' {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                json[kept] = byte;
                kept += 1;
            }
            read += 1;
            continue;
        }
        // A string, up to its closing quote, copied whole.
        let start = read;
        read += 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &json[read.min(json.len())..]) {
                Some(at) if json[read + at] == b'"' => {
                    read += at + 1;
                    break;
                }
                Some(at) => read += at + 2, // a backslash and the character it escapes
                None => {
                    read = json.len();
                    break;
                }
            }
        }
        let end = read.min(json.len());
        json.copy_within(start..end, kept);
        kept += end - start;
    }
    json.truncate(kept);
}

/// Removes the page's catalog positions from a result's `_meta` (and the `_meta` if nothing
/// else is in it).
fn take_positions(meta: &mut Option<MetaObject>) -> Option<Vec<usize>> {
    let members = &mut meta.as_mut()?.0;
    let positions = members.shift_remove(TOOL_POSITIONS)?;
    if members.is_empty() {
        *meta = None;
    }
    positions
        .as_array()?
        .iter()
        .map(|p| p.as_u64().and_then(|p| usize::try_from(p).ok()))
        .collect()
}

/// A `tools/list` response whose tools are written from their texts.
#[derive(Serialize)]
struct WrittenPage {
    #[serde(flatten)]
    envelope: Map<String, Value>,
    result: PageResult,
}

/// A `tools/list` result: the tools, then the rest as rmcp serialised it.
#[derive(Serialize)]
struct PageResult {
    tools: Vec<ToolText<'static>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
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
    use crate::audit::AuditSink;
    use crate::auth::Principal;
    use crate::config::Settings;
    use crate::spec::ToolSpec;
    use crate::testing_specs::{server_with, tool_spec};
    use rmcp::ServiceExt;
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, BufReader};

    #[test]
    fn compacts_between_tokens_and_keeps_strings_whole() {
        let pretty = "{\n  \"a b\" : [ 1 ,\t2 ],\r\n  \"s\": \"  spaced \\\" quote \\\\\",\n  \
                      \"t\": \"\\\\\", \"u\" : \"\\n \\u0041\" , \"e\": \"\" }\n";
        let mut json = pretty.as_bytes().to_vec();
        compact(&mut json);
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"a b":[1,2],"s":"  spaced \" quote \\","t":"\\","u":"\n \u0041","e":""}"#
        );

        // Not JSON (an unterminated string): nothing is lost or read past.
        let mut broken = b"[ \"a \\".to_vec();
        compact(&mut broken);
        assert_eq!(broken, b"[\"a \\");
    }

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
