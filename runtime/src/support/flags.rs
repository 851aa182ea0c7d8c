//! The flags a server takes: each flag, the variable behind it (`<PREFIX>_<FLAG>`), its
//! value's name and its help, in the order `--help` lists them.

/// One option: its flag, the suffix of its variable, its value's name (`None`: a switch) and
/// help.
pub(super) struct Opt {
    pub(super) flag: &'static str,
    pub(super) env: &'static str,
    pub(super) value: Option<&'static str>,
    pub(super) help: &'static str,
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
pub(super) const OPTIONS: &[Opt] = &[
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
