//! The result budget: how much of an upstream answer a model is shown.
//!
//! Clients cap a tool result near 25k tokens, so a result is cut to the tool's budget
//! (`max_result_tokens`, counted as [`BYTES_PER_TOKEN`] bytes of JSON text per token, the estimate
//! `mcpgen lint` also uses) before it leaves the server. JSON is cut to JSON, never to broken
//! text, by cutting one part that can absorb the excess: the largest such array loses items
//! from its end, else the longest such string its tail (marked with [`CUT_MARK`]), else the
//! innermost such object (a map of records) members from its end. Each step removes members, items or characters, so a value that conformed to a
//! descriptive output schema still does (no such schema counts items or bounds a string). Pure:
//! the caller turns the [`Cut`]s into a note for the model.

use std::fmt;

use serde_json::Value;

/// Bytes of JSON text counted as one token.
pub const BYTES_PER_TOKEN: usize = 4;

/// Appended to a string whose tail was cut.
pub const CUT_MARK: &str = "…[cut]";

/// Strings shorter than this (in bytes) are never cut: they carry ids and names, not bulk.
const MIN_CUT_STRING: usize = 256;

/// Most cutting rounds before giving up (each round empties a container or fits the budget).
const MAX_ROUNDS: usize = 256;

/// The budget in bytes for `tokens` tokens.
pub fn bytes_for_tokens(tokens: u32) -> usize {
    usize::try_from(tokens)
        .unwrap_or(usize::MAX)
        .saturating_mul(BYTES_PER_TOKEN)
}

/// One place where a value was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// JSON pointer of the array, string or object that was cut (`""`: the whole value).
    pub at: String,
    /// What it kept.
    pub kept: usize,
    /// What it had.
    pub total: usize,
    /// What was counted.
    pub unit: Unit,
}

/// What a [`Cut`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Array items.
    Items,
    /// Characters of a string.
    Characters,
    /// Object members.
    Members,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Items => "items",
            Unit::Characters => "characters",
            Unit::Members => "members",
        };
        let at = if self.at.is_empty() {
            "(root)"
        } else {
            &self.at
        };
        write!(f, "{at}: {} of {} {unit} shown", self.kept, self.total)
    }
}

/// The length of `value` as compact JSON, counted as it is serialised (no copy is made).
pub fn json_len(value: &impl serde::Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => 0,
    }
}

/// Cuts `value` until its compact JSON fits in `max_bytes`; says where it cut. Returns no cut
/// when the value already fits. A value made only of short scalars may still not fit: the
/// caller checks [`json_len`] again when that matters.
pub fn fit(value: &mut Value, max_bytes: usize) -> Vec<Cut> {
    let mut cuts: Vec<Cut> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let size = json_len(value);
        if size <= max_bytes {
            break;
        }
        let mut largest = Largest {
            excess: size - max_bytes,
            ..Largest::default()
        };
        measure(value, &mut Vec::new(), &mut largest);
        let Some((path, unit)) = largest.pick() else {
            break;
        };
        let Some(target) = walk(value, &path) else {
            break;
        };
        let cut = shrink(target, size - max_bytes, unit, pointer(&path));
        // A container cut twice is reported once, with what it finally kept.
        match cuts
            .iter_mut()
            .find(|c| c.at == cut.at && c.unit == cut.unit)
        {
            Some(earlier) => earlier.kept = cut.kept,
            None => cuts.push(cut),
        }
    }
    cuts
}

/// Cuts `text` to at most `max_bytes` on a character boundary: `(kept text, characters in
/// total)`, or `None` when it fits.
pub fn fit_text(text: &str, max_bytes: usize) -> Option<(&str, usize)> {
    if text.len() <= max_bytes {
        return None;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some((&text[..end], text.chars().count()))
}

/// One step of a path into a value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Member(String),
    Item(usize),
}

/// What one cut can absorb: the largest array, the largest long string, and the smallest
/// object, each at least `excess` bytes (so one cut makes the value fit), and the largest array
/// of any size as a last resort.
#[derive(Debug, Default)]
struct Largest {
    excess: usize,
    array: Option<(usize, Vec<Step>)>,
    string: Option<(usize, Vec<Step>)>,
    object: Option<(usize, Vec<Step>)>,
    any_array: Option<(usize, Vec<Step>)>,
}

impl Largest {
    fn offer(slot: &mut Option<(usize, Vec<Step>)>, size: usize, path: &[Step], larger: bool) {
        let better = slot
            .as_ref()
            .is_none_or(|(best, _)| if larger { size > *best } else { size < *best });
        if better {
            *slot = Some((size, path.to_vec()));
        }
    }

    /// What to cut next: the main list (an array that can absorb the excess), else a long
    /// string, else the innermost object that can (a map of records), else the largest array.
    fn pick(self) -> Option<(Vec<Step>, Unit)> {
        self.array
            .map(|(_, p)| (p, Unit::Items))
            .or(self.string.map(|(_, p)| (p, Unit::Characters)))
            .or(self.object.map(|(_, p)| (p, Unit::Members)))
            .or(self.any_array.map(|(_, p)| (p, Unit::Items)))
    }
}

/// The JSON size of `value`, noting the largest cuttable parts on the way.
fn measure(value: &Value, path: &mut Vec<Step>, largest: &mut Largest) -> usize {
    match value {
        Value::Array(items) => {
            let mut size = 2 + items.len().saturating_sub(1);
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Item(i));
                size += measure(item, path, largest);
                path.pop();
            }
            if !items.is_empty() {
                if size >= largest.excess {
                    Largest::offer(&mut largest.array, size, path, true);
                }
                Largest::offer(&mut largest.any_array, size, path, true);
            }
            size
        }
        Value::Object(members) => {
            let mut size = 2 + members.len().saturating_sub(1);
            for (key, member) in members {
                path.push(Step::Member(key.clone()));
                size += json_len(key) + 1 + measure(member, path, largest);
                path.pop();
            }
            if !members.is_empty() && size >= largest.excess {
                Largest::offer(&mut largest.object, size, path, false);
            }
            size
        }
        Value::String(text) => {
            let size = json_len(text);
            if text.len() >= MIN_CUT_STRING && size >= largest.excess {
                Largest::offer(&mut largest.string, size, path, true);
            }
            size
        }
        scalar => json_len(scalar),
    }
}

fn walk<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter()
        .try_fold(value, |node, step| match (node, step) {
            (Value::Object(members), Step::Member(key)) => members.get_mut(key),
            (Value::Array(items), Step::Item(i)) => items.get_mut(*i),
            _ => None,
        })
}

/// Removes at least `excess` bytes from `target` (fewer when it runs out).
fn shrink(target: &mut Value, excess: usize, unit: Unit, at: String) -> Cut {
    match target {
        Value::Array(items) => {
            let total = items.len();
            let mut removed = 0;
            while removed < excess
                && let Some(item) = items.pop()
            {
                removed += json_len(&item) + 1;
            }
            Cut {
                at,
                kept: items.len(),
                total,
                unit,
            }
        }
        Value::Object(members) => {
            let total = members.len();
            let mut removed = 0;
            while removed < excess
                && let Some(key) = members.keys().next_back().cloned()
            {
                let member = members.shift_remove(&key).unwrap_or_default();
                removed += json_len(&key) + json_len(&member) + 2;
            }
            Cut {
                at,
                kept: members.len(),
                total,
                unit,
            }
        }
        Value::String(text) => {
            let total = text.chars().count();
            let keep = text.len().saturating_sub(excess + CUT_MARK.len());
            let mut end = keep;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push_str(CUT_MARK);
            Cut {
                at,
                kept: text.chars().count() - CUT_MARK.chars().count(),
                total,
                unit,
            }
        }
        _ => Cut {
            at,
            kept: 0,
            total: 0,
            unit,
        },
    }
}

fn pointer(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Member(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Step::Item(i) => format!("/{i}"),
        })
        .collect()
}
