//! The tool contract (`mcp-contract.json`): everything a client can rely on, in one canonical,
//! sorted, byte-stable file that reviewers diff and CI compares.
//!
//! Built from the IR only (pure). Per tool: name, title, description, input and output JSON
//! Schema as clients see them, hints, scopes, confirmation, upstream identity, response shaping,
//! the source operation and a content hash; per server: name, version (the contract version),
//! scopes and the source files with their hashes. Object keys are sorted at every depth, so the
//! file only changes when the contract does.

use crate::ir::{BodyValue, RedactAction, ServerIr, ToolIr, ValueSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// File name of the contract, at the root of the generated crate.
pub const CONTRACT_FILE: &str = "mcp-contract.json";

/// Version of the contract file's format.
pub const FORMAT: u32 = 1;

/// A server's tool contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Format of this file ([`FORMAT`]).
    pub format: u32,
    /// The server.
    pub server: ServerContract,
    /// The input files, with their hashes.
    pub sources: Vec<Source>,
    /// The tools, by name.
    pub tools: BTreeMap<String, ToolContract>,
}

/// The server as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerContract {
    /// `serverInfo.name`.
    pub name: String,
    /// The contract version: the server's version, reported in `serverInfo.version`; bump its
    /// major part for breaking changes.
    pub version: String,
    /// Every scope some tool requires.
    pub scopes: Vec<String>,
    /// Client profiles the input schemas were normalised for (`server.profiles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
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
pub struct ToolContract {
    /// Title.
    pub title: Option<String>,
    /// Description shown to the model.
    pub description: String,
    /// Input JSON Schema, as published in `tools/list`.
    pub input_schema: Value,
    /// The schema derived from the spec that arguments are validated against, when a client
    /// profile rewrote the published one (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_input_schema: Option<Value>,
    /// Output JSON Schema, when results are structured.
    pub output_schema: Option<Value>,
    /// MCP tool annotations.
    pub annotations: Annotations,
    /// Scopes a caller needs.
    pub scopes: Vec<String>,
    /// Whether a human must confirm each call.
    pub confirm: bool,
    /// Whose identity reaches the upstream.
    pub identity: String,
    /// Shaping of results before they leave the server.
    pub response: ResponseContract,
    /// The upstream operation.
    pub operation: OperationContract,
    /// `sha256:` hash of everything above, in canonical form (the tool's contract version).
    pub hash: String,
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    /// `readOnlyHint`.
    pub read_only: bool,
    /// `destructiveHint`.
    pub destructive: bool,
    /// `idempotentHint`.
    pub idempotent: bool,
    /// `openWorldHint`.
    pub open_world: bool,
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
    /// Path with `*` wildcards.
    pub path: String,
    /// `remove` or `mask`.
    pub action: String,
    /// For `mask`: trailing characters kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_last: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// The upstream operation behind a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationContract {
    /// `operationId`.
    pub operation_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Spec file.
    pub spec: String,
    /// Values the server always sends (`<location>:<name>` → value): the narrowing the model
    /// cannot change.
    pub fixed: BTreeMap<String, Value>,
    /// Values the server reads from its environment (`<location>:<name>` → variable).
    pub from_env: BTreeMap<String, String>,
}

/// The contract of a lowered server.
pub fn contract(ir: &ServerIr) -> Contract {
    Contract {
        format: FORMAT,
        server: ServerContract {
            name: ir.crate_name.to_string(),
            version: ir.version.clone(),
            scopes: ir.scopes(),
            profiles: ir.profiles.iter().map(|p| p.name().to_owned()).collect(),
        },
        sources: ir
            .sources
            .iter()
            .map(|s| Source {
                path: s.path.clone(),
                sha256: s.sha256.clone(),
            })
            .collect(),
        tools: crate::parallel::map(&ir.tools, |t| vec![(t.name.to_string(), tool_contract(t))])
            .into_iter()
            .collect(),
    }
}

/// The contract of one tool, hash included.
pub fn tool_contract(tool: &ToolIr) -> ToolContract {
    let (fixed, from_env) = policy_values(tool);
    let mut contract = ToolContract {
        title: tool.title.clone(),
        description: tool.description.clone(),
        // Key order is set when the contract is hashed or written (`hash_of`, `to_text`).
        input_schema: tool.input_schema.clone(),
        spec_input_schema: tool.spec_input_schema.clone(),
        output_schema: tool.output.schema.clone(),
        annotations: Annotations {
            read_only: tool.hints.read_only,
            destructive: tool.hints.destructive,
            idempotent: tool.hints.idempotent,
            open_world: tool.hints.open_world,
        },
        scopes: tool.scopes.clone(),
        confirm: tool.confirm,
        identity: tool.identity.as_str().to_owned(),
        response: ResponseContract {
            allow: tool.output.allow.clone(),
            redact: tool
                .output
                .redact
                .iter()
                .map(|r| match r.action {
                    RedactAction::Remove => RedactionContract {
                        path: r.path.clone(),
                        action: "remove".to_owned(),
                        keep_last: 0,
                    },
                    RedactAction::Mask { keep_last } => RedactionContract {
                        path: r.path.clone(),
                        action: "mask".to_owned(),
                        keep_last,
                    },
                })
                .collect(),
        },
        operation: OperationContract {
            operation_id: tool.operation.id.clone(),
            method: tool.operation.method.as_str().to_owned(),
            path: tool.operation.path.clone(),
            spec: tool.operation.spec_file.clone(),
            fixed,
            from_env,
        },
        hash: String::new(),
    };
    contract.hash = hash_of(&contract);
    contract
}

/// The fixed and environment values of a tool's parameters and body fields.
fn policy_values(tool: &ToolIr) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let mut fixed = BTreeMap::new();
    let mut from_env = BTreeMap::new();
    let params = tool
        .params
        .iter()
        .map(|p| (format!("{}:{}", p.location.as_str(), p.wire_name), &p.value));
    let fields: Vec<(String, &ValueSource)> = match tool.body.as_ref().map(|b| &b.value) {
        Some(BodyValue::Fields(fields)) => fields
            .iter()
            .map(|f| (format!("body:{}", f.wire_name), &f.value))
            .collect(),
        _ => Vec::new(),
    };
    for (key, source) in params.chain(fields) {
        match source {
            ValueSource::Fixed(value) => {
                fixed.insert(key, value.clone());
            }
            ValueSource::Env { var, .. } => {
                from_env.insert(key, var.to_string());
            }
            ValueSource::Argument { .. } => {}
        }
    }
    (fixed, from_env)
}

/// The `sha256:` hash of a tool contract's canonical JSON, without its own hash.
pub fn hash_of(contract: &ToolContract) -> String {
    let mut value = canonical(contract);
    if let Value::Object(obj) = &mut value {
        obj.shift_remove("hash");
    }
    format!(
        "sha256:{}",
        crate::naming::short_hash(&value.to_string(), 64)
    )
}

/// The contract as its file's text: canonical JSON, pretty-printed, one trailing newline.
pub fn to_text(contract: &Contract) -> String {
    let mut text = serde_json::to_string_pretty(&canonical(contract)).unwrap_or_default();
    text.push('\n');
    text
}

/// `value` as canonical JSON: the keys of every object sorted (byte order), at every depth.
fn canonical(value: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    value.sort_all_objects();
    value
}

/// Parses a contract file's text.
pub fn from_text(text: &str) -> Result<Contract, String> {
    let contract: Contract = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if contract.format != FORMAT {
        return Err(format!(
            "contract format {} is not supported (this mcpgen reads format {FORMAT})",
            contract.format
        ));
    }
    Ok(contract)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_at_every_depth() {
        let value = json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": 3}, "B": 0});
        assert_eq!(
            canonical(&value).to_string(),
            r#"{"B":0,"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
