//! Attaching upstream credentials to a request.
//!
//! Owns where each [`CredentialKind`] goes: API keys in a header, the query or a cookie;
//! `Authorization: Bearer`; `Authorization: Basic`. Secrets come from [`Settings`] (read at
//! startup) and are written only into the outgoing request, never into an error. A key in the
//! query is also recorded as a credential piece of the request, which every same-origin
//! redirect sets again on its URL.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::request::outgoing::{OutgoingRequest, RequestError, push_header};
use crate::request::param_style;
use crate::spec::{ApiKeyLocation, CredentialKind, CredentialSpec};
use crate::support::settings::Settings;

fn secret<'a>(settings: &'a Settings, var: &str) -> Result<&'a str, RequestError> {
    settings
        .var(var)
        .map(|s| s.expose())
        .ok_or_else(|| RequestError::MissingCredential { var: var.into() })
}

/// Adds one credential to `request`; cookies are collected in `cookies` (one `Cookie` header
/// is written by the caller).
pub fn apply(
    credential: &CredentialSpec,
    settings: &Settings,
    request: &mut OutgoingRequest,
    cookies: &mut Vec<String>,
) -> Result<(), RequestError> {
    match &credential.kind {
        CredentialKind::ApiKey {
            location,
            name,
            env,
        } => {
            let key = secret(settings, env)?;
            match location {
                ApiKeyLocation::Header => push_header(&mut request.headers, name, key.to_owned())
                    .map_err(|_| RequestError::InvalidHeader {
                    name: (*env).into(),
                })?,
                ApiKeyLocation::Query => {
                    let piece = format!(
                        "{}={}",
                        param_style::query_component(name),
                        param_style::query_component(key)
                    );
                    request.query.push(piece.clone());
                    request.query_credentials.push(piece);
                }
                ApiKeyLocation::Cookie => {
                    cookies.push(format!("{name}={}", param_style::cookie_component(key)))
                }
            }
        }
        CredentialKind::Bearer { env } => {
            let token = secret(settings, env)?;
            push_header(
                &mut request.headers,
                "authorization",
                format!("Bearer {token}"),
            )
            .map_err(|_| RequestError::InvalidHeader {
                name: (*env).into(),
            })?;
        }
        CredentialKind::Basic {
            username_env,
            password_env,
        } => {
            let user = secret(settings, username_env)?;
            let password = secret(settings, password_env)?;
            push_header(
                &mut request.headers,
                "authorization",
                format!("Basic {}", basic_value(user, password)),
            )?;
        }
    }
    Ok(())
}

/// The value of `Authorization: Basic` for a user and password (base64 of `user:password`).
pub fn basic_value(user: &str, password: &str) -> String {
    STANDARD.encode(format!("{user}:{password}"))
}
