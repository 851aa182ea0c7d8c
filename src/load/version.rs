//! Which OpenAPI version a root document declares.
//!
//! Owns [`SpecVersion`] and the check that a document is an OpenAPI 3.0.x / 3.1.x or Swagger 2.0
//! document at all. Looks only at the top-level `openapi` / `swagger` key: must not validate
//! anything else.

use serde_json::Value;

use crate::diag::{Diagnostic, Location};

/// The OpenAPI version of a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecVersion {
    /// Swagger 2.0 (upgraded to the OpenAPI 3.0 shape when loaded).
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x.
    OpenApi31,
}

/// The version a root document declares, or why it is not a document mcpgen can read.
/// `at` is the location of the document root; the diagnostic points at the version key.
pub fn detect(
    value: &Value,
    at: impl Fn(&str) -> Location,
) -> Result<SpecVersion, Box<Diagnostic>> {
    let Some(object) = value.as_object() else {
        return Err(not_openapi(at("")));
    };
    if let Some(swagger) = object.get("swagger") {
        return match version_text(swagger).as_deref() {
            Some("2.0") => Ok(SpecVersion::Swagger2),
            other => Err(unsupported("swagger", other, at("/swagger"))),
        };
    }
    let Some(openapi) = object.get("openapi") else {
        return Err(not_openapi(at("")));
    };
    let text = version_text(openapi);
    match text
        .as_deref()
        .map(|t| t.split('.').collect::<Vec<_>>())
        .as_deref()
    {
        Some(["3", "0"] | ["3", "0", _]) => Ok(SpecVersion::OpenApi30),
        Some(["3", "1"] | ["3", "1", _]) => Ok(SpecVersion::OpenApi31),
        _ => Err(unsupported("openapi", text.as_deref(), at("/openapi"))),
    }
}

/// The version as text; an unquoted YAML `2.0` arrives as a number.
fn version_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => {
            let text = number.to_string();
            Some(if text.contains('.') {
                text
            } else {
                format!("{text}.0")
            })
        }
        _ => None,
    }
}

fn not_openapi(at: Location) -> Box<Diagnostic> {
    let message = "no top-level `openapi` or `swagger` key: this is not an OpenAPI document";
    let help = "pass the spec's entry file (the one with `openapi: 3.x.y` or `swagger: \"2.0\"`)";
    Box::new(Diagnostic::error("not-openapi", at, message).with_help(help))
}

fn unsupported(key: &str, version: Option<&str>, at: Location) -> Box<Diagnostic> {
    let shown = version.unwrap_or("(not a version string)");
    let message = format!("`{key}: {shown}` is not a supported version");
    let help =
        "mcpgen reads Swagger 2.0, OpenAPI 3.0.x and 3.1.x; convert older or newer specs first";
    Box::new(Diagnostic::error("unsupported-openapi-version", at, message).with_help(help))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(value: Value) -> Result<SpecVersion, Box<Diagnostic>> {
        detect(&value, |pointer| Location::pointer("a.yaml", pointer))
    }

    #[test]
    fn recognises_supported_versions() {
        assert_eq!(
            version(json!({"swagger": "2.0"})),
            Ok(SpecVersion::Swagger2)
        );
        assert_eq!(version(json!({"swagger": 2.0})), Ok(SpecVersion::Swagger2));
        assert_eq!(
            version(json!({"openapi": "3.0.3"})),
            Ok(SpecVersion::OpenApi30)
        );
        assert_eq!(
            version(json!({"openapi": "3.0"})),
            Ok(SpecVersion::OpenApi30)
        );
        assert_eq!(version(json!({"openapi": 3.0})), Ok(SpecVersion::OpenApi30));
        assert_eq!(
            version(json!({"openapi": "3.1.1"})),
            Ok(SpecVersion::OpenApi31)
        );
        assert_eq!(version(json!({"openapi": 3.1})), Ok(SpecVersion::OpenApi31));
    }

    #[test]
    fn rejects_other_documents() {
        let d = version(json!({"swagger": "1.2"})).unwrap_err();
        assert_eq!(d.code, "unsupported-openapi-version");
        assert_eq!(d.message, "`swagger: 1.2` is not a supported version");
        assert_eq!(d.location, Location::pointer("a.yaml", "/swagger"));
        for bad in [
            json!({"openapi": "4.0.0"}),
            json!({"openapi": "3.2.0.1"}),
            json!({"openapi": "3.10.0"}),
            json!({"openapi": true}),
        ] {
            assert_eq!(
                version(bad).unwrap_err().code,
                "unsupported-openapi-version"
            );
        }
        assert_eq!(
            version(json!({"info": {}})).unwrap_err().code,
            "not-openapi"
        );
        assert_eq!(version(json!([1])).unwrap_err().code, "not-openapi");
    }
}
