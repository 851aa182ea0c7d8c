//! JSON Schema validation of tool arguments and tool results.
//!
//! Owns compiling a schema once (at startup) and turning validation failures into
//! [`Violation`]s whose messages never quote the instance's values (jsonschema's masked
//! messages: `value is not of type "integer"`), so they are safe in error text and logs.

use std::fmt;

use serde_json::Value;

/// A compiled JSON Schema.
pub struct SchemaValidator {
    inner: jsonschema::Validator,
}

impl fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SchemaValidator")
    }
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value in the instance (`""` is the whole instance).
    pub instance_path: String,
    /// JSON pointer to the keyword that failed, in the schema.
    pub schema_path: String,
    /// What is wrong, with the instance's values masked.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.instance_path.is_empty() {
            write!(f, "(root): {}", self.message)
        } else {
            write!(f, "{}: {}", self.instance_path, self.message)
        }
    }
}

impl SchemaValidator {
    /// Compiles a schema; the error is jsonschema's description of what is wrong with it.
    pub fn compile(schema: &Value) -> Result<Self, String> {
        jsonschema::validator_for(schema)
            .map(|inner| SchemaValidator { inner })
            .map_err(|e| e.masked().to_string())
    }

    /// Whether an instance is valid (without collecting what is wrong).
    pub fn is_valid(&self, instance: &Value) -> bool {
        self.inner.is_valid(instance)
    }

    /// Checks an instance; on failure returns every violation found.
    pub fn check(&self, instance: &Value) -> Result<(), Vec<Violation>> {
        if self.inner.is_valid(instance) {
            return Ok(());
        }
        let violations: Vec<Violation> = self
            .inner
            .iter_errors(instance)
            .map(|e| Violation {
                instance_path: e.instance_path().to_string(),
                schema_path: e.schema_path().to_string(),
                message: e.masked().to_string(),
            })
            .collect();
        if violations.is_empty() {
            // `is_valid` and `iter_errors` disagree only if jsonschema has a bug; still refuse.
            return Err(vec![Violation {
                instance_path: String::new(),
                schema_path: String::new(),
                message: "value does not match the schema".into(),
            }]);
        }
        Err(violations)
    }
}

/// The first `max` violations as lines `- <path>: <message>`, plus `- … and N more`.
pub fn describe(violations: &[Violation], max: usize) -> String {
    let mut out = String::new();
    for v in violations.iter().take(max) {
        out.push_str("- ");
        out.push_str(&v.to_string());
        out.push('\n');
    }
    if violations.len() > max {
        out.push_str(&format!("- … and {} more\n", violations.len() - max));
    }
    out.trim_end().to_owned()
}
