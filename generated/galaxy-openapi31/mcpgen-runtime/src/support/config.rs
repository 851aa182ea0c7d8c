//! Settings of a running server: command-line flags and environment variables.
//!
//! Owns parsing `argv` (by hand: a table of flags does not need clap) into a [`Command`], the
//! environment variable behind each flag (`<PREFIX>_<FLAG>`, where the prefix is the server
//! name in upper snake case; a flag on the command line wins), and reading every variable the
//! [`ServerSpec`] and the flags need into [`Settings`]. Any variable `X` may instead be given
//! as `X_FILE`, the path of a file holding the value (one trailing newline is trimmed), which is
//! how container secrets are usually mounted.
//!
//! Nothing here prints a variable's value: errors name variables, and every value is held in a
//! [`Secret`] whose `Debug` and `Display` never show it. Tests build [`Cli`] and [`Settings`]
//! directly ([`Settings::new`], [`Settings::with_var`] and the other `with_` methods), never
//! through the process environment.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;

use crate::spec::{BodyValue, CredentialKind, IdentityMode, ServerSpec, ToolSpec, ValueSource};
use crate::support::principal::Principal;
use crate::support::secret::Secret;

/// Address the HTTP transport listens on when `--listen` is not given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";

/// Subject of the stdio principal when `--stdio-subject` is not given.
pub const DEFAULT_STDIO_SUBJECT: &str = "local-operator";

/// Clock skew tolerated on token times when `--auth-clock-skew-secs` is not given.
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 60;

/// Suffix of the variable that names a file holding the value of another variable.
pub const FILE_SUFFIX: &str = "_FILE";

/// Which MCP transport the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportKind {
    /// JSON-RPC over standard input and output.
    #[default]
    Stdio,
    /// Streamable HTTP (stateless, JSON responses) at `/mcp`.
    Http,
}

impl TransportKind {
    /// The flag value naming this transport.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::Http => "http",
        }
    }
}

/// How callers of the HTTP transport are authenticated, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthFlags {
    /// Issuer of accepted tokens (`--auth-issuer`): checked against `iss`, published as the
    /// authorization server, and the base of JWKS discovery.
    pub issuer: Option<String>,
    /// JWKS URL (`--auth-jwks-url`); default: the `jwks_uri` of the issuer's metadata.
    pub jwks_url: Option<String>,
    /// This server's resource identifier (`--auth-audience`); default `<public URL>/mcp`.
    pub audience: Option<String>,
    /// A PEM or JWK public key file tokens are verified with (`--auth-static-key-file`).
    pub static_key_file: Option<String>,
    /// Variable holding an HS256 secret tokens are verified with (`--auth-hs256-secret-env`).
    pub hs256_secret_env: Option<String>,
    /// RFC 7662 introspection endpoint for opaque tokens (`--auth-introspection-url`).
    pub introspection_url: Option<String>,
    /// Variable holding the introspection client id.
    pub introspection_client_id_env: Option<String>,
    /// Variable holding the introspection client secret.
    pub introspection_client_secret_env: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf` (`--auth-clock-skew-secs`).
    pub clock_skew_secs: Option<u64>,
    /// Serve HTTP without authentication (`--insecure-no-auth`, development only).
    pub insecure_no_auth: bool,
}

impl AuthFlags {
    /// Whether any way of validating tokens is configured.
    pub fn any_validation(&self) -> bool {
        self.issuer.is_some()
            || self.jwks_url.is_some()
            || self.static_key_file.is_some()
            || self.hs256_secret_env.is_some()
            || self.introspection_url.is_some()
    }
}

/// Limits given on the command line; unset ones come from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitFlags {
    /// `--max-request-bytes`.
    pub max_request_bytes: Option<u64>,
    /// `--max-response-bytes`.
    pub max_response_bytes: Option<u64>,
    /// `--calls-per-minute` (0: unlimited).
    pub calls_per_minute: Option<u32>,
    /// `--max-concurrent-calls` (0: unlimited).
    pub max_concurrent_calls: Option<u32>,
    /// `--max-result-tokens`: the result budget of tools that do not set their own.
    pub max_result_tokens: Option<u32>,
}

/// Options of the `serve` command, as given on the command line and in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    /// Transport to serve on (`--transport`, default stdio).
    pub transport: TransportKind,
    /// Listen address of the HTTP transport (`--listen`).
    pub listen: SocketAddr,
    /// Upstream base URL overriding the environment and the spec (`--upstream-url`).
    pub upstream_url: Option<String>,
    /// Extra `Host` values accepted by the HTTP transport (`--allowed-host`, repeatable).
    pub allowed_hosts: Vec<String>,
    /// The server's external base URL (`--public-url`); default `http://<listen address>`.
    pub public_url: Option<String>,
    /// Caller authentication (HTTP).
    pub auth: AuthFlags,
    /// Subject of the stdio principal (`--stdio-subject`).
    pub stdio_subject: Option<String>,
    /// Scopes of the stdio principal (`--stdio-scopes a,b`); default: every declared scope.
    pub stdio_scopes: Option<Vec<String>>,
    /// Variable holding the stdio principal's own access token (`--stdio-token-env`), for
    /// tools that act upstream on the caller's behalf.
    pub stdio_token_env: Option<String>,
    /// Token endpoint overriding the spec's (`--oauth-token-url`).
    pub oauth_token_url: Option<String>,
    /// Variable holding the key of confirmation tokens (`--confirmation-secret-env`), shared by
    /// replicas; default: a random key per process.
    pub confirmation_secret_env: Option<String>,
    /// Limits.
    pub limits: LimitFlags,
    /// File the audit lines are also appended to (`--audit-file`).
    pub audit_file: Option<String>,
    /// Address of the Prometheus metrics listener (`--metrics-listen`); none by default.
    pub metrics_listen: Option<SocketAddr>,
    /// OTLP/HTTP endpoint traces are exported to (`--otlp-endpoint`); none by default.
    pub otlp_endpoint: Option<String>,
    /// Redis URL of the state replicas share (`--state-url`); none by default (in-memory).
    pub state_url: Option<String>,
}

impl Default for Cli {
    fn default() -> Self {
        Cli {
            transport: TransportKind::Stdio,
            listen: default_listen(),
            upstream_url: None,
            allowed_hosts: Vec::new(),
            public_url: None,
            auth: AuthFlags::default(),
            stdio_subject: None,
            stdio_scopes: None,
            stdio_token_env: None,
            oauth_token_url: None,
            confirmation_secret_env: None,
            limits: LimitFlags::default(),
            audit_file: None,
            metrics_listen: None,
            otlp_endpoint: None,
            state_url: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve MCP with these options.
    Serve(Box<Cli>),
    /// Print the usage text.
    Help,
    /// Print the name and version.
    Version,
}

/// A command line that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// A flag this program does not know.
    UnknownFlag(String),
    /// A flag that needs a value was last on the line.
    MissingValue(&'static str),
    /// A switch was given a value (`--insecure-no-auth=yes`).
    UnexpectedValue(&'static str),
    /// `--transport` with something other than `stdio` or `http`.
    BadTransport(String),
    /// `--listen` with something that is not `IP:PORT`.
    BadListen {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// A numeric flag with something that is not a number in range.
    BadNumber {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// A switch's variable holds something other than true/false.
    BadSwitch {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// A positional argument (none are accepted).
    UnexpectedArgument(String),
    /// A variable behind a flag holds a bad value.
    FromEnv {
        /// The variable.
        var: String,
        /// What is wrong with its value.
        error: Box<UsageError>,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::UnknownFlag(flag) => write!(f, "unknown flag `{flag}`"),
            UsageError::MissingValue(flag) => write!(f, "flag `{flag}` needs a value"),
            UsageError::UnexpectedValue(flag) => write!(f, "flag `{flag}` takes no value"),
            UsageError::BadTransport(value) => {
                write!(f, "`--transport {value}`: expected `stdio` or `http`")
            }
            UsageError::BadListen { flag, value } => {
                write!(f, "`{flag} {value}`: expected IP:PORT, e.g. 127.0.0.1:8000")
            }
            UsageError::BadNumber { flag, value } => {
                write!(f, "`{flag} {value}`: expected a whole number")
            }
            UsageError::BadSwitch { flag, value } => {
                write!(f, "`{flag}` = `{value}`: expected true or false")
            }
            UsageError::UnexpectedArgument(arg) => write!(f, "unexpected argument `{arg}`"),
            UsageError::FromEnv { var, error } => {
                write!(f, "environment variable {var}: {error}")
            }
        }
    }
}

impl std::error::Error for UsageError {}

/// One option: its flag, the suffix of its variable, its value's name (`None`: a switch) and
/// help.
struct Opt {
    flag: &'static str,
    env: &'static str,
    value: Option<&'static str>,
    help: &'static str,
}

const fn opt(
    flag: &'static str,
    env: &'static str,
    value: Option<&'static str>,
    help: &'static str,
) -> Opt {
    Opt {
        flag,
        env,
        value,
        help,
    }
}

/// Every option, in the order `--help` lists them.
const OPTIONS: &[Opt] = &[
    opt(
        "--transport",
        "TRANSPORT",
        Some("stdio|http"),
        "MCP transport (default: stdio)",
    ),
    opt(
        "--listen",
        "LISTEN",
        Some("ADDR"),
        "HTTP listen address (default: 127.0.0.1:8000)",
    ),
    opt(
        "--upstream-url",
        "",
        Some("URL"),
        "upstream API base URL (overrides the spec's base URL variable)",
    ),
    opt(
        "--allowed-host",
        "ALLOWED_HOSTS",
        Some("HOST"),
        "extra Host header value accepted over HTTP (repeatable, or comma-separated)",
    ),
    opt(
        "--public-url",
        "PUBLIC_URL",
        Some("URL"),
        "the server's external base URL (default: http://<listen address>)",
    ),
    opt(
        "--auth-issuer",
        "AUTH_ISSUER",
        Some("URL"),
        "issuer of accepted access tokens (checked against `iss`; JWKS discovered from its metadata)",
    ),
    opt(
        "--auth-jwks-url",
        "AUTH_JWKS_URL",
        Some("URL"),
        "JWKS of the issuer (default: `jwks_uri` from the issuer's metadata)",
    ),
    opt(
        "--auth-audience",
        "AUTH_AUDIENCE",
        Some("ID"),
        "this server's resource id, required in `aud` (default: <public URL>/mcp)",
    ),
    opt(
        "--auth-static-key-file",
        "AUTH_STATIC_KEY_FILE",
        Some("PATH"),
        "verify tokens with this PEM or JWK public key instead of a JWKS (development)",
    ),
    opt(
        "--auth-hs256-secret-env",
        "AUTH_HS256_SECRET_ENV",
        Some("NAME"),
        "verify HS256 tokens with the secret in variable NAME (development)",
    ),
    opt(
        "--auth-introspection-url",
        "AUTH_INTROSPECTION_URL",
        Some("URL"),
        "RFC 7662 introspection endpoint for opaque (non-JWT) tokens",
    ),
    opt(
        "--auth-introspection-client-id-env",
        "AUTH_INTROSPECTION_CLIENT_ID_ENV",
        Some("NAME"),
        "variable holding the introspection client id",
    ),
    opt(
        "--auth-introspection-client-secret-env",
        "AUTH_INTROSPECTION_CLIENT_SECRET_ENV",
        Some("NAME"),
        "variable holding the introspection client secret",
    ),
    opt(
        "--auth-clock-skew-secs",
        "AUTH_CLOCK_SKEW_SECS",
        Some("N"),
        "clock skew tolerated on token exp/nbf (default: 60)",
    ),
    opt(
        "--insecure-no-auth",
        "INSECURE_NO_AUTH",
        None,
        "serve HTTP WITHOUT authentication (development only; logged loudly)",
    ),
    opt(
        "--stdio-subject",
        "STDIO_SUBJECT",
        Some("NAME"),
        "caller subject of the stdio transport (default: local-operator)",
    ),
    opt(
        "--stdio-scopes",
        "STDIO_SCOPES",
        Some("A,B"),
        "scopes of the stdio caller (default: every declared scope)",
    ),
    opt(
        "--stdio-token-env",
        "STDIO_TOKEN_ENV",
        Some("NAME"),
        "variable holding the stdio caller's access token (token exchange, passthrough)",
    ),
    opt(
        "--oauth-token-url",
        "OAUTH_TOKEN_URL",
        Some("URL"),
        "token endpoint for upstream tokens (overrides the built-in one)",
    ),
    opt(
        "--confirmation-secret-env",
        "CONFIRMATION_SECRET_ENV",
        Some("NAME"),
        "variable holding the key replicas share: confirmation tokens, shared state (default: random)",
    ),
    opt(
        "--max-request-bytes",
        "MAX_REQUEST_BYTES",
        Some("N"),
        "largest request body sent upstream",
    ),
    opt(
        "--max-response-bytes",
        "MAX_RESPONSE_BYTES",
        Some("N"),
        "largest upstream response read (larger ones are truncated)",
    ),
    opt(
        "--calls-per-minute",
        "CALLS_PER_MINUTE",
        Some("N"),
        "tool calls per minute per caller (0: unlimited)",
    ),
    opt(
        "--max-concurrent-calls",
        "MAX_CONCURRENT_CALLS",
        Some("N"),
        "tool calls in progress at once (0: unlimited)",
    ),
    opt(
        "--max-result-tokens",
        "MAX_RESULT_TOKENS",
        Some("N"),
        "largest result shown to the model, in tokens (~4 bytes each; tools may set their own)",
    ),
    opt(
        "--audit-file",
        "AUDIT_FILE",
        Some("PATH"),
        "also append audit lines to this file",
    ),
    opt(
        "--metrics-listen",
        "METRICS_LISTEN",
        Some("ADDR"),
        "serve Prometheus metrics at http://ADDR/metrics (default: off)",
    ),
    opt(
        "--otlp-endpoint",
        "OTLP_ENDPOINT",
        Some("URL"),
        "export each tool call's spans to URL/v1/traces (OTLP/HTTP JSON; default: off)",
    ),
    opt(
        "--state-url",
        "STATE_URL",
        Some("URL"),
        "redis://[user:password@]host[:port][/db] holding what replicas share: used confirmation \
         tokens, rate limits, upstream tokens (default: in memory; needs --confirmation-secret-env)",
    ),
];

/// The environment variable prefix of a server: its name in upper snake case
/// (`petstore-mcp` → `PETSTORE_MCP`).
pub fn env_prefix(server_name: &str) -> String {
    server_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The variable behind a flag (`--auth-issuer` → `PETSTORE_MCP_AUTH_ISSUER`), if it has one.
pub fn flag_var(prefix: &str, flag: &str) -> Option<String> {
    OPTIONS
        .iter()
        .find(|o| o.flag == flag && !o.env.is_empty())
        .map(|o| format!("{prefix}_{}", o.env))
}

/// The usage text printed by `--help` and after a bad command line: every flag, its variable
/// (`<PREFIX>_…`, see [`env_prefix`]) and `spec`'s default limits.
pub fn usage(bin: &str, spec: &ServerSpec) -> String {
    let prefix = env_prefix(spec.name);
    let limits = Limits::resolve(spec, &LimitFlags::default());
    let mut out = format!("Usage: {bin} [OPTIONS]\n\nOptions:\n");
    for o in OPTIONS {
        let head = match o.value {
            Some(v) => format!("{} {v}", o.flag),
            None => o.flag.to_owned(),
        };
        let default = match o.flag {
            "--max-request-bytes" => format!(" (default: {})", limits.max_request_bytes),
            "--max-response-bytes" => format!(" (default: {})", limits.max_response_bytes),
            "--calls-per-minute" => format!(" (default: {})", limits.calls_per_minute),
            "--max-concurrent-calls" => format!(" (default: {})", limits.max_concurrent_calls),
            "--max-result-tokens" => format!(" (default: {})", limits.max_result_tokens),
            _ => String::new(),
        };
        out.push_str(&format!("  {head:<44} {}{default}\n", o.help));
        if !o.env.is_empty() {
            out.push_str(&format!("  {:<44} env: {prefix}_{}\n", "", o.env));
        }
    }
    out.push_str(&format!(
        "  {:<44} print this help\n  {:<44} print the version\n",
        "--help", "--version"
    ));
    out.push_str(
        "\nA flag on the command line wins over its environment variable. Any secret variable X \
         (credentials, client secrets, HS256 and confirmation secrets) may instead be given as \
         X_FILE, the path of a file holding it.\n",
    );
    out
}

/// Parses the command line (without the program name), with no environment.
pub fn parse_args<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    parse_args_env(args, "", |_| None)
}

/// Parses the environment variables behind the flags (`<prefix>_<FLAG>`, read through
/// `lookup`), then the command line (without the program name), which wins.
///
/// Flags take their value as the next argument or after `=` (`--listen=0.0.0.0:8000`).
/// `--help` and `--version` win over everything else on the line.
pub fn parse_args_env<I, S>(
    args: I,
    prefix: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cli = Cli::default();
    if !prefix.is_empty() {
        for o in OPTIONS.iter().filter(|o| !o.env.is_empty()) {
            let var = format!("{prefix}_{}", o.env);
            let Some(value) = lookup(&var) else { continue };
            let result = match o.value {
                None => parse_switch(o.flag, &value).map(|on| {
                    if on {
                        set_switch(&mut cli, o.flag)
                    }
                }),
                Some(_) => set(&mut cli, o.flag, value),
            };
            result.map_err(|error| UsageError::FromEnv {
                var,
                error: Box::new(error),
            })?;
        }
    }
    let mut wants = None;
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--help" | "-h" => {
                wants = Some(Command::Help);
                continue;
            }
            "--version" | "-V" => {
                if wants.is_none() {
                    wants = Some(Command::Version);
                }
                continue;
            }
            _ => {}
        }
        let Some(o) = OPTIONS.iter().find(|o| o.flag == flag) else {
            if flag.starts_with('-') {
                return Err(UsageError::UnknownFlag(arg));
            }
            return Err(UsageError::UnexpectedArgument(arg));
        };
        match o.value {
            None => {
                if inline.is_some() {
                    return Err(UsageError::UnexpectedValue(o.flag));
                }
                set_switch(&mut cli, o.flag);
            }
            Some(_) => {
                let value = match inline {
                    Some(value) => value,
                    None => args.next().ok_or(UsageError::MissingValue(o.flag))?,
                };
                set(&mut cli, o.flag, value)?;
            }
        }
    }
    Ok(wants.unwrap_or(Command::Serve(Box::new(cli))))
}

fn parse_switch(flag: &'static str, value: &str) -> Result<bool, UsageError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(UsageError::BadSwitch {
            flag,
            value: value.to_owned(),
        }),
    }
}

fn set_switch(cli: &mut Cli, flag: &str) {
    if flag == "--insecure-no-auth" {
        cli.auth.insecure_no_auth = true;
    }
}

fn number<T: std::str::FromStr>(flag: &'static str, value: String) -> Result<T, UsageError> {
    value
        .trim()
        .parse()
        .map_err(|_| UsageError::BadNumber { flag, value })
}

fn set(cli: &mut Cli, flag: &'static str, value: String) -> Result<(), UsageError> {
    match flag {
        "--transport" => {
            cli.transport = match value.as_str() {
                "stdio" => TransportKind::Stdio,
                "http" => TransportKind::Http,
                _ => return Err(UsageError::BadTransport(value)),
            };
        }
        "--listen" => cli.listen = address(flag, value)?,
        "--upstream-url" => cli.upstream_url = Some(value),
        "--public-url" => cli.public_url = Some(value),
        "--allowed-host" => cli.allowed_hosts.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
        ),
        "--auth-issuer" => cli.auth.issuer = Some(value),
        "--auth-jwks-url" => cli.auth.jwks_url = Some(value),
        "--auth-audience" => cli.auth.audience = Some(value),
        "--auth-static-key-file" => cli.auth.static_key_file = Some(value),
        "--auth-hs256-secret-env" => cli.auth.hs256_secret_env = Some(value),
        "--auth-introspection-url" => cli.auth.introspection_url = Some(value),
        "--auth-introspection-client-id-env" => cli.auth.introspection_client_id_env = Some(value),
        "--auth-introspection-client-secret-env" => {
            cli.auth.introspection_client_secret_env = Some(value)
        }
        "--auth-clock-skew-secs" => cli.auth.clock_skew_secs = Some(number(flag, value)?),
        "--stdio-subject" => cli.stdio_subject = Some(value),
        "--stdio-scopes" => {
            cli.stdio_scopes = Some(
                value
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        }
        "--stdio-token-env" => cli.stdio_token_env = Some(value),
        "--oauth-token-url" => cli.oauth_token_url = Some(value),
        "--confirmation-secret-env" => cli.confirmation_secret_env = Some(value),
        "--max-request-bytes" => cli.limits.max_request_bytes = Some(number(flag, value)?),
        "--max-response-bytes" => cli.limits.max_response_bytes = Some(number(flag, value)?),
        "--calls-per-minute" => cli.limits.calls_per_minute = Some(number(flag, value)?),
        "--max-concurrent-calls" => cli.limits.max_concurrent_calls = Some(number(flag, value)?),
        "--max-result-tokens" => cli.limits.max_result_tokens = Some(number(flag, value)?),
        "--audit-file" => cli.audit_file = Some(value),
        "--metrics-listen" => cli.metrics_listen = Some(address(flag, value)?),
        "--otlp-endpoint" => cli.otlp_endpoint = Some(value),
        "--state-url" => cli.state_url = Some(value),
        _ => return Err(UsageError::UnknownFlag(flag.to_owned())),
    }
    Ok(())
}

/// An `IP:PORT` flag value.
fn address(flag: &'static str, value: String) -> Result<SocketAddr, UsageError> {
    value
        .parse()
        .map_err(|_| UsageError::BadListen { flag, value })
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8000))
}

/// Where the upstream base URL came from (named in errors instead of the URL itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlOrigin {
    /// The `--upstream-url` flag.
    Flag,
    /// The spec's base URL environment variable.
    Env(&'static str),
    /// The spec's default base URL.
    Spec,
}

impl fmt::Display for UrlOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlOrigin::Flag => f.write_str("--upstream-url"),
            UrlOrigin::Env(var) => write!(f, "environment variable {var}"),
            UrlOrigin::Spec => f.write_str("the built-in default base URL"),
        }
    }
}

/// The environment does not hold what the server needs, or the flags contradict each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Required variables are not set (names only, sorted).
    MissingVars(Vec<String>),
    /// A variable is set but is not valid Unicode.
    NotUnicode(String),
    /// Both `X` and `X_FILE` are set.
    BothValueAndFile(String),
    /// The file named by `X_FILE` cannot be read.
    SecretFile {
        /// The `_FILE` variable.
        var: String,
        /// Why (the I/O error kind, never content).
        reason: String,
    },
    /// The upstream base URL is not an absolute `http` or `https` URL.
    BadUpstreamUrl {
        /// Where the URL came from.
        origin: UrlOrigin,
    },
    /// Some other flag or variable is unusable; the message says which and why.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingVars(vars) => {
                let (s, them) = if vars.len() == 1 {
                    ("", "it")
                } else {
                    ("s", "them")
                };
                write!(f, "missing environment variable{s}: {}", vars.join(", "))?;
                write!(
                    f,
                    "\nhelp: set {them} in the server's environment (or X_FILE with the path of \
                     a file holding the value)"
                )
            }
            ConfigError::NotUnicode(var) => {
                write!(f, "environment variable {var} is not valid Unicode")
            }
            ConfigError::BothValueAndFile(var) => write!(
                f,
                "both {var} and {var}{FILE_SUFFIX} are set\nhelp: set only one of them"
            ),
            ConfigError::SecretFile { var, reason } => write!(
                f,
                "the file named by {var} cannot be read: {reason}\nhelp: point {var} at a \
                 readable file holding the value"
            ),
            ConfigError::BadUpstreamUrl { origin } => write!(
                f,
                "the upstream URL from {origin} is not an absolute http:// or https:// URL\n\
                 help: pass e.g. --upstream-url https://api.example.com/v1"
            ),
            ConfigError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Limits in force, after flags override the spec's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body sent upstream, in bytes.
    pub max_request_bytes: u64,
    /// Largest upstream response read, in bytes; the rest is cut off.
    pub max_response_bytes: u64,
    /// Calls per minute per caller subject (0: unlimited).
    pub calls_per_minute: u32,
    /// Calls in progress at once (0: unlimited).
    pub max_concurrent_calls: u32,
    /// The result budget, in tokens, of tools without their own.
    pub max_result_tokens: u32,
}

impl Limits {
    /// The spec's defaults with `flags` applied.
    pub fn resolve(spec: &ServerSpec, flags: &LimitFlags) -> Self {
        Limits {
            max_request_bytes: flags
                .max_request_bytes
                .unwrap_or(spec.limits.max_request_bytes),
            max_response_bytes: flags
                .max_response_bytes
                .unwrap_or(spec.upstream.max_response_bytes),
            calls_per_minute: flags
                .calls_per_minute
                .unwrap_or(spec.limits.calls_per_minute),
            max_concurrent_calls: flags
                .max_concurrent_calls
                .unwrap_or(spec.limits.max_concurrent_calls),
            max_result_tokens: flags
                .max_result_tokens
                .unwrap_or(spec.limits.max_result_tokens),
        }
    }
}

/// Everything the server reads from its environment, resolved once at startup.
#[derive(Debug, Clone)]
pub struct Settings {
    upstream_url: String,
    vars: BTreeMap<String, Secret>,
    secret_vars: BTreeSet<String>,
    limits: LimitFlags,
    principal: Option<Principal>,
    oauth_token_url: Option<String>,
    confirmation_secret: Option<Secret>,
    auth_disabled: bool,
    otlp_endpoint: Option<String>,
    state_url: Option<Secret>,
    masked: bool,
}

impl Settings {
    /// Settings with this upstream base URL and no variables (add them with [`Settings::with_var`]).
    pub fn new(upstream_url: impl Into<String>) -> Self {
        let url: String = upstream_url.into();
        Settings {
            upstream_url: url.trim_end_matches('/').to_owned(),
            vars: BTreeMap::new(),
            secret_vars: BTreeSet::new(),
            limits: LimitFlags::default(),
            principal: None,
            oauth_token_url: None,
            confirmation_secret: None,
            auth_disabled: false,
            otlp_endpoint: None,
            state_url: None,
            masked: false,
        }
    }

    /// A copy in which every variable's value, and every fixed value resolved with it, is
    /// [`crate::support::secret::MASK`]: what a dry-run description is built from.
    pub(crate) fn masked(&self) -> Settings {
        let mut masked = self.clone();
        for value in masked.vars.values_mut() {
            *value = Secret::new(crate::support::secret::MASK);
        }
        masked.masked = true;
        masked
    }

    /// Whether this is a [`Settings::masked`] copy.
    pub(crate) fn is_masked(&self) -> bool {
        self.masked
    }

    /// Adds (or replaces) one environment variable's value.
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), Secret::new(value));
        self
    }

    /// Adds a variable whose value is a secret: scrubbed from every result.
    pub fn with_secret_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.secret_vars.insert(name.clone());
        self.with_var(name, value)
    }

    /// Overrides limits (unset ones keep the spec's defaults).
    pub fn with_limits(mut self, limits: LimitFlags) -> Self {
        self.limits = limits;
        self
    }

    /// The caller of transports without their own authentication (stdio, in-process).
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Overrides the token endpoint of upstream OAuth grants.
    pub fn with_oauth_token_url(mut self, url: impl Into<String>) -> Self {
        self.oauth_token_url = Some(url.into());
        self
    }

    /// Sets the key of confirmation tokens (default: random per process).
    pub fn with_confirmation_secret(mut self, secret: impl Into<String>) -> Self {
        self.confirmation_secret = Some(Secret::new(secret));
        self
    }

    /// Marks the server as running without caller authentication (`--insecure-no-auth`):
    /// every audit line then says `"auth":"disabled"`.
    pub fn with_auth_disabled(mut self, disabled: bool) -> Self {
        self.auth_disabled = disabled;
        self
    }

    /// Exports each call's spans to this OTLP/HTTP endpoint (`--otlp-endpoint`).
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// Shares state with other replicas through the Redis server at `url` (`--state-url`).
    pub fn with_state_url(mut self, url: impl Into<String>) -> Self {
        self.state_url = Some(Secret::new(url));
        self
    }

    /// The Redis URL of the replicas' shared state (it may hold a password).
    pub fn state_url(&self) -> Option<&Secret> {
        self.state_url.as_ref()
    }

    /// The OTLP/HTTP endpoint traces are exported to, if any.
    pub fn otlp_endpoint(&self) -> Option<&str> {
        self.otlp_endpoint.as_deref()
    }

    /// The upstream base URL, without a trailing slash.
    pub fn upstream_url(&self) -> &str {
        &self.upstream_url
    }

    /// The value of a variable read at startup.
    pub fn var(&self, name: &str) -> Option<&Secret> {
        self.vars.get(name)
    }

    /// Values of the variables registered as secrets (besides credentials).
    pub fn secret_values(&self) -> impl Iterator<Item = &Secret> {
        self.secret_vars.iter().filter_map(|n| self.vars.get(n))
    }

    /// Limit overrides.
    pub fn limit_flags(&self) -> &LimitFlags {
        &self.limits
    }

    /// The principal of stdio and in-process calls, if set.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The token endpoint override.
    pub fn oauth_token_url(&self) -> Option<&str> {
        self.oauth_token_url.as_deref()
    }

    /// The configured confirmation key.
    pub fn confirmation_secret(&self) -> Option<&Secret> {
        self.confirmation_secret.as_ref()
    }

    /// Whether caller authentication is off.
    pub fn auth_disabled(&self) -> bool {
        self.auth_disabled
    }

    /// Reads the settings from the process environment.
    pub fn from_env(spec: &ServerSpec, cli: &Cli) -> Result<Settings, ConfigError> {
        Settings::from_lookup(spec, cli, |name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(()),
        })
    }

    /// Reads the settings through `lookup` (`Ok(None)`: not set; `Err(())`: not Unicode).
    ///
    /// The upstream URL is the flag, else the spec's base URL variable when set and non-empty,
    /// else the spec's default. Every variable in [`required_vars`] must be set, and every
    /// variable a flag names; all missing ones are reported together. Each may be given as
    /// `X_FILE` instead (see the [module docs](self)).
    pub fn from_lookup(
        spec: &ServerSpec,
        cli: &Cli,
        lookup: impl Fn(&str) -> Result<Option<String>, ()>,
    ) -> Result<Settings, ConfigError> {
        let env_var = spec.upstream.base_url_env;
        let env_url = if env_var.is_empty() {
            None
        } else {
            lookup(env_var)
                .map_err(|()| ConfigError::NotUnicode(env_var.to_owned()))?
                .filter(|url| !url.trim().is_empty())
        };
        let (url, origin) = match (cli.upstream_url.as_deref(), env_url) {
            (Some(url), _) => (url.to_owned(), UrlOrigin::Flag),
            (None, Some(url)) => (url, UrlOrigin::Env(env_var)),
            (None, None) => (spec.upstream.base_url.to_owned(), UrlOrigin::Spec),
        };
        if !is_http_url(&url) {
            return Err(ConfigError::BadUpstreamUrl { origin });
        }
        let mut settings = Settings::new(url);
        let mut missing = Vec::new();
        let mut read = |settings: &mut Settings, var: &str, secret: bool| {
            match read_var(&lookup, var)? {
                Some(value) => {
                    settings.vars.insert(var.to_owned(), Secret::new(value));
                    if secret {
                        settings.secret_vars.insert(var.to_owned());
                    }
                }
                None => missing.push(var.to_owned()),
            }
            Ok::<(), ConfigError>(())
        };
        for var in required_vars(spec) {
            read(&mut settings, var, false)?;
        }
        if let Some(oauth) = &spec.upstream.oauth
            && spec.tools.iter().any(|t| needs_oauth_client(t.identity))
        {
            settings
                .secret_vars
                .insert(oauth.client_secret_env.to_owned());
        }
        for (var, secret) in [
            (cli.auth.hs256_secret_env.as_deref(), true),
            (cli.auth.introspection_client_id_env.as_deref(), false),
            (cli.auth.introspection_client_secret_env.as_deref(), true),
            (cli.confirmation_secret_env.as_deref(), true),
            (cli.stdio_token_env.as_deref(), true),
        ] {
            if let Some(var) = var {
                read(&mut settings, var, secret)?;
            }
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            return Err(ConfigError::MissingVars(missing));
        }
        if let Some(var) = &cli.confirmation_secret_env {
            let secret = settings
                .vars
                .get(var)
                .cloned()
                .ok_or_else(|| ConfigError::MissingVars(vec![var.clone()]))?;
            if secret.expose().len() < crate::support::secret::MIN_SECRET_LEN {
                return Err(ConfigError::Invalid(format!(
                    "the confirmation secret in {var} is shorter than {} bytes\nhelp: use a \
                     long random value, e.g. `openssl rand -hex 32`",
                    crate::support::secret::MIN_SECRET_LEN
                )));
            }
            settings.confirmation_secret = Some(secret);
        }
        if let Some(url) = &cli.otlp_endpoint {
            if !is_http_url(url) {
                return Err(ConfigError::Invalid(
                    "--otlp-endpoint is not an absolute http:// or https:// URL".into(),
                ));
            }
            settings.otlp_endpoint = Some(url.clone());
        }
        if let Some(url) = &cli.state_url {
            settings.state_url = Some(state_url(url, settings.confirmation_secret.is_some())?);
        }
        if let Some(url) = &cli.oauth_token_url {
            if !is_http_url(url) {
                return Err(ConfigError::Invalid(
                    "--oauth-token-url is not an absolute http:// or https:// URL".into(),
                ));
            }
            settings.oauth_token_url = Some(url.clone());
        }
        let subject = cli
            .stdio_subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_STDIO_SUBJECT.to_owned());
        let scopes = match &cli.stdio_scopes {
            Some(scopes) => scopes.iter().cloned().collect(),
            None => spec.scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        let token = cli
            .stdio_token_env
            .as_deref()
            .and_then(|var| settings.vars.get(var).cloned());
        settings.principal = Some(Principal {
            subject,
            client_id: None,
            scopes,
            token,
        });
        settings.limits = cli.limits;
        settings.auth_disabled = cli.transport == TransportKind::Http && cli.auth.insecure_no_auth;
        Ok(settings)
    }
}

/// Reads `var`, or the file named by `var_FILE` (one trailing newline trimmed).
fn read_var(
    lookup: &impl Fn(&str) -> Result<Option<String>, ()>,
    var: &str,
) -> Result<Option<String>, ConfigError> {
    let file_var = format!("{var}{FILE_SUFFIX}");
    let direct = lookup(var).map_err(|()| ConfigError::NotUnicode(var.to_owned()))?;
    let file = lookup(&file_var).map_err(|()| ConfigError::NotUnicode(file_var.clone()))?;
    match (direct, file) {
        (Some(_), Some(_)) => Err(ConfigError::BothValueAndFile(var.to_owned())),
        (Some(value), None) => Ok(Some(value)),
        (None, None) => Ok(None),
        (None, Some(path)) => {
            let bytes = std::fs::read(path.trim()).map_err(|e| ConfigError::SecretFile {
                var: file_var.clone(),
                reason: e.kind().to_string(),
            })?;
            let mut text = String::from_utf8(bytes).map_err(|_| ConfigError::SecretFile {
                var: file_var.clone(),
                reason: "the file is not UTF-8 text".into(),
            })?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(Some(text))
        }
    }
}

/// The `--state-url` as given, when this build can use it: a `redis://` URL, with the replicas'
/// shared key set. Errors never repeat the URL (it may hold a password).
fn state_url(url: &str, shared_key: bool) -> Result<Secret, ConfigError> {
    if !cfg!(feature = "shared-state") {
        return Err(ConfigError::Invalid(
            "--state-url: this server was built without shared state\nhelp: build it with \
             `cargo build --release --features shared-state` (the Dockerfile's default)"
                .into(),
        ));
    }
    if !url.starts_with("redis://") {
        return Err(ConfigError::Invalid(
            "--state-url is not a redis:// URL (redis://[user:password@]host[:port][/db])".into(),
        ));
    }
    if !shared_key {
        return Err(ConfigError::Invalid(
            "--state-url needs --confirmation-secret-env: replicas that share state must share \
             the key their confirmation tokens and stored upstream tokens are sealed with\nhelp: \
             give every replica the same long random value, e.g. `openssl rand -hex 32`"
                .into(),
        ));
    }
    Ok(Secret::new(url))
}

/// Whether `url` is an absolute `http` or `https` URL with a host.
pub fn is_http_url(url: &str) -> bool {
    match reqwest::Url::parse(url.trim()) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
        Err(_) => false,
    }
}

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
