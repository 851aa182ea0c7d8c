//! Source positions of parsed values, keyed by JSON pointer.
//!
//! Owns the [`Positions`] table the parsers fill and the lookups later stages use to put a line
//! and column on a diagnostic. Must not parse anything itself.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::pointer;

/// 1-based line and column of every value the parser saw, by JSON pointer.
///
/// For a member of a mapping the position is that of its key (where a reader looks for it); for
/// an item of a sequence and for the document itself it is where the value starts. A table may be
/// empty (a JSON file whose positions were not recorded): lookups then give `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    table: BTreeMap<String, (usize, usize)>,
    /// For large JSON files: the source, parsed for positions only when one is first asked for
    /// (they are needed only to report a problem, and reading JSON without them is much faster).
    deferred: Option<Arc<Deferred>>,
}

/// A table computed on first use.
struct Deferred {
    source: Source,
    compute: fn(&str) -> Positions,
    table: OnceLock<BTreeMap<String, (usize, usize)>>,
}

/// The text a deferred table is computed from.
pub(crate) enum Source {
    /// Kept in memory.
    Text(String),
    /// Read again from a file when first needed (a large spec's text is not kept while it is
    /// lowered): `read` gives the file's text if its bytes still have this hash; if they do not,
    /// the table is empty and diagnostics name the pointer without a line.
    File {
        /// The file as it was read.
        path: PathBuf,
        /// Hex SHA-256 of its bytes then.
        sha256: String,
        /// Reads the file's text, given the path and the hash it must have.
        read: fn(&Path, &str) -> Option<String>,
    },
}

impl Source {
    /// The text, if it can be had.
    fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Source::Text(text) => Some(std::borrow::Cow::Borrowed(text)),
            Source::File { path, sha256, read } => read(path, sha256).map(std::borrow::Cow::Owned),
        }
    }
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Text(text) => write!(f, "Deferred({} bytes)", text.len()),
            Source::File { path, .. } => write!(f, "Deferred({})", path.display()),
        }
    }
}

impl PartialEq for Deferred {
    fn eq(&self, other: &Self) -> bool {
        match (&self.source, &other.source) {
            (Source::Text(a), Source::Text(b)) => a == b,
            (
                Source::File { path, sha256, .. },
                Source::File {
                    path: other_path,
                    sha256: other_sha256,
                    ..
                },
            ) => path == other_path && sha256 == other_sha256,
            _ => false,
        }
    }
}

impl Eq for Deferred {}

impl Positions {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table that `compute` fills from `source` the first time a position is looked up.
    pub(crate) fn deferred(source: Source, compute: fn(&str) -> Positions) -> Self {
        Positions {
            table: BTreeMap::new(),
            deferred: Some(Arc::new(Deferred {
                source,
                compute,
                table: OnceLock::new(),
            })),
        }
    }

    /// The table, computing a deferred one now.
    fn table(&self) -> &BTreeMap<String, (usize, usize)> {
        match &self.deferred {
            Some(deferred) => deferred.table.get_or_init(|| match deferred.source.text() {
                Some(text) => (deferred.compute)(&text).table,
                None => BTreeMap::new(),
            }),
            None => &self.table,
        }
    }

    /// The position recorded for exactly this pointer.
    pub fn get(&self, pointer: &str) -> Option<(usize, usize)> {
        self.table().get(pointer).copied()
    }

    /// The position of this pointer or, failing that, of its nearest ancestor that has one (a
    /// value expanded from a YAML alias has the alias's position).
    pub fn nearest(&self, pointer: &str) -> Option<(usize, usize)> {
        let mut current = pointer;
        loop {
            if let Some(found) = self.get(current) {
                return Some(found);
            }
            current = pointer::parent(current)?;
        }
    }

    /// Number of recorded positions.
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.table().is_empty()
    }

    /// Records (or replaces) the position of a pointer.
    pub(crate) fn insert(&mut self, pointer: String, line_col: (usize, usize)) {
        self.table.insert(pointer, line_col);
    }

    /// Replaces every position by `f(position)`.
    pub(crate) fn remap(&mut self, f: impl Fn((usize, usize)) -> (usize, usize)) {
        for line_col in self.table.values_mut() {
            *line_col = f(*line_col);
        }
    }

    /// Forgets the positions of a value and everything below it.
    pub(crate) fn remove_subtree(&mut self, pointer: &str) {
        let doomed: Vec<String> = self
            .table
            .range(pointer.to_owned()..)
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(pointer))
            .filter(|key| {
                key.strip_prefix(pointer)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .cloned()
            .collect();
        for key in doomed {
            self.table.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_nearest_lookups() {
        let mut positions = Positions::new();
        positions.insert(String::new(), (1, 1));
        positions.insert("/paths".into(), (3, 1));
        positions.insert("/paths/~1pets".into(), (4, 3));
        assert_eq!(positions.get("/paths/~1pets"), Some((4, 3)));
        assert_eq!(positions.get("/paths/~1pets/get"), None);
        assert_eq!(
            positions.nearest("/paths/~1pets/get/responses"),
            Some((4, 3))
        );
        assert_eq!(positions.nearest("/info"), Some((1, 1)));
        assert_eq!(Positions::new().nearest("/a"), None);
    }

    #[test]
    fn removes_a_subtree_only() {
        let mut positions = Positions::new();
        for (i, key) in ["/a", "/a/b", "/a/b/c", "/ab", "/a~1b", "/b"]
            .iter()
            .enumerate()
        {
            positions.insert((*key).into(), (i + 1, 1));
        }
        positions.remove_subtree("/a");
        assert_eq!(positions.get("/a"), None);
        assert_eq!(positions.get("/a/b/c"), None);
        assert_eq!(positions.get("/ab"), Some((4, 1)));
        assert_eq!(positions.get("/a~1b"), Some((5, 1)));
        assert_eq!(positions.len(), 3);
    }
}
