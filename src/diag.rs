//! Diagnostics: every problem mcpgen finds in its inputs, with where it is and what to do.
//!
//! Stages never stop at the first problem: they push [`Diagnostic`]s into a [`Diagnostics`]
//! collection and carry on where they can. The CLI renders all of them at once, sorted by
//! location, and exits 1 when any is an error. Nothing in here touches the disk.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Generation cannot produce a correct server.
    Error,
    /// Generation goes on, but the result may not be what the architect wants.
    Warning,
    /// What generation did on the architect's request, for the record (e.g. schemas rewritten
    /// for client profiles).
    Note,
}

/// Where a problem is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// No particular place (e.g. a command-line problem).
    None,
    /// A file as a whole.
    File {
        /// The file, as the user named it (relative paths stay relative).
        path: PathBuf,
    },
    /// A place in a file: a JSON pointer and, where known, the line and column (1-based).
    InFile {
        /// The file, as the user named it.
        path: PathBuf,
        /// JSON pointer to the value (`""` is the whole document).
        pointer: String,
        /// 1-based line and column of the value, where the parser recorded it.
        line_col: Option<(usize, usize)>,
    },
}

impl Location {
    /// A place in a file given by a JSON pointer, with no line known.
    pub fn pointer(path: impl Into<PathBuf>, pointer: impl Into<String>) -> Self {
        Location::InFile {
            path: path.into(),
            pointer: pointer.into(),
            line_col: None,
        }
    }

    /// A place in a file given by its line and column, and the pointer if known.
    pub fn line(
        path: impl Into<PathBuf>,
        pointer: impl Into<String>,
        line: usize,
        col: usize,
    ) -> Self {
        Location::InFile {
            path: path.into(),
            pointer: pointer.into(),
            line_col: Some((line, col)),
        }
    }

    /// A file as a whole.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Location::File { path: path.into() }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::None => Ok(()),
            Location::File { path } => write!(f, "{}", display_path(path)),
            Location::InFile {
                path,
                pointer,
                line_col,
            } => {
                write!(f, "{}", display_path(path))?;
                if let Some((line, col)) = line_col {
                    write!(f, ":{line}:{col}")?;
                }
                if !pointer.is_empty() {
                    write!(f, " at {pointer}")?;
                } else if line_col.is_none() {
                    write!(f, " (document root)")?;
                }
                Ok(())
            }
        }
    }
}

/// Paths are shown with `/` separators so rendered output is the same on every platform.
fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// One problem in the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// Stable identifier, e.g. `dangling-ref`; documented in the README.
    pub code: &'static str,
    /// What is wrong: lowercase, no trailing period, one fact.
    pub message: String,
    /// Where it is.
    pub location: Location,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location,
            help: None,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            location,
            help: None,
        }
    }

    /// A note.
    pub fn note(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            code,
            message: message.into(),
            location,
            help: None,
        }
    }

    /// The same problem, reported as a warning (e.g. a defect outside what is being built).
    pub fn into_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Adds the `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{level}[{}]: {}", self.code, self.message)?;
        if self.location != Location::None {
            write!(f, "\n  --> {}", self.location)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// All problems found so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records every problem of another collection.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The problems recorded after the first `from` ones, in the order they were recorded.
    pub fn since(&self, from: usize) -> &[Diagnostic] {
        self.items.get(from..).unwrap_or_default()
    }

    /// The problems, sorted by location, then severity, code and message; duplicates removed.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by(|a, b| {
            (&a.location, a.severity, a.code, &a.message).cmp(&(
                &b.location,
                b.severity,
                b.code,
                &b.message,
            ))
        });
        items.dedup();
        items
    }

    /// Renders every problem, then a summary line.
    pub fn render(&self) -> String {
        let sorted = self.sorted();
        let mut out = String::new();
        for d in &sorted {
            out.push_str(&d.to_string());
            out.push_str("\n\n");
        }
        let errors = sorted
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = sorted
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();
        if errors > 0 || warnings > 0 {
            out.push_str(&format!(
                "{} ({errors} error{}, {warnings} warning{})\n",
                if errors > 0 { "failed" } else { "ok" },
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics { items: vec![d] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_help() {
        let d = Diagnostic::error(
            "dangling-ref",
            Location::line("specs/a.yaml", "/paths/~1pets/get", 12, 7),
            "no such thing",
        )
        .with_help("fix it");
        assert_eq!(
            d.to_string(),
            "error[dangling-ref]: no such thing\n  --> specs/a.yaml:12:7 at /paths/~1pets/get\n  help: fix it"
        );
    }

    #[test]
    fn sorted_orders_by_location_and_removes_duplicates() {
        let mut all = Diagnostics::new();
        let b = Diagnostic::warning("w", Location::pointer("b.yaml", "/x"), "later");
        let a = Diagnostic::error("e", Location::pointer("a.yaml", "/y"), "first");
        all.push(b.clone());
        all.push(a.clone());
        all.push(b.clone());
        assert_eq!(all.sorted(), vec![&a, &b]);
        assert!(all.render().ends_with("failed (1 error, 1 warning)\n"));
    }
}
