//! `securityDefinitions` → `components.securitySchemes`.
//!
//! Owns that one conversion (basic → HTTP basic, apiKey as is, oauth2 flows renamed). Must not
//! touch `security` requirements, which keep their 2.0 form (it is the same in 3.0).

use serde_json::{Map, Value, json};

use super::context::{Source, Upgrade, carry_extensions};
use crate::diag::Diagnostic;
use crate::load::pointer;

/// The converted security schemes, or `None` when the spec defines none.
pub fn security_schemes(upgrade: &mut Upgrade<'_>, definitions: Option<&Value>) -> Option<Value> {
    let definitions = definitions?.as_object()?;
    let mut out = Map::new();
    for name in definitions.keys() {
        let Some(source) = upgrade.root_source(&pointer::push_token("/securityDefinitions", name))
        else {
            continue;
        };
        let converted = pointer::push_token("/components/securitySchemes", name);
        upgrade.record(&converted, &source);
        match scheme(&source) {
            Ok(scheme) => {
                out.insert(name.clone(), scheme);
            }
            Err(message) => {
                let at = upgrade.location(&source);
                upgrade.warn(
                    Diagnostic::warning("swagger2-unconvertible", at, message)
                        .with_help("fix the security definition to one of the Swagger 2.0 shapes (basic, apiKey, oauth2)"),
                );
                out.insert(name.clone(), source.value.clone());
            }
        }
    }
    Some(Value::Object(out))
}

fn scheme(source: &Source<'_>) -> Result<Value, String> {
    let Some(definition) = source.value.as_object() else {
        return Err("security definition is not a mapping".into());
    };
    let text = |key: &str| definition.get(key).and_then(Value::as_str);
    let mut out = match text("type") {
        Some("basic") => json!({"type": "http", "scheme": "basic"}),
        Some("apiKey") => json!({"type": "apiKey", "name": text("name"), "in": text("in")}),
        Some("oauth2") => {
            let (flow_name, urls): (&str, &[&str]) = match text("flow") {
                Some("implicit") => ("implicit", &["authorizationUrl"]),
                Some("password") => ("password", &["tokenUrl"]),
                Some("application") => ("clientCredentials", &["tokenUrl"]),
                Some("accessCode") => ("authorizationCode", &["authorizationUrl", "tokenUrl"]),
                other => {
                    return Err(format!(
                        "oauth2 flow `{}` is not a Swagger 2.0 flow",
                        other.unwrap_or("(none)")
                    ));
                }
            };
            let mut flow = Map::new();
            for url in urls {
                if let Some(value) = definition.get(*url) {
                    flow.insert((*url).to_owned(), value.clone());
                }
            }
            flow.insert(
                "scopes".into(),
                definition
                    .get("scopes")
                    .cloned()
                    .unwrap_or_else(|| json!({})),
            );
            json!({"type": "oauth2", "flows": {flow_name: flow}})
        }
        other => {
            return Err(format!(
                "security type `{}` is not a Swagger 2.0 type",
                other.unwrap_or("(none)")
            ));
        }
    };
    if let Some(object) = out.as_object_mut() {
        if let Some(description) = definition.get("description") {
            object.insert("description".into(), description.clone());
        }
        carry_extensions(definition, object);
    }
    Ok(out)
}
