//! mcpgen: turns OpenAPI specs plus an annotation file into a governed Rust MCP server crate.
//!
//! The pipeline has four stages, each in its own module, with a typed value between them:
//! `load` (read specs and the annotation file) → `lower` (validate, select, apply policy → IR)
//! → `emit` (IR → file contents, pure) → `write` (atomic, write-if-changed). See ARCHITECTURE.md.
#![deny(missing_docs)]

pub mod diag;
pub mod load;
