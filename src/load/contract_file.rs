//! Reading a tool contract file (`mcp-contract.json`) written by an earlier build.

use crate::contract::{Contract, from_text};
use crate::diag::{Diagnostic, Diagnostics, Location};
use std::path::Path;

/// Whether a file looks like a tool contract rather than a spec or an annotation file.
pub fn is_contract_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
        && std::fs::read_to_string(path).is_ok_and(|text| {
            text.contains("\"tools\"") && text.contains("\"format\"") && text.contains("\"server\"")
        })
}

/// Reads and parses a tool contract file.
pub fn read_contract(path: &Path) -> Result<Contract<'static>, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                "file-unreadable",
                Location::file(path),
                format!("cannot read the contract: {e}"),
            )
            .with_help("check the path"),
        )
    })?;
    from_text(&text).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                "invalid-contract",
                Location::file(path),
                format!("not a tool contract: {e}"),
            )
            .with_help(
                "pass an mcp-contract.json written by `mcpgen build`, or an annotation file",
            ),
        )
    })
}
