//! Non-Rust files of the generated crate, rendered from the templates in `templates/`.
//!
//! Templates are embedded in the binary. They receive small view structs built here from the
//! IR (never the IR itself), and every value from a spec or annotation file goes through an
//! escaping filter for the target format (`toml_str`, `md`, `md_code`, `md_block`).

use crate::defs;
use crate::ir::{ServerIr, ValueSource};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A template: its name and text.
struct Template {
    name: &'static str,
    text: &'static str,
}

/// Every template, by name.
const TEMPLATES: &[Template] = &[
    Template {
        name: "Cargo.toml.j2",
        text: include_str!("../../templates/Cargo.toml.j2"),
    },
    Template {
        name: "README.md.j2",
        text: include_str!("../../templates/README.md.j2"),
    },
    Template {
        name: "Dockerfile.j2",
        text: include_str!("../../templates/Dockerfile.j2"),
    },
    Template {
        name: "deploy/kubernetes.yaml.j2",
        text: include_str!("../../templates/deploy/kubernetes.yaml.j2"),
    },
    Template {
        name: "deploy/alerts.yaml.j2",
        text: include_str!("../../templates/deploy/alerts.yaml.j2"),
    },
];

/// Files copied as they are: (output path, text).
pub const VERBATIM: &[(&str, &str)] = &[
    (
        ".dockerignore",
        include_str!("../../templates/dockerignore"),
    ),
    (".gitignore", include_str!("../../templates/gitignore")),
];

/// The environment with escaping filters and strict undefined handling.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.add_filter("toml_str", |s: String| {
        serde_json::to_string(&s).unwrap_or_default()
    });
    // A JSON string is a YAML double-quoted scalar.
    env.add_filter("yaml_str", |s: String| {
        serde_json::to_string(&s).unwrap_or_default()
    });
    env.add_filter("md", |s: String| markdown_inline(&s));
    env.add_filter("md_code", |s: String| markdown_code(&s));
    env.add_filter("md_block", |s: String| markdown_block(&s));
    env.add_filter("one_line", |s: String| one_line(&s));
    for template in TEMPLATES {
        // The templates are part of mcpgen; one that does not parse is caught by the unit test.
        let _ = env.add_template(template.name, template.text);
    }
    env
}

/// Text for a Markdown table cell or heading: one line, `|` and markup characters escaped.
fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Runs without markup characters are copied whole (they are ASCII, so a byte split
        // falls between characters).
        let mut rest = word;
        while let Some(at) = rest.find(['|', '\\', '`', '*', '_', '[', ']', '<', '>', '#']) {
            out.push_str(&rest[..at]);
            out.push('\\');
            out.push_str(&rest[at..=at]);
            rest = &rest[at + 1..];
        }
        out.push_str(rest);
    }
    out
}

/// Text as a sentence: with a full stop at its end unless it ends with one already (or `!`, `?`).
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Text on one line without control characters (for comments in shell snippets).
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Inline code that cannot be broken out of.
fn markdown_code(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let longest_run = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

/// A paragraph of spec text, shown as a quoted block so its markup cannot affect the page.
fn markdown_block(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = markdown_inline(line);
            if line.is_empty() {
                ">".to_owned()
            } else {
                format!("> {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Serialize)]
struct EnvVarView {
    name: String,
    #[serde(flatten)]
    usage: EnvUse,
}

#[derive(Serialize)]
struct ArgumentView {
    name: String,
    required: bool,
    description: String,
}

#[derive(Serialize)]
struct ToolView {
    name: String,
    title: Option<String>,
    description: String,
    operation: String,
    operation_id: Option<String>,
    access: &'static str,
    confirm: bool,
    identity: &'static str,
    scopes: Vec<String>,
    arguments: Vec<ArgumentView>,
    fixed: Vec<String>,
    shaping: Vec<String>,
}

#[derive(Serialize)]
struct ScopeView {
    name: String,
    tools: Vec<String>,
}

#[derive(Serialize)]
struct SourceView {
    path: String,
}

#[derive(Serialize)]
struct CrateView {
    annotation_file: String,
    crate_name: String,
    version: String,
    title: String,
    description: String,
    base_url: String,
    base_url_env: String,
    sources: Vec<SourceView>,
    env: Vec<EnvVarView>,
    tools: Vec<ToolView>,
    scopes: Vec<ScopeView>,
    client_config: String,
    runtime_path: String,
    env_prefix: String,
    escalation: Option<String>,
    limits: LimitsView,
    max_response_bytes: u64,
    upstream_host: String,
    upstream_port: u16,
    k8s_name: String,
}

#[derive(Serialize)]
struct LimitsView {
    max_request_bytes: u64,
    calls_per_minute: u32,
    max_concurrent_calls: u32,
    max_result_tokens: u32,
}

/// Why the server reads an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvUse {
    /// `credential`, or `value of` for a hidden parameter.
    pub what: &'static str,
    /// The credential id or the parameter's wire name.
    pub subject: String,
    /// Whether the value is a secret.
    pub secret: bool,
}

/// Every environment variable the server requires, with its use, sorted by name.
pub fn required_env(ir: &ServerIr) -> BTreeMap<String, EnvUse> {
    let mut env = BTreeMap::new();
    for credential in &ir.upstream.credentials {
        for var in credential.kind.env_vars() {
            env.insert(
                var.to_string(),
                EnvUse {
                    what: "credential",
                    subject: credential.id.clone(),
                    secret: true,
                },
            );
        }
    }
    if let Some(oauth) = &ir.upstream.oauth {
        env.insert(
            oauth.client_id_env.to_string(),
            EnvUse {
                what: "OAuth client id at",
                subject: oauth.token_url.clone(),
                secret: false,
            },
        );
        env.insert(
            oauth.client_secret_env.to_string(),
            EnvUse {
                what: "OAuth client secret at",
                subject: oauth.token_url.clone(),
                secret: true,
            },
        );
    }
    for tool in &ir.tools {
        let fields = tool.body.iter().flat_map(|b| match &b.value {
            crate::ir::BodyValue::Fields(fields) => fields
                .iter()
                .map(|f| (&f.wire_name, &f.value))
                .collect::<Vec<_>>(),
            crate::ir::BodyValue::Argument { .. } => Vec::new(),
        });
        for (wire, source) in tool
            .params
            .iter()
            .map(|p| (&p.wire_name, &p.value))
            .chain(fields)
        {
            if let ValueSource::Env { var, .. } = source {
                env.entry(var.to_string()).or_insert_with(|| EnvUse {
                    what: "value of",
                    subject: wire.clone(),
                    secret: false,
                });
            }
        }
    }
    env
}

/// `mcp.json`: a stdio client configuration (Claude Desktop, Cursor and others).
pub fn client_config(ir: &ServerIr) -> String {
    let env: serde_json::Map<String, Value> = required_env(ir)
        .into_keys()
        .map(|k| (k, json!("...")))
        .collect();
    let config = json!({
        "mcpServers": {
            ir.crate_name.as_str(): {
                "command": format!("/path/to/{}", ir.crate_name),
                "args": [],
                "env": env,
            }
        }
    });
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
    text.push('\n');
    text
}

fn view(ir: &ServerIr, annotation_file: &str) -> CrateView {
    let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let tools = ir
        .tools
        .iter()
        .map(|tool| {
            for scope in &tool.scopes {
                scopes
                    .entry(scope.clone())
                    .or_default()
                    .push(tool.name.to_string());
            }
            let required = tool
                .input_schema
                .as_object()
                .map(defs::required)
                .unwrap_or_default();
            let arguments = tool
                .input_schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(name, schema)| ArgumentView {
                    name: name.clone(),
                    required: required.contains(&name.as_str()),
                    description: schema
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                })
                .collect();
            let body_fields: Vec<(&String, &ValueSource)> = tool
                .body
                .iter()
                .flat_map(|b| match &b.value {
                    crate::ir::BodyValue::Fields(fields) => fields
                        .iter()
                        .map(|f| (&f.wire_name, &f.value))
                        .collect::<Vec<_>>(),
                    crate::ir::BodyValue::Argument { .. } => Vec::new(),
                })
                .collect();
            let fixed = tool
                .params
                .iter()
                .map(|p| (&p.wire_name, &p.value))
                .chain(body_fields)
                .filter_map(|(wire, source)| match source {
                    ValueSource::Fixed(value) => Some(format!("{wire} = {value}")),
                    ValueSource::Env { var, .. } => Some(format!("{wire} = ${var}")),
                    ValueSource::Argument { .. } => None,
                })
                .collect();
            let mut shaping = Vec::new();
            if !tool.output.allow.is_empty() {
                shaping.push(format!(
                    "only {} kept",
                    tool.output
                        .allow
                        .iter()
                        .map(|p| markdown_code(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for redaction in &tool.output.redact {
                let what = match redaction.action {
                    crate::ir::RedactAction::Remove => "removed",
                    crate::ir::RedactAction::Mask { .. } => "masked",
                };
                shaping.push(format!("{} {what}", markdown_code(&redaction.path)));
            }
            ToolView {
                name: tool.name.to_string(),
                title: tool.title.clone(),
                description: tool.description.clone(),
                operation: format!("{} {}", tool.operation.method.as_str(), tool.operation.path),
                operation_id: tool.operation.id.clone(),
                access: if tool.hints.read_only {
                    "read"
                } else if tool.hints.destructive {
                    "write (destructive)"
                } else {
                    "write"
                },
                confirm: tool.confirm,
                identity: tool.identity.as_str(),
                scopes: tool.scopes.clone(),
                arguments,
                fixed,
                shaping,
            }
        })
        .collect();
    let title = ir
        .title
        .clone()
        .unwrap_or_else(|| ir.crate_name.to_string());
    CrateView {
        annotation_file: annotation_file.to_owned(),
        crate_name: ir.crate_name.to_string(),
        version: ir.version.clone(),
        description: format!("MCP server for {title}, generated by mcpgen"),
        title,
        base_url: ir.upstream.base_url.clone(),
        base_url_env: ir.upstream.base_url_env.to_string(),
        sources: ir
            .sources
            .iter()
            .map(|s| SourceView {
                path: s.path.clone(),
            })
            .collect(),
        env: required_env(ir)
            .into_iter()
            .map(|(name, usage)| EnvVarView { name, usage })
            .collect(),
        tools,
        scopes: scopes
            .into_iter()
            .map(|(name, tools)| ScopeView { name, tools })
            .collect(),
        client_config: client_config(ir).trim_end().to_owned(),
        runtime_path: "mcpgen-runtime".to_owned(),
        env_prefix: ir.crate_name.env_prefix(),
        escalation: ir.escalation.as_deref().map(sentence),
        limits: LimitsView {
            max_request_bytes: ir.limits.max_request_bytes,
            calls_per_minute: ir.limits.calls_per_minute,
            max_concurrent_calls: ir.limits.max_concurrent_calls,
            max_result_tokens: ir.limits.max_result_tokens,
        },
        max_response_bytes: ir.upstream.max_response_bytes,
        upstream_host: upstream_host(&ir.upstream.base_url),
        upstream_port: upstream_port(&ir.upstream.base_url),
        k8s_name: k8s_name(ir.crate_name.as_str()),
    }
}

/// The host of the upstream's base URL (`api.example.com`), for the deploy files' comments.
fn upstream_host(base_url: &str) -> String {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        .collect()
}

/// The crate name as a Kubernetes object name (RFC 1123 label: `-` for `_`, at most 63).
fn k8s_name(crate_name: &str) -> String {
    let name: String = crate_name
        .chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(63)
        .collect();
    name.trim_matches('-').to_owned()
}

/// The TCP port the upstream's base URL names, or its scheme's (443 for https, 80 for http).
fn upstream_port(base_url: &str) -> u16 {
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("https", base_url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = match host.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => host.split_once(':').map(|(_, p)| p),
    };
    port.and_then(|p| p.parse().ok())
        .unwrap_or(if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            443
        })
}

/// Renders every templated file: (output path, contents).
pub fn render(ir: &ServerIr, annotation_file: &str, runtime_path: &str) -> Vec<(String, String)> {
    let env = environment();
    let mut view = view(ir, annotation_file);
    view.runtime_path = runtime_path.to_owned();
    // Made into template values once for all the templates (for thousands of tools, the view
    // is large).
    let context = minijinja::Value::from(minijinja::value::Serde(&view));
    drop(view);
    let mut out = Vec::new();
    for (template, output) in [
        ("Cargo.toml.j2", "Cargo.toml"),
        ("README.md.j2", "README.md"),
        ("Dockerfile.j2", "Dockerfile"),
        ("deploy/kubernetes.yaml.j2", "deploy/kubernetes.yaml"),
        ("deploy/alerts.yaml.j2", "deploy/alerts.yaml"),
    ] {
        // Templates are mcpgen's own and the view is complete; a failure is a bug in mcpgen.
        let text = env
            .get_template(template)
            .and_then(|t| t.render(&context))
            .unwrap_or_else(|e| {
                panic!("bug in mcpgen: template {template} failed to render: {e:#}")
            });
        out.push((output.to_owned(), text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        env.add_filter("toml_str", |s: String| s);
        env.add_filter("md", |s: String| s);
        env.add_filter("md_code", |s: String| s);
        env.add_filter("md_block", |s: String| s);
        env.add_filter("one_line", |s: String| s);
        for template in TEMPLATES {
            env.add_template(template.name, template.text)
                .unwrap_or_else(|e| panic!("{}: {e}", template.name));
        }
    }

    #[test]
    fn markdown_escaping_keeps_text_inert() {
        assert_eq!(markdown_inline("a | b\n<script>"), "a \\| b \\<script\\>");
        assert_eq!(
            markdown_inline("  é_*ü\t\t[x](y) `c`#\\ "),
            "é\\_\\*ü \\[x\\](y) \\`c\\`\\#\\\\"
        );
        assert_eq!(markdown_code("x"), "`x`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`edge`"), "`` `edge` ``");
        assert_eq!(markdown_block("# Title\nline"), "> \\# Title\n> line");
        assert_eq!(sentence("ask on #pet-store."), "ask on #pet-store.");
        assert_eq!(sentence("ask the manager "), "ask the manager.");
    }
}
