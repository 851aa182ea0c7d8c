//! YAML (and JSON, which YAML 1.2 contains) to `serde_json::Value`, with positions.
//!
//! Owns the event-driven tree builder on top of `saphyr-parser`: core-schema scalars, string
//! keys taken from source text, anchors and aliases (by cloning, under a size budget), merge keys,
//! a nesting limit, duplicate-key recording and one position per node. Works on a `&str` only:
//! must not read files or decide what a document means.

use std::collections::{BTreeMap, BTreeSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::pointer;
use super::positions::Positions;
use super::quoted_indent;
use super::scalar::{self, CoreTag, Style};

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 256;

/// Most nodes that anchors and aliases may copy in one document (billion-laughs defence).
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// A mapping key that appeared twice in the same mapping (the last one wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Pointer to the member whose key is repeated.
    pub pointer: String,
    /// 1-based line and column of the repeated key.
    pub line_col: (usize, usize),
    /// 1-based line and column of the first occurrence, where it was recorded.
    pub first: Option<(usize, usize)>,
}

/// A comment on the line where a plain (unquoted) scalar value ends: `text: ask on #general`
/// means the text `ask on`, which its author may not have meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailingComment {
    /// Pointer to the scalar.
    pub pointer: String,
    /// 1-based line and column of the `#`.
    pub line_col: (usize, usize),
    /// The comment, from `#` to the end of the line (trailing blanks left out).
    pub text: String,
}

/// A parsed YAML document.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The document as JSON; `null` for an empty stream.
    pub value: Value,
    /// Position of every node.
    pub positions: Positions,
    /// Keys repeated within one mapping, in source order.
    pub duplicate_keys: Vec<DuplicateKey>,
    /// Comments on the line where a plain scalar value ends, in source order.
    pub trailing_comments: Vec<TrailingComment>,
}

impl Parsed {
    /// Replaces every recorded position by `f(position)`.
    pub fn remap(&mut self, f: impl Fn((usize, usize)) -> (usize, usize)) {
        for duplicate in &mut self.duplicate_keys {
            duplicate.line_col = f(duplicate.line_col);
            duplicate.first = duplicate.first.map(&f);
        }
        for comment in &mut self.trailing_comments {
            comment.line_col = f(comment.line_col);
        }
        self.positions.remap(f);
    }
}

/// Why a YAML text could not be turned into a value. Positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The scanner or parser rejected the text.
    #[error("{message}")]
    Syntax {
        /// Where.
        line_col: (usize, usize),
        /// The parser's explanation.
        message: String,
    },
    /// Mappings and sequences nest deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// Where the level past the limit starts.
        line_col: (usize, usize),
        /// The limit.
        limit: usize,
    },
    /// Anchors and aliases would copy more than [`MAX_ALIAS_NODES`] nodes.
    #[error("aliases expand to more than {limit} nodes")]
    AliasBudget {
        /// The alias or anchor that went over.
        line_col: (usize, usize),
        /// The limit.
        limit: usize,
    },
    /// An alias names an anchor that is not defined before it, or that contains the alias.
    #[error("alias refers to an anchor that is not complete at this point")]
    UnknownAlias {
        /// The alias.
        line_col: (usize, usize),
    },
    /// A mapping or sequence is used as a mapping key; JSON keys are strings.
    #[error("mapping key is a mapping or sequence, not a scalar")]
    ComplexKey {
        /// The key.
        line_col: (usize, usize),
    },
    /// A merge key (`<<`) whose value is not a mapping or a sequence of mappings.
    #[error("merge key `<<` needs a mapping or a sequence of mappings")]
    BadMerge {
        /// The merge key.
        line_col: (usize, usize),
    },
    /// The stream holds more than one document.
    #[error("more than one YAML document in the file")]
    MultipleDocuments {
        /// Where the second document starts.
        line_col: (usize, usize),
    },
}

impl YamlError {
    /// 1-based line and column of the problem.
    pub fn line_col(&self) -> (usize, usize) {
        match self {
            YamlError::Syntax { line_col, .. }
            | YamlError::TooDeep { line_col, .. }
            | YamlError::AliasBudget { line_col, .. }
            | YamlError::UnknownAlias { line_col }
            | YamlError::ComplexKey { line_col }
            | YamlError::BadMerge { line_col }
            | YamlError::MultipleDocuments { line_col } => *line_col,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            YamlError::Syntax { .. } => {
                "fix the YAML syntax here (check indentation, quoting and the `key: value` shape)"
            }
            YamlError::TooDeep { .. } => {
                "flatten the document, e.g. move nested schemas to `components` and `$ref` them"
            }
            YamlError::AliasBudget { .. } => {
                "use `$ref` instead of deeply nested YAML aliases (this limit guards against alias bombs)"
            }
            YamlError::UnknownAlias { .. } => {
                "define the anchor (`&name`) before the alias (`*name`) and outside of it"
            }
            YamlError::ComplexKey { .. } => "use a plain string as the key",
            YamlError::BadMerge { .. } => "merge an alias of a mapping: `<<: *defaults`",
            YamlError::MultipleDocuments { .. } => {
                "keep one document per file (remove the extra `---`)"
            }
        }
    }
}

/// Most quoted scalars re-indented in one document before giving up.
const MAX_REINDENTS: usize = 10_000;

/// Parses one YAML document.
///
/// Multi-line quoted scalars whose continuation lines are indented no deeper than their mapping
/// key are accepted, as PyYAML and libyaml accept them (real specs have them) while
/// saphyr-parser rejects them: see [`quoted_indent`].
pub fn parse(text: &str) -> Result<Parsed, YamlError> {
    let first = match parse_events(text) {
        Err(error) if is_quoted_indent_error(&error) => error,
        other => return other,
    };
    let mut text = text.to_owned();
    let mut shifts = quoted_indent::Shifts::default();
    let mut error = first.clone();
    for _ in 0..MAX_REINDENTS {
        if !quoted_indent::reindent(&mut text, error.line_col(), &mut shifts) {
            return Err(first);
        }
        match parse_events(&text) {
            Err(next) if is_quoted_indent_error(&next) && next != error => error = next,
            Err(next) => return Err(mapped_back(&shifts, next)),
            Ok(mut parsed) => {
                parsed.remap(|line_col| shifts.original(line_col));
                return Ok(parsed);
            }
        }
    }
    Err(first)
}

/// Whether a parse error is the one [`quoted_indent`] works around.
fn is_quoted_indent_error(error: &YamlError) -> bool {
    matches!(error, YamlError::Syntax { message, .. } if quoted_indent::is_quoted_indent_message(message))
}

/// An error in re-indented text with its position mapped back to the original text.
fn mapped_back(shifts: &quoted_indent::Shifts, error: YamlError) -> YamlError {
    match error {
        YamlError::Syntax { line_col, message } => YamlError::Syntax {
            line_col: shifts.original(line_col),
            message,
        },
        other => other,
    }
}

fn parse_events(text: &str) -> Result<Parsed, YamlError> {
    let mut builder = Builder {
        source: Source::new(text),
        ..Builder::default()
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError::Syntax {
            line_col: (e.marker().line(), e.marker().col() + 1),
            message: e.info().to_owned(),
        })?;
        builder.on_event(event, span)?;
    }
    Ok(Parsed {
        value: builder.root.unwrap_or(Value::Null),
        positions: builder.positions,
        duplicate_keys: builder.duplicate_keys,
        trailing_comments: builder.trailing_comments,
    })
}

/// The text being parsed, read where scalars end to find the comments that follow them.
/// Scalars end in source order, so a cursor turns their character offsets into byte offsets in
/// one pass over the text.
#[derive(Debug, Default)]
struct Source<'a> {
    text: &'a str,
    /// Byte offset and character offset of the same place.
    cursor: (usize, usize),
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        Source {
            text,
            cursor: (0, 0),
        }
    }

    /// The comment that follows, on the same line and after blanks, the character offset
    /// `end`: its text, and how many blanks come before it.
    fn comment_after(&mut self, end: usize) -> Option<(usize, &'a str)> {
        if end < self.cursor.1 {
            self.cursor = (0, 0);
        }
        let (mut byte, mut chars) = self.cursor;
        for c in self.text.get(byte..)?.chars() {
            if chars == end {
                break;
            }
            byte += c.len_utf8();
            chars += 1;
        }
        self.cursor = (byte, chars);
        let after = self.text.get(byte..)?;
        let comment = after.trim_start_matches([' ', '\t']);
        let blanks = after.len() - comment.len();
        if blanks == 0 || !comment.starts_with('#') {
            return None;
        }
        let line = comment.split(['\n', '\r']).next().unwrap_or_default();
        Some((blanks, line.trim_end()))
    }
}

/// A finished node kept for later aliases.
#[derive(Debug)]
struct Anchored {
    value: Value,
    nodes: usize,
    /// Source text when the node is a scalar (what it means as a key).
    key_text: Option<String>,
}

/// A mapping key waiting for its value.
#[derive(Debug)]
struct PendingKey {
    text: String,
    line_col: (usize, usize),
    merge: bool,
}

#[derive(Debug)]
enum Kind {
    Sequence(Vec<Value>),
    Mapping {
        map: Map<String, Value>,
        key: Option<PendingKey>,
        /// Keys written out in this mapping (merged keys may be overridden, these may not).
        explicit: BTreeSet<String>,
    },
}

/// A collection being built.
#[derive(Debug)]
struct Frame {
    kind: Kind,
    pointer: String,
    anchor: usize,
    /// Nodes in the finished children.
    nodes: usize,
}

/// Where the next node goes.
enum Slot {
    /// A value, with its pointer and whether its own start is its position (the root and
    /// sequence items; a mapping member is positioned at its key).
    Value(String, bool),
    /// A key of the mapping on top of the stack.
    Key,
}

#[derive(Debug, Default)]
struct Builder<'a> {
    source: Source<'a>,
    trailing_comments: Vec<TrailingComment>,
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    anchors: BTreeMap<usize, Anchored>,
    copied_nodes: usize,
    positions: Positions,
    duplicate_keys: Vec<DuplicateKey>,
}

fn line_col(span: Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

fn core_tag(tag: Option<&Tag>) -> Option<CoreTag> {
    let tag = tag?;
    if tag.is_yaml_core_schema() {
        return match tag.suffix.as_str() {
            "str" => Some(CoreTag::Str),
            "null" | "bool" | "int" | "float" => Some(CoreTag::Resolve),
            _ => None,
        };
    }
    // The non-specific tag `!` forces a string; any other tag is ignored.
    (tag.handle.is_empty() && tag.suffix == "!").then_some(CoreTag::Str)
}

impl Builder<'_> {
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let at = line_col(span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError::MultipleDocuments { line_col: at });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    _ => Style::Quoted,
                };
                let merge = style == Style::Plain && text == "<<";
                match self.slot() {
                    Slot::Key => {
                        if anchor != 0 {
                            let value = Value::String(text.to_string());
                            self.remember(anchor, &value, 1, Some(text.to_string()), at)?;
                        }
                        self.set_key(text.into_owned(), at, merge);
                    }
                    Slot::Value(pointer, own_position) => {
                        if style == Style::Plain
                            && let Some((blanks, comment)) =
                                self.source.comment_after(span.end.index())
                        {
                            self.trailing_comments.push(TrailingComment {
                                pointer: pointer.clone(),
                                line_col: (span.end.line(), span.end.col() + 1 + blanks),
                                text: comment.to_owned(),
                            });
                        }
                        let value = scalar::resolve(&text, style, core_tag(tag.as_deref()));
                        if own_position {
                            self.positions.insert(pointer, at);
                        }
                        let key_text = (anchor != 0).then(|| text.into_owned());
                        self.finish(value, 1, anchor, key_text, at)?;
                    }
                }
            }
            Event::SequenceStart(anchor, _) => self.open(Kind::Sequence(Vec::new()), anchor, at)?,
            Event::MappingStart(anchor, _) => {
                let kind = Kind::Mapping {
                    map: Map::new(),
                    key: None,
                    explicit: BTreeSet::new(),
                };
                self.open(kind, anchor, at)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(at)?,
            Event::Alias(id) => self.alias(id, at)?,
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    /// Where the next node goes: the root, a sequence item, a mapping value or a mapping key.
    fn slot(&self) -> Slot {
        match self.stack.last() {
            None => Slot::Value(String::new(), true),
            Some(Frame {
                kind: Kind::Sequence(items),
                pointer,
                ..
            }) => Slot::Value(pointer::push_token(pointer, &items.len().to_string()), true),
            Some(Frame {
                kind: Kind::Mapping { key: Some(key), .. },
                pointer,
                ..
            }) => Slot::Value(pointer::push_token(pointer, &key.text), false),
            Some(Frame {
                kind: Kind::Mapping { key: None, .. },
                ..
            }) => Slot::Key,
        }
    }

    /// Records a key of the mapping on top of the stack, noting duplicates.
    fn set_key(&mut self, text: String, at: (usize, usize), merge: bool) {
        let Some(Frame {
            kind: Kind::Mapping { map, key, explicit },
            pointer,
            ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        let member = pointer::push_token(pointer, &text);
        if !merge {
            if !explicit.insert(text.clone()) {
                self.duplicate_keys.push(DuplicateKey {
                    pointer: member.clone(),
                    line_col: at,
                    first: self.positions.get(&member),
                });
            }
            if map.contains_key(&text) {
                // The earlier value (written out or merged in) is replaced: forget its positions.
                self.positions.remove_subtree(&member);
            }
        }
        self.positions.insert(member, at);
        *key = Some(PendingKey {
            text,
            line_col: at,
            merge,
        });
    }

    fn open(&mut self, kind: Kind, anchor: usize, at: (usize, usize)) -> Result<(), YamlError> {
        let Slot::Value(pointer, own_position) = self.slot() else {
            return Err(YamlError::ComplexKey { line_col: at });
        };
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::TooDeep {
                line_col: at,
                limit: MAX_DEPTH,
            });
        }
        if own_position {
            self.positions.insert(pointer.clone(), at);
        }
        self.stack.push(Frame {
            kind,
            pointer,
            anchor,
            nodes: 0,
        });
        Ok(())
    }

    fn close(&mut self, at: (usize, usize)) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        // Kept at exactly its size: a grown map or sequence has up to half its room spare, a
        // quarter of a large spec's memory.
        let value = match frame.kind {
            Kind::Sequence(mut items) => {
                items.shrink_to_fit();
                Value::Array(items)
            }
            Kind::Mapping { map, .. } => {
                let mut exact = Map::with_capacity(map.len());
                exact.extend(map);
                Value::Object(exact)
            }
        };
        self.finish(value, frame.nodes + 1, frame.anchor, None, at)
    }

    fn alias(&mut self, id: usize, at: (usize, usize)) -> Result<(), YamlError> {
        let Some((nodes, key_text)) = self.anchors.get(&id).map(|a| (a.nodes, a.key_text.clone()))
        else {
            return Err(YamlError::UnknownAlias { line_col: at });
        };
        match self.slot() {
            Slot::Key => {
                let Some(text) = key_text else {
                    return Err(YamlError::ComplexKey { line_col: at });
                };
                self.set_key(text, at, false);
                Ok(())
            }
            Slot::Value(pointer, own_position) => {
                // Check the budget before copying anything.
                self.spend(nodes, at)?;
                let value = self
                    .anchors
                    .get(&id)
                    .map(|a| a.value.clone())
                    .unwrap_or_default();
                if own_position {
                    self.positions.insert(pointer, at);
                }
                self.finish(value, nodes, 0, None, at)
            }
        }
    }

    /// Counts nodes copied for anchors and aliases against the budget.
    fn spend(&mut self, nodes: usize, at: (usize, usize)) -> Result<(), YamlError> {
        self.copied_nodes = self.copied_nodes.saturating_add(nodes);
        if self.copied_nodes > MAX_ALIAS_NODES {
            return Err(YamlError::AliasBudget {
                line_col: at,
                limit: MAX_ALIAS_NODES,
            });
        }
        Ok(())
    }

    fn remember(
        &mut self,
        anchor: usize,
        value: &Value,
        nodes: usize,
        key_text: Option<String>,
        at: (usize, usize),
    ) -> Result<(), YamlError> {
        self.spend(nodes, at)?;
        self.anchors.insert(
            anchor,
            Anchored {
                value: value.clone(),
                nodes,
                key_text,
            },
        );
        Ok(())
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn finish(
        &mut self,
        value: Value,
        nodes: usize,
        anchor: usize,
        key_text: Option<String>,
        at: (usize, usize),
    ) -> Result<(), YamlError> {
        if anchor != 0 {
            self.remember(anchor, &value, nodes, key_text, at)?;
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        parent.nodes = parent.nodes.saturating_add(nodes);
        match &mut parent.kind {
            Kind::Sequence(items) => items.push(value),
            Kind::Mapping { map, key, .. } => {
                let Some(key) = key.take() else {
                    return Ok(());
                };
                if key.merge {
                    let merge_pointer = pointer::push_token(&parent.pointer, "<<");
                    self.positions.remove_subtree(&merge_pointer);
                    merge_into(
                        map,
                        value,
                        &parent.pointer,
                        key.line_col,
                        &mut self.positions,
                    )?;
                } else {
                    map.insert(key.text, value);
                }
            }
        }
        Ok(())
    }
}

/// Applies a merge key: members of the merged mapping(s) that the mapping does not have yet are
/// added; with a sequence, earlier mappings win over later ones.
fn merge_into(
    map: &mut Map<String, Value>,
    merged: Value,
    pointer: &str,
    at: (usize, usize),
    positions: &mut Positions,
) -> Result<(), YamlError> {
    let sources = match merged {
        Value::Object(source) => vec![source],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(source) => Ok(source),
                _ => Err(YamlError::BadMerge { line_col: at }),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(YamlError::BadMerge { line_col: at }),
    };
    for source in sources {
        for (key, value) in source {
            if !map.contains_key(&key) {
                positions.insert(pointer::push_token(pointer, &key), at);
                map.insert(key, value);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
