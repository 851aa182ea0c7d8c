//! The annotation file: a YAML file read with positions, where a repeated key is an error.
//!
//! Owns only reading and parsing it; what the annotations mean is `lower`'s business.

use std::path::Path;

use super::document::{Document, read_document};
use crate::diag::{Diagnostics, Severity};

/// Reads and parses the annotation file. Unlike in specs, a key repeated in one mapping is an
/// error (a silently ignored policy line is worse than a failed build).
pub fn read_annotation_file(path: &Path) -> Result<Document, Diagnostics> {
    let document = read_document(path)?;
    let duplicates = document.duplicate_key_diagnostics(Severity::Error);
    if duplicates.is_empty() {
        Ok(document)
    } else {
        Err(duplicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;
    use serde_json::json;

    #[test]
    fn reads_with_positions_and_rejects_duplicate_keys() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("mcp.yaml");
        std::fs::write(&good, "tools:\n  listPets:\n    hidden: false\n").unwrap();
        let document = read_annotation_file(&good).unwrap();
        assert_eq!(
            document.value,
            json!({"tools": {"listPets": {"hidden": false}}})
        );
        assert_eq!(
            document.positions.get("/tools/listPets/hidden"),
            Some((3, 5))
        );

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "tools:\n  a: 1\n  a: 2\n").unwrap();
        let errors: Vec<_> = read_annotation_file(&bad)
            .unwrap_err()
            .into_iter()
            .collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].severity, Severity::Error);
        assert_eq!(errors[0].code, "duplicate-key");
        let Location::InFile {
            pointer, line_col, ..
        } = &errors[0].location
        else {
            panic!("no place: {:?}", errors[0].location);
        };
        assert_eq!((pointer.as_str(), *line_col), ("/tools/a", Some((3, 3))));
    }
}
