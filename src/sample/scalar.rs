//! Scalars within their schema's bounds: a string matching a pattern, an integer or a number
//! between its minimum and maximum and on its `multipleOf`.

use serde_json::{Map, Value};

/// The shortest string a regular expression matches (anchors ignored, the first alternative,
/// each repetition `extra` times beyond its minimum when unbounded), or None if it cannot tell.
pub fn regex_sample(pattern: &str, extra: u32) -> Option<String> {
    use regex_syntax::hir::{Class, HirKind};
    fn pick(ranges: impl Iterator<Item = (char, char)> + Clone) -> Option<char> {
        for preferred in ['a', 'A', '0', 'x', '-', '_', '.', '+'] {
            if ranges
                .clone()
                .any(|(start, end)| start <= preferred && preferred <= end)
            {
                return Some(preferred);
            }
        }
        let mut ranges = ranges;
        ranges
            .clone()
            .find_map(|(start, end)| (start..=end).find(|c| c.is_ascii_graphic()))
            .or_else(|| ranges.next().map(|(start, _)| start))
    }
    fn walk(
        hir: &regex_syntax::hir::Hir,
        extra: u32,
        out: &mut String,
        depth: usize,
    ) -> Option<()> {
        if depth > 64 {
            return None;
        }
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
            HirKind::Class(Class::Unicode(class)) => {
                out.push(pick(class.ranges().iter().map(|r| (r.start(), r.end())))?)
            }
            HirKind::Class(Class::Bytes(class)) => out.push(pick(
                class
                    .ranges()
                    .iter()
                    .map(|r| (char::from(r.start()), char::from(r.end()))),
            )?),
            HirKind::Repetition(rep) => {
                let count = if rep.max.is_none() {
                    rep.min + extra
                } else {
                    rep.min
                        .max(u32::from(rep.min == 0 && extra > 0))
                        .min(rep.max.unwrap_or(u32::MAX))
                };
                for _ in 0..count.min(256) {
                    walk(&rep.sub, extra, out, depth + 1)?;
                }
            }
            HirKind::Capture(capture) => walk(&capture.sub, extra, out, depth + 1)?,
            HirKind::Concat(parts) => {
                for part in parts {
                    walk(part, extra, out, depth + 1)?;
                }
            }
            HirKind::Alternation(branches) => walk(branches.first()?, extra, out, depth + 1)?,
        }
        Some(())
    }
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let mut out = String::new();
    walk(&hir, extra, &mut out, 0)?;
    Some(out)
}

/// An integer within the schema's bounds.
pub(super) fn integer(obj: &Map<String, Value>) -> i64 {
    let min = obj.get("minimum").and_then(Value::as_f64).or_else(|| {
        obj.get("exclusiveMinimum")
            .and_then(Value::as_f64)
            .map(|m| m.floor() + 1.0)
    });
    let max = obj.get("maximum").and_then(Value::as_f64).or_else(|| {
        obj.get("exclusiveMaximum")
            .and_then(Value::as_f64)
            .map(|m| m.ceil() - 1.0)
    });
    let mut n = min.map_or(1.0, f64::ceil);
    if let Some(max) = max
        && n > max
    {
        n = max.floor();
    }
    if let Some(step) = obj
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|s| *s >= 1.0)
    {
        n = (n / step).ceil() * step;
    }
    n as i64
}

/// A number within the schema's bounds.
pub(super) fn number(obj: &Map<String, Value>) -> f64 {
    let min = obj.get("minimum").and_then(Value::as_f64).or_else(|| {
        obj.get("exclusiveMinimum")
            .and_then(Value::as_f64)
            .map(|m| m + 0.5)
    });
    let max = obj.get("maximum").and_then(Value::as_f64).or_else(|| {
        obj.get("exclusiveMaximum")
            .and_then(Value::as_f64)
            .map(|m| m - 0.5)
    });
    let mut n = min.unwrap_or(1.5);
    if let Some(max) = max
        && n > max
    {
        n = max;
    }
    if let Some(step) = obj
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|s| *s > 0.0)
    {
        n = (n / step).ceil() * step;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regex_samples_match_their_pattern() {
        for pattern in [
            "^AC[0-9a-fA-F]{32}$",
            "^(SM|MM)[0-9a-f]{32}$",
            "[A-Z]{2}-\\d+",
            "^\\+?[1-9]\\d{1,14}$",
            "^[^@]+@[^@]+$",
        ] {
            let sample = (0..3)
                .filter_map(|extra| regex_sample(pattern, extra))
                .find(|s| jsonschema::is_valid(&json!({"pattern": pattern}), &json!(s)));
            assert!(sample.is_some(), "{pattern}");
        }
        assert_eq!(
            regex_sample("^AC[0-9a-f]{4}$", 0).as_deref(),
            Some("ACaaaa")
        );
    }
}
