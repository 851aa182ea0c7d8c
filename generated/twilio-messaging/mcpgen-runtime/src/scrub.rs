//! Scrubbing the server's own secrets out of everything it sends.
//!
//! Owns [`Scrubber`]: the credential values the server holds (and the tokens of one call) are
//! replaced by `[REDACTED]` in every text, JSON string and member name that leaves the server or
//! reaches a log line, whatever path produced it.

use serde_json::Value;

use crate::shape::REDACTED;

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
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SCRUBBED_LEN)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Scrubber { secrets }
    }

    /// A copy that also replaces `more` (the tokens of one call).
    pub fn with(&self, more: impl IntoIterator<Item = String>) -> Scrubber {
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

    /// Scrubs every string (and member name) in a JSON value.
    pub fn value(&self, value: &mut Value) {
        if self.secrets.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.text(s),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubber_replaces_secrets_in_text_values_and_keys() {
        let scrubber = Scrubber::new(["abcde".into(), "token-1".into(), "token-12".into()]);
        assert_eq!(
            scrubber.text("x token-12 token-1 abcde"),
            "x [REDACTED] [REDACTED] abcde"
        );
        let mut v = json!({"token-1": ["a token-1", 5], "k": {"n": "token-12"}});
        scrubber.value(&mut v);
        assert_eq!(
            v,
            json!({"[REDACTED]": ["a [REDACTED]", 5], "k": {"n": "[REDACTED]"}})
        );
    }

    #[test]
    fn scrubbing_can_ignore_case() {
        let scrubber = Scrubber::new(["Key-AbC123".into(), "[REDACTED]x".into()]);
        assert_eq!(
            scrubber.text_ignoring_case("https://key-abc123.evil.test/KEY-ABC123/é/key-abc12"),
            "https://[REDACTED].evil.test/[REDACTED]/é/key-abc12"
        );
        // A secret that the replacement itself would spell again is not looked for inside it.
        assert_eq!(scrubber.text_ignoring_case("[redacted]x"), "[REDACTED]");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(
            crate::result::truncate("héllo", 2),
            "h… (truncated; 6 bytes in total)"
        );
        assert_eq!(crate::result::truncate("abc", 3), "abc");
    }
}
