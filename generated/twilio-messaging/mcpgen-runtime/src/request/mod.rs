//! The upstream request: parameters serialised by their OpenAPI style, the body, the
//! credentials, the request plan built once per tool, redirects (same origin only) and sending
//! it with reqwest.

pub mod body;
pub mod build;
pub mod credentials;
pub mod outgoing;
pub mod param_style;
pub mod redirect;
pub mod upstream;
