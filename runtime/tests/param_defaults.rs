//! The parameter constructors generated tool modules use (`ParamSpec::query(…)` and the others)
//! serialise as OpenAPI does by default at each location, and a struct update changes only the
//! fields it names.

use mcpgen_runtime::request::param_style::{cookie_pairs, header_value, path_value, query_pairs};
use mcpgen_runtime::spec::*;
use serde_json::json;

static QUERY: ParamSpec = ParamSpec::query("id", ValueSource::argument("ids"));
static PATH: ParamSpec = ParamSpec::path("id", ValueSource::argument("id"));
static HEADER: ParamSpec = ParamSpec::header("X-Id", ValueSource::argument("id"));
static COOKIE: ParamSpec = ParamSpec::cookie("id", ValueSource::argument("id"));
static PIPES: ParamSpec = ParamSpec {
    style: ParamStyle::PipeDelimited,
    explode: false,
    ..ParamSpec::query("id", ValueSource::argument("ids"))
};

#[test]
fn each_location_serialises_as_openapi_does_by_default() {
    let list = json!(["a", "b"]);
    assert_eq!(
        query_pairs(
            QUERY.name,
            QUERY.style,
            QUERY.explode,
            QUERY.allow_reserved,
            &list
        ),
        ["id=a", "id=b"],
        "query: form, exploded"
    );
    assert_eq!(
        path_value(PATH.name, PATH.style, PATH.explode, &list).as_deref(),
        Some("a,b"),
        "path: simple, not exploded"
    );
    assert_eq!(
        header_value(HEADER.explode, &json!({"x": 1, "y": 2})).as_deref(),
        Some("x,1,y,2"),
        "header: simple, not exploded"
    );
    assert_eq!(
        cookie_pairs(COOKIE.name, COOKIE.explode, &list),
        ["id=a", "id=b"],
        "cookie: form, exploded"
    );
    assert_eq!(
        (PATH.style, HEADER.style),
        (ParamStyle::Simple, ParamStyle::Simple)
    );
    assert_eq!(
        (QUERY.style, COOKIE.style),
        (ParamStyle::Form, ParamStyle::Form)
    );
    assert!(
        ![&QUERY, &PATH, &HEADER, &COOKIE]
            .iter()
            .any(|p| p.allow_reserved)
    );
    assert!(matches!(
        QUERY.value,
        ValueSource::Argument {
            name: "ids",
            default: None
        }
    ));
}

#[test]
fn a_struct_update_changes_only_what_it_names() {
    assert_eq!(
        (PIPES.location, PIPES.style, PIPES.explode),
        (ParamLocation::Query, ParamStyle::PipeDelimited, false)
    );
    assert_eq!(PIPES.name, "id");
    assert_eq!(
        query_pairs(
            PIPES.name,
            PIPES.style,
            PIPES.explode,
            PIPES.allow_reserved,
            &json!(["a", "b"])
        ),
        ["id=a|b"]
    );
}
