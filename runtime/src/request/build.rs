//! Building the upstream HTTP request of one tool call.
//!
//! Owns the per-tool [`RequestPlan`] (prepared once at startup: parsed `Fixed`/default JSON,
//! resolved credentials) and [`RequestPlan::build`], which turns validated arguments into an
//! [`OutgoingRequest`]: path template substitution, query string, headers, cookies, body,
//! `Accept`, `X-Request-Id` and credentials. Pure: no I/O; sending is `upstream`'s job. Errors
//! name parameters and variables, never values.

use serde_json::{Map, Value};

use crate::request::body::{self, BodyContent, FieldValue, OutgoingBody};
use crate::request::outgoing::{OutgoingRequest, RequestError, push_header};
use crate::request::{credentials, param_style};
use crate::spec::{
    BodySpec, BodyValue, CredentialSpec, HttpMethod, IdentityMode, ParamLocation, ParamSpec,
    ServerSpec, ToolSpec, ValueSource,
};
use crate::support::requirements::uses_authorization_header;
use crate::support::secret::Secret;
use crate::support::settings::Settings;

/// Header carrying the call's request id upstream.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A parameter or body value source with its JSON parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum PreparedValue {
    /// A tool argument, with its default.
    Argument {
        /// Argument name.
        name: &'static str,
        /// Value used when the argument is absent.
        default: Option<Value>,
    },
    /// A constant.
    Fixed(Value),
    /// An environment variable read at startup.
    Env(&'static str),
}

impl PreparedValue {
    /// Parses the JSON text of a source; the error is serde's message.
    pub fn prepare(source: &ValueSource) -> Result<Self, String> {
        let parse = |text: &str| serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
        Ok(match source {
            ValueSource::Argument { name, default } => PreparedValue::Argument {
                name,
                default: default.map(parse).transpose()?,
            },
            ValueSource::Fixed { json } => PreparedValue::Fixed(parse(json)?),
            ValueSource::Env { var } => PreparedValue::Env(var),
        })
    }

    /// The value for one call; `None` when absent (a `null` argument counts as absent). With
    /// masked settings (dry runs), fixed values are masked too: the model never
    /// sees them.
    pub fn resolve(&self, args: &Map<String, Value>, settings: &Settings) -> Option<Value> {
        match self {
            PreparedValue::Argument { name, default } => args
                .get(*name)
                .filter(|v| !v.is_null())
                .cloned()
                .or_else(|| default.clone()),
            PreparedValue::Fixed(_) if settings.is_masked() => {
                Some(Value::String(crate::support::secret::MASK.into()))
            }
            PreparedValue::Fixed(v) => Some(v.clone()),
            PreparedValue::Env(var) => settings
                .var(var)
                .map(|s| Value::String(s.expose().to_owned())),
        }
    }
}

#[derive(Debug)]
enum PreparedBody {
    Argument(&'static str),
    Fields(Vec<(&'static crate::spec::BodyField, PreparedValue)>),
}

/// Everything needed to build one tool's requests, prepared once.
#[derive(Debug)]
pub struct RequestPlan {
    method: HttpMethod,
    path: &'static str,
    params: Vec<(&'static ParamSpec, PreparedValue)>,
    body: Option<(&'static BodySpec, PreparedBody)>,
    accept: &'static str,
    credentials: Vec<&'static CredentialSpec>,
    identity: IdentityMode,
}

/// Header parameters OpenAPI says are ignored (the request sets them itself).
const IGNORED_HEADER_PARAMS: &[&str] = &["accept", "content-type", "authorization"];

impl RequestPlan {
    /// Prepares a tool's plan; the error says which parameter or credential is broken.
    pub fn new(server: &'static ServerSpec, tool: &'static ToolSpec) -> Result<Self, String> {
        let params = tool
            .params
            .iter()
            .map(|p| {
                PreparedValue::prepare(&p.value)
                    .map(|v| (p, v))
                    .map_err(|e| format!("parameter `{}`: invalid JSON value: {e}", p.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = match &tool.body {
            None => None,
            Some(spec) => Some((
                spec,
                match &spec.value {
                    BodyValue::Argument { name } => PreparedBody::Argument(name),
                    BodyValue::Fields(fields) => PreparedBody::Fields(
                        fields
                            .iter()
                            .map(|f| {
                                PreparedValue::prepare(&f.value)
                                    .map(|v| (f, v))
                                    .map_err(|e| {
                                        format!("body field `{}`: invalid JSON value: {e}", f.name)
                                    })
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                },
            )),
        };
        let credentials = tool
            .credentials
            .iter()
            .map(|id| {
                server
                    .upstream
                    .credentials
                    .iter()
                    .find(|c| c.id == *id)
                    .ok_or_else(|| format!("unknown credential `{id}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RequestPlan {
            method: tool.operation.method,
            path: tool.operation.path,
            params,
            body,
            accept: tool.accept,
            credentials,
            identity: tool.identity,
        })
    }

    /// The request of one call as a dry run shows it: hidden (fixed) values, environment
    /// values and credentials masked, the identity token (if the tool sends one) masked.
    pub fn masked(
        &self,
        args: &Map<String, Value>,
        settings: &Settings,
    ) -> Result<OutgoingRequest, RequestError> {
        let token = (self.identity != IdentityMode::ServiceAccount)
            .then(|| Secret::new(crate::support::secret::MASK));
        self.build(args, &settings.masked(), "", token.as_ref())
    }

    /// Builds the request for one call. `token`, when the tool's identity mode gives one, is
    /// sent as `Authorization: Bearer` instead of credentials that use that header.
    pub fn build(
        &self,
        args: &Map<String, Value>,
        settings: &Settings,
        request_id: &str,
        token: Option<&Secret>,
    ) -> Result<OutgoingRequest, RequestError> {
        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut cookies = Vec::new();
        for (param, value) in &self.params {
            let Some(value) = value.resolve(args, settings) else {
                continue;
            };
            match param.location {
                ParamLocation::Path => {}
                ParamLocation::Query => query.extend(param_style::query_pairs(
                    param.name,
                    param.style,
                    param.explode,
                    param.allow_reserved,
                    &value,
                )),
                ParamLocation::Header => {
                    if IGNORED_HEADER_PARAMS.contains(&param.name.to_ascii_lowercase().as_str()) {
                        continue;
                    }
                    if let Some(text) = param_style::header_value(param.explode, &value) {
                        push_header(&mut headers, param.name, text)?;
                    }
                }
                ParamLocation::Cookie => {
                    cookies.extend(param_style::cookie_pairs(param.name, param.explode, &value))
                }
            }
        }
        let path = self.path(args, settings)?;
        if !self.accept.is_empty() {
            push_header(&mut headers, "accept", self.accept.to_owned())?;
        }
        if !request_id.is_empty() {
            push_header(&mut headers, REQUEST_ID_HEADER, request_id.to_owned())?;
        }
        let mut request = OutgoingRequest {
            method: self.method,
            path,
            query,
            query_credentials: Vec::new(),
            headers,
            body: self.body(args, settings)?,
        };
        for credential in &self.credentials {
            if token.is_some() && uses_authorization_header(&credential.kind) {
                continue;
            }
            credentials::apply(credential, settings, &mut request, &mut cookies)?;
        }
        if let Some(token) = token {
            push_header(
                &mut request.headers,
                "authorization",
                format!("Bearer {}", token.expose()),
            )
            .map_err(|_| RequestError::InvalidHeader {
                name: "the upstream access token".into(),
            })?;
        }
        if !cookies.is_empty() {
            push_header(&mut request.headers, "cookie", cookies.join("; "))?;
        }
        Ok(request)
    }

    fn path(&self, args: &Map<String, Value>, settings: &Settings) -> Result<String, RequestError> {
        let mut out = String::new();
        if !self.path.starts_with('/') {
            out.push('/');
        }
        let mut rest = self.path;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(RequestError::UnresolvedPath { name: after.into() });
            };
            let name = &after[..close];
            let unresolved = || RequestError::UnresolvedPath { name: name.into() };
            let (param, source) = self
                .params
                .iter()
                .find(|(p, _)| p.location == ParamLocation::Path && p.name == name)
                .ok_or_else(unresolved)?;
            let value = source.resolve(args, settings).ok_or_else(unresolved)?;
            if is_blank(&value) {
                let name = match source {
                    PreparedValue::Argument { name, .. } => name,
                    _ => param.name,
                };
                return Err(RequestError::BlankPathValue { name: name.into() });
            }
            let text = param_style::path_value(param.name, param.style, param.explode, &value)
                .ok_or_else(unresolved)?;
            if is_dot_segment(&text) {
                return Err(RequestError::DotSegment { name: name.into() });
            }
            out.push_str(&text);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        if out.contains(['{', '}']) {
            return Err(RequestError::UnresolvedPath { name: out.clone() });
        }
        if out.split('/').any(is_dot_segment) {
            return Err(RequestError::DotSegment {
                name: "path".into(),
            });
        }
        Ok(out)
    }

    fn body(
        &self,
        args: &Map<String, Value>,
        settings: &Settings,
    ) -> Result<Option<OutgoingBody>, RequestError> {
        let Some((spec, prepared)) = &self.body else {
            return Ok(None);
        };
        let (content, field) = match prepared {
            PreparedBody::Argument(name) => match args.get(*name).filter(|v| !v.is_null()) {
                Some(value) => (BodyContent::Whole(value.clone()), *name),
                None if spec.required => {
                    return Err(RequestError::MissingBody {
                        name: (*name).into(),
                    });
                }
                None => return Ok(None),
            },
            PreparedBody::Fields(fields) => {
                let values: Vec<FieldValue> = fields
                    .iter()
                    .filter_map(|(f, v)| {
                        Some(FieldValue {
                            name: f.name.into(),
                            value: v.resolve(args, settings)?,
                            file: f.file,
                            content_type: f.content_type.map(str::to_owned),
                        })
                    })
                    .collect();
                if values.is_empty() && !spec.required {
                    return Ok(None);
                }
                (BodyContent::Fields(values), "body")
            }
        };
        Ok(Some(body::encode(
            spec.encoding,
            spec.media_type,
            content,
            field,
        )?))
    }
}

/// Whether a path segment (or substituted text) is `.` or `..`, also when percent-encoded,
/// which URL parsers would collapse into another path.
/// Whether a path value is empty or whitespace only (a list or object of nothing else, or of
/// nulls, too): such a value would leave an empty path segment.
fn is_blank(value: &Value) -> bool {
    match value {
        // Serialisation leaves nulls out, so they add nothing to the segment.
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.iter().all(is_blank),
        Value::Object(members) => members.values().all(Value::is_null),
        _ => false,
    }
}

fn is_dot_segment(text: &str) -> bool {
    let decoded = text.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing_specs::{self, PETS};
    use serde_json::json;

    fn settings() -> Settings {
        Settings::new("http://up.test/v1")
            .with_var("PETS_API_KEY", "key-1")
            .with_var("PETS_TENANT", "acme")
    }

    fn build(tool: &str, args: Value) -> Result<OutgoingRequest, RequestError> {
        let tool = testing_specs::tool(tool);
        let plan = RequestPlan::new(&PETS, tool).unwrap();
        let Value::Object(args) = args else { panic!() };
        plan.build(&args, &settings(), "req-1", None)
    }

    #[test]
    fn get_with_path_query_header_cookie_and_api_key() {
        let req = build(
            "get_pet",
            json!({"pet_id": "a b/ü", "fields": ["name", "age"], "trace": "t-1", "session": "s 1"}),
        )
        .unwrap();
        assert_eq!(req.method, HttpMethod::Get);
        assert_eq!(req.path, "/pets/a%20b%2F%C3%BC");
        // Default applied for `verbose`, fixed `format`, env `tenant`.
        assert_eq!(
            req.query,
            [
                "fields=name,age",
                "verbose=false",
                "format=json",
                "tenant=acme"
            ]
        );
        assert_eq!(req.header("X-Trace"), Some("t-1"));
        assert_eq!(req.header("accept"), Some("application/json"));
        assert_eq!(req.header("x-request-id"), Some("req-1"));
        assert_eq!(req.header("api_key"), Some("key-1"));
        assert_eq!(req.header("cookie"), Some("session=s%201"));
        assert_eq!(req.body, None);
        assert_eq!(
            req.url("http://up.test/v1/"),
            "http://up.test/v1/pets/a%20b%2F%C3%BC?fields=name,age&verbose=false&format=json&tenant=acme"
        );
    }

    #[test]
    fn refuses_blank_path_values_which_would_widen_the_request() {
        for blank in [
            json!(""),
            json!("   "),
            json!("\t\n"),
            json!([]),
            json!(["", " "]),
        ] {
            assert_eq!(
                build("get_pet", json!({"pet_id": blank})),
                Err(RequestError::BlankPathValue {
                    name: "pet_id".into()
                }),
                "{blank}"
            );
        }
        assert_eq!(
            build("get_pet", json!({"pet_id": "0"})).unwrap().path,
            "/pets/0"
        );
        assert_eq!(
            build("get_pet", json!({"pet_id": " x "})).unwrap().path,
            "/pets/%20x%20"
        );
    }

    #[test]
    fn refuses_paths_that_would_change_shape() {
        for bad in [".", ".."] {
            assert_eq!(
                build("get_pet", json!({"pet_id": bad})),
                Err(RequestError::DotSegment {
                    name: "pet_id".into()
                }),
                "{bad}"
            );
        }
        assert_eq!(
            build("get_pet", json!({})),
            Err(RequestError::UnresolvedPath {
                name: "pet_id".into()
            })
        );
        assert_eq!(
            build("get_pet", json!({"pet_id": "..."})).unwrap().path,
            "/pets/..."
        );
        // Encoded dots in a value stay encoded text, never a dot segment.
        assert_eq!(
            build("get_pet", json!({"pet_id": "%2e%2E"})).unwrap().path,
            "/pets/%252e%252E"
        );
        assert!(is_dot_segment("%2E%2e") && is_dot_segment(".%2e") && !is_dot_segment("a."));
    }

    #[test]
    fn header_values_must_be_sendable() {
        let err = build(
            "get_pet",
            json!({"pet_id": "1", "trace": "a\r\nInjected: 1"}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            RequestError::InvalidHeader {
                name: "X-Trace".into()
            }
        );
        assert!(!err.to_string().contains("Injected"));
    }

    #[test]
    fn an_identity_token_replaces_authorization_credentials_only() {
        let settings = Settings::new("http://up.test/v1")
            .with_var("PETS_API_KEY", "sa-bearer")
            .with_var("PETS_QUERY_KEY", "qk-1");
        let build = |tool: &'static ToolSpec, token: Option<&Secret>| {
            RequestPlan::new(&testing_specs::OAUTH_PETS, tool)
                .unwrap()
                .build(&Map::new(), &settings, "r", token)
                .unwrap()
        };
        let sa = build(&testing_specs::WHOAMI_SA, None);
        assert_eq!(sa.header("authorization"), Some("Bearer sa-bearer"));
        assert_eq!(sa.query, ["key=qk-1"]);
        let token = Secret::new("up-token");
        let cc = build(&testing_specs::WHOAMI_CC, Some(&token));
        let auth: Vec<_> = cc
            .headers
            .iter()
            .filter(|(n, _)| n == "authorization")
            .collect();
        assert_eq!(
            auth,
            [&("authorization".to_owned(), "Bearer up-token".to_owned())]
        );
        assert_eq!(cc.query, ["key=qk-1"], "API keys elsewhere are still sent");
        let bad = RequestPlan::new(&testing_specs::OAUTH_PETS, &testing_specs::WHOAMI_CC)
            .unwrap()
            .build(&Map::new(), &settings, "r", Some(&Secret::new("a\nb")))
            .unwrap_err();
        assert!(!bad.to_string().contains("a\nb"));
    }

    #[test]
    fn masked_requests_hide_fixed_env_and_credential_values_but_show_arguments() {
        let plan = RequestPlan::new(&PETS, testing_specs::tool("get_pet")).unwrap();
        let Value::Object(args) = json!({"pet_id": "42", "trace": "t-1"}) else {
            panic!()
        };
        let req = plan.masked(&args, &settings()).unwrap();
        let mask = crate::support::secret::MASK;
        assert_eq!(req.path, "/pets/42");
        assert_eq!(
            req.query,
            [
                "verbose=false",
                format!("format={mask}").as_str(),
                format!("tenant={mask}").as_str()
            ]
        );
        assert_eq!(req.header("api_key"), Some(mask));
        assert_eq!(req.header("x-trace"), Some("t-1"));
        assert_eq!(req.header("x-request-id"), None);
        let body = RequestPlan::new(&PETS, testing_specs::tool("create_pet"))
            .unwrap()
            .masked(&args_of(json!({"name": "Rex"})), &settings())
            .unwrap()
            .body;
        assert_eq!(
            body,
            Some(OutgoingBody::Bytes {
                content_type: "application/json".into(),
                bytes: format!(r#"{{"name":"Rex","source":"{mask}"}}"#).into_bytes()
            })
        );
        // A token identity shows a masked Authorization header.
        let cc = RequestPlan::new(&testing_specs::OAUTH_PETS, &testing_specs::WHOAMI_CC)
            .unwrap()
            .masked(
                &Map::new(),
                &Settings::new("http://x").with_var("PETS_QUERY_KEY", "qk"),
            )
            .unwrap();
        assert_eq!(
            cc.header("authorization"),
            Some(format!("Bearer {mask}").as_str())
        );
        assert_eq!(cc.query, [format!("key={mask}")]);
    }

    fn args_of(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn one_argument_is_sent_in_the_path_and_in_the_body() {
        let plan = RequestPlan::new(&PETS, &testing_specs::REPLACE_PET).unwrap();
        let req = plan
            .build(
                &args_of(json!({"id": "p 7", "name": "Rex"})),
                &settings(),
                "r",
                None,
            )
            .unwrap();
        assert_eq!(req.method, HttpMethod::Put);
        assert_eq!(req.path, "/pets/p%207");
        assert_eq!(
            req.body,
            Some(OutgoingBody::Bytes {
                content_type: "application/json".into(),
                bytes: br#"{"id":"p 7","name":"Rex"}"#.to_vec()
            })
        );
    }

    #[test]
    fn bodies_and_credentials_of_each_tool() {
        let req = build("create_pet", json!({"name": "Rex", "tags": ["a"]})).unwrap();
        assert_eq!(req.method, HttpMethod::Post);
        assert_eq!(
            req.body,
            Some(OutgoingBody::Bytes {
                content_type: "application/json".into(),
                bytes: br#"{"name":"Rex","tags":["a"],"source":"mcp"}"#.to_vec()
            })
        );
        assert_eq!(req.header("authorization"), Some("Bearer key-1"));

        let req = build("login", json!({"user": "a", "pass": "b c"})).unwrap();
        assert_eq!(
            req.body,
            Some(OutgoingBody::Bytes {
                content_type: "application/x-www-form-urlencoded".into(),
                bytes: b"user=a&pass=b+c".to_vec()
            })
        );
        // Basic: base64("acme:key-1"); query api key after the parameters.
        assert_eq!(req.header("authorization"), Some("Basic YWNtZTprZXktMQ=="));
        assert_eq!(req.query, ["key=key-1"]);

        assert_eq!(
            build("put_file", json!({"name": "a.bin"})),
            Err(RequestError::MissingBody {
                name: "content".into()
            })
        );
    }
}
