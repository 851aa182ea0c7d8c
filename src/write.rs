//! Writing: the only stage that writes to disk.
//!
//! A new output directory is written whole into a temporary sibling and renamed into place,
//! so a failure leaves nothing behind. An existing one (which must be mcpgen's, i.e. hold
//! `.mcpgen/manifest.json`) is updated file by file: changed files are staged next to their
//! targets and renamed only once every one of them was written; unchanged files are not
//! touched (no mtime churn); files the previous manifest listed and the new one does not are
//! removed. Files mcpgen did not write (e.g. `target/`) are never touched. Files are created
//! on several threads: creating one mostly waits on the file system.
//!
//! Files of the vendored runtime are dated 2000-01-01: their package version names their
//! content ([`crate::emit::vendored_runtime_version`]), so Cargo may reuse a runtime it already
//! compiled in the same target directory for a new crate instead of seeing new files and
//! compiling the same code again.

use crate::emit::{FileBytes, Files, MANIFEST_PATH, VENDORED_RUNTIME_DIR};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What a write did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<String>,
    /// Files left as they were.
    pub unchanged: usize,
    /// Stale files removed.
    pub removed: Vec<String>,
}

/// Why writing failed.
#[derive(Debug)]
pub enum WriteError {
    /// The directory exists, is not empty, and was not written by mcpgen.
    NotGenerated(PathBuf),
    /// A file could not be read, written or renamed.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NotGenerated(dir) => write!(
                f,
                "{} exists and was not written by mcpgen (it has no {MANIFEST_PATH})",
                dir.display()
            ),
            WriteError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for WriteError {}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The modification time of vendored runtime files: 2000-01-01T00:00:00Z.
const VENDORED_MTIME_SECS: u64 = 946_684_800;

/// Writes `bytes` to `file` (the target of generated `path`), dating vendored runtime files.
fn write_bytes(path: &str, file: &Path, bytes: &FileBytes) -> Result<(), WriteError> {
    let mut out = fs::File::create(file).map_err(io_error(file))?;
    bytes.write_to(&mut out).map_err(io_error(file))?;
    if path.starts_with(VENDORED_RUNTIME_DIR) {
        let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(VENDORED_MTIME_SECS);
        out.set_modified(date).map_err(io_error(file))?;
    }
    Ok(())
}

/// Whether a generated path is a plain relative path (no `..`, not absolute).
fn is_safe_relative(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Writes `files` into `out_dir`.
pub fn write(out_dir: &Path, files: &Files) -> Result<WriteReport, WriteError> {
    if let Some(bad) = files.keys().find(|p| !is_safe_relative(p)) {
        // Paths come from mcpgen's emitters; an unsafe one is a bug, never written.
        panic!("bug in mcpgen: refusing to write unsafe path {bad:?}");
    }
    match fs::read_dir(out_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_new(out_dir, files),
        Err(e) => Err(WriteError::Io {
            path: out_dir.to_owned(),
            source: e,
        }),
        Ok(mut entries) => {
            let manifest = out_dir.join(MANIFEST_PATH);
            if !manifest.is_file() && entries.next().is_some() {
                return Err(WriteError::NotGenerated(out_dir.to_owned()));
            }
            update(out_dir, files)
        }
    }
}

/// How the output directory differs from what a build would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The build would create this file.
    Missing(String),
    /// The file's content would change: (path, current text, new text).
    Changed(String, String, String),
    /// The build would remove this file (the previous build wrote it, this one would not).
    Stale(String),
}

/// Compares the output directory with the files a build would write; reads, never writes.
pub fn compare(out_dir: &Path, files: &Files) -> Vec<Difference> {
    let mut differences = Vec::new();
    for (path, bytes) in files {
        match fs::read(out_dir.join(path)) {
            Err(_) => differences.push(Difference::Missing(path.clone())),
            Ok(current) if !bytes.eq_bytes(&current) => differences.push(Difference::Changed(
                path.clone(),
                String::from_utf8_lossy(&current).into_owned(),
                String::from_utf8_lossy(&bytes.to_vec()).into_owned(),
            )),
            Ok(_) => {}
        }
    }
    for stale in previous_files(out_dir)
        .into_iter()
        .filter(|p| !files.contains_key(p))
    {
        if out_dir.join(&stale).is_file() {
            differences.push(Difference::Stale(stale));
        }
    }
    differences
}

/// Writes one file atomically: a temporary file in the same directory, renamed into place.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let mut temp = tempfile::NamedTempFile::new_in(&dir).map_err(io_error(&dir))?;
    io::Write::write_all(&mut temp, bytes).map_err(io_error(path))?;
    temp.persist(path).map_err(|e| WriteError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

/// Most files written at once. Creating a file waits on the file system (a millisecond each on
/// some virtual disks) more than on the CPU, so several are created together.
const WRITERS: usize = 8;

/// One file to write: its generated path, where it goes, and its bytes.
type Job<'a> = (&'a str, PathBuf, &'a FileBytes);

/// Writes every job (whose directories exist) on [`WRITERS`] threads, each taking the next
/// file when free, largest first (a crate is a few large files and many small ones); the first
/// error in job order is returned.
fn write_in_parallel(jobs: &[Job<'_>]) -> Result<(), WriteError> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].2.len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut failed: Vec<(usize, WriteError)> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS.min(jobs.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let taken = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = order.get(taken) else {
                            return failed;
                        };
                        let (path, file, bytes) = &jobs[i];
                        if let Err(e) = write_bytes(path, file, bytes) {
                            failed.push((i, e));
                        }
                    }
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|writer| {
                writer
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    failed.sort_by_key(|(i, _)| *i);
    match failed.into_iter().next() {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

/// Writes a new directory through a temporary sibling renamed into place.
fn write_new(out_dir: &Path, files: &Files) -> Result<WriteReport, WriteError> {
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".mcpgen-staging-")
        .tempdir_in(&parent)
        .map_err(io_error(&parent))?;
    let dirs: std::collections::BTreeSet<PathBuf> = files
        .keys()
        .filter_map(|path| staging.path().join(path).parent().map(Path::to_path_buf))
        .collect();
    for dir in &dirs {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let jobs: Vec<Job<'_>> = files
        .iter()
        .map(|(path, bytes)| (path.as_str(), staging.path().join(path), bytes))
        .collect();
    write_in_parallel(&jobs)?;
    let staged = staging.keep();
    if let Err(source) = fs::rename(&staged, out_dir) {
        let _ = fs::remove_dir_all(&staged);
        return Err(WriteError::Io {
            path: out_dir.to_owned(),
            source,
        });
    }
    Ok(WriteReport {
        written: files.keys().cloned().collect(),
        unchanged: 0,
        removed: Vec::new(),
    })
}

/// The files the previous manifest lists.
fn previous_files(out_dir: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(out_dir.join(MANIFEST_PATH)) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    manifest
        .get("files")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .filter(|p| is_safe_relative(p))
        .map(str::to_owned)
        .collect()
}

/// Updates an existing directory: stage every changed file, then rename them all.
fn update(out_dir: &Path, files: &Files) -> Result<WriteReport, WriteError> {
    let mut report = WriteReport::default();
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let result = (|| {
        for (path, bytes) in files {
            let target = out_dir.join(path);
            if fs::read(&target).is_ok_and(|current| bytes.eq_bytes(&current)) {
                report.unchanged += 1;
                continue;
            }
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
            let temp = target.with_file_name(format!(
                ".{}.mcpgen-tmp",
                target.file_name().unwrap_or_default().to_string_lossy()
            ));
            jobs.push((path.as_str(), temp.clone(), bytes));
            staged.push((temp, target));
            report.written.push(path.clone());
        }
        write_in_parallel(&jobs)
    })();
    if let Err(e) = result {
        for (temp, _) in &staged {
            let _ = fs::remove_file(temp);
        }
        return Err(e);
    }
    let previous = previous_files(out_dir);
    for (temp, target) in &staged {
        fs::rename(temp, target).map_err(io_error(target))?;
    }
    for stale in previous.iter().filter(|p| !files.contains_key(*p)) {
        let path = out_dir.join(stale);
        if path.is_file() {
            fs::remove_file(&path).map_err(io_error(&path))?;
            report.removed.push(stale.clone());
            // Remove directories the removal emptied, up to the output directory.
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != out_dir) {
                if fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        let mut files: Files = entries
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec().into()))
            .collect();
        let list: Vec<&str> = entries
            .iter()
            .map(|(p, _)| *p)
            .chain([MANIFEST_PATH])
            .collect();
        files.insert(
            MANIFEST_PATH.to_owned(),
            serde_json::json!({"files": list}).to_string().into(),
        );
        files
    }

    #[test]
    fn writes_new_then_updates_only_what_changed_and_prunes_stale_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("server");
        let first = write(&out, &files(&[("a.txt", "1"), ("src/tools/x.rs", "x")])).unwrap();
        assert_eq!(first.written.len(), 3);
        assert_eq!(fs::read_to_string(out.join("src/tools/x.rs")).unwrap(), "x");
        fs::create_dir_all(out.join("target")).unwrap();
        fs::write(out.join("target/keep"), "build output").unwrap();

        let second = write(&out, &files(&[("a.txt", "2")])).unwrap();
        assert_eq!(
            second.written,
            vec![MANIFEST_PATH.to_owned(), "a.txt".to_owned()]
        );
        assert_eq!(second.removed, vec!["src/tools/x.rs".to_owned()]);
        assert!(!out.join("src").exists(), "emptied directories are removed");
        assert_eq!(
            fs::read_to_string(out.join("target/keep")).unwrap(),
            "build output",
            "unknown files are kept"
        );

        let third = write(&out, &files(&[("a.txt", "2")])).unwrap();
        assert!(third.written.is_empty());
        assert_eq!(third.unchanged, 2);
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec![std::ffi::OsString::from("server")],
            "no staging directory is left behind"
        );
    }

    #[test]
    fn vendored_runtime_files_are_dated_in_the_past_new_or_updated() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("server");
        let runtime = format!("{VENDORED_RUNTIME_DIR}src/lib.rs");
        let date = |path: &str| fs::metadata(out.join(path)).unwrap().modified().unwrap();
        let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(VENDORED_MTIME_SECS);
        write(
            &out,
            &files(&[(runtime.as_str(), "1"), ("src/lib.rs", "x")]),
        )
        .unwrap();
        assert_eq!(date(&runtime), past);
        assert!(
            date("src/lib.rs") > past,
            "the crate's own files are dated now"
        );
        write(
            &out,
            &files(&[(runtime.as_str(), "2"), ("src/lib.rs", "x")]),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(out.join(&runtime)).unwrap(), "2");
        assert_eq!(date(&runtime), past, "an updated runtime file too");
    }

    #[test]
    fn refuses_directories_mcpgen_did_not_write() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("precious.txt"), "mine").unwrap();
        assert!(matches!(
            write(tmp.path(), &files(&[("a.txt", "1")])),
            Err(WriteError::NotGenerated(_))
        ));
        assert_eq!(
            fs::read_to_string(tmp.path().join("precious.txt")).unwrap(),
            "mine"
        );
    }
}
