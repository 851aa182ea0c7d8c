//! Making a shaped result conform to the tool's published output schema.
//!
//! Output schemas are *descriptive*: types (every member also accepts `null`), `properties`,
//! `patternProperties`, `additionalProperties`, `items`, `prefixItems`, `allOf`, `anyOf` and
//! `$ref`s into `$defs`, with no keyword that asks for a member or an item to exist (`required`,
//! `minItems`, `minProperties`) and none that constrains a scalar's value (`enum`, bounds,
//! `format`). For such a schema validity is *downward closed*: removing a member of an object,
//! removing an item of an array checked by `items`, or cutting short an array checked by
//! `prefixItems` keeps a valid value valid, since no keyword counts members or items. So a value
//! that breaks the schema can be *pruned* into one that conforms:
//!
//! - a value whose JSON type some applicable schema does not accept cannot be kept; its member or
//!   item is removed and its path reported as drift;
//! - an object keeps each member that can be kept, pruned against every schema that applies to
//!   it (the `properties` entry, each matching `patternProperties` entry, else
//!   `additionalProperties`, of every schema that applies to the object);
//! - an array keeps each item that can be kept; under `prefixItems` the array is cut before the
//!   first item that cannot be kept, so no item moves into another position's schema;
//! - `allOf` and a `$ref` beside other keywords form a conjunction: each member is pruned against
//!   all of its schemas at once, so it satisfies every one of them;
//! - `anyOf` takes the branch under which pruning loses least (the first branch the value
//!   already satisfies, when one does).
//!
//! By induction on the value, what [`conform`] returns satisfies every schema it was pruned
//! against; a root that cannot be kept becomes `{}`, which every descriptive object schema
//! accepts. A value that already conforms comes back unchanged, with no drift. Keywords outside
//! the descriptive subset that constrain a value (`required`, `enum`, `const`) are honoured by
//! pruning what breaks them; callers still check the result with the compiled validator as a
//! last line of defence (`runtime/tests/conform.rs` checks the rule on random schemas and values).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

/// Steps after which `anyOf` stops comparing branches and keeps the best one found.
const WORK_LIMIT: usize = 200_000;

/// Steps after which the rest of a value is left out (each step is one value under one
/// conjunction of schemas; a drifted 10 MiB answer takes a few million).
const HARD_LIMIT: usize = 20_000_000;

/// Deepest chain of `$ref`s followed without reaching a schema with keywords of its own.
const MAX_REF_CHAIN: usize = 32;

/// A value made to conform, and where it did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Conformed {
    /// The conforming value (a pruned copy of the input).
    pub value: Value,
    /// Where members or items were left out, as generalised paths (`/items/*/owner`: `*` stands
    /// for any array index or any member not named by the schema), sorted.
    pub drift: Vec<String>,
}

/// Prunes `value` until it conforms to `schema` (a root object schema with its `$defs`).
///
/// `None` only when not even `{}` conforms, which no descriptive schema allows.
pub fn conform(schema: &Map<String, Value>, value: &Value) -> Option<Conformed> {
    let mut pruner = Pruner::new(schema);
    let mut drift = Drift::new();
    let mut path = Vec::new();
    let mut root = Conjunction::default();
    if !pruner.expand_object(schema, &mut root, 0) {
        return None;
    }
    match pruner.prune(value, root.clone(), &mut path, &mut drift) {
        Some(value) => Some(Conformed {
            value,
            drift: drift.into_iter().collect(),
        }),
        None => {
            drift.insert(String::new());
            let empty = Value::Object(Map::new());
            let mut unused = Drift::new();
            let value = pruner.prune(&empty, root, &mut path, &mut unused)?;
            Some(Conformed {
                value,
                drift: drift.into_iter().collect(),
            })
        }
    }
}

/// Generalised paths where something was left out.
type Drift = BTreeSet<String>;

/// The schema objects that apply to one value at once, and the `anyOf` choices still open.
#[derive(Debug, Clone, Default)]
pub(super) struct Conjunction<'s> {
    nodes: Vec<&'s Map<String, Value>>,
    choices: Vec<&'s [Value]>,
    /// `anyOf`s already decided for this value (a branch that refers back to its own union,
    /// as polymorphic schemas do, must not reopen it).
    decided: Vec<&'s [Value]>,
}

impl<'s> Conjunction<'s> {
    fn holds(&self, map: &Map<String, Value>) -> bool {
        self.nodes.iter().any(|n| std::ptr::eq(*n, map))
    }

    fn open_choice(&mut self, choice: &'s [Value]) {
        let same = |c: &&[Value]| std::ptr::eq(c.as_ptr(), choice.as_ptr());
        if !self.choices.iter().any(same) && !self.decided.iter().any(same) {
            self.choices.push(choice);
        }
    }
}

/// An `anyOf` to decide for one value: the schemas already applying, the branches, the
/// choices after it, and how many choices deep this value already is.
struct Open<'a, 's> {
    nodes: &'a [&'s Map<String, Value>],
    choice: &'s [Value],
    rest: &'a [&'s [Value]],
    decided: &'a [&'s [Value]],
    depth: usize,
}

pub(super) struct Pruner<'s> {
    root: &'s Map<String, Value>,
    /// Compiled `patternProperties` patterns (a pattern the validator cannot compile matches
    /// nothing, as the validator that compiled the schema would have refused it).
    patterns: HashMap<&'s str, Option<jsonschema::Validator>>,
    work: usize,
}

impl<'s> Pruner<'s> {
    /// A pruner for values against `root` (and the definitions it holds).
    pub(super) fn new(root: &'s Map<String, Value>) -> Self {
        Pruner {
            root,
            patterns: HashMap::new(),
            work: 0,
        }
    }

    /// Adds `schema` to `into`; `false` when it accepts nothing.
    fn expand(&self, schema: &'s Value, into: &mut Conjunction<'s>, depth: usize) -> bool {
        match schema {
            Value::Bool(accepts) => *accepts,
            Value::Object(map) => self.expand_object(map, into, depth),
            // Not a schema: the validator refused it at start-up, so this is never reached.
            _ => true,
        }
    }

    pub(super) fn expand_object(
        &self,
        map: &'s Map<String, Value>,
        into: &mut Conjunction<'s>,
        depth: usize,
    ) -> bool {
        // A schema already in the conjunction adds nothing (the conjunction is a set); this also
        // ends cycles through `allOf` and `$ref`.
        if into.holds(map) {
            return true;
        }
        into.nodes.push(map);
        if let Some(target) = map
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.definition(r))
            && depth < MAX_REF_CHAIN
            && !self.expand(target, into, depth + 1)
        {
            return false;
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            for branch in all {
                if !self.expand(branch, into, depth + 1) {
                    return false;
                }
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(any)) = map.get(key) {
                into.open_choice(any);
            }
        }
        true
    }

    /// Every schema of `all`, with every branch of its `anyOf`s taken at once (what some
    /// branch could describe).
    pub(super) fn all_branches(&self, mut all: Conjunction<'s>) -> Vec<&'s Map<String, Value>> {
        let mut taken = 0;
        while let Some(choice) = all.choices.pop() {
            all.decided.push(choice);
            taken += 1;
            if taken > WORK_LIMIT / 1000 {
                break;
            }
            for branch in choice {
                self.expand(branch, &mut all, 0);
            }
        }
        all.nodes
    }

    /// The schemas (all branches) that apply to member `key` of an object under `nodes`.
    pub(super) fn member_branches(
        &mut self,
        nodes: &[&'s Map<String, Value>],
        key: &str,
    ) -> Vec<&'s Map<String, Value>> {
        let mut all = Conjunction::default();
        for node in nodes {
            let mut matched = false;
            if let Some(schema) = node.get("properties").and_then(|p| p.get(key)) {
                matched = true;
                self.expand(schema, &mut all, 0);
            }
            if let Some(Value::Object(patterns)) = node.get("patternProperties") {
                for (pattern, schema) in patterns {
                    if self.matches(pattern, key) {
                        matched = true;
                        self.expand(schema, &mut all, 0);
                    }
                }
            }
            if !matched && let Some(schema) = node.get("additionalProperties") {
                self.expand(schema, &mut all, 0);
            }
        }
        self.all_branches(all)
    }

    /// The schemas (all branches) that apply to item `i` of an array under `nodes`.
    pub(super) fn item_branches(
        &self,
        nodes: &[&'s Map<String, Value>],
        i: usize,
    ) -> Vec<&'s Map<String, Value>> {
        let mut all = Conjunction::default();
        for node in nodes {
            let schema = match node.get("prefixItems").and_then(Value::as_array) {
                Some(prefix) if i < prefix.len() => Some(&prefix[i]),
                _ => node.get("items"),
            };
            if let Some(schema) = schema {
                self.expand(schema, &mut all, 0);
            }
        }
        self.all_branches(all)
    }

    /// The definition a `#/$defs/<name>` (or `#` for the root) reference points to.
    fn definition(&self, reference: &str) -> Option<&'s Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return None;
        }
        let mut tokens = pointer.strip_prefix('/')?.split('/');
        let first = unescape(tokens.next()?);
        let mut node = self.root.get(&first)?;
        for token in tokens {
            node = match node {
                Value::Object(map) => map.get(&unescape(token))?,
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    fn matches(&mut self, pattern: &'s str, key: &str) -> bool {
        let compiled = self.patterns.entry(pattern).or_insert_with(|| {
            jsonschema::validator_for(&serde_json::json!({ "pattern": pattern })).ok()
        });
        compiled
            .as_ref()
            .is_some_and(|v| v.is_valid(&Value::String(key.to_owned())))
    }

    /// The conforming part of `value` under every schema of `all`, or `None` when nothing of it
    /// can be kept. Drift below `value` is added to `drift`.
    fn prune(
        &mut self,
        value: &Value,
        all: Conjunction<'s>,
        path: &mut Vec<String>,
        drift: &mut Drift,
    ) -> Option<Value> {
        self.prune_at(value, all, 0, path, drift)
    }

    /// [`Self::prune`], `choices` deep in `anyOf` branches taken for this same value (a branch
    /// that refers back to its own `anyOf` must not loop).
    fn prune_at(
        &mut self,
        value: &Value,
        all: Conjunction<'s>,
        choices: usize,
        path: &mut Vec<String>,
        drift: &mut Drift,
    ) -> Option<Value> {
        self.work += 1;
        // A schema that makes pruning endless (hostile or pathological) loses the rest of the
        // value rather than the thread: leaving a part out always conforms.
        if self.work > HARD_LIMIT || !all.nodes.iter().all(|node| admits(node, value)) {
            return None;
        }
        if let Some((choice, rest)) = all.choices.split_first() {
            if choices >= MAX_REF_CHAIN {
                return None;
            }
            let open = Open {
                nodes: &all.nodes,
                choice,
                rest,
                decided: &all.decided,
                depth: choices + 1,
            };
            return self.choose(value, open, path, drift);
        }
        let kept = match value {
            Value::Object(members) => Value::Object(self.members(members, &all.nodes, path, drift)),
            Value::Array(items) => Value::Array(self.items(items, &all.nodes, path, drift)),
            scalar => scalar.clone(),
        };
        let complete = all.nodes.iter().all(|node| has_required(node, &kept));
        complete.then_some(kept)
    }

    /// Prunes `value` under each branch of an `anyOf` and keeps the result that lost least.
    fn choose(
        &mut self,
        value: &Value,
        open: Open<'_, 's>,
        path: &mut Vec<String>,
        drift: &mut Drift,
    ) -> Option<Value> {
        // The branch that keeps most of the value (measured in JSON bytes) wins; the first
        // branch the value already satisfies ends the search.
        let mut best: Option<(Value, Drift, usize)> = None;
        let mut decided = open.decided.to_vec();
        decided.push(open.choice);
        for branch in open.choice {
            if self.work > WORK_LIMIT {
                break;
            }
            let mut all = Conjunction {
                nodes: open.nodes.to_vec(),
                choices: open.rest.to_vec(),
                decided: decided.clone(),
            };
            if !self.expand(branch, &mut all, 0) {
                continue;
            }
            let mut lost = Drift::new();
            let Some(kept) = self.prune_at(value, all, open.depth, path, &mut lost) else {
                continue;
            };
            if lost.is_empty() {
                return Some(kept);
            }
            let size = crate::response::budget::json_len(&kept);
            if best.as_ref().is_none_or(|(_, _, most)| size > *most) {
                best = Some((kept, lost, size));
            }
        }
        let (kept, lost, _) = best?;
        drift.extend(lost);
        Some(kept)
    }

    fn members(
        &mut self,
        members: &Map<String, Value>,
        nodes: &[&'s Map<String, Value>],
        path: &mut Vec<String>,
        drift: &mut Drift,
    ) -> Map<String, Value> {
        let mut kept = Map::new();
        for (key, member) in members {
            let mut all = Conjunction::default();
            let mut possible = true;
            let mut named = false;
            for node in nodes {
                let mut matched = false;
                if let Some(schema) = node.get("properties").and_then(|p| p.get(key)) {
                    matched = true;
                    named = true;
                    possible &= self.expand(schema, &mut all, 0);
                }
                if let Some(Value::Object(patterns)) = node.get("patternProperties") {
                    for (pattern, schema) in patterns {
                        if self.matches(pattern, key) {
                            matched = true;
                            possible &= self.expand(schema, &mut all, 0);
                        }
                    }
                }
                if !matched && let Some(schema) = node.get("additionalProperties") {
                    possible &= self.expand(schema, &mut all, 0);
                }
            }
            path.push(if named { escape(key) } else { "*".to_owned() });
            let member = if possible {
                self.prune(member, all, path, drift)
            } else {
                None
            };
            match member {
                Some(member) => {
                    kept.insert(key.clone(), member);
                }
                None => {
                    drift.insert(pointer(path));
                }
            }
            path.pop();
        }
        kept
    }

    fn items(
        &mut self,
        items: &[Value],
        nodes: &[&'s Map<String, Value>],
        path: &mut Vec<String>,
        drift: &mut Drift,
    ) -> Vec<Value> {
        let positional = nodes
            .iter()
            .filter_map(|node| node.get("prefixItems").and_then(Value::as_array))
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        let mut kept = Vec::with_capacity(items.len());
        path.push("*".to_owned());
        for (i, item) in items.iter().enumerate() {
            let mut all = Conjunction::default();
            let mut possible = true;
            for node in nodes {
                let schema = match node.get("prefixItems").and_then(Value::as_array) {
                    Some(prefix) if i < prefix.len() => Some(&prefix[i]),
                    _ => node.get("items"),
                };
                if let Some(schema) = schema {
                    possible &= self.expand(schema, &mut all, 0);
                }
            }
            let item = if possible {
                self.prune(item, all, path, drift)
            } else {
                None
            };
            match item {
                Some(item) => kept.push(item),
                None => {
                    drift.insert(pointer(path));
                    if i < positional {
                        break;
                    }
                }
            }
        }
        path.pop();
        kept
    }
}

/// Whether `node`'s own keywords accept `value` (its type, `enum` and `const`); subschemas are
/// the caller's business.
fn admits(node: &Map<String, Value>, value: &Value) -> bool {
    let typed = match node.get("type") {
        None => true,
        Some(Value::String(t)) => has_type(value, t),
        Some(Value::Array(types)) => types
            .iter()
            .any(|t| t.as_str().is_some_and(|t| has_type(value, t))),
        Some(_) => true,
    };
    typed
        && node
            .get("enum")
            .and_then(Value::as_array)
            .is_none_or(|values| values.iter().any(|v| same(v, value)))
        && node.get("const").is_none_or(|c| same(c, value))
}

/// Whether every member `node` requires is present in `value` (always, for non-objects).
fn has_required(node: &Map<String, Value>, value: &Value) -> bool {
    let (Some(Value::Array(required)), Value::Object(members)) = (node.get("required"), value)
    else {
        return true;
    };
    required
        .iter()
        .all(|name| name.as_str().is_none_or(|n| members.contains_key(n)))
}

/// Whether `value` is of the JSON Schema type `name` (an integer is a number without a fraction).
pub fn has_type(value: &Value, name: &str) -> bool {
    match (name, value) {
        ("null", Value::Null)
        | ("boolean", Value::Bool(_))
        | ("string", Value::String(_))
        | ("array", Value::Array(_))
        | ("object", Value::Object(_))
        | ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// JSON Schema equality: numbers compare by value (`1` equals `1.0`), the rest structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            _ if x == y => true,
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|other| same(v, other)))
        }
        _ => a == b,
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Path tokens (already escaped) as a JSON pointer.
fn pointer(path: &[String]) -> String {
    path.iter().map(|t| format!("/{t}")).collect()
}
