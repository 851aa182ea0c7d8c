//! The operations of a set of specs, and how annotation files refer to them.
//!
//! An operation is referred to by its `operationId` or as `METHOD /path`; with several spec
//! files, `<spec file>#<reference>` picks one file. Lookups that fail say what was meant to be
//! found and suggest the closest names.

use crate::diag::Diagnostics;
use crate::ir::HttpMethod;
use crate::load::pointer::escape_token;
use crate::load::{DocKey, SpecSet};
use serde_json::Value;
use std::collections::BTreeMap;

/// One operation in one spec.
#[derive(Debug, Clone)]
pub struct OperationRef<'a> {
    /// Index of its spec in the spec list.
    pub spec: usize,
    /// Spec file path as written in the annotation file.
    pub spec_file: String,
    /// Document holding the operation object (the root, or the file a path item `$ref` names).
    pub doc: DocKey,
    /// JSON pointer of the operation object in `doc`.
    pub pointer: String,
    /// Path template.
    pub path: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// The operation object.
    pub operation: &'a Value,
    /// The path item holding it (for path-level parameters).
    pub path_item: &'a Value,
    /// Pointer of the path item in `doc`.
    pub path_item_pointer: String,
}

impl<'a> OperationRef<'a> {
    /// The `operationId`, if it is a non-empty string.
    pub fn id(&self) -> Option<&'a str> {
        self.operation
            .get("operationId")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// `METHOD /path`.
    pub fn method_path(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }

    /// The operationId, or `METHOD /path` when there is none.
    pub fn label(&self) -> String {
        self.id()
            .map(str::to_owned)
            .unwrap_or_else(|| self.method_path())
    }

    /// The operation's one-line summary (or the first line of its description).
    pub fn summary(&self) -> Option<String> {
        let text = |key: &str| {
            self.operation
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        text("summary")
            .or_else(|| text("description"))
            .and_then(|s| s.lines().next())
            .map(str::to_owned)
    }

    /// Whether the spec marks the operation deprecated.
    pub fn deprecated(&self) -> bool {
        self.operation.get("deprecated") == Some(&Value::Bool(true))
    }
}

/// Every operation of a set of specs, in spec order, then path order, then method order.
#[derive(Debug)]
pub struct OperationIndex<'a> {
    /// The operations.
    pub operations: Vec<OperationRef<'a>>,
    /// Positions in `operations` by operationId, and by method and path.
    by_id: BTreeMap<&'a str, Vec<usize>>,
    by_method_path: BTreeMap<(HttpMethod, String), Vec<usize>>,
}

/// Why an operation reference found nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindError {
    /// Nothing matches; the closest labels are suggested.
    NotFound {
        /// Up to three close matches.
        suggestions: Vec<String>,
    },
    /// Several operations match.
    Ambiguous {
        /// How to refer to each of them unambiguously.
        candidates: Vec<String>,
    },
}

impl<'a> OperationIndex<'a> {
    /// Indexes the operations of `specs` (with their paths as written in the annotation file).
    /// Path items that cannot be resolved are reported and skipped.
    pub fn build(specs: &'a [(String, SpecSet)], diagnostics: &mut Diagnostics) -> Self {
        let mut operations = Vec::new();
        for (spec, (spec_file, set)) in specs.iter().enumerate() {
            let root_key = set.root_key();
            let Some(paths) = set.root().value.get("paths").and_then(Value::as_object) else {
                continue;
            };
            for (path, item) in paths {
                if !path.starts_with('/') {
                    continue; // `x-` extensions and malformed keys are not paths
                }
                let item_pointer = format!("/paths/{}", escape_token(path));
                let (doc, item_pointer, item) = match set.follow(root_key, &item_pointer, item) {
                    Ok(found) => found,
                    Err(err) => {
                        diagnostics.push(
                            err.to_diagnostic(set.locate(root_key, &item_pointer))
                                .into_warning(),
                        );
                        continue;
                    }
                };
                for method in HttpMethod::ALL {
                    if let Some(operation) = item.get(method.key()).filter(|op| op.is_object()) {
                        operations.push(OperationRef {
                            spec,
                            spec_file: spec_file.clone(),
                            doc: doc.clone(),
                            pointer: format!("{item_pointer}/{}", method.key()),
                            path: path.clone(),
                            method,
                            operation,
                            path_item: item,
                            path_item_pointer: item_pointer.clone(),
                        });
                    }
                }
            }
        }
        let mut by_id: BTreeMap<&'a str, Vec<usize>> = BTreeMap::new();
        let mut by_method_path: BTreeMap<(HttpMethod, String), Vec<usize>> = BTreeMap::new();
        for (i, op) in operations.iter().enumerate() {
            if let Some(id) = op.id() {
                by_id.entry(id).or_default().push(i);
            }
            by_method_path
                .entry((op.method, op.path.clone()))
                .or_default()
                .push(i);
        }
        OperationIndex {
            operations,
            by_id,
            by_method_path,
        }
    }

    /// Finds the operation an annotation file refers to: `operationId`, `METHOD /path`, or either
    /// prefixed by `<spec file>#`.
    pub fn find(&self, reference: &str) -> Result<&OperationRef<'a>, FindError> {
        let (spec_file, reference) = match reference.split_once('#') {
            Some((file, rest)) => (Some(file.trim()), rest.trim()),
            None => (None, reference.trim()),
        };
        let method_path = reference
            .split_once(' ')
            .and_then(|(m, p)| HttpMethod::parse(m.trim()).map(|m| (m, p.trim())));
        let positions = match method_path {
            Some((method, path)) => self.by_method_path.get(&(method, path.to_owned())),
            None => self.by_id.get(reference),
        };
        let matches: Vec<&OperationRef<'a>> = positions
            .into_iter()
            .flatten()
            .map(|&i| &self.operations[i])
            .filter(|op| spec_file.is_none_or(|f| op.spec_file == f))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(FindError::NotFound {
                suggestions: self.suggest(reference),
            }),
            many => Err(FindError::Ambiguous {
                candidates: many
                    .iter()
                    .map(|op| format!("{}#{}", op.spec_file, op.method_path()))
                    .collect(),
            }),
        }
    }

    /// Up to three operation labels closest to `reference`.
    fn suggest(&self, reference: &str) -> Vec<String> {
        let wanted = reference.to_ascii_lowercase();
        let mut scored: Vec<(usize, String)> = self
            .operations
            .iter()
            .flat_map(|op| [op.id().map(str::to_owned), Some(op.method_path())])
            .flatten()
            .map(|label| (edit_distance(&wanted, &label.to_ascii_lowercase()), label))
            .filter(|(d, _)| *d <= (wanted.chars().count() / 3).max(2))
            .collect();
        scored.sort();
        scored.dedup_by(|a, b| a.1 == b.1);
        scored.into_iter().take(3).map(|(_, label)| label).collect()
    }
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_spec_for_tests;

    const SPEC: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /pets:
    get: {operationId: listPets, responses: {"200": {description: ok}}}
    post: {operationId: createPet, responses: {"201": {description: ok}}}
  /pets/{petId}:
    get: {responses: {"200": {description: ok}}}
    delete: {operationId: listPets, responses: {"204": {description: ok}}}
  x-not-a-path: {}
"##;

    #[test]
    fn finds_by_id_and_by_method_and_path() {
        let specs = vec![("api.yaml".to_owned(), parse_spec_for_tests(SPEC))];
        let mut diags = Diagnostics::new();
        let index = OperationIndex::build(&specs, &mut diags);
        assert_eq!(index.operations.len(), 4);
        assert_eq!(
            index.find("createPet").map(|op| op.method_path()),
            Ok("POST /pets".to_owned())
        );
        assert_eq!(
            index.find("get /pets/{petId}").map(|op| op.pointer.clone()),
            Ok("/paths/~1pets~1{petId}/get".to_owned())
        );
        assert_eq!(
            index.find("api.yaml#POST /pets").map(|op| op.label()),
            Ok("createPet".to_owned())
        );
        assert!(
            matches!(index.find("listPets"), Err(FindError::Ambiguous { candidates }) if candidates.len() == 2)
        );
        assert_eq!(
            index.find("createPets").err(),
            Some(FindError::NotFound {
                suggestions: vec!["createPet".to_owned()]
            })
        );
        assert!(diags.is_empty());
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
