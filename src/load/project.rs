//! A project: the annotation file and the specs it names, loaded together.
//!
//! Spec paths are relative to the annotation file. `$ref`s may reach any file under the
//! project's root directory: the deepest directory holding both the annotation file and the
//! spec (usually the annotation file's own directory), never further and never the network.

use super::document::{Document, parse_document, read_document};
use super::overlay::{Overlay, is_overlay};
use super::spec::SpecSet;
use super::spec_hint::spec_paths_hint;
use super::spec_loader::load_overlaid_spec;
use crate::annotations::AnnotationFile;
use crate::diag::{Diagnostic, Diagnostics, Location, Severity};
use std::path::{Component, Path, PathBuf};

/// The annotation file and its specs.
#[derive(Debug)]
pub struct Project {
    /// The annotation file's path, as the user gave it.
    pub annotation_path: PathBuf,
    /// The annotation file, parsed with positions.
    pub annotation: Document,
    /// The annotation file's contents.
    pub file: AnnotationFile,
    /// The specs, with their paths as written in the annotation file.
    pub specs: Vec<(String, SpecSet)>,
    /// Root directory of each spec (for provenance), in the same order.
    roots: Vec<PathBuf>,
    /// Problems found while loading that do not stop lowering (repeated keys in the annotation
    /// file, where the last one was used; overlay targets that select nothing), so they are
    /// reported with everything else.
    pub load_errors: Diagnostics,
}

impl Project {
    /// The annotation file's name (for headers and docs).
    pub fn annotation_file_name(&self) -> String {
        self.annotation_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mcpgen.yaml".to_owned())
    }

    /// Paths of every loaded spec document, relative to the annotation file's directory.
    pub fn spec_documents(&self) -> Vec<(String, &Document)> {
        let base = annotation_dir(&self.annotation_path);
        self.specs
            .iter()
            .zip(&self.roots)
            .flat_map(|((_, set), root)| {
                let base = base.clone();
                set.documents_by_key()
                    .map(move |(key, doc)| (relative_path(&root.join(key.as_str()), &base), doc))
            })
            .collect()
    }
}

/// The directory holding an annotation file.
fn annotation_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads an annotation file and every spec it names; reports every problem found.
///
/// The specs named at the top of the file ([`spec_paths_hint`]) are loaded on a thread of their
/// own while the whole file is parsed; what was loaded is used only if the parsed file names the
/// same specs, and they are loaded again otherwise.
pub fn load_project(path: &Path) -> Result<Project, Diagnostics> {
    let hint = spec_paths_hint(path);
    std::thread::scope(|scope| {
        let early = hint.as_ref().and_then(|paths| {
            std::thread::Builder::new()
                .spawn_scoped(scope, || load_specs(path, paths))
                .ok()
        });
        let annotation = read_document(path)?;
        let load_errors = annotation.duplicate_key_diagnostics(Severity::Error);
        let file = deserialize(path, &annotation).map_err(|mut e| {
            e.extend(load_errors.clone());
            e
        })?;
        let named = file.spec.paths();
        let loaded = match early {
            Some(thread) if hint.as_deref().is_some_and(|hint| hint == named) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            _ => load_specs(path, &named),
        };
        let (specs, roots, reported) = loaded.map_err(|mut e| {
            e.extend(load_errors.clone());
            e
        })?;
        let mut load_errors = load_errors;
        load_errors.extend(reported);
        Ok(Project {
            load_errors,
            annotation_path: path.to_path_buf(),
            annotation,
            file,
            specs,
            roots,
        })
    })
}

/// An annotation file applied to another version of its (single) spec: `spec` replaces the file
/// the annotation file names, under the same name (so contracts compare like for like).
pub fn load_project_with_spec(path: &Path, spec: &Path) -> Result<Project, Diagnostics> {
    let annotation = read_document(path)?;
    let load_errors = annotation.duplicate_key_diagnostics(Severity::Error);
    let file = deserialize(path, &annotation)?;
    let names = file.spec.paths();
    let several = || {
        Diagnostics::from(
            Diagnostic::error(
                "several-specs",
                Location::pointer(path, "/spec"),
                "a spec version can replace the spec only when the annotation file names one",
            )
            .with_help("compare two annotation files or two revisions instead"),
        )
    };
    let Some((name, rest)) = names.split_first() else {
        return Err(several());
    };
    // The overlays listed after the spec apply to the version that replaces it too.
    let base = annotation_dir(path);
    let mut overlays = Vec::new();
    for other in rest {
        let file = base.join(other);
        let document = read_document(&file)?;
        if !is_overlay(&document.value) {
            return Err(several());
        }
        overlays.push((file, Overlay::parse(document)?));
    }
    let root = spec
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let root = overlays
        .iter()
        .fold(root, |root, (overlay, _)| common_root(&root, overlay));
    let (set, reported) = load_overlaid_spec(spec, read_document(spec)?, &root, overlays)?;
    let mut load_errors = load_errors;
    load_errors.extend(reported);
    Ok(Project {
        load_errors,
        annotation_path: path.to_path_buf(),
        annotation,
        file: file.clone(),
        specs: vec![((*name).to_owned(), set)],
        roots: vec![root],
    })
}

/// A project from annotation text and specs already loaded (used by `init` to try out the file
/// it is about to write).
pub fn project_from_text(
    path: &Path,
    text: &str,
    specs: Vec<(String, SpecSet)>,
) -> Result<Project, Diagnostics> {
    let annotation = parse_document(path, text.as_bytes())?;
    let load_errors = annotation.duplicate_key_diagnostics(Severity::Error);
    let file = deserialize(path, &annotation)?;
    let base = annotation_dir(path);
    let roots = specs
        .iter()
        .map(|(spec, _)| common_root(&base, &base.join(spec)))
        .collect();
    Ok(Project {
        annotation_path: path.to_path_buf(),
        annotation,
        file,
        specs,
        roots,
        load_errors,
    })
}

/// Turns the parsed YAML into the annotation model, locating the first mismatch.
fn deserialize(path: &Path, annotation: &Document) -> Result<AnnotationFile, Diagnostics> {
    if !annotation.value.is_object() {
        return Err(Diagnostic::error(
            "invalid-annotations",
            Location::file(path),
            "the annotation file must be a mapping",
        )
        .with_help("start from `mcpgen init <spec>`")
        .into());
    }
    serde_path_to_error::deserialize::<_, AnnotationFile>(&annotation.value).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => pointer = super::push_token(&pointer, key),
                serde_path_to_error::Segment::Seq { index } => pointer = super::push_token(&pointer, &index.to_string()),
                _ => {}
            }
        }
        let message = e.inner().to_string();
        let location = match annotation.positions.nearest(&pointer) {
            Some((line, col)) => Location::line(path, pointer.clone(), line, col),
            None => Location::pointer(path, pointer.clone()),
        };
        Diagnostics::from(
            Diagnostic::error("invalid-annotations", location, message)
                .with_help("see the \"Annotation file\" section of the README, or `mcpgen schema` for the JSON Schema"),
        )
    })
}

/// Specs as named in the annotation file, the root directory of each, and what their overlays
/// reported without stopping (targets that select nothing).
type LoadedSpecs = (Vec<(String, SpecSet)>, Vec<PathBuf>, Diagnostics);

/// A spec named in the annotation file: its name there, its path, its root file as read, and the
/// overlays listed after it (each with its path).
type SpecEntry = (String, PathBuf, Document, Vec<(PathBuf, Overlay)>);

/// Loads the specs an annotation file (at `path`) names, with their root directories. An entry
/// that is an Overlay applies to the spec listed before it, after the overlays before it.
fn load_specs<S: AsRef<str>>(path: &Path, paths: &[S]) -> Result<LoadedSpecs, Diagnostics> {
    let base = annotation_dir(path);
    let mut entries: Vec<SpecEntry> = Vec::new();
    let mut diagnostics = Diagnostics::new();
    for (i, spec) in paths.iter().map(AsRef::as_ref).enumerate() {
        let pointer = if paths.len() == 1 {
            "/spec".to_owned()
        } else {
            format!("/spec/{i}")
        };
        if Path::new(spec).is_absolute() || spec.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-spec-path",
                    Location::pointer(path, pointer),
                    format!("`{spec}` must be a path relative to the annotation file"),
                )
                .with_help("absolute paths would make the generated crate depend on this machine"),
            );
            continue;
        }
        let file = base.join(spec);
        let document = match read_document(&file) {
            Ok(document) => document,
            Err(errors) => {
                diagnostics.extend(errors);
                continue;
            }
        };
        if !is_overlay(&document.value) {
            entries.push(((*spec).to_owned(), file, document, Vec::new()));
            continue;
        }
        match entries.last_mut() {
            Some((_, _, _, overlays)) => match Overlay::parse(document) {
                Ok(overlay) => overlays.push((file, overlay)),
                Err(errors) => diagnostics.extend(errors),
            },
            None => diagnostics.push(
                Diagnostic::error(
                    "overlay-without-spec",
                    Location::pointer(path, pointer),
                    format!("`{spec}` is an overlay, but no spec is listed before it"),
                )
                .with_help("list the spec first, then the overlays to apply to it, in order"),
            ),
        }
    }
    let mut specs = Vec::new();
    let mut roots = Vec::new();
    let mut reported = Diagnostics::new();
    for (name, file, document, overlays) in entries {
        let root = overlays
            .iter()
            .fold(common_root(&base, &file), |root, (overlay, _)| {
                common_root(&root, overlay)
            });
        match load_overlaid_spec(&file, document, &root, overlays) {
            Ok((set, warnings)) => {
                specs.push((name, set));
                roots.push(root);
                reported.extend(warnings);
            }
            Err(errors) => diagnostics.extend(errors),
        }
    }
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok((specs, roots, reported))
    }
}

/// The deepest directory that holds both `dir` and `file` (compared after folding `..`).
pub fn common_root(dir: &Path, file: &Path) -> PathBuf {
    let absolute = |p: &Path| {
        super::paths::normalise(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let (dir_abs, file_abs) = (absolute(dir), absolute(file));
    let file_dir = file_abs.parent().unwrap_or(&file_abs);
    let common: PathBuf = dir_abs
        .components()
        .zip(file_dir.components())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    // Keep the caller's relative form when the root is `dir` itself, so displayed paths stay short.
    if common == dir_abs {
        dir.to_path_buf()
    } else {
        common
    }
}

/// `path` relative to `base`, `/`-separated, with `..` where needed.
pub fn relative_path(path: &Path, base: &Path) -> String {
    let absolute = |p: &Path| {
        super::paths::normalise(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let (path, base) = (absolute(path), absolute(base));
    let path_parts: Vec<Component<'_>> = path.components().collect();
    let base_parts: Vec<Component<'_>> = base.components().collect();
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base_parts.len() - common];
    parts.extend(
        path_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_and_roots() {
        assert_eq!(
            relative_path(Path::new("/a/b/spec.yaml"), Path::new("/a/b")),
            "spec.yaml"
        );
        assert_eq!(
            relative_path(Path::new("/a/specs/x.yaml"), Path::new("/a/servers/one")),
            "../../specs/x.yaml"
        );
        assert_eq!(
            common_root(Path::new("/a/b"), Path::new("/a/b/spec/x.yaml")),
            PathBuf::from("/a/b")
        );
        assert_eq!(
            common_root(Path::new("/a/servers"), Path::new("/a/specs/x.yaml")),
            PathBuf::from("/a")
        );
    }

    #[test]
    fn annotation_errors_point_at_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mcpgen.yaml");
        let text = "version: 1\nspec: x.yaml\nserver:\n  name: a\ntools:\n  t:\n    operation: x\n    colour: red\n";
        std::fs::write(&path, text).unwrap();
        let err = load_project(&path).unwrap_err();
        let rendered = err.render();
        assert!(rendered.contains("unknown field `colour`"), "{rendered}");
        assert!(rendered.contains("mcpgen.yaml:"), "{rendered}");
    }

    /// The specs loaded early are those the top of the file names; the file as parsed decides.
    /// Here `spec` is repeated (the last one counts): the first names a file that does not
    /// exist, and the one loaded is the second.
    #[test]
    fn the_spec_the_parsed_file_names_is_loaded_whatever_the_top_says() {
        let dir = tempfile::tempdir().unwrap();
        let spec = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n";
        std::fs::write(dir.path().join("real.yaml"), spec).unwrap();
        let path = dir.path().join("mcpgen.yaml");
        let text = "version: 1\nspec: missing.yaml\nspec: real.yaml\nserver:\n  name: a\n";
        std::fs::write(&path, text).unwrap();
        let project = load_project(&path).unwrap();
        let loaded: Vec<&str> = project.specs.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(loaded, ["real.yaml"]);
        let repeated: Vec<_> = project
            .load_errors
            .sorted()
            .into_iter()
            .map(|d| d.code)
            .collect();
        assert_eq!(
            repeated,
            ["duplicate-key"],
            "the repeated `spec` is still an error"
        );
        assert!(!project.load_errors.render().contains("missing.yaml"));

        // Named plainly at the top, the spec loaded early is the one used; a spec that does
        // not exist is reported as it would be otherwise.
        std::fs::write(&path, "version: 1\nspec: real.yaml\nserver:\n  name: a\n").unwrap();
        let project = load_project(&path).unwrap();
        assert_eq!(project.specs[0].0, "real.yaml");
        std::fs::write(&path, "version: 1\nspec: gone.yaml\nserver:\n  name: a\n").unwrap();
        let rendered = load_project(&path).unwrap_err().render();
        assert!(rendered.contains("gone.yaml"), "{rendered}");
    }
}
