//! `schemes` + `host` + `basePath` → `servers`.
//!
//! Owns that one conversion. Must not look at anything else in the document.

use serde_json::{Map, Value, json};

use super::context::Upgrade;

/// The one server of a 2.0 spec: `https` when listed (or when no scheme is), else the first
/// scheme; no `host` gives just the base path.
pub fn servers(upgrade: &mut Upgrade<'_>, original: &Map<String, Value>) -> Value {
    let schemes: Vec<String> = original
        .get("schemes")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let scheme = if schemes.is_empty() || schemes.iter().any(|s| s == "https") {
        "https"
    } else {
        schemes.first().map_or("https", String::as_str)
    };
    let host = original
        .get("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty());
    let base_path = original
        .get("basePath")
        .and_then(Value::as_str)
        .unwrap_or("/");
    let url = match host {
        Some(host) => {
            let base = base_path.trim_end_matches('/');
            let base = if base.is_empty() || base.starts_with('/') {
                base.to_owned()
            } else {
                format!("/{base}")
            };
            format!("{scheme}://{host}{base}")
        }
        None => base_path.to_owned(),
    };
    let origin = ["host", "basePath", "schemes"]
        .into_iter()
        .find(|key| original.contains_key(*key));
    if let Some(source) = origin.and_then(|key| upgrade.root_source(&format!("/{key}"))) {
        upgrade.record("/servers", &source);
    }
    json!([{ "url": url }])
}
