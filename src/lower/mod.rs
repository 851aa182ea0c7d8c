//! Lowering: specs + annotation file → [`ServerIr`], with every problem reported at once.
//!
//! This stage validates the annotation file against the specs, selects the operations it
//! names, and applies policy (hidden and fixed parameters, narrowing, scopes, hints,
//! allowlists, redactions, credentials) exactly once. It reads only what `load` produced and
//! writes nothing. Defects in operations that are not selected are never looked at.

pub mod bound;
pub mod examples;
pub mod names;
pub mod operations;
pub mod params;
pub mod profile;
pub mod response;
pub mod schema;
pub mod security;
pub mod shape;
pub mod tool;

use crate::annotations::FORMAT_VERSION;
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir::{Identity, Limits, OAuthClient, ServerIr, SourceFile, ToolIr, UpstreamIr};
use crate::load::pointer::escape_token;
use crate::load::{Document, Project};
use crate::naming::{CrateName, EnvVarName, ToolName, module_idents};
use operations::OperationIndex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Default upstream timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// Default largest request body sent upstream.
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 1024 * 1024;

/// Default calls per minute per caller.
pub const DEFAULT_CALLS_PER_MINUTE: u32 = 60;

/// Default tool calls in progress at once.
pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 16;

/// Default largest upstream response body.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

/// Default result budget in tokens: under the ~25,000 tokens at which clients cut tool results.
pub const DEFAULT_MAX_RESULT_TOKENS: u32 = 20_000;

/// Where things are in the annotation file, for diagnostics.
pub struct AnnotationCtx<'a> {
    /// The annotation file's path, as the user gave it.
    pub path: &'a Path,
    /// The parsed file, with positions.
    pub document: &'a Document,
}

impl AnnotationCtx<'_> {
    /// The location of a JSON pointer into the annotation file (the nearest existing node's
    /// line when the pointer names something absent).
    pub fn at(&self, pointer: &str) -> Location {
        match self.document.positions.nearest(pointer) {
            Some((line, col)) => Location::line(self.path, pointer, line, col),
            None => Location::pointer(self.path, pointer),
        }
    }
}

/// A lowered server and the warnings found on the way.
#[derive(Debug)]
pub struct Lowered {
    /// The server.
    pub ir: ServerIr,
    /// Warnings (never errors).
    pub warnings: Diagnostics,
}

/// Lowers a loaded project; fails with every error found, warnings included.
pub fn lower(project: &Project) -> Result<Lowered, Diagnostics> {
    lower_with_report(project).0
}

/// [`lower`], also telling which tools failed and the first error of each, by tool key (for
/// `mcpgen init`, which disables them in the file it writes).
pub fn lower_with_report(
    project: &Project,
) -> (Result<Lowered, Diagnostics>, BTreeMap<String, Diagnostic>) {
    let mut failed: BTreeMap<String, Diagnostic> = BTreeMap::new();
    let result = lower_tracking(project, &mut failed, Purpose::Build);
    (result, failed)
}

/// The tools that do not lower, each with its first error, found without the work only a
/// build needs (bounding and sampling output schemas): how `init` tries its starter file.
pub fn failing_tools(project: &Project) -> BTreeMap<String, Diagnostic> {
    let mut failed: BTreeMap<String, Diagnostic> = BTreeMap::new();
    let _ = lower_tracking(project, &mut failed, Purpose::Check);
    failed
}

/// What a lowering is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A server: every tool whole; one tool's error fails the whole server.
    Build,
    /// What a spec change does (`diff`): tools with errors are left out, not fatal.
    Partial,
    /// Only which tools fail (`init`).
    Check,
}

/// Lowers what can be lowered: tools with errors are left out (and returned with their first
/// error) instead of failing the whole server; problems of the server itself still fail. For
/// `mcpgen diff`, which must say what a spec change does even to tools it breaks.
pub fn lower_partial(
    project: &Project,
) -> Result<(Lowered, BTreeMap<String, Diagnostic>), Diagnostics> {
    let mut failed: BTreeMap<String, Diagnostic> = BTreeMap::new();
    let lowered = lower_tracking(project, &mut failed, Purpose::Partial)?;
    Ok((lowered, failed))
}

fn lower_tracking(
    project: &Project,
    failed: &mut BTreeMap<String, Diagnostic>,
    purpose: Purpose,
) -> Result<Lowered, Diagnostics> {
    let partial = purpose == Purpose::Partial;
    let mut diagnostics = project.load_errors.clone();
    let annotations = AnnotationCtx {
        path: &project.annotation_path,
        document: &project.annotation,
    };
    let file = &project.file;

    if file.version != FORMAT_VERSION {
        diagnostics.push(
            Diagnostic::error(
                "unsupported-format-version",
                annotations.at("/version"),
                format!(
                    "annotation format version {} is not supported",
                    file.version
                ),
            )
            .with_help(format!("this mcpgen reads version {FORMAT_VERSION}")),
        );
    }
    let crate_name = match CrateName::parse(&file.server.name) {
        Ok(name) => Some(name),
        Err(e) => {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-server-name",
                    annotations.at("/server/name"),
                    format!("`{}` cannot be a crate name: {e}", file.server.name),
                )
                .with_help(format!(
                    "use lowercase letters, digits and `-`, e.g. `{}`",
                    CrateName::suggest(&file.server.name)
                )),
            );
            None
        }
    };
    let version = file
        .server
        .version
        .clone()
        .unwrap_or_else(|| "0.1.0".to_owned());
    if !is_semver(&version) {
        diagnostics.push(
            Diagnostic::error(
                "invalid-version",
                annotations.at("/server/version"),
                format!("`{version}` is not a semantic version"),
            )
            .with_help("write MAJOR.MINOR.PATCH, e.g. 1.0.0"),
        );
    }

    let profiles = profiles(&file.server.profiles, &annotations, &mut diagnostics);
    let index = OperationIndex::build(&project.specs, &mut diagnostics);
    if index.operations.is_empty() {
        let webhooks: usize = project
            .specs
            .iter()
            .map(|(_, set)| {
                set.root()
                    .value
                    .get("webhooks")
                    .and_then(Value::as_object)
                    .map_or(0, |w| w.len())
            })
            .sum();
        let extra = if webhooks > 0 {
            format!(
                " (only {webhooks} webhook(s), which are calls the API makes, not calls a tool can make)"
            )
        } else {
            String::new()
        };
        diagnostics.push(
            Diagnostic::error(
                "no-operations",
                annotations.at("/spec"),
                format!("the spec has no operations under `paths`{extra}"),
            )
            .with_help("mcpgen turns operations into tools; use a spec that has paths"),
        );
    }
    let credentials = security::configured_credentials(
        &project.specs,
        &file.upstream.credentials,
        &annotations,
        &mut diagnostics,
    );

    // Tool names first, so module identifiers are assigned over the whole set.
    let mut selected: BTreeMap<ToolName, (&String, &crate::annotations::ToolEntry)> =
        BTreeMap::new();
    for (key, entry) in &file.tools {
        if entry.enabled == Some(false) {
            continue;
        }
        match ToolName::parse(key) {
            Ok(name) => {
                selected.insert(name, (key, entry));
            }
            Err(e) => diagnostics.push(
                Diagnostic::error("invalid-tool-name", annotations.at(&format!("/tools/{}", escape_token(key))), format!("`{key}` is not a valid tool name: {e}"))
                    .with_help("tool names are 1–128 characters of [A-Za-z0-9_.-] (48 or fewer leave room for client prefixes)"),
            ),
        }
    }
    if selected.is_empty() && !file.tools.is_empty() {
        diagnostics.push(
            Diagnostic::error("no-tools", annotations.at("/tools"), "no tool is enabled")
                .with_help("set `enabled: true` on the tools the server should offer"),
        );
    } else if file.tools.is_empty() {
        diagnostics.push(
            Diagnostic::error(
                "no-tools",
                annotations.at(""),
                "the annotation file declares no tools",
            )
            .with_help("add a `tools:` section (`mcpgen init` writes one)"),
        );
    }
    let modules: BTreeMap<ToolName, _> = module_idents(selected.keys()).into_iter().collect();

    let default_identity = match file.upstream.identity {
        Some(crate::annotations::IdentityName::Passthrough) => {
            diagnostics.push(
                Diagnostic::error("passthrough-not-per-tool", annotations.at("/upstream/identity"), "token passthrough cannot be the server's default identity")
                    .with_help("forwarding callers' tokens upstream must be decided tool by tool: set `identity: passthrough` on the tools that need it"),
            );
            Identity::ServiceAccount
        }
        name => name.map_or(Identity::ServiceAccount, tool::identity_of),
    };
    // Tools are independent: lower them in parallel, then merge in name order. The
    // definitions they reach are normalised once, shared.
    let selected: Vec<(&ToolName, &(&String, &crate::annotations::ToolEntry))> =
        selected.iter().collect();
    let defs = schema::DefCache::new();
    let outputs = response::OutputCache::default();
    let inputs = tool::InputCache::default();
    let lowered = crate::parallel::map(&selected, |(name, (key, entry))| {
        let mut diagnostics = Diagnostics::new();
        let pointer = format!("/tools/{}", escape_token(key));
        let op = match index.find(&entry.operation) {
            Ok(op) => op,
            Err(err) => {
                let at = annotations.at(&format!("{pointer}/operation"));
                diagnostics.push(match err {
                    operations::FindError::NotFound { suggestions } => {
                        Diagnostic::error("unknown-operation", at, format!("no operation `{}` in the spec", entry.operation)).with_help(if suggestions.is_empty() {
                            "refer to an operation by its operationId or as `METHOD /path`; `mcpgen list` shows them".to_owned()
                        } else {
                            format!("did you mean {}?", suggestions.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or "))
                        })
                    }
                    operations::FindError::Ambiguous { candidates } => {
                        Diagnostic::error("ambiguous-operation", at, format!("`{}` matches several operations", entry.operation))
                            .with_help(format!("write one of: {}", candidates.join(", ")))
                    }
                });
                return vec![((*key).clone(), None, diagnostics)];
            }
        };
        let Some(module) = modules.get(*name).cloned() else {
            return vec![((*key).clone(), None, diagnostics)];
        };
        let spec = &project.specs[op.spec].1;
        let input = tool::ToolInput {
            name: (*name).clone(),
            module,
            entry,
            pointer,
            op,
            spec,
            default_identity,
            profiles: &profiles,
            shared: Shared {
                output_schema: file.server.output_schema.as_ref(),
                defs: &defs,
                outputs: &outputs,
                inputs: &inputs,
                check_only: purpose == Purpose::Check,
            },
        };
        let tool = tool::lower_tool(input, &credentials, &annotations, &mut diagnostics);
        vec![((*key).clone(), Some(tool), diagnostics)]
    });
    let mut tools = Vec::new();
    for (key, tool, tool_diagnostics) in lowered {
        record_failure(failed, &key, tool_diagnostics.since(0));
        if partial && failed.contains_key(&key) {
            continue;
        }
        diagnostics.extend(tool_diagnostics);
        tools.extend(tool);
    }

    let base_url = base_url(project, &annotations, &mut diagnostics);
    let oauth = oauth_client(project, &tools, &annotations, &mut diagnostics);
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let (Some(crate_name), Some(base_url)) = (crate_name, base_url) else {
        return Err(diagnostics);
    };

    let mut used: Vec<&String> = tools.iter().flat_map(|t| &t.credentials).collect();
    used.sort();
    used.dedup();
    let upstream = UpstreamIr {
        base_url,
        base_url_env: EnvVarName::suggest(&crate_name.env_prefix(), "upstream_url"),
        timeout_ms: file.upstream.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
        max_response_bytes: file
            .upstream
            .max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
        credentials: used
            .into_iter()
            .filter_map(|id| credentials.configured.get(id).cloned())
            .collect(),
        oauth,
    };
    let limits = &file.server.limits;
    let ir = ServerIr {
        crate_name,
        version,
        title: file.server.title.clone(),
        instructions: file.server.instructions.clone(),
        upstream,
        tools,
        sources: sources(project),
        limits: Limits {
            max_request_bytes: limits
                .max_request_bytes
                .unwrap_or(DEFAULT_MAX_REQUEST_BYTES),
            calls_per_minute: limits.calls_per_minute.unwrap_or(DEFAULT_CALLS_PER_MINUTE),
            max_concurrent_calls: limits
                .max_concurrent_calls
                .unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS),
            max_result_tokens: limits
                .max_result_tokens
                .unwrap_or(DEFAULT_MAX_RESULT_TOKENS),
        },
        escalation: file.server.escalation.clone(),
        profiles,
    };
    Ok(Lowered {
        ir,
        warnings: diagnostics,
    })
}

/// The client profiles of `server.profiles`, sorted; OpenAI strict and Gemini cannot be combined.
fn profiles(
    names: &[String],
    annotations: &AnnotationCtx,
    diagnostics: &mut Diagnostics,
) -> Vec<crate::ir::Profile> {
    use crate::ir::Profile;
    let mut profiles = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Profile::parse(name) {
            Some(profile) => profiles.push(profile),
            None => diagnostics.push(
                Diagnostic::error(
                    "unknown-profile",
                    annotations.at(&format!("/server/profiles/{i}")),
                    format!("`{name}` is not a client profile"),
                )
                .with_help("profiles: anthropic, openai, gemini"),
            ),
        }
    }
    profiles.sort();
    profiles.dedup();
    if profiles.contains(&Profile::OpenAi) && profiles.contains(&Profile::Gemini) {
        diagnostics.push(
            Diagnostic::error("conflicting-profiles", annotations.at("/server/profiles"), "the openai and gemini profiles need opposite schemas: OpenAI strict mode requires `additionalProperties: false` on every object, Gemini rejects the keyword")
                .with_help("generate one server per client family (two annotation files over the same spec), or keep one of them"),
        );
        profiles.clear();
    }
    profiles
}

/// The OAuth client of the annotation file, required when a tool obtains upstream tokens.
fn oauth_client(
    project: &Project,
    tools: &[ToolIr],
    annotations: &AnnotationCtx,
    diagnostics: &mut Diagnostics,
) -> Option<OAuthClient> {
    let needing: Vec<&ToolIr> = tools
        .iter()
        .filter(|t| {
            matches!(
                t.identity,
                Identity::ClientCredentials | Identity::TokenExchange
            )
        })
        .collect();
    let Some(entry) = &project.file.upstream.oauth else {
        if let Some(tool) = needing.first() {
            diagnostics.push(
                Diagnostic::error("missing-oauth-client", annotations.at("/upstream"), format!("tool `{}` uses {} but `upstream.oauth` is not set", tool.name, tool.identity.as_str()))
                    .with_help("add `upstream.oauth: { token_url: …, client_id_env: …, client_secret_env: … }`"),
            );
        }
        return None;
    };
    if needing.is_empty() {
        diagnostics.push(
            Diagnostic::warning("unused-oauth-client", annotations.at("/upstream/oauth"), "no tool uses `upstream.oauth`")
                .with_help("set `identity: client_credentials` or `token_exchange` (server default or per tool), or remove it"),
        );
        return None;
    }
    let token_url = entry.token_url.clone().or_else(|| {
        project
            .specs
            .iter()
            .find_map(|(_, set)| security::client_credentials_token_url(set))
    });
    let Some(token_url) =
        token_url.filter(|url| url.starts_with("https://") || url.starts_with("http://"))
    else {
        diagnostics.push(
            Diagnostic::error("missing-token-url", annotations.at("/upstream/oauth"), "the OAuth client has no absolute `token_url`, and the spec declares no client-credentials flow")
                .with_help("set `upstream.oauth.token_url`"),
        );
        return None;
    };
    let env =
        |field: &str, value: &str, diagnostics: &mut Diagnostics| match EnvVarName::parse(value) {
            Ok(name) => Some(name),
            Err(e) => {
                diagnostics.push(
                    Diagnostic::error(
                        "invalid-env-name",
                        annotations.at(&format!("/upstream/oauth/{field}")),
                        format!("`{value}` is not an environment variable name: {e}"),
                    )
                    .with_help("use uppercase letters, digits and `_`"),
                );
                None
            }
        };
    let client_id_env = env("client_id_env", &entry.client_id_env, diagnostics)?;
    let client_secret_env = env("client_secret_env", &entry.client_secret_env, diagnostics)?;
    Some(OAuthClient {
        token_url,
        client_id_env,
        client_secret_env,
        scopes: entry.scopes.clone(),
        audience: entry.audience.clone(),
    })
}

/// What every tool of a server shares while it is lowered.
#[derive(Clone, Copy)]
pub struct Shared<'a> {
    /// The server's output schema policy (`server.output_schema`), which a tool may override.
    pub output_schema: Option<&'a crate::annotations::OutputSchemaEntry>,
    /// Definitions normalised once for all tools.
    pub defs: &'a schema::DefCache<'a>,
    /// Output descriptions shared by tools answering with the same schema.
    pub outputs: &'a response::OutputCache,
    /// Input schemas checked, shared by tools taking the same arguments.
    pub inputs: &'a tool::InputCache,
    /// Only problems are wanted (`init` trying its starter file): output schemas are not
    /// bounded or sampled, which finds no problem and is most of lowering's work.
    pub check_only: bool,
}

/// Notes the first error among a tool's diagnostics, if any.
fn record_failure(
    failed: &mut BTreeMap<String, Diagnostic>,
    key: &str,
    diagnostics: &[Diagnostic],
) {
    if let Some(first) = diagnostics
        .iter()
        .find(|d| d.severity == crate::diag::Severity::Error)
    {
        failed
            .entry(key.to_owned())
            .or_insert_with(|| first.clone());
    }
}

/// The upstream base URL: the annotation file's, or the first spec's first server URL.
fn base_url(
    project: &Project,
    annotations: &AnnotationCtx,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let (url, at) = match &project.file.upstream.base_url {
        Some(url) => (url.clone(), annotations.at("/upstream/base_url")),
        None => {
            let (_, set) = project.specs.first()?;
            let server = set
                .root()
                .value
                .get("servers")
                .and_then(Value::as_array)
                .and_then(|s| s.first());
            let Some(url) = server.and_then(|s| s.get("url")).and_then(Value::as_str) else {
                diagnostics.push(
                    Diagnostic::error(
                        "no-base-url",
                        annotations.at("/upstream"),
                        "the spec names no server URL",
                    )
                    .with_help("set `upstream.base_url` in the annotation file"),
                );
                return None;
            };
            let mut url = url.to_owned();
            if let Some(variables) = server
                .and_then(|s| s.get("variables"))
                .and_then(Value::as_object)
            {
                for (name, variable) in variables {
                    if let Some(default) = variable.get("default").and_then(Value::as_str) {
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            (url, set.locate(set.root_key(), "/servers/0/url"))
        }
    };
    let trimmed = url.trim_end_matches('/').to_owned();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    let valid = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or_default();
        !host.is_empty() && !r.contains(['{', '}', ' ', '"', '\\', '#', '?'])
    });
    if !valid {
        diagnostics.push(
            Diagnostic::error("invalid-base-url", at, format!("`{url}` is not an absolute http(s) URL"))
                .with_help("set `upstream.base_url` to the API's absolute URL, e.g. https://api.example.com/v1"),
        );
        return None;
    }
    Some(trimmed)
}

/// Whether a text is a semantic version (MAJOR.MINOR.PATCH with optional pre-release/build).
fn is_semver(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

/// The input files, relative to the annotation file's directory, with their hashes.
fn sources(project: &Project) -> Vec<SourceFile> {
    let mut files = vec![SourceFile {
        path: project.annotation_file_name(),
        sha256: project.annotation.sha256.clone(),
    }];
    for (path, document) in project.spec_documents() {
        files.push(SourceFile {
            path,
            sha256: document.sha256.clone(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_versions() {
        assert!(is_semver("0.1.0"));
        assert!(is_semver("1.2.3-rc.1+build.5"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("01.2.3"));
        assert!(!is_semver("1.2.3\"; evil"));
    }
}
