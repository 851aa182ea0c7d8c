//! Request bodies: turning the body's JSON value into bytes of its media type.
//!
//! Owns the five encodings of [`BodyEncoding`]: JSON; form-urlencoded (scalars as text, arrays
//! as repeated keys, objects as JSON text); multipart (parts described here, assembled by the
//! HTTP client, which writes the boundary; `file` fields take base64 or a `data:` URI); text;
//! binary (base64). Pure functions; errors name fields, never their values.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
use serde_json::{Map, Value};

use crate::spec::BodyEncoding;

/// The body of an outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingBody {
    /// Bytes sent with this `Content-Type`.
    Bytes {
        /// The `Content-Type` header.
        content_type: String,
        /// The body.
        bytes: Vec<u8>,
    },
    /// A `multipart/form-data` body, assembled (with its boundary) by the HTTP client.
    Multipart(Vec<Part>),
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The file name, for file parts.
    pub filename: Option<String>,
    /// The part's `Content-Type`, when one is sent.
    pub content_type: Option<String>,
    /// The part's content.
    pub data: Vec<u8>,
}

/// One field of an object body, with what multipart needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    /// Property name on the wire.
    pub name: String,
    /// The value.
    pub value: Value,
    /// Multipart: the value is a file (base64 or `data:` URI).
    pub file: bool,
    /// Multipart: content type of the part.
    pub content_type: Option<String>,
}

/// The body's content before encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyContent {
    /// The whole body is one value.
    Whole(Value),
    /// An object assembled from fields (absent fields left out).
    Fields(Vec<FieldValue>),
}

impl BodyContent {
    fn into_value(self) -> Value {
        match self {
            BodyContent::Whole(v) => v,
            BodyContent::Fields(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|f| (f.name, f.value))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// A body that cannot be encoded as its media type requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// A value that must be base64 (or a `data:` URI) is not.
    NotBase64 {
        /// The field or argument.
        field: String,
    },
    /// A form or multipart body whose value is not an object.
    NotAnObject {
        /// The media type.
        media_type: String,
    },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::NotBase64 { field } => write!(
                f,
                "`{field}` must be base64 or a data URI (data:<mime>;base64,<data>)"
            ),
            BodyError::NotAnObject { media_type } => {
                write!(f, "a {media_type} body must be an object of fields")
            }
        }
    }
}

impl std::error::Error for BodyError {}

/// Encodes the body. `field` names the body argument in errors (for whole-value bodies).
pub fn encode(
    encoding: BodyEncoding,
    media_type: &str,
    content: BodyContent,
    field: &str,
) -> Result<OutgoingBody, BodyError> {
    let bytes = |bytes: Vec<u8>| OutgoingBody::Bytes {
        content_type: media_type.to_owned(),
        bytes,
    };
    match encoding {
        BodyEncoding::Json => Ok(bytes(content.into_value().to_string().into_bytes())),
        BodyEncoding::Text => Ok(bytes(match content.into_value() {
            Value::String(s) => s.into_bytes(),
            other => other.to_string().into_bytes(),
        })),
        BodyEncoding::Binary => {
            match content.into_value() {
                Value::String(s) => decode_file(&s).map(|(data, _)| bytes(data)).ok_or_else(|| {
                    BodyError::NotBase64 {
                        field: field.into(),
                    }
                }),
                _ => Err(BodyError::NotBase64 {
                    field: field.into(),
                }),
            }
        }
        BodyEncoding::Form => match content.into_value() {
            Value::Object(members) => Ok(bytes(form_urlencoded(&members).into_bytes())),
            _ => Err(BodyError::NotAnObject {
                media_type: media_type.into(),
            }),
        },
        BodyEncoding::Multipart => multipart(content, media_type).map(OutgoingBody::Multipart),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `application/x-www-form-urlencoded`: scalars as text, arrays as repeated keys (nested
/// arrays and objects inside them as JSON text), objects as JSON text, `null` left out.
pub fn form_urlencoded(members: &Map<String, Value>) -> String {
    let mut pairs = Vec::new();
    for (key, value) in members {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items.iter().filter(|v| !v.is_null()) {
                    pairs.push(format!(
                        "{}={}",
                        form_component(key),
                        form_component(&text_of(item))
                    ));
                }
            }
            other => pairs.push(format!(
                "{}={}",
                form_component(key),
                form_component(&text_of(other))
            )),
        }
    }
    pairs.join("&")
}

/// Form encoding of one key or value: unreserved characters raw, space as `+`, the rest `%XX`.
fn form_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"-._*".contains(&b) => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn multipart(content: BodyContent, media_type: &str) -> Result<Vec<Part>, BodyError> {
    let fields = match content {
        BodyContent::Fields(fields) => fields,
        BodyContent::Whole(Value::Object(members)) => members
            .into_iter()
            .map(|(name, value)| FieldValue {
                name,
                value,
                file: false,
                content_type: None,
            })
            .collect(),
        BodyContent::Whole(_) => {
            return Err(BodyError::NotAnObject {
                media_type: media_type.into(),
            });
        }
    };
    let mut parts = Vec::new();
    for field in fields {
        let items = match field.value {
            Value::Null => continue,
            Value::Array(items) => items,
            other => vec![other],
        };
        for item in items.into_iter().filter(|v| !v.is_null()) {
            parts.push(part(
                &field.name,
                item,
                field.file,
                field.content_type.as_deref(),
            )?);
        }
    }
    Ok(parts)
}

fn part(
    name: &str,
    value: Value,
    file: bool,
    content_type: Option<&str>,
) -> Result<Part, BodyError> {
    if file {
        let Value::String(text) = &value else {
            return Err(BodyError::NotBase64 { field: name.into() });
        };
        let (data, uri_type) =
            decode_file(text).ok_or_else(|| BodyError::NotBase64 { field: name.into() })?;
        let content_type = content_type
            .map(str::to_owned)
            .or(uri_type)
            .unwrap_or_else(|| "application/octet-stream".into());
        return Ok(Part {
            name: name.into(),
            filename: Some(name.into()),
            content_type: Some(content_type),
            data,
        });
    }
    let (data, default_type) = match value {
        Value::Object(_) | Value::Array(_) => (value.to_string(), Some("application/json")),
        other => (text_of(&other), None),
    };
    Ok(Part {
        name: name.into(),
        filename: None,
        content_type: content_type.or(default_type).map(str::to_owned),
        data: data.into_bytes(),
    })
}

/// Decodes a file argument: a `data:[<mime>][;base64],<data>` URI (giving its media type) or
/// plain base64 (standard or URL-safe alphabet, padding optional, whitespace ignored).
pub fn decode_file(text: &str) -> Option<(Vec<u8>, Option<String>)> {
    if let Some(rest) = text.strip_prefix("data:") {
        let (header, data) = rest.split_once(',')?;
        let mut params = header.split(';');
        let mime = params.next().filter(|m| !m.is_empty()).map(str::to_owned);
        let is_base64 = params.any(|p| p.eq_ignore_ascii_case("base64"));
        let bytes = if is_base64 {
            decode_base64(data)?
        } else {
            percent_encoding::percent_decode_str(data).collect()
        };
        return Some((bytes, mime));
    }
    decode_base64(text).map(|b| (b, None))
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD_PAD_INDIFFERENT
        .decode(&compact)
        .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode(&compact))
        .ok()
}
