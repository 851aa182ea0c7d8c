//! The static description of a generated server.
//!
//! mcpgen emits one [`ServerSpec`] and one [`ToolSpec`] per tool as Rust `static` items built
//! only from these types; every behaviour that reads them lives in the rest of this crate. All
//! policy (hidden and fixed parameters, scopes, redactions, allowlists) has already been decided
//! by the generator: nothing here is looked up in the OpenAPI document at run time.
//!
//! JSON values (schemas, fixed parameter values, defaults) are carried as JSON text and parsed
//! once when the server starts, which keeps each tool a handful of constant expressions and the
//! compile cost per tool small.

/// The optional string argument the generator adds to every tool with `confirm: true`.
pub const CONFIRMATION_ARGUMENT: &str = "confirmation_token";

/// A whole generated server: identity, upstream and tools.
#[derive(Debug)]
pub struct ServerSpec {
    /// Server name reported in `serverInfo.name` (also the crate and binary name).
    pub name: &'static str,
    /// Server version reported in `serverInfo.version`.
    pub version: &'static str,
    /// Human-readable server title, if the annotation file sets one.
    pub title: Option<&'static str>,
    /// Instructions for the model, sent in the initialize result.
    pub instructions: Option<&'static str>,
    /// The tool contract's text (`mcp-contract.json`), where tools whose schemas are
    /// [`SchemaText::InContract`] find them: the schemas a reviewer diffs are the ones served.
    pub contract: Option<&'static str>,
    /// The upstream HTTP API the tools call.
    pub upstream: UpstreamSpec,
    /// Every tool, sorted by name.
    pub tools: &'static [&'static ToolSpec],
    /// Every OAuth scope some tool requires, sorted (`scopes_supported` in the protected resource
    /// metadata; the stdio principal's default grant).
    pub scopes: &'static [&'static str],
    /// Default limits; operators override them with flags.
    pub limits: LimitsSpec,
    /// What a refused or restricted call tells the user to do (who to contact, where to ask),
    /// unless the tool sets its own.
    pub escalation: Option<&'static str>,
}

/// Default limits of a server.
#[derive(Debug, Clone, Copy)]
pub struct LimitsSpec {
    /// Largest request body sent upstream, in bytes; a larger one is refused before sending.
    pub max_request_bytes: u64,
    /// Calls per minute one caller (token subject, or the stdio principal) may make.
    pub calls_per_minute: u32,
    /// Tool calls in progress at once, over all callers.
    pub max_concurrent_calls: u32,
    /// Largest result shown to the model, in tokens (about 4 bytes of JSON each); a larger one
    /// is cut to fit, unless the tool sets its own budget.
    pub max_result_tokens: u32,
}

/// The upstream HTTP API.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamSpec {
    /// Default base URL (scheme, host, optional path prefix, no trailing slash).
    pub base_url: &'static str,
    /// Environment variable that overrides the base URL (the `--upstream-url` flag wins over it).
    pub base_url_env: &'static str,
    /// Timeout for one upstream request, in milliseconds.
    pub timeout_ms: u64,
    /// Largest upstream response body read, in bytes; larger bodies fail the call.
    pub max_response_bytes: u64,
    /// Credentials the tools may use, keyed by [`CredentialSpec::id`].
    pub credentials: &'static [CredentialSpec],
    /// The OAuth client the server uses to obtain upstream tokens (client credentials and token
    /// exchange), when some tool needs one.
    pub oauth: Option<OAuthClientSpec>,
}

/// The server's own OAuth client at the upstream's authorization server.
#[derive(Debug, Clone, Copy)]
pub struct OAuthClientSpec {
    /// Token endpoint (operators may override it).
    pub token_url: &'static str,
    /// Environment variable holding the client id.
    pub client_id_env: &'static str,
    /// Environment variable holding the client secret (or, per the runtime's convention, a
    /// `<NAME>_FILE` variable naming a file that holds it).
    pub client_secret_env: &'static str,
    /// Scopes requested for upstream tokens.
    pub scopes: &'static [&'static str],
    /// `audience` requested for upstream tokens, when the authorization server wants one.
    pub audience: Option<&'static str>,
}

/// Whose identity a tool uses upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityMode {
    /// The server's own credentials (API key, bearer token or basic auth from the environment).
    ServiceAccount,
    /// A token the server obtains with the OAuth 2.0 client credentials grant, cached and
    /// refreshed before it expires.
    ClientCredentials,
    /// The caller's token exchanged (RFC 8693) for an upstream token on the caller's behalf.
    TokenExchange,
    /// The caller's own bearer token, forwarded as is (only where the annotation file allows it).
    Passthrough,
}

/// One upstream credential, read from the environment when the server starts.
#[derive(Debug)]
pub struct CredentialSpec {
    /// Identifier (the OpenAPI security scheme name).
    pub id: &'static str,
    /// How the credential is attached to requests and where its secret comes from.
    pub kind: CredentialKind,
}

/// How a credential is attached to an upstream request.
#[derive(Debug)]
pub enum CredentialKind {
    /// An API key sent in a header, query parameter or cookie.
    ApiKey {
        /// Where the key goes.
        location: ApiKeyLocation,
        /// Header, query parameter or cookie name.
        name: &'static str,
        /// Environment variable holding the key.
        env: &'static str,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Environment variable holding the token.
        env: &'static str,
    },
    /// `Authorization: Basic <base64(user:password)>`.
    Basic {
        /// Environment variable holding the user name.
        username_env: &'static str,
        /// Environment variable holding the password.
        password_env: &'static str,
    },
}

/// Where an API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
    /// A cookie.
    Cookie,
}

/// Where one of a tool's JSON Schemas is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaText {
    /// In the server's contract ([`ServerSpec::contract`]), under the tool's entry: generated
    /// servers keep each schema once, in the file reviewers diff.
    InContract,
    /// This JSON text.
    Inline(&'static str),
}

/// One MCP tool: what the model sees and the single upstream operation it calls.
#[derive(Debug)]
pub struct ToolSpec {
    /// Tool name (1–128 characters of `[A-Za-z0-9_.-]`).
    pub name: &'static str,
    /// Human-readable title.
    pub title: Option<&'static str>,
    /// Description shown to the model.
    pub description: &'static str,
    /// The upstream operation.
    pub operation: OperationSpec,
    /// JSON Schema of the arguments, after hiding and fixing parameters, as published
    /// (rewritten for client profiles when the annotation file names some).
    pub input_schema: SchemaText,
    /// JSON Schema of the arguments as the spec gives them, when `input_schema` was rewritten
    /// for client profiles: arguments are checked against this one, so a rewrite never loosens
    /// what reaches the upstream.
    pub spec_input_schema: Option<SchemaText>,
    /// Whether a `null` argument means an absent one (OpenAI strict mode makes every property
    /// required and the optional ones nullable): nulls in objects are removed before the
    /// arguments are checked.
    pub nulls_absent: bool,
    /// What a successful result looks like.
    pub output: OutputSpec,
    /// Parameters sent in the path, query, headers or cookies.
    pub params: &'static [ParamSpec],
    /// The request body, if the operation takes one.
    pub body: Option<BodySpec>,
    /// The `Accept` header sent upstream, built from the operation's response media types.
    pub accept: &'static str,
    /// Ids of the credentials attached to each request (all of them are sent).
    pub credentials: &'static [&'static str],
    /// OAuth scopes a caller needs to use this tool.
    pub scopes: &'static [&'static str],
    /// Behaviour hints published as MCP tool annotations.
    pub hints: HintsSpec,
    /// Whether a human must confirm each call.
    pub confirm: bool,
    /// Whose identity the tool uses upstream.
    pub identity: IdentityMode,
    /// Version of the tool's contract (a hash of what clients see and what it does), reported in
    /// audit records.
    pub contract: &'static str,
    /// What a refused or restricted call of this tool tells the user to do.
    pub escalation: Option<&'static str>,
}

/// The upstream operation behind a tool.
#[derive(Debug)]
pub struct OperationSpec {
    /// `operationId`, when the spec has one.
    pub id: Option<&'static str>,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template relative to the base URL, e.g. `/pets/{petId}`.
    pub path: &'static str,
}

/// HTTP methods an operation can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET
    Get,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// TRACE
    Trace,
}

impl HttpMethod {
    /// The method as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Trace => "TRACE",
        }
    }
}

/// Where a parameter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// Substituted into the path template.
    Path,
    /// Appended to the query string.
    Query,
    /// Sent as a request header.
    Header,
    /// Sent in the `Cookie` header.
    Cookie,
}

/// OpenAPI serialization style of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `simple` (path, header): `a,b,c`.
    Simple,
    /// `label` (path): `.a.b.c`.
    Label,
    /// `matrix` (path): `;id=a,b,c`.
    Matrix,
    /// `form` (query, cookie): `id=a&id=b` or `id=a,b`.
    Form,
    /// `spaceDelimited` (query arrays): `id=a%20b`.
    SpaceDelimited,
    /// `pipeDelimited` (query arrays): `id=a|b`.
    PipeDelimited,
    /// `deepObject` (query objects): `id[role]=admin`.
    DeepObject,
}

/// One path, query, header or cookie parameter.
#[derive(Debug)]
pub struct ParamSpec {
    /// Name on the wire.
    pub name: &'static str,
    /// Where it is sent.
    pub location: ParamLocation,
    /// Serialization style.
    pub style: ParamStyle,
    /// Whether arrays and objects are exploded.
    pub explode: bool,
    /// Whether reserved characters are sent unencoded (query only).
    pub allow_reserved: bool,
    /// Where the value comes from.
    pub value: ValueSource,
}

impl ParamSpec {
    /// A path parameter, serialised as OpenAPI does by default there (`simple`, not exploded).
    pub const fn path(name: &'static str, value: ValueSource) -> ParamSpec {
        ParamSpec::with_defaults(name, ParamLocation::Path, value)
    }

    /// A query parameter, serialised as OpenAPI does by default there (`form`, exploded,
    /// reserved characters encoded).
    pub const fn query(name: &'static str, value: ValueSource) -> ParamSpec {
        ParamSpec::with_defaults(name, ParamLocation::Query, value)
    }

    /// A header, serialised as OpenAPI does by default there (`simple`, not exploded).
    pub const fn header(name: &'static str, value: ValueSource) -> ParamSpec {
        ParamSpec::with_defaults(name, ParamLocation::Header, value)
    }

    /// A cookie, serialised as OpenAPI does by default there (`form`, exploded).
    pub const fn cookie(name: &'static str, value: ValueSource) -> ParamSpec {
        ParamSpec::with_defaults(name, ParamLocation::Cookie, value)
    }

    /// A parameter with its location's default style and explode, reserved characters encoded.
    const fn with_defaults(
        name: &'static str,
        location: ParamLocation,
        value: ValueSource,
    ) -> ParamSpec {
        let (style, explode) = location.default_style();
        ParamSpec {
            name,
            location,
            style,
            explode,
            allow_reserved: false,
            value,
        }
    }
}

impl ParamLocation {
    /// OpenAPI's default style and explode for a parameter sent here.
    pub const fn default_style(self) -> (ParamStyle, bool) {
        match self {
            ParamLocation::Path | ParamLocation::Header => (ParamStyle::Simple, false),
            ParamLocation::Query | ParamLocation::Cookie => (ParamStyle::Form, true),
        }
    }
}

/// Where a parameter or body field gets its value.
#[derive(Debug)]
pub enum ValueSource {
    /// A tool argument; omitted from the request when the argument is absent and has no default.
    Argument {
        /// Argument name in the input schema.
        name: &'static str,
        /// JSON text of the value used when the argument is absent (a default set by the
        /// annotation file, which the tool therefore always sends).
        default: Option<&'static str>,
    },
    /// A constant fixed by the annotation file (JSON text); the model never sees it.
    Fixed {
        /// JSON text of the value.
        json: &'static str,
    },
    /// A string read from an environment variable when the server starts; the model never sees it.
    Env {
        /// Environment variable name.
        var: &'static str,
    },
}

impl ValueSource {
    /// A tool argument without a default: omitted from the request when absent.
    pub const fn argument(name: &'static str) -> ValueSource {
        ValueSource::Argument {
            name,
            default: None,
        }
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// JSON (`application/json` or a `+json` type).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data` (the HTTP client writes the boundary).
    Multipart,
    /// Plain text sent as-is (`text/*`).
    Text,
    /// Raw bytes, given by the model as base64.
    Binary,
}

/// The request body.
#[derive(Debug)]
pub struct BodySpec {
    /// Content type sent (for multipart, the boundary is added by the HTTP client).
    pub media_type: &'static str,
    /// How the body is encoded.
    pub encoding: BodyEncoding,
    /// Whether the operation requires a body.
    pub required: bool,
    /// Where the body's value comes from.
    pub value: BodyValue,
}

/// Where a request body's value comes from.
#[derive(Debug)]
pub enum BodyValue {
    /// The whole body is one tool argument.
    Argument {
        /// Argument name in the input schema.
        name: &'static str,
    },
    /// The body is an object assembled from fields (its top-level properties).
    Fields(&'static [BodyField]),
}

/// One top-level property of an object body.
#[derive(Debug)]
pub struct BodyField {
    /// Property name on the wire.
    pub name: &'static str,
    /// Where its value comes from.
    pub value: ValueSource,
    /// Multipart only: the part is a file whose argument holds base64 or a `data:` URI.
    pub file: bool,
    /// Multipart only: content type of the part, when the spec sets one.
    pub content_type: Option<&'static str>,
}

/// What a successful result looks like.
#[derive(Debug)]
pub struct OutputSpec {
    /// The published `outputSchema`, when the primary success response is JSON.
    pub schema: Option<SchemaText>,
    /// When set, the upstream JSON value is wrapped as `{ <wrap>: value }` because MCP structured
    /// content must be an object.
    pub wrap: Option<&'static str>,
    /// Fields kept in the result (JSON pointers, `*` matches any array item or object member);
    /// empty keeps everything.
    pub allow: &'static [&'static str],
    /// Redactions applied after the allowlist.
    pub redact: &'static [RedactionSpec],
    /// How field rules hold where an answer does not have the published shape (set when the
    /// tool has an allowlist or redactions; empty otherwise).
    pub names: NameRules,
    /// The tool's own result budget in tokens (`None`: the server's).
    pub max_result_tokens: Option<u32>,
    /// Arguments that page or filter the answer (model-facing names), suggested when a result is
    /// cut to its budget.
    pub narrow_with: &'static [&'static str],
}

impl OutputSpec {
    /// No output schema and no field rules: results as the upstream sends them (scrubbed).
    pub const NONE: OutputSpec = OutputSpec {
        schema: None,
        wrap: None,
        allow: &[],
        redact: &[],
        names: NameRules::NONE,
        max_result_tokens: None,
        narrow_with: &[],
    };
}

/// Field rules by member name, for the parts of an answer whose position the published output
/// schema does not describe: error bodies, envelopes and members the spec does not mention.
#[derive(Debug)]
pub struct NameRules {
    /// When set (tools with an allowlist), error bodies keep only members with these names: the
    /// names the allowlist lets through and common error-envelope names (`message`, `code` …),
    /// less `drop`.
    pub keep: Option<&'static [&'static str]>,
    /// Members with these names are removed wherever the published schema does not name them:
    /// the members redactions remove or mask, and, with an allowlist, the response's members it
    /// leaves out.
    pub drop: &'static [&'static str],
}

impl NameRules {
    /// No rules (a tool without an allowlist or redactions).
    pub const NONE: NameRules = NameRules {
        keep: None,
        drop: &[],
    };
}

/// One redaction rule applied to the upstream response before it leaves the server.
#[derive(Debug)]
pub struct RedactionSpec {
    /// JSON pointer into the (unwrapped) upstream response; `*` matches any array item or
    /// object member.
    pub path: &'static str,
    /// What happens to the value.
    pub action: RedactAction,
}

/// What a redaction does to a matched value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactAction {
    /// The member is removed.
    Remove,
    /// The value is replaced by `"[REDACTED]"`, or by `"****"` plus its last `keep_last`
    /// characters when `keep_last > 0` and the value is long enough not to be revealed.
    Mask {
        /// Trailing characters kept visible.
        keep_last: u8,
    },
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintsSpec {
    /// The tool does not modify its environment.
    pub read_only: bool,
    /// The tool may perform destructive updates.
    pub destructive: bool,
    /// Repeated calls with the same arguments have no additional effect.
    pub idempotent: bool,
    /// The tool interacts with an open world of external entities.
    pub open_world: bool,
}
