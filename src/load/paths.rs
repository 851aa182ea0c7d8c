//! Document keys and file paths: lexical normalisation, display form, and confinement of
//! referenced files to the root directory.
//!
//! Owns [`DocKey`] and the rules that turn a `$ref`'s file part into a path and a key. Only
//! computes paths (and canonicalises them to see through symbolic links): must not read files.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// The key of a loaded document: its path relative to the root directory, normalised (no `.` or
/// `..`), with `/` separators, e.g. `spec/swagger.yaml` or `common/Error.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocKey(String);

impl DocKey {
    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Makes a key from an already normalised, `/`-separated relative path.
    pub fn new(normalised: impl Into<String>) -> Self {
        DocKey(normalised.into())
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Removes `.` components and folds `name/..` pairs without touching the disk. A `..` that has
/// nothing to fold stays in a relative path and is dropped at the root of an absolute one.
pub fn normalise(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(Component::ParentDir | Component::CurDir) | None => out.push(component),
            },
            other => out.push(other),
        }
    }
    out.iter().map(|c| c.as_os_str()).collect()
}

/// A path as shown to the user: normalised, with `/` separators.
pub fn display_form(path: &Path) -> PathBuf {
    let normalised = normalise(path);
    let text = normalised.to_string_lossy().replace('\\', "/");
    if text.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(text)
    }
}

/// The path of a file named by a `$ref` (already percent-decoded), from the displayed path of
/// the document that holds the reference.
pub fn referenced_path(from: &Path, file: &str) -> PathBuf {
    let base = from.parent().unwrap_or_else(|| Path::new(""));
    display_form(&base.join(file))
}

/// A relative reference from document `from` to document `to` (both keys under the same root
/// directory), percent-encoding what a `$ref` file part cannot hold literally; `""` when they are
/// the same document.
pub fn relative_ref(from: &DocKey, to: &DocKey) -> String {
    if from == to {
        return String::new();
    }
    let from_dirs: Vec<&str> = from.0.split('/').collect();
    let from_dirs = from_dirs.split_last().map_or(&[][..], |(_, dirs)| dirs);
    let to_parts: Vec<&str> = to.0.split('/').collect();
    let common = from_dirs
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let ups = from_dirs.len().saturating_sub(common);
    let mut parts: Vec<String> = vec!["..".to_owned(); ups];
    parts.extend(
        to_parts
            .iter()
            .skip(common)
            .map(|part| encode_ref_part(part)),
    );
    parts.join("/")
}

fn encode_ref_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            ' ' => out.push_str("%20"),
            _ => out.push(c),
        }
    }
    out
}

/// The directory that every loaded file must stay inside.
#[derive(Debug, Clone)]
pub struct RootDir {
    /// Absolute, lexically normalised.
    absolute: PathBuf,
    /// With symbolic links resolved, when the directory exists.
    canonical: Option<PathBuf>,
}

/// Why a path cannot be loaded under the root directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confinement {
    /// The path, once `..` is folded, is not under the root directory.
    Outside,
    /// The path is under the root directory but a symbolic link takes it outside.
    LinkOutside,
}

impl RootDir {
    /// The root directory; relative paths are taken from the current directory.
    pub fn new(root_dir: &Path) -> Self {
        let absolute = normalise(&absolute(root_dir));
        let canonical = std::fs::canonicalize(root_dir).ok();
        RootDir {
            absolute,
            canonical,
        }
    }

    /// The key of a file, if it is lexically inside the root directory.
    pub fn key_for(&self, path: &Path) -> Result<DocKey, Confinement> {
        let full = normalise(&absolute(path));
        let relative = full
            .strip_prefix(&self.absolute)
            .map_err(|_| Confinement::Outside)?;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.is_empty() {
            return Err(Confinement::Outside);
        }
        Ok(DocKey(parts.join("/")))
    }

    /// Checks that an existing file does not leave the root directory through a symbolic link.
    /// A file that cannot be canonicalised (e.g. missing) passes: reading it will fail anyway.
    pub fn check_links(&self, path: &Path) -> Result<(), Confinement> {
        match (&self.canonical, std::fs::canonicalize(path)) {
            (Some(root), Ok(file)) if !file.starts_with(root) => Err(Confinement::LinkOutside),
            _ => Ok(()),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_lexically() {
        assert_eq!(
            normalise(Path::new("a/./b/../c.yaml")),
            PathBuf::from("a/c.yaml")
        );
        assert_eq!(
            normalise(Path::new("../a/../../b")),
            PathBuf::from("../../b")
        );
        assert_eq!(
            normalise(Path::new("/../etc/passwd")),
            PathBuf::from("/etc/passwd")
        );
        assert_eq!(display_form(Path::new("./a/..")), PathBuf::from("."));
    }

    #[test]
    fn referenced_paths_are_relative_to_the_referencing_file() {
        let from = Path::new("specs/petstore/spec/swagger.yaml");
        assert_eq!(
            referenced_path(from, "../common/Error.yaml"),
            PathBuf::from("specs/petstore/common/Error.yaml")
        );
        assert_eq!(
            referenced_path(from, "./Pet.yaml"),
            PathBuf::from("specs/petstore/spec/Pet.yaml")
        );
        assert_eq!(
            referenced_path(Path::new("swagger.yaml"), "Pet.yaml"),
            PathBuf::from("Pet.yaml")
        );
        assert_eq!(
            referenced_path(from, "/etc/passwd"),
            PathBuf::from("/etc/passwd")
        );
    }

    #[test]
    fn relative_refs_between_keys() {
        let root = DocKey::new("spec/swagger.yaml");
        assert_eq!(
            relative_ref(&root, &DocKey::new("common/Error.yaml")),
            "../common/Error.yaml"
        );
        assert_eq!(
            relative_ref(&root, &DocKey::new("spec/Pet.yaml")),
            "Pet.yaml"
        );
        assert_eq!(relative_ref(&root, &root), "");
        assert_eq!(
            relative_ref(&DocKey::new("a.yaml"), &DocKey::new("x/y/My Pet#1.yaml")),
            "x/y/My%20Pet%231.yaml"
        );
        assert_eq!(
            relative_ref(&DocKey::new("a/b/c.yaml"), &DocKey::new("a/d.yaml")),
            "../d.yaml"
        );
    }

    #[test]
    fn keys_are_relative_to_the_root_and_confined() {
        let root = RootDir::new(Path::new("specs/petstore"));
        assert_eq!(
            root.key_for(Path::new("specs/petstore/spec/../common/E.yaml"))
                .unwrap()
                .as_str(),
            "common/E.yaml"
        );
        assert_eq!(
            root.key_for(Path::new("specs/petstore/../../etc/passwd")),
            Err(Confinement::Outside)
        );
        assert_eq!(
            root.key_for(Path::new("/etc/passwd")),
            Err(Confinement::Outside)
        );
        assert_eq!(
            root.key_for(Path::new("specs/petstore")),
            Err(Confinement::Outside)
        );
        assert_eq!(
            root.key_for(Path::new("specs/petstorex/a.yaml")),
            Err(Confinement::Outside)
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            root.key_for(&cwd.join("specs/petstore/a.yaml"))
                .unwrap()
                .as_str(),
            "a.yaml"
        );
    }
}
