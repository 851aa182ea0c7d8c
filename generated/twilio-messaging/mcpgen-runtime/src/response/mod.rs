//! The MCP result made of an upstream answer: the allowlist and redactions, the name rules,
//! pruning to the output schema, the result budget, and scrubbing every secret the server holds.

pub mod budget;
pub mod conform;
pub mod names;
pub mod result;
pub mod scrub;
pub mod shape;
