//! YAML 1.2 core-schema resolution of scalars into JSON values.
//!
//! Owns the rules that turn a scalar's text, style and tag into `null`, a boolean, a number or a
//! string. Must not build collections or know about positions.

use serde_json::{Number, Value};

/// How a scalar was written, as far as resolution cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain (unquoted, not a block scalar): subject to core-schema resolution.
    Plain,
    /// Quoted or block scalar: always a string.
    Quoted,
}

/// A core-schema tag on a scalar (`!!str`, `!!int` …); other tags are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreTag {
    /// `!!str` or the non-specific `!`: always a string.
    Str,
    /// `!!null`, `!!bool`, `!!int`, `!!float`: resolved as a plain scalar even when quoted.
    Resolve,
}

/// Resolves one scalar.
pub fn resolve(text: &str, style: Style, tag: Option<CoreTag>) -> Value {
    match (tag, style) {
        (Some(CoreTag::Str), _) | (None, Style::Quoted) => Value::String(text.to_owned()),
        (Some(CoreTag::Resolve), _) | (None, Style::Plain) => resolve_plain(text),
    }
}

/// Resolves a plain scalar per the YAML 1.2 core schema. Floats that JSON cannot hold
/// (`.inf`, `.nan`, overflow) keep their source text as a string.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = integer(text) {
        return Value::Number(number);
    }
    if is_float(text)
        && let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

/// Decimal (`[-+]?[0-9]+`), octal (`0o[0-7]+`) and hexadecimal (`0x[0-9a-fA-F]+`) integers.
/// A decimal too large for 64 bits becomes a float, as in JSON parsers; an oversized octal or
/// hexadecimal stays a string (`None` here).
fn integer(text: &str) -> Option<Number> {
    if let Some(digits) = text.strip_prefix("0o") {
        return radix(digits, 8);
    }
    if let Some(digits) = text.strip_prefix("0x") {
        return radix(digits, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if let Ok(n) = unsigned.parse::<i64>() {
        return Some(Number::from(n));
    }
    if let Ok(n) = unsigned.parse::<u64>() {
        return Some(Number::from(n));
    }
    unsigned.parse::<f64>().ok().and_then(Number::from_f64)
}

fn radix(digits: &str, base: u32) -> Option<Number> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    u64::from_str_radix(digits, base).ok().map(Number::from)
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(text: &str) -> Value {
        resolve(text, Style::Plain, None)
    }

    #[test]
    fn nulls_and_booleans() {
        for text in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(plain(text), Value::Null, "{text:?}");
        }
        for text in ["true", "True", "TRUE"] {
            assert_eq!(plain(text), json!(true));
        }
        for text in ["false", "False", "FALSE"] {
            assert_eq!(plain(text), json!(false));
        }
        // YAML 1.1 booleans are strings in 1.2.
        for text in ["yes", "no", "on", "off", "tRUE", "nULL"] {
            assert_eq!(plain(text), json!(text));
        }
    }

    #[test]
    fn integers() {
        assert_eq!(plain("200"), json!(200));
        assert_eq!(plain("-17"), json!(-17));
        assert_eq!(plain("+17"), json!(17));
        assert_eq!(plain("0x1F"), json!(31));
        assert_eq!(plain("0o17"), json!(15));
        assert_eq!(plain("18446744073709551615"), json!(u64::MAX));
        assert_eq!(plain("18446744073709551616"), json!(18446744073709551616.0));
        assert_eq!(plain("0x"), json!("0x"));
        assert_eq!(plain("0o8"), json!("0o8"));
        assert_eq!(plain("0xFFFFFFFFFFFFFFFFF"), json!("0xFFFFFFFFFFFFFFFFF"));
        assert_eq!(plain("1_000"), json!("1_000"));
    }

    #[test]
    fn floats() {
        assert_eq!(plain("2.0"), json!(2.0));
        assert_eq!(plain("3.1"), json!(3.1));
        assert_eq!(plain(".5"), json!(0.5));
        assert_eq!(plain("1."), json!(1.0));
        assert_eq!(plain("1e3"), json!(1000.0));
        assert_eq!(plain("-1.5E-2"), json!(-0.015));
        // Not representable in JSON: the source text is kept.
        for text in [".inf", "-.Inf", "+.INF", ".nan", ".NaN", "1e999"] {
            assert_eq!(plain(text), json!(text));
        }
        for text in [
            "3.0.3", "1.2.3.4", ".", "e3", "1e", "1.5e+", "0.1a", "inf", "NaN",
        ] {
            assert_eq!(plain(text), json!(text), "{text:?}");
        }
    }

    #[test]
    fn quoted_and_tagged() {
        assert_eq!(resolve("true", Style::Quoted, None), json!("true"));
        assert_eq!(resolve("200", Style::Quoted, None), json!("200"));
        assert_eq!(resolve("", Style::Quoted, None), json!(""));
        assert_eq!(resolve("42", Style::Plain, Some(CoreTag::Str)), json!("42"));
        assert_eq!(
            resolve("42", Style::Quoted, Some(CoreTag::Resolve)),
            json!(42)
        );
    }
}
