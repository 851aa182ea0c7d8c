//! Test fixtures of the generated crate: for each tool, a call and what it must do.
//!
//! The expected request is derived here from the IR, independently of the runtime's request
//! builder (a second implementation of OpenAPI serialization, written from the spec), and the
//! expected result from the shaping rules in `crate::wildcard`. A fixture therefore fails when
//! the runtime and the declared contract disagree.

use crate::ir::{
    ApiKeyLocation, BodyEncoding, BodyValue, CONFIRMATION_ARGUMENT, CredentialKind, Identity,
    ParamLocation, ParamStyle, RedactAction, ServerIr, ToolIr, ValueSource,
};
use crate::media::{essence, is_json, is_text};
use crate::parallel::Memo;
use crate::sample::Sampler;
use crate::wildcard::{self, WildcardPath};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Characters sent as is in path segments (RFC 3986 unreserved); all others are encoded.
fn encode_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text of a primitive value as sent in a URL or header.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The fixture for one tool, as pretty JSON.
pub fn fixture(ir: &ServerIr, tool: &ToolIr, env: &TestEnvironment) -> String {
    let TestEnvironment {
        values: env,
        secrets,
        shared,
    } = env;
    let mut arguments = (*tool.sample_arguments).clone();
    // The confirmation comes from the harness's first (dry-run) call, never from the sample.
    if let Value::Object(obj) = &mut arguments {
        obj.shift_remove(CONFIRMATION_ARGUMENT);
    }
    let tokens = Tokens::for_tool(tool);
    let mut secrets = secrets.clone();
    secrets.extend(tokens.access.iter().chain(&tokens.caller).cloned());
    let mut fixture = Map::new();
    fixture.insert("tool".to_owned(), json!(tool.name.as_str()));
    fixture.insert("env".to_owned(), json!(env));
    fixture.insert("secrets".to_owned(), json!(secrets));
    if let Some(access_token) = &tokens.access {
        fixture.insert("oauth".to_owned(), json!({"access_token": access_token}));
    }
    if let Some(caller_token) = &tokens.caller {
        fixture.insert("caller_token".to_owned(), json!(caller_token));
    }
    fixture.insert(
        "call".to_owned(),
        call(ir, tool, env, &arguments, &tokens, shared),
    );
    fixture.insert("invalid".to_owned(), invalid(tool, &arguments));
    let mut text = serde_json::to_string_pretty(&Value::Object(fixture)).unwrap_or_default();
    text.push('\n');
    text
}

/// Tokens a tool's fixture involves: the upstream token the server obtains (client credentials,
/// token exchange) and the caller's token (token exchange, passthrough).
struct Tokens {
    access: Option<String>,
    caller: Option<String>,
}

impl Tokens {
    fn for_tool(tool: &ToolIr) -> Self {
        let access = matches!(
            tool.identity,
            Identity::ClientCredentials | Identity::TokenExchange
        )
        .then(|| {
            format!(
                "test-upstream-token-{}",
                crate::naming::short_hash(tool.name.as_str(), 8)
            )
        });
        let caller = matches!(
            tool.identity,
            Identity::TokenExchange | Identity::Passthrough
        )
        .then(|| {
            format!(
                "test-caller-token-{}",
                crate::naming::short_hash(tool.name.as_str(), 8)
            )
        });
        Tokens { access, caller }
    }

    /// The bearer token that must reach the upstream, for token identities.
    fn upstream_bearer(&self, identity: Identity) -> Option<&String> {
        match identity {
            Identity::ServiceAccount => None,
            Identity::Passthrough => self.caller.as_ref(),
            Identity::ClientCredentials | Identity::TokenExchange => self.access.as_ref(),
        }
    }
}

/// The environment every fixture of a server starts it with.
pub struct TestEnvironment {
    /// Test values of every variable the server reads (it checks them all at start).
    values: BTreeMap<String, String>,
    /// The values that are secrets.
    secrets: Vec<String>,
    /// Validators already compiled, shared by the tools whose output schemas are the same
    /// (lowering shares one schema between tools answering alike).
    shared: SharedSchemas,
}

/// Per output schema (by the address of the IR's shared schema, which outlives the emit): its
/// compiled validator, a pure function of the schema's content.
#[derive(Default)]
struct SharedSchemas {
    validators: Memo<usize, Option<Arc<jsonschema::Validator>>>,
}

impl SharedSchemas {
    /// `schema` compiled, or `None` when it does not compile.
    fn validator(&self, schema: &Arc<Value>) -> Option<Arc<jsonschema::Validator>> {
        self.validators
            .get_or_insert_with(Arc::as_ptr(schema) as usize, || {
                crate::validator::compile(schema).ok().map(Arc::new)
            })
    }
}

impl TestEnvironment {
    /// Test values for a server's environment variables, computed once for all its fixtures.
    pub fn new(ir: &ServerIr) -> Self {
        let values = environment(ir);
        let oauth_secret = ir.upstream.oauth.as_ref().map(|o| &o.client_secret_env);
        let secrets = ir
            .upstream
            .credentials
            .iter()
            .flat_map(|c| c.kind.env_vars())
            .chain(oauth_secret)
            .filter_map(|var| values.get(var.as_str()).cloned())
            .filter(|value| value.starts_with("test-secret-"))
            .collect();
        TestEnvironment {
            values,
            secrets,
            shared: SharedSchemas::default(),
        }
    }
}

/// Test values of every environment variable the server reads.
fn environment(ir: &ServerIr) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    // Values that parameters take first: they must fit the parameter's schema.
    for tool in &ir.tools {
        let body_fields = tool.body.iter().flat_map(|b| match &b.value {
            BodyValue::Fields(fields) => fields.iter().map(|f| &f.value).collect::<Vec<_>>(),
            BodyValue::Argument { .. } => Vec::new(),
        });
        for source in tool.params.iter().map(|p| &p.value).chain(body_fields) {
            if let ValueSource::Env { var, schema } = source {
                let sample = Sampler::new(schema, "env-")
                    .sample_root()
                    .and_then(|v| v.as_str().map(str::to_owned));
                let value = sample.unwrap_or_else(|| {
                    format!(
                        "env-{}",
                        var.as_str().to_ascii_lowercase().replace('_', "-")
                    )
                });
                env.entry(var.to_string()).or_insert(value);
            }
        }
    }
    let oauth = ir
        .upstream
        .oauth
        .iter()
        .flat_map(|o| [&o.client_secret_env]);
    for var in ir
        .upstream
        .credentials
        .iter()
        .flat_map(|c| c.kind.env_vars())
        .chain(oauth)
    {
        env.entry(var.to_string()).or_insert_with(|| {
            format!("test-secret-{}", crate::naming::short_hash(var.as_str(), 8))
        });
    }
    if let Some(oauth) = &ir.upstream.oauth {
        env.entry(oauth.client_id_env.to_string())
            .or_insert_with(|| "test-client-id".to_owned());
    }
    env
}

/// The value a parameter or field is sent with, or None when it is not sent.
fn resolve(
    source: &ValueSource,
    arguments: &Value,
    env: &BTreeMap<String, String>,
) -> Option<Value> {
    match source {
        ValueSource::Argument { name, default } => {
            arguments.get(name).cloned().or_else(|| default.clone())
        }
        ValueSource::Fixed(value) => Some(value.clone()),
        ValueSource::Env { var, .. } => env.get(var.as_str()).map(|v| json!(v)),
    }
}

/// The call: arguments, canned upstream response, expected request and result.
fn call(
    ir: &ServerIr,
    tool: &ToolIr,
    env: &BTreeMap<String, String>,
    arguments: &Value,
    tokens: &Tokens,
    shared: &SharedSchemas,
) -> Value {
    let mut path = tool.operation.path.clone();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for param in &tool.params {
        let Some(value) = resolve(&param.value, arguments, env) else {
            continue;
        };
        match param.location {
            ParamLocation::Path => {
                path = path.replace(
                    &format!("{{{}}}", param.wire_name),
                    &path_value(&param.wire_name, &value, param.style, param.explode),
                );
            }
            ParamLocation::Query => query.extend(query_pairs(
                &param.wire_name,
                &value,
                param.style,
                param.explode,
            )),
            ParamLocation::Header => {
                headers.insert(
                    param.wire_name.to_ascii_lowercase(),
                    simple_value(&value, param.explode, false),
                );
            }
            ParamLocation::Cookie => {}
        }
    }
    for credential in ir
        .upstream
        .credentials
        .iter()
        .filter(|c| tool.credentials.contains(&c.id))
    {
        let secret =
            |var: &crate::naming::EnvVarName| env.get(var.as_str()).cloned().unwrap_or_default();
        match &credential.kind {
            CredentialKind::ApiKey {
                location: ApiKeyLocation::Header,
                name,
                env: var,
            } => {
                headers.insert(name.to_ascii_lowercase(), secret(var));
            }
            CredentialKind::ApiKey {
                location: ApiKeyLocation::Query,
                name,
                env: var,
            } => query.push((name.clone(), secret(var))),
            CredentialKind::ApiKey {
                location: ApiKeyLocation::Cookie,
                ..
            } => {}
            CredentialKind::Bearer { env: var } => {
                headers.insert(
                    "authorization".to_owned(),
                    format!("Bearer {}", secret(var)),
                );
            }
            CredentialKind::Basic {
                username_env,
                password_env,
            } => {
                use base64::Engine as _;
                let pair = format!("{}:{}", secret(username_env), secret(password_env));
                headers.insert(
                    "authorization".to_owned(),
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ),
                );
            }
        }
    }
    // A token identity's bearer token takes the place of static `Authorization` credentials.
    if let Some(token) = tokens.upstream_bearer(tool.identity) {
        headers.insert("authorization".to_owned(), format!("Bearer {token}"));
    }
    headers.insert("accept".to_owned(), tool.accept.clone());
    // A fragment in a path key (`/cookies#formExploded`) is never sent.
    if let Some(cut) = path.find('#') {
        path.truncate(cut);
    }
    let base_path = ir
        .upstream
        .base_url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    let body = request_body(tool, arguments, env);
    if let Some(media) = tool
        .body
        .as_ref()
        .filter(|_| !body.is_null())
        .map(|b| &b.media_type)
        && !matches!(
            tool.body.as_ref().map(|b| b.encoding),
            Some(BodyEncoding::Multipart)
        )
    {
        headers.insert("content-type".to_owned(), media.clone());
    }

    let budget = tool
        .output
        .max_result_tokens
        .unwrap_or(ir.limits.max_result_tokens);
    let (upstream, result, absent) = response(tool, budget, shared);
    json!({
        "arguments": arguments,
        "upstream": upstream,
        "request": {
            "method": tool.operation.method.as_str(),
            "path": format!("{base_path}{path}"),
            "query": query,
            "headers": headers,
            "body": body,
        },
                "result": result,
        "absent": absent,
        "confirm": tool.confirm,
    })
}

/// A path parameter's text (`simple`, `label` or `matrix`), percent-encoded.
fn path_value(name: &str, value: &Value, style: ParamStyle, explode: bool) -> String {
    match style {
        ParamStyle::Label => {
            let sep = if explode { "." } else { "," };
            format!(".{}", list_text(value, sep, explode, true))
        }
        ParamStyle::Matrix => match value {
            Value::Array(items) if explode => items
                .iter()
                .map(|i| format!(";{name}={}", encode_component(&scalar_text(i))))
                .collect(),
            Value::Object(obj) if explode => obj
                .iter()
                .map(|(k, v)| {
                    format!(
                        ";{}={}",
                        encode_component(k),
                        encode_component(&scalar_text(v))
                    )
                })
                .collect(),
            _ => format!(";{name}={}", list_text(value, ",", false, true)),
        },
        _ => simple_value(value, explode, true),
    }
}

/// The `simple` style text of a value (optionally percent-encoding each part).
fn simple_value(value: &Value, explode: bool, encode: bool) -> String {
    list_text(value, ",", explode, encode)
}

/// Joins an array's items or an object's members (`k=v` when exploded, `k,v` otherwise).
fn list_text(value: &Value, sep: &str, explode: bool, encode: bool) -> String {
    let e = |t: &str| {
        if encode {
            encode_component(t)
        } else {
            t.to_owned()
        }
    };
    match value {
        Value::Array(items) => items
            .iter()
            .map(|i| e(&scalar_text(i)))
            .collect::<Vec<_>>()
            .join(sep),
        Value::Object(obj) if explode => obj
            .iter()
            .map(|(k, v)| format!("{}={}", e(k), e(&scalar_text(v))))
            .collect::<Vec<_>>()
            .join(sep),
        Value::Object(obj) => obj
            .iter()
            .flat_map(|(k, v)| [e(k), e(&scalar_text(v))])
            .collect::<Vec<_>>()
            .join(","),
        other => e(&scalar_text(other)),
    }
}

/// The decoded query pairs of one parameter.
fn query_pairs(
    name: &str,
    value: &Value,
    style: ParamStyle,
    explode: bool,
) -> Vec<(String, String)> {
    match (style, value) {
        (ParamStyle::DeepObject, Value::Object(obj)) => obj
            .iter()
            .map(|(k, v)| (format!("{name}[{k}]"), scalar_text(v)))
            .collect(),
        (ParamStyle::Form, Value::Array(items)) if explode => items
            .iter()
            .map(|i| (name.to_owned(), scalar_text(i)))
            .collect(),
        (ParamStyle::Form, Value::Object(obj)) if explode => obj
            .iter()
            .map(|(k, v)| (k.clone(), scalar_text(v)))
            .collect(),
        (
            ParamStyle::SpaceDelimited | ParamStyle::PipeDelimited,
            Value::Array(_) | Value::Object(_),
        ) => {
            let sep = if style == ParamStyle::SpaceDelimited {
                " "
            } else {
                "|"
            };
            let parts: Vec<String> = match value {
                Value::Array(items) => items.iter().map(scalar_text).collect(),
                Value::Object(obj) => obj
                    .iter()
                    .flat_map(|(k, v)| [k.clone(), scalar_text(v)])
                    .collect(),
                _ => Vec::new(),
            };
            vec![(name.to_owned(), parts.join(sep))]
        }
        (_, value) => vec![(name.to_owned(), list_text(value, ",", false, false))],
    }
}

/// The expected body, in the fixture's notation.
fn request_body(tool: &ToolIr, arguments: &Value, env: &BTreeMap<String, String>) -> Value {
    let Some(body) = &tool.body else {
        return Value::Null;
    };
    let value = match &body.value {
        BodyValue::Argument { name } => match arguments.get(name) {
            Some(v) => v.clone(),
            None => return Value::Null,
        },
        BodyValue::Fields(fields) => {
            let mut obj = Map::new();
            for field in fields {
                if let Some(v) = resolve(&field.value, arguments, env) {
                    obj.insert(field.wire_name.clone(), v);
                }
            }
            if obj.is_empty() && !body.required {
                return Value::Null;
            }
            Value::Object(obj)
        }
    };
    match body.encoding {
        BodyEncoding::Json => json!({"json": value}),
        BodyEncoding::Text => json!({"text": scalar_text(&value)}),
        BodyEncoding::Binary => json!({"base64": scalar_text(&value)}),
        BodyEncoding::Form => {
            let mut pairs = Vec::new();
            for (k, v) in value.as_object().into_iter().flatten() {
                match v {
                    Value::Array(items) => {
                        pairs.extend(items.iter().map(|i| json!([k, form_text(i)])))
                    }
                    other => pairs.push(json!([k, form_text(other)])),
                }
            }
            json!({"form": pairs})
        }
        BodyEncoding::Multipart => {
            let fields = match &body.value {
                BodyValue::Fields(fields) => fields.as_slice(),
                BodyValue::Argument { .. } => &[],
            };
            let mut parts = Vec::new();
            for (k, v) in value.as_object().into_iter().flatten() {
                let field = fields.iter().find(|f| &f.wire_name == k);
                let file = field.is_some_and(|f| f.file);
                let items: Vec<&Value> = match v {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for item in items {
                    if file {
                        parts.push(json!({"name": k, "filename": k, "content_type": field.and_then(|f| f.content_type.clone()).unwrap_or_else(|| "application/octet-stream".to_owned()), "base64": scalar_text(item)}));
                    } else if item.is_object() {
                        parts.push(json!({"name": k, "filename": null, "content_type": "application/json", "text": item.to_string()}));
                    } else {
                        parts.push(json!({"name": k, "filename": null, "content_type": field.and_then(|f| f.content_type.clone()), "text": scalar_text(item)}));
                    }
                }
            }
            json!({"multipart": parts})
        }
    }
}

/// The text of a form field value: scalars as text, objects as JSON.
fn form_text(value: &Value) -> String {
    match value {
        Value::Object(_) | Value::Array(_) => value.to_string(),
        other => scalar_text(other),
    }
}

/// The canned upstream response, the expected result, and strings that must not reach it; a
/// result over `budget` tokens is expected cut, with a note.
fn response(tool: &ToolIr, budget: u32, shared: &SharedSchemas) -> (Value, Value, Vec<String>) {
    let output = &tool.output;
    let status = output.status;
    let media = essence(&output.media_type);
    if media.is_empty() {
        let upstream = json!({"status": status, "content_type": null, "body": ""});
        return (
            upstream,
            json!({"is_error": false, "text_contains": format!("{status}")}),
            Vec::new(),
        );
    }
    let Some(sample) = &output.upstream_sample else {
        // No schema: the runtime passes JSON objects on as they are, text as text, the rest as
        // a blob with its media type.
        if is_json(&media) {
            let body = json!({"message": "upstream-unschematized-1"});
            let upstream = json!({"status": status, "content_type": output.media_type, "body": body.to_string()});
            return (
                upstream,
                json!({"is_error": false, "structured": body}),
                Vec::new(),
            );
        }
        if is_text(&media) {
            let body = "sample response text";
            let upstream =
                json!({"status": status, "content_type": output.media_type, "body": body});
            return (
                upstream,
                json!({"is_error": false, "text_contains": body}),
                Vec::new(),
            );
        }
        let upstream =
            json!({"status": status, "content_type": output.media_type, "body_base64": "AQID"});
        return (
            upstream,
            json!({"is_error": false, "blob": {"mime_type": media, "base64": "AQID"}}),
            Vec::new(),
        );
    };
    let mut body = Value::clone(sample);
    // Values at redacted paths become sentinels, so their absence can be checked.
    for (k, redaction) in output.redact.iter().enumerate() {
        if let Ok(path) = WildcardPath::parse(&redaction.path) {
            set_matches(
                &mut body,
                &path.segments,
                &format!("mcpgen-redacted-{k}-0123456789"),
            );
        }
    }
    // Without field rules the result is the answer as sent: it is written out once, for the
    // upstream's body, the text searched and the size checked.
    let rules = !output.allow.is_empty() || !output.redact.is_empty();
    let body_text = body.to_string();
    let shaped = if rules {
        let allow: Vec<WildcardPath> = output
            .allow
            .iter()
            .filter_map(|p| WildcardPath::parse(p).ok())
            .collect();
        let mut shaped = wildcard::allow(&body, &allow);
        for redaction in &output.redact {
            let Ok(path) = WildcardPath::parse(&redaction.path) else {
                continue;
            };
            match redaction.action {
                RedactAction::Remove => wildcard::remove(&mut shaped, &path),
                RedactAction::Mask { keep_last } => wildcard::mask(&mut shaped, &path, keep_last),
            }
        }
        shaped
    } else {
        body.clone()
    };
    let shaped_text;
    let expected_text: &str = if rules {
        shaped_text = shaped.to_string();
        &shaped_text
    } else {
        &body_text
    };
    let mut absent: Vec<String> = Vec::new();
    collect_strings(&body, &mut absent);
    absent.sort();
    absent.dedup();
    // A string the shaped answer still holds, written as it is, is in its text: only the others
    // are searched for (a body holds hundreds of strings; searching each costs its length).
    // Without rules, it holds every string of the body.
    let kept: Option<std::collections::HashSet<String>> = rules.then(|| {
        let mut kept = Vec::new();
        collect_strings(&shaped, &mut kept);
        kept.into_iter().collect()
    });
    let written_as_is = |s: &str| !s.chars().any(|c| c == '"' || c == '\\' || c.is_control());
    absent.retain(|s| {
        let written = kept.as_ref().is_none_or(|k| k.contains(s)) && written_as_is(s);
        !written && !expected_text.contains(s.as_str())
    });
    // The size of the structured content as compact JSON: the text, wrapped when results are.
    let structured_size = match &output.wrap {
        Some(member) => {
            serde_json::to_string(member).map_or(0, |m| m.len()) + expected_text.len() + 3
        }
        None => expected_text.len(),
    };
    let structured = match &output.wrap {
        Some(member) => json!({ member.as_str(): shaped }),
        None => shaped,
    };
    // JSON is sent as JSON even when the spec's media type is a wildcard.
    let content_type = if is_json(&media) {
        output.media_type.clone()
    } else {
        "application/json".to_owned()
    };
    let upstream = json!({"status": status, "content_type": content_type, "body": body_text});
    let valid = match (&output.schema, output.upstream_sample_fits) {
        (None, _) => true,
        (Some(_), Some(fits)) => fits,
        (Some(schema), None) => shared
            .validator(schema)
            .is_some_and(|v| v.is_valid(&structured)),
    };
    // The runtime's budget: about 4 bytes of compact JSON per token.
    let over_budget = structured_size > budget as usize * 4;
    let result = if over_budget {
        json!({"is_error": false, "text_contains": "this result was cut to fit"})
    } else if valid {
        json!({"is_error": false, "structured": structured})
    } else {
        // No sample satisfies the published schema: the answer drifted, a success with a note.
        json!({"is_error": false, "text_contains": "does not match this tool's output schema"})
    };
    (upstream, result, absent)
}

/// Sets every value matched by `segments` (creating nothing) to `text`.
fn set_matches(value: &mut Value, segments: &[wildcard::Segment], text: &str) {
    let Some((first, rest)) = segments.split_first() else {
        *value = json!(text);
        return;
    };
    match (value, first) {
        (Value::Object(obj), wildcard::Segment::Key(k)) => {
            if let Some(member) = obj.get_mut(k) {
                set_matches(member, rest, text);
            }
        }
        (Value::Object(obj), wildcard::Segment::Any) => {
            obj.values_mut().for_each(|m| set_matches(m, rest, text))
        }
        (Value::Array(items), wildcard::Segment::Any) => {
            items.iter_mut().for_each(|m| set_matches(m, rest, text))
        }
        (Value::Array(items), wildcard::Segment::Key(k)) => {
            if let Some(item) = k.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                set_matches(item, rest, text);
            }
        }
        _ => {}
    }
}

/// Every string leaf of a value that is long enough to be recognisable.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.len() >= 8 => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(obj) => obj.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Invalid arguments, and the name the error must mention.
fn invalid(tool: &ToolIr, sample: &Value) -> Value {
    let required = tool
        .spec_input_schema
        .as_ref()
        .unwrap_or(&tool.input_schema)
        .get("required")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str);
    match required {
        Some(name) => {
            let mut arguments = sample.as_object().cloned().unwrap_or_default();
            arguments.remove(name);
            json!({"arguments": arguments, "mentions": name})
        }
        None => {
            json!({"arguments": {"unexpected_argument": true}, "mentions": "unexpected_argument"})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_follows_the_openapi_style_table() {
        let list = json!(["blue", "black", "brown"]);
        let obj = json!({"R": 100, "G": 200, "B": 150});
        assert_eq!(
            path_value("color", &json!("blue"), ParamStyle::Simple, false),
            "blue"
        );
        assert_eq!(
            path_value("color", &list, ParamStyle::Simple, false),
            "blue,black,brown"
        );
        assert_eq!(
            path_value("color", &obj, ParamStyle::Simple, false),
            "R,100,G,200,B,150"
        );
        assert_eq!(
            path_value("color", &obj, ParamStyle::Simple, true),
            "R=100,G=200,B=150"
        );
        assert_eq!(
            path_value("color", &list, ParamStyle::Label, false),
            ".blue,black,brown"
        );
        assert_eq!(
            path_value("color", &list, ParamStyle::Label, true),
            ".blue.black.brown"
        );
        assert_eq!(
            path_value("color", &list, ParamStyle::Matrix, true),
            ";color=blue;color=black;color=brown"
        );
        assert_eq!(
            path_value("color", &obj, ParamStyle::Matrix, false),
            ";color=R,100,G,200,B,150"
        );
        assert_eq!(
            path_value("id", &json!("a b/c"), ParamStyle::Simple, false),
            "a%20b%2Fc"
        );
        let pairs = |v: &Value, s, e| query_pairs("color", v, s, e);
        assert_eq!(
            pairs(&list, ParamStyle::Form, true),
            vec![
                ("color".into(), "blue".into()),
                ("color".into(), "black".into()),
                ("color".into(), "brown".into())
            ]
        );
        assert_eq!(
            pairs(&list, ParamStyle::Form, false),
            vec![("color".into(), "blue,black,brown".into())]
        );
        assert_eq!(
            pairs(&list, ParamStyle::SpaceDelimited, false),
            vec![("color".into(), "blue black brown".into())]
        );
        assert_eq!(
            pairs(&list, ParamStyle::PipeDelimited, false),
            vec![("color".into(), "blue|black|brown".into())]
        );
        assert_eq!(
            pairs(&obj, ParamStyle::DeepObject, true)[0],
            ("color[R]".into(), "100".into())
        );
        assert_eq!(
            pairs(&obj, ParamStyle::Form, true)[1],
            ("G".into(), "200".into())
        );
    }
}
