//! One tool: an annotation entry applied to one operation.

use crate::annotations::{IdentityName, ToolEntry};
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{
    CONFIRMATION_ARGUMENT, Hints, HttpMethod, Identity, OperationIr, ParamIr, ParamLocation,
    Profile, ToolIr, ValueSource,
};
use crate::load::SpecSet;
use crate::lower::examples::{self, Dropped};
use crate::lower::operations::OperationRef;
use crate::lower::params::candidates::request_path;
use crate::lower::params::{ToolEntryAt, lower_arguments};
use crate::lower::profile::rewrite::normalise;
use crate::lower::response::lower_output;
use crate::lower::schema::{Direction, SchemaBuilder};
use crate::lower::security::{Credentials, credentials_for};
use crate::lower::{AnnotationCtx, Shared};
use crate::naming::{RustIdent, ToolName};
use crate::parallel::Memo;
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest description taken from a spec (the annotation file may set a longer one).
const MAX_SPEC_DESCRIPTION: usize = 1024;

/// Longest summary used as a tool's title.
const MAX_TITLE: usize = 80;

/// Everything needed to lower one tool.
pub struct ToolInput<'a> {
    /// The tool's name.
    pub name: ToolName,
    /// Its Rust module identifier.
    pub module: RustIdent,
    /// Its annotation entry.
    pub entry: &'a ToolEntry,
    /// JSON pointer of the entry in the annotation file.
    pub pointer: String,
    /// The operation it calls.
    pub op: &'a OperationRef<'a>,
    /// The spec the operation is in.
    pub spec: &'a SpecSet,
    /// The identity tools use unless they say otherwise.
    pub default_identity: Identity,
    /// Client profiles the input schema must suit.
    pub profiles: &'a [Profile],
    /// What the server's tools share: the output schema policy and normalised definitions.
    pub shared: Shared<'a>,
}

/// Input schemas already checked, by their compact JSON text: whether each compiles, the
/// schemas published for it and the test arguments sampled from it, all functions of the
/// schema alone (the client profiles it is normalised for are the server's). Tools taking the
/// same arguments share one copy of each.
#[derive(Default)]
pub struct InputCache(Memo<String, Arc<CheckedInput>>);

/// What checking an input schema found, and what is published for it.
pub struct CheckedInput {
    /// Why it is not a valid JSON Schema, if it is not.
    error: Option<String>,
    /// The schema published (normalised for the server's client profiles).
    published: Arc<Value>,
    /// The schema as the spec gives it, when normalising rewrote it.
    spec: Option<Arc<Value>>,
    /// Whether a `null` argument means an absent one.
    nulls_absent: bool,
    /// What normalising changed, for each tool's note (when it rewrote the schema).
    changes: Vec<String>,
    /// Values left out of the normalised schema (pruned after the rewrite), for each tool's note.
    dropped_after_rewrite: Vec<Dropped>,
    /// Test arguments that fit it (`null` when only problems are wanted).
    sample: Arc<Value>,
}

/// Lowers one tool; problems go to `diagnostics`.
pub fn lower_tool(
    input: ToolInput<'_>,
    credentials: &Credentials,
    annotations: &AnnotationCtx,
    diagnostics: &mut Diagnostics,
) -> ToolIr {
    let ToolInput {
        name,
        module,
        entry,
        pointer,
        op,
        spec,
        default_identity,
        profiles,
        shared,
    } = input;
    let hints = hints(op, entry, annotations, &pointer, &name, diagnostics);
    let confirm = entry
        .confirm
        .unwrap_or(hints.destructive && !hints.read_only);
    let identity = entry.identity.map_or(default_identity, identity_of);
    if request_path(&op.path) != op.path {
        diagnostics.push(
            Diagnostic::warning(
                "path-suffix-not-sent",
                spec.locate(&op.doc, &op.pointer),
                format!(
                    "the path `{}` holds a `#` or `?`; only `{}` is sent",
                    op.path,
                    request_path(&op.path)
                ),
            )
            .with_help("a fragment or query inside a path key is not part of the request path"),
        );
    }
    if op.deprecated() {
        diagnostics.push(
            Diagnostic::warning(
                "deprecated-operation",
                annotations.at(&format!("{pointer}/operation")),
                format!("{} is deprecated in the spec", op.label()),
            )
            .with_help("prefer the operation that replaces it, if there is one"),
        );
    }

    let mut builder = SchemaBuilder::new(spec, Direction::Request, shared.defs);
    let at = ToolEntryAt {
        entry,
        annotations,
        pointer: &pointer,
        reserved: confirm.then_some(CONFIRMATION_ARGUMENT),
    };
    let mut arguments = lower_arguments(spec, op, &at, &mut builder, diagnostics);
    if confirm {
        arguments.properties.insert(
            CONFIRMATION_ARGUMENT.to_owned(),
            json!({
                "type": "string",
                "description": "Leave out at first: the tool then describes what it would do and returns a confirmation token. Ask the user; only if they agree, call again with the same arguments and that token."
            }),
        );
    }
    let mut root = serde_json::Map::new();
    root.insert("type".to_owned(), json!("object"));
    root.insert("properties".to_owned(), Value::Object(arguments.properties));
    if !arguments.required.is_empty() {
        root.insert("required".to_owned(), json!(arguments.required));
    }
    root.insert("additionalProperties".to_owned(), json!(false));
    let mut input_schema = builder.finish(Value::Object(root));
    diagnostics.extend(std::mem::take(&mut builder.diagnostics));
    // What each published schema left out, for one note.
    let mut dropped: Vec<(&str, Dropped)> = Vec::new();
    let mut prune = |side, schema: &mut Value| {
        dropped.extend(examples::prune(schema).into_iter().map(|d| (side, d)));
    };
    prune("input", &mut input_schema);
    // Tools taking the same arguments (a resource read, updated and deleted by its id) share
    // the check of their schema, what is published for it and their test arguments.
    let key = input_schema.to_string();
    let checked = match shared.inputs.0.get(&key) {
        Some(known) => known,
        None => {
            let checked = check_input(input_schema, profiles, shared.check_only);
            shared.inputs.0.insert(key, Arc::new(checked))
        }
    };
    if let Some(e) = &checked.error {
        diagnostics.push(
            Diagnostic::error(
                "invalid-input-schema",
                spec.locate(&op.doc, &op.pointer),
                format!(
                    "the arguments of {} do not form a valid JSON Schema: {e}",
                    op.label()
                ),
            )
            .with_help("fix the parameter schemas in the spec"),
        );
    }
    if checked.spec.is_some() {
        diagnostics.push(Diagnostic::note(
            "schema-normalised",
            annotations.at(&pointer),
            format!(
                "the input schema of `{name}` was rewritten for the {} profile(s): {}",
                profiles
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                checked.changes.join("; ")
            ),
        ));
    }
    dropped.extend(
        checked
            .dropped_after_rewrite
            .iter()
            .map(|d| ("input", d.clone())),
    );
    let input_schema = Arc::clone(&checked.published);
    let spec_input_schema = checked.spec.clone();
    let nulls_absent = checked.nulls_absent;
    let sample_arguments = Arc::clone(&checked.sample);
    let mut output = lower_output(
        spec,
        op,
        &entry.response,
        shared,
        annotations,
        &pointer,
        diagnostics,
    );
    output.output.narrow_with = narrowing_arguments(&arguments.params);
    dropped.extend(output.dropped.drain(..).map(|d| ("output", d)));
    if let Some(note) = dropped_note(&name, &dropped, annotations.at(&pointer)) {
        diagnostics.push(note);
    }
    let credentials = credentials_for(
        spec,
        op,
        credentials,
        identity,
        annotations.at(&format!("{pointer}/operation")),
        diagnostics,
    );

    let mut scopes = Vec::new();
    for (i, scope) in entry.scopes.iter().enumerate() {
        let valid = !scope.is_empty()
            && scope
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
        if valid {
            scopes.push(scope.clone());
        } else {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-scope",
                    annotations.at(&format!("{pointer}/scopes/{i}")),
                    format!("`{scope}` is not an OAuth scope"),
                )
                .with_help("scopes are printable ASCII without spaces, quotes or backslashes"),
            );
        }
    }
    scopes.sort();
    scopes.dedup();

    ToolIr {
        name,
        module,
        title: entry
            .title
            .clone()
            .or_else(|| op.summary().filter(|s| s.chars().count() <= MAX_TITLE)),
        description: entry
            .description
            .clone()
            .unwrap_or_else(|| spec_description(op)),
        operation: OperationIr {
            id: op.id().map(str::to_owned),
            method: op.method,
            path: request_path(&op.path).to_owned(),
            spec_file: op.spec_file.clone(),
            pointer: op.pointer.clone(),
        },
        input_schema,
        spec_input_schema,
        nulls_absent,
        sample_arguments,
        output: output.output,
        params: arguments.params,
        body: arguments.body,
        accept: output.accept,
        credentials,
        scopes,
        confirm,
        hints,
        identity,
        escalation: entry.escalation.clone(),
    }
}

/// Checks an input schema (pruned of values that break it) and makes what is published for
/// it: the schema normalised for the server's client profiles, and test arguments that fit.
fn check_input(input_schema: Value, profiles: &[Profile], check_only: bool) -> CheckedInput {
    let enforced = crate::validator::compile(&input_schema);
    let error = enforced.as_ref().err().map(ToString::to_string);
    let mut dropped_after_rewrite = Vec::new();
    let (published, spec, nulls_absent, changes) = match normalise(&input_schema, profiles) {
        Some(mut normalised) => {
            // A rewrite can break a value that fitted (an object example missing a member
            // that became required).
            dropped_after_rewrite = examples::prune(&mut normalised.schema);
            (
                normalised.schema,
                Some(input_schema),
                normalised.nulls_absent,
                normalised.changes,
            )
        }
        None => (input_schema, None, false, Vec::new()),
    };
    let sample = if check_only {
        Value::Null
    } else {
        crate::sample::arguments(
            &published,
            spec.as_ref(),
            nulls_absent,
            enforced.as_ref().ok(),
        )
    };
    CheckedInput {
        error,
        published: Arc::new(published),
        spec: spec.map(Arc::new),
        nulls_absent,
        changes,
        dropped_after_rewrite,
        sample: Arc::new(sample),
    }
}

/// Query arguments by which a model can page or narrow a long answer: the paging ones
/// (`limit`, `cursor`, `page` …) first, else up to four other query arguments (filters), as
/// the model names them.
fn narrowing_arguments(params: &[ParamIr]) -> Vec<String> {
    const PAGING: &[&str] = &[
        "after",
        "before",
        "continuationtoken",
        "count",
        "cursor",
        "endingbefore",
        "first",
        "last",
        "limit",
        "marker",
        "maxresults",
        "next",
        "nextpagetoken",
        "nexttoken",
        "offset",
        "page",
        "pagenumber",
        "pagesize",
        "pagetoken",
        "perpage",
        "size",
        "skip",
        "skiptoken",
        "start",
        "startingafter",
        "top",
    ];
    let query_arguments: Vec<(&str, &str)> = params
        .iter()
        .filter(|p| p.location == ParamLocation::Query)
        .filter_map(|p| match &p.value {
            ValueSource::Argument { name, .. } => Some((p.wire_name.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let folded = |wire: &str| -> String {
        wire.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let paging: Vec<String> = query_arguments
        .iter()
        .filter(|(wire, _)| PAGING.contains(&folded(wire).as_str()))
        .map(|(_, name)| (*name).to_owned())
        .collect();
    if !paging.is_empty() {
        return paging;
    }
    query_arguments
        .iter()
        .take(4)
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

/// Most places a note about dropped values names.
const MAX_DROPPED_NAMED: usize = 3;

/// One note for the defaults and examples a tool's published schemas left out, if any.
fn dropped_note(
    name: &ToolName,
    dropped: &[(&str, Dropped)],
    at: crate::diag::Location,
) -> Option<Diagnostic> {
    if dropped.is_empty() {
        return None;
    }
    let mut places: Vec<String> = dropped
        .iter()
        .take(MAX_DROPPED_NAMED)
        .map(|(side, d)| format!("{side} {}", d.describe()))
        .collect();
    if dropped.len() > MAX_DROPPED_NAMED {
        places.push(format!("and {} more", dropped.len() - MAX_DROPPED_NAMED));
    }
    Some(
        Diagnostic::note(
            "example-dropped",
            at,
            format!(
                "the schemas of `{name}` leave out defaults or examples from the spec that break them: {}",
                places.join("; ")
            ),
        )
        .with_help("correct them in the spec to have them published"),
    )
}

/// The identity named in the annotation file.
pub fn identity_of(name: IdentityName) -> Identity {
    match name {
        IdentityName::ServiceAccount => Identity::ServiceAccount,
        IdentityName::ClientCredentials => Identity::ClientCredentials,
        IdentityName::TokenExchange => Identity::TokenExchange,
        IdentityName::Passthrough => Identity::Passthrough,
    }
}

/// The hints: method defaults, overridden by the entry. Writes must be acknowledged.
fn hints(
    op: &OperationRef<'_>,
    entry: &ToolEntry,
    annotations: &AnnotationCtx,
    pointer: &str,
    name: &ToolName,
    diagnostics: &mut Diagnostics,
) -> Hints {
    let method = op.method;
    let read_only = match entry.read_only {
        Some(value) => value,
        None if method.is_safe() => true,
        None => {
            diagnostics.push(
                Diagnostic::error(
                    "write-not-acknowledged",
                    annotations.at(pointer),
                    format!("tool `{name}` calls {}, which can change data, but does not say so", op.method_path()),
                )
                .with_help("read-only is the default: add `read_only: false` to expose a write tool, or `read_only: true` if the operation only reads"),
            );
            false
        }
    };
    if read_only && method == HttpMethod::Delete {
        diagnostics.push(
            Diagnostic::warning(
                "read-only-delete",
                annotations.at(&format!("{pointer}/read_only")),
                format!("tool `{name}` calls DELETE but is marked read-only"),
            )
            .with_help("check that the operation really does not delete anything"),
        );
    }
    let destructive_default = !read_only
        && matches!(
            method,
            HttpMethod::Delete | HttpMethod::Put | HttpMethod::Patch
        );
    let idempotent_default = matches!(
        method,
        HttpMethod::Get
            | HttpMethod::Head
            | HttpMethod::Options
            | HttpMethod::Put
            | HttpMethod::Delete
    );
    Hints {
        read_only,
        destructive: entry.destructive.unwrap_or(destructive_default) && !read_only,
        idempotent: entry.idempotent.unwrap_or(idempotent_default || read_only),
        open_world: entry.open_world.unwrap_or(true),
    }
}

/// The description taken from the spec: summary, then description, within a length budget.
fn spec_description(op: &OperationRef<'_>) -> String {
    let text = |key: &str| {
        op.operation
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut description = match (text("summary"), text("description")) {
        (Some(summary), Some(description)) if description.starts_with(summary) => {
            description.to_owned()
        }
        (Some(summary), Some(description)) => format!("{summary}\n\n{description}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => format!("Calls {}.", op.method_path()),
    };
    if description.chars().count() > MAX_SPEC_DESCRIPTION {
        description = description
            .chars()
            .take(MAX_SPEC_DESCRIPTION - 1)
            .collect::<String>()
            .trim_end()
            .to_owned()
            + "…";
    }
    description
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::ParamStyle;

    fn param(wire: &str, location: ParamLocation, value: ValueSource) -> ParamIr {
        ParamIr {
            wire_name: wire.into(),
            location,
            style: ParamStyle::Form,
            explode: true,
            allow_reserved: false,
            value,
        }
    }

    fn arg(name: &str) -> ValueSource {
        ValueSource::Argument {
            name: name.into(),
            default: None,
        }
    }

    #[test]
    fn paging_arguments_come_first_by_their_wire_names() {
        let params = [
            param("id", ParamLocation::Path, arg("id")),
            param("state", ParamLocation::Query, arg("state")),
            param("per_page", ParamLocation::Query, arg("per_page")),
            param("Page-Token", ParamLocation::Query, arg("page_token")),
            param("limit", ParamLocation::Query, ValueSource::Fixed(10.into())),
            param("X-Cursor", ParamLocation::Header, arg("cursor")),
        ];
        assert_eq!(narrowing_arguments(&params), ["per_page", "page_token"]);
        // Without paging arguments, the query's filters.
        let params = [
            param("q", ParamLocation::Query, arg("q")),
            param("state", ParamLocation::Query, arg("state")),
        ];
        assert_eq!(narrowing_arguments(&params), ["q", "state"]);
        assert!(narrowing_arguments(&[]).is_empty());
    }
}
