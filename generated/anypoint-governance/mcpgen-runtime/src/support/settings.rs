//! Settings of a running server: every variable the spec and the flags need, read once.
//!
//! Owns reading the environment into [`Settings`]: the upstream URL, credentials and hidden
//! values the tools need, the secrets the flags name, the stdio caller. Any variable `X` may
//! instead be given as `X_FILE`, the path of a file holding the value (one trailing newline is
//! trimmed), which is how container secrets are usually mounted.
//!
//! Nothing here prints a variable's value: errors name variables, and every value is held in a
//! [`Secret`] whose `Debug` and `Display` never show it. Tests build [`Settings`] directly
//! ([`Settings::new`], [`Settings::with_var`] and the other `with_` methods), never through the
//! process environment.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::spec::ServerSpec;
use crate::support::cli::{Cli, DEFAULT_STDIO_SUBJECT, FILE_SUFFIX, LimitFlags, TransportKind};
use crate::support::requirements::{needs_oauth_client, required_vars};

use crate::support::principal::Principal;

use crate::support::secret::Secret;

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
