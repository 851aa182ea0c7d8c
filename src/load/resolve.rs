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

    /// The object at `pointer` in `doc`, following it if it is a `$ref` (OpenAPI lets path items,
    /// parameters, request bodies and responses be references): where it really is, and its value.
    pub fn follow<'a>(
        &'a self,
        doc: &DocKey,
        pointer: &str,
        value: &'a Value,
    ) -> Result<(DocKey, String, &'a Value), ResolveError> {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => self
                .resolve_deep(doc, reference)
                .map(|t| (t.doc.clone(), t.pointer, t.value)),
            None => Ok((doc.clone(), pointer.to_owned(), value)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_spec;
    use serde_json::json;

    const ROOT: &str = r##"openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a~b/{id}:
    get:
      responses:
        "200": {$ref: "#/components/responses/Ok"}
components:
  responses:
    Ok: {description: ok}
  schemas:
    Local: {type: string}
    Hop1: {$ref: "#/components/schemas/Hop2"}
    Hop2: {$ref: "schemas/pet.yaml#/Pet"}
    LoopA: {$ref: "#/components/schemas/LoopB"}
    LoopB: {$ref: "#/components/schemas/LoopA"}
    Self: {$ref: "#/components/schemas/Self"}
    Remote: {$ref: "https://example.com/pet.yaml#/Pet"}
    Outside: {$ref: "../outside.yaml"}
    Missing: {$ref: "schemas/missing.yaml#/X"}
    Broken: {$ref: "schemas/broken.yaml"}
    Spaced: {$ref: "schemas/my%20pets.yaml#/Pet%20Type"}
"##;

    fn spec() -> (tempfile::TempDir, SpecSet) {
        let dir = tempfile::tempdir().unwrap();
        let api = dir.path().join("api");
        std::fs::create_dir_all(api.join("schemas")).unwrap();
        std::fs::write(api.join("openapi.yaml"), ROOT).unwrap();
        std::fs::write(api.join("schemas/pet.yaml"), "Pet: {type: object, properties: {owner: {$ref: '#/Owner'}}}\nOwner: {$ref: '../openapi.yaml#/components/schemas/Local'}\n").unwrap();
        std::fs::write(api.join("schemas/broken.yaml"), "a: [1,\n").unwrap();
        std::fs::write(
            api.join("schemas/my pets.yaml"),
            "Pet Type: {type: integer}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("outside.yaml"), "secret: 1\n").unwrap();
        let set = load_spec(&api.join("openapi.yaml"), &api).unwrap();
        (dir, set)
    }

    fn error(set: &SpecSet, reference: &str) -> ResolveError {
        set.resolve_deep(set.root_key(), reference).unwrap_err()
    }

    #[test]
    fn local_and_whole_document_refs() {
        let (_dir, set) = spec();
        let root = set.root_key();
        let ok = set.resolve(root, "#/components/responses/Ok").unwrap();
        assert_eq!(
            (ok.doc, ok.pointer.as_str(), ok.value),
            (
                root,
                "/components/responses/Ok",
                &json!({"description": "ok"})
            )
        );
        assert_eq!(set.resolve(root, "#").unwrap().value, &set.root().value);
        assert_eq!(set.resolve(root, "").unwrap().pointer, "");
        // Percent-decoding, then pointer unescaping (`~0` is `~`, `~1` is `/`).
        let path = set.resolve(root, "#/paths/~1a~0b~1%7Bid%7D/get").unwrap();
        assert_eq!(path.pointer, "/paths/~1a~0b~1{id}/get");
        assert!(path.value.get("responses").is_some());
    }

    #[test]
    fn cross_file_refs_and_chains() {
        let (_dir, set) = spec();
        let root = set.root_key();
        let pet = set.resolve(root, "schemas/pet.yaml#/Pet").unwrap();
        assert_eq!(pet.doc.as_str(), "schemas/pet.yaml");
        assert_eq!(pet.value["type"], json!("object"));
        // One hop stops at the next `$ref`; deep follows to the end, across files and back.
        assert_eq!(
            set.resolve(root, "#/components/schemas/Hop1")
                .unwrap()
                .pointer,
            "/components/schemas/Hop1"
        );
        let deep = set.resolve_deep(root, "#/components/schemas/Hop1").unwrap();
        assert_eq!(
            (deep.doc.as_str(), deep.pointer.as_str()),
            ("schemas/pet.yaml", "/Pet")
        );
        let owner = set.resolve_deep(pet.doc, "#/Owner").unwrap();
        assert_eq!((owner.doc, owner.value), (root, &json!({"type": "string"})));
        let spaced = set
            .resolve(root, "schemas/my%20pets.yaml#/Pet%20Type")
            .unwrap();
        assert_eq!(spaced.value, &json!({"type": "integer"}));
    }

    #[test]
    fn cycles_are_errors() {
        let (_dir, set) = spec();
        let ResolveError::Cycle { chain } = error(&set, "#/components/schemas/LoopA") else {
            panic!("expected a cycle");
        };
        assert_eq!(
            chain,
            [
                "#/components/schemas/LoopA",
                "#/components/schemas/LoopB",
                "#/components/schemas/LoopA"
            ]
        );
        assert!(matches!(
            error(&set, "#/components/schemas/Self"),
            ResolveError::Cycle { .. }
        ));
        let diagnostic =
            error(&set, "#/components/schemas/Self").to_diagnostic(Location::pointer("x", "/y"));
        assert_eq!(diagnostic.code, "ref-cycle");
        assert!(diagnostic.help.is_some());
    }

    #[test]
    fn missing_targets_name_the_pointer() {
        let (_dir, set) = spec();
        let e = error(&set, "#/components/schemas/Nope");
        assert_eq!(
            e,
            ResolveError::Missing {
                reference: "#/components/schemas/Nope".into(),
                doc: set.root_key().clone(),
                pointer: "/components/schemas/Nope".into()
            }
        );
        let d = e.to_diagnostic(Location::pointer("api/openapi.yaml", "/x"));
        assert_eq!(d.code, "dangling-ref");
        assert_eq!(
            d.message,
            "`#/components/schemas/Nope` points at nothing: `openapi.yaml` has no value at `/components/schemas/Nope`"
        );
        assert!(matches!(
            error(&set, "#not-a-pointer"),
            ResolveError::BadFragment { .. }
        ));
        assert!(matches!(
            error(&set, "#/a~2"),
            ResolveError::BadFragment { .. }
        ));
        assert!(matches!(
            set.resolve(&DocKey::new("nope.yaml"), "#/a").unwrap_err(),
            ResolveError::UnknownDocument(_)
        ));
    }

    #[test]
    fn unavailable_files_carry_their_recorded_diagnostic() {
        let (_dir, set) = spec();
        let code = |reference: &str| match error(&set, reference) {
            ResolveError::Unavailable { diagnostic, .. } => diagnostic.code,
            other => panic!("{reference}: expected unavailable, got {other:?}"),
        };
        assert_eq!(code("#/components/schemas/Remote"), "remote-ref");
        assert_eq!(code("#/components/schemas/Outside"), "ref-outside-root");
        assert_eq!(code("#/components/schemas/Missing"), "file-not-found");
        assert_eq!(code("#/components/schemas/Broken"), "yaml-syntax");
        assert_eq!(code("../../../../etc/passwd"), "ref-outside-root");
        let d =
            error(&set, "#/components/schemas/Missing").to_diagnostic(Location::pointer("x", "/y"));
        assert_eq!(d.code, "file-not-found");
        assert_eq!(d.location, Location::pointer("x", "/y"));
        assert!(d.message.contains("schemas/missing.yaml"), "{}", d.message);
    }
}
