//! The contract derived from the IR: what a lowered server promises its clients, tool by tool.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    Annotations, Contract, FORMAT, OperationContract, RedactionContract, ResponseContract,
    ServerContract, SharedTexts, Source, ToolContract, hash_of, hash_with, write_sorted,
};
use crate::ir::{BodyValue, RedactAction, ServerIr, ToolIr, ValueSource};

/// The contract of a lowered server.
pub fn contract(ir: &ServerIr) -> Contract<'_> {
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
        tools: {
            // Schemas tools share (one value in the IR) are written sorted once.
            let sorted = SharedTexts::of(ir.tools.iter().flat_map(ir_schemas), |schema| {
                let mut text = Vec::new();
                write_sorted(schema, &mut text);
                text
            });
            crate::parallel::map(&ir.tools, |t| {
                let mut contract = contract_without_hash(t);
                contract.hash =
                    hash_with(&contract, &|schema| sorted.get(schema).map(Vec::as_slice));
                vec![(t.name.to_string(), contract)]
            })
            .into_iter()
            .collect()
        },
    }
}

/// A tool's schemas in the IR: input, output and the spec's input schema, those it has.
fn ir_schemas(tool: &ToolIr) -> impl Iterator<Item = &Value> {
    [
        Some(&*tool.input_schema),
        tool.output.schema.as_deref(),
        tool.spec_input_schema.as_deref(),
    ]
    .into_iter()
    .flatten()
}

/// The contract of one tool, hash included.
pub fn tool_contract(tool: &ToolIr) -> ToolContract<'_> {
    let mut contract = contract_without_hash(tool);
    contract.hash = hash_of(&contract);
    contract
}

/// The contract of one tool, its hash left empty.
fn contract_without_hash(tool: &ToolIr) -> ToolContract<'_> {
    let (fixed, from_env) = policy_values(tool);
    ToolContract {
        title: tool.title.clone(),
        description: tool.description.clone(),
        // Key order is set when the contract is hashed or written (`hash_of`, `to_text`).
        input_schema: Cow::Borrowed(&tool.input_schema),
        spec_input_schema: tool.spec_input_schema.as_deref().map(Cow::Borrowed),
        output_schema: tool.output.schema.as_deref().map(Cow::Borrowed),
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
    }
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
                let mut value = value.clone();
                value.sort_all_objects();
                fixed.insert(key, value);
            }
            ValueSource::Env { var, .. } => {
                from_env.insert(key, var.to_string());
            }
            ValueSource::Argument { .. } => {}
        }
    }
    (fixed, from_env)
}
