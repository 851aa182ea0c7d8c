//! Sample values for a JSON Schema: the arguments and upstream responses of generated tests.
//!
//! Samples are deterministic (same schema, same value) and checked against the schema they
//! came from; a sample that does not validate is retried with optional members left out, and
//! given up on otherwise. Every string a [`Sampler`] invents is distinct, so a test can tell
//! which upstream fields reached a result.

mod scalar;

use crate::defs;
use jsonschema::Validator;
use scalar::{integer, number, regex_sample};
use serde_json::{Map, Number, Value, json};
use std::borrow::Cow;

/// Deepest nesting sampled; deeper optional members are left out.
const MAX_DEPTH: usize = 6;

/// Most nested calls of [`Sampler::sample`]: references and composites add calls but no
/// nesting, so a loop of them stops here.
const MAX_FRAMES: usize = 128;

/// Whether a scalar has a type `schema` names (any, when it names none).
fn has_type(schema: &Value, value: &Value) -> bool {
    let matches = |t: &str| match (t, value) {
        ("null", Value::Null) | ("boolean", Value::Bool(_)) | ("string", Value::String(_)) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => matches(t),
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str().is_some_and(matches)),
        Some(_) => false,
    }
}

/// Arguments for the tool's test call. The spec's schema, which the server enforces, is the
/// richer one to sample (its examples and encodings survive), except where `null` means absent
/// (OpenAI strict mode): a client then sends every property, so the published schema is
/// sampled, and its sample used only when the server accepts it once the nulls are removed. A
/// profile's rewrite may loosen what it publishes, so this is checked, never assumed.
/// `enforced` is the enforced schema (the spec's, else the published one) compiled, when it
/// compiles.
pub fn arguments(
    published: &Value,
    spec: Option<&Value>,
    nulls_absent: bool,
    enforced: Option<&Validator>,
) -> Value {
    let Some(spec) = spec else {
        return Sampler::new(published, "sample")
            .checked_by(enforced)
            .sample_best();
    };
    if nulls_absent {
        let sample = Sampler::new(published, "sample").sample_best();
        if enforced.is_some_and(|v| v.is_valid(&without_nulls(&sample))) {
            return sample;
        }
    }
    Sampler::new(spec, "sample")
        .checked_by(enforced)
        .sample_best()
}

/// `value` without `null` object members at any depth (array items stay): what the server
/// validates when `null` means absent (the runtime's `call::pipeline::remove_nulls`; keep the two alike).
pub fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}
/// The keywords [`Sampler::sample`] acts on, found in one pass over a schema's members (a lookup
/// by name hashes the name, for each of them, at every node sampled).
#[derive(Default)]
struct Keywords<'v> {
    reference: Option<&'v Value>,
    constant: Option<&'v Value>,
    enumeration: Option<&'v Value>,
    default: Option<&'v Value>,
    all_of: Option<&'v Value>,
    any_of: Option<&'v Value>,
    one_of: Option<&'v Value>,
    examples: Option<&'v Value>,
    properties: bool,
}

impl<'v> Keywords<'v> {
    fn of(schema: &'v Map<String, Value>) -> Self {
        let mut found = Keywords::default();
        for (key, value) in schema {
            match key.as_str() {
                "$ref" => found.reference = Some(value),
                "const" => found.constant = Some(value),
                "enum" => found.enumeration = Some(value),
                "default" => found.default = Some(value),
                "allOf" => found.all_of = Some(value),
                "anyOf" => found.any_of = Some(value),
                "oneOf" => found.one_of = Some(value),
                "examples" => found.examples = Some(value),
                "properties" => found.properties = true,
                _ => {}
            }
        }
        found
    }
}

/// Invents values for schemas that may reference a root's `$defs` (or a table of definitions).
pub struct Sampler<'a> {
    root: &'a Value,
    /// Where `$ref`s are looked up: the root's `$defs`, or a table beside it.
    defs: &'a dyn defs::Defs,
    /// Values sampled so far, and how many a sample may hold before optional members are left
    /// out (a response reaching hundreds of shared objects would otherwise sample megabytes).
    spent: usize,
    budget: usize,
    /// Calls of [`Sampler::sample`] under way (nested).
    frames: usize,
    counter: usize,
    prefix: &'a str,
    /// Include optional object members too.
    optional: bool,
    /// Validators of composite subschemas, by their JSON text.
    validators: std::collections::BTreeMap<String, Option<jsonschema::Validator>>,
    /// The root compiled already, if it was.
    root_validator: Option<&'a Validator>,
    /// The schemas are descriptive (response schemas: types and shapes, no constraint on
    /// values): samples of the right types fit by construction, and only a scalar default or
    /// example's type is checked, without compiling a validator.
    descriptive: bool,
}

impl<'a> Sampler<'a> {
    /// A sampler for schemas under `root`; invented strings start with `prefix`.
    pub fn new(root: &'a Value, prefix: &'a str) -> Self {
        Sampler {
            root,
            defs: root,
            spent: 0,
            budget: usize::MAX,
            frames: 0,
            counter: 0,
            prefix,
            optional: true,
            validators: std::collections::BTreeMap::new(),
            root_validator: None,
            descriptive: false,
        }
    }

    /// The same sampler, checking its samples with `root` compiled already (when given).
    pub fn checked_by(self, root: Option<&'a Validator>) -> Self {
        Sampler {
            root_validator: root,
            ..self
        }
    }

    /// A sampler for a descriptive (response) schema under `root`: values are of the schema's
    /// types and shapes by construction, so no validator is compiled (a response schema that
    /// reaches hundreds of shared objects would cost a compile per part and per tool).
    pub fn descriptive(root: &'a Value, prefix: &'a str) -> Self {
        Sampler {
            descriptive: true,
            ..Sampler::new(root, prefix)
        }
    }

    /// A descriptive sampler for `schema`, whose references are to `defs` (a table beside it,
    /// as a schema builder keeps them), holding at most `budget` values: past it, only required
    /// members are sampled. Nothing is written out or copied to be sampled.
    pub fn descriptive_in(
        schema: &'a Value,
        defs: &'a dyn defs::Defs,
        budget: usize,
        prefix: &'a str,
    ) -> Self {
        Sampler {
            defs,
            budget,
            ..Sampler::descriptive(schema, prefix)
        }
    }

    /// Whether `value` is valid against a subschema (with the root's definitions it reaches).
    fn fits(&mut self, schema: &Value, value: &Value) -> bool {
        if self.descriptive {
            return !value.is_object() && !value.is_array() && has_type(schema, value);
        }
        let key = schema.to_string();
        let root = self.root;
        let validator = self
            .validators
            .entry(key)
            .or_insert_with(|| crate::validator::compile(&defs::standalone(root, schema)).ok());
        validator.as_ref().is_some_and(|v| v.is_valid(value))
    }

    /// A valid sample of the root schema, trying with all members first, then required only.
    pub fn sample_root(&mut self) -> Option<Value> {
        if self.descriptive {
            self.counter = 0;
            self.spent = 0;
            return self.sample(self.root, 0);
        }
        let compiled;
        let validator = match self.root_validator {
            Some(validator) => validator,
            None => {
                compiled = crate::validator::compile(self.root).ok()?;
                &compiled
            }
        };
        for optional in [true, false] {
            self.optional = optional;
            self.counter = 0;
            if let Some(value) = self.sample(self.root, 0)
                && validator.is_valid(&value)
            {
                return Some(value);
            }
        }
        None
    }

    /// A valid sample of the root schema if there is one, else the best unchecked attempt (a
    /// generated test then fails loudly instead of silently testing less).
    pub fn sample_best(&mut self) -> Value {
        if let Some(value) = self.sample_root() {
            return value;
        }
        self.optional = false;
        self.counter = 0;
        self.spent = 0;
        self.sample(self.root, 0).unwrap_or_else(|| json!({}))
    }

    /// A sample of one schema (not checked). `depth` is the nesting of values (object members
    /// and array items) above it; references and composites add none, and a chain of them that
    /// goes on without nesting gives up.
    pub fn sample(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH + 4 || self.frames >= MAX_FRAMES {
            // A response schema is descriptive: below the depth sampled, a value is open, as a
            // bounded schema describes it (its type kept, its members not).
            return self.descriptive.then(|| self.open(schema)).flatten();
        }
        self.frames += 1;
        let value = self.sample_here(schema, depth);
        self.frames -= 1;
        value
    }

    /// [`Sampler::sample`] below the guards.
    fn sample_here(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        let Value::Object(obj) = schema else {
            return (schema != &Value::Bool(false)).then(|| self.string(None));
        };
        let keywords = Keywords::of(obj);
        if let Some(reference) = keywords.reference.and_then(Value::as_str) {
            let target = defs::definition(self.defs, reference)?;
            let mut base = self.sample(target, depth)?;
            // Constraints beside the reference (e.g. a discriminator's `const`) apply too.
            if let (Value::Object(merged), true) = (&mut base, keywords.properties) {
                let mut siblings = obj.clone();
                siblings.remove("$ref");
                if let Some(Value::Object(extra)) = self.sample_typed(&siblings, depth) {
                    merged.extend(extra);
                }
            }
            return Some(base);
        }
        if let Some(value) = keywords.constant {
            return Some(value.clone());
        }
        if let Some(values) = keywords.enumeration.and_then(Value::as_array) {
            return values
                .iter()
                .find(|v| !v.is_null())
                .or(values.first())
                .cloned();
        }
        // Defaults and examples are taken only when they satisfy the schema: specs ship
        // truncated or stale ones (`"sha256:0ecb..."` for a 71-character digest). Published
        // schemas carry only fitting ones already (`lower::examples`); the upstream's response
        // schema, sampled for canned responses but never published, is not pruned.
        if let Some(value) = keywords.default
            && self.fits(schema, value)
        {
            return Some(value.clone());
        }
        if let Some(branches) = keywords.all_of.and_then(Value::as_array) {
            let mut merged = Map::new();
            let mut other = None;
            for branch in branches {
                match self.sample(branch, depth)? {
                    Value::Object(part) => merged.extend(part),
                    value => other = Some(value),
                }
            }
            if let Some(own) = self.sample_typed(obj, depth) {
                match own {
                    Value::Object(part) => merged.extend(part),
                    value => other = other.or(Some(value)),
                }
            }
            return Some(if merged.is_empty() {
                other.unwrap_or(Value::Object(merged))
            } else {
                Value::Object(merged)
            });
        }
        for (key, found) in [("anyOf", keywords.any_of), ("oneOf", keywords.one_of)] {
            if let Some(branches) = found.and_then(Value::as_array) {
                // The first branch whose sample satisfies the whole composite (for oneOf: exactly
                // one branch), trying with and without optional members.
                let non_null: Vec<&Value> = branches
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                    .collect();
                // Keywords beside the composite (`type`, `properties`, `required`) apply to every
                // branch: sample each branch merged with them (a branch that only adds
                // `required` then selects which members are sent), then each branch alone.
                let merge = obj
                    .keys()
                    .any(|k| matches!(k.as_str(), "type" | "properties" | "required"));
                let any_of = key == "anyOf";
                // Copied only where used: to merge, and to compile what is checked beside an
                // `anyOf` (described schemas check a scalar's `type` alone, the same on `schema`).
                let beside: Map<String, Value> = if merge || (any_of && !self.descriptive) {
                    obj.iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "anyOf" | "oneOf"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                } else {
                    Map::new()
                };
                // A value fits `anyOf` when it fits the branch it came from and the keywords
                // beside the union, so a string sampled for "an id or the expanded object" never
                // compiles the object's schema. (Not the merged candidate: where both define a
                // property, it keeps the outer, looser one.) `oneOf` is checked whole: exactly
                // one branch must fit.
                let rest = if any_of && !self.descriptive {
                    Cow::Owned(Value::Object(beside.clone()))
                } else {
                    Cow::Borrowed(schema)
                };
                let optional = self.optional;
                // Descriptively, only a scalar is checked (objects and arrays fit by
                // construction, so no branch of them is ever taken over the first), and a
                // scalar does not depend on optional members: one pass, scalars only.
                let passes = if self.descriptive { 1 } else { 2 };
                for with_optional in [optional, !optional].into_iter().take(passes) {
                    self.optional = with_optional;
                    // Merged candidates first (made only when tried), then each branch alone.
                    let tries = non_null
                        .iter()
                        .filter(|_| merge)
                        .map(|b| (true, *b))
                        .chain(non_null.iter().map(|b| (false, *b)));
                    for (merged, branch) in tries {
                        if self.descriptive && self.is_container(merged.then_some(schema), branch) {
                            continue;
                        }
                        let candidate = if merged {
                            Cow::Owned(Value::Object(self.merged(&beside, branch)))
                        } else {
                            Cow::Borrowed(branch)
                        };
                        if let Some(value) = self.sample(&candidate, depth)
                            && (!any_of || self.fits(branch, &value))
                            && self.fits(&rest, &value)
                        {
                            self.optional = optional;
                            return Some(value);
                        }
                    }
                }
                self.optional = optional;
                let fallback = non_null.first().and_then(|b| self.sample(b, depth));
                return Some(fallback.unwrap_or(Value::Null));
            }
        }
        if let Some(examples) = keywords.examples.and_then(Value::as_array)
            && let Some(example) = examples.first()
            && !example.is_object()
            && !example.is_array()
            && self.fits(schema, example)
        {
            return Some(example.clone());
        }
        self.sample_typed(obj, depth)
    }

    /// Whether `branch` (its references followed), merged with the keywords of `outer` when
    /// given (whose `type` wins), describes an object or an array: by its first type that is
    /// not `null`, else by the keywords that shape one.
    fn is_container(&self, outer: Option<&Value>, branch: &Value) -> bool {
        let branch = defs::resolve(self.defs, branch);
        let parts = [outer, Some(branch)];
        let typed = parts.iter().flatten().find_map(|p| p.get("type"));
        let primary = match typed {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .or_else(|| ts.first().and_then(Value::as_str)),
            _ => None,
        };
        match primary {
            Some(t) => t == "object" || t == "array",
            None => parts.iter().flatten().any(|p| {
                ["properties", "additionalProperties", "items"]
                    .iter()
                    .any(|k| p.get(k).is_some())
            }),
        }
    }

    /// An open value of `schema`'s type (its references followed): `{}` or `[]` for a
    /// container, a sample for a scalar; `None` for a schema that accepts nothing.
    fn open(&mut self, schema: &Value) -> Option<Value> {
        let schema = defs::resolve(self.defs, schema);
        let Value::Object(obj) = schema else {
            return (schema != &Value::Bool(false)).then(|| self.string(None));
        };
        let types: Vec<&str> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        match types.iter().find(|t| **t != "null").or(types.first()) {
            Some(&"array") => Some(Value::Array(Vec::new())),
            // Scalars are sampled as usual (nothing nests in them).
            Some(&("null" | "boolean" | "integer" | "number" | "string")) => {
                self.sample_typed(obj, usize::MAX)
            }
            _ => Some(Value::Object(Map::new())),
        }
    }

    /// `own` (a composite's keywords besides `anyOf`/`oneOf`) merged with one branch (its
    /// `$ref` followed): `required` and `properties` united, other keywords of the branch added
    /// where `own` has none.
    fn merged(&self, own: &Map<String, Value>, branch: &Value) -> Map<String, Value> {
        let branch = branch
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| defs::definition(self.defs, r))
            .unwrap_or(branch);
        let mut out = own.clone();
        let Some(branch) = branch.as_object() else {
            return out;
        };
        for (key, value) in branch {
            match (key.as_str(), out.get_mut(key), value) {
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for name in theirs {
                        if !mine.contains(name) {
                            mine.push(name.clone());
                        }
                    }
                }
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    for (name, schema) in theirs {
                        mine.entry(name.clone()).or_insert_with(|| schema.clone());
                    }
                }
                (_, None, _) => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        out
    }

    /// A sample by `type` (or by the keywords present when there is none).
    fn sample_typed(&mut self, obj: &Map<String, Value>, depth: usize) -> Option<Value> {
        self.spent += 1;
        let types: Vec<&str> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let primary = types
            .iter()
            .copied()
            .find(|t| *t != "null")
            .or(types.first().copied());
        let primary = primary.or_else(|| {
            if obj.contains_key("properties") || obj.contains_key("additionalProperties") {
                Some("object")
            } else if obj.contains_key("items") {
                Some("array")
            } else {
                None
            }
        });
        match primary {
            Some("null") => Some(Value::Null),
            Some("boolean") => Some(Value::Bool(true)),
            Some("integer") => Some(Value::Number(integer(obj).into())),
            Some("number") => Number::from_f64(number(obj)).map(Value::Number),
            Some("array") => {
                let min = obj
                    .get("minItems")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .max(1) as usize;
                let any = Value::Object(Map::new());
                let items = obj.get("items").unwrap_or(&any);
                let mut out = Vec::new();
                for _ in 0..min.min(3) {
                    out.push(self.sample(items, depth + 1)?);
                }
                Some(Value::Array(out))
            }
            Some("object") => {
                let required = defs::required(obj);
                let mut out = Map::new();
                for (name, prop) in obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let needed = required.contains(&name.as_str());
                    if !needed
                        && (!self.optional || depth >= MAX_DEPTH || self.spent >= self.budget)
                    {
                        continue;
                    }
                    match self.sample(prop, depth + 1) {
                        Some(value) => {
                            out.insert(name.clone(), value);
                        }
                        None if needed => return None,
                        None => {}
                    }
                }
                Some(Value::Object(out))
            }
            Some("string") => Some(self.string(Some(obj))),
            _ => Some(self.string(None)),
        }
    }

    /// A string for a string schema: by format, then length and pattern limits.
    fn string(&mut self, obj: Option<&Map<String, Value>>) -> Value {
        let format = obj.and_then(|o| o.get("format")).and_then(Value::as_str);
        let fixed = match format {
            Some("date-time") => Some("2024-01-02T03:04:05Z"),
            Some("date") => Some("2024-01-02"),
            Some("time") => Some("03:04:05Z"),
            Some("email") => Some("user@example.com"),
            Some("uuid") => Some("00000000-0000-4000-8000-000000000001"),
            Some("uri" | "url" | "uri-reference" | "iri") => Some("https://example.com/sample"),
            Some("hostname") => Some("example.com"),
            Some("ipv4") => Some("192.0.2.1"),
            Some("ipv6") => Some("2001:db8::1"),
            Some("phone-number" | "phone") => Some("+14155550100"),
            Some("byte") => Some("c2FtcGxl"),
            _ => None,
        };
        if obj
            .and_then(|o| o.get("contentEncoding"))
            .and_then(Value::as_str)
            == Some("base64")
        {
            return json!("c2FtcGxl");
        }
        if let Some(text) = fixed {
            return json!(text);
        }
        self.counter += 1;
        let mut text = format!("{}{}", self.prefix, self.counter);
        if let Some(pattern) = obj.and_then(|o| o.get("pattern")).and_then(Value::as_str) {
            let check = crate::validator::compile(&json!({"pattern": pattern})).ok();
            let fits = |c: &str| check.as_ref().is_some_and(|v| v.is_valid(&json!(c)));
            if !fits(&text) {
                let min = obj
                    .and_then(|o| o.get("minLength"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
                if let Some(found) = (0..4)
                    .filter_map(|extra| regex_sample(pattern, extra))
                    .find(|c| fits(c) && c.chars().count() >= min)
                {
                    text = found;
                }
            }
        }
        let min = obj
            .and_then(|o| o.get("minLength"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let max = obj
            .and_then(|o| o.get("maxLength"))
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        while text.chars().count() < min {
            text.push('x');
        }
        if let Some(max) = max {
            text = text.chars().take(max).collect();
        }
        json!(text)
    }
}

#[cfg(test)]
mod tests;
