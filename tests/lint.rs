//! `mcpgen lint` on a fixture with every rule family (`tests/lint/`), and on the examples.

use serde_json::Value;
use std::process::{Command, Output};

fn mcpgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .output()
        .unwrap()
}

/// (code, first line of the message) of every finding.
fn findings(output: &Output) -> Vec<(String, String)> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| {
            let (level, rest) = line.split_once('[')?;
            if level != "error" && level != "warning" {
                return None;
            }
            let (code, message) = rest.split_once("]: ")?;
            Some((code.to_owned(), message.to_owned()))
        })
        .collect()
}

#[track_caller]
fn has(found: &[(String, String)], code: &str, needle: &str) {
    assert!(
        found.iter().any(|(c, m)| c == code && m.contains(needle)),
        "expected {code} mentioning {needle:?} in {found:#?}"
    );
}

#[test]
fn every_rule_family_fires_where_it_should_and_nowhere_else() {
    let output = mcpgen(&[
        "lint",
        "-c",
        "tests/lint/mcpgen.yaml",
        "--profile",
        "gemini",
    ]);
    assert_eq!(output.status.code(), Some(1), "errors fail the lint");
    let found = findings(&output);
    has(
        &found,
        "lint-hidden-text",
        "tool `get_user`: the description holds the invisible or direction-changing character U+202E",
    );
    has(&found, "lint-instruction", "ignore previous instructions");
    has(&found, "lint-secret-exposed", "`/password_hash`");
    has(&found, "lint-personal-data-exposed", "`/emailAddress`");
    has(&found, "lint-personal-data-exposed", "`/contact/phone`");
    has(&found, "lint-personal-data-exposed", "`/guardians/*/email`");
    // Fields about the data (a flag, an id, a time) and containers are not the data.
    for quiet in [
        "`/phone_verified`",
        "`/address_sid`",
        "`/token_expires_at`",
        "`/guardians`",
        "`/contact`",
    ] {
        assert!(
            !found.iter().any(|(_, m)| m.contains(quiet)),
            "{quiet} is not personal or secret: {found:#?}"
        );
    }
    has(&found, "lint-html", "send_anything");
    // Every text the model reads: server instructions, enum values.
    has(
        &found,
        "lint-instruction",
        "the server: the instructions addresses the model (\"do not tell the user\")",
    );
    let warned = String::from_utf8_lossy(&output.stderr);
    assert!(
        warned.contains("warning[lint-instruction]: the server: the escalation may address the model (\"you must always\")"),
        "a phrase common in API docs is a warning: {warned}"
    );
    has(
        &found,
        "lint-html",
        "tool `get_user_safe`: the input/properties/view/enum value contains active markup (`<img`)",
    );
    has(&found, "lint-catch-all-path", "/{path}");
    has(
        &found,
        "lint-free-form-argument",
        "argument `body` accepts any object",
    );
    has(
        &found,
        "lint-many-optional-arguments",
        "14 optional arguments",
    );
    has(&found, "lint-write-without-confirmation", "send_anything");
    // `server.profiles: [openai]`: build normalised the schemas, so only the extra profile fails.
    has(
        &found,
        "lint-client-profile",
        "gemini profile: unsupported keyword `additionalProperties`",
    );
    assert!(
        !found.iter().any(|(_, m)| m.contains("openai profile")),
        "normalised for openai: {found:#?}"
    );
    has(&found, "lint-name-length", "65 characters");
    has(
        &found,
        "lint-name-hash",
        "tool names `get_user_safe_view_1a2b3c4d`, `get_user_safe_view_5e6f7a8b` differ only by a hash",
    );
    assert_eq!(
        found.iter().filter(|(c, _)| c == "lint-name-hash").count(),
        2,
        "one finding on each name: {found:#?}"
    );
    // A comment on the line of an unquoted text the model reads cuts the text short.
    has(
        &found,
        "lint-comment-in-text",
        "tool `get_user_safe`: the description of `id` ends where a YAML comment starts; the model does not read `#4521`",
    );
    has(
        &found,
        "lint-comment-in-text",
        "tool `get_user_safe`: the title ends where a YAML comment starts; the model does not read `# a comment YAML leaves out of the title`",
    );
    assert!(
        warned.contains("mcpgen.yaml:18:50 at /tools/get_user_safe/params/id/description"),
        "placed on the comment: {warned}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|(c, _)| c == "lint-comment-in-text")
            .count(),
        2,
        "quoted texts and values the model does not read are not findings: {found:#?}"
    );
    assert!(
        !found
            .iter()
            .any(|(c, m)| c.ends_with("-exposed") && m.contains("get_user_safe")),
        "redacted and masked fields are not findings: {found:#?}"
    );
}

#[test]
fn budgets_profiles_and_sarif() {
    let output = mcpgen(&[
        "lint",
        "-c",
        "tests/lint/mcpgen.yaml",
        "--max-tool-tokens",
        "50",
        "--max-total-tokens",
        "100",
        "--profile",
        "gemini",
    ]);
    let found = findings(&output);
    has(&found, "lint-tool-budget", "over the budget of 50");
    has(&found, "lint-surface-budget", "over the budget of 100");
    has(&found, "lint-client-profile", "gemini profile");

    let sarif = mcpgen(&["lint", "-c", "tests/lint/mcpgen.yaml", "--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&sarif.stdout).expect("SARIF is JSON");
    assert_eq!(report["version"], "2.1.0");
    let results = report["runs"][0]["results"].as_array().unwrap();
    let injection = results
        .iter()
        .find(|r| r["ruleId"] == "lint-instruction" && r["level"] == "error")
        .expect("the injection finding");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "lint-instruction" && r["level"] == "warning"),
        "the same rule at warning level"
    );
    let location = &injection["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "tests/lint/mcpgen.yaml"
    );
    assert!(
        location["region"]["startLine"]
            .as_u64()
            .is_some_and(|l| l > 1),
        "{location}"
    );
    let rules: Vec<&str> = report["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(rules.contains(&"lint-secret-exposed"));
}

#[test]
fn examples_have_no_errors_and_warnings_can_be_denied() {
    for example in [
        "petstore-swagger2",
        "twilio-messaging",
        "anypoint-governance",
        "galaxy-openapi31",
    ] {
        let output = mcpgen(&["lint", "-c", &format!("specs/{example}/mcpgen.yaml")]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{example}: {stderr}");
        assert!(
            !stderr.contains("lint-comment-in-text"),
            "{example}: every text the model reads is whole: {stderr}"
        );
    }
    let strict = mcpgen(&[
        "lint",
        "-c",
        "specs/petstore-swagger2/mcpgen.yaml",
        "--deny-warnings",
    ]);
    assert_eq!(
        strict.status.code(),
        Some(1),
        "the pet store has writers without confirmation"
    );
}
