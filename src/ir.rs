//! The intermediate representation: one generated server, fully decided.
//!
//! `lower` builds it from the specs and the annotation file; `emit` reads it and nothing else.
//! Every policy decision (which parameters the model sees, fixed and hidden values, scopes,
//! allowlists, redactions, hints, credentials) is already applied here, so the schema the
//! model sees and the request the server sends are derived from the same values. No spec
//! type crosses this boundary: schemas are plain JSON Schema values.

use crate::naming::{CrateName, EnvVarName, RustIdent, ToolName};
use serde_json::Value;
use std::sync::Arc;

/// Name of the argument that carries a human's confirmation (the runtime's
/// `CONFIRMATION_ARGUMENT`): added to the input schema of every tool that needs one.
pub const CONFIRMATION_ARGUMENT: &str = "confirmation_token";

/// A whole generated server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerIr {
    /// Cargo package and binary name; also `serverInfo.name`.
    pub crate_name: CrateName,
    /// Server and crate version.
    pub version: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// Instructions for the model, sent at initialization.
    pub instructions: Option<String>,
    /// The upstream API.
    pub upstream: UpstreamIr,
    /// Every tool, sorted by name.
    pub tools: Vec<ToolIr>,
    /// The input files the server was generated from, sorted by path.
    pub sources: Vec<SourceFile>,
    /// Default limits.
    pub limits: Limits,
    /// What refused calls tell the user to do, unless a tool says otherwise.
    pub escalation: Option<String>,
    /// Client profiles the input schemas were normalised for, sorted.
    pub profiles: Vec<Profile>,
}

impl ServerIr {
    /// Every scope some tool requires, sorted.
    pub fn scopes(&self) -> Vec<String> {
        let scopes: std::collections::BTreeSet<&String> =
            self.tools.iter().flat_map(|t| &t.scopes).collect();
        scopes.into_iter().cloned().collect()
    }
}

/// Default limits of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body sent upstream, in bytes.
    pub max_request_bytes: u64,
    /// Calls per minute per caller.
    pub calls_per_minute: u32,
    /// Tool calls in progress at once.
    pub max_concurrent_calls: u32,
    /// Result budget in tokens, for tools without their own.
    pub max_result_tokens: u32,
}

/// Whose identity a tool uses upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The server's own credentials.
    ServiceAccount,
    /// A token from the client credentials grant.
    ClientCredentials,
    /// The caller's token exchanged for an upstream token.
    TokenExchange,
    /// The caller's token forwarded.
    Passthrough,
}

impl Identity {
    /// The name used in the annotation file, audit log and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::ServiceAccount => "service_account",
            Identity::ClientCredentials => "client_credentials",
            Identity::TokenExchange => "token_exchange",
            Identity::Passthrough => "passthrough",
        }
    }
}

/// The server's OAuth client at the upstream's authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// Token endpoint.
    pub token_url: String,
    /// Environment variable holding the client id.
    pub client_id_env: EnvVarName,
    /// Environment variable holding the client secret.
    pub client_secret_env: EnvVarName,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// Audience requested.
    pub audience: Option<String>,
}

/// One input file, for provenance in the generated crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the annotation file's directory, `/`-separated.
    pub path: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// The upstream HTTP API.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamIr {
    /// Default base URL, without a trailing slash.
    pub base_url: String,
    /// Environment variable that overrides the base URL.
    pub base_url_env: EnvVarName,
    /// Timeout for one upstream request, in milliseconds.
    pub timeout_ms: u64,
    /// Largest response body read, in bytes.
    pub max_response_bytes: u64,
    /// Credentials used by at least one tool, sorted by id.
    pub credentials: Vec<CredentialIr>,
    /// The OAuth client, when a tool obtains upstream tokens.
    pub oauth: Option<OAuthClient>,
}

/// One upstream credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialIr {
    /// The security scheme name.
    pub id: String,
    /// How it is sent and where its secret comes from.
    pub kind: CredentialKind,
}

/// How a credential is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Where it goes.
        location: ApiKeyLocation,
        /// Header, parameter or cookie name.
        name: String,
        /// Environment variable holding the key.
        env: EnvVarName,
    },
    /// A bearer token.
    Bearer {
        /// Environment variable holding the token.
        env: EnvVarName,
    },
    /// HTTP basic authentication.
    Basic {
        /// Environment variable holding the user name.
        username_env: EnvVarName,
        /// Environment variable holding the password.
        password_env: EnvVarName,
    },
}

impl CredentialKind {
    /// The environment variables this credential reads.
    pub fn env_vars(&self) -> Vec<&EnvVarName> {
        match self {
            CredentialKind::ApiKey { env, .. } | CredentialKind::Bearer { env } => vec![env],
            CredentialKind::Basic {
                username_env,
                password_env,
            } => vec![username_env, password_env],
        }
    }
}

/// Where an API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A header.
    Header,
    /// A query parameter.
    Query,
    /// A cookie.
    Cookie,
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpMethod {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
}

impl HttpMethod {
    /// Every method, in the order OpenAPI lists them in a path item.
    pub const ALL: [HttpMethod; 8] = [
        HttpMethod::Get,
        HttpMethod::Put,
        HttpMethod::Post,
        HttpMethod::Delete,
        HttpMethod::Options,
        HttpMethod::Head,
        HttpMethod::Patch,
        HttpMethod::Trace,
    ];

    /// The lowercase key used in OpenAPI path items.
    pub fn key(self) -> &'static str {
        match self {
            HttpMethod::Get => "get",
            HttpMethod::Put => "put",
            HttpMethod::Post => "post",
            HttpMethod::Delete => "delete",
            HttpMethod::Options => "options",
            HttpMethod::Head => "head",
            HttpMethod::Patch => "patch",
            HttpMethod::Trace => "trace",
        }
    }

    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Post => "POST",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Head => "HEAD",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Trace => "TRACE",
        }
    }

    /// Parses a method name in any case.
    pub fn parse(text: &str) -> Option<HttpMethod> {
        HttpMethod::ALL
            .into_iter()
            .find(|m| m.key().eq_ignore_ascii_case(text))
    }

    /// Whether the method is safe (does not change the upstream's state).
    pub fn is_safe(self) -> bool {
        matches!(
            self,
            HttpMethod::Get | HttpMethod::Head | HttpMethod::Options | HttpMethod::Trace
        )
    }
}

/// One tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolIr {
    /// Tool name.
    pub name: ToolName,
    /// Rust module holding the tool's static description.
    pub module: RustIdent,
    /// Human-readable title.
    pub title: Option<String>,
    /// Description shown to the model.
    pub description: String,
    /// The upstream operation.
    pub operation: OperationIr,
    /// JSON Schema of the arguments the model gives (normalised for the server's profiles);
    /// tools taking the same arguments share one.
    pub input_schema: Arc<Value>,
    /// The schema of the arguments as the spec gives them, when profile normalisation rewrote
    /// `input_schema`; the server checks arguments against this one.
    pub spec_input_schema: Option<Arc<Value>>,
    /// Whether a `null` argument means an absent one (optional properties were made required
    /// and nullable for OpenAI strict mode); nulls are removed before arguments are checked.
    pub nulls_absent: bool,
    /// Arguments for the tool's test call, sampled while lowering (checked with the validator
    /// the input schema was checked with, so it is compiled once): see [`crate::sample::arguments`].
    pub sample_arguments: Arc<Value>,
    /// The shape of successful results.
    pub output: OutputIr,
    /// Path, query, header and cookie parameters, in path-template order, then query, header
    /// and cookie, each group in spec order.
    pub params: Vec<ParamIr>,
    /// The request body.
    pub body: Option<BodyIr>,
    /// The `Accept` header.
    pub accept: String,
    /// Ids of the credentials sent with each request.
    pub credentials: Vec<String>,
    /// OAuth scopes a caller needs, sorted.
    pub scopes: Vec<String>,
    /// MCP tool annotations.
    pub hints: Hints,
    /// Whether a human must confirm each call.
    pub confirm: bool,
    /// Whose identity the tool uses upstream.
    pub identity: Identity,
    /// What a refused call of this tool tells the user to do.
    pub escalation: Option<String>,
}

/// The operation a tool calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationIr {
    /// `operationId`, if any.
    pub id: Option<String>,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template.
    pub path: String,
    /// Spec file it comes from, relative to the annotation file.
    pub spec_file: String,
    /// JSON pointer of the operation in its spec.
    pub pointer: String,
}

impl OperationIr {
    /// How the operation is named in logs and docs: its operationId or `METHOD /path`.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => format!("{} {}", self.method.as_str(), self.path),
        }
    }
}

/// The shape of successful results.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputIr {
    /// The published output schema, when the primary success response is JSON with a schema.
    pub schema: Option<std::sync::Arc<Value>>,
    /// Member name wrapping non-object JSON results.
    pub wrap: Option<String>,
    /// Allowlisted paths (empty keeps everything).
    pub allow: Vec<String>,
    /// Redactions, applied after the allowlist.
    pub redact: Vec<RedactionIr>,
    /// Field rules by name, for answers whose shape is not the published one (empty without
    /// an allowlist or redactions).
    pub names: NameRulesIr,
    /// The tool's own result budget in tokens.
    pub max_result_tokens: Option<u32>,
    /// Arguments (model-facing names) that page or filter the answer, suggested when a result
    /// is cut to its budget.
    pub narrow_with: Vec<String>,
    /// A canned upstream success response (before shaping) for the tool's tests, sampled from
    /// the response schema; absent when the response has no schema.
    pub upstream_sample: Option<std::sync::Arc<Value>>,
    /// Whether that answer, passed on as it is, fits the published output schema: decided
    /// while lowering, where the schema was compiled; absent when the tool shapes the answer
    /// first (its tests check the shaped answer) or publishes no output schema.
    pub upstream_sample_fits: Option<bool>,
    /// Media type of the primary success response (empty when it has no content).
    pub media_type: String,
    /// Status code of the primary success response.
    pub status: u16,
}

/// Field rules by member name (see `lower::names`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameRulesIr {
    /// With an allowlist: the only member names error bodies keep (sorted).
    pub keep: Option<Vec<String>>,
    /// Member names removed wherever the published schema does not name them (sorted).
    pub drop: Vec<String>,
}

/// One redaction rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionIr {
    /// JSON pointer with `*` wildcards, relative to the upstream response.
    pub path: String,
    /// What happens to matched values.
    pub action: RedactAction,
}

/// What a redaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactAction {
    /// Remove the member.
    Remove,
    /// Replace the value, keeping its last `keep_last` characters visible.
    Mask {
        /// Trailing characters kept.
        keep_last: u8,
    },
}

/// Where a parameter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ParamLocation {
    /// Path template.
    Path,
    /// Query string.
    Query,
    /// Header.
    Header,
    /// Cookie.
    Cookie,
}

impl ParamLocation {
    /// The OpenAPI `in` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

/// OpenAPI parameter styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `simple`
    Simple,
    /// `label`
    Label,
    /// `matrix`
    Matrix,
    /// `form`
    Form,
    /// `spaceDelimited`
    SpaceDelimited,
    /// `pipeDelimited`
    PipeDelimited,
    /// `deepObject`
    DeepObject,
}

/// One path, query, header or cookie parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamIr {
    /// Wire name.
    pub wire_name: String,
    /// Where it is sent.
    pub location: ParamLocation,
    /// Serialization style.
    pub style: ParamStyle,
    /// Whether arrays and objects are exploded.
    pub explode: bool,
    /// Whether reserved characters are sent as is.
    pub allow_reserved: bool,
    /// Where its value comes from.
    pub value: ValueSource,
}

/// Where a parameter or body field gets its value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSource {
    /// A tool argument.
    Argument {
        /// Argument name.
        name: String,
        /// Value sent when the argument is absent (a default set by the annotation file).
        default: Option<Value>,
    },
    /// A constant set by the annotation file.
    Fixed(Value),
    /// A string from an environment variable.
    Env {
        /// The variable.
        var: EnvVarName,
        /// JSON Schema of the parameter it fills (self-contained), to test with a fitting value.
        schema: Value,
    },
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// JSON.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// Text.
    Text,
    /// Raw bytes (base64 argument).
    Binary,
}

/// The request body.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyIr {
    /// Content type sent.
    pub media_type: String,
    /// Encoding.
    pub encoding: BodyEncoding,
    /// Whether the operation requires a body.
    pub required: bool,
    /// Where the body's value comes from.
    pub value: BodyValue,
}

/// Where a request body's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyValue {
    /// One argument holds the whole body.
    Argument {
        /// Argument name.
        name: String,
    },
    /// The body is an object assembled from fields.
    Fields(Vec<BodyFieldIr>),
}

/// One top-level property of an object body.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyFieldIr {
    /// Property name on the wire.
    pub wire_name: String,
    /// Where its value comes from.
    pub value: ValueSource,
    /// Multipart: the part is a file (base64 or `data:` URI argument).
    pub file: bool,
    /// Multipart: content type of the part.
    pub content_type: Option<String>,
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hints {
    /// Does not modify its environment.
    pub read_only: bool,
    /// May perform destructive updates.
    pub destructive: bool,
    /// Repeating a call has no further effect.
    pub idempotent: bool,
    /// Talks to an open world of external entities.
    pub open_world: bool,
}

/// A client's restrictions on input schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// Anthropic: no `anyOf`/`oneOf`/`allOf` at the top of an input schema.
    Anthropic,
    /// OpenAI strict mode: `items` on every array, `additionalProperties: false` and every
    /// property required on every object.
    OpenAi,
    /// Gemini: no `$ref`/`$defs`, a limited set of keywords, one type per schema.
    Gemini,
}

impl Profile {
    /// Parses a profile name.
    pub fn parse(name: &str) -> Option<Profile> {
        match name.to_ascii_lowercase().as_str() {
            "anthropic" | "claude" => Some(Profile::Anthropic),
            "openai" | "openai-strict" => Some(Profile::OpenAi),
            "gemini" | "google" => Some(Profile::Gemini),
            _ => None,
        }
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Anthropic => "anthropic",
            Profile::OpenAi => "openai",
            Profile::Gemini => "gemini",
        }
    }
}
