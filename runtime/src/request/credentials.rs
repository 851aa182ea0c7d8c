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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::HttpMethod;

    fn empty() -> OutgoingRequest {
        OutgoingRequest {
            method: HttpMethod::Get,
            path: "/".into(),
            query: vec!["a=1".into()],
            query_credentials: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn settings() -> Settings {
        Settings::new("http://x")
            .with_var("KEY", "k&y =1")
            .with_var("USER", "aladdin")
            .with_var("PASS", "open sesame")
    }

    #[test]
    fn api_keys_go_where_the_spec_says() {
        let api_key = |location, name| CredentialSpec {
            id: "k",
            kind: CredentialKind::ApiKey {
                location,
                name,
                env: "KEY",
            },
        };
        let mut req = empty();
        let mut cookies = Vec::new();
        apply(
            &api_key(ApiKeyLocation::Header, "X-Api-Key"),
            &settings(),
            &mut req,
            &mut cookies,
        )
        .unwrap();
        apply(
            &api_key(ApiKeyLocation::Query, "api key"),
            &settings(),
            &mut req,
            &mut cookies,
        )
        .unwrap();
        apply(
            &api_key(ApiKeyLocation::Cookie, "sid"),
            &settings(),
            &mut req,
            &mut cookies,
        )
        .unwrap();
        assert_eq!(req.header("x-api-key"), Some("k&y =1"));
        assert_eq!(req.query, ["a=1", "api%20key=k%26y%20%3D1"]);
        assert_eq!(req.query_credentials, ["api%20key=k%26y%20%3D1"]);
        assert_eq!(cookies, ["sid=k&y%20=1"]);
    }

    #[test]
    fn bearer_and_basic() {
        let mut req = empty();
        let bearer = CredentialSpec {
            id: "b",
            kind: CredentialKind::Bearer { env: "USER" },
        };
        apply(&bearer, &settings(), &mut req, &mut Vec::new()).unwrap();
        assert_eq!(req.header("authorization"), Some("Bearer aladdin"));
        let mut req = empty();
        let basic = CredentialSpec {
            id: "basic",
            kind: CredentialKind::Basic {
                username_env: "USER",
                password_env: "PASS",
            },
        };
        apply(&basic, &settings(), &mut req, &mut Vec::new()).unwrap();
        // The RFC 7617 example.
        assert_eq!(
            req.header("authorization"),
            Some("Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
    }

    #[test]
    fn missing_and_unsendable_secrets_name_the_variable_only() {
        let bearer = CredentialSpec {
            id: "b",
            kind: CredentialKind::Bearer { env: "NOPE" },
        };
        let err = apply(&bearer, &settings(), &mut empty(), &mut Vec::new()).unwrap_err();
        assert_eq!(err, RequestError::MissingCredential { var: "NOPE".into() });
        let settings = Settings::new("http://x").with_var("BAD", "line\nbreak-secret");
        let bearer = CredentialSpec {
            id: "b",
            kind: CredentialKind::Bearer { env: "BAD" },
        };
        let err = apply(&bearer, &settings, &mut empty(), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("BAD") && !err.to_string().contains("break-secret"));
    }
}
