//! The runtime as a generated crate carries it: its sources without their tests.
//!
//! A server runs none of the runtime's unit tests, and they read files (test keys, specs) that
//! are not vendored; the runtime's own suites live in `runtime/tests/`, which is never copied.
//! The runtime is `rustfmt`-formatted (CI checks it), so a test item is recognised by its
//! layout: its doc comment and attributes, a `#[cfg(test)]` or `#[cfg(all(test, …))]`
//! attribute at column 0, any further attributes, then either a one-line item (`mod x;`) or a block that ends at the first `}` at
//! column 0.

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
        while i < lines.len() && lines[i].starts_with("#[") {
            i += 1;
        }
        let opens_block = lines
            .get(i)
            .is_some_and(|item| item.trim_end().ends_with('{'));
        if opens_block {
            while i < lines.len() && lines[i].trim_end() != "}" {
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
    fn code_without_tests_is_unchanged() {
        let text = "fn f() {}\n\n#[cfg(feature = \"x\")]\nmod y {\n}\n";
        assert_eq!(without_tests(text), text);
    }
}
