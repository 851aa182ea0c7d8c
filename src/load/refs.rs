//! Where a `$ref` points: which file (as a [`DocKey`] and a displayed path) and which pointer, or
//! why it may not be followed (remote, outside the root directory, malformed).
//!
//! Owns the security rules for references: nothing remote, nothing outside the root directory
//! (after folding `..` and following symbolic links). Computes targets only: must not read files
//! or look into documents.

use std::path::{Path, PathBuf};

use super::paths::{Confinement, DocKey, RootDir, referenced_path};
use super::pointer::{self, RefParts};
use crate::diag::{Diagnostic, Location};

/// The file a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTarget {
    /// Its key.
    pub key: DocKey,
    /// Its path as displayed (and as read).
    pub path: PathBuf,
}

/// Why a reference's file may not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// A URL or other reference with a scheme: never fetched.
    Remote(String),
    /// A file outside the root directory once `..` is folded.
    Outside(PathBuf),
    /// A file inside the root directory that a symbolic link takes outside it.
    LinkOutside(PathBuf),
    /// A file part whose percent-escapes do not decode to UTF-8.
    BadEscape(String),
}

impl Blocked {
    /// What the blocked target is called in the list of unavailable files.
    pub fn name(&self) -> String {
        match self {
            Blocked::Remote(reference) | Blocked::BadEscape(reference) => reference.clone(),
            Blocked::Outside(path) | Blocked::LinkOutside(path) => shown(path),
        }
    }

    /// The diagnostic, placed where the reference is.
    pub fn diagnostic(&self, at: Location) -> Diagnostic {
        match self {
            Blocked::Remote(reference) => Diagnostic::error(
                "remote-ref",
                at,
                format!("`{reference}` is a remote reference; mcpgen never fetches anything over the network"),
            )
            .with_help("download the file next to the spec and refer to it by a relative path"),
            Blocked::Outside(path) => Diagnostic::error(
                "ref-outside-root",
                at,
                format!("reference leaves the root directory: `{}`", shown(path)),
            )
            .with_help("keep referenced files inside the root directory, or pass a root directory that contains them"),
            Blocked::LinkOutside(path) => Diagnostic::error(
                "ref-outside-root",
                at,
                format!("`{}` is a symbolic link to a file outside the root directory", shown(path)),
            )
            .with_help("copy the file into the root directory instead of linking to it"),
            Blocked::BadEscape(reference) => Diagnostic::error(
                "bad-ref",
                at,
                format!("`{reference}` has a malformed percent-escape in its file part"),
            )
            .with_help("escape characters as `%XX` with two hex digits, in UTF-8"),
        }
    }
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// A reference taken apart: the file it names (`None` for the referencing document itself) and
/// its raw fragment.
pub fn file_part<'r>(
    root: &RootDir,
    from_path: &Path,
    reference: &'r str,
) -> Result<(Option<FileTarget>, &'r str), Blocked> {
    match pointer::split_ref(reference) {
        RefParts::Remote(remote) => Err(Blocked::Remote(remote.to_owned())),
        RefParts::Local { file: "", fragment } => Ok((None, fragment)),
        RefParts::Local { file, fragment } => {
            let decoded = pointer::percent_decode(file)
                .ok_or_else(|| Blocked::BadEscape(reference.to_owned()))?;
            let path = referenced_path(from_path, &decoded);
            let key = root
                .key_for(&path)
                .map_err(|_| Blocked::Outside(path.clone()))?;
            root.check_links(&path).map_err(|e| match e {
                Confinement::Outside => Blocked::Outside(path.clone()),
                Confinement::LinkOutside => Blocked::LinkOutside(path.clone()),
            })?;
            Ok((Some(FileTarget { key, path }), fragment))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_references() {
        let root = RootDir::new(Path::new("specs/api"));
        let from = Path::new("specs/api/v1/openapi.yaml");
        let (target, fragment) = file_part(&root, from, "../common/E.yaml#/E").unwrap();
        assert_eq!(
            target,
            Some(FileTarget {
                key: DocKey::new("common/E.yaml"),
                path: PathBuf::from("specs/api/common/E.yaml")
            })
        );
        assert_eq!(fragment, "/E");
        assert_eq!(file_part(&root, from, "#/a").unwrap(), (None, "/a"));
        let (target, _) = file_part(&root, from, "My%20Pet.yaml").unwrap();
        assert_eq!(target.unwrap().key, DocKey::new("v1/My Pet.yaml"));
        assert_eq!(
            file_part(&root, from, "../../../etc/passwd").unwrap_err(),
            Blocked::Outside(PathBuf::from("etc/passwd"))
        );
        assert_eq!(
            file_part(&root, from, "/etc/passwd#/x").unwrap_err(),
            Blocked::Outside(PathBuf::from("/etc/passwd"))
        );
        assert_eq!(
            file_part(&root, from, "https://example.com/a.yaml#/b").unwrap_err(),
            Blocked::Remote("https://example.com/a.yaml#/b".into())
        );
        assert_eq!(
            file_part(&root, from, "a%ZZ.yaml").unwrap_err(),
            Blocked::BadEscape("a%ZZ.yaml".into())
        );
    }

    #[test]
    fn diagnostics_carry_codes_and_help() {
        let at = Location::pointer("a.yaml", "/x/$ref");
        let remote = Blocked::Remote("http://x/y".into()).diagnostic(at.clone());
        assert_eq!(remote.code, "remote-ref");
        assert!(remote.help.is_some());
        let outside = Blocked::Outside(PathBuf::from("/etc/passwd")).diagnostic(at);
        assert_eq!(outside.code, "ref-outside-root");
        assert_eq!(
            outside.message,
            "reference leaves the root directory: `/etc/passwd`"
        );
    }
}
