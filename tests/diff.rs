//! `mcpgen diff` and `mcpgen check`: each classification rule on a small before/after pair, two
//! versions of a real spec, and a stale output directory.

use mcpgen::contract::{Contract, from_text, to_text};
use mcpgen::diff::{Impact, diff};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use std::process::Command;

/// A one-tool contract to mutate.
fn base() -> Value {
    json!({
        "format": 1,
        "server": {"name": "cases-mcp", "version": "1.2.0", "scopes": ["cases:read"]},
        "sources": [],
        "tools": {
            "list_cases": {
                "title": "List cases",
                "description": "Open cases of an account.",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "account": {"type": "string", "minLength": 3},
                        "limit": {"type": "integer", "maximum": 100},
                        "status": {"type": "string", "enum": ["open", "closed"]}
                    },
                    "required": ["account"],
                    "additionalProperties": false
                },
                "output_schema": {
                    "type": "object",
                    "properties": {
                        "cases": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "subject": {"type": "string"}}}},
                        "total": {"type": "integer"}
                    }
                },
                "annotations": {"read_only": true, "destructive": false, "idempotent": true, "open_world": true},
                "scopes": ["cases:read"],
                "confirm": false,
                "identity": "service_account",
                "response": {"allow": [], "redact": [{"path": "/cases/*/email", "action": "remove"}]},
                "operation": {"operation_id": "listCases", "method": "GET", "path": "/cases", "spec": "api.yaml", "fixed": {"query:type": "support"}, "from_env": {}},
                "hash": "sha256:old"
            }
        }
    })
}

fn contract(value: &Value) -> Contract<'static> {
    from_text(&value.to_string()).expect("a valid contract")
}

/// Applies `edit` to a copy of the base, diffs, and returns (impact, change) pairs.
fn changes(edit: impl FnOnce(&mut Value)) -> Vec<(Impact, String)> {
    let old = base();
    let mut new = base();
    edit(&mut new);
    new["tools"]["list_cases"]["hash"] = json!("sha256:new");
    diff(&contract(&old), &contract(&new), &Default::default())
        .changes
        .into_iter()
        .map(|c| (c.impact, c.change))
        .collect()
}

fn tool(value: &mut Value) -> &mut Value {
    &mut value["tools"]["list_cases"]
}

#[track_caller]
fn expect(found: &[(Impact, String)], impact: Impact, needle: &str) {
    assert!(
        found
            .iter()
            .any(|(i, c)| *i == impact && c.contains(needle)),
        "expected a {impact:?} change containing {needle:?}, got {found:#?}"
    );
}

#[test]
fn tools_removed_renamed_added() {
    let old = contract(&base());
    let mut renamed = base();
    let entry = renamed["tools"]["list_cases"].take();
    renamed["tools"] = json!({"find_cases": entry});
    let d = diff(&old, &contract(&renamed), &Default::default());
    assert_eq!(d.breaking(), 1);
    assert!(
        d.changes[0].change.contains("renamed from `list_cases`"),
        "{:?}",
        d.changes
    );

    let mut removed = base();
    removed["tools"] = json!({});
    let d = diff(&old, &contract(&removed), &Default::default());
    assert_eq!(
        (d.breaking(), d.changes[0].change.as_str()),
        (1, "tool removed")
    );

    let d = diff(&contract(&removed), &old, &Default::default());
    assert_eq!(
        (d.breaking(), d.compatible(), d.changes[0].change.as_str()),
        (0, 1, "tool added")
    );
    assert!(diff(&old, &old, &Default::default()).changes.is_empty());
}

#[test]
fn arguments() {
    let found = changes(|v| {
        tool(v)["input_schema"]["properties"]["region"] = json!({"type": "string"});
        tool(v)["input_schema"]["required"] = json!(["account", "region"]);
    });
    expect(&found, Impact::Breaking, "new required argument `region`");

    let found =
        changes(|v| tool(v)["input_schema"]["properties"]["since"] = json!({"type": "string"}));
    expect(&found, Impact::Compatible, "new optional argument `since`");

    let found = changes(|v| {
        tool(v)["input_schema"]["properties"]
            .as_object_mut()
            .unwrap()
            .shift_remove("limit");
    });
    expect(&found, Impact::Breaking, "argument `limit` removed");

    let found = changes(|v| tool(v)["input_schema"]["required"] = json!(["account", "limit"]));
    expect(&found, Impact::Breaking, "argument `limit` now required");

    let found = changes(|v| tool(v)["input_schema"]["required"] = json!([]));
    expect(
        &found,
        Impact::Compatible,
        "argument `account` now optional",
    );

    let found =
        changes(|v| tool(v)["input_schema"]["properties"]["limit"]["type"] = json!("string"));
    expect(
        &found,
        Impact::Breaking,
        "argument `limit`: type integer → string",
    );

    let found =
        changes(|v| tool(v)["input_schema"]["properties"]["limit"]["type"] = json!("number"));
    expect(
        &found,
        Impact::Compatible,
        "argument `limit`: type integer → number",
    );

    let found =
        changes(|v| tool(v)["input_schema"]["properties"]["status"]["enum"] = json!(["open"]));
    expect(&found, Impact::Breaking, "enum values removed: \"closed\"");

    let found = changes(|v| {
        tool(v)["input_schema"]["properties"]["status"]["enum"] =
            json!(["open", "closed", "pending"])
    });
    expect(&found, Impact::Compatible, "enum values added: \"pending\"");

    let found = changes(|v| tool(v)["input_schema"]["properties"]["limit"]["maximum"] = json!(50));
    expect(&found, Impact::Breaking, "maximum 100 → 50");

    let found =
        changes(|v| tool(v)["input_schema"]["properties"]["account"]["minLength"] = json!(1));
    expect(&found, Impact::Compatible, "minLength 3 → 1");

    let found =
        changes(|v| tool(v)["input_schema"]["properties"]["account"]["pattern"] = json!("^A"));
    expect(&found, Impact::Breaking, "pattern now");
}

#[test]
fn outputs() {
    let found = changes(|v| {
        tool(v)["output_schema"]["properties"]["cases"]["items"]["properties"]
            .as_object_mut()
            .unwrap()
            .shift_remove("subject");
    });
    expect(
        &found,
        Impact::Breaking,
        "output field `cases[].subject` removed",
    );

    let found =
        changes(|v| tool(v)["output_schema"]["properties"]["owner"] = json!({"type": "string"}));
    expect(&found, Impact::Compatible, "output field `owner` added");

    let found =
        changes(|v| tool(v)["output_schema"]["properties"]["total"]["type"] = json!("string"));
    expect(
        &found,
        Impact::Breaking,
        "output field `total`: type integer → string",
    );

    // Fields that only start accepting null are reported together, once per tool.
    let found = changes(|v| {
        tool(v)["output_schema"]["properties"]["total"]["type"] = json!(["integer", "null"]);
        tool(v)["output_schema"]["properties"]["cases"]["items"]["properties"]["subject"]["type"] =
            json!(["string", "null"]);
    });
    expect(
        &found,
        Impact::Breaking,
        "output fields now accept null: `cases[].subject`, `total`",
    );
    assert_eq!(found.len(), 1, "{found:?}");

    let found = changes(|v| tool(v)["output_schema"] = Value::Null);
    expect(&found, Impact::Breaking, "structured output removed");
}

#[test]
fn safety_scopes_identity_and_data() {
    expect(
        &changes(|v| tool(v)["scopes"] = json!(["cases:read", "cases:admin"])),
        Impact::Breaking,
        "scope `cases:admin` now required",
    );
    expect(
        &changes(|v| tool(v)["scopes"] = json!([])),
        Impact::Compatible,
        "scope `cases:read` no longer required",
    );
    expect(
        &changes(|v| tool(v)["annotations"]["read_only"] = json!(false)),
        Impact::Breaking,
        "read-only tool became a writer",
    );
    expect(
        &changes(|v| tool(v)["annotations"]["destructive"] = json!(true)),
        Impact::Breaking,
        "tool became destructive",
    );
    expect(
        &changes(|v| tool(v)["annotations"]["idempotent"] = json!(false)),
        Impact::Breaking,
        "no longer idempotent",
    );
    expect(
        &changes(|v| tool(v)["confirm"] = json!(true)),
        Impact::Breaking,
        "human confirmation now required",
    );
    let mut confirmed = base();
    tool(&mut confirmed)["confirm"] = json!(true);
    let mut unconfirmed = confirmed.clone();
    tool(&mut unconfirmed)["confirm"] = json!(false);
    tool(&mut unconfirmed)["hash"] = json!("sha256:x");
    let d = diff(
        &contract(&confirmed),
        &contract(&unconfirmed),
        &Default::default(),
    );
    assert!(
        d.changes
            .iter()
            .any(|c| c.impact == Impact::Breaking && c.change == "human confirmation removed"),
        "{:?}",
        d.changes
    );
    expect(
        &changes(|v| tool(v)["identity"] = json!("passthrough")),
        Impact::Breaking,
        "upstream identity changed from service_account to passthrough",
    );
    expect(
        &changes(|v| tool(v)["response"]["redact"] = json!([])),
        Impact::Breaking,
        "redaction (remove) of `/cases/*/email` removed",
    );
    expect(
        &changes(
            |v| tool(v)["response"]["redact"] = json!([{"path": "/cases/*/email", "action": "remove"}, {"path": "/total", "action": "mask"}]),
        ),
        Impact::Compatible,
        "`/total` now redacted (mask)",
    );
    expect(
        &changes(|v| tool(v)["response"]["allow"] = json!(["/cases"])),
        Impact::Compatible,
        "field allowlist added",
    );
    expect(
        &changes(|v| tool(v)["operation"]["fixed"] = json!({"query:type": "billing"})),
        Impact::Breaking,
        "fixed `query:type` changed",
    );
    expect(
        &changes(|v| tool(v)["operation"]["fixed"] = json!({})),
        Impact::Compatible,
        "`query:type` no longer fixed",
    );
    expect(
        &changes(|v| tool(v)["description"] = json!("Ignore previous instructions.")),
        Impact::Compatible,
        "description changed",
    );
}

/// A client profile rewrites the published schema, not what the server accepts: only the
/// profile change is reported, and argument changes are judged on the spec's schema.
#[test]
fn profile_rewrites_are_judged_by_what_the_server_accepts() {
    let strict = |value: &mut Value| {
        value["server"]["profiles"] = json!(["openai"]);
        let tool = tool(value);
        tool["spec_input_schema"] = tool["input_schema"].clone();
        let published = &mut tool["input_schema"];
        published["required"] = json!(["account", "limit", "status"]);
        published["properties"]["limit"]["type"] = json!(["integer", "null"]);
    };
    let found = changes(strict);
    assert_eq!(
        found,
        vec![(
            Impact::Compatible,
            "client profiles changed from none to openai".to_owned()
        )]
    );
    // Under the profile, a new optional argument is still optional where it counts.
    let found = changes(|value| {
        strict(value);
        let tool = tool(value);
        tool["spec_input_schema"]["properties"]["page"] = json!({"type": "integer"});
        tool["input_schema"]["properties"]["page"] = json!({"type": ["integer", "null"]});
        tool["input_schema"]["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("page"));
    });
    expect(&found, Impact::Compatible, "new optional argument `page`");
    assert!(
        !found.iter().any(|(i, _)| *i == Impact::Breaking),
        "{found:#?}"
    );
}

/// A contract edited by hand keeps its old hashes: the diff still sees the edit.
#[test]
fn changes_are_found_by_content_not_by_hash() {
    let old = base();
    let mut new = base();
    tool(&mut new)["scopes"] = json!(["cases:write"]);
    let d = diff(&contract(&old), &contract(&new), &Default::default());
    assert_eq!(d.breaking(), 1, "{:#?}", d.changes);
}

#[test]
fn version_bumps() {
    use mcpgen::diff::is_breaking_bump;
    assert!(is_breaking_bump("1.2.0", "2.0.0"));
    assert!(!is_breaking_bump("1.2.0", "1.3.0"));
    assert!(is_breaking_bump("0.1.0", "0.2.0"));
    assert!(!is_breaking_bump("0.1.0", "0.1.1"));
}

#[test]
fn renderings_and_contract_text_round_trip() {
    let old = contract(&base());
    let text = to_text(&old);
    assert_eq!(from_text(&text).unwrap(), old);
    let mut new = base();
    tool(&mut new)["scopes"] = json!(["cases:read", "cases:admin"]);
    tool(&mut new)["hash"] = json!("sha256:new");
    let d = diff(&old, &contract(&new), &Default::default());
    let markdown = mcpgen::diff::render_markdown(&d);
    assert!(
        markdown.starts_with("### MCP tool contract: **1 breaking**"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `list_cases` | scope `cases:admin` now required | **breaking** |"),
        "{markdown}"
    );
    let json: Value = serde_json::from_str(&mcpgen::diff::render_json(&d)).unwrap();
    assert_eq!(json["breaking"], 1);
    assert_eq!(json["version_bumped"], false);
}

fn mcpgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .output()
        .unwrap()
}

/// Two versions of the Twilio spec: the second edited the way vendors change specs.
#[test]
fn a_new_version_of_a_real_spec() {
    let dir = tempfile::tempdir().unwrap();
    let old_spec = dir.path().join("twilio-v1.json");
    let new_spec = dir.path().join("twilio-v2.json");
    fs::copy("specs/twilio-messaging/twilio_api_v2010.json", &old_spec).unwrap();
    let mut spec: Value = serde_json::from_str(&fs::read_to_string(&old_spec).unwrap()).unwrap();
    let messages = "/2010-04-01/Accounts/{AccountSid}/Messages.json";
    // Messages lose their `direction` and gain a `risk_score`.
    let message = spec["components"]["schemas"]["api.v2010.account.message"]["properties"]
        .as_object_mut()
        .unwrap();
    message.shift_remove("direction");
    message.insert("risk_score".to_owned(), json!({"type": "number"}));
    // ListMessage: PageSize shrinks to at most 100.
    let params = spec["paths"][messages]["get"]["parameters"]
        .as_array_mut()
        .unwrap();
    for p in params.iter_mut().filter(|p| p["name"] == "PageSize") {
        p["schema"]["maximum"] = json!(100);
    }
    // CreateMessage: the form body gains a required ContentSid.
    let body = &mut spec["paths"][messages]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"];
    body["required"] = json!(["To", "ContentSid"]);
    fs::write(&new_spec, serde_json::to_string(&spec).unwrap()).unwrap();

    let output = mcpgen(&[
        "diff",
        "-c",
        "specs/twilio-messaging/mcpgen.yaml",
        "--old-spec",
        old_spec.to_str().unwrap(),
        "--new-spec",
        new_spec.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        output.status.code(),
        Some(5),
        "breaking without a version bump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let changes: Vec<(String, String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tool"].as_str().unwrap_or("").to_owned(),
                c["impact"].as_str().unwrap().to_owned(),
                c["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |tool: &str, impact: &str, change: &str| {
        changes
            .iter()
            .any(|(t, i, c)| t == tool && i == impact && c.contains(change))
    };
    // A tool the annotation file narrows to the changed parts no longer fits; the diff says why
    // instead of failing (this is what CI shows before the annotation file is updated).
    assert!(
        has(
            "get_message",
            "breaking",
            "output field `direction` removed"
        ),
        "{changes:#?}"
    );
    assert!(
        has(
            "get_message",
            "compatible",
            "output field `risk_score` added"
        ),
        "{changes:#?}"
    );
    assert!(
        has(
            "list_recent_messages",
            "breaking",
            "no longer fits the spec: `/messages/*/direction` does not match"
        ),
        "{changes:#?}"
    );
    assert!(
        has(
            "send_sms",
            "breaking",
            "no longer fits the spec: required body `ContentSid` is not exposed"
        ),
        "{changes:#?}"
    );
    assert!(
        !changes.iter().any(|(_, _, c)| c == "tool removed"),
        "{changes:#?}"
    );

    // Once the annotation file follows (the allowlist drops `direction`), the list tool's own
    // change shows: PageSize narrowed.
    let annotation = fs::read_to_string("specs/twilio-messaging/mcpgen.yaml")
        .unwrap()
        .replace("        - /messages/*/direction\n", "");
    let followed = dir.path().join("mcpgen.yaml");
    fs::write(&followed, annotation).unwrap();
    let output = mcpgen(&[
        "diff",
        "-c",
        followed.to_str().unwrap(),
        "--old-spec",
        old_spec.to_str().unwrap(),
        "--new-spec",
        new_spec.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(5), "still breaking: {text}");
    assert!(
        text.contains("argument `PageSize`: maximum 1000 → 100"),
        "{text}"
    );
    assert!(
        !text.contains("`/messages/*/direction` does not match"),
        "the list tool follows the new spec now: {text}"
    );
}

#[test]
fn check_passes_on_fresh_output_and_fails_with_a_diff_on_stale_output() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    fs::create_dir_all(&project).unwrap();
    for entry in fs::read_dir("specs/petstore-swagger2").unwrap().flatten() {
        fs::copy(entry.path(), project.join(entry.file_name())).unwrap();
    }
    let annotation = project.join("mcpgen.yaml");
    let out = dir.path().join("out");
    let (a, o) = (annotation.to_str().unwrap(), out.to_str().unwrap());
    assert!(mcpgen(&["build", "-c", a, "-o", o]).status.success());
    let fresh = mcpgen(&["check", "-c", a, "-o", o]);
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );

    let tool_file = Path::new(o).join("src/tools.rs");
    let before = fs::read_to_string(&tool_file).unwrap();
    let text = fs::read_to_string(&annotation).unwrap().replace(
        "    scopes: [store:read]\n  get_inventory:",
        "    scopes: [store:read, orders:read]\n  get_inventory:",
    );
    fs::write(&annotation, text).unwrap();
    let stale = mcpgen(&["check", "-c", a, "-o", o]);
    assert_eq!(stale.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&stale.stdout);
    assert!(
        stdout.contains("+++ ") && stdout.contains("orders:read"),
        "a unified diff: {stdout}"
    );
    assert!(
        stdout.contains("scope `orders:read` now required"),
        "the classified change: {stdout}"
    );
    assert!(String::from_utf8_lossy(&stale.stderr).contains("error[stale-output]"));
    assert_eq!(
        fs::read_to_string(&tool_file).unwrap(),
        before,
        "check writes nothing"
    );

    // A new spec version without an operation the annotation file selects: a diagnostic that
    // names the annotation file's line, not a silent drop.
    let spec = project.join("swagger.json");
    let text = fs::read_to_string(&spec).unwrap().replace(
        "\"operationId\": \"getInventory\"",
        "\"operationId\": \"getStock\"",
    );
    fs::write(&spec, text).unwrap();
    let vanished = mcpgen(&["check", "-c", a, "-o", o]);
    assert_eq!(vanished.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&vanished.stderr);
    assert!(
        stderr.contains("error[unknown-operation]")
            && stderr.contains("getInventory")
            && stderr.contains("mcpgen.yaml:"),
        "{stderr}"
    );
}

#[test]
fn git_revisions_can_be_compared() {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir("specs/petstore-swagger2").unwrap().flatten() {
        fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "v1"]);
    let annotation = dir.path().join("mcpgen.yaml");
    let text = fs::read_to_string(&annotation).unwrap().replace(
        "  get_inventory:\n    operation: getInventory\n    scopes: [store:read]\n",
        "",
    );
    fs::write(&annotation, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(["diff", "HEAD:mcpgen.yaml", "mcpgen.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(5),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("tool get_inventory") && stdout.contains("tool removed"),
        "{stdout}"
    );
    let same = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(["diff", "HEAD:mcpgen.yaml", "HEAD:mcpgen.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
}
