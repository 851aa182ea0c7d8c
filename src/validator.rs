//! Compiling JSON Schemas for the generator's own checks (does a schema compile, does a sample
//! or an example fit it). Every compile shares one process-wide cache of compiled `pattern`s: a
//! large spec repeats a few hundred patterns thousands of times, and compiling a regular
//! expression costs more than the rest of a schema.

use std::sync::LazyLock;

use jsonschema::{PatternCache, ValidationError, ValidationOptions, Validator};
use serde_json::Value;

/// Compiled patterns, shared by every build in this process.
static PATTERNS: LazyLock<PatternCache> = LazyLock::new(PatternCache::new);

/// jsonschema's default options (draft from `$schema`), sharing compiled patterns.
pub fn options() -> ValidationOptions<'static> {
    jsonschema::options().with_pattern_cache(PATTERNS.clone())
}

/// `schema` compiled as `jsonschema::validator_for` would, sharing compiled patterns.
pub fn compile(schema: &Value) -> Result<Validator, ValidationError<'static>> {
    options().build(schema)
}

/// Whether `pattern` is a regular expression a server can compile.
pub fn pattern_compiles(pattern: &str) -> bool {
    compile(&serde_json::json!({ "pattern": pattern })).is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shared_patterns_validate_like_fresh_ones() {
        let schema = json!({"properties": {"a": {"pattern": "^AC[0-9a-f]{4}$"}}});
        let again = json!({"items": {"pattern": "^AC[0-9a-f]{4}$"}});
        let first = compile(&schema).unwrap();
        let second = compile(&again).unwrap();
        assert!(first.is_valid(&json!({"a": "AC12ab"})));
        assert!(!first.is_valid(&json!({"a": "AC12abX"})));
        assert!(second.is_valid(&json!(["ACffff"])));
        assert!(!second.is_valid(&json!(["BCffff"])));
        assert!(pattern_compiles("^[a-z]+$"));
        assert!(!pattern_compiles("(unclosed"));
    }
}
