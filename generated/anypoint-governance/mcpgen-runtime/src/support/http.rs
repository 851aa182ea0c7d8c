//! What every HTTP client of the server shares: the TLS crypto provider, and how a reqwest
//! error is told (its chain of causes, never the URL, whose query may carry an API key).

use std::error::Error as _;

/// Installs rustls' `ring` crypto provider as the process default (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest error and its causes, without the URL, joined by ": " (a timeout is told as "timed
/// out", then its causes).
pub fn error_text(error: reqwest::Error) -> String {
    let timeout = error.is_timeout();
    let error = error.without_url();
    let mut text = if timeout {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
