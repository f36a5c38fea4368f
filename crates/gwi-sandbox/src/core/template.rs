//! Provider JSON rendered from recorded real payloads instead of hand-written serializers.
//!
//! A [`Template`] is one object taken from a recorded answer or webhook. Rendering overwrites the
//! fields the sandbox generates, addressed by JSON pointer (`/author/id`), and keeps every other
//! key, so an answer has exactly the provider's shape, including fields no connector reads yet.

use serde_json::{Map, Value};

use crate::error::SandboxError;

/// One recorded provider object to render others from.
#[derive(Debug, Clone)]
pub struct Template {
    value: Value,
}

impl Template {
    /// The object at `pointer` (`""` for the whole document, `/0` for an array's first item) of
    /// the recorded payload `json`, named `name` in errors.
    pub fn parse(name: &str, json: &str, pointer: &str) -> Result<Self, SandboxError> {
        let bad = |reason: String| SandboxError::Template {
            name: name.to_owned(),
            reason,
        };
        let doc: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        match doc.pointer(pointer) {
            Some(value @ Value::Object(_)) => Ok(Self {
                value: value.clone(),
            }),
            Some(_) => Err(bad(format!("{pointer:?} is not an object"))),
            None => Err(bad(format!("nothing at {pointer:?}"))),
        }
    }

    /// A copy of the template with each `(pointer, value)` written in, creating objects along
    /// the way where the template has none.
    pub fn render<'a>(&self, fields: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        let mut out = self.value.clone();
        for (pointer, value) in fields {
            set(&mut out, pointer, value);
        }
        out
    }

    /// The template's value at `pointer`, as recorded.
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }
}

/// Writes `value` at `pointer` inside `doc` (a non-object on the way becomes an object).
pub fn set(doc: &mut Value, pointer: &str, value: Value) {
    let mut at = doc;
    let mut keys = pointer.split('/').skip(1).peekable();
    while let Some(raw) = keys.next() {
        let key = raw.replace("~1", "/").replace("~0", "~");
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Value::Object(map) = at else { return };
        if keys.peek().is_none() {
            map.insert(key, value);
            return;
        }
        at = map.entry(key).or_insert(Value::Null);
    }
    *at = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_generated_fields_into_the_recorded_shape() {
        let recorded =
            r#"[{"id": 1, "title": "real", "author": {"id": 9, "name": "A"}, "extra": [1]}]"#;
        let t = Template::parse("t.json", recorded, "/0").unwrap_or_else(|e| panic!("{e}"));
        let out = t.render([
            ("/id", json!(42)),
            ("/author/id", json!(7)),
            ("/web~1url", json!("u")),
            ("/new/deep", json!(true)),
        ]);
        assert_eq!(
            out,
            json!({"id": 42, "title": "real", "author": {"id": 7, "name": "A"}, "extra": [1],
                   "web/url": "u", "new": {"deep": true}})
        );
        assert_eq!(
            t.get("/title"),
            Some(&json!("real")),
            "the template is unchanged"
        );
    }

    #[test]
    fn refuses_what_is_not_an_object_naming_the_file() {
        for (json, pointer) in [("[1]", "/0"), ("{}", "/x"), ("{", "")] {
            let err = Template::parse("gitlab/x.json", json, pointer)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("gitlab/x.json"), "{err}");
        }
    }
}
