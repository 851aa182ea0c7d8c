//! `mcpgen lint`: warnings before an unsafe or bloated tool surface ships.
//!
//! Pure: reads the lowered server (and the annotation file's positions to place findings) and
//! returns diagnostics with `lint-…` codes. Four families of rules:
//! - tool poisoning / prompt injection in text that reaches the model: hidden or direction-changing
//!   characters, instruction-like phrases, HTML or script, overly long descriptions; and, in the
//!   annotation file, a YAML comment that cuts such a text short;
//! - overbroad tools: free-form object arguments, catch-all paths, many optional arguments,
//!   writers without confirmation;
//! - data exposure: response fields that look personal or secret and leave the server unredacted;
//! - surface budget and client compatibility: approximate tokens per tool and for the whole
//!   `tools/list`, tool-name limits, and the schema rules of client profiles (Anthropic, OpenAI
//!   strict, Gemini).

mod exposure;

use crate::defs;
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir::{CONFIRMATION_ARGUMENT, Profile, ServerIr, ToolIr};
use crate::load::pointer::{self, escape_token};
use crate::lower::AnnotationCtx;
use serde_json::Value;
use std::collections::BTreeSet;

/// What to check.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Client profiles to check input schemas against, besides the server's own (whose
    /// schemas `build` already normalised).
    pub profiles: Vec<Profile>,
    /// Budget of approximate tokens per tool definition.
    pub max_tool_tokens: usize,
    /// Budget of approximate tokens for the whole `tools/list`.
    pub max_total_tokens: usize,
    /// Longest tool description before a warning.
    pub max_description_chars: usize,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            profiles: Vec::new(),
            max_tool_tokens: 2_000,
            max_total_tokens: 30_000,
            max_description_chars: 1_024,
        }
    }
}

/// Phrases that address the model rather than describe the API (matched case-insensitively).
const INSTRUCTION_PHRASES: &[&str] = &[
    "ignore previous instructions",
    "ignore all previous",
    "ignore the above",
    "disregard previous",
    "disregard all",
    "forget your instructions",
    "you must call",
    "always call this tool",
    "call this tool first",
    "before using any other tool",
    "do not tell the user",
    "don't tell the user",
    "without telling the user",
    "<important>",
    "new instructions:",
];

/// Phrases that may address the model but also occur in ordinary API documentation ("you must
/// always query the API …"): warnings, for a human to judge.
const SUSPICIOUS_PHRASES: &[&str] = &["you must always", "system prompt", "you are now"];

/// Lints a lowered server; findings are placed in the annotation file where possible.
pub fn lint(ir: &ServerIr, annotations: &AnnotationCtx, options: &LintOptions) -> Diagnostics {
    let mut out = Diagnostics::new();
    // Tool names are the keys of the annotation file's `tools`.
    let at = |tool: &ToolIr, suffix: &str| -> Location {
        annotations.at(&format!(
            "/tools/{}{suffix}",
            escape_token(tool.name.as_str())
        ))
    };
    let mut total_tokens = 0;
    // The server's own profiles (already normalised for) and the ones asked for here.
    let mut profiles: Vec<Profile> = ir.profiles.clone();
    profiles.extend(&options.profiles);
    profiles.sort();
    profiles.dedup();
    let server_texts = [
        ("title", &ir.title),
        ("instructions", &ir.instructions),
        ("escalation", &ir.escalation),
    ];
    for (key, text) in server_texts {
        if let Some(text) = text {
            let texts = [(key.to_owned(), text.clone())];
            let here = annotations.at(&format!("/server/{key}"));
            text_rules("the server", &texts, &here, &mut out);
        }
    }
    comment_rules(ir, annotations, &mut out);
    for tool in &ir.tools {
        let here = at(tool, "");
        let subject = format!("tool `{}`", tool.name);
        text_rules(&subject, &model_texts(tool), &here, &mut out);
        description_length_rule(tool, &here, options, &mut out);
        breadth_rules(tool, &here, &mut out);
        exposure::exposure_rules(tool, &at(tool, "/response"), &mut out);
        let tokens = approximate_tokens(tool);
        total_tokens += tokens;
        if tokens > options.max_tool_tokens {
            let input = tool.input_schema.to_string().len().div_ceil(4);
            let output = tool
                .output
                .schema
                .as_ref()
                .map_or(0, |s| s.to_string().len().div_ceil(4));
            out.push(
                Diagnostic::error("lint-tool-budget", here.clone(), format!("tool `{}` costs about {tokens} tokens in tools/list (input schema ~{input}, output schema ~{output}), over the budget of {}", tool.name, options.max_tool_tokens))
                    .with_help("narrow the arguments (`expose`, `fixed` or `hidden` parameters), the output (`response.allow`, `response.output_schema: {max_tokens: N}`, or `none`), shorten descriptions, or raise --max-tool-tokens"),
            );
        }
        name_rules(tool, &here, &mut out);
        for &profile in &profiles {
            let normalised = ir.profiles.contains(&profile);
            profile_rules(tool, profile, normalised, &here, &mut out);
        }
    }
    hash_only_rule(ir, &at, &mut out);
    if total_tokens > options.max_total_tokens {
        out.push(
            Diagnostic::error("lint-surface-budget", annotations.at("/tools"), format!("tools/list costs about {total_tokens} tokens for {} tools, over the budget of {}", ir.tools.len(), options.max_total_tokens))
                .with_help("offer fewer tools, or narrower ones; or raise --max-total-tokens"),
        );
    }
    out
}

/// Approximate tokens of a tool's definition in `tools/list` (JSON length / 4).
pub fn approximate_tokens(tool: &ToolIr) -> usize {
    let size = tool.name.as_str().len()
        + tool.title.as_ref().map_or(0, String::len)
        + tool.description.len()
        + tool.input_schema.to_string().len()
        + tool
            .output
            .schema
            .as_ref()
            .map_or(0, |s| s.to_string().len())
        + 120;
    size.div_ceil(4)
}

/// Every text of a tool that the model reads: (where, text). Besides the description and title,
/// that is every string in its schemas that a client shows the model: descriptions, titles,
/// property names, and the values of `enum`, `const`, `default` and `examples`.
fn model_texts(tool: &ToolIr) -> Vec<(String, String)> {
    let mut texts = vec![("description".to_owned(), tool.description.clone())];
    if let Some(title) = &tool.title {
        texts.push(("title".to_owned(), title.clone()));
    }
    let mut stack = vec![("input".to_owned(), &*tool.input_schema, false)];
    if let Some(output) = &tool.output.schema {
        stack.push(("output".to_owned(), output, false));
    }
    // `literal`: the value is data shown to the model (an enum value, a default), not a schema.
    while let Some((path, value, literal)) = stack.pop() {
        match value {
            Value::String(text) if literal => texts.push((format!("{path} value"), text.clone())),
            Value::Object(obj) => {
                for (key, child) in obj {
                    if literal {
                        texts.push((format!("{path} key"), key.clone()));
                        stack.push((format!("{path}/{key}"), child, true));
                    } else if matches!(key.as_str(), "description" | "title")
                        && let Some(text) = child.as_str()
                    {
                        texts.push((format!("{path} {key}"), text.to_owned()));
                    } else if matches!(key.as_str(), "enum" | "const" | "default" | "examples") {
                        stack.push((format!("{path}/{key}"), child, true));
                    } else {
                        if key == "properties"
                            && let Some(props) = child.as_object()
                        {
                            let names = props.keys();
                            texts.extend(
                                names.map(|n| (format!("{path} property name"), n.clone())),
                            );
                        }
                        stack.push((format!("{path}/{key}"), child, false));
                    }
                }
            }
            Value::Array(items) => {
                stack.extend(items.iter().map(|v| (path.clone(), v, literal)));
            }
            _ => {}
        }
    }
    texts
}

/// Keys of the annotation file whose values are texts the model reads, under `server`, a tool,
/// and a tool's parameter.
const SERVER_TEXTS: &[&str] = &["title", "instructions", "escalation"];
const TOOL_TEXTS: &[&str] = &["title", "description", "escalation"];
const PARAM_TEXTS: &[&str] = &["description"];

/// A comment on the line of an unquoted text the model reads: YAML ends the text where the
/// comment starts (` #pet-store.` after `ask the store manager on`), which its author rarely
/// means. Every such comment is reported (an intended one can move to its own line).
fn comment_rules(ir: &ServerIr, annotations: &AnnotationCtx, out: &mut Diagnostics) {
    let enabled = |name: &str| ir.tools.iter().any(|t| t.name.as_str() == name);
    for comment in &annotations.document.trailing_comments {
        let Some(tokens) = pointer::tokens(&comment.pointer) else {
            continue;
        };
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let (subject, what) = match tokens.as_slice() {
            ["server", key] if SERVER_TEXTS.contains(key) => {
                ("the server".to_owned(), format!("the {key}"))
            }
            ["tools", tool, key] if TOOL_TEXTS.contains(key) && enabled(tool) => {
                (format!("tool `{tool}`"), format!("the {key}"))
            }
            ["tools", tool, "params", param, key] if PARAM_TEXTS.contains(key) && enabled(tool) => {
                (format!("tool `{tool}`"), format!("the {key} of `{param}`"))
            }
            _ => continue,
        };
        let (line, col) = comment.line_col;
        out.push(
            Diagnostic::warning(
                "lint-comment-in-text",
                Location::line(annotations.path, &comment.pointer, line, col),
                format!(
                    "{subject}: {what} ends where a YAML comment starts; the model does not read `{}`",
                    comment.text
                ),
            )
            .with_help("quote the text if `#…` belongs to it, or move the comment to a line of its own"),
        );
    }
}

/// Invisible or direction-changing characters that can hide text from a human reviewer.
fn hidden_character(text: &str) -> Option<char> {
    text.chars().find(|c| {
        matches!(*c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{2028}' | '\u{2029}' | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
            || (c.is_control() && !matches!(*c, '\n' | '\r' | '\t'))
    })
}

/// Markup that can run or load something where a client renders descriptions as HTML.
const ACTIVE_MARKUP: &[&str] = &[
    "<script",
    "<iframe",
    "<img",
    "<object",
    "<embed",
    "<svg",
    "<style",
    "<link",
    "<meta",
    "<form",
    "javascript:",
    "data:text/html",
    "onerror=",
    "onload=",
];

/// Prompt-injection rules over the texts of `subject` (a tool, or the server).
fn text_rules(subject: &str, texts: &[(String, String)], here: &Location, out: &mut Diagnostics) {
    for (place, text) in texts {
        if let Some(c) = hidden_character(text) {
            out.push(
                Diagnostic::error("lint-hidden-text", here.clone(), format!("{subject}: the {place} holds the invisible or direction-changing character U+{:04X}", u32::from(c)))
                    .with_help("text a reviewer cannot see may still instruct the model: rewrite it in the annotation file"),
            );
        }
        let lower = text.to_lowercase();
        if let Some(phrase) = INSTRUCTION_PHRASES.iter().find(|p| lower.contains(*p)) {
            out.push(
                Diagnostic::error("lint-instruction", here.clone(), format!("{subject}: the {place} addresses the model (\"{phrase}\")"))
                    .with_help("text for the model should describe the API, not instruct the model: rewrite it in the annotation file"),
            );
        } else if let Some(phrase) = SUSPICIOUS_PHRASES.iter().find(|p| lower.contains(*p)) {
            out.push(
                Diagnostic::warning("lint-instruction", here.clone(), format!("{subject}: the {place} may address the model (\"{phrase}\")"))
                    .with_help("if it instructs the model rather than describing the API, rewrite it in the annotation file"),
            );
        }
        if let Some(markup) = ACTIVE_MARKUP.iter().find(|t| lower.contains(*t)) {
            out.push(
                Diagnostic::warning(
                    "lint-html",
                    here.clone(),
                    format!("{subject}: the {place} contains active markup (`{markup}`)"),
                )
                .with_help("override the text in the annotation file with plain text"),
            );
        }
    }
}

fn description_length_rule(
    tool: &ToolIr,
    here: &Location,
    options: &LintOptions,
    out: &mut Diagnostics,
) {
    if tool.description.chars().count() > options.max_description_chars {
        out.push(
            Diagnostic::warning(
                "lint-long-description",
                here.clone(),
                format!(
                    "tool `{}`: the description has {} characters",
                    tool.name,
                    tool.description.chars().count()
                ),
            )
            .with_help(format!(
                "keep it under {} characters: say what the tool does and when to use it",
                options.max_description_chars
            )),
        );
    }
}

fn breadth_rules(tool: &ToolIr, here: &Location, out: &mut Diagnostics) {
    // What the tool accepts, before any profile made optional arguments required.
    let input: &Value = tool
        .spec_input_schema
        .as_ref()
        .unwrap_or(&tool.input_schema);
    let props = input.get("properties").and_then(Value::as_object);
    let required = input.as_object().map(defs::required).unwrap_or_default();
    for (name, schema) in props.into_iter().flatten() {
        let schema = defs::resolve(input, schema);
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object")
            || schema.get("type").is_none();
        let free_form = is_object
            && schema.get("properties").is_none()
            && !matches!(schema.get("additionalProperties"), Some(Value::Bool(false)))
            && schema.get("enum").is_none()
            && schema.get("anyOf").is_none()
            && schema.get("oneOf").is_none()
            && schema.get("allOf").is_none()
            && schema.get("$ref").is_none();
        if free_form && name != CONFIRMATION_ARGUMENT {
            out.push(
                Diagnostic::warning("lint-free-form-argument", here.clone(), format!("tool `{}`: argument `{name}` accepts any object", tool.name))
                    .with_help("a free-form object lets the model send anything the API accepts: fix or narrow it under `params`"),
            );
        }
    }
    let optional = props.map_or(0, |p| {
        p.keys()
            .filter(|k| !required.contains(k.as_str()) && k.as_str() != CONFIRMATION_ARGUMENT)
            .count()
    });
    if optional > 12 {
        out.push(
            Diagnostic::warning(
                "lint-many-optional-arguments",
                here.clone(),
                format!("tool `{}` has {optional} optional arguments", tool.name),
            )
            .with_help("list the ones the task needs under `expose`"),
        );
    }
    let segments: Vec<&str> = tool
        .operation
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let catch_all = segments.iter().any(|s| s.contains('+') || s.contains('*'))
        || (segments.len() == 1 && segments[0].starts_with('{'));
    if catch_all {
        out.push(
            Diagnostic::warning("lint-catch-all-path", here.clone(), format!("tool `{}` calls the catch-all path {}", tool.name, tool.operation.path))
                .with_help("a path that captures any resource gives the model the whole API: fix the variable part under `params`"),
        );
    }
    if !tool.hints.read_only && !tool.confirm {
        out.push(
            Diagnostic::warning(
                "lint-write-without-confirmation",
                here.clone(),
                format!(
                    "tool `{}` changes data without a human's confirmation",
                    tool.name
                ),
            )
            .with_help("set `confirm: true` unless unattended writes are intended"),
        );
    }
}

fn name_rules(tool: &ToolIr, here: &Location, out: &mut Diagnostics) {
    let len = tool.name.as_str().chars().count();
    if len > 64 {
        out.push(
            Diagnostic::error("lint-name-length", here.clone(), format!("tool name `{}` has {len} characters; many clients refuse names over 64", tool.name))
                .with_help("rename the tool (48 characters or fewer leave room for client prefixes such as `mcp__server__`)"),
        );
    } else if len > 48 {
        out.push(
            Diagnostic::warning(
                "lint-name-length",
                here.clone(),
                format!(
                    "tool name `{}` has {len} characters; with a client prefix it may pass 64",
                    tool.name
                ),
            )
            .with_help("keep tool names at 48 characters or fewer"),
        );
    }
}

/// Tool names that differ only by the hash a cut name ends with (`…_1a2b3c4d`): a model cannot
/// tell them apart by name.
fn hash_only_rule(ir: &ServerIr, at: &dyn Fn(&ToolIr, &str) -> Location, out: &mut Diagnostics) {
    let mut by_stem: std::collections::BTreeMap<&str, Vec<&ToolIr>> = Default::default();
    for tool in &ir.tools {
        let name = tool.name.as_str();
        by_stem
            .entry(hash_stem(name).unwrap_or(name))
            .or_default()
            .push(tool);
    }
    for tools in by_stem.values().filter(|tools| tools.len() > 1) {
        let names: Vec<String> = tools.iter().map(|t| format!("`{}`", t.name)).collect();
        for tool in tools
            .iter()
            .filter(|t| hash_stem(t.name.as_str()).is_some())
        {
            out.push(
                Diagnostic::warning(
                    "lint-name-hash",
                    at(tool, ""),
                    format!(
                        "tool names {} differ only by a hash; a model cannot tell them apart by name",
                        names.join(", ")
                    ),
                )
                .with_help("rename the tools for what each does (the keys under `tools`)"),
            );
        }
    }
}

/// The name before a trailing `_` and 8 hex digits, the hash a cut name ends with.
fn hash_stem(name: &str) -> Option<&str> {
    let (stem, hash) = name.rsplit_once('_')?;
    (hash.len() == 8 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then_some(stem)
}

fn profile_rules(
    tool: &ToolIr,
    profile: Profile,
    normalised: bool,
    here: &Location,
    out: &mut Diagnostics,
) {
    let problems = crate::lower::profile::rules::violations(&tool.input_schema, profile);
    for problem in problems.into_iter().take(5) {
        out.push(
            Diagnostic::warning(
                "lint-client-profile",
                here.clone(),
                format!(
                    "tool `{}` breaks the {} profile: {problem}",
                    tool.name,
                    profile.name()
                ),
            )
            .with_help(if normalised {
                "`mcpgen build` could not normalise this schema fully: narrow the tool with `expose`".to_owned()
            } else {
                format!(
                    "add `{}` to `server.profiles` so `mcpgen build` normalises the schemas",
                    profile.name()
                )
            }),
        );
    }
}

/// Findings as SARIF 2.1.0, for code-scanning tools.
pub fn to_sarif(diagnostics: &Diagnostics) -> String {
    let mut rules: BTreeSet<&str> = BTreeSet::new();
    let results: Vec<Value> = diagnostics
        .sorted()
        .into_iter()
        .map(|d| {
            rules.insert(d.code);
            let level = match d.severity {
                crate::diag::Severity::Error => "error",
                crate::diag::Severity::Warning => "warning",
                crate::diag::Severity::Note => "note",
            };
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(&format!(" ({help})"));
            }
            let location = match &d.location {
                Location::InFile { path, line_col, pointer } => {
                    let mut physical = serde_json::json!({"artifactLocation": {"uri": path.to_string_lossy().replace('\\', "/")}});
                    if let Some((line, col)) = line_col {
                        physical["region"] = serde_json::json!({"startLine": line, "startColumn": col});
                    }
                    Some(serde_json::json!({"physicalLocation": physical, "logicalLocations": [{"fullyQualifiedName": pointer}]}))
                }
                Location::File { path } => Some(serde_json::json!({"physicalLocation": {"artifactLocation": {"uri": path.to_string_lossy().replace('\\', "/")}}})),
                Location::None => None,
            };
            serde_json::json!({"ruleId": d.code, "level": level, "message": {"text": message}, "locations": location.into_iter().collect::<Vec<_>>()})
        })
        .collect();
    let sarif = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mcpgen", "rules": rules.iter().map(|r| serde_json::json!({"id": r})).collect::<Vec<_>>()}},
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters() {
        assert_eq!(hidden_character("plain"), None);
        assert_eq!(hidden_character("a\u{202E}b"), Some('\u{202E}'));
        assert_eq!(hidden_character("tag\u{E0041}"), Some('\u{E0041}'));
        assert_eq!(hidden_character("line\nbreak"), None);
    }
}
