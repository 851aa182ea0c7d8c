//! What a client receives for each kind of upstream answer ([`ResultPlan::shape`]): the table in
//! `runtime/src/response/result.rs` and the README, case by case. A 2xx answer is never an error;
//! structured content always validates against the published schema; field rules hold on every
//! path; secrets never appear.

use mcpgen_runtime::request::upstream::UpstreamResponse;
use mcpgen_runtime::response::result::{ResultPlan, Shaped};
use mcpgen_runtime::response::scrub::Scrubber;
use mcpgen_runtime::spec::{NameRules, OutputSpec, RedactAction, RedactionSpec, SchemaText};
use mcpgen_runtime::support::validate::SchemaValidator;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

const SECRET: &str = "sk-live-123456";

/// A contacts tool: an allowlist and redactions, an output schema, paging arguments.
static CONTACTS: OutputSpec = OutputSpec {
    schema: Some(SchemaText::Inline("")),
    wrap: None,
    allow: &["/results", "/total"],
    redact: &[
        RedactionSpec {
            path: "/results/*/email",
            action: RedactAction::Mask { keep_last: 0 },
        },
        RedactionSpec {
            path: "/results/*/ssn",
            action: RedactAction::Remove,
        },
    ],
    names: NameRules {
        keep: Some(&[
            "code", "email", "error", "id", "message", "name", "results", "total",
        ]),
        drop: &["email", "owner_notes", "ssn"],
    },
    max_result_tokens: None,
    narrow_with: &["limit", "after"],
};

/// A plain tool: no field rules, no output schema.
static PLAIN: OutputSpec = OutputSpec::NONE;

fn contacts_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "total": {"type": ["integer", "null"]},
            "results": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Contact"}}
        },
        "$defs": {"Contact": {"type": ["object", "null"], "properties": {
            "id": {"type": ["integer", "null"]},
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"], "description": "Redacted by policy."}
        }}}
    })
}

struct Case {
    output: &'static OutputSpec,
    schema: Option<Value>,
    tokens: u32,
}

impl Case {
    fn contacts() -> Self {
        Case {
            output: &CONTACTS,
            schema: Some(contacts_schema()),
            tokens: 20_000,
        }
    }

    fn plain() -> Self {
        Case {
            output: &PLAIN,
            schema: None,
            tokens: 20_000,
        }
    }

    fn shape(&self, status: u16, content_type: Option<&str>, body: &[u8]) -> Shaped {
        self.answer(UpstreamResponse {
            status,
            content_type: content_type.map(str::to_owned),
            body: body.to_vec(),
            truncated: false,
        })
    }

    fn answer(&self, response: UpstreamResponse) -> Shaped {
        let validator = self
            .schema
            .as_ref()
            .map(|s| SchemaValidator::compile(s).unwrap());
        let scrubber = Scrubber::new([SECRET.to_owned()]);
        let shaped = ResultPlan {
            output: self.output,
            validator: validator.as_ref(),
            schema: self.schema.as_ref().and_then(Value::as_object),
            scrubber: &scrubber,
            resource_uri: "mcpgen://crm/get/response",
            max_result_tokens: self.tokens,
        }
        .shape(&response);
        // Whatever the answer, structured content validates, and no secret is shown.
        if let (Some(validator), Some(value)) = (&validator, &shaped.result.structured_content) {
            assert!(
                validator.check(value).is_ok(),
                "invalid structured content {value}"
            );
        }
        if response.is_success() && self.schema.is_some() {
            assert!(
                shaped.result.structured_content.is_some(),
                "a success of a tool with an output schema carries structured content"
            );
        }
        let all = serde_json::to_string(&shaped.result).unwrap();
        assert!(!all.contains(SECRET), "secret in {all}");
        shaped
    }
}

fn text(result: &CallToolResult) -> Vec<String> {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

#[test]
fn matching_json_is_shaped_and_structured() {
    let body = json!({"total": 1, "paging": {"next": "x"}, "results": [
        {"id": 1, "name": "Ann", "email": "ann@example.com", "ssn": "123-45-6789"}
    ]});
    let expected =
        json!({"total": 1, "results": [{"id": 1, "name": "Ann", "email": "[REDACTED]"}]});
    // The older JSON names upstreams still send are read as JSON too, the rules applied.
    for content_type in [
        "application/json",
        "application/x-json",
        "text/json; charset=utf-8",
    ] {
        let s = Case::contacts().shape(200, Some(content_type), body.to_string().as_bytes());
        assert_eq!(s.result.is_error, Some(false), "{content_type}");
        assert_eq!(
            s.result.structured_content,
            Some(expected.clone()),
            "{content_type}"
        );
        assert_eq!(text(&s.result), vec![expected.to_string()]);
        assert_eq!(s.outcome.as_str(), "ok");
        assert!(s.drift.is_empty());
    }
}

#[test]
fn drifted_json_is_a_success_with_the_drifted_parts_left_out_of_structured_content() {
    // Real drift: a string where an integer is declared, an object where a string is, a
    // placeholder string where an object is declared.
    let body = json!({"total": "1", "results": [
        {"id": 1, "name": {"first": "Ann"}},
        "ContactObject1",
        {"id": 3, "name": "Cy"}
    ]});
    let s = Case::contacts().shape(200, Some("application/json"), body.to_string().as_bytes());
    assert_eq!(s.result.is_error, Some(false));
    assert_eq!(
        s.result.structured_content,
        Some(json!({"results": [{"id": 1}, {"id": 3, "name": "Cy"}]}))
    );
    let blocks = text(&s.result);
    assert_eq!(serde_json::from_str::<Value>(&blocks[0]).unwrap(), body);
    assert_eq!(
        blocks[1],
        "Note: the upstream's answer does not match this tool's output schema at /results/*, \
         /results/*/name, /total; structuredContent leaves those parts out, and the text above \
         holds the whole answer."
    );
    assert_eq!(s.outcome.as_str(), "output_drift");
    assert_eq!(s.drift, vec!["/results/*", "/results/*/name", "/total"]);
}

#[test]
fn nulls_everywhere_are_not_drift_when_the_schema_accepts_them() {
    let body = json!({"total": null, "results": [null, {"id": null, "name": null, "email": null}]});
    let s = Case::contacts().shape(200, Some("application/json"), body.to_string().as_bytes());
    assert_eq!(s.outcome.as_str(), "ok");
    assert_eq!(s.result.structured_content, Some(body));
}

#[test]
fn redacted_members_are_removed_wherever_the_schema_does_not_describe_them() {
    // An envelope the spec does not mention, carrying the record with its email.
    let body = json!({"total": 1, "results": [
        {"id": 1, "name": "Ann", "email": "ann@example.com",
         "extra": {"email": "ann@home.example", "owner_notes": "vip", "ok": true}}
    ]});
    let s = Case::contacts().shape(200, Some("application/json"), body.to_string().as_bytes());
    let all = serde_json::to_string(&s.result).unwrap();
    assert!(!all.contains("ann@"), "{all}");
    assert!(!all.contains("vip"), "{all}");
    assert_eq!(
        s.result.structured_content.unwrap()["results"][0]["extra"],
        json!({"ok": true})
    );
}

#[test]
fn empty_and_null_bodies_are_successes() {
    for (status, body, line) in [
        (204, &b""[..], "HTTP 204 No Content"),
        (201, &b"null"[..], "HTTP 201 Created (body: null)"),
        (202, &b" null "[..], "HTTP 202 Accepted (body: null)"),
    ] {
        let s = Case::contacts().shape(status, Some("application/json"), body);
        assert_eq!(s.result.is_error, Some(false), "{status}");
        assert_eq!(s.result.structured_content, Some(json!({})));
        assert_eq!(text(&s.result), vec![line]);
        assert_eq!(s.outcome.as_str(), "ok");
        let s = Case::plain().shape(status, None, body);
        assert_eq!(s.result.structured_content, None);
        assert_eq!(text(&s.result), vec![line]);
    }
}

#[test]
fn non_json_bodies_of_a_tool_with_field_rules_are_not_shown() {
    let xml = b"<contact><email>ann@example.com</email><ssn>123-45-6789</ssn></contact>";
    let s = Case::contacts().shape(200, Some("application/xml"), xml);
    assert_eq!(s.result.is_error, Some(false));
    assert_eq!(s.result.structured_content, Some(json!({})));
    assert_eq!(
        text(&s.result),
        vec![
            "The upstream answered HTTP 200 OK with 71 bytes of application/xml. It is not \
             shown: this tool's field rules (an allowlist or redactions) apply to JSON only."
        ]
    );
    assert_eq!(s.outcome.as_str(), "withheld");
    // Labelled JSON that does not parse: not shown either.
    let s = Case::contacts().shape(200, Some("application/json"), b"{\"email\": \"ann@ex");
    assert!(!serde_json::to_string(&s.result).unwrap().contains("ann@"));
    assert_eq!(s.outcome.as_str(), "withheld");
}

#[test]
fn non_json_bodies_of_a_tool_without_field_rules_are_shown_as_what_they_are() {
    let s = Case::plain().shape(200, Some("text/csv"), b"a,b\n1,2");
    assert_eq!(text(&s.result), vec!["a,b\n1,2"]);
    let s = Case::plain().shape(200, Some("image/png"), &[1, 2, 3]);
    let json = serde_json::to_value(&s.result).unwrap();
    assert_eq!(
        json["content"][0],
        json!({"type": "image", "data": "AQID", "mimeType": "image/png"})
    );
    let s = Case::plain().shape(200, Some("application/pdf"), &[0x25, 0x50, 0xff]);
    let json = serde_json::to_value(&s.result).unwrap();
    assert_eq!(
        json["content"][0]["resource"],
        json!({"uri": "mcpgen://crm/get/response", "mimeType": "application/pdf", "blob": "JVD/"})
    );
    // An output schema that expects JSON, no field rules: `{}`, the text, and a note.
    let case = Case {
        output: &PLAIN,
        schema: Some(json!({"type": "object"})),
        tokens: 20_000,
    };
    let s = case.shape(200, Some("text/html"), b"<p>maintenance</p>");
    assert_eq!(s.result.is_error, Some(false));
    assert_eq!(s.result.structured_content, Some(json!({})));
    let blocks = text(&s.result);
    assert_eq!(blocks[0], "<p>maintenance</p>");
    assert!(blocks[1].contains("describes JSON, but the upstream sent text/html"));
    assert_eq!(s.outcome.as_str(), "output_drift");
    // JSON mislabelled as text is read as JSON when the tool expects JSON.
    let s = case.shape(200, Some("text/plain"), br#"{"a":1}"#);
    assert_eq!(s.result.structured_content, Some(json!({"a": 1})));
    // Labelled JSON that does not parse, no field rules: shown as text, with a note.
    let s = Case::plain().shape(200, Some("application/json"), b"{nope");
    assert_eq!(s.result.is_error, Some(false));
    assert_eq!(text(&s.result)[0], "{nope");
    assert_eq!(s.outcome.as_str(), "invalid_response");
}

#[test]
fn a_result_over_budget_is_cut_to_valid_json_that_still_conforms() {
    let results: Vec<Value> = (0..500)
        .map(|i| json!({"id": i, "name": format!("contact number {i}"), "email": "x@example.com"}))
        .collect();
    let body = json!({"total": 500, "results": results});
    let case = Case {
        tokens: 1_000,
        ..Case::contacts()
    };
    let s = case.shape(200, Some("application/json"), body.to_string().as_bytes());
    assert_eq!(s.result.is_error, Some(false));
    let structured = s.result.structured_content.clone().unwrap();
    let kept = structured["results"].as_array().unwrap().len();
    assert!(kept > 10 && kept < 500, "{kept}");
    assert_eq!(structured["total"], 500);
    let blocks = text(&s.result);
    let shown: Value = serde_json::from_str(&blocks[0]).expect("the text is valid JSON");
    assert_eq!(shown, structured);
    assert!(blocks[0].len() <= 4_000, "{}", blocks[0].len());
    assert_eq!(
        blocks[1],
        format!(
            "Note: this result was cut to fit about 1000 tokens (/results: {kept} of 500 items \
             shown). To see the rest, call again with `limit`, `after` to page or narrow it."
        )
    );
    assert_eq!(s.outcome.as_str(), "result_cut");
    // Text is cut on a character boundary, with a note.
    let case = Case {
        tokens: 10,
        ..Case::plain()
    };
    let s = case.shape(200, Some("text/plain"), "é".repeat(100).as_bytes());
    let blocks = text(&s.result);
    assert_eq!(blocks[0], "é".repeat(20));
    assert!(
        blocks[1].contains("20 of 100 characters shown"),
        "{}",
        blocks[1]
    );
}

#[test]
fn a_2xx_answer_over_the_size_limit_is_a_success_with_a_note() {
    let cut = |output_case: Case, ct: &str, body: &[u8]| {
        output_case.answer(UpstreamResponse {
            status: 200,
            content_type: Some(ct.into()),
            body: body.to_vec(),
            truncated: true,
        })
    };
    let s = cut(
        Case::contacts(),
        "application/json",
        br#"{"results":[{"email":"ann@example.com","na"#,
    );
    assert_eq!(s.result.is_error, Some(false));
    assert_eq!(s.result.structured_content, Some(json!({})));
    let all = text(&s.result).concat();
    assert!(!all.contains("ann@"), "{all}");
    assert!(
        all.contains("larger than this server's limit of 42 bytes"),
        "{all}"
    );
    assert!(all.contains("`limit`, `after`"), "{all}");
    assert_eq!(s.outcome.as_str(), "response_truncated");
    let s = cut(
        Case::plain(),
        "text/plain",
        b"line 1\nline 2 sk-live-123456",
    );
    assert_eq!(text(&s.result)[0], "line 1\nline 2 [REDACTED]");
}

#[test]
fn error_bodies_of_a_tool_with_field_rules_hold_the_rules_whatever_their_shape() {
    // A 404 embedding the record it is about, in an envelope of its own.
    let body = json!({
        "error": {"code": 404, "message": "contact not found",
                  "record": {"id": 7, "email": "ann@example.com", "ssn": "123-45-6789", "phone": "555"}},
        "owner_notes": "vip"
    });
    let s = Case::contacts().shape(404, Some("application/json"), body.to_string().as_bytes());
    assert_eq!(s.result.is_error, Some(true));
    let shown = text(&s.result).concat();
    assert_eq!(
        shown,
        "upstream returned HTTP 404 Not Found\n{\"error\":{\"code\":404,\"message\":\"contact not found\"}}"
    );
    // HTML and other bodies: the status line and what arrived, nothing of the content.
    let s = Case::contacts().shape(
        502,
        Some("text/html"),
        b"<html>ann@example.com sk-live-123456</html>",
    );
    assert_eq!(
        text(&s.result).concat(),
        "upstream returned HTTP 502 Bad Gateway\n(43 bytes of text/html not shown: this tool's \
         field rules apply to JSON only)"
    );
}

#[test]
fn error_bodies_of_a_plain_tool_are_shown_scrubbed_and_cut() {
    let s = Case::plain().shape(404, Some("application/json"), br#"{"error":"no pet"}"#);
    assert_eq!(
        text(&s.result).concat(),
        "upstream returned HTTP 404 Not Found\n{\"error\":\"no pet\"}"
    );
    let big = format!("key {SECRET} {}", "x".repeat(10_000));
    let s = Case::plain().shape(500, Some("text/plain"), big.as_bytes());
    let shown = text(&s.result).concat();
    assert!(
        shown.starts_with("upstream returned HTTP 500 Internal Server Error\nkey [REDACTED] x")
    );
    assert!(
        shown.len() < 4300 && shown.contains("truncated"),
        "{}",
        shown.len()
    );
    let s = Case::plain().shape(599, None, b"");
    assert_eq!(text(&s.result).concat(), "upstream returned HTTP 599");
}

#[test]
fn a_wrapped_array_is_structured_under_its_member() {
    static LIST: OutputSpec = OutputSpec {
        schema: Some(SchemaText::Inline("")),
        wrap: Some("result"),
        allow: &[],
        redact: &[],
        names: NameRules::NONE,
        max_result_tokens: None,
        narrow_with: &[],
    };
    let case = Case {
        output: &LIST,
        schema: Some(
            json!({"type": "object", "properties": {"result": {"type": ["array", "null"], "items": {"type": ["integer", "null"]}}}}),
        ),
        tokens: 20_000,
    };
    let s = case.shape(200, Some("application/json"), b"[1, \"two\", 3]");
    assert_eq!(s.result.structured_content, Some(json!({"result": [1, 3]})));
    assert_eq!(s.drift, vec!["/result/*"]);
    let empty: Map<String, Value> = Map::new();
    let s = case.shape(200, Some("application/json"), b"null");
    assert_eq!(s.result.structured_content, Some(Value::Object(empty)));
}

#[test]
fn positions_the_rules_name_are_kept_whatever_the_schema_describes() {
    // No output schema (or a bounded one that stops above these fields): `/name` is allowed
    // and `/pet/card` masked by path, though both names are also dropped elsewhere.
    static NAMED: OutputSpec = OutputSpec {
        schema: None,
        wrap: None,
        allow: &["/name", "/pet/card", "/pet/chip"],
        redact: &[RedactionSpec {
            path: "/pet/card",
            action: RedactAction::Mask { keep_last: 4 },
        }],
        names: NameRules {
            keep: Some(&["chip", "code", "message", "pet"]),
            drop: &["card", "email", "name"],
        },
        max_result_tokens: None,
        narrow_with: &[],
    };
    let case = Case {
        output: &NAMED,
        schema: None,
        tokens: 20_000,
    };
    let body =
        json!({"name": "Ann", "pet": {"name": "Rex", "chip": "123", "card": "4111111111111111"}});
    let s = case.shape(200, Some("application/json"), body.to_string().as_bytes());
    assert_eq!(
        s.result.structured_content,
        Some(json!({"name": "Ann", "pet": {"chip": "123", "card": "****1111"}}))
    );
}

#[test]
fn error_bodies_of_an_allowlisted_tool_show_no_bare_text() {
    for body in [
        &br#""Contact ann@example.com (ssn 123-45-6789) is locked""#[..],
        &br#"["ann@example.com", "123-45-6789"]"#[..],
        &b"123456789"[..],
    ] {
        let s = Case::contacts().shape(409, Some("application/json"), body);
        let shown = text(&s.result).concat();
        assert!(
            shown.starts_with("upstream returned HTTP 409 Conflict\n("),
            "{shown}"
        );
        assert!(
            !shown.contains("ann@") && !shown.contains("6789"),
            "{shown}"
        );
    }
}

#[test]
fn wildcard_allow_paths_do_not_open_error_bodies() {
    // `/*/name` allows the name of every listed pet; an error body is not that list.
    static LIST: OutputSpec = OutputSpec {
        schema: None,
        wrap: None,
        allow: &["/*/id", "/*/name"],
        redact: &[],
        names: NameRules {
            keep: Some(&["code", "id", "message"]),
            drop: &["name", "owner"],
        },
        max_result_tokens: None,
        narrow_with: &[],
    };
    let case = Case {
        output: &LIST,
        schema: None,
        tokens: 20_000,
    };
    let body =
        json!({"message": "invalid status", "pet": {"id": 1, "name": "doggie"}, "debug": {}});
    let s = case.shape(400, Some("application/json"), body.to_string().as_bytes());
    assert_eq!(
        text(&s.result).concat(),
        "upstream returned HTTP 400 Bad Request\n{\"message\":\"invalid status\"}"
    );
}
