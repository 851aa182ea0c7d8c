//! How a `Content-Type` is read: its essence, and whether it is JSON or text.
//!
//! One file for the runtime and the generator (which includes it by path): a tool's fixtures
//! must expect the result the runtime will make of the media types the spec names.

/// The essence of a `Content-Type` (`Application/JSON; charset=utf-8` → `application/json`).
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a media type (essence) is JSON: `application/json`, `text/json`, a `+json` suffix, and
/// the older names upstreams still send (`application/x-json`, `text/x-json`, `…-json`).
pub fn is_json(media: &str) -> bool {
    (media.starts_with("application/") || media.starts_with("text/"))
        && (media.ends_with("/json") || media.ends_with("+json") || media.ends_with("-json"))
}

/// Whether a `Content-Type` (with parameters or not) is JSON.
pub fn is_json_type(content_type: &str) -> bool {
    is_json(&essence(content_type))
}

/// Whether a media type (essence) is shown as text.
pub fn is_text(media: &str) -> bool {
    media.starts_with("text/")
        || media.ends_with("+xml")
        || matches!(
            media,
            "application/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/csv"
                | "application/x-ndjson"
        )
}

/// Whether a `Content-Type` (with parameters or not) is readable as text: JSON or text.
pub fn is_textual(content_type: &str) -> bool {
    let media = essence(content_type);
    is_json(&media) || is_text(&media)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_read_by_their_essence() {
        assert_eq!(
            essence(" Application/JSON ; charset=utf-8"),
            "application/json"
        );
        assert!(is_json("application/problem+json") && is_json("text/json"));
        assert!(is_json("application/x-json") && is_json("text/x-json"));
        assert!(!is_json("application/jsonx") && !is_json("text/plain") && !is_json("image/json"));
        assert!(is_json_type("Application/JSON; charset=utf-8") && !is_json_type("text/csv"));
        assert!(is_text("text/html") && is_text("application/atom+xml"));
        assert!(!is_text("application/octet-stream") && !is_text("image/png"));
        assert!(is_textual("application/hal+json; charset=utf-8"));
        assert!(is_textual("application/x-www-form-urlencoded"));
        assert!(is_textual("application/x-json") && !is_textual("application/pdf"));
    }
}
