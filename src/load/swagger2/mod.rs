//! Swagger 2.0 → OpenAPI 3.0 shape, for the root document of a loaded spec.
//!
//! Owns the upgrade of the root's structure: servers, security schemes, and every path item and
//! operation (parameters, request bodies, responses), with the origin of each converted value so
//! that diagnostics point at the file as written. Schemas are carried as they are and
//! `#/definitions/…`, `#/parameters/…` and `#/responses/…` stay where they were, so every `$ref`
//! keeps resolving by pointer: this module must not rewrite the 2.0 schema dialect (`x-nullable`,
//! `type: file`, string `discriminator`), which later stages normalise.

mod body;
mod context;
mod operation;
mod params;
mod responses;
mod security;
mod servers;

use serde_json::{Map, Value};

use super::spec::SpecSet;
use context::Upgrade;

/// The `openapi` version written on the upgraded document.
pub const UPGRADED_VERSION: &str = "3.0.3";

/// Top-level 2.0 keys replaced by their 3.0 counterparts.
const REPLACED: &[&str] = &[
    "swagger",
    "host",
    "basePath",
    "schemes",
    "consumes",
    "produces",
    "securityDefinitions",
    "paths",
];

/// Replaces the root document's value with its OpenAPI 3.0-shaped upgrade and records origins and
/// per-operation problems in the set.
pub(crate) fn upgrade(set: &mut SpecSet) {
    let (value, origins, problems, warnings) = {
        let mut upgrade = Upgrade::new(set);
        let value = convert_root(&mut upgrade);
        upgrade.finish(value)
    };
    set.root_document.value = value;
    set.origins = origins;
    set.operation_problems = problems;
    set.warnings.extend(warnings);
}

fn convert_root(upgrade: &mut Upgrade<'_>) -> Value {
    // `load_spec` only upgrades documents whose version it read from a top-level mapping.
    let Some(original) = upgrade.root_value() else {
        return Value::Null;
    };
    let mut out = Map::new();
    out.insert("openapi".into(), Value::String(UPGRADED_VERSION.into()));
    if let Some(info) = original.get("info") {
        out.insert("info".into(), info.clone());
    }
    out.insert("servers".into(), servers::servers(upgrade, original));
    for (key, value) in original {
        if key == "info" || REPLACED.contains(&key.as_str()) {
            continue;
        }
        out.insert(key.clone(), value.clone());
    }
    out.insert(
        "paths".into(),
        operation::paths(upgrade, original.get("paths")),
    );
    if let Some(schemes) = security::security_schemes(upgrade, original.get("securityDefinitions"))
    {
        let mut components = Map::new();
        components.insert("securitySchemes".into(), schemes);
        out.insert("components".into(), Value::Object(components));
        if let Some(source) = upgrade.root_source("/securityDefinitions") {
            upgrade.record("/components/securitySchemes", &source);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests;
