//! A small `multipart/form-data` parser, for checking what the server sent to the mock.
//!
//! Owns reading the boundary from a `Content-Type` and splitting a body into parts with their
//! `Content-Disposition` name and filename and their `Content-Type`. Strict enough to notice a
//! malformed body, which is the point: it checks the client's encoding, not a browser's.

/// One received part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPart {
    /// `name` of the `Content-Disposition` header.
    pub name: String,
    /// `filename`, for file parts.
    pub filename: Option<String>,
    /// The part's `Content-Type`.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/*` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let media = params.next()?.trim().to_ascii_lowercase();
    if !media.starts_with("multipart/") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits a multipart body; the error says what is malformed.
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<ReceivedPart>, String> {
    let delimiter = format!("--{boundary}").into_bytes();
    let start = find(body, &delimiter).ok_or("no opening boundary")?;
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("boundary line not followed by CRLF")?;
        let header_end = find(rest, b"\r\n\r\n").ok_or("part headers do not end")?;
        let headers =
            std::str::from_utf8(&rest[..header_end]).map_err(|_| "part headers are not UTF-8")?;
        rest = &rest[header_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let data_end = find(rest, &closing).ok_or("part is not closed by a boundary")?;
        let data = rest[..data_end].to_vec();
        rest = &rest[data_end + closing.len()..];
        parts.push(part(headers, data)?);
    }
}

fn part(headers: &str, data: Vec<u8>) -> Result<ReceivedPart, String> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("bad part header line `{line}`"));
        };
        let value = value.trim();
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            for param in split_params(value).into_iter().skip(1) {
                match param.split_once('=') {
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("name") => {
                        name = Some(unquote(v))
                    }
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("filename") => {
                        filename = Some(unquote(v))
                    }
                    _ => {}
                }
            }
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        }
    }
    Ok(ReceivedPart {
        name: name.ok_or("part without a Content-Disposition name")?,
        filename,
        content_type,
        data,
    })
}

/// Splits `a; b="x;y"; c` on semicolons outside quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out.into_iter().map(|s| s.trim().to_owned()).collect()
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => value.to_owned(),
    }
}
