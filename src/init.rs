//! `mcpgen init`: a starter annotation file that lists every operation of a spec.
//!
//! Each operation gets a suggested tool name (within the length budget, unique) and its
//! summary as a comment. `--select read` enables every GET/HEAD operation, `all` enables every
//! operation (writes with an explicit `read_only: false`), `none` enables nothing. Operations
//! that mcpgen cannot turn into a working tool are listed but left disabled, with the reason.
//! The YAML is written as text with every value JSON-quoted, which YAML reads as a string.

use crate::ir::HttpMethod;
use crate::load::SpecSet;
use crate::lower::operations::OperationIndex;
use crate::lower::security::requirements;
use crate::naming::{CrateName, EnvVarName, Operation, ToolName, suggest_tool_names};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Which operations a starter file enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// None: the architect enables tools one by one.
    None,
    /// Every GET and HEAD operation.
    Read,
    /// Every operation.
    All,
}

/// One operation as listed in a starter file.
#[derive(Debug, Clone)]
pub struct StarterTool {
    /// Suggested tool name.
    pub name: ToolName,
    /// How the file refers to the operation.
    pub operation: String,
    /// `METHOD /path`, for the comment.
    pub method_path: String,
    /// One-line summary, for the comment.
    pub summary: Option<String>,
    /// HTTP method.
    pub method: HttpMethod,
    /// Whether the tool is enabled.
    pub enabled: bool,
    /// Why an operation that `--select` would enable is not, if so.
    pub disabled_because: Option<String>,
}

/// Everything a starter file says.
#[derive(Debug, Clone)]
pub struct Starter {
    /// Spec path relative to the annotation file.
    pub spec: String,
    /// A starter overlay listed after the spec, relative to the annotation file.
    pub overlay: Option<String>,
    /// Suggested server name.
    pub server_name: CrateName,
    /// The spec's title.
    pub title: Option<String>,
    /// Base URL from the spec, if it is absolute.
    pub base_url: Option<String>,
    /// Credentials for the schemes the enabled operations use: scheme → (field, env var) pairs.
    pub credentials: BTreeMap<String, Vec<(&'static str, EnvVarName)>>,
    /// The operations.
    pub tools: Vec<StarterTool>,
}

/// Lists the operations of a spec with suggested names.
pub fn starter(
    spec_path: &str,
    set: &SpecSet,
    index: &OperationIndex<'_>,
    select: Select,
) -> Starter {
    let info = set.root().value.get("info");
    let title = info
        .and_then(|i| i.get("title"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let server_name = CrateName::suggest(title.as_deref().unwrap_or("api"));
    let mut tools = Vec::new();
    let mut schemes: BTreeSet<String> = BTreeSet::new();
    let ids: BTreeMap<&str, usize> =
        index
            .operations
            .iter()
            .filter_map(|op| op.id())
            .fold(BTreeMap::new(), |mut m, id| {
                *m.entry(id).or_default() += 1;
                m
            });
    let names = suggest_tool_names(
        &index
            .operations
            .iter()
            .map(|op| Operation {
                id: op.id(),
                method: op.method.as_str(),
                path: &op.path,
            })
            .collect::<Vec<_>>(),
    );
    for (op, name) in index.operations.iter().zip(names) {
        let enabled = match select {
            Select::None => false,
            Select::Read => matches!(op.method, HttpMethod::Get | HttpMethod::Head),
            Select::All => true,
        };
        if enabled && let Some(first) = requirements(set, op).into_iter().next() {
            schemes.extend(first);
        }
        let unique_id = op.id().filter(|id| ids.get(id) == Some(&1));
        tools.push(StarterTool {
            name,
            operation: unique_id
                .map(str::to_owned)
                .unwrap_or_else(|| op.method_path()),
            method_path: op.method_path(),
            summary: op.summary(),
            method: op.method,
            enabled,
            disabled_because: None,
        });
    }
    let prefix = server_name.env_prefix();
    let credentials = schemes
        .into_iter()
        .filter_map(|scheme| {
            let def = set
                .root()
                .value
                .get("components")?
                .get("securitySchemes")?
                .get(&scheme)?;
            let kind = def.get("type").and_then(Value::as_str).unwrap_or_default();
            let http = def
                .get("scheme")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let fields = match (kind, http.as_str()) {
                ("http", "basic") => vec![
                    (
                        "username_env",
                        EnvVarName::suggest(&prefix, &format!("{scheme}_username")),
                    ),
                    (
                        "password_env",
                        EnvVarName::suggest(&prefix, &format!("{scheme}_password")),
                    ),
                ],
                ("apiKey", _) | ("http", "bearer") | ("oauth2", _) | ("openIdConnect", _) => {
                    vec![("env", EnvVarName::suggest(&prefix, &scheme))]
                }
                _ => return None,
            };
            Some((scheme, fields))
        })
        .collect();
    let base_url = set
        .root()
        .value
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .map(|server| {
            let mut url = server
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            for (name, var) in server
                .get("variables")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(default) = var.get("default").and_then(Value::as_str) {
                    url = url.replace(&format!("{{{name}}}"), default);
                }
            }
            url
        })
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"));
    Starter {
        spec: spec_path.to_owned(),
        overlay: None,
        server_name,
        title,
        base_url,
        credentials,
        tools,
    }
}

/// The starter file for `specs` (one spec) as text: operations that would not build are left
/// disabled with the reason, so the file always builds (unless nothing is left to enable). With
/// `overlay`, the file lists that overlay after the spec (its path relative to the file; it must
/// change nothing the starter depends on, as [`starter_overlay`]'s does not).
pub fn starter_file(
    annotation_path: &std::path::Path,
    specs: Vec<(String, SpecSet)>,
    select: Select,
    overlay: Option<&str>,
) -> (Starter, String) {
    let mut diagnostics = crate::diag::Diagnostics::new();
    let mut starter = {
        let index = OperationIndex::build(&specs, &mut diagnostics);
        let (spec_text, set) = &specs[0];
        starter(spec_text, set, &index, select)
    };
    starter.overlay = overlay.map(str::to_owned);
    let mut specs = Some(specs);
    // A tool's failure never depends on another's, so one round of disabling suffices; the
    // second round only confirms.
    for _ in 0..2 {
        let text = render(&starter);
        let Some(current) = specs.take() else { break };
        let Ok(project) = crate::load::project_from_text(annotation_path, &text, current) else {
            break;
        };
        let failed = crate::lower::failing_tools(&project);
        specs = Some(project.specs);
        if failed.is_empty() {
            break;
        }
        for (tool, diagnostic) in failed {
            if let Some(entry) = starter
                .tools
                .iter_mut()
                .find(|t| t.name.as_str() == tool && t.enabled && t.disabled_because.is_none())
            {
                entry.disabled_because =
                    Some(format!("{} [{}]", diagnostic.message, diagnostic.code));
            }
        }
    }
    let text = render(&starter);
    (starter, text)
}

/// A starter OpenAPI Overlay (1.0) for `set`, whose spec is at `spec` relative to the overlay
/// (`path`): one harmless action that marks the spec as overlaid, and commented examples of the
/// fixes overlays are for.
pub fn starter_overlay(set: &SpecSet, spec: &str, path: &std::path::Path) -> String {
    let title = set
        .root()
        .value
        .get("info")
        .and_then(|i| i.get("title"))
        .and_then(Value::as_str)
        .unwrap_or(spec);
    let name = path.file_name().map_or_else(
        || "overlay".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut out = String::new();
    out.push_str(&format!(
        "# Fixes to {} that mcpgen applies before it reads the spec (OpenAPI Overlay 1.0).\n",
        comment(title)
    ));
    out.push_str("# The annotation file lists this overlay after the spec. Each action selects nodes with a\n");
    out.push_str("# JSONPath `target` (RFC 9535), then merges `update` into them or removes them (`remove: true`).\n");
    out.push_str("overlay: 1.0.0\n");
    out.push_str("info:\n");
    out.push_str(&format!(
        "  title: {}\n",
        quoted(&format!("Fixes to {title}"))
    ));
    out.push_str("  version: \"0.1.0\"\n");
    out.push_str(&format!("extends: {}\n", quoted(spec)));
    out.push_str("actions:\n");
    out.push_str(
        "  - description: Marks the spec as overlaid; replace with the fixes the spec needs.\n",
    );
    out.push_str("    target: $.info\n");
    out.push_str("    update:\n");
    out.push_str(&format!("      x-overlaid-by: {}\n", quoted(&name)));
    out.push_str(
        "  # A field the API answers with null though the spec says it never is (OpenAPI 3.0):\n",
    );
    out.push_str("  # - target: $.components.schemas.Ticket.properties.closed_at\n");
    out.push_str("  #   update: { nullable: true }\n");
    out.push_str("  # A query parameter the spec leaves out:\n");
    out.push_str("  # - target: $.paths['/tickets'].get\n");
    out.push_str("  #   update:\n");
    out.push_str("  #     parameters:\n");
    out.push_str("  #       - { name: limit, in: query, schema: { type: integer, minimum: 1 } }\n");
    out.push_str("  # An enum value the spec forgot (arrays are appended to):\n");
    out.push_str(
        "  # - target: $.paths['/tickets'].get.parameters[?@.name == 'status'].schema.enum\n",
    );
    out.push_str("  #   update: [pending]\n");
    out.push_str("  # An operation agents must never reach:\n");
    out.push_str("  # - target: $.paths['/internal/reindex']\n");
    out.push_str("  #   remove: true\n");
    out
}

/// A YAML scalar that is always read as the given string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A YAML comment holding arbitrary text on one line.
fn comment(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The starter file as YAML text.
pub fn render(starter: &Starter) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# mcpgen annotation file for {}.\n",
        comment(starter.title.as_deref().unwrap_or(&starter.spec))
    ));
    out.push_str("# Enable the operations agents need, narrow them (params, response), then run `mcpgen build`.\n");
    out.push_str("# Reference: the \"Annotation file\" section of mcpgen's README, and mcpgen.schema.json (`mcpgen schema`).\n");
    out.push_str("version: 1\n");
    match &starter.overlay {
        Some(overlay) => out.push_str(&format!(
            "spec: [{}, {}]  # the overlay's fixes apply to the spec before mcpgen reads it\n",
            quoted(&starter.spec),
            quoted(overlay)
        )),
        None => out.push_str(&format!("spec: {}\n", quoted(&starter.spec))),
    }
    out.push_str("server:\n");
    out.push_str(&format!(
        "  name: {}\n",
        quoted(starter.server_name.as_str())
    ));
    out.push_str("  version: \"0.1.0\"\n");
    if let Some(title) = &starter.title {
        out.push_str(&format!("  title: {}\n", quoted(title)));
    }
    out.push_str("upstream:\n");
    match &starter.base_url {
        Some(url) => out.push_str(&format!("  base_url: {}\n", quoted(url))),
        None => out.push_str("  base_url: \"https://api.example.com\"  # the spec names no absolute server URL: set the real one\n"),
    }
    if starter.credentials.is_empty() {
        out.push_str("  credentials: {}\n");
    } else {
        out.push_str(
            "  credentials:  # secrets are read from these environment variables at start-up\n",
        );
        for (scheme, fields) in &starter.credentials {
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            out.push_str(&format!(
                "    {}: {{ {} }}\n",
                quoted(scheme),
                fields.join(", ")
            ));
        }
    }
    out.push_str("tools:\n");
    if starter.tools.is_empty() {
        out.push_str("  {}\n");
    }
    for tool in &starter.tools {
        let summary = tool
            .summary
            .as_deref()
            .map(|s| format!(": {}", comment(s)))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {}:  # {}{}\n",
            tool.name, tool.method_path, summary
        ));
        out.push_str(&format!("    operation: {}\n", quoted(&tool.operation)));
        match &tool.disabled_because {
            Some(reason) => out.push_str(&format!(
                "    enabled: false  # not generated: {}\n",
                comment(reason)
            )),
            None => out.push_str(&format!("    enabled: {}\n", tool.enabled)),
        }
        if !tool.method.is_safe() {
            out.push_str("    read_only: false  # this operation can change data\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::load::parse_spec_for_tests;

    #[test]
    fn starter_lists_every_operation_and_selects_reads() {
        let spec = r##"
openapi: 3.0.3
info: {title: "Pet \"Store\"", version: "1"}
servers: [{url: "https://{host}/v1", variables: {host: {default: api.example.com}}}]
security: [{key: []}]
components: {securitySchemes: {key: {type: apiKey, in: header, name: X-Key}}}
paths:
  /pets:
    get: {operationId: listPets, summary: "List pets", responses: {"200": {description: ok}}}
    post: {operationId: listPets, responses: {"201": {description: ok}}}
"##;
        let set = parse_spec_for_tests(spec);
        let specs = vec![("openapi.yaml".to_owned(), set)];
        let index = OperationIndex::build(&specs, &mut Diagnostics::new());
        let starter = starter("openapi.yaml", &specs[0].1, &index, Select::Read);
        assert_eq!(starter.server_name.as_str(), "pet-store-mcp");
        assert_eq!(
            starter.base_url.as_deref(),
            Some("https://api.example.com/v1")
        );
        let names: Vec<&str> = starter.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["list_pets", "list_pets_2"]);
        assert_eq!(
            starter.tools[0].operation, "GET /pets",
            "a duplicated operationId is not used"
        );
        assert!(starter.tools[0].enabled && !starter.tools[1].enabled);
        let text = render(&starter);
        assert!(text.contains("  title: \"Pet \\\"Store\\\"\"\n"), "{text}");
        assert!(
            text.contains("    \"key\": { env: PET_STORE_MCP_KEY }\n"),
            "{text}"
        );
        assert!(text.contains("    read_only: false"), "{text}");
    }
}
