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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::cli::AuthFlags;
    use crate::testing_specs::PETS;

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

    fn with_url(url: &str) -> Cli {
        Cli {
            upstream_url: Some(url.to_owned()),
            ..Cli::default()
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
        let from_env = Settings::from_lookup(&PETS, &Cli::default(), lookup(&env)).unwrap();
        assert_eq!(from_env.upstream_url(), "http://env.example/v9");
        assert_eq!(from_env.var("PETS_API_KEY").unwrap().expose(), "k-123");
        let from_flag =
            Settings::from_lookup(&PETS, &with_url("http://flag.example"), lookup(&env)).unwrap();
        assert_eq!(from_flag.upstream_url(), "http://flag.example");
        let from_spec = Settings::from_lookup(&PETS, &Cli::default(), lookup(&env[..2])).unwrap();
        assert_eq!(from_spec.upstream_url(), PETS.upstream.base_url);
    }

    #[test]
    fn the_otlp_endpoint_must_be_an_http_url() {
        let env = [("PETS_API_KEY", "k"), ("PETS_TENANT", "t")];
        let with = |endpoint: &str| Cli {
            otlp_endpoint: Some(endpoint.to_owned()),
            ..Cli::default()
        };
        let settings =
            Settings::from_lookup(&PETS, &with("http://collector:4318"), lookup(&env)).unwrap();
        assert_eq!(settings.otlp_endpoint(), Some("http://collector:4318"));
        assert!(
            Settings::from_lookup(&PETS, &Cli::default(), lookup(&env))
                .unwrap()
                .otlp_endpoint()
                .is_none(),
            "off by default"
        );
        let refused = Settings::from_lookup(&PETS, &with("collector:4318"), lookup(&env));
        assert!(
            matches!(&refused, Err(ConfigError::Invalid(m)) if m.contains("--otlp-endpoint")),
            "{refused:?}"
        );
    }

    #[test]
    fn the_state_url_needs_the_shared_key_and_is_never_repeated() {
        let env = [
            ("PETS_API_KEY", "k"),
            ("PETS_TENANT", "t"),
            ("CONF", "0123456789abcdef0123"),
        ];
        let with = |url: &str, key: bool| Cli {
            state_url: Some(url.to_owned()),
            confirmation_secret_env: key.then(|| "CONF".to_owned()),
            ..Cli::default()
        };
        let settled = |cli: &Cli| Settings::from_lookup(&PETS, cli, lookup(&env));
        let url = "redis://:hunter2-pass@cache:6379/0";
        let refused = [
            settled(&with(url, false)),
            settled(&with("http://:hunter2-pass@cache:6379", true)),
        ];
        for refused in refused {
            let Err(ConfigError::Invalid(message)) = &refused else {
                panic!("{refused:?}");
            };
            assert!(message.contains("--state-url"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        let settings = settled(&with(url, true));
        if cfg!(feature = "shared-state") {
            let settings = settings.unwrap();
            assert_eq!(settings.state_url().map(Secret::expose), Some(url));
            assert!(!format!("{settings:?}").contains("hunter2"));
        } else {
            assert!(
                matches!(&settings, Err(ConfigError::Invalid(m)) if m.contains("shared-state"))
            );
        }
        assert!(settled(&Cli::default()).unwrap().state_url().is_none());
    }

    #[test]
    fn stdio_principal_defaults_to_every_declared_scope() {
        let env = [
            ("PETS_API_KEY", "k"),
            ("PETS_TENANT", "t"),
            ("TOK", "tok-1"),
        ];
        let settings = Settings::from_lookup(&PETS, &Cli::default(), lookup(&env)).unwrap();
        let p = settings.principal().unwrap();
        assert_eq!(p.subject, DEFAULT_STDIO_SUBJECT);
        assert_eq!(
            p.scopes.iter().collect::<Vec<_>>(),
            PETS.scopes.iter().collect::<Vec<_>>()
        );
        assert_eq!(p.token, None);
        let cli = Cli {
            stdio_subject: Some("ann".into()),
            stdio_scopes: Some(vec!["pets:read".into()]),
            stdio_token_env: Some("TOK".into()),
            ..Cli::default()
        };
        let settings = Settings::from_lookup(&PETS, &cli, lookup(&env)).unwrap();
        let p = settings.principal().unwrap();
        assert_eq!(p.subject, "ann");
        assert_eq!(p.scopes, BTreeSet::from(["pets:read".to_owned()]));
        assert_eq!(p.token.as_ref().map(Secret::expose), Some("tok-1"));
        assert!(settings.secret_values().any(|s| s.expose() == "tok-1"));
    }

    #[test]
    fn secrets_may_come_from_files() {
        let dir = std::env::temp_dir().join(format!("mcpgen-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("api_key");
        std::fs::write(&key_file, "k-from-file\n").unwrap();
        let conf_file = dir.join("conf");
        std::fs::write(&conf_file, "0123456789abcdef0123456789abcdef\r\n").unwrap();
        let key_path = key_file.to_string_lossy().into_owned();
        let conf_path = conf_file.to_string_lossy().into_owned();
        let env = [
            ("PETS_API_KEY_FILE", key_path.as_str()),
            ("PETS_TENANT", "t"),
            ("CONF_FILE", conf_path.as_str()),
        ];
        let cli = Cli {
            confirmation_secret_env: Some("CONF".into()),
            ..Cli::default()
        };
        let settings = Settings::from_lookup(&PETS, &cli, lookup(&env)).unwrap();
        assert_eq!(
            settings.var("PETS_API_KEY").unwrap().expose(),
            "k-from-file"
        );
        assert_eq!(
            settings.confirmation_secret().unwrap().expose(),
            "0123456789abcdef0123456789abcdef"
        );

        let both = [
            ("PETS_API_KEY", "k"),
            ("PETS_API_KEY_FILE", key_path.as_str()),
            ("PETS_TENANT", "t"),
        ];
        assert_eq!(
            Settings::from_lookup(&PETS, &Cli::default(), lookup(&both)).unwrap_err(),
            ConfigError::BothValueAndFile("PETS_API_KEY".into())
        );
        let gone = [
            ("PETS_API_KEY_FILE", "/nonexistent/k"),
            ("PETS_TENANT", "t"),
        ];
        let err = Settings::from_lookup(&PETS, &Cli::default(), lookup(&gone)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::SecretFile { var, .. } if var == "PETS_API_KEY_FILE"),
            "{err}"
        );
        std::fs::write(&conf_file, "short\n").unwrap();
        let err = Settings::from_lookup(&PETS, &cli, lookup(&env)).unwrap_err();
        assert!(err.to_string().contains("shorter than"), "{err}");
        assert!(!err.to_string().contains("short\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_vars_are_named_and_values_never_shown() {
        let err = Settings::from_lookup(&PETS, &Cli::default(), lookup(&[("PETS_TENANT", "acme")]))
            .unwrap_err();
        assert_eq!(err, ConfigError::MissingVars(vec!["PETS_API_KEY".into()]));
        assert!(err.to_string().contains("PETS_API_KEY"));
        let cli = Cli {
            auth: AuthFlags {
                hs256_secret_env: Some("HS".into()),
                ..AuthFlags::default()
            },
            ..Cli::default()
        };
        let err =
            Settings::from_lookup(&PETS, &cli, lookup(&[("PETS_TENANT", "acme")])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::MissingVars(vec!["HS".into(), "PETS_API_KEY".into()])
        );

        let err = Settings::from_lookup(&PETS, &Cli::default(), |_| Err(())).unwrap_err();
        assert_eq!(err, ConfigError::NotUnicode("PETS_BASE_URL".into()));

        let env = [("PETS_BASE_URL", "ftp://user:hunter2@files")];
        let err = Settings::from_lookup(&PETS, &Cli::default(), lookup(&env)).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");

        let settings = Settings::new("http://x").with_var("K", "hunter2");
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert_eq!(Secret::new("hunter2").to_string(), "****");
    }
}
