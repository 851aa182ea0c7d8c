//! Parameters and request bodies: what the model may set, what the server fixes or injects.
//!
//! Every parameter of an operation (path, query, header, cookie) and every top-level property
//! of an object body becomes a *candidate*; the tool's `params` entries then decide, per
//! candidate, whether the model sees it (possibly renamed, narrowed, defaulted), whether it is
//! fixed or read from the environment, or whether it is never sent. The input schema and the
//! request description come out of the same decisions, so they cannot disagree. A path
//! parameter and a required body member of the same name are one candidate, sent in both places
//! (see `twins`).

use crate::annotations::{ParamEntry, ToolEntry};
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{
    BodyEncoding, BodyFieldIr, BodyIr, BodyValue, ParamIr, ParamLocation, ParamStyle, ValueSource,
};
use crate::load::pointer::escape_token;
use crate::load::{DocKey, SpecSet};
use crate::lower::AnnotationCtx;
use crate::lower::operations::OperationRef;
use crate::lower::schema::SchemaBuilder;
use crate::naming::{ArgumentNamer, EnvVarName, is_valid_argument_name};
use serde_json::{Map, Value, json};

pub mod candidates;
mod twins;

use candidates::{body_candidates, parameter_candidates};

/// The arguments of one tool and how each reaches the request.
#[derive(Debug, Default)]
pub struct Arguments {
    /// Path, query, header and cookie parameters sent.
    pub params: Vec<ParamIr>,
    /// The request body sent.
    pub body: Option<BodyIr>,
    /// Argument schemas, in order.
    pub properties: Map<String, Value>,
    /// Required argument names, in order.
    pub required: Vec<String>,
}

/// Where a candidate goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Param(ParamLocation),
    Body,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::Param(location) => location.as_str(),
            Slot::Body => "body",
        }
    }
}

/// One parameter or body property the tool could expose.
#[derive(Debug, Clone)]
struct Candidate {
    wire_name: String,
    slot: Slot,
    required: bool,
    /// Normalised request schema (may reference the builder's `$defs`).
    schema: Value,
    /// Where it is defined in the spec.
    doc: DocKey,
    pointer: String,
    style: ParamStyle,
    explode: bool,
    allow_reserved: bool,
    file: bool,
    content_type: Option<String>,
}

/// What the annotation file decided for a candidate.
#[derive(Debug, Clone)]
enum Decision {
    Exposed {
        rename: Option<String>,
        schema: Value,
        required: bool,
        default: Option<Value>,
    },
    Fixed(Value),
    Env(EnvVarName),
    Omitted,
}

/// The body as found in the spec, before decisions.
struct BodyShape {
    media_type: String,
    encoding: BodyEncoding,
    required: bool,
    /// True when the body's properties are candidates; false when the body is one argument.
    flattened: bool,
}

/// A tool entry in the annotation file: where it is, and what it says.
pub struct ToolEntryAt<'a> {
    /// The entry.
    pub entry: &'a ToolEntry,
    /// The annotation file.
    pub annotations: &'a AnnotationCtx<'a>,
    /// JSON pointer of the entry.
    pub pointer: &'a str,
    /// An argument name the tool keeps for itself (the confirmation argument), if any.
    pub reserved: Option<&'a str>,
}

/// Lowers the parameters and body of `op` under the tool entry's `params`.
pub fn lower_arguments(
    specs: &SpecSet,
    op: &OperationRef<'_>,
    at: &ToolEntryAt<'_>,
    builder: &mut SchemaBuilder<'_>,
    diagnostics: &mut Diagnostics,
) -> Arguments {
    let ToolEntryAt {
        entry,
        annotations,
        pointer: tool_pointer,
        reserved,
    } = *at;
    let (params, expose) = (&entry.params, entry.expose.as_deref());
    let mut candidates = parameter_candidates(specs, op, builder, diagnostics);
    let body = body_candidates(specs, op, builder, &mut candidates, diagnostics);
    // A body member sent with the path parameter of the same name is not an argument of its
    // own: annotation entries address the pair by the shared name, through the parameter.
    let twin_of = twins::pair(
        &mut candidates,
        body.as_ref(),
        params.keys().chain(expose.into_iter().flatten()),
        builder,
    );

    // Match annotation entries to candidates.
    let mut entries: Vec<Option<(&str, &ParamEntry)>> = vec![None; candidates.len()];
    let mut exposed: Vec<bool> = vec![expose.is_none(); candidates.len()];
    let keyed = params.iter().map(|(key, entry)| {
        (
            key,
            Some(entry),
            format!("{tool_pointer}/params/{}", escape_token(key)),
        )
    });
    let listed = expose
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, key)| (key, None, format!("{tool_pointer}/expose/{i}")));
    for (key, entry, pointer) in keyed.chain(listed) {
        let at = annotations.at(&pointer);
        let (slot_filter, wire) = match key.split_once(':') {
            Some((slot, name)) if ["path", "query", "header", "cookie", "body"].contains(&slot) => {
                (Some(slot), name)
            }
            _ => (None, key.as_str()),
        };
        let matching: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                twin_of[*i].is_none()
                    && c.wire_name == wire
                    && slot_filter.is_none_or(|s| s == c.slot.name())
            })
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [i] => match entry {
                Some(entry) => entries[*i] = Some((key.as_str(), entry)),
                None => exposed[*i] = true,
            },
            [] => {
                let known: Vec<String> = candidates
                    .iter()
                    .map(|c| format!("{}:{}", c.slot.name(), c.wire_name))
                    .collect();
                let mut help = if known.is_empty() {
                    "the operation has no parameters".to_owned()
                } else {
                    format!("the operation's parameters are: {}", known.join(", "))
                };
                if body.as_ref().is_some_and(|b| !b.flattened) {
                    help.push_str("; its body is one argument named `body`, whose properties cannot be set one by one");
                }
                diagnostics.push(
                    Diagnostic::error(
                        "unknown-param",
                        at,
                        format!("operation {} has no parameter `{key}`", op.label()),
                    )
                    .with_help(help),
                );
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|i| format!("{}:{}", candidates[*i].slot.name(), wire))
                    .collect();
                diagnostics.push(
                    Diagnostic::error(
                        "ambiguous-param",
                        at,
                        format!("`{key}` names several parameters of {}", op.label()),
                    )
                    .with_help(format!("write one of: {}", names.join(", "))),
                );
            }
        }
    }

    let mut decisions: Vec<Decision> = Vec::with_capacity(candidates.len());
    for (((candidate, entry), exposed), twin) in
        candidates.iter().zip(&entries).zip(&exposed).zip(&twin_of)
    {
        if twin.is_some() {
            // Decided with its path parameter.
            decisions.push(Decision::Omitted);
            continue;
        }
        // An entry under `params` counts as listed: it fixes, hides or shapes the parameter.
        if !exposed && entry.is_none() {
            if candidate.required {
                diagnostics.push(
                    Diagnostic::error(
                        "hidden-without-source",
                        annotations.at(&format!("{tool_pointer}/expose")),
                        format!(
                            "required {} `{}` is not exposed and has no value",
                            candidate.slot.name(),
                            candidate.wire_name
                        ),
                    )
                    .with_help("add it to `expose`, or give it `fixed` or `env` under `params`"),
                );
            }
            decisions.push(Decision::Omitted);
            continue;
        }
        decisions.push(decide(
            candidate,
            *entry,
            builder,
            annotations,
            tool_pointer,
            diagnostics,
        ));
    }

    // Names chosen by the architect first, then generated ones, so generated names avoid them.
    let mut namer = ArgumentNamer::new();
    // Names the tool itself uses (the confirmation argument) are taken before any parameter's.
    if let Some(name) = reserved {
        namer.reserve(name);
    }
    for (decision, entry) in decisions.iter().zip(&entries) {
        if let (
            Decision::Exposed {
                rename: Some(name), ..
            },
            Some((key, _)),
        ) = (decision, entry)
            && !namer.reserve(name)
        {
            let at = annotations.at(&format!(
                "{tool_pointer}/params/{}/rename",
                escape_token(key)
            ));
            let why = if is_valid_argument_name(name) {
                "is already used by another argument"
            } else {
                "is not a valid argument name"
            };
            diagnostics.push(
                Diagnostic::error(
                    "invalid-argument-name",
                    at,
                    format!("argument name `{name}` {why}"),
                )
                .with_help("use 1–64 characters of [A-Za-z0-9_.-], unique within the tool"),
            );
        }
    }

    let mut out = Arguments::default();
    let mut fields = Vec::new();
    // Where each candidate's value comes from (`None`: not sent), for paired members to share.
    let mut sources: Vec<Option<ValueSource>> = Vec::with_capacity(candidates.len());
    for ((candidate, decision), twin) in candidates.iter().zip(decisions).zip(&twin_of) {
        let value = match (twin, decision) {
            // Its path parameter comes first: parameters are candidates before body members.
            (Some(param), _) => sources.get(*param).cloned().flatten(),
            (None, Decision::Omitted) => None,
            (None, Decision::Fixed(value)) => Some(ValueSource::Fixed(value)),
            (None, Decision::Env(var)) => Some(ValueSource::Env {
                var,
                schema: builder.finish(candidate.schema.clone()),
            }),
            (
                None,
                Decision::Exposed {
                    rename,
                    schema,
                    required,
                    default,
                },
            ) => {
                let name = rename
                    .unwrap_or_else(|| namer.assign(&candidate.wire_name, candidate.slot.name()));
                out.properties.insert(name.clone(), schema);
                if required {
                    out.required.push(name.clone());
                }
                Some(ValueSource::Argument { name, default })
            }
        };
        sources.push(value.clone());
        let Some(value) = value else { continue };
        match candidate.slot {
            Slot::Param(location) => out.params.push(ParamIr {
                wire_name: candidate.wire_name.clone(),
                location,
                style: candidate.style,
                explode: candidate.explode,
                allow_reserved: candidate.allow_reserved,
                value,
            }),
            Slot::Body => fields.push((candidate, value)),
        }
    }
    if let Some(shape) = body {
        let value = if shape.flattened {
            BodyValue::Fields(
                fields
                    .into_iter()
                    .map(|(c, value)| BodyFieldIr {
                        wire_name: c.wire_name.clone(),
                        value,
                        file: c.file,
                        content_type: c.content_type.clone(),
                    })
                    .collect(),
            )
        } else {
            match fields.into_iter().next() {
                Some((_, ValueSource::Argument { name, .. })) => BodyValue::Argument { name },
                Some((candidate, _)) => {
                    diagnostics.push(
                        Diagnostic::error("unsupported-body-policy", specs.locate(&candidate.doc, &candidate.pointer), "a body that is not an object with properties cannot be fixed or hidden as a whole")
                            .with_help("expose the `body` argument, or pick an operation whose body is an object so its properties can be fixed one by one"),
                    );
                    BodyValue::Fields(Vec::new())
                }
                None => BodyValue::Fields(Vec::new()),
            }
        };
        out.body = Some(BodyIr {
            media_type: shape.media_type,
            encoding: shape.encoding,
            required: shape.required,
            value,
        });
    }
    out
}

/// Applies one candidate's annotation entry.
fn decide(
    candidate: &Candidate,
    entry: Option<(&str, &ParamEntry)>,
    builder: &SchemaBuilder<'_>,
    annotations: &AnnotationCtx,
    tool_pointer: &str,
    diagnostics: &mut Diagnostics,
) -> Decision {
    let Some((key, entry)) = entry else {
        return Decision::Exposed {
            rename: None,
            schema: candidate.schema.clone(),
            required: candidate.required,
            default: None,
        };
    };
    let base = format!("{tool_pointer}/params/{}", escape_token(key));
    let at = |field: &str| annotations.at(&format!("{base}/{field}"));
    let shaping = entry.rename.is_some()
        || entry.description.is_some()
        || entry.default.is_some()
        || entry.allowed.is_some()
        || entry.required.is_some();
    let hides = entry.fixed.is_some() || entry.env.is_some() || entry.hidden == Some(true);
    if entry.fixed.is_some() && entry.env.is_some() {
        diagnostics.push(
            Diagnostic::error(
                "conflicting-param-policy",
                annotations.at(&base),
                format!("parameter `{key}` is both fixed and read from the environment"),
            )
            .with_help("keep either `fixed` or `env`"),
        );
        return Decision::Omitted;
    }
    if hides && shaping {
        diagnostics.push(
            Diagnostic::error("conflicting-param-policy", annotations.at(&base), format!("parameter `{key}` is hidden from the model but also shaped for it"))
                .with_help("a hidden parameter takes only `fixed`, `env` or `hidden`; remove rename/description/default/enum/required"),
        );
        return Decision::Omitted;
    }
    if let Some(value) = &entry.fixed {
        if let Err(problem) = check_value(builder, &candidate.schema, value) {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-fixed-value",
                    at("fixed"),
                    format!("fixed value for `{key}` does not fit its schema: {problem}"),
                )
                .with_help("use a value the spec allows for this parameter"),
            );
        }
        return Decision::Fixed(value.clone());
    }
    if let Some(var) = &entry.env {
        return match EnvVarName::parse(var) {
            Ok(var) => {
                if candidate.file {
                    diagnostics.push(Diagnostic::error(
                        "unsupported-env-file",
                        at("env"),
                        "a file part cannot be read from the environment",
                    ));
                }
                Decision::Env(var)
            }
            Err(e) => {
                diagnostics.push(
                    Diagnostic::error(
                        "invalid-env-name",
                        at("env"),
                        format!("`{var}` is not an environment variable name: {e}"),
                    )
                    .with_help("use uppercase letters, digits and `_`, not starting with a digit"),
                );
                Decision::Omitted
            }
        };
    }
    if entry.hidden == Some(true) {
        if candidate.required {
            diagnostics.push(
                Diagnostic::error(
                    "hidden-without-source",
                    at("hidden"),
                    format!("required parameter `{key}` is hidden but has no value"),
                )
                .with_help("add `fixed: <value>` or `env: <VARIABLE>` so the server can send it"),
            );
        }
        return Decision::Omitted;
    }
    let mut schema = candidate.schema.clone();
    let mut required = candidate.required;
    if let Some(description) = &entry.description
        && let Value::Object(obj) = &mut schema
    {
        obj.insert("description".to_owned(), json!(description));
    }
    if let Some(allowed) = &entry.allowed {
        let original = resolved_enum(builder, &candidate.schema);
        let mut ok = !allowed.is_empty();
        for value in allowed {
            if let Some(original) = &original
                && !original.contains(value)
            {
                ok = false;
                diagnostics.push(
                    Diagnostic::error(
                        "enum-not-narrowing",
                        at("enum"),
                        format!("{value} is not one of the values the spec allows for `{key}`"),
                    )
                    .with_help(format!("choose among {}", Value::Array(original.clone()))),
                );
            } else if let Err(problem) = check_value(builder, &candidate.schema, value) {
                ok = false;
                diagnostics.push(Diagnostic::error(
                    "invalid-enum-value",
                    at("enum"),
                    format!("{value} does not fit the schema of `{key}`: {problem}"),
                ));
            }
        }
        if allowed.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-enum-value",
                    at("enum"),
                    format!("the enum of `{key}` is empty"),
                )
                .with_help("list at least one value"),
            );
        }
        if ok && let Value::Object(obj) = &mut schema {
            obj.insert("enum".to_owned(), Value::Array(allowed.clone()));
        }
    }
    match entry.required {
        Some(true) => required = true,
        Some(false) if candidate.required => diagnostics.push(
            Diagnostic::error(
                "cannot-relax-required",
                at("required"),
                format!("`{key}` is required by the operation"),
            )
            .with_help("give it a `default` or a `fixed` value instead"),
        ),
        _ => {}
    }
    let default = entry.default.clone();
    if let Some(value) = &default {
        let narrowed = schema.clone();
        if let Err(problem) = check_value(builder, &narrowed, value) {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-default",
                    at("default"),
                    format!("default for `{key}` does not fit its schema: {problem}"),
                )
                .with_help("use a value the (narrowed) schema allows"),
            );
        }
        if let Value::Object(obj) = &mut schema {
            obj.insert("default".to_owned(), value.clone());
        }
        required = false;
    }
    Decision::Exposed {
        rename: entry.rename.clone(),
        schema,
        required,
        default,
    }
}

/// The enum a normalised schema allows, looking through a local `$ref`.
fn resolved_enum(builder: &SchemaBuilder<'_>, schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.clone());
    }
    let reference = schema.get("$ref").and_then(Value::as_str)?;
    builder
        .definition(reference)?
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
}

/// Checks a value against a normalised schema (with the builder's definitions), formats
/// included: the same check a published `default` must pass (see [`crate::lower::examples`]).
pub fn check_value(
    builder: &SchemaBuilder<'_>,
    schema: &Value,
    value: &Value,
) -> Result<(), String> {
    let full = builder.finish(schema.clone());
    let validator = crate::validator::options()
        .should_validate_formats(true)
        .build(&full)
        .map_err(|e| format!("the schema cannot be checked ({e})"))?;
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BodyValue, ServerIr, ToolIr};
    use crate::load::{parse_spec_for_tests, project_from_text};

    /// `PUT /contacts/{id}` whose body (JSON, or `media`) requires `id` (a `member_id` schema)
    /// and `name`, or only `name` when `id_required` is false.
    fn contacts(media: &str, member_id: &str, id_required: bool) -> String {
        let required = if id_required { "[id, name]" } else { "[name]" };
        format!(
            r##"
openapi: 3.0.3
info: {{title: Contacts, version: "1"}}
servers: [{{url: "https://contacts.example.com"}}]
paths:
  /contacts/{{id}}:
    put:
      operationId: replaceContact
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: string}}}}
      requestBody:
        required: true
        content:
          {media}:
            schema:
              type: object
              required: {required}
              properties:
                id: {member_id}
                name: {{type: string}}
      responses: {{"204": {{description: replaced}}}}
components:
  schemas:
    ContactId: {{type: string, format: uuid, description: The contact's id.}}
"##
        )
    }

    /// Lowers `spec` with one tool `replace_contact`, whose entry continues with `entry`.
    fn lower_contacts(spec: &str, entry: &str) -> Result<ServerIr, String> {
        let annotation = format!(
            "version: 1\nspec: openapi.yaml\nserver: {{name: contacts-mcp}}\ntools:\n  replace_contact:\n    operation: replaceContact\n    read_only: false\n    confirm: false\n{entry}"
        );
        let specs = vec![("openapi.yaml".to_owned(), parse_spec_for_tests(spec))];
        let project = project_from_text(std::path::Path::new("mcpgen.yaml"), &annotation, specs)
            .map_err(|e| e.render())?;
        crate::lower::lower(&project)
            .map(|lowered| lowered.ir)
            .map_err(|e| e.render())
    }

    /// (wire name, argument name) of the path parameters and body fields sent from arguments.
    fn sources(tool: &ToolIr) -> Vec<(String, String)> {
        let fields = match tool.body.as_ref().map(|b| &b.value) {
            Some(BodyValue::Fields(fields)) => fields
                .iter()
                .map(|f| (format!("body:{}", f.wire_name), &f.value))
                .collect(),
            _ => Vec::new(),
        };
        tool.params
            .iter()
            .map(|p| (format!("path:{}", p.wire_name), &p.value))
            .chain(fields)
            .map(|(wire, value)| match value {
                ValueSource::Argument { name, .. } => (wire, name.clone()),
                ValueSource::Fixed(value) => (wire, format!("fixed {value}")),
                ValueSource::Env { var, .. } => (wire, format!("env {var}")),
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn a_path_parameter_and_a_required_body_member_of_the_same_name_are_one_argument() {
        for (media, member) in [
            (
                "application/json",
                r##"{$ref: "#/components/schemas/ContactId"}"##,
            ),
            ("application/x-www-form-urlencoded", "{}"),
        ] {
            let ir = lower_contacts(&contacts(media, member, true), "").unwrap();
            let tool = &ir.tools[0];
            assert_eq!(
                sources(tool),
                pairs(&[("path:id", "id"), ("body:id", "id"), ("body:name", "name")]),
                "{media}"
            );
            let names: Vec<&String> = tool.input_schema["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            assert_eq!(names, ["id", "name"], "{media}");
            assert_eq!(tool.input_schema["required"], json!(["id", "name"]));
            if media == "application/json" {
                // The member's constraints and description join the parameter's schema, so one
                // value fits both places.
                assert_eq!(
                    tool.input_schema["properties"]["id"],
                    json!({"type": "string", "minLength": 1, "format": "uuid", "description": "The contact's id."})
                );
            }
            // The generated test expects the one value in the path and in the body.
            let fixture: Value = serde_json::from_str(&crate::emit::fixtures::fixture(
                &ir,
                tool,
                &crate::emit::fixtures::TestEnvironment::new(&ir),
            ))
            .unwrap();
            let call = &fixture["call"];
            let id = call["arguments"]["id"].as_str().expect("an id argument");
            assert_eq!(
                call["request"]["path"],
                format!("/contacts/{id}"),
                "{media}"
            );
            let body = match media {
                "application/json" => call["request"]["body"]["json"]["id"].clone(),
                _ => call["request"]["body"]["form"]
                    .as_array()
                    .and_then(|f| f.iter().find(|p| p[0] == "id"))
                    .map(|p| p[1].clone())
                    .unwrap_or_default(),
            };
            assert_eq!(body, json!(id), "{media}: {call}");
        }
    }

    #[test]
    fn the_shared_name_shapes_the_one_argument() {
        let spec = contacts("application/json", "{type: string}", true);
        let renamed =
            lower_contacts(&spec, "    params:\n      id: {rename: contact_id}\n").unwrap();
        assert_eq!(
            sources(&renamed.tools[0]),
            pairs(&[
                ("path:id", "contact_id"),
                ("body:id", "contact_id"),
                ("body:name", "name")
            ])
        );
        let fixed = lower_contacts(&spec, "    params:\n      id: {fixed: c-1}\n").unwrap();
        assert_eq!(
            sources(&fixed.tools[0]),
            pairs(&[
                ("path:id", "fixed \"c-1\""),
                ("body:id", "fixed \"c-1\""),
                ("body:name", "name")
            ])
        );
        let exposed = lower_contacts(&spec, "    expose: [id, name]\n").unwrap();
        assert_eq!(
            exposed.tools[0].input_schema["required"],
            json!(["id", "name"])
        );
        // A fixed value must fit the merged schema (the member's `format`, here).
        let uuid = contacts(
            "application/json",
            r##"{$ref: "#/components/schemas/ContactId"}"##,
            true,
        );
        let err = lower_contacts(&uuid, "    params:\n      id: {fixed: c-1}\n").unwrap_err();
        assert!(err.contains("invalid-fixed-value"), "{err}");
    }

    #[test]
    fn they_stay_two_arguments_named_by_location_otherwise() {
        let apart = pairs(&[
            ("path:id", "id"),
            ("body:id", "body_id"),
            ("body:name", "name"),
        ]);
        // An optional member: the model may leave it out of the body.
        let optional = contacts("application/json", "{type: string}", false);
        assert_eq!(
            sources(&lower_contacts(&optional, "").unwrap().tools[0]),
            apart
        );
        // Schemas that disagree.
        let integer = contacts("application/json", "{type: integer}", true);
        assert_eq!(
            sources(&lower_contacts(&integer, "").unwrap().tools[0]),
            apart
        );
        // Multipart bodies are not paired.
        let multipart = contacts("multipart/form-data", "{type: string}", true);
        assert_eq!(
            sources(&lower_contacts(&multipart, "").unwrap().tools[0]),
            apart
        );
        // The annotation file addresses one of them alone.
        let spec = contacts("application/json", "{type: string}", true);
        let described = lower_contacts(
            &spec,
            "    params:\n      body:id: {description: Same as id.}\n",
        )
        .unwrap();
        assert_eq!(sources(&described.tools[0]), apart);
        assert_eq!(
            described.tools[0].input_schema["properties"]["body_id"]["description"],
            "Same as id."
        );
        let fixed = lower_contacts(&spec, "    params:\n      path:id: {fixed: c-1}\n").unwrap();
        assert_eq!(
            sources(&fixed.tools[0]),
            pairs(&[
                ("path:id", "fixed \"c-1\""),
                ("body:id", "id"),
                ("body:name", "name")
            ])
        );
        // Then the shared name is ambiguous again.
        let err = lower_contacts(
            &spec,
            "    params:\n      id: {description: x}\n      body:id: {description: y}\n",
        )
        .unwrap_err();
        assert!(err.contains("ambiguous-param"), "{err}");
    }
}
