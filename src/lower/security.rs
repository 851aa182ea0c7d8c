//! Upstream credentials: which configured credential each operation's `security` needs.
//!
//! The spec says, per operation, which security schemes it accepts (alternatives, each a set
//! of schemes); the annotation file says which schemes have a credential and which environment
//! variables hold it. An operation gets the first alternative whose schemes are all
//! configured, so a server never sends one API-wide credential to an operation that expects
//! another scheme.

use crate::annotations::{CredentialEntry, CredentialType};
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir::{ApiKeyLocation, CredentialIr, CredentialKind, Identity};
use crate::load::SpecSet;
use crate::load::pointer::escape_token;
use crate::lower::AnnotationCtx;
use crate::lower::operations::OperationRef;
use crate::naming::EnvVarName;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The credentials an annotation file configures, checked against the spec's schemes.
#[derive(Debug, Default)]
pub struct Credentials {
    /// Configured credentials by scheme name.
    pub configured: BTreeMap<String, CredentialIr>,
    /// Credentials the spec does not declare, sent where the spec declares no security.
    pub undeclared: Vec<String>,
}

/// Reads `upstream.credentials` against the schemes of the specs.
pub fn configured_credentials(
    specs: &[(String, SpecSet)],
    entries: &BTreeMap<String, CredentialEntry>,
    annotations: &AnnotationCtx,
    diagnostics: &mut Diagnostics,
) -> Credentials {
    let mut out = Credentials::default();
    for (id, entry) in entries {
        let at = |field: &str| {
            annotations.at(&format!(
                "/upstream/credentials/{}{field}",
                escape_token(id)
            ))
        };
        let declared = specs.iter().find_map(|(_, set)| security_scheme(set, id));
        let scheme = match (declared, entry.kind) {
            (Some(scheme), None) => scheme.clone(),
            (Some(_), Some(_)) => {
                diagnostics.push(
                    Diagnostic::error(
                        "conflicting-credential-type",
                        at("/type"),
                        format!("`{id}` is a security scheme of the spec, which sets its type"),
                    )
                    .with_help("remove `type`, or give this credential another name"),
                );
                continue;
            }
            (None, Some(kind)) => {
                match undeclared_scheme(kind, entry) {
                    Ok(scheme) => {
                        out.undeclared.push(id.clone());
                        scheme
                    }
                    Err(message) => {
                        diagnostics.push(Diagnostic::error("invalid-credential", at(""), message).with_help("api_key credentials need `name` and may set `in: header|query|cookie`"));
                        continue;
                    }
                }
            }
            (None, None) => {
                let known: Vec<String> = specs
                    .iter()
                    .flat_map(|(_, set)| scheme_names(set))
                    .collect();
                diagnostics.push(
                    Diagnostic::error("unknown-security-scheme", at(""), format!("the spec has no security scheme `{id}`"))
                        .with_help(if known.is_empty() {
                            "the spec declares no security schemes: give the credential a `type` (bearer, basic or api_key) to send it with every operation".to_owned()
                        } else {
                            format!("schemes: {}; or give the credential a `type` to define it here", known.join(", "))
                        }),
                );
                continue;
            }
        };
        let scheme = &scheme;
        let env = |field: &str,
                   value: &Option<String>,
                   diagnostics: &mut Diagnostics|
         -> Option<EnvVarName> {
            match value {
                None => {
                    diagnostics.push(
                        Diagnostic::error(
                            "missing-credential-env",
                            at(""),
                            format!("credential `{id}` needs `{field}`"),
                        )
                        .with_help(format!(
                            "name the environment variable that holds it, e.g. `{field}: {}`",
                            EnvVarName::suggest("API", id)
                        )),
                    );
                    None
                }
                Some(name) => match EnvVarName::parse(name) {
                    Ok(name) => Some(name),
                    Err(e) => {
                        diagnostics.push(
                            Diagnostic::error(
                                "invalid-env-name",
                                at(&format!("/{field}")),
                                format!("`{name}` is not an environment variable name: {e}"),
                            )
                            .with_help("use uppercase letters, digits and `_`"),
                        );
                        None
                    }
                },
            }
        };
        let scheme_type = scheme
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let http_scheme = scheme
            .get("scheme")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let kind = match (scheme_type, http_scheme.as_str()) {
            ("apiKey", _) => {
                let location = match scheme.get("in").and_then(Value::as_str) {
                    Some("header") => ApiKeyLocation::Header,
                    Some("query") => ApiKeyLocation::Query,
                    Some("cookie") => ApiKeyLocation::Cookie,
                    _ => {
                        diagnostics.push(Diagnostic::error(
                            "unsupported-security-scheme",
                            at(""),
                            format!("security scheme `{id}` has no valid `in`"),
                        ));
                        continue;
                    }
                };
                let Some(name) = scheme.get("name").and_then(Value::as_str) else {
                    diagnostics.push(Diagnostic::error(
                        "unsupported-security-scheme",
                        at(""),
                        format!("security scheme `{id}` has no `name`"),
                    ));
                    continue;
                };
                env("env", &entry.env, diagnostics).map(|env| CredentialKind::ApiKey {
                    location,
                    name: name.to_owned(),
                    env,
                })
            }
            ("http", "bearer") | ("oauth2", _) | ("openIdConnect", _) => {
                env("env", &entry.env, diagnostics).map(|env| CredentialKind::Bearer { env })
            }
            ("http", "basic") => {
                let user = env("username_env", &entry.username_env, diagnostics);
                let password = env("password_env", &entry.password_env, diagnostics);
                user.zip(password)
                    .map(|(username_env, password_env)| CredentialKind::Basic {
                        username_env,
                        password_env,
                    })
            }
            _ => {
                diagnostics.push(
                    Diagnostic::error("unsupported-security-scheme", at(""), format!("security scheme `{id}` ({scheme_type} {http_scheme}) is not supported"))
                        .with_help("supported: apiKey, http bearer, http basic, oauth2 and openIdConnect (as bearer tokens)"),
                );
                None
            }
        };
        if let Some(kind) = kind {
            out.configured.insert(
                id.clone(),
                CredentialIr {
                    id: id.clone(),
                    kind,
                },
            );
        }
    }
    out
}

/// A security scheme object for a credential the annotation file defines itself.
fn undeclared_scheme(kind: CredentialType, entry: &CredentialEntry) -> Result<Value, String> {
    Ok(match kind {
        CredentialType::Bearer => json!({"type": "http", "scheme": "bearer"}),
        CredentialType::Basic => json!({"type": "http", "scheme": "basic"}),
        CredentialType::ApiKey => {
            let name = entry
                .name
                .as_deref()
                .ok_or("an api_key credential needs `name`")?;
            let location = entry.location.as_deref().unwrap_or("header");
            if !["header", "query", "cookie"].contains(&location) {
                return Err(format!("`in: {location}` is not header, query or cookie"));
            }
            json!({"type": "apiKey", "in": location, "name": name})
        }
    })
}

/// Whether a security scheme carries a bearer token (oauth2, OpenID Connect, http bearer).
fn is_bearer_scheme(scheme: &Value) -> bool {
    match scheme.get("type").and_then(Value::as_str) {
        Some("oauth2" | "openIdConnect") => true,
        Some("http") => scheme
            .get("scheme")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer")),
        _ => false,
    }
}

/// The `tokenUrl` of the first OAuth 2.0 client-credentials flow among the schemes of a spec.
pub fn client_credentials_token_url(set: &SpecSet) -> Option<String> {
    let schemes = set
        .root()
        .value
        .get("components")?
        .get("securitySchemes")?
        .as_object()?;
    schemes.values().find_map(|scheme| {
        let scheme = match scheme.get("$ref").and_then(Value::as_str) {
            Some(reference) => set.resolve_deep(set.root_key(), reference).ok()?.value,
            None => scheme,
        };
        scheme
            .get("flows")?
            .get("clientCredentials")?
            .get("tokenUrl")?
            .as_str()
            .map(str::to_owned)
    })
}

/// The security scheme object named `id` in a spec.
fn security_scheme<'a>(set: &'a SpecSet, id: &str) -> Option<&'a Value> {
    let scheme = set
        .root()
        .value
        .get("components")?
        .get("securitySchemes")?
        .get(id)?;
    match scheme.get("$ref").and_then(Value::as_str) {
        Some(reference) => set
            .resolve_deep(set.root_key(), reference)
            .ok()
            .map(|t| t.value),
        None => Some(scheme),
    }
}

/// Names of the security schemes a spec declares.
fn scheme_names(set: &SpecSet) -> Vec<String> {
    set.root()
        .value
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The security requirement alternatives of an operation (its own, or the spec's default).
pub fn requirements(set: &SpecSet, op: &OperationRef<'_>) -> Vec<Vec<String>> {
    let list = op
        .operation
        .get("security")
        .or_else(|| set.root().value.get("security"))
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|alternative| alternative.keys().cloned().collect())
        .collect()
}

/// Picks the credentials an operation sends: the first alternative fully configured.
pub fn credentials_for(
    set: &SpecSet,
    op: &OperationRef<'_>,
    credentials: &Credentials,
    identity: Identity,
    at: Location,
    diagnostics: &mut Diagnostics,
) -> Vec<String> {
    let alternatives = requirements(set, op);
    if alternatives.is_empty() {
        return credentials.undeclared.clone();
    }
    // With a token identity, the token fills every bearer-type scheme (oauth2, OpenID Connect,
    // http bearer); only the other schemes (API keys, basic) need configured credentials.
    let token_fills = |id: &String| {
        identity != Identity::ServiceAccount
            && security_scheme(set, id).is_some_and(is_bearer_scheme)
    };
    if let Some(alternative) = alternatives.iter().find(|alt| {
        alt.iter()
            .all(|id| credentials.configured.contains_key(id) || token_fills(id))
    }) {
        return alternative
            .iter()
            .filter(|id| !token_fills(id))
            .cloned()
            .collect();
    }
    let wanted: Vec<String> = alternatives
        .iter()
        .map(|alt| format!("[{}]", alt.join(" + ")))
        .collect();
    let first = alternatives
        .first()
        .and_then(|alt| alt.first())
        .cloned()
        .unwrap_or_default();
    diagnostics.push(
        Diagnostic::error(
            "missing-credentials",
            at,
            format!(
                "{} needs credentials for one of {}, and none is configured",
                op.label(),
                wanted.join(", ")
            ),
        )
        .with_help(format!(
            "add under `upstream.credentials`, e.g. `{first}: {{ env: {} }}`",
            EnvVarName::suggest("API", &first)
        )),
    );
    Vec::new()
}
