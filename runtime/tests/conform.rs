//! Property test of [`mcpgen_runtime::response::conform`]: for random descriptive output schemas and
//! random values, the conformed value always validates against the schema (checked by the same
//! JSON Schema validator the server uses), is a pruned copy of the input, and equals the input
//! whenever the input was already valid.
//!
//! The generator below covers the keywords published output schemas use (types with `null`,
//! `properties`, `patternProperties`, `additionalProperties`, `items`, `prefixItems`, `anyOf`,
//! `allOf`, `$ref` into recursive `$defs`), plus, rarely, `required`, `enum` and `const`, which
//! the runtime also honours. Values are drawn from a small vocabulary so that they often hit the
//! schemas' names and types. A fixed list of seeds keeps failures reproducible. The same values,
//! cut to random result budgets ([`mcpgen_runtime::response::budget::fit`]), must still validate.

use mcpgen_runtime::response::budget;
use mcpgen_runtime::response::conform::conform;
use mcpgen_runtime::response::names::{Explicit, remove_named};
use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "null", "object", "array",
];
const NAMES: &[&str] = &["a", "b", "c", "n_1", "id"];
const DEFS: &[&str] = &["Node", "Leaf"];

fn schema(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 {
        return leaf_type(rng);
    }
    match rng.below(12) {
        0 => json!({}),
        1 | 2 => leaf_type(rng),
        3..=5 => object_schema(rng, depth),
        6 | 7 => array_schema(rng, depth),
        8 => {
            json!({"anyOf": (0..1 + rng.below(3)).map(|_| schema(rng, depth - 1)).collect::<Vec<_>>()})
        }
        9 => {
            json!({"allOf": (0..1 + rng.below(2)).map(|_| schema(rng, depth - 1)).collect::<Vec<_>>()})
        }
        10 => {
            let mut node = json!({"$ref": format!("#/$defs/{}", rng.pick(DEFS))});
            if rng.chance(30) {
                node["type"] = json!([*rng.pick(TYPES), "null"]);
            }
            node
        }
        _ => constrained(rng),
    }
}

fn leaf_type(rng: &mut Rng) -> Value {
    let t = *rng.pick(TYPES);
    if rng.chance(50) {
        json!({"type": [t, "null"]})
    } else {
        json!({"type": t})
    }
}

/// A keyword outside the descriptive subset that the runtime honours.
fn constrained(rng: &mut Rng) -> Value {
    match rng.below(3) {
        0 => json!({"enum": ["a", 1, null]}),
        1 => json!({"const": 2}),
        _ => json!({"type": "object", "required": [*rng.pick(NAMES)],
                    "properties": {"a": {"type": "string"}}}),
    }
}

fn object_schema(rng: &mut Rng, depth: usize) -> Value {
    let mut node = Map::new();
    if rng.chance(80) {
        node.insert(
            "type".into(),
            if rng.chance(50) {
                json!(["object", "null"])
            } else {
                json!("object")
            },
        );
    }
    let mut properties = Map::new();
    for name in NAMES {
        if rng.chance(50) {
            properties.insert(name.to_string(), schema(rng, depth - 1));
        }
    }
    node.insert("properties".into(), Value::Object(properties));
    if rng.chance(20) {
        node.insert(
            "patternProperties".into(),
            json!({"^n_": schema(rng, depth - 1)}),
        );
    }
    match rng.below(4) {
        0 => {
            node.insert("additionalProperties".into(), schema(rng, depth - 1));
        }
        1 if rng.chance(30) => {
            node.insert("additionalProperties".into(), json!(false));
        }
        _ => {}
    }
    Value::Object(node)
}

fn array_schema(rng: &mut Rng, depth: usize) -> Value {
    let mut node =
        json!({"type": if rng.chance(50) { json!(["array", "null"]) } else { json!("array") }});
    if rng.chance(30) {
        node["prefixItems"] = json!([schema(rng, depth - 1), schema(rng, depth - 1)]);
    }
    if rng.chance(80) {
        node["items"] = schema(rng, depth - 1);
    }
    node
}

fn root_schema(rng: &mut Rng) -> Value {
    let mut root = object_schema(rng, 3);
    root["type"] = json!("object");
    root["$defs"] = json!({
        "Node": {"type": "object", "properties": {
            "id": {"type": ["integer", "null"]},
            "b": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Node"}},
            "c": schema(rng, 2)
        }},
        "Leaf": schema(rng, 2)
    });
    root
}

fn value(rng: &mut Rng, depth: usize) -> Value {
    let scalar = |rng: &mut Rng| match rng.below(9) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(1),
        3 => json!(2),
        4 => json!(2.0),
        5 => json!(1.5),
        6 => json!("a"),
        7 => json!(-7),
        _ => json!("text"),
    };
    if depth == 0 {
        return scalar(rng);
    }
    match rng.below(5) {
        0 | 1 => scalar(rng),
        2 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        _ => {
            let keys = ["a", "b", "c", "n_1", "n_2", "id", "x"];
            let mut members = Map::new();
            for key in keys {
                if rng.chance(40) {
                    members.insert(key.to_string(), value(rng, depth - 1));
                }
            }
            Value::Object(members)
        }
    }
}

/// Whether a member named `name` occurs anywhere in `value`.
fn has_member(value: &Value, name: &str) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .any(|(k, v)| k == name || has_member(v, name)),
        Value::Array(items) => items.iter().any(|v| has_member(v, name)),
        _ => false,
    }
}

/// Whether `part` is `whole` with members and items left out (at any depth).
fn is_pruned_copy(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|o| is_pruned_copy(v, o))),
        (Value::Array(p), Value::Array(w)) => {
            // A subsequence: each kept item matches a later item of the whole.
            let mut rest = w.iter();
            p.iter()
                .all(|item| rest.by_ref().any(|o| is_pruned_copy(item, o)))
        }
        _ => part == whole,
    }
}

#[test]
fn conformed_values_always_validate() {
    let mut checked = 0;
    let mut drifted = 0;
    for seed in 1..=2000u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let schema = root_schema(&mut rng);
        let Ok(validator) = jsonschema::validator_for(&schema) else {
            continue;
        };
        let text = schema.to_string();
        let descriptive = ["required", "enum", "const"]
            .iter()
            .all(|k| !text.contains(&format!("\"{k}\"")));
        for _ in 0..50 {
            let input = value(&mut rng, 4);
            let input = if rng.chance(80) {
                // Mostly objects, as real results are.
                match input {
                    Value::Object(_) => input,
                    other => json!({"a": other, "b": [other.clone(), {"id": other}]}),
                }
            } else {
                input
            };
            let Some(out) = conform(schema.as_object().unwrap(), &input) else {
                assert!(
                    !validator.is_valid(&json!({})),
                    "conform gave up although {{}} is valid\nschema: {schema}\nvalue: {input}"
                );
                continue;
            };
            checked += 1;
            assert!(
                validator.is_valid(&out.value),
                "seed {seed}: the conformed value does not validate\nschema: {schema}\ninput: {input}\noutput: {}",
                out.value
            );
            // Cutting to a budget keeps a conforming value conforming (descriptive schemas only:
            // `required`, `enum` and `const` are outside what the budget promises).
            if descriptive {
                let mut cut = out.value.clone();
                let max = 20 + rng.below(300);
                budget::fit(&mut cut, max);
                assert!(
                    validator.is_valid(&cut),
                    "seed {seed}: the value cut to {max} bytes does not validate\nschema: {schema}\nvalue: {}\ncut: {cut}",
                    out.value
                );
            }
            // Name rules: `x` is never named by a schema, so it goes wherever it is; `a` may be
            // named, and stays exactly where a schema names it.
            let mut guarded = input.clone();
            remove_named(
                schema.as_object(),
                &mut guarded,
                &|n| n == "x" || n == "a",
                &Explicit::default(),
            );
            assert!(
                !has_member(&guarded, "x"),
                "seed {seed}: `x` left in {guarded}"
            );
            assert!(
                is_pruned_copy(&guarded, &input),
                "seed {seed}: name rules changed more than members\ninput: {input}\nguarded: {guarded}"
            );
            if validator.is_valid(&input) {
                assert_eq!(
                    out.value, input,
                    "seed {seed}: a valid value was changed\nschema: {schema}"
                );
                assert!(
                    out.drift.is_empty(),
                    "seed {seed}: drift reported for a valid value"
                );
            } else {
                drifted += 1;
                assert!(
                    !out.drift.is_empty(),
                    "seed {seed}: no drift reported for an invalid value\nschema: {schema}\ninput: {input}"
                );
                assert!(
                    out.value == json!({}) || is_pruned_copy(&out.value, &input),
                    "seed {seed}: the output is not a pruned copy\ninput: {input}\noutput: {}",
                    out.value
                );
            }
        }
    }
    // The generator must produce both kinds, or the test proves little.
    assert!(checked > 40_000, "{checked} cases checked");
    assert!(
        drifted > checked / 10,
        "{drifted} of {checked} cases drifted"
    );
}

/// Runs `conform` on another thread; a schema must never make it run away (the bound is
/// generous: this is about ending, not speed).
fn conform_ends(schema: Value, value: Value) -> mcpgen_runtime::response::conform::Conformed {
    let handle = std::thread::spawn(move || {
        let validator = jsonschema::validator_for(&schema).unwrap();
        let out = conform(schema.as_object().unwrap(), &value).unwrap();
        assert!(validator.is_valid(&out.value), "{}", out.value);
        out
    });
    let started = std::time::Instant::now();
    while !handle.is_finished() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "conform did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    handle.join().unwrap()
}

#[test]
fn self_referring_schemas_end() {
    // Polymorphism as OpenAPI writes it: the base refers to its variants, which extend the base.
    let pets = json!({"type": "object", "properties": {"name": {"type": ["string", "null"]}, "pet": {"$ref": "#/$defs/Pet"}},
    "$defs": {
        "Pet": {"type": ["object", "null"], "properties": {"petType": {"type": ["string", "null"]}},
                "anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]},
        "Cat": {"allOf": [{"$ref": "#/$defs/Pet"}, {"type": ["object", "null"], "properties": {"meow": {"type": ["integer", "null"]}}}]},
        "Dog": {"allOf": [{"$ref": "#/$defs/Pet"}, {"type": ["object", "null"], "properties": {"bark": {"type": ["integer", "null"]}}}]}
    }});
    let out = conform_ends(
        pets.clone(),
        json!({"name": 5, "pet": {"petType": "cat", "meow": 1}}),
    );
    assert_eq!(out.value, json!({"pet": {"petType": "cat", "meow": 1}}));
    assert_eq!(out.drift, vec!["/name"]);
    // As a Dog, `meow` is a member the schema does not name, so it may stay.
    let out = conform_ends(pets, json!({"pet": {"petType": 3, "meow": "x"}}));
    assert_eq!(out.value, json!({"pet": {"meow": "x"}}));
    // A definition that lists itself, in `allOf` and in `anyOf`.
    let all_of = json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/A"}},
        "$defs": {"A": {"type": ["object", "null"], "properties": {"n": {"type": "string"}},
                        "allOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/A"}, {"$ref": "#/$defs/A"}]}}});
    assert_eq!(
        conform_ends(all_of, json!({"x": {"n": 5}})).value,
        json!({"x": {}})
    );
    let any_of = json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/N"}},
        "$defs": {"N": {"anyOf": [{"$ref": "#/$defs/N"}, {"$ref": "#/$defs/N"}, {"type": ["string", "null"]}]}}});
    assert_eq!(
        conform_ends(any_of.clone(), json!({"x": "s"})).value,
        json!({"x": "s"})
    );
    // Whether 5 fits a union of itself and strings is moot; it ends, and the validator agrees.
    conform_ends(any_of, json!({"x": 5}));
}

#[test]
fn any_of_keeps_the_branch_that_keeps_most() {
    // One branch loses a whole list at one path, the other two small members.
    let schema = json!({"type": "object", "properties": {"x": {"anyOf": [
        {"type": "object", "properties": {"items": {"type": "string"}, "a": {"type": "integer"}, "b": {"type": "integer"}}},
        {"type": "object", "properties": {"items": {"type": "array"}, "a": {"type": "string"}, "b": {"type": "string"}}}
    ]}}});
    let items: Vec<Value> = (0..100).map(|i| json!(i)).collect();
    let out = conform_ends(schema, json!({"x": {"items": items, "a": 1, "b": 2}}));
    assert_eq!(out.value["x"]["items"].as_array().map(Vec::len), Some(100));
    assert_eq!(out.drift, vec!["/x/a", "/x/b"]);
}
