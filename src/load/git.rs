//! Inputs at a git revision (`REV:PATH`), for comparing what a change does to the contract.
//!
//! The revision's whole tree is exported (`git archive`, read-only) into a temporary directory,
//! so an annotation file at that revision finds its specs and their `$ref`s as they were then.

use crate::diag::{Diagnostic, Diagnostics, Location};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A revision's tree, exported; removed when dropped.
#[derive(Debug)]
pub struct Revision {
    dir: tempfile::TempDir,
    prefix: PathBuf,
}

impl Revision {
    /// Where `path` (relative to the current directory, as the user wrote it) is in the export.
    pub fn path(&self, path: &Path) -> PathBuf {
        self.dir.path().join(&self.prefix).join(path)
    }
}

fn failure(message: String) -> Diagnostics {
    Diagnostic::error("git-revision", Location::None, message)
        .with_help("run inside a git repository and name an existing revision, e.g. HEAD~1:specs/x/mcpgen.yaml")
        .into()
}

fn git(args: &[&str]) -> Result<String, Diagnostics> {
    let output = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| failure(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        return Err(failure(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Exports revision `rev` of the repository holding the current directory.
pub fn export_revision(rev: &str) -> Result<Revision, Diagnostics> {
    if rev.starts_with('-') {
        return Err(failure(format!("`{rev}` is not a revision")));
    }
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let prefix = git(&["rev-parse", "--show-prefix"])?;
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{tree}}"),
    ])?;
    let dir = tempfile::tempdir()
        .map_err(|e| failure(format!("cannot create a temporary directory: {e}")))?;
    let mut archive = Command::new("git")
        .args(["-C", &top, "archive", "--format=tar", rev])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failure(format!("cannot run git archive: {e}")))?;
    let stdout = archive
        .stdout
        .take()
        .ok_or_else(|| failure("git archive gave no output".to_owned()))?;
    let unpacked = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir.path())
        .stdin(stdout)
        .status()
        .map_err(|e| failure(format!("cannot run tar: {e}")))?;
    let archived = archive
        .wait()
        .map_err(|e| failure(format!("git archive failed: {e}")))?;
    if !unpacked.success() || !archived.success() {
        return Err(failure(format!("could not export revision `{rev}`")));
    }
    Ok(Revision {
        dir,
        prefix: PathBuf::from(prefix),
    })
}
