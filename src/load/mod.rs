//! Loading: the only stage that reads input files.
//!
//! Owns reading spec files (OpenAPI 3.0.x, 3.1.x and Swagger 2.0, in JSON or YAML) and every file
//! they reach through relative `$ref`s, upgrading Swagger 2.0 to the OpenAPI 3.0 shape, resolving
//! `$ref`s for later stages, and reading the annotation file. Everything it hands on is in memory
//! with source positions. It must not validate what a spec means, select operations or apply
//! policy (that is `lower`), and nothing else in mcpgen may read input files.

mod contract_file;
mod document;
mod git;
mod json;
mod origins;
mod overlay;
mod paths;
pub mod pointer;
mod positions;
mod project;
mod quoted_indent;
mod refs;
mod resolve;
mod scalar;
mod spec;
mod spec_hint;
mod spec_loader;
mod surrogates;
mod swagger2;
mod version;
mod yaml;

pub use contract_file::{is_contract_file, read_contract};
pub use document::{Document, Format, MAX_FILE_BYTES, parse_document, read_document};
pub use git::{Revision, export_revision};
pub use paths::DocKey;
pub use pointer::{escape_token, push_token};
pub use positions::Positions;
pub use project::{
    Project, common_root, load_project, load_project_with_spec, project_from_text, relative_path,
};
pub use resolve::{ResolveError, Resolved};
pub use spec::SpecSet;
pub use spec_loader::load_spec;
pub use swagger2::UPGRADED_VERSION;
pub use version::SpecVersion;
pub use yaml::{DuplicateKey, MAX_ALIAS_NODES, MAX_DEPTH};

/// A spec set parsed from text, for unit tests of later stages.
#[cfg(test)]
pub fn parse_spec_for_tests(text: &str) -> SpecSet {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("openapi.yaml");
    std::fs::write(&path, text).expect("write test spec");
    load_spec(&path, dir.path())
        .unwrap_or_else(|e| panic!("test spec does not load:\n{}", e.render()))
}
