//! JSON pointers (RFC 6901) and the fragment part of `$ref` strings.
//!
//! Owns escaping and unescaping of pointer tokens (`~0`, `~1`), percent-decoding of URI
//! fragments and paths, and splitting a `$ref` into its file part and its fragment. Pure string
//! work: must not look at documents or the disk.

/// Escapes one reference token for use in a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    if !token.contains(['~', '/']) {
        return token.to_owned();
    }
    token.replace('~', "~0").replace('/', "~1")
}

/// Appends one (unescaped) token to a pointer.
pub fn push_token(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    out.push_str(&escape_token(token));
    out
}

/// Splits a pointer into its unescaped tokens; `None` when it is not a valid pointer (it must be
/// empty or start with `/`, and `~` must be followed by `0` or `1`).
pub fn tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').map(unescape_token).collect()
}

/// Unescapes one token (`~1` → `/`, `~0` → `~`); `None` on a `~` not followed by `0` or `1`.
fn unescape_token(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The pointer of the parent value; `None` for the whole document.
pub fn parent(pointer: &str) -> Option<&str> {
    pointer.rsplit_once('/').map(|(parent, _)| parent)
}

/// Decodes `%XX` escapes. `None` when an escape is malformed or the result is not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|h| hex_value(*h))?;
            let lo = bytes.get(i + 2).and_then(|l| hex_value(*l))?;
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A `$ref` string taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefParts<'a> {
    /// A reference with a URI scheme (`https:`, `file:`, `urn:` …); never fetched.
    Remote(&'a str),
    /// A reference into a document: the (still percent-encoded) file part, empty for the
    /// referencing document itself, and the (still encoded) fragment without its `#`.
    Local {
        /// Relative file path before `#`; empty means "the same document".
        file: &'a str,
        /// Fragment after `#` (empty when there is none).
        fragment: &'a str,
    },
}

/// Splits a `$ref` into its file part and fragment, recognising remote references.
pub fn split_ref(reference: &str) -> RefParts<'_> {
    let (file, fragment) = match reference.split_once('#') {
        Some((file, fragment)) => (file, fragment),
        None => (reference, ""),
    };
    if has_scheme(file) {
        return RefParts::Remote(reference);
    }
    RefParts::Local { file, fragment }
}

/// Whether a reference starts with a URI scheme (`letter (letter | digit | + - .)* :`).
/// A one-letter scheme is taken for a Windows drive (`C:`) and is not a scheme.
fn has_scheme(file: &str) -> bool {
    let Some((scheme, _)) = file.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first_is_letter
        && scheme.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Turns a `$ref` fragment into a JSON pointer: percent-decodes it and checks its shape.
/// `""` and `"/"`-prefixed fragments are pointers; anything else (a plain-name anchor) is
/// not supported and gives `None`.
pub fn fragment_to_pointer(fragment: &str) -> Option<String> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() || decoded.starts_with('/') {
        tokens(&decoded)?;
        Some(decoded)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_unescapes_tokens() {
        assert_eq!(escape_token("/pets/{id}"), "~1pets~1{id}");
        assert_eq!(escape_token("a~b/c"), "a~0b~1c");
        assert_eq!(push_token("/paths", "/pets"), "/paths/~1pets");
        assert_eq!(
            tokens("/paths/~1pets~1{id}/a~0b").unwrap(),
            vec!["paths", "/pets/{id}", "a~b"]
        );
        // `~01` is `~1` literally, not `/`.
        assert_eq!(tokens("/~01").unwrap(), vec!["~1"]);
        assert_eq!(tokens("").unwrap(), Vec::<String>::new());
        assert_eq!(tokens("/").unwrap(), vec![""]);
        assert!(tokens("no-slash").is_none());
        assert!(tokens("/bad~2").is_none());
        assert!(tokens("/bad~").is_none());
    }

    #[test]
    fn parent_pointer() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some(""));
        assert_eq!(parent(""), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc").unwrap(), "a b/c");
        assert_eq!(percent_decode("%7Bid%7d").unwrap(), "{id}");
        assert_eq!(percent_decode("caf%C3%A9").unwrap(), "café");
        assert!(percent_decode("%zz").is_none());
        assert!(percent_decode("%4").is_none());
        assert!(percent_decode("%FF").is_none());
    }

    #[test]
    fn splits_refs() {
        assert_eq!(
            split_ref("../common/Error.yaml#/Error"),
            RefParts::Local {
                file: "../common/Error.yaml",
                fragment: "/Error"
            }
        );
        assert_eq!(
            split_ref("#/definitions/Pet"),
            RefParts::Local {
                file: "",
                fragment: "/definitions/Pet"
            }
        );
        assert_eq!(
            split_ref("Pet.yaml"),
            RefParts::Local {
                file: "Pet.yaml",
                fragment: ""
            }
        );
        assert_eq!(
            split_ref("https://x.io/a.yaml#/b"),
            RefParts::Remote("https://x.io/a.yaml#/b")
        );
        assert_eq!(split_ref("urn:x:y"), RefParts::Remote("urn:x:y"));
        assert_eq!(
            split_ref("file:///etc/passwd"),
            RefParts::Remote("file:///etc/passwd")
        );
        // A colon later in a relative path is not a scheme.
        assert_eq!(
            split_ref("./a:b.yaml"),
            RefParts::Local {
                file: "./a:b.yaml",
                fragment: ""
            }
        );
    }

    #[test]
    fn fragments_become_pointers() {
        assert_eq!(
            fragment_to_pointer("/paths/~1pets%7Bid%7D").unwrap(),
            "/paths/~1pets{id}"
        );
        assert_eq!(fragment_to_pointer("").unwrap(), "");
        assert!(fragment_to_pointer("anchor-name").is_none());
        assert!(fragment_to_pointer("/a~9").is_none());
    }
}
