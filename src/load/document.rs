//! One input file: reading it (with a size limit) and parsing it as JSON or YAML.
//!
//! Owns [`Document`], [`parse_document`] and [`read_document`], and the diagnostics for files
//! that cannot be read or parsed. Knows nothing of OpenAPI: must not interpret the content.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::paths::display_form;
use super::positions::{Positions, Source};
use super::surrogates;
use super::yaml::{self, DuplicateKey, TrailingComment, YamlError};
use crate::diag::{Diagnostic, Diagnostics, Location, Severity};

/// Largest input file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The syntax a file was parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (by extension `.json`, or content starting with `{` or `[`).
    Json,
    /// YAML (anything else).
    Yaml,
}

/// A parsed input file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file as displayed: the path the user gave (joined with `$ref` paths for referenced
    /// files), normalised, `/`-separated.
    pub path: PathBuf,
    /// The content, members in source order.
    pub value: Value,
    /// Line and column of the values, by JSON pointer.
    pub positions: Positions,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The syntax it was parsed as.
    pub format: Format,
    /// Keys repeated within one mapping (the last one was kept); the caller decides whether
    /// that is an error.
    pub duplicate_keys: Vec<DuplicateKey>,
    /// YAML comments on the line where a plain (unquoted) scalar value ends, in source order
    /// (none for JSON): `mcpgen lint` warns where such a value is text the model reads.
    pub trailing_comments: Vec<TrailingComment>,
    /// Whether some `$ref` member may name another file (its string is not a fragment, `#…`).
    /// `false` only when the reader saw every `$ref` (JSON read whole); otherwise `true`, and
    /// whoever needs to know walks the value.
    pub may_refer_elsewhere: bool,
}

impl Document {
    /// Where a value of this document is, with its line when recorded (or the line of its nearest
    /// recorded ancestor).
    pub fn location(&self, pointer: &str) -> Location {
        Location::InFile {
            path: self.path.clone(),
            pointer: pointer.to_owned(),
            line_col: self.positions.nearest(pointer),
        }
    }

    /// One diagnostic per repeated key, with the given severity and code `duplicate-key`.
    pub fn duplicate_key_diagnostics(&self, severity: Severity) -> Diagnostics {
        let mut out = Diagnostics::new();
        for duplicate in &self.duplicate_keys {
            let (line, col) = duplicate.line_col;
            let location = Location::line(&self.path, &duplicate.pointer, line, col);
            let message = match duplicate.first {
                Some((first, _)) => {
                    format!("key repeats the one on line {first}; the last one is used")
                }
                None => "key appears twice in the same mapping; the last one is used".to_owned(),
            };
            let diagnostic = match severity {
                Severity::Error => Diagnostic::error("duplicate-key", location, message),
                Severity::Warning | Severity::Note => {
                    Diagnostic::warning("duplicate-key", location, message)
                }
            };
            out.push(diagnostic.with_help("remove or rename one of the two keys"));
        }
        out
    }
}

/// Parses a file's bytes as JSON or YAML (by extension, else by content). Pure: `path` is only
/// used to choose the syntax and to label the result and the diagnostics.
pub fn parse_document(path: &Path, bytes: &[u8]) -> Result<Document, Diagnostics> {
    let shown = display_form(path);
    let text = decode(&shown, bytes)?;
    parse_text(shown, sha256_hex(bytes), Cow::Borrowed(text))
}

/// Parses decoded text. A large JSON text is kept for positions computed later (moved when it
/// is owned, copied otherwise).
fn parse_text(shown: PathBuf, sha256: String, text: Cow<'_, str>) -> Result<Document, Diagnostics> {
    let (format, parsed) = parse_borrowed(&shown, &text)?;
    Ok(assemble(shown, sha256, format, parsed, |_| {
        Source::Text(text.into_owned())
    }))
}

/// A text parsed, before the document is assembled: a fast JSON parse has no positions yet
/// (they are computed later from the text, kept or read again).
enum ParsedText {
    /// Parsed with its positions.
    Whole(yaml::Parsed),
    /// Parsed by serde_json, without positions.
    FastJson(super::json::Read),
}

/// Parses a document's text (its format told by its name and content).
fn parse_borrowed(shown: &Path, text: &str) -> Result<(Format, ParsedText), Diagnostics> {
    let format = detect_format(shown, text);
    let parsed = match format {
        Format::Yaml => {
            ParsedText::Whole(yaml::parse(text).map_err(|e| yaml_diagnostic(shown, &e))?)
        }
        Format::Json => match parse_json(shown, text)? {
            JsonParse::Recorded(parsed) => ParsedText::Whole(parsed),
            JsonParse::Fast(read) => ParsedText::FastJson(read),
        },
    };
    Ok((format, parsed))
}

/// The document of a parsed text; `source` gives where its text is found again, given its
/// hash, when positions are computed later.
fn assemble(
    shown: PathBuf,
    sha256: String,
    format: Format,
    parsed: ParsedText,
    source: impl FnOnce(&str) -> Source,
) -> Document {
    let (parsed, may_refer_elsewhere) = match parsed {
        ParsedText::Whole(parsed) => (parsed, true),
        ParsedText::FastJson(read) => (
            yaml::Parsed {
                value: read.value,
                positions: Positions::deferred(source(&sha256), json_positions),
                duplicate_keys: Vec::new(),
                trailing_comments: Vec::new(),
            },
            read.refers_elsewhere,
        ),
    };
    Document {
        path: shown,
        value: parsed.value,
        positions: parsed.positions,
        sha256,
        format,
        duplicate_keys: parsed.duplicate_keys,
        trailing_comments: parsed.trailing_comments,
        may_refer_elsewhere,
    }
}

/// Reads a file (at most [`MAX_FILE_BYTES`]) and parses it as [`parse_document`] does, using
/// the bytes it read as the text rather than a copy of them. The hash of the bytes is computed
/// on a thread of its own while the text is parsed. The text is not kept: positions, computed
/// only for a diagnostic, read the file again ([`read_again`]).
pub fn read_document(path: &Path) -> Result<Document, Diagnostics> {
    let bytes = read_bytes(path)?;
    let shown = display_form(path);
    let text = match String::from_utf8(bytes) {
        // A UTF-16 byte order mark is not UTF-8: such files land in the other arm.
        Ok(text) => text,
        Err(e) => {
            return Err(decode(&shown, e.as_bytes()).err().unwrap_or_else(|| {
                Diagnostic::error(
                    "file-not-utf8",
                    Location::file(&shown),
                    "file is not valid UTF-8",
                )
                .into()
            }));
        }
    };
    let (sha256, parsed) = std::thread::scope(|scope| {
        // The hash is of the bytes as read, byte-order mark included.
        let bytes = text.as_bytes();
        let hashing = std::thread::Builder::new().spawn_scoped(scope, || sha256_hex(bytes));
        let parsed = parse_borrowed(&shown, text.strip_prefix('\u{FEFF}').unwrap_or(&text));
        let sha256 = match hashing {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => sha256_hex(bytes),
        };
        (sha256, parsed)
    });
    let (format, parsed) = parsed?;
    drop(text);
    Ok(assemble(shown, sha256, format, parsed, |sha256| {
        Source::File {
            path: path.to_path_buf(),
            sha256: sha256.to_owned(),
            read: read_again,
        }
    }))
}

/// The text of a file read before, if its bytes still have the hash they had (without a
/// byte-order mark, as it was parsed).
fn read_again(path: &Path, sha256: &str) -> Option<String> {
    let bytes = read_bytes(path).ok()?;
    if sha256_hex(&bytes) != sha256 {
        return None;
    }
    let mut text = String::from_utf8(bytes).ok()?;
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    Some(text)
}

/// How a JSON text was parsed.
enum JsonParse {
    /// By serde_json, without positions (computed later from the text if one is needed).
    Fast(super::json::Read),
    /// By the position-recording parser.
    Recorded(yaml::Parsed),
}

/// Reads a file's bytes, refusing directories and files over the size limit.
fn read_bytes(path: &Path) -> Result<Vec<u8>, Diagnostics> {
    let location = Location::file(display_form(path));
    let io_error = |e: std::io::Error| {
        let (code, help) = if e.kind() == std::io::ErrorKind::NotFound {
            (
                "file-not-found",
                "check the path (relative paths start at the referencing file's directory)",
            )
        } else {
            (
                "file-unreadable",
                "check that the file exists and is readable",
            )
        };
        Diagnostic::error(code, location.clone(), format!("cannot read the file: {e}"))
            .with_help(help)
    };
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if metadata.is_dir() {
        return Err(Diagnostic::error(
            "file-is-directory",
            location,
            "this is a directory, not a file",
        )
        .with_help("name the spec file itself, e.g. `openapi.yaml`")
        .into());
    }
    let too_large = || {
        Diagnostic::error(
            "file-too-large",
            location.clone(),
            format!("file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
        )
        .with_help("split the spec into several files joined by `$ref`")
        .into()
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    // Room for the whole file (and the byte that would show it grew): read into a growing
    // buffer, a large spec would be copied as it doubles.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).map_or(0, |n| n + 1));
    let file = std::fs::File::open(path).map_err(io_error)?;
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The text of a file: UTF-8, without a byte-order mark.
fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Diagnostics> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Diagnostic::error(
            "file-not-utf8",
            Location::file(path),
            "file is UTF-16, not UTF-8",
        )
        .with_help("save the file as UTF-8")
        .into());
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = valid
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |at| at + 1);
        let col = String::from_utf8_lossy(valid.get(line_start..).unwrap_or_default())
            .chars()
            .count()
            + 1;
        Diagnostic::error(
            "file-not-utf8",
            Location::line(path, "", line, col),
            "file is not valid UTF-8",
        )
        .with_help("save the file as UTF-8")
        .into()
    })
}

fn detect_format(path: &Path, text: &str) -> Format {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("json") => Format::Json,
        Some("yaml" | "yml") => Format::Yaml,
        _ if text.trim_start().starts_with(['{', '[']) => Format::Json,
        _ => Format::Yaml,
    }
}

/// JSON goes through the YAML builder (JSON is YAML 1.2) to get positions. If that fails, serde_json
/// decides: its error, with line and column, is the one shown; and valid JSON the YAML scanner
/// cannot take (e.g. an escaped surrogate pair) is still loaded, without positions.
///
/// Surrogate-pair escapes, which the YAML scanner rejects, are rewritten first (see
/// [`surrogates`]) and positions mapped back.
fn parse_json(path: &Path, text: &str) -> Result<JsonParse, Diagnostics> {
    // serde_json reads valid JSON many times faster than the position-recording parser, whose
    // positions are then computed only if a diagnostic needs one.
    if let Ok(read) = super::json::parse(text) {
        return Ok(JsonParse::Fast(read));
    }
    parse_json_with_positions(path, text).map(JsonParse::Recorded)
}

/// The positions of a JSON text that serde_json accepted (empty if the YAML parser does not).
fn json_positions(text: &str) -> Positions {
    parse_json_with_positions(Path::new(""), text)
        .map(|parsed| parsed.positions)
        .unwrap_or_default()
}

/// Parses JSON through the YAML event parser, recording positions (and reporting syntax errors
/// with serde_json's precise line and column).
fn parse_json_with_positions(path: &Path, text: &str) -> Result<yaml::Parsed, Diagnostics> {
    let rewritten = surrogates::rewrite(text);
    let source = rewritten
        .as_ref()
        .map_or(text, |(rewritten, _)| rewritten.as_str());
    let yaml_error = match yaml::parse(source) {
        Ok(mut parsed) => {
            if let Some((_, shifts)) = &rewritten {
                parsed.remap(|line_col| shifts.original(line_col));
            }
            return Ok(parsed);
        }
        Err(e) => e,
    };
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(yaml::Parsed {
            value,
            positions: Positions::new(),
            duplicate_keys: Vec::new(),
            trailing_comments: Vec::new(),
        }),
        Err(e) if e.is_syntax() || e.is_eof() => {
            let location = Location::line(path, "", e.line(), e.column());
            let message = strip_position(&e.to_string());
            Err(
                Diagnostic::error("json-syntax", location, format!("invalid JSON: {message}"))
                    .with_help("fix the JSON syntax here (check commas, quotes and brackets)")
                    .into(),
            )
        }
        // Not a syntax error (e.g. serde_json's own nesting limit): report the builder's finding.
        Err(_) => Err(yaml_diagnostic(path, &yaml_error).into()),
    }
}

/// serde_json appends " at line L column C"; the location already says that.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message.get(..at).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

fn yaml_diagnostic(path: &Path, error: &YamlError) -> Diagnostic {
    let code = match error {
        YamlError::Syntax { .. } => "yaml-syntax",
        YamlError::TooDeep { .. } => "yaml-too-deep",
        YamlError::AliasBudget { .. } => "yaml-alias-limit",
        YamlError::UnknownAlias { .. } => "yaml-unknown-alias",
        YamlError::ComplexKey { .. } => "yaml-complex-key",
        YamlError::BadMerge { .. } => "yaml-bad-merge",
        YamlError::MultipleDocuments { .. } => "yaml-multiple-documents",
    };
    let (line, col) = error.line_col();
    let message = match error {
        YamlError::Syntax { message, .. } => format!("invalid YAML: {message}"),
        other => other.to_string(),
    };
    Diagnostic::error(code, Location::line(path, "", line, col), message).with_help(error.help())
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn only(diagnostics: Diagnostics) -> Diagnostic {
        let mut all: Vec<Diagnostic> = diagnostics.into_iter().collect();
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn parses_yaml_and_json_by_extension_or_content() {
        let yaml = parse_document(Path::new("./specs/../a.yaml"), b"openapi: 3.0.3\n").unwrap();
        assert_eq!(yaml.format, Format::Yaml);
        assert_eq!(yaml.path, PathBuf::from("a.yaml"));
        assert_eq!(yaml.value, json!({"openapi": "3.0.3"}));
        let json =
            parse_document(Path::new("spec"), b"\xEF\xBB\xBF {\"a\": [1, 2.5, null]}").unwrap();
        assert_eq!(json.format, Format::Json);
        assert_eq!(json.value, json!({"a": [1, 2.5, null]}));
        assert_eq!(json.positions.get("/a/1"), Some((1, 12)));
        // The hash is of the bytes as read, byte-order mark included.
        assert_eq!(
            json.sha256,
            sha256_hex(b"\xEF\xBB\xBF {\"a\": [1, 2.5, null]}")
        );
        assert_ne!(json.sha256, sha256_hex(b" {\"a\": [1, 2.5, null]}"));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn json_surrogate_pairs_keep_values_and_columns() {
        let text = r#"{"s": "\ud83d\ude00", "t": 1}"#;
        let doc = parse_document(Path::new("a.json"), text.as_bytes()).unwrap();
        assert_eq!(doc.value, json!({"s": "😀", "t": 1}));
        assert_eq!(doc.positions.get("/t"), Some((1, 23)));
    }

    #[test]
    fn json_that_the_yaml_scanner_rejects_still_loads() {
        // saphyr wants a space, not a tab, after `:`; JSON does not care.
        let text = "{\"a\":\t1}";
        assert!(yaml::parse(text).is_err());
        let doc = parse_document(Path::new("a.json"), text.as_bytes()).unwrap();
        assert_eq!(doc.value, json!({"a": 1}));
        assert!(doc.positions.is_empty());
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let d = only(
            parse_document(Path::new("dir/a.json"), b"{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err(),
        );
        assert_eq!(d.code, "json-syntax");
        assert_eq!(d.location, Location::line("dir/a.json", "", 3, 7));
        assert!(
            d.message.starts_with("invalid JSON: expected `:`"),
            "{}",
            d.message
        );
        assert!(d.help.is_some());
    }

    #[test]
    fn invalid_yaml_reports_line_and_column() {
        let d =
            only(parse_document(Path::new("a.yaml"), b"a: 1\nb: \"unterminated\n").unwrap_err());
        assert_eq!(d.code, "yaml-syntax");
        let Location::InFile {
            line_col: Some((line, _)),
            ..
        } = d.location
        else {
            panic!("no line: {:?}", d.location);
        };
        assert!(line >= 2);
        let d = only(parse_document(Path::new("a.yaml"), b"a: 1\n---\nb: 2\n").unwrap_err());
        assert_eq!(d.code, "yaml-multiple-documents");
        assert_eq!(d.location, Location::line("a.yaml", "", 2, 1));
    }

    #[test]
    fn rejects_non_utf8_with_its_line() {
        let d = only(parse_document(Path::new("a.yaml"), b"a: 1\nb: caf\xE9\n").unwrap_err());
        assert_eq!(d.code, "file-not-utf8");
        assert_eq!(d.location, Location::line("a.yaml", "", 2, 7));
        let d = only(parse_document(Path::new("a.yaml"), b"\xFF\xFEa\x00").unwrap_err());
        assert_eq!(d.code, "file-not-utf8");
    }

    #[test]
    fn duplicate_keys_become_diagnostics_of_the_chosen_severity() {
        let doc = parse_document(Path::new("a.yaml"), b"a: 1\na: 2\n").unwrap();
        assert_eq!(doc.value, json!({"a": 2}));
        let d = only(doc.duplicate_key_diagnostics(Severity::Warning));
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.location, Location::line("a.yaml", "/a", 2, 1));
        assert_eq!(
            d.message,
            "key repeats the one on line 1; the last one is used"
        );
    }

    #[test]
    fn reading_refuses_directories_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            only(read_document(dir.path()).unwrap_err()).code,
            "file-is-directory"
        );
        assert_eq!(
            only(read_document(&dir.path().join("nope.yaml")).unwrap_err()).code,
            "file-not-found"
        );
        let file = dir.path().join("ok.yaml");
        std::fs::write(&file, "x: [1]\n").unwrap();
        let doc = read_document(&file).unwrap();
        assert_eq!(doc.value, json!({"x": [1]}));
        assert_eq!(
            doc.location("/x/0"),
            Location::line(display_form(&file), "/x/0", 1, 5)
        );
    }

    /// A JSON file's text is not kept: its positions, computed for the first diagnostic that
    /// needs one, come from reading it again (byte-order mark and all), and only while its
    /// bytes are the ones parsed; after a change, locations keep their pointer without a line.
    #[test]
    fn json_positions_read_the_file_again_while_it_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("spec.json");
        std::fs::write(&file, "\u{FEFF}{\n  \"a\": [1, 2]\n}\n").unwrap();
        let doc = read_document(&file).unwrap();
        assert_eq!(doc.value, json!({"a": [1, 2]}));
        assert_eq!(doc.positions.get("/a/1"), Some((2, 12)));

        let changed = read_document(&file).unwrap();
        std::fs::write(&file, "{\n\n  \"a\": [1, 2]\n}\n").unwrap();
        assert_eq!(changed.positions.get("/a/1"), None);
        assert_eq!(
            changed.location("/a/1"),
            Location::InFile {
                path: display_form(&file),
                pointer: "/a/1".to_owned(),
                line_col: None,
            }
        );
        std::fs::remove_file(&file).unwrap();
        let gone = read_document(&dir.path().join("gone.json"));
        assert!(gone.is_err());
    }

    /// `cargo test --release --lib twilio_json_timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing probe, run by hand in release mode"]
    fn twilio_json_timing() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/corpus/twilio-api-v2010.json"
        ));
        let bytes = std::fs::read(path).unwrap();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let doc = parse_document(path, &bytes).unwrap();
            let ours = start.elapsed();
            let start = std::time::Instant::now();
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            let theirs = start.elapsed();
            assert_eq!(
                serde_json::to_string(&doc.value).unwrap(),
                serde_json::to_string(&value).unwrap()
            );
            println!(
                "parse_document {ours:?} ({} positions), serde_json {theirs:?}",
                doc.positions.len()
            );
        }
        let yaml = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/corpus/mulesoft-anypoint-access-management.yaml"
        ));
        let bytes = std::fs::read(yaml).unwrap();
        let start = std::time::Instant::now();
        let doc = parse_document(yaml, &bytes).unwrap();
        println!(
            "1.6 MB YAML {:?} ({} positions)",
            start.elapsed(),
            doc.positions.len()
        );
    }
}
