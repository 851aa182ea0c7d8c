//! Schema normalisation: OpenAPI schemas (Swagger 2.0, 3.0 and 3.1 dialects) to the JSON
//! Schema 2020-12 that MCP clients read.
//!
//! One [`SchemaBuilder`] builds the schemas of one tool side (its input, or its output): `$ref`s
//! become local `#/$defs/<Name>` references, each referenced schema is normalised once
//! (cycles are fine: a schema being normalised is referenced, not re-entered), and only
//! keywords JSON Schema knows survive. Request schemas keep every constraint (`required`,
//! `enum`, `format`, bounds) so invalid arguments are caught before the upstream sees them;
//! response schemas are *descriptive*: they keep the shape (types, nullability, properties,
//! items) but drop the constraints that real responses often break (`required`, `enum`,
//! `format`, bounds, `additionalProperties: false`, `oneOf` exclusivity).

mod lazy;

use crate::defs;
use crate::diag::{Diagnostic, Diagnostics};
use crate::load::pointer::escape_token;
use crate::load::{DocKey, SpecSet, SpecVersion};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// Which side of the API a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What the client sends: `readOnly` properties are left out.
    Request,
    /// What the server returns: `writeOnly` properties are left out.
    Response,
}

/// Deepest nesting of inline schemas accepted (hostile specs must not overflow the stack).
const MAX_DEPTH: usize = 64;

/// Keywords copied as they are (after their subschemas are normalised).
const ANNOTATION_KEYWORDS: &[&str] = &[
    "title",
    "description",
    "default",
    "deprecated",
    "examples",
    "contentMediaType",
    "contentEncoding",
];

/// An annotation keyword's value as JSON Schema requires it, or `None` when it cannot be one.
/// Specs put OpenAPI's `examples` map (`{"Example 1": {"value": …}}`) or a lone example where
/// JSON Schema wants an array; a published schema that breaks the metaschema is refused by
/// clients, so such values are repaired or left out.
fn annotation(key: &str, value: &Value) -> Option<Value> {
    match key {
        "title" | "description" | "contentMediaType" | "contentEncoding" => {
            value.is_string().then(|| value.clone())
        }
        "deprecated" => value.is_boolean().then(|| value.clone()),
        "examples" => match value {
            Value::Array(_) => Some(value.clone()),
            Value::Object(map) => {
                let values: Vec<Value> = map
                    .values()
                    .filter_map(|e| e.get("value"))
                    .cloned()
                    .collect();
                (!values.is_empty()).then(|| Value::Array(values))
            }
            Value::Null => None,
            other => Some(json!([other])),
        },
        _ => Some(value.clone()),
    }
}

/// Constraint keywords kept only in request schemas.
const CONSTRAINT_KEYWORDS: &[&str] = &[
    "enum",
    "const",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
    "dependentRequired",
];

/// Builds the schemas of one tool side, collecting the `$defs` they share.
pub struct SchemaBuilder<'a> {
    specs: &'a SpecSet,
    direction: Direction,
    dialect: SpecVersion,
    /// Problems found (dangling refs, invalid schemas, nesting too deep).
    pub diagnostics: Diagnostics,
    /// How the references met are named.
    naming: Naming<'a>,
}

/// How a builder names the definitions its schemas refer to.
enum Naming<'a> {
    /// A tool side's builder: named when reached and made when read, from the server's cache
    /// (see [`lazy`]).
    Lazy(Box<lazy::LazyDefs<'a>>),
    /// Normalising a definition for the cache: the references met, in order (their names are
    /// each builder's to give, so placeholders stand in for them).
    Recording(Vec<Target<'a>>),
}

/// A referenced schema met while normalising a definition for the cache.
struct Target<'a> {
    doc: DocKey,
    pointer: String,
    value: &'a Value,
    /// The name it gets where the name is free ([`def_base_name`], computed once per server).
    base: Name,
}

/// A definition's name, shared by the maps of the builder that gives it.
type Name = Arc<str>;

/// What the `$ref` of a cached definition holds until a builder names its target: this prefix
/// and the target's index in [`Normalized::refs`].
const PLACEHOLDER: &str = "\u{1}ref:";

/// Definitions normalised once per server and direction, shared by every tool's builders (a
/// spec whose responses reach hundreds of shared objects would otherwise normalise each of them
/// once per tool). Each builder still names definitions itself, so a tool's schemas do not
/// depend on which other tools are selected.
#[derive(Default)]
pub struct DefCache<'a> {
    entries: std::sync::Mutex<foldhash::HashMap<CacheKey, Slot<'a>>>,
    /// Definitions known to report no problem, nor any definition they reach.
    clean: std::sync::RwLock<foldhash::HashSet<CacheKey>>,
}

/// A cached definition's key: request side or not, and where the schema is, by its address in
/// the loaded specs (which outlive lowering). Document keys alone would not do: they are relative
/// to each spec's root, so two specs may name different files alike.
type CacheKey = (bool, usize);

/// The key of the definition at `address` on the `direction` side.
fn cache_key(direction: Direction, address: usize) -> CacheKey {
    (direction == Direction::Request, address)
}

/// A cached definition, normalised by the first builder that needs it.
type Slot<'a> = Arc<OnceLock<Normalized<'a>>>;

/// One definition normalised, with its references as placeholders.
struct Normalized<'a> {
    value: Value,
    refs: Vec<Target<'a>>,
    diagnostics: Diagnostics,
    /// The value with each reference named by its target's base name: what nearly every
    /// builder names them, so it is written once and shared.
    usual: OnceLock<Arc<Value>>,
}

impl<'a> DefCache<'a> {
    /// An empty cache.
    pub fn new() -> Self {
        DefCache::default()
    }

    /// Whether `target`, and every definition it reaches, is known to report no problem.
    fn is_clean(&self, direction: Direction, target: &Value) -> bool {
        let clean = self.clean.read().unwrap_or_else(|e| e.into_inner());
        clean.contains(&cache_key(direction, std::ptr::from_ref(target) as usize))
    }

    /// Records that the definitions at `targets` (addresses), and every definition they reach,
    /// report no problem.
    fn mark_clean(&self, direction: Direction, targets: &[usize]) {
        let mut clean = self.clean.write().unwrap_or_else(|e| e.into_inner());
        clean.extend(targets.iter().map(|&target| cache_key(direction, target)));
    }

    /// `then` of the definition at `pointer` in `doc` (`target`), normalised by the first
    /// caller.
    fn with<R>(
        &self,
        specs: &'a SpecSet,
        direction: Direction,
        (doc, pointer, target): (&DocKey, &str, &'a Value),
        then: impl FnOnce(&Normalized<'a>) -> R,
    ) -> R {
        let key = cache_key(direction, std::ptr::from_ref(target) as usize);
        let slot = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(entries.entry(key).or_default())
        };
        then(slot.get_or_init(|| {
            let mut builder =
                SchemaBuilder::with_naming(specs, direction, Naming::Recording(Vec::new()));
            let value = builder.normalize(doc, pointer, target, 0);
            let refs = match builder.naming {
                Naming::Recording(refs) => refs,
                Naming::Lazy(_) => Vec::new(),
            };
            Normalized {
                value,
                refs,
                diagnostics: builder.diagnostics,
                usual: OnceLock::new(),
            }
        }))
    }
}

/// `value` with each placeholder `$ref` replaced by the reference to its definition's name.
fn named(value: &Value, names: &[Name]) -> Value {
    match value {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("$ref", Value::String(r)) if r.starts_with(PLACEHOLDER) => r
                            [PLACEHOLDER.len()..]
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| names.get(i))
                            .map_or_else(|| v.clone(), |n| Value::String(defs::reference_to(n))),
                        _ => named(v, names),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| named(v, names)).collect()),
        other => other.clone(),
    }
}

impl<'a> SchemaBuilder<'a> {
    /// A builder for one side of one tool, taking its definitions from `cache` (shared by the
    /// server's tools). Each definition is named when reached and made only when read: most of
    /// what a response reaches is never published, and definitions chained thousands deep are
    /// named without recursing through them.
    pub fn new(specs: &'a SpecSet, direction: Direction, cache: &'a DefCache<'a>) -> Self {
        let naming = Naming::Lazy(Box::new(lazy::LazyDefs::new(specs, direction, cache)));
        SchemaBuilder::with_naming(specs, direction, naming)
    }

    fn with_naming(specs: &'a SpecSet, direction: Direction, naming: Naming<'a>) -> Self {
        SchemaBuilder {
            specs,
            direction,
            dialect: specs.version(),
            diagnostics: Diagnostics::new(),
            naming,
        }
    }

    /// Normalises the schema at `pointer` in `doc`. A root `$ref` is replaced by the schema it
    /// points to, so the result describes the value itself (its `type` is visible at the root).
    pub fn root(&mut self, doc: &DocKey, pointer: &str, schema: &Value) -> Value {
        let root = self.root_value(doc, pointer, schema);
        if let Naming::Lazy(lazy) = &self.naming {
            self.diagnostics.extend(lazy.take_diagnostics());
        }
        root
    }

    /// [`Self::root`], the problems of lazily made definitions left where they were collected.
    fn root_value(&mut self, doc: &DocKey, pointer: &str, schema: &Value) -> Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) if schema.as_object().is_some_and(|o| o.len() == 1) => {
                match self.specs.resolve_deep(doc, reference) {
                    Ok(target) => {
                        let (doc, pointer, value) =
                            (target.doc.clone(), target.pointer.clone(), target.value);
                        self.reference_name(&doc, &pointer, value);
                        self.normalize(&doc, &pointer, value, 0)
                    }
                    Err(err) => {
                        self.diagnostics
                            .push(err.to_diagnostic(self.specs.locate(doc, pointer)));
                        json!({})
                    }
                }
            }
            _ => self.normalize(doc, pointer, schema, 0),
        }
    }

    /// Wraps a root schema with the `$defs` it (transitively) uses.
    pub fn finish(&self, mut root: Value) -> Value {
        let used = self.used_defs(&root);
        if !used.is_empty()
            && let Value::Object(obj) = &mut root
        {
            let defs: Map<String, Value> = used
                .into_iter()
                .filter_map(|name| {
                    self.defs()
                        .def(name.as_str())
                        .map(|d| (name, Value::clone(d)))
                })
                .collect();
            obj.insert("$defs".to_owned(), Value::Object(defs));
        }
        root
    }

    /// The definitions normalised so far, by name (what this builder's `$ref`s point to).
    pub fn defs(&self) -> &dyn defs::Defs {
        /// What a builder recording for the cache has named: nothing.
        static NONE: BTreeMap<String, Value> = BTreeMap::new();
        match &self.naming {
            Naming::Lazy(lazy) => &**lazy,
            Naming::Recording(_) => &NONE,
        }
    }

    /// The definition a local `#/$defs/<name>` reference points to.
    pub fn definition(&self, reference: &str) -> Option<&Value> {
        defs::name_of(reference).and_then(|name| self.defs().def(name))
    }

    /// Names of definitions reachable from `root`, sorted.
    fn used_defs(&self, root: &Value) -> BTreeSet<String> {
        defs::reachable(root, |name| self.defs().def(name))
    }

    /// The definition name for a referenced schema: the builder's name for it, or, while
    /// recording for the cache, a placeholder.
    fn reference_name(&mut self, doc: &DocKey, pointer: &str, target: &'a Value) -> Name {
        match &mut self.naming {
            Naming::Lazy(lazy) => lazy.name(doc, pointer, target, None),
            Naming::Recording(refs) => {
                refs.push(Target {
                    doc: doc.clone(),
                    pointer: pointer.to_owned(),
                    value: target,
                    base: def_base_name(doc, pointer).into(),
                });
                format!("{PLACEHOLDER}{}", refs.len() - 1).into()
            }
        }
    }

    /// Normalises one schema value found at `pointer` in `doc`.
    fn normalize(&mut self, doc: &DocKey, pointer: &str, schema: &Value, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            self.diagnostics.push(
                Diagnostic::error(
                    "schema-too-deep",
                    self.specs.locate(doc, pointer),
                    format!("schema nesting is deeper than {MAX_DEPTH} levels"),
                )
                .with_help("use $ref to named schemas instead of deeply nested inline schemas"),
            );
            return json!({});
        }
        let obj = match schema {
            Value::Bool(b) => return Value::Bool(*b),
            Value::Object(obj) => obj,
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-schema",
                        self.specs.locate(doc, pointer),
                        "a schema must be an object or a boolean",
                    )
                    .with_help("fix the schema in the spec"),
                );
                return json!({});
            }
        };
        let mut out = Map::new();
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            match self.specs.resolve_deep(doc, reference) {
                Ok(target) => {
                    let (tdoc, tpointer, tvalue) =
                        (target.doc.clone(), target.pointer.clone(), target.value);
                    let name = self.reference_name(&tdoc, &tpointer, tvalue);
                    let reference = if name.starts_with(PLACEHOLDER) {
                        name.to_string()
                    } else {
                        defs::reference_to(&name)
                    };
                    out.insert("$ref".to_owned(), Value::String(reference));
                }
                Err(err) => {
                    self.diagnostics.push(
                        err.to_diagnostic(self.specs.locate(doc, &format!("{pointer}/$ref"))),
                    );
                }
            }
        }
        let strict = self.direction == Direction::Request;
        for (key, value) in obj {
            let here = format!("{pointer}/{}", escape_token(key));
            match key.as_str() {
                "type" => {
                    if let Some(t) = self.normalize_type(value) {
                        out.insert("type".to_owned(), t);
                    }
                }
                "properties" => {
                    if let Value::Object(props) = value {
                        let mut normalized = Map::new();
                        for (name, prop) in props {
                            // writeOnly members are never returned. readOnly members stay in
                            // nested request objects, as the spec requires them (nested objects
                            // are often references to existing resources, which carry their
                            // id); a request body's own readOnly members are dropped by
                            // `drop_read_only`.
                            if !strict && self.is_hidden_property(doc, prop) {
                                continue;
                            }
                            let at = format!("{here}/{}", escape_token(name));
                            normalized
                                .insert(name.clone(), self.normalize(doc, &at, prop, depth + 1));
                        }
                        out.insert("properties".to_owned(), Value::Object(normalized));
                    }
                }
                "patternProperties" => {
                    if let Value::Object(props) = value {
                        let mut normalized = Map::new();
                        for (pattern, prop) in props {
                            if self.pattern_is_valid(pattern) {
                                let at = format!("{here}/{}", escape_token(pattern));
                                normalized.insert(
                                    pattern.clone(),
                                    self.normalize(doc, &at, prop, depth + 1),
                                );
                            }
                        }
                        out.insert("patternProperties".to_owned(), Value::Object(normalized));
                    }
                }
                "additionalProperties" => match value {
                    Value::Bool(false) if !strict => {}
                    Value::Bool(b) => {
                        out.insert(key.clone(), Value::Bool(*b));
                    }
                    other => {
                        out.insert(key.clone(), self.normalize(doc, &here, other, depth + 1));
                    }
                },
                "items" => match value {
                    Value::Array(tuple) => {
                        // Draft-4 style tuples become 2020-12 prefixItems.
                        let items: Vec<Value> = tuple
                            .iter()
                            .enumerate()
                            .map(|(i, item)| {
                                self.normalize(doc, &format!("{here}/{i}"), item, depth + 1)
                            })
                            .collect();
                        out.insert("prefixItems".to_owned(), Value::Array(items));
                    }
                    other => {
                        out.insert(
                            "items".to_owned(),
                            self.normalize(doc, &here, other, depth + 1),
                        );
                    }
                },
                "prefixItems" | "allOf" | "anyOf" | "oneOf" => {
                    if let Value::Array(list) = value {
                        let mut items: Vec<Value> = list
                            .iter()
                            .enumerate()
                            .map(|(i, item)| {
                                self.normalize(doc, &format!("{here}/{i}"), item, depth + 1)
                            })
                            .collect();
                        if strict && (key == "oneOf" || key == "anyOf") {
                            discriminate(obj.get("discriminator"), list, &mut items);
                        }
                        let name = if key == "oneOf" && !strict {
                            "anyOf"
                        } else {
                            key.as_str()
                        };
                        out.insert(name.to_owned(), Value::Array(items));
                    }
                }
                "not" | "if" | "then" | "else" | "contains" | "propertyNames" if strict => {
                    out.insert(key.clone(), self.normalize(doc, &here, value, depth + 1));
                }
                "dependentSchemas" if strict => {
                    if let Value::Object(map) = value {
                        let normalized: Map<String, Value> = map
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    self.normalize(
                                        doc,
                                        &format!("{here}/{}", escape_token(k)),
                                        v,
                                        depth + 1,
                                    ),
                                )
                            })
                            .collect();
                        out.insert(key.clone(), Value::Object(normalized));
                    }
                }
                "pattern" if strict => {
                    if let Some(p) = value.as_str()
                        && self.pattern_is_valid(p)
                    {
                        out.insert(key.clone(), value.clone());
                    } else {
                        self.diagnostics.push(
                            Diagnostic::warning("invalid-pattern", self.specs.locate(doc, &here), "the pattern is not a regular expression the server can check; it is left out")
                                .with_help("fix the pattern in the spec, or ignore this if the upstream checks it"),
                        );
                    }
                }
                "exclusiveMinimum" | "exclusiveMaximum" if strict && value.is_number() => {
                    out.insert(key.clone(), value.clone());
                }
                // OpenAPI 3.0 and Swagger 2.0 use booleans that modify minimum/maximum (see
                // `fix_exclusive_bounds`).
                "exclusiveMinimum" | "exclusiveMaximum" => {}
                "example" => {
                    out.insert("examples".to_owned(), json!([value]));
                }
                "readOnly" if strict && value == &Value::Bool(true) => {
                    out.insert(key.clone(), value.clone());
                }
                "discriminator" | "nullable" | "x-nullable" | "readOnly" | "writeOnly" | "$ref"
                | "xml" | "externalDocs" => {}
                k if ANNOTATION_KEYWORDS.contains(&k) => {
                    if let Some(value) = annotation(k, value) {
                        out.insert(key.clone(), value);
                    }
                }
                k if strict && CONSTRAINT_KEYWORDS.contains(&k) => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        if strict {
            fix_exclusive_bounds(obj, &mut out);
        }
        if obj.get("type").and_then(Value::as_str) == Some("file") {
            out.insert("type".to_owned(), json!("string"));
            out.insert("contentEncoding".to_owned(), json!("base64"));
        }
        let nullable = obj.get("nullable") == Some(&Value::Bool(true))
            || obj.get("x-nullable") == Some(&Value::Bool(true));
        if nullable {
            make_nullable(&mut out);
        }
        Value::Object(out)
    }

    /// Normalises a `type` value; `file` and unknown type names are dropped here.
    fn normalize_type(&self, value: &Value) -> Option<Value> {
        const TYPES: &[&str] = &[
            "string", "number", "integer", "boolean", "array", "object", "null",
        ];
        match value {
            Value::String(t) if TYPES.contains(&t.as_str()) => Some(value.clone()),
            Value::Array(list) => {
                let kept: Vec<Value> = list
                    .iter()
                    .filter(|t| t.as_str().is_some_and(|t| TYPES.contains(&t)))
                    .cloned()
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            _ => None,
        }
    }

    /// Whether a property is left out in this direction (`readOnly` in requests, `writeOnly`
    /// in responses), looking through one `$ref`.
    pub fn is_hidden_property(&self, doc: &DocKey, prop: &Value) -> bool {
        let flag = match self.direction {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
        };
        if prop.get(flag) == Some(&Value::Bool(true)) {
            return true;
        }
        // Swagger 2.0 has no writeOnly; its readOnly is the same as 3.x.
        if self.dialect == SpecVersion::Swagger2 && flag == "writeOnly" {
            return false;
        }
        match prop.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .specs
                .resolve_deep(doc, r)
                .is_ok_and(|t| t.value.get(flag) == Some(&Value::Bool(true))),
            None => false,
        }
    }

    /// Whether the server's validator accepts a pattern (checked once per text and thread).
    fn pattern_is_valid(&mut self, pattern: &str) -> bool {
        thread_local! {
            static CHECKED: std::cell::RefCell<BTreeMap<String, bool>> = const { std::cell::RefCell::new(BTreeMap::new()) };
        }
        CHECKED.with(|checked| {
            if let Some(ok) = checked.borrow().get(pattern) {
                return *ok;
            }
            let ok = crate::validator::pattern_compiles(pattern);
            checked.borrow_mut().insert(pattern.to_owned(), ok);
            ok
        })
    }
}

/// Drops the `readOnly` members at the top of a request body (directly or in its `allOf`
/// branches): the server sets them, so the client must not send them.
pub fn drop_read_only(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    let mut dropped = Vec::new();
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.retain(|name, prop| {
            let read_only = prop.get("readOnly") == Some(&Value::Bool(true));
            if read_only {
                dropped.push(name.clone());
            }
            !read_only
        });
    }
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|r| r.as_str().is_none_or(|r| !dropped.iter().any(|d| d == r)));
    }
    if let Some(Value::Array(branches)) = obj.get_mut("allOf") {
        branches.iter_mut().for_each(drop_read_only);
    }
}

/// Makes an OpenAPI `discriminator` explicit in JSON Schema: each `$ref` branch of a `oneOf` or
/// `anyOf` requires the discriminating property to hold its mapping value (from `mapping`, or
/// the schema's name). Without this, branches that differ only by the discriminator (common in
/// vendor specs) would make a `oneOf` impossible to satisfy.
fn discriminate(discriminator: Option<&Value>, raw: &[Value], branches: &mut [Value]) {
    let Some(property) = discriminator
        .and_then(|d| d.get("propertyName"))
        .and_then(Value::as_str)
    else {
        return;
    };
    let mapping = discriminator
        .and_then(|d| d.get("mapping"))
        .and_then(Value::as_object);
    for (raw_branch, branch) in raw.iter().zip(branches.iter_mut()) {
        let Some(reference) = raw_branch.get("$ref").and_then(Value::as_str) else {
            continue;
        };
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let value = mapping
            .and_then(|m| {
                m.iter()
                    .find(|(_, target)| {
                        target.as_str().is_some_and(|t| t == reference || t == name)
                    })
                    .map(|(k, _)| k.clone())
            })
            .unwrap_or_else(|| name.to_owned());
        if let Value::Object(obj) = branch {
            let mut properties = Map::new();
            properties.insert(property.to_owned(), json!({"const": value}));
            obj.insert("properties".to_owned(), Value::Object(properties));
            obj.insert("required".to_owned(), json!([property]));
        }
    }
}

/// OpenAPI 3.0 `exclusiveMinimum: true` + `minimum: n` becomes 2020-12 `exclusiveMinimum: n`.
fn fix_exclusive_bounds(source: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if source.get(flag) == Some(&Value::Bool(true))
            && let Some(n) = source.get(bound).filter(|n| n.is_number())
        {
            out.remove(bound);
            out.insert(flag.to_owned(), n.clone());
        }
    }
}

/// Lets a normalised schema also accept `null`.
pub fn make_nullable(out: &mut Map<String, Value>) {
    match out.get_mut("type") {
        Some(Value::String(t)) => {
            if t != "null" {
                let t = t.clone();
                out.insert("type".to_owned(), json!([t, "null"]));
            }
        }
        Some(Value::Array(list)) => {
            if !list.iter().any(|t| t == "null") {
                list.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(out);
            if inner.is_empty() {
                return;
            }
            out.insert(
                "anyOf".to_owned(),
                json!([Value::Object(inner), {"type": "null"}]),
            );
            return;
        }
    }
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// A `$defs` name for the schema at a pointer: its last segment (or its file's name for a
/// whole-file schema), restricted to
/// `[A-Za-z0-9_.-]` so it needs no escaping in a reference.
fn def_base_name(doc: &DocKey, pointer: &str) -> String {
    let last = if pointer.is_empty() {
        // A whole file is the schema: name it after the file.
        let file = doc.as_str().rsplit('/').next().unwrap_or_default();
        file.split('.').next().unwrap_or_default().to_owned()
    } else {
        pointer
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace("~1", "/")
            .replace("~0", "~")
    };
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "Schema".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests;
