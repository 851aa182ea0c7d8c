//! The loaded spec: the root document, every file reached through `$ref`s, and what could not be
//! loaded.
//!
//! Owns [`SpecSet`]: the documents, following relative `$ref`s file by file (each file once,
//! inside the root directory only) and recording unavailable files instead of failing. Loading
//! one in order (root, overlays, references, the Swagger 2.0 upgrade) is `spec_loader`'s;
//! `$ref` resolution lives in `resolve`, the upgrade in `swagger2`. Must not judge whether the
//! spec is usable for generation: that is `lower`'s job.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use super::document::{Document, read_document};
use super::origins::Origins;
use super::paths::{DocKey, RootDir};
use super::pointer;
use super::refs::{self, FileTarget};
use super::version::SpecVersion;
use crate::diag::{Diagnostic, Diagnostics, Location, Severity};

/// A spec and every file it references, parsed and in memory.
#[derive(Debug, Clone)]
pub struct SpecSet {
    pub(super) root: DocKey,
    pub(super) root_dir: RootDir,
    pub(super) version: SpecVersion,
    pub(super) root_document: Document,
    /// Every other loaded document.
    pub(super) documents: BTreeMap<DocKey, Document>,
    /// Files (or remote and outside targets) that references name but that could not be loaded,
    /// by name: the [`DocKey`] for files inside the root directory, else the path or URL.
    pub(super) unavailable: BTreeMap<String, Diagnostic>,
    pub(super) origins: Origins,
    /// Where the overlays' changes to the root document came from (pointers of the root as
    /// overlaid, before any upgrade).
    pub(super) overlaid: Origins,
    pub(super) operation_problems: BTreeMap<String, Vec<Diagnostic>>,
    pub(super) warnings: Diagnostics,
}

impl SpecSet {
    /// The version the root document declares (`Swagger2` even after the upgrade).
    pub fn version(&self) -> SpecVersion {
        self.version
    }

    /// The key of the root document.
    pub fn root_key(&self) -> &DocKey {
        &self.root
    }

    /// The root document; for Swagger 2.0, its value is the upgraded OpenAPI 3.0-shaped one and
    /// its positions are still those of the file as written (use [`SpecSet::locate`]).
    pub fn root(&self) -> &Document {
        &self.root_document
    }

    /// A loaded document.
    pub fn document(&self, key: &DocKey) -> Option<&Document> {
        if *key == self.root {
            Some(&self.root_document)
        } else {
            self.documents.get(key)
        }
    }

    /// Every loaded document, sorted by key.
    pub fn documents(&self) -> impl Iterator<Item = &Document> {
        self.documents_by_key().map(|(_, document)| document)
    }

    /// Every loaded document with its key, sorted by key.
    pub fn documents_by_key(&self) -> impl Iterator<Item = (&DocKey, &Document)> {
        let mut all: Vec<(&DocKey, &Document)> = self
            .documents
            .iter()
            .chain(std::iter::once((&self.root, &self.root_document)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// Targets that references name but that could not be loaded, sorted by name, each with the
    /// reason (missing, unparsable, remote, outside the root directory). Not errors by
    /// themselves: later stages report them when something they need points there.
    pub fn unavailable(&self) -> impl Iterator<Item = (&str, &Diagnostic)> {
        self.unavailable
            .iter()
            .map(|(name, diagnostic)| (name.as_str(), diagnostic))
    }

    /// Problems worth showing that did not stop loading (e.g. duplicate keys).
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// What the Swagger 2.0 upgrade could not convert in the operation at this pointer of the
    /// upgraded root (e.g. `/paths/~1pets/get`); empty for OpenAPI 3 specs.
    pub fn operation_problems(&self, pointer: &str) -> &[Diagnostic] {
        self.operation_problems
            .get(pointer)
            .map_or(&[], Vec::as_slice)
    }

    /// Every operation with upgrade problems, by pointer.
    pub fn all_operation_problems(&self) -> impl Iterator<Item = (&str, &[Diagnostic])> {
        self.operation_problems
            .iter()
            .map(|(pointer, problems)| (pointer.as_str(), problems.as_slice()))
    }

    /// Where a value is, for a diagnostic: the file, the pointer and the line when known. For the
    /// upgraded root of a Swagger 2.0 spec, converted pointers are mapped back to the place in the
    /// file as written that they came from.
    pub fn locate(&self, key: &DocKey, pointer: &str) -> Location {
        if *key == self.root {
            // Upgraded (Swagger 2.0) → as read, then as overlaid → the overlay that wrote it.
            let (doc, pointer) = match self.origins.find(pointer) {
                Some(origin) => (origin.doc, origin.pointer),
                None => (key.clone(), pointer.to_owned()),
            };
            let origin = (doc == self.root)
                .then(|| self.overlaid.find(&pointer))
                .flatten()
                .unwrap_or(super::origins::Origin { doc, pointer });
            if let Some(document) = self.document(&origin.doc) {
                return document.location(&origin.pointer);
            }
        }
        match self.document(key) {
            Some(document) => document.location(pointer),
            None => Location::pointer(key.as_str(), pointer),
        }
    }

    fn add(&mut self, key: DocKey, document: Document) {
        self.warnings
            .extend(document.duplicate_key_diagnostics(Severity::Warning));
        self.documents.insert(key, document);
    }

    /// The files a document references (other than itself), each with where the first
    /// reference to it is; blocked references are recorded as unavailable on the way.
    pub(super) fn referenced_files(&mut self, key: &DocKey) -> Vec<(FileTarget, Location)> {
        let Some(document) = self.document(key) else {
            return Vec::new();
        };
        if !document.may_refer_elsewhere {
            return Vec::new();
        }
        let mut files = Vec::new();
        let mut blocked_refs = Vec::new();
        // A reference that is only a fragment stays in its document.
        for (at, reference) in ref_strings(&document.value, |r| !r.starts_with('#')) {
            match refs::file_part(&self.root_dir, &document.path, reference) {
                Ok((Some(target), _)) if target.key != *key => {
                    files.push((target, document.location(&at)))
                }
                Ok(_) => {}
                Err(blocked) => blocked_refs.push((blocked, document.location(&at))),
            }
        }
        for (blocked, at) in blocked_refs {
            self.unavailable
                .entry(blocked.name())
                .or_insert_with(|| blocked.diagnostic(at));
        }
        files
    }

    pub(super) fn load_referenced(
        &mut self,
        target: &FileTarget,
        at: Location,
        queue: &mut VecDeque<DocKey>,
    ) {
        if self.document(&target.key).is_some() {
            return;
        }
        match read_document(&target.path) {
            Ok(document) => {
                self.add(target.key.clone(), document);
                queue.push_back(target.key.clone());
            }
            Err(diagnostics) => {
                let diagnostic = unavailable_file(target, diagnostics, at);
                self.unavailable
                    .insert(target.key.as_str().to_owned(), diagnostic);
            }
        }
    }
}

/// The diagnostic kept for a referenced file that could not be loaded. A problem with the file as
/// a whole (missing, a directory, too large) is placed at the reference; a problem inside it (a
/// syntax error) keeps its line in the file.
fn unavailable_file(target: &FileTarget, diagnostics: Diagnostics, at: Location) -> Diagnostic {
    let first = diagnostics.into_iter().next().unwrap_or_else(|| {
        Diagnostic::error(
            "file-unreadable",
            Location::file(&target.path),
            "cannot load the file",
        )
    });
    let shown = target.path.to_string_lossy().replace('\\', "/");
    let message = format!(
        "referenced file `{shown}` cannot be loaded: {}",
        first.message
    );
    let location = match first.location {
        Location::File { .. } | Location::None => at,
        inside @ Location::InFile { .. } => inside,
    };
    Diagnostic {
        message,
        location,
        ..first
    }
}

/// Every `$ref` member with a string value that `wanted` accepts, as (pointer of the `$ref`
/// member, reference), in document order. A pointer is built only for a reference returned: a
/// large spec has millions of values and few references to other files.
pub(super) fn ref_strings(value: &Value, wanted: impl Fn(&str) -> bool) -> Vec<(String, &str)> {
    /// How a value is reached from its parent.
    enum Step<'v> {
        Member(&'v str),
        Item(usize),
    }
    let pointer = |path: &[Step<'_>], last: &str| {
        let mut at = String::new();
        for step in path {
            at = match step {
                Step::Member(name) => pointer::push_token(&at, name),
                Step::Item(index) => pointer::push_token(&at, &index.to_string()),
            };
        }
        pointer::push_token(&at, last)
    };
    let mut found = Vec::new();
    let mut path: Vec<Step<'_>> = Vec::new();
    // (length of the path to the value, the step to it, the value): only objects and arrays.
    let mut stack: Vec<(usize, Option<Step<'_>>, &Value)> = vec![(0, None, value)];
    while let Some((depth, step, value)) = stack.pop() {
        path.truncate(depth.saturating_sub(1));
        path.extend(step);
        match value {
            Value::Object(members) => {
                for (name, member) in members.iter().rev() {
                    match member {
                        Value::String(reference) if name == "$ref" && wanted(reference) => {
                            found.push((pointer(&path, name), reference.as_str()));
                        }
                        Value::Object(_) | Value::Array(_) => {
                            stack.push((depth + 1, Some(Step::Member(name)), member));
                        }
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate().rev() {
                    if item.is_object() || item.is_array() {
                        stack.push((depth + 1, Some(Step::Item(index)), item));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::spec_loader::load_spec;
    use serde_json::json;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn codes(diagnostics: Diagnostics) -> Vec<&'static str> {
        diagnostics.into_iter().map(|d| d.code).collect()
    }

    const HEAD: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n";

    #[test]
    fn loads_every_reachable_file_once_and_records_the_unavailable() {
        let root = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A: {{$ref: 'a.yaml'}}\n    A2: {{$ref: './sub/../a.yaml#/x'}}\n    Gone: {{$ref: 'gone.yaml'}}\n    Web: {{$ref: 'http://x.io/s.yaml'}}\n    Up: {{$ref: '../../up.yaml'}}\n    Dir: {{$ref: 'sub'}}\n"
        );
        let dir = tree(&[
            ("spec/root.yaml", &root),
            ("spec/a.yaml", "x: {$ref: 'sub/b.yaml'}\n"),
            (
                "spec/sub/b.yaml",
                "y: {$ref: '../a.yaml'}\nz: {$ref: '../root.yaml#/info'}\n",
            ),
        ]);
        let spec_dir = dir.path().join("spec");
        let set = load_spec(&spec_dir.join("root.yaml"), &spec_dir).unwrap();
        assert_eq!(set.version(), SpecVersion::OpenApi31);
        assert_eq!(set.root_key().as_str(), "root.yaml");
        let keys: Vec<&str> = set
            .documents_by_key()
            .map(|(key, _)| key.as_str())
            .collect();
        assert_eq!(keys, ["a.yaml", "root.yaml", "sub/b.yaml"]);
        assert_eq!(set.documents().count(), 3);
        assert!(
            set.document(&DocKey::new("sub/b.yaml"))
                .unwrap()
                .path
                .ends_with("spec/sub/b.yaml")
        );
        let unavailable: Vec<(&str, &str)> =
            set.unavailable().map(|(name, d)| (name, d.code)).collect();
        assert_eq!(unavailable.len(), 4, "{unavailable:?}");
        assert!(unavailable.contains(&("gone.yaml", "file-not-found")));
        assert!(unavailable.contains(&("http://x.io/s.yaml", "remote-ref")));
        assert!(unavailable.contains(&("sub", "file-is-directory")));
        assert!(
            unavailable
                .iter()
                .any(|(name, code)| name.ends_with("up.yaml") && *code == "ref-outside-root")
        );
        // A missing file is reported where it is referenced.
        let (_, gone) = set
            .unavailable()
            .find(|(name, _)| *name == "gone.yaml")
            .unwrap();
        let Location::InFile {
            pointer, line_col, ..
        } = &gone.location
        else {
            panic!("{gone:?}")
        };
        assert_eq!(
            (pointer.as_str(), *line_col),
            ("/components/schemas/Gone/$ref", Some((8, 12)))
        );
        assert!(set.warnings().is_empty());
    }

    /// JSON files, read whole by serde_json, note the references to other files as they are
    /// read: each referenced file is loaded, and one that references only itself is not walked.
    #[test]
    fn json_documents_load_what_they_reference() {
        let root = r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
            "components": {"schemas": {"A": {"$ref": "a.json"}, "L": {"$ref": "#/components/schemas/A"}}}}"##;
        let dir = tree(&[
            ("spec/root.json", root),
            (
                "spec/a.json",
                r##"{"x": {"items": [{"$ref": "sub/b.json#/y"}]}}"##,
            ),
            ("spec/sub/b.json", r##"{"y": {"$ref": "#/z"}, "z": {}}"##),
        ]);
        let spec_dir = dir.path().join("spec");
        let set = load_spec(&spec_dir.join("root.json"), &spec_dir).unwrap();
        let keys: Vec<&str> = set
            .documents_by_key()
            .map(|(key, _)| key.as_str())
            .collect();
        assert_eq!(keys, ["a.json", "root.json", "sub/b.json"]);
        let refers = |key: &str| set.document(&DocKey::new(key)).unwrap().may_refer_elsewhere;
        assert!(refers("root.json") && refers("a.json"));
        assert!(!refers("sub/b.json"));
        assert_eq!(set.unavailable().count(), 0);
    }

    #[test]
    fn root_failures_fail_the_load() {
        let dir = tree(&[
            ("old.yaml", "swagger: '1.2'\n"),
            ("new.json", "{\"openapi\": \"4.0.0\"}"),
            ("other.yaml", "name: not a spec\n"),
            ("bad.yaml", "openapi: [\n"),
            ("sub/spec.yaml", HEAD),
        ]);
        let load = |name: &str| codes(load_spec(&dir.path().join(name), dir.path()).unwrap_err());
        assert_eq!(load("old.yaml"), ["unsupported-openapi-version"]);
        assert_eq!(load("new.json"), ["unsupported-openapi-version"]);
        assert_eq!(load("other.yaml"), ["not-openapi"]);
        assert_eq!(load("bad.yaml"), ["yaml-syntax"]);
        assert_eq!(load("missing.yaml"), ["file-not-found"]);
        assert_eq!(load("sub"), ["file-is-directory"]);
        let outside = load_spec(&dir.path().join("old.yaml"), &dir.path().join("sub")).unwrap_err();
        assert_eq!(codes(outside), ["spec-outside-root"]);
    }

    #[test]
    fn duplicate_keys_in_specs_are_warnings() {
        let dir = tree(&[(
            "s.yaml",
            &format!("{HEAD}paths: {{}}\npaths: {{/a: {{}}}}\n"),
        )]);
        let set = load_spec(&dir.path().join("s.yaml"), dir.path()).unwrap();
        assert_eq!(set.root().value["paths"], json!({"/a": {}}));
        let warnings: Vec<&Diagnostic> = set.warnings().into_iter().collect();
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            (warnings[0].code, warnings[0].severity),
            ("duplicate-key", Severity::Warning)
        );
    }

    #[test]
    fn openapi3_locate_uses_positions() {
        let dir = tree(&[("s.yaml", &format!("{HEAD}paths:\n  /p:\n    get: {{}}\n"))]);
        let set = load_spec(&dir.path().join("s.yaml"), dir.path()).unwrap();
        let Location::InFile { line_col, .. } =
            set.locate(set.root_key(), "/paths/~1p/get/responses")
        else {
            panic!("not in a file");
        };
        assert_eq!(line_col, Some((5, 5)));
        assert_eq!(
            set.locate(&DocKey::new("x.yaml"), "/a"),
            Location::pointer("x.yaml", "/a")
        );
        assert!(set.operation_problems("/paths/~1p/get").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_of_the_root_are_refused() {
        let dir = tree(&[
            ("secret.yaml", "s: 1\n"),
            ("api/s.yaml", &format!("{HEAD}x: {{$ref: 'link.yaml'}}\n")),
        ]);
        std::os::unix::fs::symlink(
            dir.path().join("secret.yaml"),
            dir.path().join("api/link.yaml"),
        )
        .unwrap();
        let api = dir.path().join("api");
        let set = load_spec(&api.join("s.yaml"), &api).unwrap();
        let unavailable: Vec<(&str, &str)> =
            set.unavailable().map(|(name, d)| (name, d.code)).collect();
        assert_eq!(unavailable.len(), 1);
        assert_eq!(unavailable[0].1, "ref-outside-root");
        assert_eq!(set.documents().count(), 1);
    }
}
