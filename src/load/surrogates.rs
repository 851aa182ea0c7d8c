//! JSON surrogate-pair escapes (`\ud83d\ude00`), which JSON allows and the YAML scanner rejects.
//!
//! Owns rewriting them to YAML's 8-digit form (`\U0001f600`) before a JSON text goes through the
//! YAML builder, and mapping columns in the rewritten text back to the original. Must not touch
//! anything outside JSON strings, or change lines.

use std::collections::BTreeMap;

/// Where the rewriting shortened lines: for each line, (column in the rewritten text just after
/// a rewritten escape, characters removed so far on that line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnShifts {
    lines: BTreeMap<usize, Vec<(usize, usize)>>,
}

impl ColumnShifts {
    /// The original 1-based position of a position in the rewritten text.
    pub fn original(&self, (line, col): (usize, usize)) -> (usize, usize) {
        let removed = self
            .lines
            .get(&line)
            .and_then(|shifts| shifts.iter().rev().find(|(after, _)| *after <= col))
            .map_or(0, |(_, removed)| *removed);
        (line, col + removed)
    }
}

/// Rewrites every surrogate-pair escape inside JSON strings; `None` when there is none (the common
/// case: nothing is copied).
pub fn rewrite(text: &str) -> Option<(String, ColumnShifts)> {
    if !text.contains("\\u") && !text.contains("\\U") {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut shifts = ColumnShifts::default();
    let (mut line, mut col) = (1usize, 1usize);
    let mut removed_on_line = 0;
    let mut in_string = false;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if in_string && c == '\\' {
            if let Some(ch) = surrogate_pair(chars.get(i..i + 12).unwrap_or_default()) {
                let replacement = format!("\\U{:08x}", u32::from(ch));
                out.push_str(&replacement);
                col += replacement.len();
                removed_on_line += 12 - replacement.len();
                shifts
                    .lines
                    .entry(line)
                    .or_default()
                    .push((col, removed_on_line));
                i += 12;
                continue;
            }
            // Any other escape: copy it whole so an escaped quote or backslash is not misread.
            out.push(c);
            if let Some(&next) = chars.get(i + 1) {
                out.push(next);
            }
            col += 2;
            i += 2;
            continue;
        }
        if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        if c == '\n' {
            line += 1;
            col = 1;
            removed_on_line = 0;
        } else {
            col += 1;
        }
        i += 1;
    }
    if shifts.lines.is_empty() {
        None
    } else {
        Some((out, shifts))
    }
}

/// `\uD8xx\uDCxx` (12 characters) as the character it encodes.
fn surrogate_pair(escape: &[char]) -> Option<char> {
    let text: String = escape.iter().collect();
    let high = text
        .strip_prefix("\\u")
        .and_then(|rest| u32::from_str_radix(rest.get(..4)?, 16).ok())?;
    let low = text
        .get(6..)
        .and_then(|rest| rest.strip_prefix("\\u"))
        .and_then(|rest| u32::from_str_radix(rest, 16).ok())?;
    if !(0xD800..0xDC00).contains(&high) || !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_pairs_in_strings_only() {
        let (out, shifts) =
            rewrite(r#"{"a": "x\ud83d\ude00y", "b": "\\ud83d\ude00", "c": 1}"#).unwrap();
        assert_eq!(
            out,
            r#"{"a": "x\U0001f600y", "b": "\\ud83d\ude00", "c": 1}"#
        );
        // `y` is at column 19 in the rewritten text and 21 in the original; `"b"` at 23 and 25.
        assert_eq!(shifts.original((1, 19)), (1, 21));
        assert_eq!(shifts.original((1, 23)), (1, 25));
        assert_eq!(shifts.original((1, 2)), (1, 2));
        assert_eq!(shifts.original((2, 30)), (2, 30));
    }

    #[test]
    fn leaves_other_text_alone() {
        assert!(rewrite(r#"{"a": "\u00e9"}"#).is_none());
        assert!(rewrite(r#"{"a": "\ud83d"}"#).is_none());
        assert!(rewrite("{}").is_none());
    }
}
