//! The runtime as a generated crate carries it: its sources without their tests.
//!
//! A server runs none of the runtime's unit tests, and they read files (test keys, specs) that
//! are not vendored; the runtime's own suites live in `runtime/tests/`, which is never copied.
//! The runtime is `rustfmt`-formatted (CI checks it), so a test item is recognised by its
//! layout: its doc comment and attributes, a `#[cfg(test)]` or `#[cfg(all(test, …))]`
//! attribute at column 0, any further attributes or comments, then either a one-line item
//! (`mod x;`) or one that ends at the first line of closing brackets only at column 0 (`}`,
//! `};`, `});`). A test checks that every vendored file still parses and holds no test code.

/// `text` without its test-only items (with their documentation, and the blank line before each).
pub fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if !is_test_cfg(lines[i]) {
            kept.push(lines[i]);
            i += 1;
            continue;
        }
        // Further attributes and comments, then the item: one line ending in `;`, or every line
        // up to the first at column 0 that closes it (`}`, `};`, `});`, `];`).
        while i < lines.len() && (lines[i].starts_with("#[") || lines[i].starts_with("//")) {
            i += 1;
        }
        let one_line = lines
            .get(i)
            .is_some_and(|item| item.trim_end().ends_with(';'));
        if !one_line {
            i += 1;
            while i < lines.len() && !closes_item(lines[i]) {
                i += 1;
            }
        }
        i += 1;
        // Its documentation and attributes written above the `cfg` go with it.
        while kept
            .last()
            .is_some_and(|line| line.starts_with("///") || line.starts_with("#["))
        {
            kept.pop();
        }
        if kept.last().is_some_and(|line| line.trim().is_empty()) {
            kept.pop();
        }
    }
    kept.concat()
}

/// Whether a line ends a multi-line item: closing brackets only, from column 0 (`}`, `};`,
/// `});`, `];`), which text inside a string rarely is.
fn closes_item(line: &str) -> bool {
    let line = line.trim_end();
    line.starts_with(['}', ')', ']']) && line.chars().all(|c| matches!(c, '}' | ')' | ']' | ';'))
}

/// Whether a line is a test-only `cfg` attribute at column 0.
fn is_test_cfg(line: &str) -> bool {
    let line = line.trim_end();
    line == "#[cfg(test)]" || line.starts_with("#[cfg(all(test,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_and_declarations_are_left_out() {
        let text = "//! Doc.\n\npub mod a;\n\n#[cfg(test)]\n#[path = \"../tests/x.rs\"]\nmod x;\n\n\
                    fn f() {\n    if true {\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    \
                    #[test]\n    fn t() {\n        assert!(true);\n    }\n}\n\n\
                    /// Against a real server.\n#[cfg(all(test, feature = \"f\"))]\nmod more {\n}\n";
        assert_eq!(
            without_tests(text),
            "//! Doc.\n\npub mod a;\n\nfn f() {\n    if true {\n    }\n}\n"
        );
    }

    #[test]
    fn items_that_end_otherwise_go_whole() {
        let text = "fn f() {}\n\n#[cfg(test)]\n// a comment\nuse a::{\n    b,\n};\n\n\
                    #[cfg(test)]\nstatic X: Y = y(|| {\n    1\n});\n\n#[cfg(test)]\nfn helper(\n    a: u8,\n\
                    ) -> u8 {\n    a\n}\n\nfn g() {}\n";
        assert_eq!(without_tests(text), "fn f() {}\n\nfn g() {}\n");
    }

    /// Every file of the runtime, as a crate carries it, is still Rust and holds no test code.
    #[test]
    fn the_vendored_runtime_parses_and_holds_no_test_code() {
        for (path, text) in super::super::RUNTIME_FILES {
            if !path.ends_with(".rs") {
                continue;
            }
            let vendored = without_tests(text);
            syn::parse_file(&vendored).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                !vendored.contains("cfg(test") && !vendored.contains("cfg(all(test"),
                "{path}"
            );
        }
    }

    #[test]
    fn code_without_tests_is_unchanged() {
        let text = "fn f() {}\n\n#[cfg(feature = \"x\")]\nmod y {\n}\n";
        assert_eq!(without_tests(text), text);
    }
}
