//! The state of one upgrade: the spec being read, the origins and problems being recorded, and
//! the helpers every converter uses (following `$ref`s, carrying values from other files).
//!
//! Owns [`Upgrade`] and [`Source`]. Must not convert any particular 2.0 construct.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::load::origins::Origins;
use crate::load::paths::{DocKey, relative_ref};
use crate::load::pointer;
use crate::load::refs::{self, Blocked};
use crate::load::resolve::ResolveError;
use crate::load::spec::SpecSet;

/// A value in a loaded document as written, with where it is.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The document.
    pub doc: &'a DocKey,
    /// Its pointer there.
    pub pointer: String,
    /// The value.
    pub value: &'a Value,
}

impl<'a> Source<'a> {
    /// A member of this value, when it is a mapping that has it.
    pub fn member(&self, name: &str) -> Option<Source<'a>> {
        let value = self.value.get(name)?;
        Some(Source {
            doc: self.doc,
            pointer: pointer::push_token(&self.pointer, name),
            value,
        })
    }

    /// The items of this value, when it is a sequence.
    pub fn items(&self) -> Vec<Source<'a>> {
        let Some(items) = self.value.as_array() else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(index, value)| Source {
                doc: self.doc,
                pointer: pointer::push_token(&self.pointer, &index.to_string()),
                value,
            })
            .collect()
    }
}

/// One upgrade in progress.
pub struct Upgrade<'a> {
    set: &'a SpecSet,
    /// Converted pointer → origin, filled by the converters.
    pub origins: Origins,
    problems: BTreeMap<String, Vec<Diagnostic>>,
    warnings: Diagnostics,
}

impl<'a> Upgrade<'a> {
    /// Starts an upgrade of the set's root document (which must still be the 2.0 original).
    pub fn new(set: &'a SpecSet) -> Self {
        Upgrade {
            set,
            origins: Origins::default(),
            problems: BTreeMap::new(),
            warnings: Diagnostics::new(),
        }
    }

    /// The converted value, the origins, the problems by operation pointer, and spec-wide warnings.
    pub fn finish(
        self,
        value: Value,
    ) -> (
        Value,
        Origins,
        BTreeMap<String, Vec<Diagnostic>>,
        Diagnostics,
    ) {
        (value, self.origins, self.problems, self.warnings)
    }

    /// The root document's key.
    pub fn root_key(&self) -> &'a DocKey {
        &self.set.root
    }

    /// The root document as written.
    pub fn root_value(&self) -> Option<&'a serde_json::Map<String, Value>> {
        self.set.root_document.value.as_object()
    }

    /// A member of the root document as written.
    pub fn root_source(&self, pointer: &str) -> Option<Source<'a>> {
        let value = self.set.root_document.value.pointer(pointer)?;
        Some(Source {
            doc: &self.set.root,
            pointer: pointer.to_owned(),
            value,
        })
    }

    /// Where a source value is, for a diagnostic.
    pub fn location(&self, source: &Source<'_>) -> Location {
        match self.set.document(source.doc) {
            Some(document) => document.location(&source.pointer),
            None => Location::pointer(source.doc.as_str(), &source.pointer),
        }
    }

    /// Records a problem with the operation (or path item) at this converted pointer.
    pub fn problem(&mut self, operation: &str, diagnostic: Diagnostic) {
        self.problems
            .entry(operation.to_owned())
            .or_default()
            .push(diagnostic);
    }

    /// Records a problem that belongs to no operation.
    pub fn warn(&mut self, diagnostic: Diagnostic) {
        self.warnings.push(diagnostic);
    }

    /// Records that the converted value at `converted` came from `source`.
    pub fn record(&mut self, converted: &str, source: &Source<'_>) {
        self.origins.record(converted, source.doc, &source.pointer);
    }

    /// The value itself, or what its `$ref` chain leads to.
    pub fn follow(&self, source: Source<'a>) -> Result<Source<'a>, ResolveError> {
        let Some(reference) = source.value.get("$ref").and_then(Value::as_str) else {
            return Ok(source);
        };
        let resolved = self.set.resolve_deep(source.doc, reference)?;
        Ok(Source {
            doc: resolved.doc,
            pointer: resolved.pointer,
            value: resolved.value,
        })
    }

    /// A copy of a value for the upgraded root document. A value from another file has its
    /// `$ref`s rewritten to be relative to the root document, so they still name the same targets.
    pub fn transplant(&self, source: &Source<'_>) -> Value {
        let mut value = source.value.clone();
        if source.doc != &self.set.root {
            self.rebase_refs(&mut value, source.doc);
        }
        value
    }

    fn rebase_refs(&self, value: &mut Value, from: &DocKey) {
        match value {
            Value::Object(members) => {
                for (name, member) in members.iter_mut() {
                    match member {
                        Value::String(reference) if name == "$ref" => {
                            *reference = self.rebase(reference, from)
                        }
                        _ => self.rebase_refs(member, from),
                    }
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.rebase_refs(item, from)),
            _ => {}
        }
    }

    /// A reference written in document `from`, rewritten to mean the same from the root document.
    fn rebase(&self, reference: &str, from: &DocKey) -> String {
        let Some(document) = self.set.document(from) else {
            return reference.to_owned();
        };
        let with_fragment = |file: String, fragment: &str| {
            if reference.contains('#') {
                format!("{file}#{fragment}")
            } else {
                file
            }
        };
        match refs::file_part(&self.set.root_dir, &document.path, reference) {
            Ok((target, fragment)) => {
                let key = target.as_ref().map_or(from, |target| &target.key);
                let file = relative_ref(&self.set.root, key);
                if file.is_empty() {
                    format!("#{fragment}")
                } else {
                    with_fragment(file, fragment)
                }
            }
            // Still blocked from the root: an absolute path is outside the root directory (or goes
            // through the same link) whatever file it is written in.
            Err(Blocked::Outside(path) | Blocked::LinkOutside(path)) => {
                let fragment = reference
                    .split_once('#')
                    .map_or("", |(_, fragment)| fragment);
                let absolute = std::path::absolute(&path).unwrap_or(path);
                with_fragment(absolute.to_string_lossy().replace('\\', "/"), fragment)
            }
            Err(Blocked::Remote(_) | Blocked::BadEscape(_)) => reference.to_owned(),
        }
    }
}

/// The media types listed in a `consumes` / `produces` value, if it is a list of strings.
pub fn media_types(value: Option<&Value>) -> Option<Vec<String>> {
    let list = value?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

/// Copies every `x-` member of `from` into `to`.
pub fn carry_extensions(
    from: &serde_json::Map<String, Value>,
    to: &mut serde_json::Map<String, Value>,
) {
    for (name, value) in from {
        if name.starts_with("x-") {
            to.insert(name.clone(), value.clone());
        }
    }
}
