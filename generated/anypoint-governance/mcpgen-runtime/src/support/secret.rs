//! Values that must never be printed, and the rules every secret the server holds follows.

use std::fmt;

/// Shortest configured shared key (`--confirmation-secret-env`), in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// Placeholder written into a dry-run request for hidden and secret values (alphanumeric, so
/// percent-encoding leaves it alone), shown as `****`.
pub const MASK: &str = "MCPGENHIDDENVALUE";

/// A value that must never be printed: `Debug` and `Display` show `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}
