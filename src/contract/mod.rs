//! The tool contract (`mcp-contract.json`): everything a client can rely on, in one canonical,
//! sorted, byte-stable file that reviewers diff and CI compares.
//!
//! Derived from the IR only, and purely, by [`derive`]; this module is the file itself (its data
//! model, canonical text, hashes and parsing), which `load` reads without the IR. Per tool: name, title, description, input and output JSON
//! Schema as clients see them, hints, scopes, confirmation, upstream identity, response shaping,
//! the source operation and a content hash; per server: name, version (the contract version),
//! scopes and the source files with their hashes. Object keys are sorted at every depth except
//! inside the schemas, which keep the order `tools/list` publishes (a model reads properties in
//! that order), so the file only changes when the contract does. Generated servers read their
//! schemas from this file: each schema is written once, and what reviewers diff is what is
//! served.

pub mod derive;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// File name of the contract, at the root of the generated crate.
pub const CONTRACT_FILE: &str = "mcp-contract.json";

/// Version of the contract file's format. Format 1 sorted the keys inside schemas too; it is
/// still read (by `diff`), as its content is the same.
pub const FORMAT: u32 = 2;

/// The oldest contract format this mcpgen reads.
const OLDEST_FORMAT: u32 = 1;

/// A server's tool contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract<'a> {
    /// Format of this file ([`FORMAT`]).
    pub format: u32,
    /// The server.
    pub server: ServerContract,
    /// The input files, with their hashes.
    pub sources: Vec<Source>,
    /// The tools, by name.
    pub tools: BTreeMap<String, ToolContract<'a>>,
}

/// The server as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerContract {
    /// `serverInfo.name`.
    pub name: String,
    /// Client profiles the input schemas were normalised for (`server.profiles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Every scope some tool requires.
    pub scopes: Vec<String>,
    /// The contract version: the server's version, reported in `serverInfo.version`; bump its
    /// major part for breaking changes.
    pub version: String,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path relative to the annotation file.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// One tool as clients see it, and what it does upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolContract<'a> {
    /// MCP tool annotations.
    pub annotations: Annotations,
    /// Whether a human must confirm each call.
    pub confirm: bool,
    /// Description shown to the model.
    pub description: String,
    /// `sha256:` hash of everything above, in canonical form (the tool's contract version).
    pub hash: String,
    /// Whose identity reaches the upstream.
    pub identity: String,
    /// Input JSON Schema, as published in `tools/list`.
    pub input_schema: Cow<'a, Value>,
    /// The upstream operation.
    pub operation: OperationContract,
    /// Output JSON Schema, when results are structured.
    pub output_schema: Option<Cow<'a, Value>>,
    /// Shaping of results before they leave the server.
    pub response: ResponseContract,
    /// Scopes a caller needs.
    pub scopes: Vec<String>,
    /// The schema derived from the spec that arguments are validated against, when a client
    /// profile rewrote the published one (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_input_schema: Option<Cow<'a, Value>>,
    /// Title.
    pub title: Option<String>,
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    /// `destructiveHint`.
    pub destructive: bool,
    /// `idempotentHint`.
    pub idempotent: bool,
    /// `openWorldHint`.
    pub open_world: bool,
    /// `readOnlyHint`.
    pub read_only: bool,
}

/// Response shaping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseContract {
    /// Allowlisted paths (empty: everything).
    pub allow: Vec<String>,
    /// Redactions, in order.
    pub redact: Vec<RedactionContract>,
}

/// One redaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionContract {
    /// `remove` or `mask`.
    pub action: String,
    /// For `mask`: trailing characters kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_last: u8,
    /// Path with `*` wildcards.
    pub path: String,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// The upstream operation behind a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationContract {
    /// Values the server always sends (`<location>:<name>` → value): the narrowing the model
    /// cannot change.
    pub fixed: BTreeMap<String, Value>,
    /// Values the server reads from its environment (`<location>:<name>` → variable).
    pub from_env: BTreeMap<String, String>,
    /// HTTP method.
    pub method: String,
    /// `operationId`.
    pub operation_id: Option<String>,
    /// Path template.
    pub path: String,
    /// Spec file.
    pub spec: String,
}

impl Contract<'_> {
    /// The contract with every schema owned (one built from an IR borrows the IR's schemas).
    pub fn into_owned(self) -> Contract<'static> {
        let own = |schema: Cow<'_, Value>| Cow::Owned(schema.into_owned());
        Contract {
            format: self.format,
            server: self.server,
            sources: self.sources,
            tools: self
                .tools
                .into_iter()
                .map(|(name, tool)| {
                    let tool = ToolContract {
                        input_schema: own(tool.input_schema),
                        output_schema: tool.output_schema.map(own),
                        spec_input_schema: tool.spec_input_schema.map(own),
                        annotations: tool.annotations,
                        confirm: tool.confirm,
                        description: tool.description,
                        hash: tool.hash,
                        identity: tool.identity,
                        operation: tool.operation,
                        response: tool.response,
                        scopes: tool.scopes,
                        title: tool.title,
                    };
                    (name, tool)
                })
                .collect(),
        }
    }
}

/// Texts made once for each schema value several tools share (the IR holds one input schema
/// per distinct argument list and one response description per distinct response, behind an
/// `Arc`), found by the value's address.
struct SharedTexts<T> {
    by_address: HashMap<usize, T>,
}

impl<T: Send + Sync> SharedTexts<T> {
    /// `make` of every distinct schema in `schemas`, on every core.
    fn of<'v>(schemas: impl Iterator<Item = &'v Value>, make: impl Fn(&Value) -> T + Sync) -> Self {
        let mut seen = std::collections::HashSet::new();
        let distinct: Vec<&Value> = schemas.filter(|s| seen.insert(address(s))).collect();
        let by_address = crate::parallel::map(&distinct, |s| vec![(address(s), make(s))])
            .into_iter()
            .collect();
        SharedTexts { by_address }
    }

    /// The text made for `schema`, when it is one of them.
    fn get(&self, schema: &Value) -> Option<&T> {
        self.by_address.get(&address(schema))
    }
}

/// Where a value is (its identity while the IR it belongs to is alive).
fn address(value: &Value) -> usize {
    std::ptr::from_ref(value) as usize
}

/// The `sha256:` hash of a tool contract's canonical JSON (the keys of every object sorted, at
/// every depth), without its own hash. The schemas, most of a contract, are written sorted
/// straight from where they are; only the rest is copied to be sorted.
pub fn hash_of(contract: &ToolContract<'_>) -> String {
    hash_with(contract, &|_| None)
}

/// [`hash_of`], with the sorted text `written` gives for a schema written already.
fn hash_with<'t>(
    contract: &ToolContract<'_>,
    written: &dyn Fn(&Value) -> Option<&'t [u8]>,
) -> String {
    let ToolContract {
        annotations,
        confirm,
        description,
        hash: _,
        identity,
        input_schema,
        operation,
        output_schema,
        response,
        scopes,
        spec_input_schema,
        title,
    } = contract;
    let placeholder = || Cow::Owned(Value::Null);
    let rest = ToolContract {
        annotations: *annotations,
        confirm: *confirm,
        description: description.clone(),
        hash: String::new(),
        identity: identity.clone(),
        input_schema: placeholder(),
        operation: operation.clone(),
        output_schema: output_schema.as_ref().map(|_| placeholder()),
        response: response.clone(),
        scopes: scopes.clone(),
        spec_input_schema: spec_input_schema.as_ref().map(|_| placeholder()),
        title: title.clone(),
    };
    let mut text = Vec::new();
    if let Value::Object(mut fields) = canonical(&rest) {
        fields.shift_remove("hash");
        text.push(b'{');
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            let _ = serde_json::to_writer(&mut text, key);
            text.push(b':');
            let schema = match key.as_str() {
                "input_schema" => Some(&**input_schema),
                "output_schema" => output_schema.as_deref(),
                "spec_input_schema" => spec_input_schema.as_deref(),
                _ => None,
            };
            match schema.and_then(written) {
                Some(sorted) => text.extend_from_slice(sorted),
                None => write_sorted(schema.unwrap_or(value), &mut text),
            }
        }
        text.push(b'}');
    }
    format!(
        "sha256:{}",
        crate::naming::short_hash(&String::from_utf8_lossy(&text), 64)
    )
}

/// `value` as compact JSON with the keys of every object sorted (byte order): what
/// `serde_json` writes for the value after `sort_all_objects`, without copying it.
fn write_sorted(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, key);
                out.push(b':');
                write_sorted(member, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_sorted(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// The contract as its file's text: pretty-printed JSON, one trailing newline. Serialised
/// directly (no copy): every struct declares its fields in sorted order, maps are `BTreeMap`s,
/// fixed values are sorted when built, and schemas keep their published order.
pub fn to_text(contract: &Contract<'_>) -> String {
    to_parts(contract).concat()
}

/// [`to_text`] as parts in order: the head, then each tool's member. Tools, the last member
/// and nearly all of the text, are printed on every core.
pub fn to_parts(contract: &Contract<'_>) -> Vec<String> {
    let head = Contract {
        format: contract.format,
        server: contract.server.clone(),
        sources: contract.sources.clone(),
        tools: BTreeMap::new(),
    };
    let mut text = serde_json::to_string_pretty(&head).unwrap_or_default();
    let tools: Vec<(&String, &ToolContract<'_>)> = contract.tools.iter().collect();
    // The head ends with the empty tools object: `"tools": {}` and the closing brace.
    match text.strip_suffix("{}\n}").map(str::len) {
        Some(open) if !tools.is_empty() => {
            // A schema several tools share (one in the IR they borrow) is printed once.
            let shared = SharedTexts::of(
                tools.iter().flat_map(|(_, tool)| borrowed_schemas(tool)),
                member_text,
            );
            let count = tools.len();
            let entries = crate::parallel::map(&tools, |(name, tool)| {
                vec![tool_entry(name, tool, &|schema| {
                    shared.get(schema).map(String::as_str)
                })]
            });
            text.truncate(open);
            text.push_str("{\n");
            let mut parts = Vec::with_capacity(count + 1);
            parts.push(text);
            for (i, mut entry) in entries.into_iter().enumerate() {
                entry.push_str(if i + 1 < count { ",\n" } else { "\n  }\n}\n" });
                parts.push(entry);
            }
            parts
        }
        _ => {
            text.push('\n');
            vec![text]
        }
    }
}

/// A schema pretty-printed as the value of a member of a tool's contract, as it stands in the
/// file (three levels deep): every line after the first indented by [`MEMBER_INDENT`].
fn member_text(schema: &Value) -> String {
    let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
    let mut text = String::with_capacity(pretty.len() + pretty.len() / 4);
    push_indented(&mut text, &pretty, MEMBER_INDENT);
    text
}

/// Appends `text` to `out`, every line after the first indented by `indent`. JSON strings hold
/// no raw line breaks, so indenting pretty-printed JSON after each one is exact.
fn push_indented(out: &mut String, text: &str, indent: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(line);
    }
}

/// The indentation of a tool's member in the contract's `tools` object.
const TOOL_INDENT: &str = "    ";

/// The indentation of the members of a tool's contract: [`TOOL_INDENT`] and one level more.
const MEMBER_INDENT: &str = "      ";

/// The schemas of a tool's contract that borrow from an IR.
fn borrowed_schemas<'v>(tool: &ToolContract<'v>) -> impl Iterator<Item = &'v Value> {
    let borrowed = |schema: Option<&Cow<'v, Value>>| match schema {
        Some(Cow::Borrowed(schema)) => Some(*schema),
        _ => None,
    };
    [
        borrowed(Some(&tool.input_schema)),
        borrowed(tool.output_schema.as_ref()),
        borrowed(tool.spec_input_schema.as_ref()),
    ]
    .into_iter()
    .flatten()
}

/// One tool's member of the contract's `tools` object, as pretty-printed there (two levels
/// deep), with the text `printed` gives for a schema printed already ([`member_text`]). JSON
/// strings hold no raw line breaks, so indenting after each one is exact.
fn tool_entry<'t>(
    name: &str,
    tool: &ToolContract<'_>,
    printed: &dyn Fn(&Value) -> Option<&'t str>,
) -> String {
    // Each schema printed already is written as `null`, then put in place of its line: the
    // only line at member depth with that key, the keys in this (their sorted) order.
    let mut texts: Vec<(&str, &str)> = Vec::new();
    let mut stand_in = |key: &'static str, schema: Option<&Cow<'_, Value>>| {
        let text = schema.and_then(|s| printed(s));
        if let Some(text) = text {
            texts.push((key, text));
        }
        text.map(|_| Cow::Owned(Value::Null))
    };
    let input_schema = stand_in("input_schema", Some(&tool.input_schema));
    let output_schema = stand_in("output_schema", tool.output_schema.as_ref());
    let spec_input_schema = stand_in("spec_input_schema", tool.spec_input_schema.as_ref());
    let whole = || {
        indented_entry(
            name,
            &serde_json::to_string_pretty(tool).unwrap_or_default(),
        )
    };
    if texts.is_empty() {
        return whole();
    }
    let stood_in = ToolContract {
        input_schema: input_schema.unwrap_or_else(|| tool.input_schema.clone()),
        output_schema: output_schema.or_else(|| tool.output_schema.clone()),
        spec_input_schema: spec_input_schema.or_else(|| tool.spec_input_schema.clone()),
        ..tool.clone()
    };
    let entry = indented_entry(
        name,
        &serde_json::to_string_pretty(&stood_in).unwrap_or_default(),
    );
    // Every stand-in prints its line; were one missing, the tool is printed whole.
    put_in_place(&entry, &texts).unwrap_or_else(whole)
}

/// A tool's pretty-printed contract as its member of the `tools` object: its name, and every
/// line after the first indented by [`TOOL_INDENT`].
fn indented_entry(name: &str, pretty: &str) -> String {
    let mut entry = String::with_capacity(pretty.len() + pretty.len() / 8 + name.len() + 8);
    entry.push_str(TOOL_INDENT);
    entry.push_str(&serde_json::to_string(name).unwrap_or_default());
    entry.push_str(": ");
    push_indented(&mut entry, pretty, TOOL_INDENT);
    entry
}

/// `entry` with each `"key": null` member line (in order) holding `text` instead of `null`;
/// `None` if one of those lines is not there.
fn put_in_place(entry: &str, texts: &[(&str, &str)]) -> Option<String> {
    let extra: usize = texts.iter().map(|(_, text)| text.len()).sum();
    let mut out = String::with_capacity(entry.len() + extra);
    let mut rest = entry;
    for (key, text) in texts {
        let line = format!("\n{MEMBER_INDENT}\"{key}\": null");
        let at = rest.find(&line)?;
        let value_at = at + line.len() - "null".len();
        out.push_str(&rest[..value_at]);
        out.push_str(text);
        rest = &rest[at + line.len()..];
    }
    out.push_str(rest);
    Some(out)
}

/// `value` as canonical JSON: the keys of every object sorted (byte order), at every depth.
fn canonical(value: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    value.sort_all_objects();
    value
}

/// Parses a contract file's text.
pub fn from_text(text: &str) -> Result<Contract<'static>, String> {
    let contract: Contract<'static> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !(OLDEST_FORMAT..=FORMAT).contains(&contract.format) {
        return Err(format!(
            "contract format {} is not supported (this mcpgen reads formats {OLDEST_FORMAT} to \
             {FORMAT})",
            contract.format
        ));
    }
    Ok(contract)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Whether every object's keys are in byte order, at every depth.
    fn sorted_at_every_depth(value: &Value) -> bool {
        match value {
            Value::Object(map) => {
                map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b)
                    && map.values().all(sorted_at_every_depth)
            }
            Value::Array(items) => items.iter().all(sorted_at_every_depth),
            _ => true,
        }
    }

    /// A tool contract with every kind of field, its three schemas `schema`.
    fn tool_with(schema: &Value) -> ToolContract<'_> {
        ToolContract {
            annotations: Annotations {
                destructive: false,
                idempotent: true,
                open_world: true,
                read_only: true,
            },
            confirm: false,
            description: "d".to_owned(),
            hash: String::new(),
            identity: "service_account".to_owned(),
            input_schema: Cow::Borrowed(schema),
            operation: OperationContract {
                fixed: BTreeMap::from([("query:f".to_owned(), json!({"b": 1, "a": 2}))]),
                from_env: BTreeMap::new(),
                method: "GET".to_owned(),
                operation_id: None,
                path: "/x".to_owned(),
                spec: "s.yaml".to_owned(),
            },
            output_schema: Some(Cow::Borrowed(schema)),
            response: ResponseContract {
                allow: vec![],
                redact: vec![RedactionContract {
                    action: "mask".to_owned(),
                    keep_last: 4,
                    path: "/card".to_owned(),
                }],
            },
            scopes: vec![],
            spec_input_schema: Some(Cow::Borrowed(schema)),
            title: Some("t".to_owned()),
        }
    }

    #[test]
    fn the_file_is_sorted_except_inside_schemas_which_keep_their_order() {
        let schema = json!({"type": "object", "properties": {"zeta": {}, "alpha": {}}});
        let tool = tool_with(&schema);
        let contract = Contract {
            format: FORMAT,
            server: ServerContract {
                name: "n".to_owned(),
                profiles: vec!["openai".to_owned()],
                scopes: vec![],
                version: "1.0.0".to_owned(),
            },
            sources: vec![Source {
                path: "s.yaml".to_owned(),
                sha256: "0".to_owned(),
            }],
            tools: BTreeMap::from([("t".to_owned(), tool)]),
        };
        let text = to_text(&contract);
        let mut written: Value = serde_json::from_str(&text).unwrap();
        for key in ["input_schema", "output_schema", "spec_input_schema"] {
            let kept = written["tools"]["t"][key].take();
            let order: Vec<&String> = kept["properties"].as_object().unwrap().keys().collect();
            assert_eq!(order, ["zeta", "alpha"], "{key} keeps its order");
        }
        // The fixed value here was not sorted when built: the writer keeps what it is given.
        written["tools"]["t"]["operation"]["fixed"].take();
        assert!(sorted_at_every_depth(&written), "{text}");
        assert_eq!(from_text(&text).unwrap(), contract);
        // Format 1 files (sorted inside schemas too) are still read; unknown formats are not.
        let old = text.replacen("\"format\": 2", "\"format\": 1", 1);
        assert_eq!(from_text(&old).unwrap().format, 1);
        let future = text.replacen("\"format\": 2", "\"format\": 3", 1);
        assert!(from_text(&future).unwrap_err().contains("formats 1 to 2"));
    }

    #[test]
    fn canonical_sorts_keys_at_every_depth() {
        let value = json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": 3}, "B": 0});
        assert_eq!(
            canonical(&value).to_string(),
            r#"{"B":0,"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }

    /// The hash is of the whole contract but its hash, keys sorted at every depth (schemas
    /// included), written compact: the same text as sorting a copy of it.
    #[test]
    fn hash_is_of_the_sorted_contract_without_its_hash() {
        let schema = json!({
            "type": "object",
            "properties": {"zeta": {"enum": ["a\"b", "é\n"]}, "alpha": {"minimum": 1.5e300}},
            "required": ["zeta"],
            "B": [{"y": null, "x": -0.0}, true, 12]
        });
        let reference = |tool: &ToolContract<'_>| {
            let mut value = canonical(tool);
            value.as_object_mut().unwrap().shift_remove("hash");
            format!(
                "sha256:{}",
                crate::naming::short_hash(&value.to_string(), 64)
            )
        };
        let mut tool = tool_with(&schema);
        tool.hash = "sha256:old".to_owned();
        assert_eq!(hash_of(&tool), reference(&tool));
        tool.output_schema = None;
        tool.spec_input_schema = None;
        tool.title = None;
        assert_eq!(hash_of(&tool), reference(&tool));
        let before = hash_of(&tool);
        tool.input_schema = Cow::Owned(json!({"type": "object", "required": ["zeta"]}));
        assert_ne!(hash_of(&tool), before, "the schemas are hashed");
    }

    /// Tools printed apart and put in place read exactly as the whole contract printed at once.
    #[test]
    fn the_text_is_the_whole_contract_pretty_printed() {
        let schema = json!({"type": "object", "properties": {"a": {"enum": ["x\ny", []]}}});
        let mut contract = Contract {
            format: FORMAT,
            server: ServerContract {
                name: "n".to_owned(),
                profiles: vec![],
                scopes: vec!["read".to_owned()],
                version: "1.0.0".to_owned(),
            },
            sources: vec![],
            tools: BTreeMap::new(),
        };
        for name in ["", "b\"q", "a"] {
            let whole = serde_json::to_string_pretty(&contract).unwrap() + "\n";
            assert_eq!(to_text(&contract), whole);
            contract.tools.insert(name.to_owned(), tool_with(&schema));
        }
        // Tools sharing their schemas (printed once), one with its own output schema, one
        // without.
        let owned = ToolContract {
            output_schema: Some(Cow::Owned(json!({"type": "object", "title": "own"}))),
            ..tool_with(&schema)
        };
        contract.tools.insert("c".to_owned(), owned);
        let without = ToolContract {
            output_schema: None,
            ..tool_with(&schema)
        };
        contract.tools.insert("d".to_owned(), without);
        // One with its own input schema and no spec input schema.
        let own_input = ToolContract {
            input_schema: Cow::Owned(json!({"type": "object", "title": "in"})),
            spec_input_schema: None,
            ..tool_with(&schema)
        };
        contract.tools.insert("e".to_owned(), own_input);
        let whole = serde_json::to_string_pretty(&contract).unwrap() + "\n";
        assert_eq!(to_text(&contract), whole);
    }

    /// Texts are put in place of their keys' `null` lines, in order; a missing line gives
    /// nothing rather than a text without its schema.
    #[test]
    fn texts_are_put_in_place_of_their_lines_or_not_at_all() {
        let pretty = "{\n  \"a\": null,\n  \"b\": {\n    \"a\": null\n  },\n  \"c\": null\n}";
        let entry = indented_entry("t", pretty);
        assert_eq!(
            put_in_place(&entry, &[("a", "[1]"), ("c", "{}")]).as_deref(),
            Some(
                "    \"t\": {\n      \"a\": [1],\n      \"b\": {\n        \"a\": null\n      },\n      \"c\": {}\n    }"
            )
        );
        assert_eq!(put_in_place(&entry, &[("c", "1"), ("a", "2")]), None);
        assert_eq!(put_in_place(&entry, &[("d", "1")]), None);
    }

    /// A shared schema's sorted text, written once, hashes as writing it for each tool.
    #[test]
    fn a_shared_schema_hashes_as_its_own() {
        let schema = json!({"type": "object", "properties": {"b": {}, "a": {"enum": [2, 1]}}});
        let tool = tool_with(&schema);
        let mut sorted = Vec::new();
        write_sorted(&schema, &mut sorted);
        assert_eq!(hash_with(&tool, &|_| Some(&sorted)), hash_of(&tool));
        let mut other = Vec::new();
        write_sorted(&json!({"type": "string"}), &mut other);
        assert_ne!(hash_with(&tool, &|_| Some(&other)), hash_of(&tool));
        // Written texts are used only for the schemas they are given for.
        let input_only = ToolContract {
            output_schema: Some(Cow::Owned(json!({"type": "object"}))),
            spec_input_schema: None,
            ..tool_with(&schema)
        };
        assert_eq!(
            hash_with(&input_only, &|s| std::ptr::eq(s, &schema)
                .then_some(&sorted[..])),
            hash_of(&input_only)
        );
    }
}
