//! What a spec requires of the environment: which variables its tools read, which identities
//! need the OAuth client, which credentials travel in the `Authorization` header.

use crate::spec::{BodyValue, CredentialKind, IdentityMode, ServerSpec, ToolSpec, ValueSource};

/// Whether a tool with this identity needs the server's OAuth client.
pub fn needs_oauth_client(identity: IdentityMode) -> bool {
    matches!(
        identity,
        IdentityMode::ClientCredentials | IdentityMode::TokenExchange
    )
}

/// Whether a credential is sent in the `Authorization` header (and so is replaced by the
/// token of a tool whose identity is not the service account).
pub fn uses_authorization_header(kind: &CredentialKind) -> bool {
    match kind {
        CredentialKind::Bearer { .. } | CredentialKind::Basic { .. } => true,
        CredentialKind::ApiKey { location, name, .. } => {
            *location == crate::spec::ApiKeyLocation::Header
                && name.eq_ignore_ascii_case("authorization")
        }
    }
}

/// Whether `tool` sends this credential (a tool acting with a token does not send credentials
/// that use the `Authorization` header).
pub fn sends_credential(tool: &ToolSpec, kind: &CredentialKind) -> bool {
    tool.identity == IdentityMode::ServiceAccount || !uses_authorization_header(kind)
}

/// Every environment variable the server needs, sorted and without duplicates: the variables
/// of each credential some tool sends, each `ValueSource::Env` of a parameter or body field,
/// and the OAuth client's id and secret when some tool obtains upstream tokens.
pub fn required_vars(spec: &ServerSpec) -> Vec<&'static str> {
    let mut vars = Vec::new();
    for tool in spec.tools {
        for id in tool.credentials {
            let Some(credential) = spec.upstream.credentials.iter().find(|c| c.id == *id) else {
                continue;
            };
            if !sends_credential(tool, &credential.kind) {
                continue;
            }
            match &credential.kind {
                CredentialKind::ApiKey { env, .. } | CredentialKind::Bearer { env } => {
                    vars.push(*env)
                }
                CredentialKind::Basic {
                    username_env,
                    password_env,
                } => vars.extend([*username_env, *password_env]),
            }
        }
        let fields = match &tool.body {
            Some(body) => match &body.value {
                BodyValue::Fields(fields) => fields.iter().map(|f| &f.value).collect(),
                BodyValue::Argument { .. } => Vec::new(),
            },
            None => Vec::new(),
        };
        for source in tool.params.iter().map(|p| &p.value).chain(fields) {
            if let ValueSource::Env { var } = source {
                vars.push(*var);
            }
        }
        if needs_oauth_client(tool.identity)
            && let Some(oauth) = &spec.upstream.oauth
        {
            vars.extend([oauth.client_id_env, oauth.client_secret_env]);
        }
    }
    vars.sort_unstable();
    vars.dedup();
    vars
}
