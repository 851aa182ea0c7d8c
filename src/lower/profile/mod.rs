//! Client profiles (`server.profiles`): what each AI client accepts in a tool's input schema
//! (`rules`), and the rewrite that makes a schema fit them (`rewrite`). The rewrite only touches
//! the schema clients see; the server checks arguments against the schema before it.

mod gemini;
pub mod rewrite;
pub mod rules;

use std::collections::BTreeSet;

/// Paths as a short list for a note: the first eight in backticks, then how many more.
fn list(paths: &BTreeSet<String>) -> String {
    const SHOWN: usize = 8;
    let mut shown: Vec<String> = paths.iter().take(SHOWN).map(|p| format!("`{p}`")).collect();
    if paths.len() > SHOWN {
        shown.push(format!("and {} more", paths.len() - SHOWN));
    }
    shown.join(", ")
}
