use super::*;
use serde_json::json;

fn value(text: &str) -> Value {
    parse(text).unwrap().value
}

#[test]
fn scalars_follow_the_core_schema() {
    let parsed = value(
        "a: ~\nb:\nc: True\nd: 0x10\ne: 1.5\nf: .inf\ng: '42'\nh: \"true\"\ni: |\n  text\nj: !!str 12\nk: !custom 7\nl: ! 8\n",
    );
    assert_eq!(
        parsed,
        json!({"a": null, "b": null, "c": true, "d": 16, "e": 1.5, "f": ".inf", "g": "42",
                   "h": "true", "i": "text\n", "j": "12", "k": 7, "l": "8"})
    );
}

#[test]
fn keys_are_source_text_in_source_order() {
    let parsed =
        value("responses:\n  200: ok\n  1.50: x\n  true: y\n  ~: z\n  '404': nf\n  0x1F: h\n");
    let keys: Vec<&String> = parsed["responses"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["200", "1.50", "true", "~", "404", "0x1F"]);
    assert_eq!(parsed["responses"]["200"], json!("ok"));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let parsed = value(
        "base: &b {x: 1, y: 2}\nother: *b\nmerged:\n  y: 3\n  <<: *b\n  z: 4\nlist: [&s str, *s]\nseq:\n  <<: [{p: 1}, {p: 2, q: 2}]\n  q: 9\n*s : aliased-key\n",
    );
    assert_eq!(parsed["other"], json!({"x": 1, "y": 2}));
    // Explicit keys win over merged ones, before or after the merge key.
    assert_eq!(parsed["merged"], json!({"y": 3, "x": 1, "z": 4}));
    assert_eq!(parsed["list"], json!(["str", "str"]));
    // Earlier mappings in a merge sequence win; a later explicit key overrides.
    assert_eq!(parsed["seq"], json!({"p": 1, "q": 9}));
    assert_eq!(parsed["str"], json!("aliased-key"));
    assert!(
        parse("a: &x {b: 1}\nc:\n  <<: *x\n  b: 2\n")
            .unwrap()
            .duplicate_keys
            .is_empty()
    );
    assert!(matches!(
        parse("a: {<<: 5}").unwrap_err(),
        YamlError::BadMerge { line_col: (1, 5) }
    ));
    // A quoted `<<` is an ordinary key.
    assert_eq!(value("'<<': {a: 1}"), json!({"<<": {"a": 1}}));
}

#[test]
fn duplicate_keys_are_recorded_and_last_wins() {
    let parsed = parse("a: 1\nb:\n  c: 1\n  c: {d: 2}\na: 3\n").unwrap();
    assert_eq!(parsed.value, json!({"a": 3, "b": {"c": {"d": 2}}}));
    assert_eq!(
        parsed.duplicate_keys,
        vec![
            DuplicateKey {
                pointer: "/b/c".into(),
                line_col: (4, 3),
                first: Some((3, 3))
            },
            DuplicateKey {
                pointer: "/a".into(),
                line_col: (5, 1),
                first: Some((1, 1))
            },
        ]
    );
    assert_eq!(parsed.positions.get("/b/c/d"), Some((4, 7)));
}

#[test]
fn positions_by_pointer() {
    let text = "openapi: 3.0.3\npaths:\n  /pets/{id}:\n    get:\n      tags: [a, b]\n      parameters:\n        - name: id\n          in: path\n";
    let parsed = parse(text).unwrap();
    let p = &parsed.positions;
    assert_eq!(p.get(""), Some((1, 1)));
    assert_eq!(p.get("/openapi"), Some((1, 1)));
    assert_eq!(p.get("/paths/~1pets~1{id}"), Some((3, 3)));
    assert_eq!(p.get("/paths/~1pets~1{id}/get"), Some((4, 5)));
    assert_eq!(p.get("/paths/~1pets~1{id}/get/tags/1"), Some((5, 17)));
    assert_eq!(p.get("/paths/~1pets~1{id}/get/parameters/0"), Some((7, 11)));
    assert_eq!(
        p.get("/paths/~1pets~1{id}/get/parameters/0/in"),
        Some((8, 11))
    );
    let json = parse("{\n  \"a~b\": [1,\n    {\"c/d\": null}]\n}").unwrap();
    assert_eq!(json.positions.get("/a~0b/1/c~1d"), Some((3, 6)));
    assert_eq!(json.positions.get("/a~0b/1"), Some((3, 5)));
}

#[test]
fn comments_after_plain_scalar_values_are_recorded() {
    let text = "a: ask on #general  \nb: \"quoted\" # q\nc: C# and F#\n? key # k\n: v\nd: ünïcode é #x\ne: first\n  second # tail\nf: {g: h # flow\n  }\nlist:\n  - item\t# i\n";
    let parsed = parse(text).unwrap();
    let found: Vec<(&str, (usize, usize), &str)> = parsed
        .trailing_comments
        .iter()
        .map(|c| (c.pointer.as_str(), c.line_col, c.text.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("/a", (1, 11), "#general"),
            ("/d", (6, 14), "#x"),
            ("/e", (8, 10), "# tail"),
            ("/f/g", (9, 10), "# flow"),
            ("/list/0", (12, 10), "# i"),
        ]
    );
    assert_eq!(parsed.value["a"], json!("ask on"));
    assert_eq!(parsed.value["c"], json!("C# and F#"));
    assert_eq!(parsed.value["e"], json!("first second"));
}

#[test]
fn aliased_values_are_positioned_at_the_alias() {
    let parsed = parse("a: &x\n  b: {c: 1}\nlist:\n  - *x\n").unwrap();
    assert_eq!(parsed.positions.get("/list/0"), Some((4, 5)));
    assert_eq!(parsed.positions.get("/list/0/b/c"), None);
    assert_eq!(parsed.positions.nearest("/list/0/b/c"), Some((4, 5)));
}

#[test]
fn depth_limit_is_a_diagnostic_not_a_crash() {
    // Flow nesting: the scanner has its own limit, reported as a syntax error.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let YamlError::Syntax { message, .. } = parse(&deep).unwrap_err() else {
        panic!("expected the scanner's recursion limit");
    };
    assert!(message.contains("recursion"), "{message}");
    // Block nesting is bounded by ours.
    let block: String = (0..MAX_DEPTH + 1)
        .map(|depth| format!("{}a:\n", " ".repeat(depth)))
        .collect();
    assert_eq!(
        parse(&block).unwrap_err(),
        YamlError::TooDeep {
            line_col: (MAX_DEPTH + 1, MAX_DEPTH + 1),
            limit: MAX_DEPTH
        }
    );
    let ok: String = (0..MAX_DEPTH)
        .map(|depth| format!("{}a:\n", " ".repeat(depth)))
        .collect();
    assert!(parse(&ok).is_ok());
}

#[test]
fn alias_bomb_hits_the_budget() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 10].join(", ")
        ));
    }
    assert!(matches!(
        parse(&bomb).unwrap_err(),
        YamlError::AliasBudget { .. }
    ));
}

#[test]
fn shallow_continuation_lines_of_quoted_scalars_are_accepted() {
    let text = "x:\n  - api: u\n    description: 'a. \n    \n  \n    b ''q'''\n    values: [1, \"two\n    lines\", 3]\n    after: 1\n";
    let parsed = parse(text).unwrap();
    assert_eq!(
        parsed.value,
        json!({"x": [{"api": "u", "description": "a.\n\nb 'q'", "values": [1, "two lines", 3], "after": 1}]})
    );
    assert_eq!(parsed.positions.get("/x/0/values/2"), Some((8, 13)));
    assert_eq!(parsed.positions.get("/x/0/after"), Some((9, 5)));
    // A quoted scalar that never ends is still an error, at its start.
    let YamlError::Syntax { line_col, .. } = parse("- a: 'never\n  ends\n").unwrap_err() else {
        panic!("expected a syntax error");
    };
    assert_eq!(line_col.0, 1);
}

#[test]
fn structural_errors() {
    assert!(matches!(
        parse("a: 1\n---\nb: 2\n").unwrap_err(),
        YamlError::MultipleDocuments { line_col: (2, 1) }
    ));
    assert!(matches!(
        parse("? [a]\n: 1\n").unwrap_err(),
        YamlError::ComplexKey { .. }
    ));
    assert!(matches!(
        parse("a: *nope\n").unwrap_err(),
        YamlError::Syntax { .. } | YamlError::UnknownAlias { .. }
    ));
    assert!(matches!(
        parse("a: &x [*x]\n").unwrap_err(),
        YamlError::Syntax { .. } | YamlError::UnknownAlias { .. }
    ));
    let YamlError::Syntax { line_col, .. } = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err() else {
        panic!("expected a syntax error");
    };
    assert!(line_col.0 >= 2, "{line_col:?}");
    assert_eq!(parse("").unwrap().value, Value::Null);
    assert_eq!(parse("# only a comment\n").unwrap().value, Value::Null);
}
