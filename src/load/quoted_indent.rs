//! A workaround for saphyr-parser 0.3 rejecting multi-line quoted scalars whose continuation
//! lines are indented no deeper than the mapping that holds them (e.g. a `description: '…'`
//! under a `- ` item, continued at the key's column). PyYAML and libyaml accept these and
//! published specs contain them.
//!
//! Owns finding such a scalar from the parser's error position and indenting its continuation
//! lines further (leading white space of those lines is not content, so the value is unchanged),
//! and mapping positions back. Must not change anything outside that scalar.

use std::collections::BTreeMap;

/// saphyr-parser's message for this case.
const MESSAGE: &str = "invalid indentation in quoted scalar";

/// Whether a parser's message is the one this module works around.
pub fn is_quoted_indent_message(message: &str) -> bool {
    message == MESSAGE
}

/// Spaces added at the start of lines, by 1-based line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shifts {
    added: BTreeMap<usize, usize>,
}

impl Shifts {
    /// The position in the original text of a position in the re-indented one.
    pub fn original(&self, (line, col): (usize, usize)) -> (usize, usize) {
        let added = self.added.get(&line).copied().unwrap_or(0);
        (line, if col > added { col - added } else { col })
    }
}

/// Indents the continuation lines of the quoted scalar that starts at `line_col` (1-based, in the
/// current text) by the scalar's start column. `false` when no quoted scalar that ends is there.
pub fn reindent(text: &mut String, (line, col): (usize, usize), shifts: &mut Shifts) -> bool {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let Some(start) = lines.get(line.wrapping_sub(1)) else {
        return false;
    };
    let chars: Vec<char> = start.chars().collect();
    let Some(&quote) = chars.get(col.wrapping_sub(1)) else {
        return false;
    };
    if quote != '\'' && quote != '"' {
        return false;
    }
    let Some(end_line) = closing_line(&lines, line, col, quote) else {
        return false;
    };
    let indent = " ".repeat(col);
    for number in line + 1..=end_line {
        if let Some(text_line) = lines.get_mut(number - 1) {
            text_line.insert_str(0, &indent);
            *shifts.added.entry(number).or_insert(0) += col;
        }
    }
    *text = lines.concat();
    true
}

/// The 1-based line holding the closing quote of the scalar opened at (`line`, `col`).
fn closing_line(lines: &[String], line: usize, col: usize, quote: char) -> Option<usize> {
    let mut escaped = false;
    let mut skip = col;
    for (index, text) in lines.iter().enumerate().skip(line - 1) {
        let mut chars = text.chars().skip(skip).peekable();
        skip = 0;
        while let Some(c) = chars.next() {
            if quote == '"' {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    return Some(index + 1);
                }
            } else if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    return Some(index + 1);
                }
            }
        }
        escaped = false;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_only_the_scalar_continuation_lines() {
        let mut text = String::from("- a: 'one\n  two ''x''\n  three' # c\n- b: 1\n");
        let mut shifts = Shifts::default();
        assert!(reindent(&mut text, (1, 6), &mut shifts));
        assert_eq!(
            text,
            "- a: 'one\n        two ''x''\n        three' # c\n- b: 1\n"
        );
        assert_eq!(shifts.original((3, 15)), (3, 9));
        assert_eq!(shifts.original((4, 3)), (4, 3));
    }

    #[test]
    fn double_quotes_and_escapes() {
        let mut text = String::from("- a: \"x \\\" y\n  z\"\n");
        assert!(reindent(&mut text, (1, 6), &mut Shifts::default()));
        assert_eq!(text, "- a: \"x \\\" y\n        z\"\n");
    }

    #[test]
    fn refuses_what_it_cannot_find() {
        let mut shifts = Shifts::default();
        assert!(!reindent(
            &mut String::from("- a: 'never ends\n"),
            (1, 6),
            &mut shifts
        ));
        assert!(!reindent(
            &mut String::from("- a: b\n"),
            (1, 6),
            &mut shifts
        ));
        assert!(!reindent(
            &mut String::from("- a: b\n"),
            (9, 1),
            &mut shifts
        ));
        assert!(!reindent(
            &mut String::from("- a: b\n"),
            (0, 0),
            &mut shifts
        ));
    }
}
