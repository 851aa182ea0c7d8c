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

#[cfg(test)]
mod tests {
    #[test]
    fn targets_are_cut_after_their_origin() {
        let long = format!("https://files.test:8443/{}", "a".repeat(300));
        let shown = shown_cut(&long);
        assert!(shown.starts_with("https://files.test:8443/aaa") && shown.ends_with('…'));
        assert_eq!(
            shown.chars().count(),
            "https://files.test:8443".len() + 200 + 1
        );
        assert_eq!(shown_cut("https://h.test/x"), "https://h.test/x");
    }

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn only_the_five_redirect_statuses_with_a_location_are_followed() {
        let here = url("https://api.test/v1/a?x=1");
        for status in [301, 302, 303, 307, 308] {
            assert_eq!(
                target(status, Some("/b"), &here),
                Some(url("https://api.test/b"))
            );
            assert_eq!(target(status, None, &here), None);
        }
        for status in [200, 300, 304, 305, 306, 404] {
            assert_eq!(target(status, Some("/b"), &here), None, "{status}");
        }
        assert_eq!(target(302, Some("http://[::1"), &here), None);
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let here = url("https://api.test/v1/items/7?x=1");
        let resolved = |location| target(302, Some(location), &here).unwrap().to_string();
        assert_eq!(resolved("8"), "https://api.test/v1/items/8");
        assert_eq!(
            resolved("../files/1?y=2#top"),
            "https://api.test/v1/files/1?y=2"
        );
        assert_eq!(resolved("?page=2"), "https://api.test/v1/items/7?page=2");
        assert_eq!(resolved("//cdn.test/f"), "https://cdn.test/f");
        // WHATWG parsing: a backslash is a slash in http(s) URLs.
        assert_eq!(resolved("/\\evil.test/x"), "https://evil.test/x");
    }

    #[test]
    fn origins_compare_scheme_host_and_port_with_default_ports_normalised() {
        let base = url("https://api.test/v1");
        assert!(same_origin(&base, &url("https://api.test:443/other?q=1")));
        assert!(same_origin(&base, &url("https://API.test/x")));
        assert!(!same_origin(&base, &url("http://api.test/v1")));
        assert!(!same_origin(&base, &url("https://api.test:8443/v1")));
        assert!(!same_origin(&base, &url("https://files.api.test/v1")));
        assert!(!same_origin(
            &url("http://127.0.0.1:8080/"),
            &url("http://127.0.0.1:8081/")
        ));
        let opaque = url("data:text/plain,hi");
        assert!(!same_origin(&opaque, &opaque));
    }

    #[test]
    fn methods_change_as_browsers_do() {
        use HttpMethod::*;
        assert_eq!(next_method(303, Post), (Get, false));
        assert_eq!(next_method(303, Put), (Get, false));
        assert_eq!(next_method(303, Delete), (Get, false));
        assert_eq!(next_method(303, Get), (Get, true));
        assert_eq!(next_method(303, Head), (Head, true));
        assert_eq!(next_method(301, Post), (Get, false));
        assert_eq!(next_method(302, Post), (Get, false));
        assert_eq!(next_method(302, Put), (Put, true));
        assert_eq!(next_method(301, Delete), (Delete, true));
        for status in [307, 308] {
            assert_eq!(next_method(status, Post), (Post, true));
            assert_eq!(next_method(status, Patch), (Patch, true));
        }
    }

    #[test]
    fn query_credentials_replace_what_the_location_says_and_are_never_duplicated() {
        let key = vec!["api%20key=real%26key".to_owned()];
        let set = |u: &str| with_query_credentials(&url(u), &key).to_string();
        assert_eq!(
            set("https://a.test/x"),
            "https://a.test/x?api%20key=real%26key"
        );
        assert_eq!(
            set("https://a.test/x?page=2&api+key=forged&b=1&api%20key=again"),
            "https://a.test/x?page=2&api%20key=real%26key&b=1"
        );
        assert_eq!(
            set("https://a.test/x?api%20keyx=1"),
            "https://a.test/x?api%20keyx=1&api%20key=real%26key"
        );
        assert_eq!(
            with_query_credentials(&url("https://a.test/x?a=1"), &[]).to_string(),
            "https://a.test/x?a=1"
        );
    }

    #[test]
    fn targets_are_shown_without_user_info_query_or_fragment() {
        let shown = target_text(&url(
            "https://user:pw@files.test:8443/exports/a%20b%2Fc.csv?sig=s3cr3t#frag",
        ));
        assert_eq!(shown, "https://files.test:8443/exports/a b/c.csv");
        assert_eq!(
            target_text(&url("https://files.test:443/")),
            "https://files.test/"
        );
        assert_eq!(target_text(&url("http://[::1]:80/x")), "http://[::1]/x");
        assert_eq!(
            target_text(&url("http://h.test/a%0Ab")),
            "http://h.test/a\u{fffd}b"
        );
        let long = target_text(&url(&format!("http://h.test/{}", "x".repeat(500))));
        assert_eq!(long.chars().count(), "http://h.test".len() + 200 + 1);
        assert_eq!(origin_text(&url("mailto:a@b.test")), "mailto:");
    }

    #[test]
    fn a_chain_follows_its_origin_only() {
        let first = url("http://127.0.0.1:8080/v1/a?key=k1");
        let mut chain = Chain::new(HttpMethod::Post, first, vec!["key=k1".into()]);
        let refused = chain
            .follow(302, url("http://127.0.0.1:8081/a?key=forged"))
            .unwrap_err();
        assert_eq!(refused.status(), 302);
        let text = refused.to_string();
        assert!(
            text.starts_with(
                "redirect_refused: the upstream API answered 302 with a redirect to \
                 http://127.0.0.1:8081/a, another origin than this server's upstream \
                 (http://127.0.0.1:8080)."
            ),
            "{text}"
        );
        assert!(!text.contains("forged"), "{text}");
        // 303: GET without body; a later 307 keeps GET and still no body.
        let hop = chain
            .follow(303, url("http://127.0.0.1:8080/b?key=forged&x=1"))
            .unwrap()
            .clone();
        assert_eq!(hop.url.as_str(), "http://127.0.0.1:8080/b?key=k1&x=1");
        assert_eq!((hop.method, hop.body), (HttpMethod::Get, false));
        let hop = chain
            .follow(307, url("http://127.0.0.1:8080/c"))
            .unwrap()
            .clone();
        assert_eq!(hop.url.as_str(), "http://127.0.0.1:8080/c?key=k1");
        assert_eq!((hop.method, hop.body), (HttpMethod::Get, false));
    }

    #[test]
    fn loops_and_long_chains_end() {
        let mut chain = Chain::new(HttpMethod::Get, url("http://h.test/a"), Vec::new());
        assert_eq!(
            chain.follow(302, url("http://h.test/a")),
            Err(RedirectError::Loop {
                status: 302,
                target: url("http://h.test/a")
            })
        );
        // POST → 307 to itself keeps POST: a loop; the 303 to itself becomes a GET: not yet.
        let mut chain = Chain::new(HttpMethod::Post, url("http://h.test/a"), Vec::new());
        assert!(chain.follow(307, url("http://h.test/a")).is_err());
        assert!(chain.follow(303, url("http://h.test/a")).is_ok());
        assert!(chain.follow(303, url("http://h.test/a")).is_err());

        let mut chain = Chain::new(HttpMethod::Get, url("http://h.test/0"), Vec::new());
        for n in 1..=MAX_REDIRECTS {
            assert!(
                chain
                    .follow(302, url(&format!("http://h.test/{n}")))
                    .is_ok()
            );
        }
        let error = chain.follow(308, url("http://h.test/last")).unwrap_err();
        assert_eq!(error, RedirectError::TooMany { status: 308 });
        assert!(
            error
                .to_string()
                .starts_with("too_many_redirects: the upstream API redirected more than 5 times")
        );
    }
}
