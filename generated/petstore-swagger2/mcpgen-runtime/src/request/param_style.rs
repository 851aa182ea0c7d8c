//! OpenAPI parameter serialization: `style` and `explode` for path, query, header and cookie.
//!
//! Owns turning one JSON value into its wire text, following the style examples table of
//! OpenAPI 3.0.4 / 3.1.1 (which matches RFC 6570; the older 3.0.3 table wrote non-exploded
//! `label` arrays as `.blue.black.brown`, we write `.blue,black,brown`). Pure functions, no
//! knowledge of tools or HTTP clients. Values are percent-encoded here where the location
//! needs it (path, query, cookie); delimiters are written raw.
//!
//! Value rules: strings are sent as-is, numbers and booleans as their JSON text, arrays and
//! objects nested inside an array or object as JSON text; `null` means absent. Empty arrays
//! and objects in the query are omitted (RFC 6570: an empty list is undefined).

use std::fmt::Write;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::spec::ParamStyle;

/// Everything but RFC 3986 unreserved characters is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Query parameter names: like values, but `[` and `]` stay raw (`filter[status]`).
const QUERY_NAME: &AsciiSet = &UNRESERVED.remove(b'[').remove(b']');

/// Cookie values: everything outside RFC 6265 `cookie-octet`, and `%`, is encoded.
const COOKIE_VALUE: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// A value reduced to what styles distinguish.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Primitive(String),
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn shape(value: &Value) -> Option<Shape> {
    match value {
        Value::Null => None,
        Value::Array(items) => Some(Shape::List(
            items
                .iter()
                .filter(|v| !v.is_null())
                .map(scalar_text)
                .collect(),
        )),
        Value::Object(members) => Some(Shape::Map(
            members
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), scalar_text(v)))
                .collect(),
        )),
        other => Some(Shape::Primitive(scalar_text(other))),
    }
}

fn enc(text: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(text, set).to_string()
}

/// Joins encoded items with `sep`; maps join as `k,v,k,v` (`pair_sep` `None`) or `k=v` pairs.
fn join_map(
    pairs: &[(String, String)],
    enc_item: &dyn Fn(&str) -> String,
    pair_sep: Option<&str>,
    sep: &str,
) -> String {
    let parts: Vec<String> = match pair_sep {
        None => pairs
            .iter()
            .flat_map(|(k, v)| [enc_item(k), enc_item(v)])
            .collect(),
        Some(eq) => pairs
            .iter()
            .map(|(k, v)| format!("{}{eq}{}", enc_item(k), enc_item(v)))
            .collect(),
    };
    parts.join(sep)
}

/// The text substituted for `{name}` in a path template (`simple`, `label` or `matrix`; other
/// styles are written as `simple`). `None` when the value is `null`.
pub fn path_value(name: &str, style: ParamStyle, explode: bool, value: &Value) -> Option<String> {
    let shape = shape(value)?;
    let e = |s: &str| enc(s, UNRESERVED);
    let name = e(name);
    Some(match style {
        ParamStyle::Label => {
            let sep = if explode { "." } else { "," };
            match shape {
                Shape::Primitive(s) => format!(".{}", e(&s)),
                Shape::List(items) => {
                    format!(
                        ".{}",
                        items.iter().map(|s| e(s)).collect::<Vec<_>>().join(sep)
                    )
                }
                Shape::Map(pairs) if explode => {
                    format!(".{}", join_map(&pairs, &e, Some("="), "."))
                }
                Shape::Map(pairs) => format!(".{}", join_map(&pairs, &e, None, ",")),
            }
        }
        ParamStyle::Matrix => {
            let named = |s: &str| {
                if s.is_empty() {
                    format!(";{name}")
                } else {
                    format!(";{name}={s}")
                }
            };
            match shape {
                Shape::Primitive(s) => named(&e(&s)),
                Shape::List(items) if explode && !items.is_empty() => {
                    items.iter().map(|s| named(&e(s))).collect()
                }
                Shape::List(items) => {
                    named(&items.iter().map(|s| e(s)).collect::<Vec<_>>().join(","))
                }
                Shape::Map(pairs) if explode && !pairs.is_empty() => {
                    format!(";{}", join_map(&pairs, &e, Some("="), ";"))
                }
                Shape::Map(pairs) => named(&join_map(&pairs, &e, None, ",")),
            }
        }
        _ => match shape {
            Shape::Primitive(s) => e(&s),
            Shape::List(items) => items.iter().map(|s| e(s)).collect::<Vec<_>>().join(","),
            Shape::Map(pairs) if explode => join_map(&pairs, &e, Some("="), ","),
            Shape::Map(pairs) => join_map(&pairs, &e, None, ","),
        },
    })
}

/// Encodes a query value with `allowReserved`: RFC 3986 reserved characters and existing
/// `%XX` triples pass through; everything else is percent-encoded, and so is `#`, which would
/// otherwise end the query.
fn enc_reserved(text: &str) -> String {
    const RESERVED: &[u8] = b":/?[]@!$&'()*+,;=";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let triple = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || RESERVED.contains(&b) || triple {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        i += 1;
    }
    out
}

/// The `name=value` pieces a query parameter adds (already encoded; joined with `&` by the caller).
pub fn query_pairs(
    name: &str,
    style: ParamStyle,
    explode: bool,
    allow_reserved: bool,
    value: &Value,
) -> Vec<String> {
    let ev = |s: &str| {
        if allow_reserved {
            enc_reserved(s)
        } else {
            enc(s, UNRESERVED)
        }
    };
    let en = enc(name, QUERY_NAME);
    let Some(shape) = shape(value) else {
        return Vec::new();
    };
    match (style, shape) {
        (_, Shape::List(items)) if items.is_empty() => Vec::new(),
        (_, Shape::Map(pairs)) if pairs.is_empty() => Vec::new(),
        (_, Shape::Primitive(s)) => vec![format!("{en}={}", ev(&s))],
        (ParamStyle::DeepObject, _) => {
            let mut out = Vec::new();
            deep_object(&en, value, &ev, &mut out);
            out
        }
        (_, Shape::List(items)) if explode => {
            items.iter().map(|s| format!("{en}={}", ev(s))).collect()
        }
        (_, Shape::Map(pairs)) if explode => pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k, QUERY_NAME), ev(v)))
            .collect(),
        (style, shape) => {
            let sep = match style {
                ParamStyle::SpaceDelimited => "%20",
                ParamStyle::PipeDelimited => "|",
                _ => ",",
            };
            let joined = match shape {
                Shape::List(items) => items.iter().map(|s| ev(s)).collect::<Vec<_>>().join(sep),
                Shape::Map(pairs) => join_map(&pairs, &ev, None, sep),
                Shape::Primitive(s) => ev(&s),
            };
            vec![format!("{en}={joined}")]
        }
    }
}

/// `deepObject`: `name[key]=value`, nested objects add brackets, arrays repeat the key.
fn deep_object(prefix: &str, value: &Value, ev: &dyn Fn(&str) -> String, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::Object(members) => {
            for (k, v) in members {
                deep_object(&format!("{prefix}[{}]", enc(k, UNRESERVED)), v, ev, out);
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|v| !v.is_null()) {
                out.push(format!("{prefix}={}", ev(&scalar_text(item))));
            }
        }
        other => out.push(format!("{prefix}={}", ev(&scalar_text(other)))),
    }
}

/// A header value (`simple` style, not percent-encoded). `None` when the value is `null`.
pub fn header_value(explode: bool, value: &Value) -> Option<String> {
    Some(match shape(value)? {
        Shape::Primitive(s) => s,
        Shape::List(items) => items.join(","),
        Shape::Map(pairs) if explode => join_map(&pairs, &|s| s.to_owned(), Some("="), ","),
        Shape::Map(pairs) => join_map(&pairs, &|s| s.to_owned(), None, ","),
    })
}

/// The `name=value` pieces a cookie parameter adds to the `Cookie` header (`form` style):
/// non-exploded arrays and objects are comma lists in one cookie; exploded arrays repeat the
/// cookie, exploded objects send one cookie per member. Values are percent-encoded where
/// RFC 6265 does not allow them raw.
pub fn cookie_pairs(name: &str, explode: bool, value: &Value) -> Vec<String> {
    let e = |s: &str| enc(s, COOKIE_VALUE);
    match shape(value) {
        None => Vec::new(),
        Some(Shape::Primitive(s)) => vec![format!("{name}={}", e(&s))],
        Some(Shape::List(items)) if explode => {
            items.iter().map(|s| format!("{name}={}", e(s))).collect()
        }
        Some(Shape::List(items)) => {
            vec![format!(
                "{name}={}",
                items.iter().map(|s| e(s)).collect::<Vec<_>>().join(",")
            )]
        }
        Some(Shape::Map(pairs)) if explode => {
            pairs.iter().map(|(k, v)| format!("{k}={}", e(v))).collect()
        }
        Some(Shape::Map(pairs)) => vec![format!("{name}={}", join_map(&pairs, &e, None, ","))],
    }
}

/// Percent-encodes a credential or other single value for a query string.
pub fn query_component(text: &str) -> String {
    enc(text, UNRESERVED)
}

/// Percent-encodes a single cookie value.
pub fn cookie_component(text: &str) -> String {
    enc(text, COOKIE_VALUE)
}
