//! The command line of a server: flags, the environment variable behind each, and `--help`.
//!
//! Owns parsing `argv` (by hand: the table of flags in [`crate::support::flags`] does not need
//! clap) into a [`Command`], with the environment variable behind each flag (`<PREFIX>_<FLAG>`;
//! a flag on the command line wins), the limits in force, and the usage text. Reading the
//! variables the flags and the spec name is [`crate::support::settings`]. Tests build [`Cli`]
//! directly, never through the process environment.

use std::fmt;
use std::net::SocketAddr;

use crate::spec::ServerSpec;
use crate::support::flags::{OPTIONS, env_prefix};

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
