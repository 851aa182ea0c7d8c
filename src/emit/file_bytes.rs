//! A generated file's bytes, kept as the parts it was put together from.
//!
//! The largest files (the tools, their fixtures, the contract) are made as one part per tool,
//! on every core. Joining thousands of parts would copy megabytes into fresh memory only to
//! write them out; they are written as they are instead ([`FileBytes::write_to`]).

use std::io::{self, IoSlice, Write};

/// Bytes in order, as one or more parts. Two values are equal when their bytes are, however
/// they are cut.
#[derive(Debug, Clone, Default)]
pub struct FileBytes {
    parts: Vec<Vec<u8>>,
}

impl FileBytes {
    /// The file made of `parts`, in order.
    pub fn from_parts(parts: Vec<String>) -> Self {
        FileBytes {
            parts: parts
                .into_iter()
                .filter(|part| !part.is_empty())
                .map(String::into_bytes)
                .collect(),
        }
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The bytes, joined.
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts.concat()
    }

    /// The bytes as text, when they are UTF-8.
    pub fn to_text(&self) -> Option<String> {
        String::from_utf8(self.to_vec()).ok()
    }

    /// Whether these are the bytes `other` holds.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        let mut rest = other;
        for part in &self.parts {
            match rest.strip_prefix(part.as_slice()) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// Writes every part to `out`, many parts per call.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        // Linux takes at most 1,024 slices a call.
        for batch in self.parts.chunks(1024) {
            let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|p| IoSlice::new(p)).collect();
            let mut slices = slices.as_mut_slice();
            while !slices.is_empty() {
                match out.write_vectored(slices) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => IoSlice::advance_slices(&mut slices, n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

impl PartialEq for FileBytes {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.eq_bytes(&other.to_vec())
    }
}

impl Eq for FileBytes {}

impl From<Vec<u8>> for FileBytes {
    fn from(bytes: Vec<u8>) -> Self {
        let parts = if bytes.is_empty() {
            Vec::new()
        } else {
            vec![bytes]
        };
        FileBytes { parts }
    }
}

impl From<String> for FileBytes {
    fn from(text: String) -> Self {
        text.into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::FileBytes;

    fn parts(parts: &[&str]) -> FileBytes {
        FileBytes::from_parts(parts.iter().map(|p| (*p).to_owned()).collect())
    }

    #[test]
    fn bytes_compare_whatever_the_cut() {
        let file = parts(&["{\n", "", "  \"a\": 1,\n", "  \"b\": 2\n}\n"]);
        assert_eq!(file.len(), 23);
        assert!(file.eq_bytes(b"{\n  \"a\": 1,\n  \"b\": 2\n}\n"));
        assert!(!file.eq_bytes(b"{\n  \"a\": 1,\n  \"b\": 2\n}"));
        assert!(!file.eq_bytes(b"{\n  \"a\": 1,\n  \"b\": 2\n}\n\n"));
        assert!(!file.eq_bytes(b"{\n  \"a\": 2,\n  \"b\": 2\n}\n"));
        assert_eq!(file, FileBytes::from(file.to_vec()));
        assert_ne!(file, parts(&["{\n  \"a\": 1,\n  \"b\": 3\n}\n"]));
        assert!(parts(&["", ""]).is_empty());
        assert!(parts(&[]).eq_bytes(b""));
    }

    /// A writer taking at most a few bytes of each call, as a pipe or a full disk may.
    struct Trickle(Vec<u8>);

    impl std::io::Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_and_many_parts_are_written_whole_and_in_order() {
        let many: Vec<String> = (0..3000).map(|i| format!("{i},")).collect();
        let file = FileBytes::from_parts(many.clone());
        let mut out = Trickle(Vec::new());
        file.write_to(&mut out).unwrap();
        assert_eq!(out.0, many.concat().into_bytes());
        let mut whole = Vec::new();
        file.write_to(&mut whole).unwrap();
        assert_eq!(whole, many.concat().into_bytes());
    }
}
