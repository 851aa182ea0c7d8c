//! The tool catalog: everything derived from the static specs once, at startup.
//!
//! Owns parsing each tool's schemas (published as MCP `Tool`s and compiled as validators),
//! preparing its [`RequestPlan`], and `tools/list` paging with opaque cursors. After
//! [`Catalog::new`] succeeds nothing here can fail except a bad cursor.

mod schemas;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::request::build::RequestPlan;
use crate::spec::{
    BodyValue, CONFIRMATION_ARGUMENT, SchemaText, ServerSpec, ToolSpec, ValueSource,
};
use crate::support::validate::SchemaValidator;

/// Largest total of published schema text (bytes) for which built tools are kept: above it,
/// `tools/list` parses each page's schemas again rather than holding them all parsed.
pub const KEEP_PUBLISHED_BYTES: usize = 1024 * 1024;

/// Most tools in one `tools/list` page.
pub const PAGE_SIZE: usize = 100;

/// The specs cannot be served (a generator bug, or a hand-edited crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    /// The tool at fault, if one is.
    pub tool: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl StartupError {
    pub(crate) fn tool(tool: &str, message: impl Into<String>) -> Self {
        StartupError {
            tool: Some(tool.to_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tool {
            Some(tool) => write!(f, "tool `{tool}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StartupError {}

/// A `tools/list` cursor this server did not issue (or issued for another tool list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCursor;

impl fmt::Display for InvalidCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid cursor: pass a nextCursor value from a previous tools/list result")
    }
}

impl std::error::Error for InvalidCursor {}

/// One tool, ready to be listed and called. Its schemas are parsed when it is listed and
/// compiled when it is first called, so a server with thousands of tools starts at once and
/// holds only what its callers use.
#[derive(Debug)]
pub struct ToolEntry {
    /// The static spec.
    pub spec: &'static ToolSpec,
    /// How requests are built.
    pub plan: RequestPlan,
    /// `operationId`, or `METHOD /path`, for the audit log.
    pub operation: String,
    /// URI of binary results embedded as resources.
    pub resource_uri: String,
    /// The schema texts, found once at start-up.
    schemas: SchemaTexts,
    /// The tool as published, kept once built when the whole catalog's schemas are small.
    published: Option<OnceLock<Result<Tool, String>>>,
    /// The validators, once compiled.
    compiled: OnceLock<Result<Compiled, String>>,
}

/// A tool's JSON Schema texts, wherever the spec keeps them, checked at start-up to be JSON
/// objects.
#[derive(Debug, Clone, Copy)]
struct SchemaTexts {
    /// The published input schema.
    input: &'static RawValue,
    /// The schema arguments are checked against: the spec's, when a client profile rewrote
    /// the published one.
    checked: &'static RawValue,
    /// The published output schema, if any.
    output: Option<&'static RawValue>,
}

/// A tool as `tools/list` publishes it, with its schemas left as the texts they are kept in:
/// it serialises as rmcp's [`Tool`] does (a test compares the two), without parsing them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolText<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    description: &'a str,
    input_schema: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_schema: Option<&'a RawValue>,
    annotations: ToolAnnotations,
}

/// A tool's schemas compiled for its calls.
#[derive(Debug)]
pub struct Compiled {
    /// Validator of the arguments: the spec's schema when the published one was rewritten for
    /// client profiles (applied after nulls are removed, if they mean absent).
    pub input: SchemaValidator,
    /// The published output schema and its validator, when the tool publishes one.
    pub output: Option<OutputSchema>,
}

/// A published output schema, parsed and compiled.
#[derive(Debug)]
pub struct OutputSchema {
    /// The schema.
    pub schema: JsonObject,
    /// Its validator.
    pub validator: SchemaValidator,
}

impl ToolEntry {
    /// The tool as `tools/list` publishes it; the error names what is broken (a generator bug
    /// or a hand-edited crate). Parsed schemas take several times the memory of their text, so
    /// a large server builds it from the static text each time; a small one keeps it.
    pub fn tool(&self) -> Result<Tool, String> {
        match &self.published {
            Some(kept) => kept
                .get_or_init(|| publish(self.spec, &self.schemas))
                .clone(),
            None => publish(self.spec, &self.schemas),
        }
    }

    /// The tool as `tools/list` publishes it, for writing without parsing its schemas.
    pub fn text(&self) -> ToolText<'static> {
        ToolText {
            name: self.spec.name,
            title: self.spec.title,
            description: self.spec.description,
            input_schema: self.schemas.input,
            output_schema: self.schemas.output,
            annotations: annotations(self.spec),
        }
    }

    /// The compiled schemas; the error names what does not compile.
    pub fn compiled(&self) -> Result<&Compiled, &str> {
        self.compiled
            .get_or_init(|| compile(&self.schemas))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// The behaviour hints a tool publishes.
fn annotations(spec: &ToolSpec) -> ToolAnnotations {
    ToolAnnotations::new()
        .read_only(spec.hints.read_only)
        .destructive(spec.hints.destructive)
        .idempotent(spec.hints.idempotent)
        .open_world(spec.hints.open_world)
}

/// Builds the published tool from its static spec.
fn publish(spec: &ToolSpec, schemas: &SchemaTexts) -> Result<Tool, String> {
    let input = parse_object("input schema", schemas.input.get())?;
    let mut tool =
        Tool::new(spec.name, spec.description, Arc::new(input)).with_annotations(annotations(spec));
    if let Some(title) = spec.title {
        tool = tool.with_title(title);
    }
    if let Some(text) = schemas.output {
        tool = tool.with_raw_output_schema(Arc::new(parse_object("output schema", text.get())?));
    }
    Ok(tool)
}

/// Compiles a tool's validators. A schema rewritten for a client profile may be looser (Gemini
/// drops keywords) or say things plain JSON Schema does not (`nullable`): arguments are checked
/// against the spec's.
fn compile(schemas: &SchemaTexts) -> Result<Compiled, String> {
    let checked = parse_object("input schema", schemas.checked.get())?;
    let input = SchemaValidator::compile(&Value::Object(checked))
        .map_err(|e| format!("input schema does not compile: {e}"))?;
    let output = match schemas.output {
        None => None,
        Some(text) => {
            let schema = Value::Object(parse_object("output schema", text.get())?);
            let validator = SchemaValidator::compile(&schema)
                .map_err(|e| format!("output schema does not compile: {e}"))?;
            let Value::Object(schema) = schema else {
                return Err("output schema is not a JSON object".to_owned());
            };
            Some(OutputSchema { schema, validator })
        }
    };
    Ok(Compiled { input, output })
}

/// All tools of a server.
#[derive(Debug)]
pub struct Catalog {
    entries: Vec<ToolEntry>,
    index: HashMap<&'static str, usize>,
    fingerprint: String,
}

fn parse_object(what: &str, text: &str) -> Result<JsonObject, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("{what} is not a JSON object")),
        Err(e) => Err(format!("{what} is not valid JSON: {e}")),
    }
}

/// Checks that a `confirm: true` tool takes the confirmation argument (an optional string the
/// generator adds) and that no parameter or body field is sent from it: the token must never
/// reach the upstream.
fn check_confirmation(spec: &ToolSpec, schemas: &SchemaTexts) -> Result<(), StartupError> {
    let takes = |name: &str| match &spec.body {
        Some(body) => match &body.value {
            BodyValue::Argument { name: arg } => *arg == name,
            BodyValue::Fields(fields) => fields.iter().any(|f| {
                matches!(f.value, ValueSource::Argument { name: arg, .. } if arg == name)
            }),
        },
        None => false,
    } || spec.params.iter().any(|p| {
        matches!(p.value, ValueSource::Argument { name: arg, .. } if arg == name)
    });
    if takes(CONFIRMATION_ARGUMENT) {
        return Err(StartupError::tool(
            spec.name,
            format!(
                "the argument `{CONFIRMATION_ARGUMENT}` is reserved and must not be sent upstream"
            ),
        ));
    }
    if !spec.confirm {
        return Ok(());
    }
    // Only tools that need confirmation (a few) parse their schema here.
    let schema = Value::Object(
        parse_object("input schema", schemas.checked.get())
            .map_err(|e| StartupError::tool(spec.name, e))?,
    );
    let declared = schema.pointer(&format!("/properties/{CONFIRMATION_ARGUMENT}/type"));
    let is_string = match declared {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|n| n == CONFIRMATION_ARGUMENT));
    if !is_string || required {
        return Err(StartupError::tool(
            spec.name,
            format!(
                "the tool needs confirmation, so its input schema must declare an optional \
                 string argument `{CONFIRMATION_ARGUMENT}`"
            ),
        ));
    }
    Ok(())
}

fn entry(
    server: &'static ServerSpec,
    spec: &'static ToolSpec,
    schemas: SchemaTexts,
    keep_published: bool,
) -> Result<ToolEntry, StartupError> {
    let name = spec.name;
    check_confirmation(spec, &schemas)?;
    let plan = RequestPlan::new(server, spec).map_err(|e| StartupError::tool(name, e))?;
    let operation = match spec.operation.id {
        Some(id) => id.to_owned(),
        None => format!("{} {}", spec.operation.method.as_str(), spec.operation.path),
    };
    Ok(ToolEntry {
        spec,
        plan,
        operation,
        resource_uri: format!("mcpgen://{}/{}/response", server.name, name),
        schemas,
        published: keep_published.then(OnceLock::new),
        compiled: OnceLock::new(),
    })
}

impl Catalog {
    /// Prepares every tool of `server`.
    pub fn new(server: &'static ServerSpec) -> Result<Self, StartupError> {
        let mut entries = Vec::with_capacity(server.tools.len());
        let mut index = HashMap::new();
        let mut hasher = Sha256::new();
        // The contract is read only if some tool keeps its schemas there, and then once.
        let in_contract = |s: &SchemaText| *s == SchemaText::InContract;
        let contract = if server.tools.iter().any(|t| {
            in_contract(&t.input_schema)
                || t.spec_input_schema.as_ref().is_some_and(in_contract)
                || t.output.schema.as_ref().is_some_and(in_contract)
        }) {
            Some(schemas::contract_schemas(server)?)
        } else {
            None
        };
        let schemas = server
            .tools
            .iter()
            .map(|spec| schemas::schema_texts(spec, contract.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let published_bytes: usize = schemas
            .iter()
            .map(|s| s.input.get().len() + s.output.map_or(0, |o| o.get().len()))
            .sum();
        let keep_published = published_bytes <= KEEP_PUBLISHED_BYTES;
        for (spec, schemas) in server.tools.iter().zip(schemas) {
            if index.insert(spec.name, entries.len()).is_some() {
                return Err(StartupError::tool(spec.name, "the tool name is used twice"));
            }
            hasher.update(spec.name.as_bytes());
            hasher.update([0]);
            entries.push(entry(server, spec, schemas, keep_published)?);
        }
        let fingerprint = hasher.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Catalog {
            entries,
            index,
            fingerprint,
        })
    }

    /// The tool with this name.
    pub fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// Number of tools.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One `tools/list` page: the tools after `cursor` and the cursor of the next page.
    pub fn page(&self, cursor: Option<&str>) -> Result<(Vec<Tool>, Option<String>), InvalidCursor> {
        self.page_for(cursor, |_| true)
    }

    /// One page of the tools `visible` keeps (a caller's view: the tools its scopes allow).
    pub fn page_for(
        &self,
        cursor: Option<&str>,
        visible: impl Fn(&ToolSpec) -> bool,
    ) -> Result<(Vec<Tool>, Option<String>), InvalidCursor> {
        let (positions, next) = self.page_positions(cursor, PAGE_SIZE, visible)?;
        // A tool whose schema does not parse (a generator bug, or a hand-edited crate) is left
        // out rather than failing the whole list.
        let tools = positions
            .into_iter()
            .filter_map(|i| self.entries[i].tool().ok())
            .collect();
        Ok((tools, next))
    }

    /// [`Catalog::page_for`] as the tools' positions in the catalog (see [`Catalog::at`]), for
    /// a transport that writes each tool's [`ToolEntry::text`] itself.
    pub fn page_positions_for(
        &self,
        cursor: Option<&str>,
        visible: impl Fn(&ToolSpec) -> bool,
    ) -> Result<(Vec<usize>, Option<String>), InvalidCursor> {
        self.page_positions(cursor, PAGE_SIZE, visible)
    }

    /// The tool at `position` in the catalog (the generated crate's order).
    pub fn at(&self, position: usize) -> Option<&ToolEntry> {
        self.entries.get(position)
    }

    fn page_positions(
        &self,
        cursor: Option<&str>,
        size: usize,
        visible: impl Fn(&ToolSpec) -> bool,
    ) -> Result<(Vec<usize>, Option<String>), InvalidCursor> {
        let shown: Vec<usize> = (0..self.entries.len())
            .filter(|&i| visible(self.entries[i].spec))
            .collect();
        let start = match cursor {
            None => 0,
            Some(c) => self
                .decode_cursor(c)
                .filter(|&offset| offset < shown.len())
                .ok_or(InvalidCursor)?,
        };
        let end = (start + size.max(1)).min(shown.len());
        let next = (end < shown.len()).then(|| self.encode_cursor(end));
        Ok((shown[start..end].to_vec(), next))
    }

    fn encode_cursor(&self, offset: usize) -> String {
        URL_SAFE_NO_PAD.encode(format!("{offset}:{}", self.fingerprint))
    }

    fn decode_cursor(&self, cursor: &str) -> Option<usize> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let (offset, fingerprint) = text.split_once(':')?;
        let offset: usize = offset.parse().ok()?;
        (fingerprint == self.fingerprint && offset > 0 && offset < self.entries.len())
            .then_some(offset)
    }
}
