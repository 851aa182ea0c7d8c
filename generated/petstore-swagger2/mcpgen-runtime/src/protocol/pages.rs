//! `tools/list` pages written from the tools' schema texts, over both transports.
//!
//! Parsing every schema of a page into JSON values only to serialise them again is what a large
//! server's `tools/list` spends its time on (GitHub's 1,223 tools: ~40 ms for 3.5 MB, a third
//! of it in the allocator). Instead the handler answers a page with its tools' catalog
//! positions in the result's `_meta` ([`positions_meta`]), and the transport writes each tool's
//! [`ToolText`] in their place ([`write_page`]): the stdio transport for every page
//! ([`crate::protocol::stdio`]), the HTTP layer ([`write_http_pages`]) for the requests it marks
//! ([`WritesPage`]) before rmcp handles them. The marker is never sent, and the page is the JSON
//! rmcp would have written (tests compare them).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::MetaObject;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::call::catalog::{Catalog, ToolText};
use crate::call::pipeline::ServerState;

/// The `_meta` member in which the handler names a page's tools by their catalog positions,
/// for the transport to write; it is never sent.
const TOOL_POSITIONS: &str = "io.mcpgen/tool-positions";

/// The `_meta` of a `tools/list` result whose tools are the catalog's at `positions`.
pub(crate) fn positions_meta(positions: &[usize]) -> MetaObject {
    let mut meta = Map::new();
    meta.insert(TOOL_POSITIONS.to_owned(), Value::from(positions));
    MetaObject(meta)
}

/// Whether a result's `_meta` names its tools by catalog position.
pub(crate) fn names_positions(meta: Option<&MetaObject>) -> bool {
    meta.is_some_and(|meta| meta.0.contains_key(TOOL_POSITIONS))
}

/// A `tools/list` page the handler answered with catalog positions names a tool the catalog
/// does not have (a bug: the positions come from the same catalog).
#[derive(Debug)]
pub struct UnknownTool;

impl std::fmt::Display for UnknownTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a tools/list page names a tool the catalog does not have")
    }
}

impl std::error::Error for UnknownTool {}

/// A JSON-RPC response (`{"jsonrpc", "id", "result": {…}}`) whose result names its tools by
/// catalog position, written with the tools in their place: compact JSON, without the marker.
/// `None` when the message names no positions.
pub fn write_page(catalog: &Catalog, message: Value) -> Result<Option<Vec<u8>>, UnknownTool> {
    let Value::Object(mut envelope) = message else {
        return Ok(None);
    };
    let Some(Value::Object(result)) = envelope.get_mut("result") else {
        return Ok(None);
    };
    let Some(positions) = take_positions(result) else {
        return Ok(None);
    };
    let Some(Value::Object(mut rest)) = envelope.shift_remove("result") else {
        return Ok(None);
    };
    rest.shift_remove("tools");
    let tools = positions
        .iter()
        .map(|&i| catalog.at(i).map(|entry| entry.text()))
        .collect::<Option<Vec<_>>>()
        .ok_or(UnknownTool)?;
    let mut page = serde_json::to_vec(&WrittenPage {
        envelope,
        result: PageResult { tools, rest },
    })
    .map_err(|_| UnknownTool)?;
    // The schema texts may be pretty-printed (the contract's are): a stdio line must not
    // break inside them, and the spaces are not worth sending.
    compact(&mut page);
    Ok(Some(page))
}

/// Removes the page's catalog positions from a result's `_meta` (and the `_meta` if nothing
/// else is in it).
fn take_positions(result: &mut Map<String, Value>) -> Option<Vec<usize>> {
    let Some(Value::Object(meta)) = result.get_mut("_meta") else {
        return None;
    };
    let positions = meta.shift_remove(TOOL_POSITIONS)?;
    if meta.is_empty() {
        result.shift_remove("_meta");
    }
    positions
        .as_array()?
        .iter()
        .map(|p| p.as_u64().and_then(|p| usize::try_from(p).ok()))
        .collect()
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

/// Marks an HTTP request whose `tools/list` page [`write_http_pages`] writes: the handler then
/// answers with catalog positions.
#[derive(Debug, Clone, Copy)]
pub struct WritesPage;

/// The axum layer that writes `tools/list` pages over HTTP: a POST holding one `tools/list`
/// request is marked ([`WritesPage`]), and its JSON answer gets its tools written in.
pub async fn write_http_pages(
    State(server): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    // The authentication layer has read the body already (and bounded it): this takes it whole.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let lists = lists_tools(&bytes);
    if lists {
        parts.extensions.insert(WritesPage);
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !lists {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let written = serde_json::from_slice(&bytes)
        .ok()
        .map(|message| write_page(&server.catalog, message));
    match written {
        Some(Ok(Some(page))) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(page))
        }
        Some(Err(_)) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Whether a request body is one JSON-RPC request for `tools/list` (a batch is left to rmcp).
fn lists_tools(body: &[u8]) -> bool {
    /// The members that say what a message is (a method written with escapes is not
    /// recognised, and is left to rmcp).
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        method: Option<&'a str>,
        id: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Envelope<'_>>(body)
        .is_ok_and(|m| m.method == Some("tools/list") && m.id.is_some())
}
