//! Checks a config value against the draft-07 JSON Schema gwi generates for its type.
//!
//! It understands the keywords schemars emits for config types (`$ref`, `type`, `const`,
//! `enum`, `properties`, `required`, `additionalProperties`, `items`, `minItems`, `minLength`,
//! `pattern`, `minimum`, `maximum`, `allOf`, `anyOf`, `oneOf`, and the `uri` format) and ignores
//! the others, as a validator ignores annotations. A general validator was used before; it checks
//! every schema against the draft-07 meta-schema first, and the parts of the meta-schema it
//! compiled for that stayed for the life of the process: about 20 MiB of every sync's peak
//! memory ([measurements](../../../../bench/measurements.md#allocator)). The differential test
//! below holds this checker to that validator's verdicts.

use serde_json::{Map, Value};

use crate::error::FieldError;

/// How deep `$ref`s may nest before the schema is taken to loop without consuming the value.
const MAX_DEPTH: usize = 128;

/// Every way `value` breaks the schema `root`, one error per field (unsorted).
pub(super) fn violations(root: &Value, value: &Value) -> Vec<FieldError> {
    let mut checker = Checker {
        root,
        errors: Vec::new(),
    };
    checker.check(root, value, &mut Vec::new(), 0);
    checker.errors
}

/// One step of the path from the config's root to a value.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `auth.token`, `repositories[1]`; empty for the root.
fn field(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The field `name` inside the object at `path`.
fn child_field(path: &[Step<'_>], name: &str) -> String {
    let at = field(path);
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

struct Checker<'s> {
    root: &'s Value,
    errors: Vec<FieldError>,
}

impl<'s> Checker<'s> {
    fn fail(&mut self, path: &[Step<'_>], message: impl Into<String>) {
        self.errors.push(FieldError::new(field(path), message));
    }

    /// Whether `value` meets `schema`, without recording why not.
    fn accepts(&self, schema: &'s Value, value: &Value, depth: usize) -> bool {
        let mut trial = Checker {
            root: self.root,
            errors: Vec::new(),
        };
        trial.check(schema, value, &mut Vec::new(), depth);
        trial.errors.is_empty()
    }

    fn check<'v>(
        &mut self,
        schema: &'s Value,
        value: &'v Value,
        path: &mut Vec<Step<'v>>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.fail(path, "internal schema error: `$ref`s nest too deeply");
            return;
        }
        let schema = match schema {
            Value::Object(schema) => schema,
            Value::Bool(false) => return self.fail(path, "not allowed here"),
            _ => return,
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            // Draft-07 ignores every keyword beside a `$ref`.
            match reference
                .strip_prefix('#')
                .and_then(|p| self.root.pointer(p))
            {
                Some(target) => self.check(target, value, path, depth + 1),
                None => self.fail(
                    path,
                    format!("internal schema error: {reference} points nowhere"),
                ),
            }
            return;
        }
        if let Some(types) = schema.get("type")
            && !type_matches(types, value)
        {
            let names: Vec<String> = match types {
                Value::Array(names) => names.iter().map(Value::to_string).collect(),
                other => vec![other.to_string()],
            };
            let noun = if names.len() == 1 { "type" } else { "types" };
            return self.fail(
                path,
                format!("{value} is not of {noun} {}", names.join(", ")),
            );
        }
        if let Some(expected) = schema.get("const")
            && !same(expected, value)
        {
            self.fail(path, format!("{expected} was expected"));
        }
        if let Some(Value::Array(options)) = schema.get("enum")
            && !options.iter().any(|o| same(o, value))
        {
            self.fail(
                path,
                format!("{value} is not one of {}", Value::from(options.clone())),
            );
        }
        match value {
            Value::Number(n) => self.check_number(schema, n, value, path),
            Value::String(s) => self.check_string(schema, s, value, path),
            Value::Array(items) => {
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    let noun = if min == 1 { "item" } else { "items" };
                    self.fail(path, format!("{value} has less than {min} {noun}"));
                }
                if let Some(item_schema) = schema.get("items").filter(|s| !s.is_array()) {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Step::Index(i));
                        self.check(item_schema, item, path, depth + 1);
                        path.pop();
                    }
                }
            }
            Value::Object(map) => self.check_object(schema, map, path, depth),
            Value::Null | Value::Bool(_) => {}
        }
        if let Some(Value::Array(branches)) = schema.get("allOf") {
            for branch in branches {
                self.check(branch, value, path, depth + 1);
            }
        }
        if let Some(Value::Array(branches)) = schema.get("anyOf")
            && !branches.iter().any(|b| self.accepts(b, value, depth + 1))
        {
            let message = self.mismatch(branches, value);
            self.fail(path, message);
        }
        if let Some(Value::Array(branches)) = schema.get("oneOf")
            && branches
                .iter()
                .filter(|b| self.accepts(b, value, depth + 1))
                .count()
                != 1
        {
            let message = self.mismatch(branches, value);
            self.fail(path, message);
        }
    }

    /// What is said of a value that matches none (or several) of `branches`.
    fn mismatch(&self, branches: &[Value], value: &Value) -> String {
        if value.is_object() {
            return match value.get("type").and_then(Value::as_str) {
                Some(kind) => format!(
                    "not a valid \"{kind}\" entry (an unknown type, a missing field or an unknown field)"
                ),
                None => "does not match any allowed form (is a `type` field missing?)".to_owned(),
            };
        }
        // A Rust enum of names becomes one branch per name (`const`) or per group (`enum`).
        let mut names = Vec::new();
        for branch in branches {
            let branch = super::resolve_ref(self.root, branch);
            match (branch.get("const"), branch.get("enum")) {
                (Some(name), _) => names.push(name.to_string()),
                (None, Some(Value::Array(group))) => {
                    names.extend(group.iter().map(Value::to_string))
                }
                _ => return format!("{value} matches none of the allowed forms"),
            }
        }
        format!("{value} is not one of {}", names.join(", "))
    }

    fn check_number(
        &mut self,
        schema: &Map<String, Value>,
        n: &serde_json::Number,
        value: &Value,
        path: &[Step<'_>],
    ) {
        let Some(n) = n.as_f64() else { return };
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            self.fail(
                path,
                format!("{value} is less than the minimum of {}", schema["minimum"]),
            );
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            self.fail(
                path,
                format!(
                    "{value} is greater than the maximum of {}",
                    schema["maximum"]
                ),
            );
        }
    }

    fn check_string(
        &mut self,
        schema: &Map<String, Value>,
        s: &str,
        value: &Value,
        path: &[Step<'_>],
    ) {
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && (s.chars().count() as u64) < min
        {
            let noun = if min == 1 { "character" } else { "characters" };
            self.fail(path, format!("{value} is shorter than {min} {noun}"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            match regex::Regex::new(pattern) {
                Ok(re) if re.is_match(s) => {}
                Ok(_) => self.fail(
                    path,
                    format!("{value} does not match the expected form {pattern}"),
                ),
                Err(e) => self.fail(
                    path,
                    format!("internal schema error: pattern {pattern}: {e}"),
                ),
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("uri")
            && url::Url::parse(s).is_err()
        {
            self.fail(path, format!("{value} is not a \"uri\""));
        }
    }

    fn check_object<'v>(
        &mut self,
        schema: &'s Map<String, Value>,
        map: &'v Map<String, Value>,
        path: &mut Vec<Step<'v>>,
        depth: usize,
    ) {
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    self.errors
                        .push(FieldError::new(child_field(path, name), "missing"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let mut unknown = Vec::new();
        for (key, child) in map {
            path.push(Step::Key(key));
            match (properties.and_then(|p| p.get(key)), additional) {
                (Some(sub), _) => self.check(sub, child, path, depth + 1),
                (None, Some(Value::Bool(false))) => unknown.push(key.as_str()),
                (None, Some(sub)) => self.check(sub, child, path, depth + 1),
                (None, None) => {}
            }
            path.pop();
        }
        if !unknown.is_empty() {
            self.errors.push(FieldError::new(
                child_field(path, &unknown.join(", ")),
                "unknown field (check the spelling; `gwi connectors schema` lists the fields)",
            ));
        }
    }
}

/// Whether `value` is of the JSON Schema type (or one of the types) `types`.
fn type_matches(types: &Value, value: &Value) -> bool {
    let is = |name: &str| match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        // Draft-07: a number with no fractional part, 1.0 included.
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    };
    match types {
        Value::String(name) => is(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(is),
        _ => true,
    }
}

/// JSON Schema equality: numbers compare by value (1 equals 1.0), the rest structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A schema with every keyword the checker understands, shaped as schemars writes them.
    fn schema() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["name", "auth"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "pattern": "^[a-z]+/[a-z]+$"},
                "count": {"type": "integer", "format": "uint32", "minimum": 1, "maximum": 20},
                "ratio": {"type": ["number", "null"], "format": "double", "minimum": 0.0, "maximum": 1.0},
                "tags": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/Tag"}},
                "auth": {"$ref": "#/definitions/Auth"},
                "url": {"type": "string", "format": "uri"},
                "mode": {"enum": ["fast", "slow"]},
                "extra": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "wrapped": {"allOf": [{"$ref": "#/definitions/Tag"}], "description": "a tag"},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
            },
            "additionalProperties": false,
            "definitions": {
                "Tag": {"type": "string", "minLength": 2},
                "Auth": {"oneOf": [
                    {"type": "object", "required": ["type", "token"], "additionalProperties": false,
                     "properties": {"type": {"type": "string", "const": "bearer"},
                                    "token": {"type": "string", "minLength": 1, "format": "secret-ref"}}},
                    {"type": "object", "required": ["type"], "additionalProperties": false,
                     "properties": {"type": {"type": "string", "const": "none"}}},
                ]},
            },
        })
    }

    fn fields(value: Value) -> Vec<String> {
        let mut errors = violations(&schema(), &value);
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    #[test]
    fn a_valid_config_has_no_violations() {
        let value = json!({
            "name": "acme/widgets", "count": 20, "ratio": null, "tags": ["ab"],
            "auth": {"type": "bearer", "token": "t"}, "url": "https://x.example/",
            "mode": "slow", "extra": {"a": true}, "wrapped": "cd", "either": 3,
        });
        assert_eq!(fields(value), Vec::<String>::new());
    }

    #[test]
    fn each_violation_names_its_field() {
        let value = json!({
            "name": "Acme", "count": 0, "ratio": 1.5, "tags": ["a", 7],
            "auth": {"type": "basic"}, "url": "not a url", "mode": "medium",
            "extra": {"a": 1}, "wrapped": "c", "either": -1, "colour": "red",
        });
        assert_eq!(
            fields(value),
            [
                "auth: not a valid \"basic\" entry (an unknown type, a missing field or an unknown field)",
                "colour: unknown field (check the spelling; `gwi connectors schema` lists the fields)",
                "count: 0 is less than the minimum of 1",
                "either: -1 matches none of the allowed forms",
                "extra.a: 1 is not of type \"boolean\"",
                "mode: \"medium\" is not one of [\"fast\",\"slow\"]",
                "name: \"Acme\" does not match the expected form ^[a-z]+/[a-z]+$",
                "ratio: 1.5 is greater than the maximum of 1.0",
                "tags[0]: \"a\" is shorter than 2 characters",
                "tags[1]: 7 is not of type \"string\"",
                "url: \"not a url\" is not a \"uri\"",
                "wrapped: \"c\" is shorter than 2 characters",
            ]
        );
        assert_eq!(fields(json!({})), ["auth: missing", "name: missing"]);
        let names = json!({"type": "array", "items": {"oneOf": [
            {"const": "issue", "description": "Issues."},
            {"$ref": "#/definitions/Later"},
        ]}, "definitions": {"Later": {"type": "string", "enum": ["note", "commit"]}}});
        let errors = violations(&names, &json!(["issue", "bogus"]));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].field.as_str(), errors[0].message.as_str()),
            ("[1]", r#""bogus" is not one of "issue", "note", "commit""#)
        );
        assert_eq!(fields(json!([])), [": [] is not of type \"object\""]);
    }

    #[test]
    fn a_reference_that_loops_or_points_nowhere_is_an_error_not_a_hang() {
        let root = json!({"$ref": "#/definitions/A", "definitions": {
            "A": {"$ref": "#/definitions/B"}, "B": {"$ref": "#/definitions/A"},
        }});
        let errors = violations(&root, &json!(1));
        assert!(errors[0].message.contains("nest too deeply"), "{errors:?}");
        let errors = violations(&json!({"$ref": "#/definitions/Gone"}), &json!(1));
        assert!(errors[0].message.contains("points nowhere"), "{errors:?}");
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-2i64..25).prop_map(Value::from),
            prop::sample::select(vec![0.0, 0.5, 1.0, 1.5, 2.0, -0.25]).prop_map(Value::from),
            prop::sample::select(vec![
                "",
                "a",
                "ab",
                "a/b",
                "acme/widgets",
                "Ab/c",
                "bearer",
                "none",
                "fast",
                "slow",
                "https://x.example/",
                "not a url",
                "x:y",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec!["type", "token", "a", "b"]).prop_map(str::to_owned),
                    inner,
                    0..3,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A config near the schema: each field is absent, a value that fits it, or anything.
    fn near_config() -> impl Strategy<Value = Value> {
        let good: Vec<(&str, Value)> = vec![
            ("name", json!("acme/widgets")),
            ("count", json!(3)),
            ("ratio", json!(0.5)),
            ("tags", json!(["ab", "cd"])),
            ("auth", json!({"type": "bearer", "token": "t"})),
            ("url", json!("https://x.example/")),
            ("mode", json!("fast")),
            ("extra", json!({"a": false})),
            ("wrapped", json!("tag")),
            ("either", json!("s")),
            ("colour", json!("red")),
        ];
        let fields: Vec<_> = good
            .into_iter()
            .map(|(key, fits)| {
                prop_oneof![
                    2 => Just(None),
                    5 => Just(Some(fits)),
                    2 => any_value().prop_map(Some),
                ]
                .prop_map(move |v| v.map(|v| (key.to_owned(), v)))
            })
            .collect();
        fields.prop_map(|pairs| Value::Object(pairs.into_iter().flatten().collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The checker accepts exactly what a general draft-07 validator accepts.
        #[test]
        fn it_agrees_with_a_general_validator(value in prop_oneof![near_config(), any_value()]) {
            let schema = schema();
            let general = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{e}"));
            let errors = violations(&schema, &value);
            prop_assert_eq!(errors.is_empty(), general.is_valid(&value), "{} -> {:?}", value, errors);
        }
    }
}
