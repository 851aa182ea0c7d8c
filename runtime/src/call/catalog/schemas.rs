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

#[cfg(test)]
mod tests {
    use crate::call::catalog::*;
    use crate::spec::*;
    use crate::testing_specs::{server_with as server, tool_spec};

    /// A tool whose schemas are all kept in the contract.
    fn in_contract(name: &'static str, output: bool) -> &'static ToolSpec {
        let mut spec = tool_spec(name, "{}", false, &[]);
        spec.input_schema = SchemaText::InContract;
        spec.spec_input_schema = Some(SchemaText::InContract);
        spec.nulls_absent = true;
        if output {
            spec.output.schema = Some(SchemaText::InContract);
        }
        Box::leak(Box::new(spec))
    }

    const CONTRACT: &str = r#"{
  "format": 2,
  "tools": {
    "get_thing": {
      "description": "ignored by the server",
      "input_schema": {
        "type": "object",
        "properties": {"zeta": {"type": ["string", "null"]}, "alpha": {"type": ["integer", "null"]}},
        "required": ["zeta", "alpha"]
      },
      "output_schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
      "spec_input_schema": {"type": "object", "properties": {"zeta": {"type": "string", "minLength": 2}}}
    }
  }
}"#;

    #[test]
    fn serves_the_schemas_written_in_the_contract_in_their_order() {
        let catalog =
            Catalog::new(server(Some(CONTRACT), vec![in_contract("get_thing", true)])).unwrap();
        let entry = catalog.get("get_thing").unwrap();
        let tool = serde_json::to_value(entry.tool().unwrap()).unwrap();
        let keys: Vec<&String> = tool["inputSchema"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["zeta", "alpha"]);
        assert_eq!(tool["outputSchema"]["properties"]["id"]["type"], "integer");
        // Arguments are checked against the spec's schema, not the published one.
        let compiled = entry.compiled().unwrap();
        assert!(compiled.input.is_valid(&serde_json::json!({"zeta": "ab"})));
        assert!(!compiled.input.is_valid(&serde_json::json!({"zeta": "a"})));
        assert!(compiled.output.is_some());
    }

    #[test]
    fn a_tools_text_serialises_as_rmcp_serialises_the_published_tool() {
        let mut odd = tool_spec(
            "odd",
            " {\"type\": \"object\",\n \"description\": \"a \\\"quote\\\", \\\\ and \\u00e9\"}",
            false,
            &[],
        );
        odd.title = Some("</script> & 'a title' \u{1F600}");
        odd.description = "line\nbreak, \"quotes\", \\ backslash\ttab \u{7f} \u{2028}";
        odd.hints.destructive = true;
        let catalogs = [
            Catalog::new(&crate::testing_specs::PETS).unwrap(),
            Catalog::new(server(Some(CONTRACT), vec![in_contract("get_thing", true)])).unwrap(),
            Catalog::new(server(None, vec![Box::leak(Box::new(odd))])).unwrap(),
        ];
        for catalog in &catalogs {
            for position in 0..catalog.len() {
                let entry = catalog.at(position).unwrap();
                let written = serde_json::to_string(&entry.text()).unwrap();
                let published = serde_json::to_value(entry.tool().unwrap()).unwrap();
                assert_eq!(
                    serde_json::from_str::<Value>(&written).unwrap(),
                    published,
                    "{}",
                    entry.spec.name
                );
            }
        }
        assert!(catalogs[0].at(catalogs[0].len()).is_none());
    }

    #[test]
    fn refuses_to_start_when_the_contract_lacks_what_a_tool_needs() {
        let no_contract = Catalog::new(server(None, vec![in_contract("get_thing", false)]));
        assert!(
            no_contract.unwrap_err().message.contains("has none"),
            "a tool that keeps its schemas in the contract needs one"
        );
        let missing = Catalog::new(server(Some(CONTRACT), vec![in_contract("other", false)]));
        assert_eq!(
            missing.unwrap_err().to_string(),
            "tool `other`: the contract has no entry for the tool"
        );
        let broken = Catalog::new(server(
            Some(r#"{"tools": {"get_thing": {"input_schema": {"#),
            vec![in_contract("get_thing", false)],
        ));
        assert!(
            broken.unwrap_err().message.contains("cannot be read"),
            "a truncated contract is refused"
        );
        let not_object = Catalog::new(server(
            Some(r#"{"tools": {"get_thing": {"input_schema": [], "spec_input_schema": {}}}}"#),
            vec![in_contract("get_thing", false)],
        ));
        assert_eq!(
            not_object.unwrap_err().to_string(),
            "tool `get_thing`: input schema is not a JSON object"
        );
        let no_output = Catalog::new(server(
            Some(
                r#"{"tools": {"get_thing": {"input_schema": {}, "spec_input_schema": {}, "output_schema": null}}}"#,
            ),
            vec![in_contract("get_thing", true)],
        ));
        assert_eq!(
            no_output.unwrap_err().to_string(),
            "tool `get_thing`: the contract has no output schema"
        );
    }
}
