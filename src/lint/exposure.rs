//! Data exposure: response fields that look personal or secret and leave the server unredacted
//! (matched by the words of their names; metadata like `*_count` or `*_type` is not flagged).

use crate::defs;
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir::ToolIr;
use crate::load::pointer::escape_token;
use crate::wildcard::{Segment, WildcardPath};
use serde_json::Value;
use std::collections::BTreeSet;

/// Field names that suggest personal data (matched on the field name's words).
const PERSONAL: &[&str] = &[
    "email",
    "phone",
    "mobile",
    "birth",
    "dob",
    "address",
    "postcode",
    "zip",
    "ssn",
    "social_security",
    "passport",
    "national_id",
    "tax_id",
    "iban",
    "account_number",
    "card",
    "card_number",
    "cvv",
    "salary",
    "ip_address",
];

/// Field names that suggest secrets.
const SECRET: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
    "credential",
    "client_secret",
    "refresh_token",
    "session",
];

/// The words of a field name (`accountNumber`, `account_number`, `APIKey` → account number,
/// account number, api key).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let starts_word = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if starts_word && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The first of `terms` (a word, or consecutive words joined by `_`) that a field name contains
/// as whole words followed only by words `may_follow` accepts, or that the whole name spells
/// when run together (`APIKey`).
fn find_term(name: &str, terms: &[&str], may_follow: impl Fn(&str) -> bool) -> Option<String> {
    let words = words(name);
    terms
        .iter()
        .find(|term| {
            let parts: Vec<&str> = term.split('_').collect();
            let occurs = (0..=words.len().saturating_sub(parts.len())).any(|i| {
                words
                    .get(i..i + parts.len())
                    .is_some_and(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
                    && words[i + parts.len()..].iter().all(|w| may_follow(w))
            });
            occurs || words.concat() == term.replace('_', "")
        })
        .map(|term| (*term).to_owned())
}

/// Whether a field name contains a sensitive term anywhere.
fn matches_term(name: &str, terms: &[&str]) -> Option<String> {
    find_term(name, terms, |_| true)
}

/// Words that may follow a secret's name in a field that still holds the secret
/// (`password_hash`, `secret_key`, `token_value`).
const SECRET_QUALIFIERS: &[&str] = &[
    "hash",
    "hashed",
    "digest",
    "value",
    "encrypted",
    "plain",
    "plaintext",
    "raw",
    "key",
    "b64",
    "base64",
];

/// The secret a field holds: a [`SECRET`] term that ends its name, or is followed only by
/// [`SECRET_QUALIFIERS`]. `secret_scanning_status` or `token_name` are about secrets, not secrets.
fn secret_term(name: &str) -> Option<String> {
    find_term(name, SECRET, |w| SECRET_QUALIFIERS.contains(&w))
}

pub(super) fn exposure_rules(tool: &ToolIr, here: &Location, out: &mut Diagnostics) {
    let Some(schema) = &tool.output.schema else {
        return;
    };
    let mut fields = Vec::new();
    collect_fields(schema, schema, "", 0, &mut BTreeSet::new(), &mut fields);
    let redacted: Vec<WildcardPath> = tool
        .output
        .redact
        .iter()
        .filter_map(|r| WildcardPath::parse(&r.path).ok())
        .collect();
    for Field {
        path,
        name,
        format,
        boolean,
        container,
    } in fields
    {
        // A container's members are checked one by one.
        if container {
            continue;
        }
        // `phone_verified`, `address_sid`, `token_expires_at`: about the data, not the data.
        let about_other_data = boolean
            || words(&name)
                .last()
                .is_some_and(|w| METADATA_WORDS.contains(&w.as_str()));
        let (secret, personal_name) = if about_other_data {
            (None, None)
        } else {
            (secret_term(&name), matches_term(&name, PERSONAL))
        };
        let personal = personal_name.or_else(|| {
            matches!(
                format.as_deref(),
                Some("email" | "phone" | "phone-number" | "password")
            )
            .then(|| format.clone().unwrap_or_default())
        });
        let Some(term) = secret.clone().or(personal) else {
            continue;
        };
        // Masked fields are published as redacted strings; removed ones are gone already.
        if covered(&path, &redacted) {
            continue;
        }
        let (code, severity_error) = if secret.is_some() {
            ("lint-secret-exposed", true)
        } else {
            ("lint-personal-data-exposed", false)
        };
        let message = format!(
            "tool `{}` returns `{path}`, which looks like {} ({term}), unredacted",
            tool.name,
            if secret.is_some() {
                "a secret"
            } else {
                "personal data"
            }
        );
        let help = format!(
            "add `{{ path: {path}, action: mask }}` (or remove it) under `response.redact`, or leave it out with `response.allow`"
        );
        out.push(
            if severity_error {
                Diagnostic::error(code, here.clone(), message)
            } else {
                Diagnostic::warning(code, here.clone(), message)
            }
            .with_help(help),
        );
    }
}

/// Whether a redaction path covers a field path (`*` matching any segment).
fn covered(field: &str, redactions: &[WildcardPath]) -> bool {
    let Ok(field) = WildcardPath::parse(field) else {
        return false;
    };
    redactions.iter().any(|r| {
        r.segments.len() <= field.segments.len()
            && r.segments
                .iter()
                .zip(&field.segments)
                .all(|(a, b)| matches!(a, Segment::Any) || matches!(b, Segment::Any) || a == b)
    })
}

/// Last words of a field name that make it describe other data (its id, status, kind, a flag
/// or a time) rather than hold it.
const METADATA_WORDS: &[&str] = &[
    "id",
    "ids",
    "sid",
    "sids",
    "uuid",
    "guid",
    "ref",
    "refs",
    "status",
    "state",
    "type",
    "types",
    "kind",
    "requirements",
    "required",
    "count",
    "verified",
    "validated",
    "enabled",
    "disabled",
    "format",
    "url",
    "uri",
    "link",
    "links",
    "expires",
    "expiry",
    "expiration",
    "at",
    "on",
    "length",
    "hint",
    "policy",
    "set",
    "changed",
];

/// One object member of an output schema.
struct Field {
    /// JSON pointer, `*` for items and map values.
    path: String,
    /// Member name.
    name: String,
    /// Its `format`.
    format: Option<String>,
    /// Whether it only holds booleans (a flag cannot carry the data itself).
    boolean: bool,
    /// Whether it is an object (or array of objects) whose own members are fields.
    container: bool,
}

/// Every object member of a schema.
fn collect_fields(
    root: &Value,
    schema: &Value,
    path: &str,
    depth: usize,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<Field>,
) {
    if depth > 12 {
        return;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if !seen.insert(format!("{path}|{reference}")) || path.matches('/').count() > 8 {
            return;
        }
        collect_fields(
            root,
            defs::resolve(root, schema),
            path,
            depth + 1,
            seen,
            out,
        );
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let child = format!("{path}/{}", escape_token(name));
            let prop_resolved = defs::resolve(root, prop);
            let format = prop_resolved
                .get("format")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let boolean = match prop_resolved.get("type") {
                Some(Value::String(t)) => t == "boolean",
                Some(Value::Array(ts)) => ts.iter().all(|t| t == "boolean" || t == "null"),
                _ => false,
            };
            let has_members = |s: &Value| s.get("properties").is_some();
            let container = has_members(prop_resolved)
                || prop_resolved
                    .get("items")
                    .is_some_and(|items| has_members(defs::resolve(root, items)));
            out.push(Field {
                path: child.clone(),
                name: name.clone(),
                format,
                boolean,
                container,
            });
            collect_fields(root, prop, &child, depth + 1, seen, out);
        }
    }
    if let Some(items) = schema.get("items") {
        collect_fields(root, items, &format!("{path}/*"), depth + 1, seen, out);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_fields(root, branch, path, depth + 1, seen, out);
        }
    }
    if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        collect_fields(root, additional, &format!("{path}/*"), depth + 1, seen, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_terms() {
        assert_eq!(words("accountNumber"), vec!["account", "number"]);
        assert_eq!(
            words("user_email_address"),
            vec!["user", "email", "address"]
        );
        assert_eq!(words("APIKey"), vec!["api", "key"]);
        assert_eq!(matches_term("APIKey", SECRET).as_deref(), Some("api_key"));
        assert_eq!(
            matches_term("accountNumber", PERSONAL).as_deref(),
            Some("account_number")
        );
        assert_eq!(
            matches_term("password_hash", SECRET).as_deref(),
            Some("password")
        );
        for (name, secret) in [
            ("password_hash", Some("password")),
            ("temp_clone_token", Some("token")),
            ("clientSecret", Some("secret")),
            ("APIKey", Some("api_key")),
            ("secret_key", Some("secret")),
            ("secret_scanning_push_protection", None),
            ("token_name", None),
            ("personal_access_token_requests", None),
            ("tokenize", None),
        ] {
            assert_eq!(secret_term(name).as_deref(), secret, "{name}");
        }
        assert_eq!(
            matches_term("tokenize_count", SECRET),
            None,
            "whole words only"
        );
        assert_eq!(
            matches_term("emailVerified", PERSONAL).as_deref(),
            Some("email")
        );
    }

    #[test]
    fn coverage_by_wildcards() {
        let r = vec![WildcardPath::parse("/items/*/email").unwrap()];
        assert!(covered("/items/*/email", &r));
        assert!(!covered("/items/*/phone", &r));
        let parent = vec![WildcardPath::parse("/owner").unwrap()];
        assert!(covered("/owner/email", &parent));
    }
}
