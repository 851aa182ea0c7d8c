//! `$ref` resolution over a loaded [`SpecSet`]: one hop, or a whole chain.
//!
//! Owns [`Resolved`], [`ResolveError`] and the `resolve` / `resolve_deep` methods. Works on the
//! documents already in memory: must never read a file (a file that `load_spec` did not load is
//! reported as unavailable).

use std::collections::BTreeSet;

use serde_json::Value;

use super::paths::DocKey;
use super::pointer;
use super::refs;
use super::spec::SpecSet;
use crate::diag::{Diagnostic, Location};

/// The value a reference points at.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<'a> {
    /// The document it is in.
    pub doc: &'a DocKey,
    /// Its JSON pointer in that document (`""` for the whole document).
    pub pointer: String,
    /// The value.
    pub value: &'a Value,
}

/// Why a reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The document the reference is in is not part of the spec.
    #[error("`{0}` is not a loaded document")]
    UnknownDocument(DocKey),
    /// The reference's file could not be loaded, or may not be (remote, outside the root
    /// directory); the diagnostic says why.
    #[error("`{reference}` points into a file that is not available: {}", .diagnostic.message)]
    Unavailable {
        /// The reference.
        reference: String,
        /// Why the file is not available.
        diagnostic: Box<Diagnostic>,
    },
    /// The fragment is not a JSON pointer (e.g. a plain-name anchor or a bad `~` escape).
    #[error("`{reference}` does not end in a JSON pointer fragment")]
    BadFragment {
        /// The reference.
        reference: String,
    },
    /// Nothing is at the pointer.
    #[error("`{reference}` points at nothing: `{doc}` has no value at `{pointer}`")]
    Missing {
        /// The reference.
        reference: String,
        /// The document it points into.
        doc: DocKey,
        /// The pointer that has no value.
        pointer: String,
    },
    /// Following `$ref`s leads back to a reference already followed.
    #[error("`$ref` chain loops: {}", .chain.join(" → "))]
    Cycle {
        /// The references followed, ending with the one seen before.
        chain: Vec<String>,
    },
}

impl ResolveError {
    /// Stable code of the diagnostic.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::UnknownDocument(_) | ResolveError::Missing { .. } => "dangling-ref",
            ResolveError::Unavailable { diagnostic, .. } => diagnostic.code,
            ResolveError::BadFragment { .. } => "bad-ref",
            ResolveError::Cycle { .. } => "ref-cycle",
        }
    }

    /// The problem as a diagnostic at `at` (usually where the `$ref` is).
    pub fn to_diagnostic(&self, at: Location) -> Diagnostic {
        let help = match self {
            ResolveError::UnknownDocument(_) => {
                "refer to files relative to the referencing file".to_owned()
            }
            ResolveError::Unavailable { diagnostic, .. } => {
                let mut help = diagnostic.help.clone().unwrap_or_default();
                if let Location::InFile { .. } = diagnostic.location {
                    help = format!("{} (see {})", help, diagnostic.location)
                        .trim_start()
                        .to_owned();
                }
                help
            }
            ResolveError::BadFragment { .. } => {
                "write the fragment as a JSON pointer, e.g. `#/components/schemas/Pet`".to_owned()
            }
            ResolveError::Missing { .. } => {
                "check the spelling of the pointer (`~1` stands for `/`, `~0` for `~`)".to_owned()
            }
            ResolveError::Cycle { .. } => {
                "make one `$ref` in the loop point at a value that is not itself a `$ref`"
                    .to_owned()
            }
        };
        Diagnostic::error(self.code(), at, self.to_string()).with_help(help)
    }
}

impl SpecSet {
    /// Resolves one reference found in document `from`, without following a `$ref` at the target.
    /// The fragment is percent-decoded, then read as a JSON pointer; none or `#` is the whole
    /// document.
    pub fn resolve<'a>(
        &'a self,
        from: &DocKey,
        reference: &str,
    ) -> Result<Resolved<'a>, ResolveError> {
        let document = self
            .document(from)
            .ok_or_else(|| ResolveError::UnknownDocument(from.clone()))?;
        let (target, fragment) = refs::file_part(&self.root_dir, &document.path, reference)
            .map_err(|blocked| ResolveError::Unavailable {
                reference: reference.to_owned(),
                diagnostic: Box::new(blocked.diagnostic(Location::file(&document.path))),
            })?;
        let key = match &target {
            Some(target) => &target.key,
            None => from,
        };
        let Some((key, document)) = self.document_with_key(key) else {
            let diagnostic = self
                .unavailable
                .get(key.as_str())
                .cloned()
                .unwrap_or_else(|| {
                    Diagnostic::error(
                        "dangling-ref",
                        Location::file(key.as_str()),
                        "the file was not loaded",
                    )
                });
            return Err(ResolveError::Unavailable {
                reference: reference.to_owned(),
                diagnostic: Box::new(diagnostic),
            });
        };
        let pointer =
            pointer::fragment_to_pointer(fragment).ok_or_else(|| ResolveError::BadFragment {
                reference: reference.to_owned(),
            })?;
        match document.value.pointer(&pointer) {
            Some(value) => Ok(Resolved {
                doc: key,
                pointer,
                value,
            }),
            None => Err(ResolveError::Missing {
                reference: reference.to_owned(),
                doc: key.clone(),
                pointer,
            }),
        }
    }

    /// Resolves a reference and keeps following while the target is itself a `$ref` (sibling
    /// members of such a `$ref` are ignored). A loop is an error, not a hang.
    pub fn resolve_deep<'a>(
        &'a self,
        from: &DocKey,
        reference: &str,
    ) -> Result<Resolved<'a>, ResolveError> {
        let mut chain = vec![reference.to_owned()];
        let mut seen = BTreeSet::new();
        let mut resolved = self.resolve(from, reference)?;
        loop {
            if !seen.insert((resolved.doc.clone(), resolved.pointer.clone())) {
                return Err(ResolveError::Cycle { chain });
            }
            let Some(next) = resolved.value.get("$ref").and_then(Value::as_str) else {
                return Ok(resolved);
            };
            chain.push(next.to_owned());
            resolved = self.resolve(resolved.doc, next)?;
        }
    }

    /// A loaded document with the key stored in the set (so the borrow lives as long as `self`).
    fn document_with_key(&self, key: &DocKey) -> Option<(&DocKey, &super::document::Document)> {
        if *key == self.root {
            Some((&self.root, &self.root_document))
        } else {
            self.documents.get_key_value(key)
        }
    }
}
