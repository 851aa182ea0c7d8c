//! Scrubbing the server's own secrets out of everything it sends.
//!
//! Owns [`Scrubber`]: the credential values the server holds (and the tokens of one call) are
//! replaced by `[REDACTED]` in every text, JSON string and member name that leaves the server or
//! reaches a log line, whatever path produced it.

use serde_json::Value;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::response::shape::REDACTED;

/// The other forms of a secret that may carry it: percent-encoded, form-encoded, JSON with `/`
/// escaped (only those that differ from the secret).
fn forms(secret: &str) -> impl Iterator<Item = String> + use<> {
    let percent = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let form = serde_urlencoded::to_string([("", secret)])
        .map(|pair| pair.trim_start_matches('=').to_owned())
        .unwrap_or_default();
    let json = secret.replace('/', "\\/");
    let original = secret.to_owned();
    [percent, form, json]
        .into_iter()
        .filter(move |f| !f.is_empty() && *f != original)
}

/// Shortest secret value the [`Scrubber`] replaces.
pub const MIN_SCRUBBED_LEN: usize = 6;

/// Replaces known secret values in text and JSON strings.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// A scrubber for these values; values shorter than [`MIN_SCRUBBED_LEN`] characters are
    /// ignored (replacing them would mangle ordinary text without protecting anything).
    /// Each secret is also looked for in the forms it takes when sent or echoed: percent-encoded
    /// (a query API key), form-encoded, and with `/` escaped as JSON writers may.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SCRUBBED_LEN)
            .flat_map(|s| forms(&s).chain(std::iter::once(s)).collect::<Vec<_>>())
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Scrubber { secrets }
    }

    /// A copy that also replaces `more` (the tokens of one call).
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> Scrubber {
        // Forms of the secrets already here are there too; adding them again is harmless.
        Scrubber::new(self.secrets.iter().cloned().chain(more))
    }

    /// The text with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// The text with every secret replaced wherever it occurs in any ASCII case: for text an
    /// upstream wrote into a URL, whose host the URL parser lower-cases.
    pub fn text_ignoring_case(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            let needle = secret.to_ascii_lowercase();
            let mut from = 0;
            // ASCII lower-casing keeps every byte offset, so positions found in the lower-cased
            // text are positions in `out`.
            while let Some(at) = out.to_ascii_lowercase()[from..].find(&needle) {
                let at = from + at;
                out.replace_range(at..at + needle.len(), REDACTED);
                from = at + REDACTED.len();
            }
        }
        out
    }

    /// Whether raw bytes hold one of the secrets (a binary body is then not shown).
    pub fn found_in(&self, bytes: &[u8]) -> bool {
        self.secrets.iter().any(|secret| {
            let needle = secret.as_bytes();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
    }

    /// Text cut off at a limit, scrubbed: a secret the cut split (its start at the very end)
    /// is removed too.
    pub fn cut_text(&self, text: &str) -> String {
        let mut out = self.text(text);
        let longest = self
            .secrets
            .iter()
            .filter_map(|secret| {
                (1..secret.len())
                    .rev()
                    .filter(|n| secret.is_char_boundary(*n))
                    .find(|n| out.ends_with(&secret[..*n]))
            })
            .max();
        if let Some(n) = longest {
            out.truncate(out.len() - n);
        }
        out
    }

    /// Scrubs every string (and member name) in a JSON value.
    pub fn value(&self, value: &mut Value) {
        if self.secrets.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.text(s),
            // A numeric secret echoed as a number.
            Value::Number(n) => {
                let text = n.to_string();
                if self.text(&text) != text {
                    *value = Value::String(REDACTED.into());
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(members) => {
                let old = std::mem::take(members);
                for (k, mut v) in old {
                    self.value(&mut v);
                    members.insert(self.text(&k), v);
                }
            }
            _ => {}
        }
    }
}
