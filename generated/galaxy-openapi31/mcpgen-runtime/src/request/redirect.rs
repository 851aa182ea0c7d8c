//! Redirects from the upstream API, followed on purpose rather than by the HTTP client.
//!
//! The upstream client follows no redirect by itself: reqwest's own policy would replay an API
//! key header, or a key in the query, to whatever host a `Location` names. This module owns the
//! decisions for one redirect answer, and nothing else (no I/O; `upstream` sends the hops):
//! - which answers are redirects (301, 302, 303, 307, 308 with a `Location`), and how a
//!   `Location` resolves against the URL that was asked (relative ones included);
//! - whether the target keeps the upstream's origin (scheme, host, port; default ports
//!   normalised): a target on another origin is refused, so nothing is sent there;
//! - the method and body of the next request (RFC 9110 §15.4, as browsers do): 303 becomes
//!   `GET` without a body, so do 301 and 302 after `POST`; otherwise, and always for 307 and
//!   308, the same method and body;
//! - credentials in the query: each credential piece is set on the new URL, replacing a
//!   parameter of that name the `Location` carries (its value is never trusted);
//! - loops and long chains (at most [`MAX_REDIRECTS`] hops);
//! - how a target is shown: `scheme://host[:port]/path`, without user info, query or fragment
//!   (they may hold signatures or tokens). Callers still scrub it: a `Location` is upstream
//!   input.

use std::fmt;

use percent_encoding::percent_decode_str;
use reqwest::Url;

use crate::spec::HttpMethod;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Longest path shown in a message about a redirect target, in characters.
const MAX_SHOWN_PATH_CHARS: usize = 200;

/// Whether `status` is a redirect the runtime follows (when it carries a `Location`).
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The target of a redirect answer: `location` resolved against `current` (the URL that was
/// asked), without fragment. `None` when `status` is not a redirect or `location` is missing
/// or not a URL reference: the answer is then the response.
pub fn target(status: u16, location: Option<&str>, current: &Url) -> Option<Url> {
    if !is_redirect(status) {
        return None;
    }
    let mut url = current.join(location?.trim()).ok()?;
    url.set_fragment(None);
    Some(url)
}

/// Whether two URLs have the same origin: scheme, host and port, default ports normalised.
/// URLs without a host-based origin (`data:`, `mailto:` …) have no origin in common with any.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    let (a, b) = (a.origin(), b.origin());
    a.is_tuple() && a == b
}

/// The method and body of the request that follows a redirect answered with `status` to a
/// request made with `method`: `(method, whether the body is sent again)`.
pub fn next_method(status: u16, method: HttpMethod) -> (HttpMethod, bool) {
    match (status, method) {
        (303, HttpMethod::Get | HttpMethod::Head) => (method, true),
        (303, _) | (301 | 302, HttpMethod::Post) => (HttpMethod::Get, false),
        _ => (method, true),
    }
}

/// `url` with each credential query piece (`name=value`, percent-encoded) set: the first
/// parameter of that name in the URL gets the credential's value and further ones are dropped;
/// without one, the piece is appended. Names compare decoded (`+` is a space).
pub fn with_query_credentials(url: &Url, credentials: &[String]) -> Url {
    let mut pieces: Vec<String> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    for credential in credentials {
        let name = decoded_name(credential);
        let mut found = false;
        pieces.retain_mut(|piece| {
            if decoded_name(piece) != name {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            piece.clone_from(credential);
            true
        });
        if !found {
            pieces.push(credential.clone());
        }
    }
    let mut url = url.clone();
    url.set_query((!pieces.is_empty()).then(|| pieces.join("&")).as_deref());
    url
}

/// The decoded name of a `name=value` query piece.
fn decoded_name(piece: &str) -> String {
    let name = piece
        .split('=')
        .next()
        .unwrap_or_default()
        .replace('+', " ");
    percent_decode_str(&name).decode_utf8_lossy().into_owned()
}

/// The origin of `url` as shown: `scheme://host[:port]` (the port only when not the scheme's
/// default), or `scheme:` for URLs without a host.
pub fn origin_text(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        (None, _) => format!("{}:", url.scheme()),
    }
}

/// A redirect target as shown: [`origin_text`] and the path, percent-decoded (so a secret
/// the upstream encoded is shown as itself, which scrubbing then catches), control
/// characters replaced, cut at [`MAX_SHOWN_PATH_CHARS`]. User info, query and fragment are
/// left out.
pub fn target_text(url: &Url) -> String {
    shown_cut(&full_target_text(url))
}

/// [`target_text`] before it is cut, for callers that scrub first.
pub fn full_target_text(url: &Url) -> String {
    let path = percent_decode_str(url.path()).decode_utf8_lossy();
    let path: String = path
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    format!("{}{path}", origin_text(url))
}

/// A target text (`scheme://host[:port]/path`) with at most [`MAX_SHOWN_PATH_CHARS`] characters
/// of path, `…` marking a cut.
pub fn shown_cut(text: &str) -> String {
    let origin_len = text
        .find("//")
        .and_then(|i| text[i + 2..].find('/').map(|j| i + 2 + j))
        .unwrap_or(text.len());
    let limit = text[..origin_len].chars().count() + MAX_SHOWN_PATH_CHARS;
    let mut shown: String = text.chars().take(limit).collect();
    if text.chars().count() > limit {
        shown.push('…');
    }
    shown
}

/// One request of a redirect chain: where it goes and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The URL, credential query pieces included.
    pub url: Url,
    /// The method.
    pub method: HttpMethod,
    /// Whether the request's body is sent (dropped for good once a redirect turns the request
    /// into a `GET`).
    pub body: bool,
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectError {
    /// The target is on another origin than the upstream; nothing was sent there.
    OtherOrigin {
        /// The redirect status.
        status: u16,
        /// The target (shown with [`target_text`]; it may hold anything the upstream wrote).
        target: Url,
        /// The upstream's origin, as [`origin_text`] shows it.
        upstream: String,
    },
    /// The target was already asked, with the same method, in this chain.
    Loop {
        /// The redirect status.
        status: u16,
        /// The target.
        target: Url,
    },
    /// The chain is longer than [`MAX_REDIRECTS`].
    TooMany {
        /// The last redirect status.
        status: u16,
    },
}

impl RedirectError {
    /// The status of the redirect answer that was not followed.
    pub fn status(&self) -> u16 {
        match self {
            RedirectError::OtherOrigin { status, .. }
            | RedirectError::Loop { status, .. }
            | RedirectError::TooMany { status } => *status,
        }
    }
}

impl RedirectError {
    /// What happened, with targets shown by `show` (the caller scrubs before it cuts).
    pub fn message(&self, show: impl Fn(&Url) -> String) -> String {
        match self {
            RedirectError::OtherOrigin {
                status,
                target,
                upstream,
            } => format!(
                "redirect_refused: the upstream API answered {status} with a redirect to {}, \
                 another origin than this server's upstream ({upstream}). This server does not \
                 follow redirects to other origins, so nothing was sent there and no credential \
                 left the upstream. If that host should be reached, ask the operator of this \
                 MCP server: they may point its upstream URL (--upstream-url) elsewhere.",
                show(target)
            ),
            RedirectError::Loop { status, target } => format!(
                "redirect_loop: the upstream API redirected in a loop ({status} back to {}, \
                 which was already asked); the redirects were not followed further.",
                show(target)
            ),
            RedirectError::TooMany { status } => format!(
                "too_many_redirects: the upstream API redirected more than {MAX_REDIRECTS} \
                 times (the last answer was {status}); this server follows at most \
                 {MAX_REDIRECTS} redirects."
            ),
        }
    }
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(target_text))
    }
}

impl std::error::Error for RedirectError {}

/// The redirect chain of one request: where it is, where it has been, and what every hop
/// must carry again (the credential query pieces).
#[derive(Debug, Clone)]
pub struct Chain {
    current: Hop,
    visited: Vec<(HttpMethod, Url)>,
    query_credentials: Vec<String>,
}

impl Chain {
    /// A chain starting with `method` at `url` (the upstream's base URL and the operation's
    /// path, so its origin is the upstream's), re-applying `query_credentials` at every hop.
    pub fn new(method: HttpMethod, url: Url, query_credentials: Vec<String>) -> Self {
        Chain {
            visited: vec![(method, url.clone())],
            current: Hop {
                url,
                method,
                body: true,
            },
            query_credentials,
        }
    }

    /// The request to send now.
    pub fn current(&self) -> &Hop {
        &self.current
    }

    /// Follows a redirect answered with `status` to `target` (from [`target`]): the next hop,
    /// or why there is none. Other origins are refused before anything else is looked at.
    pub fn follow(&mut self, status: u16, target: Url) -> Result<&Hop, RedirectError> {
        let upstream = &self.visited[0].1;
        if !same_origin(upstream, &target) {
            return Err(RedirectError::OtherOrigin {
                status,
                upstream: origin_text(upstream),
                target,
            });
        }
        let (method, body) = next_method(status, self.current.method);
        let url = with_query_credentials(&target, &self.query_credentials);
        if self.visited.iter().any(|(m, u)| *m == method && *u == url) {
            return Err(RedirectError::Loop { status, target });
        }
        if self.visited.len() > MAX_REDIRECTS {
            return Err(RedirectError::TooMany { status });
        }
        self.visited.push((method, url.clone()));
        self.current = Hop {
            url,
            method,
            body: self.current.body && body,
        };
        Ok(&self.current)
    }
}
