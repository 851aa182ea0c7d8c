//! Settings of a running server: command-line flags and environment variables.
//!
//! Owns parsing `argv` (by hand: a handful of flags does not need clap) into a [`Command`], and
//! reading every environment variable the [`ServerSpec`] needs into [`Settings`]. Nothing here
//! prints a variable's value: errors name variables, and every value is held in a [`Secret`]
//! whose `Debug` and `Display` never show it. Tests build [`Settings`] directly with
//! [`Settings::new`] and [`Settings::with_var`], never through the process environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use crate::spec::{BodyValue, CredentialKind, ServerSpec, ValueSource};

/// Address the HTTP transport listens on when `--listen` is not given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";

/// Which MCP transport the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// JSON-RPC over standard input and output.
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

/// Options of the `serve` command, as given on the command line.
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
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve MCP with these options.
    Serve(Cli),
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
    /// `--transport` with something other than `stdio` or `http`.
    BadTransport(String),
    /// `--listen` with something that is not `IP:PORT`.
    BadListen(String),
    /// A positional argument (none are accepted).
    UnexpectedArgument(String),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::UnknownFlag(flag) => write!(f, "unknown flag `{flag}`"),
            UsageError::MissingValue(flag) => write!(f, "flag `{flag}` needs a value"),
            UsageError::BadTransport(value) => {
                write!(f, "`--transport {value}`: expected `stdio` or `http`")
            }
            UsageError::BadListen(value) => {
                write!(
                    f,
                    "`--listen {value}`: expected IP:PORT, e.g. 127.0.0.1:8000"
                )
            }
            UsageError::UnexpectedArgument(arg) => write!(f, "unexpected argument `{arg}`"),
        }
    }
}

impl std::error::Error for UsageError {}

/// The usage text printed by `--help` and after a bad command line.
pub fn usage(bin: &str) -> String {
    format!(
        "Usage: {bin} [OPTIONS]\n\
         \n\
         Options:\n  \
         --transport stdio|http   MCP transport (default: stdio)\n  \
         --listen ADDR            HTTP listen address (default: {DEFAULT_LISTEN})\n  \
         --upstream-url URL       upstream API base URL (overrides the environment)\n  \
         --allowed-host HOST      extra Host header value accepted over HTTP (repeatable)\n  \
         --help                   print this help\n  \
         --version                print the version\n"
    )
}

/// Parses the command line (without the program name).
///
/// Flags take their value as the next argument or after `=` (`--listen=0.0.0.0:8000`).
/// `--help` and `--version` win over everything else on the line.
pub fn parse_args<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cli = Cli {
        transport: TransportKind::Stdio,
        listen: default_listen(),
        upstream_url: None,
        allowed_hosts: Vec::new(),
    };
    let mut wants = None;
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &'static str| match inline.clone() {
            Some(value) => Ok(value),
            None => args.next().ok_or(UsageError::MissingValue(name)),
        };
        match flag.as_str() {
            "--help" | "-h" => wants = Some(Command::Help),
            "--version" | "-V" => {
                if wants.is_none() {
                    wants = Some(Command::Version);
                }
            }
            "--transport" => {
                let value = value("--transport")?;
                cli.transport = match value.as_str() {
                    "stdio" => TransportKind::Stdio,
                    "http" => TransportKind::Http,
                    _ => return Err(UsageError::BadTransport(value)),
                };
            }
            "--listen" => {
                let value = value("--listen")?;
                cli.listen = value.parse().map_err(|_| UsageError::BadListen(value))?;
            }
            "--upstream-url" => cli.upstream_url = Some(value("--upstream-url")?),
            "--allowed-host" => cli.allowed_hosts.push(value("--allowed-host")?),
            other if other.starts_with('-') => return Err(UsageError::UnknownFlag(arg)),
            _ => return Err(UsageError::UnexpectedArgument(arg)),
        }
    }
    Ok(wants.unwrap_or(Command::Serve(cli)))
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8000))
}

/// A value that must never be printed: `Debug` and `Display` show `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
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

/// The environment does not hold what the server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Required variables are not set (names only, sorted).
    MissingVars(Vec<&'static str>),
    /// A variable is set but is not valid Unicode.
    NotUnicode(&'static str),
    /// The upstream base URL is not an absolute `http` or `https` URL.
    BadUpstreamUrl {
        /// Where the URL came from.
        origin: UrlOrigin,
    },
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
                write!(f, "\nhelp: set {them} in the server's environment")
            }
            ConfigError::NotUnicode(var) => {
                write!(f, "environment variable {var} is not valid Unicode")
            }
            ConfigError::BadUpstreamUrl { origin } => write!(
                f,
                "the upstream URL from {origin} is not an absolute http:// or https:// URL\n\
                 help: pass e.g. --upstream-url https://api.example.com/v1"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Everything the server reads from its environment, resolved once at startup.
#[derive(Debug, Clone)]
pub struct Settings {
    upstream_url: String,
    vars: BTreeMap<String, Secret>,
}

impl Settings {
    /// Settings with this upstream base URL and no variables (add them with [`Settings::with_var`]).
    pub fn new(upstream_url: impl Into<String>) -> Self {
        let url: String = upstream_url.into();
        Settings {
            upstream_url: url.trim_end_matches('/').to_owned(),
            vars: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) one environment variable's value.
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), Secret::new(value));
        self
    }

    /// The upstream base URL, without a trailing slash.
    pub fn upstream_url(&self) -> &str {
        &self.upstream_url
    }

    /// The value of a variable read at startup.
    pub fn var(&self, name: &str) -> Option<&Secret> {
        self.vars.get(name)
    }

    /// Reads the settings from the process environment.
    pub fn from_env(spec: &ServerSpec, flag_url: Option<&str>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(spec, flag_url, |name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(()),
        })
    }

    /// Reads the settings through `lookup` (`Ok(None)`: not set; `Err(())`: not Unicode).
    ///
    /// The upstream URL is the flag, else the spec's base URL variable when set and non-empty,
    /// else the spec's default. Every variable in [`required_vars`] must be set; all missing
    /// ones are reported together.
    pub fn from_lookup(
        spec: &ServerSpec,
        flag_url: Option<&str>,
        lookup: impl Fn(&str) -> Result<Option<String>, ()>,
    ) -> Result<Settings, ConfigError> {
        let env_var = spec.upstream.base_url_env;
        let env_url = if env_var.is_empty() {
            None
        } else {
            lookup(env_var)
                .map_err(|()| ConfigError::NotUnicode(env_var))?
                .filter(|url| !url.trim().is_empty())
        };
        let (url, origin) = match (flag_url, env_url) {
            (Some(url), _) => (url.to_owned(), UrlOrigin::Flag),
            (None, Some(url)) => (url, UrlOrigin::Env(env_var)),
            (None, None) => (spec.upstream.base_url.to_owned(), UrlOrigin::Spec),
        };
        if !is_http_url(&url) {
            return Err(ConfigError::BadUpstreamUrl { origin });
        }
        let mut settings = Settings::new(url);
        let mut missing = Vec::new();
        for var in required_vars(spec) {
            match lookup(var) {
                Ok(Some(value)) => settings = settings.with_var(var, value),
                Ok(None) => missing.push(var),
                Err(()) => return Err(ConfigError::NotUnicode(var)),
            }
        }
        if missing.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError::MissingVars(missing))
        }
    }
}

fn is_http_url(url: &str) -> bool {
    match reqwest::Url::parse(url.trim()) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
        Err(_) => false,
    }
}

/// Every environment variable the server needs, sorted and without duplicates: the variables
/// of each credential some tool uses, and each `ValueSource::Env` of a parameter or body field.
pub fn required_vars(spec: &ServerSpec) -> Vec<&'static str> {
    let mut vars = Vec::new();
    for tool in spec.tools {
        for id in tool.credentials {
            let Some(credential) = spec.upstream.credentials.iter().find(|c| c.id == *id) else {
                continue;
            };
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
    }
    vars.sort_unstable();
    vars.dedup();
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing_specs::PETS;

    fn serve(args: &[&str]) -> Cli {
        match parse_args(args.iter().copied()) {
            Ok(Command::Serve(cli)) => cli,
            other => panic!("expected Serve, got {other:?}"),
        }
    }

    #[test]
    fn defaults_to_stdio_on_loopback() {
        let cli = serve(&[]);
        assert_eq!(cli.transport, TransportKind::Stdio);
        assert_eq!(cli.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(cli.upstream_url, None);
        assert!(cli.allowed_hosts.is_empty());
    }

    #[test]
    fn parses_every_flag_in_both_forms() {
        let cli = serve(&[
            "--transport",
            "http",
            "--listen=0.0.0.0:9000",
            "--upstream-url",
            "http://localhost:1234/v2",
            "--allowed-host",
            "mcp.example.com",
            "--allowed-host=other.example.com:8443",
        ]);
        assert_eq!(cli.transport, TransportKind::Http);
        assert_eq!(cli.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(
            cli.upstream_url.as_deref(),
            Some("http://localhost:1234/v2")
        );
        assert_eq!(
            cli.allowed_hosts,
            vec!["mcp.example.com", "other.example.com:8443"]
        );
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(
            parse_args(["--transport", "http", "--help"]),
            Ok(Command::Help)
        );
        assert_eq!(parse_args(["--version"]), Ok(Command::Version));
        assert_eq!(parse_args(["--version", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_command_lines() {
        assert_eq!(
            parse_args(["--transport", "sse"]),
            Err(UsageError::BadTransport("sse".into()))
        );
        assert_eq!(
            parse_args(["--listen", "localhost"]),
            Err(UsageError::BadListen("localhost".into()))
        );
        assert_eq!(
            parse_args(["--upstream-url"]),
            Err(UsageError::MissingValue("--upstream-url"))
        );
        assert_eq!(
            parse_args(["--verbose"]),
            Err(UsageError::UnknownFlag("--verbose".into()))
        );
        assert_eq!(
            parse_args(["http"]),
            Err(UsageError::UnexpectedArgument("http".into()))
        );
        assert!(usage("pets").contains("--allowed-host"));
    }

    fn lookup<'a>(
        pairs: &'a [(&'a str, &'a str)],
    ) -> impl Fn(&str) -> Result<Option<String>, ()> + 'a {
        move |name| {
            Ok(pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string()))
        }
    }

    #[test]
    fn reads_required_vars_and_prefers_flag_then_env_then_spec() {
        assert_eq!(required_vars(&PETS), vec!["PETS_API_KEY", "PETS_TENANT"]);
        let env = [
            ("PETS_API_KEY", "k-123"),
            ("PETS_TENANT", "acme"),
            ("PETS_BASE_URL", "http://env.example/v9/"),
        ];
        let from_env = Settings::from_lookup(&PETS, None, lookup(&env)).unwrap();
        assert_eq!(from_env.upstream_url(), "http://env.example/v9");
        assert_eq!(from_env.var("PETS_API_KEY").unwrap().expose(), "k-123");
        let from_flag =
            Settings::from_lookup(&PETS, Some("http://flag.example"), lookup(&env)).unwrap();
        assert_eq!(from_flag.upstream_url(), "http://flag.example");
        let from_spec = Settings::from_lookup(&PETS, None, lookup(&env[..2])).unwrap();
        assert_eq!(from_spec.upstream_url(), PETS.upstream.base_url);
    }

    #[test]
    fn missing_vars_are_named_and_values_never_shown() {
        let err =
            Settings::from_lookup(&PETS, None, lookup(&[("PETS_TENANT", "acme")])).unwrap_err();
        assert_eq!(err, ConfigError::MissingVars(vec!["PETS_API_KEY"]));
        assert!(err.to_string().contains("PETS_API_KEY"));

        let err = Settings::from_lookup(&PETS, None, |_| Err(())).unwrap_err();
        assert_eq!(err, ConfigError::NotUnicode("PETS_BASE_URL"));

        let env = [("PETS_BASE_URL", "ftp://user:hunter2@files")];
        let err = Settings::from_lookup(&PETS, None, lookup(&env)).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");

        let settings = Settings::new("http://x").with_var("K", "hunter2");
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert_eq!(Secret::new("hunter2").to_string(), "****");
    }
}
