//! Responses: the `Accept` header, the primary success response, and the output schema after
//! the tool's allowlist and redactions.

use crate::annotations::{
    OutputSchemaEntry, OutputSchemaMode, RedactActionName, RedactEntry, ResponseEntry,
};
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{NameRulesIr, OutputIr, RedactAction, RedactionIr};
use crate::load::SpecSet;
use crate::load::pointer::escape_token;
use crate::lower::bound::{self, Budget};
use crate::lower::examples::{self, Dropped};
use crate::lower::operations::OperationRef;
use crate::lower::schema::{DefCache, Direction, SchemaBuilder};
use crate::lower::shape::{self, SchemaRedaction, ShapeError};
use crate::lower::{AnnotationCtx, Shared, names};
use crate::media::is_json_type;
use crate::parallel::Memo;
use crate::sample::Sampler;
use crate::wildcard::WildcardPath;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Name of the member that wraps results whose JSON is not an object.
pub const WRAP_MEMBER: &str = "result";

/// The output side of a tool.
pub struct Output {
    /// What successful results look like.
    pub output: OutputIr,
    /// The `Accept` header.
    pub accept: String,
    /// What the published output schema left out (defaults and examples that break it).
    pub dropped: Vec<Dropped>,
}

/// Default deepest nesting a bounded output schema describes.
pub const DEFAULT_OUTPUT_MAX_DEPTH: u32 = 6;

/// Default size of a bounded output schema, in tokens.
pub const DEFAULT_OUTPUT_MAX_TOKENS: u32 = 1_000;

/// Most values a canned answer holds before its optional members are left out.
const SAMPLED_VALUES: usize = 500;

/// Size of the written-out response schema the canned answer of a tool with field rules is
/// sampled from, in tokens.
const SAMPLED_SCHEMA_TOKENS: usize = 16_000;

/// How the strings a canned answer invents begin (`upstream-1`, …).
const UPSTREAM_SAMPLE_PREFIX: &str = "upstream-";

/// The output schema policy in force for one tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct OutputPolicy {
    mode: OutputSchemaMode,
    budget: Budget,
}

impl OutputPolicy {
    /// The tool's settings, else the server's, else the defaults (field by field).
    fn resolve(tool: Option<&OutputSchemaEntry>, server: Option<&OutputSchemaEntry>) -> Self {
        let (tool, server) = (
            tool.map(OutputSchemaEntry::detail).unwrap_or_default(),
            server.map(OutputSchemaEntry::detail).unwrap_or_default(),
        );
        OutputPolicy {
            mode: tool
                .mode
                .or(server.mode)
                .unwrap_or(OutputSchemaMode::Bounded),
            budget: Budget {
                max_depth: tool
                    .max_depth
                    .or(server.max_depth)
                    .unwrap_or(DEFAULT_OUTPUT_MAX_DEPTH) as usize,
                max_tokens: tool
                    .max_tokens
                    .or(server.max_tokens)
                    .unwrap_or(DEFAULT_OUTPUT_MAX_TOKENS) as usize,
            },
        }
    }
}

/// Whether a media type is a wildcard that JSON matches (`*/*`, `application/*`).
fn is_wildcard(media: &str) -> bool {
    matches!(
        crate::media::essence(media).as_str(),
        "*/*" | "application/*"
    )
}

/// A schema and where it is in the spec.
type SchemaAt<'a> = (crate::load::DocKey, String, &'a Value);

/// The primary success response: status, media type, schema.
type Primary<'a> = (u16, String, Option<SchemaAt<'a>>);

/// Lowers the responses of `op` under the tool's `response` entry.
pub fn lower_output<'a>(
    specs: &'a SpecSet,
    op: &OperationRef<'a>,
    entry: &ResponseEntry,
    shared: Shared<'a>,
    annotations: &AnnotationCtx,
    tool_pointer: &str,
    diagnostics: &mut Diagnostics,
) -> Output {
    let responses = op.operation.get("responses").and_then(Value::as_object);
    let mut success: Vec<(u16, &String, &Value)> = responses
        .into_iter()
        .flatten()
        .filter_map(|(code, response)| {
            let status = match code.as_str() {
                "2XX" | "2xx" => 299,
                c => c.parse::<u16>().ok().filter(|s| (200..300).contains(s))?,
            };
            Some((status, code, response))
        })
        .collect();
    success.sort_by_key(|(status, _, _)| *status);

    // Accept: every media type a success response may have, JSON first.
    let mut accept: Vec<String> = Vec::new();
    let mut primary: Option<Primary<'_>> = None;
    for (status, code, response) in &success {
        let pointer = format!("{}/responses/{}", op.pointer, escape_token(code));
        let (doc, pointer, response) = match specs.follow(&op.doc, &pointer, response) {
            Ok(found) => found,
            Err(err) => {
                diagnostics.push(err.to_diagnostic(specs.locate(&op.doc, &pointer)));
                continue;
            }
        };
        let content = response.get("content").and_then(Value::as_object);
        let mut medias: Vec<&String> = content.into_iter().flatten().map(|(m, _)| m).collect();
        medias.sort_by_key(|m| !is_json_type(m));
        for media in &medias {
            if !accept.contains(media) {
                accept.push((*media).clone());
            }
        }
        if primary.is_none() {
            let status = if *status == 299 { 200 } else { *status };
            let chosen = medias.first().map(|m| {
                let media_pointer = format!("{pointer}/content/{}", escape_token(m));
                let schema = content
                    .and_then(|c| c.get(*m))
                    .and_then(|media| media.get("schema"));
                (
                    (*m).clone(),
                    schema.map(|s| (doc.clone(), format!("{media_pointer}/schema"), s)),
                )
            });
            primary = Some(match chosen {
                Some((media, schema)) => (status, media, schema),
                None => (status, String::new(), None),
            });
        }
    }
    // Only JSON when the operation offers it: shaping, field rules and the output schema apply
    // to JSON, and an upstream offered a choice may otherwise answer XML. A wildcard answer
    // described by a schema is JSON in practice: ask for JSON first.
    if accept.iter().any(|m| is_json_type(m)) {
        accept.retain(|m| is_json_type(m));
    } else if primary
        .as_ref()
        .is_some_and(|(_, media, schema)| is_wildcard(media) && schema.is_some())
    {
        accept.insert(0, "application/json".to_owned());
    }
    let accept = if accept.is_empty() {
        "application/json".to_owned()
    } else {
        accept.join(", ")
    };
    let (status, media_type, schema) = primary.unwrap_or((200, String::new(), None));
    let json_target = schema.filter(|_| is_json_type(&media_type) || media_type == "*/*");

    let response_pointer = format!("{tool_pointer}/response");
    let rules = Rules::parse(entry, annotations, &response_pointer, diagnostics);
    if json_target.is_none() && !rules.is_empty() {
        let what = if media_type.is_empty() {
            "no content".to_owned()
        } else {
            format!("`{media_type}` content")
        };
        diagnostics.push(
            Diagnostic::error("shaping-without-json", annotations.at(&response_pointer), format!("{} returns {what}, which cannot be shaped", op.label()))
                .with_help("allow and redact apply to JSON responses with a schema; remove them from this tool"),
        );
    }

    let policy = OutputPolicy::resolve(entry.output_schema.as_ref(), shared.output_schema);
    let at = Describing {
        specs,
        defs: shared.defs,
        op,
        entry,
        annotations,
        response_pointer: &response_pointer,
        check_only: shared.check_only,
    };
    let described = match json_target {
        None => Arc::new(Described::default()),
        // Without field rules, what a response schema lowers to depends on the schema alone:
        // tools answering with the same schema (a resource read, updated and created) share it.
        Some((doc, pointer, schema)) if rules.is_empty() => {
            let key = (op.spec, doc.clone(), schema.to_string(), policy);
            match shared.outputs.0.get(&key) {
                Some(described) => described,
                None => {
                    let mut found = Diagnostics::new();
                    let described = Arc::new(describe(
                        &at,
                        (doc, pointer, schema),
                        policy,
                        &rules,
                        &mut found,
                    ));
                    // Problems are reported where they are found: only a clean result is shared.
                    if found.is_empty() {
                        shared.outputs.0.insert(key, described.clone());
                    }
                    diagnostics.extend(found);
                    described
                }
            }
        }
        Some(target) => Arc::new(describe(&at, target, policy, &rules, diagnostics)),
    };
    Output {
        output: OutputIr {
            schema: described.schema.clone(),
            wrap: described.wrap.clone(),
            names: described.names.clone(),
            max_result_tokens: entry.max_result_tokens,
            narrow_with: Vec::new(),
            allow: rules
                .allow
                .into_iter()
                .map(|(_, p)| p.to_string())
                .collect(),
            redact: rules
                .redact
                .into_iter()
                .map(|(_, path, action)| RedactionIr {
                    path: path.to_string(),
                    action,
                })
                .collect(),
            upstream_sample: described.upstream_sample.clone(),
            upstream_sample_fits: described.sample_fits,
            media_type,
            status,
        },
        accept,
        dropped: described.dropped.clone(),
    }
}

/// Output descriptions already lowered, by spec, document, response schema text and policy: shared by
/// the tools whose responses have no field rules and the same schema.
#[derive(Default)]
pub struct OutputCache(Memo<OutputKey, Arc<Described>>);

/// The key of a shared output description: the spec (document keys are relative to each
/// spec's root, so two specs may name different files alike), document, schema text, policy.
type OutputKey = (usize, crate::load::DocKey, String, OutputPolicy);

/// What a response schema lowers to under one tool's field rules and policy.
#[derive(Debug, Default)]
struct Described {
    schema: Option<Arc<Value>>,
    wrap: Option<String>,
    names: NameRulesIr,
    upstream_sample: Option<Arc<Value>>,
    sample_fits: Option<bool>,
    dropped: Vec<Dropped>,
}

/// A tool's allowlist and redactions, parsed (each with its index in the annotation file).
struct Rules {
    allow: Vec<(usize, WildcardPath)>,
    redact: Vec<(usize, WildcardPath, RedactAction)>,
}

impl Rules {
    /// Parses the `response` entry's paths, reporting malformed ones.
    fn parse(
        entry: &ResponseEntry,
        annotations: &AnnotationCtx,
        response_pointer: &str,
        diagnostics: &mut Diagnostics,
    ) -> Self {
        let allow = entry
            .allow
            .iter()
            .enumerate()
            .filter_map(|(i, text)| {
                parse_path(
                    text,
                    annotations,
                    &format!("{response_pointer}/allow/{i}"),
                    diagnostics,
                )
                .map(|p| (i, p))
            })
            .collect();
        let redact = entry
            .redact
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let (text, action) = match r {
                    RedactEntry::Path(p) => (p.as_str(), RedactAction::Remove),
                    RedactEntry::Rule(rule) => (
                        rule.path.as_str(),
                        match rule.action {
                            RedactActionName::Remove => RedactAction::Remove,
                            RedactActionName::Mask => RedactAction::Mask {
                                keep_last: rule.keep_last,
                            },
                        },
                    ),
                };
                let at = match r {
                    RedactEntry::Path(_) => format!("{response_pointer}/redact/{i}"),
                    RedactEntry::Rule(_) => format!("{response_pointer}/redact/{i}/path"),
                };
                parse_path(text, annotations, &at, diagnostics).map(|p| (i, p, action))
            })
            .collect();
        Rules { allow, redact }
    }

    fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.redact.is_empty()
    }
}

/// Where a description's problems are reported.
struct Describing<'s, 'a> {
    specs: &'a SpecSet,
    defs: &'a DefCache<'a>,
    op: &'s OperationRef<'a>,
    entry: &'s ResponseEntry,
    annotations: &'s AnnotationCtx<'s>,
    response_pointer: &'s str,
    /// Only problems are wanted ([`Shared::check_only`]).
    check_only: bool,
}

/// Lowers the JSON schema of the primary success response: shaped by the rules, published under
/// the policy, and the upstream's schema the tool's tests sample answers from.
fn describe(
    at: &Describing<'_, '_>,
    (doc, pointer, schema): SchemaAt<'_>,
    policy: OutputPolicy,
    rules: &Rules,
    diagnostics: &mut Diagnostics,
) -> Described {
    let Describing {
        specs,
        defs: _,
        op,
        entry,
        annotations,
        response_pointer,
        check_only,
    } = *at;
    let mut builder = SchemaBuilder::new(specs, Direction::Response, at.defs);
    let schema = builder.root(&doc, &pointer, schema);
    diagnostics.extend(std::mem::take(&mut builder.diagnostics));

    let allow_paths: Vec<WildcardPath> = rules.allow.iter().map(|(_, p)| p.clone()).collect();
    let redact_paths: Vec<WildcardPath> = rules.redact.iter().map(|(_, p, _)| p.clone()).collect();
    let mut shaped = match shape::allow(&builder, &schema, &allow_paths) {
        Ok(shaped) => shaped,
        Err((i, err)) => {
            let (index, _) = rules.allow[i];
            report_shape_error(
                &err,
                &entry.allow[index],
                annotations,
                &format!("{response_pointer}/allow/{index}"),
                op,
                diagnostics,
            );
            schema.clone()
        }
    };
    for (i, path, action) in &rules.redact {
        let schema_action = match action {
            RedactAction::Remove => SchemaRedaction::Remove,
            RedactAction::Mask { .. } => SchemaRedaction::Mask,
        };
        if let Err(err) = shape::redact(&builder, &mut shaped, path, schema_action) {
            report_shape_error(
                &err,
                &path.to_string(),
                annotations,
                &format!("{response_pointer}/redact/{i}"),
                op,
                diagnostics,
            );
        }
    }
    let mut wrap = None;
    let root = if is_object_schema(&builder, &shaped) {
        if let Value::Object(obj) = &mut shaped
            && !obj.contains_key("type")
        {
            obj.insert("type".to_owned(), json!("object"));
        }
        shaped
    } else {
        wrap = Some(WRAP_MEMBER.to_owned());
        json!({"type": "object", "properties": {WRAP_MEMBER: shaped}})
    };
    // Written out whole (with the definitions it reaches) only when it is published so.
    let finished = match policy.mode {
        _ if check_only => None,
        OutputSchemaMode::Full => {
            let mut full = builder.finish(root);
            accept_null_below_the_root(&mut full);
            Some(full)
        }
        OutputSchemaMode::Bounded => Some(
            bound::bound(
                &root,
                builder.defs(),
                policy.budget,
                accept_null_below_the_root,
                || builder.finish(root.clone()),
            )
            .0,
        ),
        OutputSchemaMode::None => None,
    };
    // The server compiles it at start-up: a schema that is not valid JSON Schema would stop
    // the server, so the tool answers in text instead, and the architect is told.
    let mut output_schema = None;
    let mut validator = None;
    let mut dropped = Vec::new();
    match finished.map(|f| crate::validator::compile(&f).map(|v| (f, v))) {
        None => wrap = None,
        Some(Ok((mut finished, compiled))) => {
            dropped = examples::prune(&mut finished);
            output_schema = Some(Arc::new(finished));
            validator = Some(compiled);
        }
        Some(Err(e)) => diagnostics.push(
            Diagnostic::warning(
                "invalid-output-schema",
                specs.locate(&op.doc, &op.pointer),
                format!(
                    "the response of {} is not a valid JSON Schema ({}): the tool returns text without an output schema",
                    op.label(),
                    e.masked()
                ),
            )
            .with_help("fix the response schema in the spec"),
        ),
    }
    for (index, position) in names::redaction_gaps(&schema, builder.defs(), &redact_paths) {
        let (i, path, _) = &rules.redact[index];
        diagnostics.push(
            Diagnostic::warning(
                "redaction-gap",
                annotations.at(&format!("{response_pointer}/redact/{i}")),
                format!(
                    "`{path}` does not reach the `{}` the response of {} may carry at `{position}`: there it is shown as sent",
                    position.rsplit('/').next().unwrap_or_default(),
                    op.label()
                ),
            )
            .with_help(format!("add `{position}` (or a path with `*` that covers both) to the redactions")),
        );
    }
    let names = names::name_rules(Some(&schema), builder.defs(), &allow_paths, &redact_paths);
    // The tool's tests' canned answer, only the sample kept. Without field rules it is sampled
    // from the upstream's schema where it stands (optional members to the usual depth), with a
    // bounded number of values (a schema
    // reaching hundreds of shared objects is neither written out nor sampled whole). With
    // them, the runtime also removes members by name where the published schema leaves a value
    // open (a recursion cut at its first repeat, say), which the tests' expectations do not
    // model: the sample is then taken from the upstream's schema written out bounded (deeper
    // than any rule's path), which opens values where bounding opens them.
    let upstream_sample = (!check_only).then(|| {
        let sample = if rules.is_empty() {
            Sampler::descriptive_in(
                &schema,
                builder.defs(),
                SAMPLED_VALUES,
                UPSTREAM_SAMPLE_PREFIX,
            )
            .sample_best()
        } else {
            let deepest = allow_paths
                .iter()
                .chain(&redact_paths)
                .map(|p| p.segments.len())
                .max()
                .unwrap_or(0);
            let budget = Budget {
                max_depth: (deepest + 2).max(DEFAULT_OUTPUT_MAX_DEPTH as usize),
                max_tokens: SAMPLED_SCHEMA_TOKENS,
            };
            let (bounded, _) = bound::bound(
                &schema,
                builder.defs(),
                budget,
                |_| {},
                || builder.finish(schema.clone()),
            );
            Sampler::descriptive(&bounded, UPSTREAM_SAMPLE_PREFIX).sample_best()
        };
        Arc::new(sample)
    });
    // Without field rules the answer is passed on as sent: whether it fits the published
    // schema is decided here, by the validator that just checked the schema.
    let sample_fits = match (&upstream_sample, &validator) {
        (Some(sample), Some(validator)) if rules.is_empty() => Some(match &wrap {
            Some(member) => {
                let wrapped = Map::from_iter([(member.clone(), Value::clone(sample))]);
                validator.is_valid(&Value::Object(wrapped))
            }
            None => validator.is_valid(sample),
        }),
        _ => None,
    };
    Described {
        schema: output_schema,
        wrap,
        names,
        upstream_sample,
        sample_fits,
        dropped,
    }
}

/// Parses an allow or redact path, reporting a malformed one.
fn parse_path(
    text: &str,
    annotations: &AnnotationCtx,
    pointer: &str,
    diagnostics: &mut Diagnostics,
) -> Option<WildcardPath> {
    match WildcardPath::parse(text) {
        Ok(path) => Some(path),
        Err(e) => {
            diagnostics.push(
                Diagnostic::error("invalid-path", annotations.at(pointer), format!("`{text}` is not a field path: {e}"))
                    .with_help("write a JSON pointer such as `/results/*/email` (`*` matches every item or member)"),
            );
            None
        }
    }
}

fn report_shape_error(
    err: &ShapeError,
    path: &str,
    annotations: &AnnotationCtx,
    pointer: &str,
    op: &OperationRef<'_>,
    diagnostics: &mut Diagnostics,
) {
    let at = annotations.at(pointer);
    let diagnostic = match err {
        ShapeError::NoSuchField { segment, known } => Diagnostic::error(
            "unknown-response-field",
            at,
            format!(
                "`{path}` does not match the response of {}: no field `{segment}`",
                op.label()
            ),
        )
        .with_help(if known.is_empty() {
            "check the response schema in the spec".to_owned()
        } else {
            format!("fields there: {}", known.join(", "))
        }),
        ShapeError::Unchecked => Diagnostic::warning(
            "unchecked-response-path",
            at,
            format!(
                "`{path}` cannot be checked: the response schema of {} does not describe that part",
                op.label()
            ),
        )
        .with_help("the server still applies it to real responses; check the spelling"),
        ShapeError::RemoveEverything => Diagnostic::error(
            "invalid-path",
            at,
            format!("`{path}` would remove every member"),
        )
        .with_help("remove the parent field instead"),
    };
    diagnostics.push(diagnostic);
}

/// Makes every schema of a published output schema accept `null`, except the root (MCP wants
/// an object there): `null` in place of a declared member is the most common way real answers
/// drift from their specs, and a `null` carries no data to protect.
///
/// Typed schemas gain `"null"` in their `type`; a `$ref` reaches a definition that accepts it;
/// an untyped schema accepts it already (its `properties` or `items` apply to objects and
/// arrays only), and so do `anyOf` and `allOf` whose branches all do.
fn accept_null_below_the_root(schema: &mut Value) {
    fn visit(schema: &mut Value, root: bool) {
        let Value::Object(node) = schema else { return };
        if !root && node.contains_key("type") {
            crate::lower::schema::make_nullable(node);
        }
        for (key, child) in node.iter_mut() {
            match key.as_str() {
                "properties" | "patternProperties" | "$defs" => {
                    if let Value::Object(members) = child {
                        members.values_mut().for_each(|m| visit(m, false));
                    }
                }
                "items" | "additionalProperties" => visit(child, false),
                "prefixItems" | "anyOf" | "allOf" | "oneOf" => {
                    if let Value::Array(branches) = child {
                        branches.iter_mut().for_each(|b| visit(b, false));
                    }
                }
                _ => {}
            }
        }
    }
    visit(schema, true);
}

/// Whether a (shaped) schema always describes a JSON object.
fn is_object_schema(builder: &SchemaBuilder<'_>, schema: &Value) -> bool {
    fn check(builder: &SchemaBuilder<'_>, schema: &Value, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        let schema = match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| builder.definition(r))
        {
            Some(def) => def,
            None => schema,
        };
        match schema.get("type") {
            Some(Value::String(t)) => return t == "object",
            Some(_) => return false,
            None => {}
        }
        if schema.get("properties").is_some() {
            return true;
        }
        let all = schema.get("allOf").and_then(Value::as_array);
        let any = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array);
        match (all, any) {
            (None, None) => false,
            (all, any) => {
                all.is_none_or(|bs| {
                    !bs.is_empty() && bs.iter().any(|b| check(builder, b, depth + 1))
                }) && any.is_none_or(|bs| {
                    !bs.is_empty() && bs.iter().all(|b| check(builder, b, depth + 1))
                })
            }
        }
    }
    check(builder, schema, 0)
}
