//! The spec paths an annotation file names, read from its first lines only, so the specs can
//! be loaded while the whole file is parsed. A hint: the caller uses what was loaded only when
//! the parsed file names the same paths, and loads them again otherwise.

use std::io::Read as _;
use std::path::Path;

use saphyr_parser::{Event, Parser};

/// How much of the file is read for the hint: `init` writes `spec` near the top.
const HINT_BYTES: u64 = 16 * 1024;

/// The paths of the top-level `spec` member of the annotation file at `path`, when its first
/// [`HINT_BYTES`] hold that member as a string or a list of strings; `None` otherwise (the file
/// cannot be read, `spec` comes later or is written some other way).
pub fn spec_paths_hint(path: &Path) -> Option<Vec<String>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(HINT_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    // A read that stopped short of the end is cut after its last whole line.
    if bytes.len() as u64 == HINT_BYTES {
        let end = bytes.iter().rposition(|&b| b == b'\n')?;
        bytes.truncate(end + 1);
    }
    let text = std::str::from_utf8(&bytes).ok()?;
    spec_paths_in(text.strip_prefix('\u{FEFF}').unwrap_or(text))
}

/// [`spec_paths_hint`] of a text (possibly the start of a longer one).
fn spec_paths_in(text: &str) -> Option<Vec<String>> {
    let mut events = Parser::new_from_str(text).map(|event| event.ok().map(|(event, _)| event));
    // Up to the top-level mapping.
    loop {
        match events.next()?? {
            Event::StreamStart | Event::DocumentStart(_) => {}
            Event::MappingStart(..) => break,
            _ => return None,
        }
    }
    loop {
        let key = match events.next()?? {
            Event::Scalar(key, ..) => key,
            _ => return None,
        };
        if key == "spec" {
            return match events.next()?? {
                Event::Scalar(path, ..) => Some(vec![path.into_owned()]),
                Event::SequenceStart(..) => {
                    let mut paths = Vec::new();
                    loop {
                        match events.next()?? {
                            Event::Scalar(path, ..) => paths.push(path.into_owned()),
                            Event::SequenceEnd => return Some(paths),
                            _ => return None,
                        }
                    }
                }
                _ => None,
            };
        }
        skip_value(&mut events)?;
    }
}

/// Reads past one value (a scalar, or a mapping or sequence with everything in it).
fn skip_value<'a>(events: &mut impl Iterator<Item = Option<Event<'a>>>) -> Option<()> {
    let mut depth = 0usize;
    loop {
        match events.next()?? {
            Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
            Event::MappingEnd | Event::SequenceEnd => depth = depth.checked_sub(1)?,
            Event::Scalar(..) | Event::Alias(_) => {}
            _ => return None,
        }
        if depth == 0 {
            return Some(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spec_paths_in;

    #[test]
    fn reads_the_spec_member_written_as_a_string_or_a_list() {
        let one = "# header\nversion: 1\nspec: \"api.json\"\nserver:\n  name: x\n";
        assert_eq!(spec_paths_in(one), Some(vec!["api.json".to_owned()]));
        let many =
            "version: 1\nupstream: {base_url: 'https://x'}\nspec:\n  - a.yaml\n  - b/c.yaml\n";
        assert_eq!(
            spec_paths_in(many),
            Some(vec!["a.yaml".to_owned(), "b/c.yaml".to_owned()])
        );
        let json = r#"{"server": {"name": "x", "tags": ["a", {"b": 1}]}, "spec": "api.yaml"}"#;
        assert_eq!(spec_paths_in(json), Some(vec!["api.yaml".to_owned()]));
    }

    #[test]
    fn gives_no_hint_where_the_spec_member_is_not_plainly_written() {
        // Beyond the text read, behind an alias, not in a mapping, not strings, or not YAML.
        assert_eq!(spec_paths_in("version: 1\nserver:\n  name: x\n"), None);
        assert_eq!(spec_paths_in("a: &p x.yaml\nspec: *p\n"), None);
        assert_eq!(spec_paths_in("- spec\n"), None);
        assert_eq!(spec_paths_in("spec: [a.yaml, {b: c}]\n"), None);
        assert_eq!(spec_paths_in("version: [1\nspec: x\n"), None);
    }
}
