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
