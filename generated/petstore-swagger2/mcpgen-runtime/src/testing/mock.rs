//! A mock upstream API: an axum server on `127.0.0.1:0` that records every request and
//! answers each with the same canned response, unless responses were queued for the next
//! requests ([`MockUpstream::queue`]: a redirect first, then the answer).
//!
//! Records exactly what arrived: method, raw (still percent-encoded) path, the raw query and
//! its decoded pairs in order, headers in order, body bytes and content type.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the mock answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Further headers (`Location` …).
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering (to provoke timeouts).
    pub delay: Option<Duration>,
}

impl MockResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        MockResponse {
            status,
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
            headers: Vec::new(),
            delay: None,
        }
    }

    /// A redirect: `status` with `Location: location` and no body.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        MockResponse {
            status,
            content_type: None,
            body: Vec::new(),
            headers: vec![("location".into(), location.into())],
            delay: None,
        }
    }
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    /// The query string as sent, without `?`.
    pub raw_query: Option<String>,
    /// Query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers in order (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
}

impl RecordedRequest {
    /// Every value of a header, joined with `, ` (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

#[derive(Debug)]
struct MockState {
    requests: Mutex<Vec<RecordedRequest>>,
    response: Mutex<MockResponse>,
    queued: Mutex<VecDeque<MockResponse>>,
}

/// A running mock upstream; stops when dropped.
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<MockState>,
    task: JoinHandle<()>,
}

impl MockUpstream {
    /// Starts the mock on a free loopback port.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub async fn start(response: MockResponse) -> Self {
        let state = Arc::new(MockState {
            requests: Mutex::default(),
            response: Mutex::new(response),
            queued: Mutex::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("mock upstream: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("mock upstream: no local address");
        let app = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockUpstream { addr, state, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The mock's URL with the path of `base_url` (so `/v1` prefixes are kept).
    pub fn url_with_path_of(&self, base_url: &str) -> String {
        let path = reqwest::Url::parse(base_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{}{path}", self.url())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Answers the next request with `response` instead of the canned one. Queued responses
    /// are served in order, each once; then the canned response again.
    pub fn queue(&self, response: MockResponse) {
        self.state
            .queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(response);
    }

    /// Changes the canned response.
    pub fn set_response(&self, response: MockResponse) {
        *self
            .state
            .response
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = response;
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(state): State<Arc<MockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_query = uri.query().map(str::to_owned);
    let query = raw_query
        .as_deref()
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map(|(_, v)| v.clone());
    state
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(RecordedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            raw_query,
            query,
            headers,
            body: body.to_vec(),
            content_type,
        });
    let queued = state
        .queued
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front();
    let canned = queued.unwrap_or_else(|| {
        state
            .response
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    });
    if let Some(delay) = canned.delay {
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(canned.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, canned.body).into_response();
    response.headers_mut().remove(header::CONTENT_TYPE);
    if let Some(ct) = canned.content_type.and_then(|ct| ct.parse().ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    for (name, value) in canned.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
