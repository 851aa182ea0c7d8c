//! The caller as every layer sees it: subject, client, scopes, and their own token.
//!
//! A plain value: [`crate::identity::caller`] makes one from a checked bearer token, settings
//! make the stdio caller's from flags; the call pipeline, the HTTP layer and `tools/list` ask it
//! which scopes a tool needs that it lacks ([`Principal::missing_scopes`]), the one predicate
//! behind every scope decision.

use std::collections::BTreeSet;

use crate::support::secret::Secret;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject (`sub`), or the stdio principal's configured name.
    pub subject: String,
    /// The OAuth client the token was issued to, when known.
    pub client_id: Option<String>,
    /// Scopes granted.
    pub scopes: BTreeSet<String>,
    /// The caller's own access token (token exchange and passthrough use it).
    pub token: Option<Secret>,
}

impl Principal {
    /// A principal holding these scopes and no token.
    pub fn new<S: Into<String>>(
        subject: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Principal {
            subject: subject.into(),
            client_id: None,
            scopes: scopes.into_iter().map(Into::into).collect(),
            token: None,
        }
    }

    /// The scopes of `required` this principal lacks, in order (empty: allowed).
    pub fn missing_scopes<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required
            .iter()
            .copied()
            .filter(|s| !self.scopes.contains(*s))
            .collect()
    }

    /// Whether the principal holds every scope in `required`.
    pub fn allows(&self, required: &[&str]) -> bool {
        self.missing_scopes(required).is_empty()
    }
}
