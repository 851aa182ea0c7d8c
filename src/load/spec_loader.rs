//! Loading a spec, in order: the root file, its overlays, every file its `$ref`s reach, then the
//! Swagger 2.0 upgrade.
//!
//! Owns [`load_spec`]: reading the root, applying overlays to it before anything reads it,
//! checking its version, filling a [`SpecSet`] with the files it references, and upgrading a
//! Swagger 2.0 root (`swagger2`, which works on the filled set).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use super::document::{Document, read_document};
use super::origins::Origins;
use super::overlay::Overlay;
use super::paths::{DocKey, RootDir, display_form};
use super::spec::SpecSet;
use super::swagger2;
use super::version::{self, SpecVersion};
use crate::diag::{Diagnostic, Diagnostics, Location, Severity};

/// Loads a spec: the root file, then every file reachable through relative `$ref`s from any
/// loaded file, each once. Files must stay inside `root_dir`.
///
/// Fails only when the root file cannot be read or parsed, is outside `root_dir`, or is not an
/// OpenAPI 3.0.x / 3.1.x or Swagger 2.0 document. Referenced files that are missing, unreadable,
/// unparsable, remote or outside the root directory are recorded as unavailable instead.
pub fn load_spec(path: &Path, root_dir: &Path) -> Result<SpecSet, Diagnostics> {
    // The root file is the user's own choice: read it first, so that a directory or a missing
    // file is reported as such rather than as being outside the root directory.
    let document = read_document(path)?;
    load_overlaid_spec(path, document, root_dir, Vec::new()).map(|(set, _)| set)
}

/// Loads a spec whose root file (at `path`) was already read, applying `overlays` (each with
/// its file's path) to the root document, in order, before anything reads it. Returns what the
/// overlays reported that did not stop them (targets that select nothing).
pub(super) fn load_overlaid_spec(
    path: &Path,
    mut document: Document,
    root_dir: &Path,
    overlays: Vec<(PathBuf, Overlay)>,
) -> Result<(SpecSet, Diagnostics), Diagnostics> {
    let root_dir = RootDir::new(root_dir);
    let root = root_dir.key_for(path).map_err(|_| {
        Diagnostics::from(
            Diagnostic::error(
                "spec-outside-root",
                Location::file(display_form(path)),
                "the spec file is not inside the root directory",
            )
            .with_help("pass a root directory that contains the spec file"),
        )
    })?;
    let mut overlaid = Origins::default();
    let mut reported = Diagnostics::new();
    let mut overlay_documents = Vec::new();
    for (overlay_path, overlay) in overlays {
        let key = root_dir.key_for(&overlay_path).map_err(|_| {
            Diagnostics::from(
                Diagnostic::error(
                    "spec-outside-root",
                    Location::file(display_form(&overlay_path)),
                    "the overlay file is not inside the root directory",
                )
                .with_help("keep overlays beside the annotation file or the spec"),
            )
        })?;
        reported.extend(overlay.apply(&key, &root, &mut document.value, &mut overlaid));
        overlay_documents.push((key, overlay.document));
    }
    if reported.has_errors() {
        return Err(reported);
    }
    if !overlay_documents.is_empty() {
        // An overlay may have written a `$ref` to another file.
        document.may_refer_elsewhere = true;
    }
    let version = version::detect(&document.value, |pointer| {
        locate_overlaid(&overlaid, &overlay_documents, pointer)
            .unwrap_or_else(|| document.location(pointer))
    })
    .map_err(|diagnostic| Diagnostics::from(*diagnostic))?;
    let warnings = document.duplicate_key_diagnostics(Severity::Warning);
    let mut set = SpecSet {
        root: root.clone(),
        root_dir,
        version,
        root_document: document,
        documents: BTreeMap::new(),
        unavailable: BTreeMap::new(),
        origins: Origins::default(),
        overlaid,
        operation_problems: BTreeMap::new(),
        warnings,
    };
    for (key, overlay) in overlay_documents {
        set.documents.insert(key, overlay);
    }
    let mut queue = VecDeque::from([root]);
    let mut seen = BTreeSet::new();
    while let Some(key) = queue.pop_front() {
        for (target, at) in set.referenced_files(&key) {
            if seen.insert(target.key.clone()) {
                set.load_referenced(&target, at, &mut queue);
            }
        }
    }
    if version == SpecVersion::Swagger2 {
        swagger2::upgrade(&mut set);
    }
    set.warnings.extend(reported.clone());
    Ok((set, reported))
}

/// Where an overlay wrote the value at `pointer` of the root document, if one did.
fn locate_overlaid(
    overlaid: &Origins,
    overlays: &[(DocKey, Document)],
    pointer: &str,
) -> Option<Location> {
    let origin = overlaid.find(pointer)?;
    let (_, document) = overlays.iter().find(|(key, _)| *key == origin.doc)?;
    Some(document.location(&origin.pointer))
}
