//! The annotation file (`mcpgen.yaml`): what an architect decides about a spec.
//!
//! This module owns the file's data model and its published JSON Schema (derived from the same
//! types, so the two cannot drift). It only describes the file's shape; `lower` checks the
//! values against the spec and applies them.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Version of the annotation file format this mcpgen reads.
pub const FORMAT_VERSION: u32 = 1;

/// An annotation file: which operations become tools, and the policy around them.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mcpgen annotation file")]
pub struct AnnotationFile {
    /// Format version of this file. Always `1`.
    pub version: u32,
    /// The OpenAPI or Swagger document(s), relative to this file; an OpenAPI Overlay listed
    /// after a spec is applied to it, in order.
    pub spec: SpecPaths,
    /// The generated server's identity.
    pub server: ServerSection,
    /// The upstream API the tools call.
    #[serde(default)]
    pub upstream: UpstreamSection,
    /// The tools, keyed by tool name (1–128 characters of `[A-Za-z0-9_.-]`; 48 or fewer keeps
    /// room for client prefixes).
    #[serde(default)]
    pub tools: BTreeMap<String, ToolEntry>,
}

/// One spec file or several.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SpecPaths {
    /// One spec file.
    One(String),
    /// Several spec files (operation references must then be unambiguous), each followed by
    /// the overlays to apply to it.
    Many(Vec<String>),
}

impl SpecPaths {
    /// The paths, in the order written.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            SpecPaths::One(p) => vec![p.as_str()],
            SpecPaths::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// The generated server's identity.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Cargo package and binary name (lowercase letters, digits, `-`, `_`), also the MCP
    /// `serverInfo.name`.
    pub name: String,
    /// Version of the generated server (semantic version). Default `0.1.0`.
    #[serde(default)]
    pub version: Option<String>,
    /// Human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// Instructions sent to the model when a client connects.
    #[serde(default)]
    pub instructions: Option<String>,
    /// What a refused or restricted call tells the user to do: who to contact, or where to file
    /// a request (tools may set their own).
    #[serde(default)]
    pub escalation: Option<String>,
    /// Default limits (operators can change them with flags).
    #[serde(default)]
    pub limits: LimitsSection,
    /// How much of each response schema tools publish as their output schema (tools may set
    /// their own under `response.output_schema`). Default `bounded`: the deepest description
    /// that fits 1,000 tokens, at most 6 levels deep.
    #[serde(default)]
    pub output_schema: Option<OutputSchemaEntry>,
    /// Client profiles the tools' input schemas must suit: `anthropic`, `openai` (strict mode),
    /// `gemini` (not together with `openai`). `mcpgen build` rewrites the published schemas to
    /// suit them and says what it changed; `mcpgen lint` checks them.
    #[serde(default)]
    pub profiles: Vec<String>,
}

/// Default limits of the server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Largest request body sent upstream, in bytes. Default 1 MiB.
    #[serde(default)]
    pub max_request_bytes: Option<u64>,
    /// Calls per minute one caller may make. Default 60.
    #[serde(default)]
    pub calls_per_minute: Option<u32>,
    /// Tool calls in progress at once, over all callers. Default 16.
    #[serde(default)]
    pub max_concurrent_calls: Option<u32>,
    /// Largest result shown to the model, in tokens (about 4 bytes of JSON each); a larger one
    /// is cut to fit, with a note. Default 20,000 (clients cap tool results near 25,000).
    #[serde(default)]
    pub max_result_tokens: Option<u32>,
}

/// Whose identity reaches the upstream API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityName {
    /// The server's own credentials from the environment (`upstream.credentials`).
    #[default]
    ServiceAccount,
    /// A token the server obtains for itself with the OAuth 2.0 client credentials grant.
    ClientCredentials,
    /// The caller's token exchanged for an upstream token on the caller's behalf (RFC 8693).
    TokenExchange,
    /// The caller's own token, forwarded as is. Allowed only per tool, where it is safe: the MCP
    /// specification warns against token passthrough.
    Passthrough,
}

/// The server's OAuth client at the upstream's authorization server.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientEntry {
    /// Token endpoint. Default: the `tokenUrl` of the spec's OAuth 2.0 client-credentials flow.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Environment variable holding the client id.
    pub client_id_env: String,
    /// Environment variable holding the client secret (`<NAME>_FILE` may name a file instead).
    pub client_secret_env: String,
    /// Scopes requested for upstream tokens.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `audience` requested for upstream tokens, when the authorization server needs one.
    #[serde(default)]
    pub audience: Option<String>,
}

/// The upstream API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// Base URL of the upstream API. Default: the spec's first server URL, with server
    /// variables set to their defaults. Operators override it with `--upstream-url` or the
    /// `<SERVER>_UPSTREAM_URL` environment variable.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Timeout of one upstream request in milliseconds. Default 30000.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Largest upstream response body read, in bytes. Default 10 MiB.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
    /// Credentials, keyed by the spec's security scheme name. Secrets are never written here,
    /// only the names of the environment variables that hold them.
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialEntry>,
    /// Whose identity the tools use upstream by default: `service_account` (default),
    /// `client_credentials` or `token_exchange` (both need `oauth`). Tools may override it.
    #[serde(default)]
    pub identity: Option<IdentityName>,
    /// The server's OAuth client, for `client_credentials` and `token_exchange`.
    #[serde(default)]
    pub oauth: Option<OAuthClientEntry>,
}

/// Where a credential's secret comes from.
///
/// A credential named after one of the spec's security schemes takes its type from the spec. A
/// credential with another name must give its `type`; it is sent with every operation for which
/// the spec declares no security at all (vendor specs often leave security out).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialEntry {
    /// Type of a credential the spec does not declare: `bearer`, `basic` or `api_key`.
    #[serde(default, rename = "type")]
    pub kind: Option<CredentialType>,
    /// For `api_key`: where the key goes (`header`, `query` or `cookie`). Default `header`.
    #[serde(default, rename = "in")]
    pub location: Option<String>,
    /// For `api_key`: the header, query parameter or cookie name.
    #[serde(default)]
    pub name: Option<String>,
    /// Environment variable holding the API key or bearer token (apiKey, http bearer, oauth2
    /// and openIdConnect schemes).
    #[serde(default)]
    pub env: Option<String>,
    /// Environment variable holding the user name (http basic schemes).
    #[serde(default)]
    pub username_env: Option<String>,
    /// Environment variable holding the password (http basic schemes).
    #[serde(default)]
    pub password_env: Option<String>,
}

/// Type of a credential the spec does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic …`.
    Basic,
    /// An API key in a header, query parameter or cookie.
    ApiKey,
}

/// One tool: a narrow view of one operation.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolEntry {
    /// The operation: its `operationId`, or `METHOD /path` (e.g. `GET /pets/{petId}`).
    pub operation: String,
    /// Whether the tool is generated. Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description shown to the model. Default: the operation's summary and description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the tool only reads. Default true for GET and HEAD; every other method must set
    /// it explicitly (`false` acknowledges a tool that writes).
    #[serde(default)]
    pub read_only: Option<bool>,
    /// Whether the tool may destroy data. Default: true for DELETE, PUT and PATCH.
    #[serde(default)]
    pub destructive: Option<bool>,
    /// Whether repeating a call has no further effect. Default: true for GET, HEAD, PUT, DELETE.
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// Whether the tool talks to an open world of external entities. Default true.
    #[serde(default)]
    pub open_world: Option<bool>,
    /// Whether a human must confirm each call. Default: true for destructive write tools.
    #[serde(default)]
    pub confirm: Option<bool>,
    /// OAuth scopes a caller needs to use this tool.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When set, the only parameters and body properties the model sees (same key syntax as
    /// `params`, which also count as listed); every other optional one is never sent, and every
    /// other required one needs a `fixed` or `env` value in `params`. Least privilege for wide
    /// operations.
    #[serde(default)]
    pub expose: Option<Vec<String>>,
    /// Parameters and top-level body properties, keyed by wire name (prefix with `path:`,
    /// `query:`, `header:`, `cookie:` or `body:` when a name is ambiguous).
    #[serde(default)]
    pub params: BTreeMap<String, ParamEntry>,
    /// What the tool returns.
    #[serde(default)]
    pub response: ResponseEntry,
    /// Whose identity the tool uses upstream (default: `upstream.identity`); `passthrough`
    /// forwards the caller's own token and must be chosen tool by tool.
    #[serde(default)]
    pub identity: Option<IdentityName>,
    /// What a refused or restricted call of this tool tells the user to do.
    #[serde(default)]
    pub escalation: Option<String>,
}

/// What happens to one parameter or body property.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamEntry {
    /// Always send this value; the model never sees the parameter.
    #[serde(default)]
    pub fixed: Option<Value>,
    /// Send the value of this environment variable; the model never sees the parameter.
    #[serde(default)]
    pub env: Option<String>,
    /// Hide the parameter from the model. An optional parameter without `fixed` or `env` is then
    /// never sent; a required one needs `fixed` or `env`.
    #[serde(default)]
    pub hidden: Option<bool>,
    /// Argument name the model sees instead of the wire name.
    #[serde(default)]
    pub rename: Option<String>,
    /// Description the model sees instead of the spec's.
    #[serde(default)]
    pub description: Option<String>,
    /// Value sent when the model omits the argument.
    #[serde(default)]
    pub default: Option<Value>,
    /// Narrows the allowed values (a subset of the spec's enum, if it has one).
    #[serde(default, rename = "enum")]
    pub allowed: Option<Vec<Value>>,
    /// Makes an optional parameter required.
    #[serde(default)]
    pub required: Option<bool>,
}

/// Shaping of successful results, applied before anything leaves the server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseEntry {
    /// Fields kept in results, as JSON pointers into the upstream response; `*` matches every
    /// array item or object member (e.g. `/results/*/id`). Empty keeps everything.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Fields removed or masked, as JSON pointers with `*` wildcards, applied after `allow`.
    #[serde(default)]
    pub redact: Vec<RedactEntry>,
    /// This tool's result budget in tokens, instead of `server.limits.max_result_tokens` (e.g.
    /// a tool that fetches one long document).
    #[serde(default)]
    pub max_result_tokens: Option<u32>,
    /// How much of the response schema this tool publishes, instead of `server.output_schema`.
    #[serde(default)]
    pub output_schema: Option<OutputSchemaEntry>,
}

/// How much of a response schema a tool publishes as its output schema: a mode, or a mode with
/// limits (`{mode: bounded, max_depth: 4, max_tokens: 1500}`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OutputSchemaEntry {
    /// `bounded`, `full` or `none`.
    Mode(OutputSchemaMode),
    /// A mode and its limits; unset ones come from the server (or the defaults).
    Detailed(OutputSchemaDetail),
}

impl OutputSchemaEntry {
    /// The entry as a mode with limits.
    pub fn detail(&self) -> OutputSchemaDetail {
        match self {
            OutputSchemaEntry::Mode(mode) => OutputSchemaDetail {
                mode: Some(*mode),
                ..OutputSchemaDetail::default()
            },
            OutputSchemaEntry::Detailed(detail) => detail.clone(),
        }
    }
}

/// Which output schema a tool publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputSchemaMode {
    /// The deepest description of the response that fits the budget: beyond it nested values
    /// are open (their type and a description of what they stand for), recursion is cut at its
    /// first repeat, and an id-or-object union keeps the id.
    Bounded,
    /// The whole response schema, however large.
    Full,
    /// No output schema: results are text (JSON objects are still structured content).
    None,
}

/// An output schema mode and its limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSchemaDetail {
    /// `bounded` (default), `full` or `none`.
    #[serde(default)]
    pub mode: Option<OutputSchemaMode>,
    /// Deepest nesting of objects and arrays a bounded schema describes. Default 6.
    #[serde(default)]
    pub max_depth: Option<u32>,
    /// Largest bounded schema, in tokens (about 4 bytes of JSON each). Default 1,000.
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// One redaction: a path (removed) or a path with an action.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RedactEntry {
    /// Remove the field at this path.
    Path(String),
    /// Remove or mask the field at a path.
    Rule(RedactRule),
}

/// A redaction with an explicit action.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactRule {
    /// JSON pointer with `*` wildcards.
    pub path: String,
    /// `remove` (default) or `mask`.
    #[serde(default)]
    pub action: RedactActionName,
    /// For `mask`: how many trailing characters stay visible (e.g. 4 for the last digits of an
    /// account number). Default 0.
    #[serde(default)]
    pub keep_last: u8,
}

/// What a redaction does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RedactActionName {
    /// Remove the field.
    #[default]
    Remove,
    /// Replace the value with `[REDACTED]` (or `****` and its last characters).
    Mask,
}

/// The JSON Schema of the annotation file, pretty-printed, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(AnnotationFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
