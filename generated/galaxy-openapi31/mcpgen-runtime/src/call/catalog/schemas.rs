//! Where each tool's schema texts come from: inline in its spec, or the contract compiled into
//! the crate (`mcp-contract.json`, read once, borrowed from); each checked to be a JSON object,
//! so a broken crate is refused at start-up rather than at its first `tools/list`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{SchemaTexts, StartupError};
use crate::spec::{SchemaText, ServerSpec, ToolSpec};

/// The schemas of every tool in a contract's text (`mcp-contract.json`), borrowed from it.
#[derive(Debug, Deserialize)]
pub(super) struct ContractSchemas<'a> {
    #[serde(borrow)]
    tools: HashMap<&'a str, ContractTool<'a>>,
}

/// One tool's schemas in the contract; the other members are the reviewers', not the server's.
#[derive(Debug, Deserialize)]
struct ContractTool<'a> {
    #[serde(borrow)]
    input_schema: &'a RawValue,
    #[serde(borrow, default)]
    spec_input_schema: Option<&'a RawValue>,
    #[serde(borrow, default)]
    output_schema: Option<&'a RawValue>,
}

/// Reads the contract's schemas, once: a single pass that also checks they are valid JSON.
pub(super) fn contract_schemas(
    server: &'static ServerSpec,
) -> Result<ContractSchemas<'static>, StartupError> {
    let text = server.contract.ok_or_else(|| StartupError {
        tool: None,
        message: "a tool keeps its schemas in the contract, but the server has none".to_owned(),
    })?;
    serde_json::from_str(text).map_err(|e| StartupError {
        tool: None,
        message: format!("the contract (mcp-contract.json) cannot be read: {e}"),
    })
}

/// Finds one schema's text and checks that it is a JSON object: a broken crate is refused at
/// start-up rather than at its first `tools/list`.
fn schema_text(
    tool: &str,
    what: &str,
    schema: SchemaText,
    in_contract: impl FnOnce() -> Result<Option<&'static RawValue>, StartupError>,
) -> Result<&'static RawValue, StartupError> {
    let text: &'static RawValue = match schema {
        SchemaText::Inline(text) => serde_json::from_str(text)
            .map_err(|e| StartupError::tool(tool, format!("{what} is not valid JSON: {e}")))?,
        // The contract was parsed whole: its values are valid JSON.
        SchemaText::InContract => in_contract()?
            .ok_or_else(|| StartupError::tool(tool, format!("the contract has no {what}")))?,
    };
    if !text.get().starts_with('{') {
        return Err(StartupError::tool(
            tool,
            format!("{what} is not a JSON object"),
        ));
    }
    Ok(text)
}

/// A tool's schema texts, from its spec or the contract.
pub(super) fn schema_texts(
    spec: &'static ToolSpec,
    contract: Option<&ContractSchemas<'static>>,
) -> Result<SchemaTexts, StartupError> {
    let name = spec.name;
    let entry = || {
        contract
            .and_then(|c| c.tools.get(name))
            .ok_or_else(|| StartupError::tool(name, "the contract has no entry for the tool"))
    };
    let input = schema_text(name, "input schema", spec.input_schema, || {
        Ok(Some(entry()?.input_schema))
    })?;
    let checked = match spec.spec_input_schema {
        None => input,
        Some(schema) => schema_text(name, "spec input schema", schema, || {
            Ok(entry()?.spec_input_schema)
        })?,
    };
    let output = match spec.output.schema {
        None => None,
        Some(schema) => Some(schema_text(name, "output schema", schema, || {
            Ok(entry()?.output_schema)
        })?),
    };
    Ok(SchemaTexts {
        input,
        checked,
        output,
    })
}
