//! Typed record streams for the Singer and Airbyte protocols.
//!
//! Each record type is one stream of flat rows: the record's `id`, `created_at` and
//! `updated_at`, then the fields of its `data` at the top level (nested objects stay objects),
//! then `metadata`. Tools that make a column per top-level property (Singer targets, Airbyte
//! destinations) then get one per field instead of a single JSON column.
//!
//! A stream's schema is generated from the struct its `data` is serialized from
//! ([`ConnectorDefinition::data_schemas`](crate::registry::ConnectorDefinition::data_schemas)),
//! then made portable: schemars writes draft 2020-12 (`$defs`, boolean subschemas, `const`),
//! while Singer targets validate with draft-04 tooling and Airbyte with draft-07. The portable
//! form has every reference inlined and only keywords both drafts read alike.

use serde_json::{Map, Value, json};

use crate::record::ConnectorRecord;

/// The row fields every stream has, before the fields of `data`.
pub const ENVELOPE_FIELDS: [&str; 4] = ["id", "created_at", "updated_at", "metadata"];

/// The field a tombstone sets (see [`ConnectorRecord::into_tombstone`]).
pub const DELETED_FIELD: &str = "deleted";

/// The primary key of every stream.
pub const KEY_FIELD: &str = "id";

/// The field incremental reads advance by.
pub const REPLICATION_KEY: &str = "updated_at";

/// Formats both drafts define (and targets read, e.g. to make timestamp columns).
const PORTABLE_FORMATS: &[&str] = &["date-time", "date", "time", "email", "uri", "uuid"];

/// References nest at most this deep; a recursive type is cut off there as "any value".
const MAX_REF_DEPTH: u8 = 12;

/// Why a stream's schema could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaError {
    /// A `data` field would share its name with a row field.
    #[error(
        "record type {record_type}: the data field {field:?} has the name of a row field ({}); rename it in the data struct",
        ENVELOPE_FIELDS.join(", ")
    )]
    FieldCollision {
        /// The record type.
        record_type: String,
        /// The field's name.
        field: String,
    },
    /// The `data` schema does not describe an object with properties.
    #[error("record type {0}: the data schema is not an object with properties")]
    NotAnObject(String),
    /// The connector declares no `data` schema for a record type it lists.
    #[error("record type {0} has no data schema; add it to the connector's data_schemas()")]
    Missing(String),
}

/// One record type's stream: its name and its flat row schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSchema {
    /// The record type, which is the stream's name.
    pub name: String,
    /// The portable JSON Schema of the stream's rows.
    pub schema: Value,
}

impl StreamSchema {
    /// The stream of `record_type` whose `data` is described by `data`.
    pub fn new(record_type: &str, data: &schemars::Schema) -> Result<Self, SchemaError> {
        let data = portable(data.as_value());
        let Some(Value::Object(fields)) = data.get("properties") else {
            return Err(SchemaError::NotAnObject(record_type.to_owned()));
        };
        let time =
            |what: &str| json!({"type": "string", "format": "date-time", "description": what});
        let mut properties = Map::new();
        properties.insert(
            "id".into(),
            json!({"type": "string", "description": "Stable id, unique within the record type"}),
        );
        properties.insert(
            "created_at".into(),
            time("When the provider created the object"),
        );
        properties.insert(
            "updated_at".into(),
            time("When the provider last changed the object"),
        );
        properties.insert(
            DELETED_FIELD.into(),
            json!({"type": ["boolean", "null"], "description": "true once the object is deleted upstream"}),
        );
        for (name, schema) in fields {
            if ENVELOPE_FIELDS.contains(&name.as_str()) {
                return Err(SchemaError::FieldCollision {
                    record_type: record_type.to_owned(),
                    field: name.clone(),
                });
            }
            // A tombstone sent by a webhook may carry fewer fields, and a provider may leave
            // one out: every data field may be absent or null.
            properties.insert(name.clone(), nullable(schema.clone()));
        }
        properties.insert(
            "metadata".into(),
            json!({"type": ["object", "null"], "description": "Links and provenance"}),
        );
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": ["id", "created_at", "updated_at"],
        });
        Ok(Self {
            name: record_type.to_owned(),
            schema,
        })
    }

    /// The names of the row's fields.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|p| p.keys().map(String::as_str))
    }

    /// The schema with only the fields `keep` accepts.
    pub fn select(&self, keep: impl Fn(&str) -> bool) -> Value {
        let mut schema = self.schema.clone();
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            properties.retain(|name, _| keep(name));
        }
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|name| name.as_str().is_some_and(&keep));
        }
        schema
    }
}

/// Checks rows against a stream's schema as a draft-04 validator (the strictest a Singer target
/// uses) would, and also refuses top-level fields the schema does not declare: how tests prove
/// that a connector's records are what its streams declare.
pub struct RowCheck {
    validator: jsonschema::Validator,
}

impl RowCheck {
    /// A check for rows of `stream`.
    pub fn new(stream: &StreamSchema) -> Result<Self, String> {
        let mut strict = stream.schema.clone();
        strict["additionalProperties"] = Value::Bool(false);
        let validator = jsonschema::draft4::new(&strict)
            .map_err(|e| format!("the schema of {} is not valid draft-04: {e}", stream.name))?;
        Ok(Self { validator })
    }

    /// What is wrong with `record`'s row, if anything (one message per violation).
    pub fn errors(&self, record: &ConnectorRecord) -> Vec<String> {
        let mut row = Vec::new();
        if let Err(e) = write_row(record, &mut row) {
            return vec![format!("{}: no row: {e}", record.id)];
        }
        let row: Value = match serde_json::from_slice(&row) {
            Ok(row) => row,
            Err(e) => return vec![format!("{}: the row is not JSON: {e}", record.id)],
        };
        self.validator
            .iter_errors(&row)
            .map(|e| format!("{} at {:?}: {e}", record.id, e.instance_path.to_string()))
            .collect()
    }
}

/// The JSON Schema of `T` as it serializes (field names, optional fields), which is what a
/// record's `data` is: connectors list these in `data_schemas`.
pub fn data_schema<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// `schema` in the portable form: references inlined, boolean subschemas as objects, `const`
/// as a one-value `enum`, exclusive bounds as plain ones, `anyOf [X, null]` as a nullable X,
/// and only standard formats.
pub fn portable(schema: &Value) -> Value {
    let definitions = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    convert(schema, &definitions, 0)
}

fn convert(value: &Value, definitions: &Map<String, Value>, depth: u8) -> Value {
    let map = match value {
        Value::Bool(true) => return json!({}),
        Value::Bool(false) => return json!({"not": {}}),
        Value::Object(map) => map,
        other => return other.clone(),
    };
    let mut out = Map::new();
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        if let (Some(target), true) = (definitions.get(name), depth < MAX_REF_DEPTH)
            && let Value::Object(inlined) = convert(target, definitions, depth + 1)
        {
            out = inlined;
        }
    }
    let each = |v: &Value| convert(v, definitions, depth);
    for (key, value) in map {
        match key.as_str() {
            "$ref" | "$schema" | "$defs" | "definitions" | "$id" => {}
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_number() => {
                let plain = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                out.insert(plain.into(), value.clone());
            }
            "format" => {
                if value
                    .as_str()
                    .is_some_and(|f| PORTABLE_FORMATS.contains(&f))
                {
                    out.insert(key.clone(), value.clone());
                }
            }
            "prefixItems" => {
                if let Value::Array(items) = value {
                    out.insert("items".into(), items.iter().map(each).collect());
                }
            }
            "properties" | "patternProperties" => {
                if let Value::Object(properties) = value {
                    let converted = properties
                        .iter()
                        .map(|(name, schema)| (name.clone(), each(schema)))
                        .collect();
                    out.insert(key.clone(), Value::Object(converted));
                }
            }
            // `additionalProperties: false` is valid in every draft; a boolean elsewhere is a
            // boolean subschema, which draft-04 tools cannot read.
            "additionalProperties" if value.is_boolean() => {
                if value == &Value::Bool(false) {
                    out.insert(key.clone(), value.clone());
                }
            }
            "items" | "additionalProperties" | "not" | "contains" => {
                if !(key == "items" && out.contains_key("items")) {
                    out.insert(key.clone(), each(value));
                }
            }
            "anyOf" | "oneOf" | "allOf" => {
                if let Value::Array(options) = value {
                    out.insert(key.clone(), options.iter().map(each).collect());
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(merge_null_option(out))
}

/// `anyOf`/`oneOf` of one schema and `{"type": "null"}` as that schema, nullable: tools that
/// make columns read a `type` far better than a union.
fn merge_null_option(mut schema: Map<String, Value>) -> Map<String, Value> {
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(options)) = schema.get(key) else {
            continue;
        };
        let is_null = |s: &Value| s.get("type").and_then(Value::as_str) == Some("null");
        if options.len() != 2 || !options.iter().any(is_null) {
            continue;
        }
        let Some(Value::Object(other)) = options.iter().find(|s| !is_null(s)).cloned() else {
            continue;
        };
        if !other.contains_key("type") && !other.contains_key("enum") {
            continue;
        }
        schema.remove(key);
        if let Value::Object(merged) = nullable(Value::Object(other)) {
            for (k, v) in merged {
                schema.entry(k).or_insert(v);
            }
        }
    }
    schema
}

/// `schema`, also accepting `null`.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    if map.is_empty() {
        return Value::Object(map);
    }
    let mut done = false;
    match map.get_mut("type") {
        Some(Value::String(kind)) => {
            if kind != "null" {
                let kind = std::mem::take(kind);
                map.insert("type".into(), json!([kind, "null"]));
            }
            done = true;
        }
        Some(Value::Array(kinds)) => {
            if !kinds.iter().any(|k| k == "null") {
                kinds.push(json!("null"));
            }
            done = true;
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
        done = true;
    }
    if done {
        Value::Object(map)
    } else {
        json!({"anyOf": [Value::Object(map), {"type": "null"}]})
    }
}

/// Writes `record` as its stream's row: `id`, `created_at`, `updated_at`, the fields of
/// `data`, `metadata`. The text of `data` is spliced in, not parsed, since this runs once per
/// record and `data` is already JSON text.
pub fn write_row(record: &ConnectorRecord, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &record.id)?;
    out.extend_from_slice(b",\"created_at\":");
    serde_json::to_writer(&mut *out, &record.created_at)?;
    out.extend_from_slice(b",\"updated_at\":");
    serde_json::to_writer(&mut *out, &record.updated_at)?;
    let data = record.data.as_str().trim();
    let inner = data
        .strip_prefix('{')
        .and_then(|d| d.strip_suffix('}'))
        .map(str::trim)
        .unwrap_or_default();
    if !inner.is_empty() {
        out.push(b',');
        out.extend_from_slice(inner.as_bytes());
    }
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(record.metadata.as_str().as_bytes());
    out.push(b'}');
    Ok(())
}

/// `record`'s row with only the fields `keep` accepts (parsed, so slower than [`write_row`]).
pub fn write_row_selected(
    record: &ConnectorRecord,
    keep: impl Fn(&str) -> bool,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    let mut row = Map::new();
    row.insert("id".into(), json!(record.id));
    row.insert(
        "created_at".into(),
        serde_json::to_value(record.created_at)?,
    );
    row.insert(
        "updated_at".into(),
        serde_json::to_value(record.updated_at)?,
    );
    if let Value::Object(data) = record.data.to_value() {
        row.extend(data);
    }
    row.insert("metadata".into(), record.metadata.to_value());
    row.retain(|name, _| keep(name));
    serde_json::to_writer(out, &row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use schemars::JsonSchema;
    use serde::Serialize;

    #[allow(dead_code)]
    #[derive(Serialize, JsonSchema)]
    enum State {
        Open,
        Closed,
    }

    #[allow(dead_code)]
    #[derive(Serialize, JsonSchema)]
    struct Person {
        login: String,
    }

    #[allow(dead_code)]
    #[derive(Serialize, JsonSchema)]
    /// A thing with every kind of field.
    struct Data {
        number: u64,
        title: String,
        state: State,
        merged_at: Option<chrono::DateTime<Utc>>,
        author: Option<Person>,
        reviewers: Vec<Person>,
        raw: serde_json::Value,
    }

    fn keywords(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    found.push(k.clone());
                    if k != "enum" {
                        keywords(v, found);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keywords(v, found)),
            _ => {}
        }
    }

    fn has_boolean_subschema(value: &Value) -> bool {
        match value {
            Value::Object(map) => map.iter().any(|(k, v)| match (k.as_str(), v) {
                ("properties", Value::Object(p)) => p
                    .values()
                    .any(|s| s.is_boolean() || has_boolean_subschema(s)),
                ("items" | "not", Value::Bool(_)) => true,
                ("anyOf" | "oneOf" | "allOf", Value::Array(a)) => {
                    a.iter().any(|s| s.is_boolean() || has_boolean_subschema(s))
                }
                ("enum" | "required", _) => false,
                _ => has_boolean_subschema(v),
            }),
            Value::Array(items) => items.iter().any(has_boolean_subschema),
            _ => false,
        }
    }

    #[test]
    fn a_stream_schema_is_flat_typed_and_portable() {
        let stream = StreamSchema::new("thing", &data_schema::<Data>()).unwrap();
        let s = &stream.schema;
        let mut found = Vec::new();
        keywords(s, &mut found);
        for banned in ["$defs", "$ref", "$schema", "const", "prefixItems"] {
            assert!(!found.iter().any(|k| k == banned), "{banned} in {s:#}");
        }
        assert!(!has_boolean_subschema(s), "{s:#}");
        let p = &s["properties"];
        assert_eq!(p["number"]["type"], json!(["integer", "null"]));
        assert_eq!(
            p["number"].get("format"),
            None,
            "uint64 is no standard format"
        );
        assert_eq!(p["merged_at"]["type"], json!(["string", "null"]));
        assert_eq!(p["merged_at"]["format"], "date-time");
        assert_eq!(p["author"]["type"], json!(["object", "null"]));
        assert_eq!(p["author"]["properties"]["login"]["type"], "string");
        assert_eq!(
            p["reviewers"]["items"]["properties"]["login"]["type"],
            "string"
        );
        assert!(
            p["state"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("Open"))
        );
        assert!(
            p["state"]["enum"]
                .as_array()
                .unwrap()
                .contains(&Value::Null)
        );
        assert_eq!(p["raw"], json!({}));
        assert_eq!(p["updated_at"]["format"], "date-time");
        assert_eq!(s["required"], json!(["id", "created_at", "updated_at"]));
        let fields: Vec<_> = stream.fields().collect();
        for field in ENVELOPE_FIELDS
            .iter()
            .chain(&[DELETED_FIELD, "title", "raw"])
        {
            assert!(fields.contains(field), "{field} not in {fields:?}");
        }
        assert_eq!(fields.len(), 12);
    }

    #[test]
    fn a_data_field_named_like_a_row_field_is_refused() {
        #[allow(dead_code)]
        #[derive(JsonSchema)]
        struct Clash {
            updated_at: String,
        }
        let error = StreamSchema::new("clash", &schemars::schema_for!(Clash)).unwrap_err();
        assert_eq!(
            error,
            SchemaError::FieldCollision {
                record_type: "clash".into(),
                field: "updated_at".into()
            }
        );
        assert!(error.to_string().contains("rename it"));
        let not_object = StreamSchema::new("n", &schemars::schema_for!(u32)).unwrap_err();
        assert_eq!(not_object, SchemaError::NotAnObject("n".into()));
    }

    #[test]
    fn recursive_references_end_as_any_value() {
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
            "$ref": "#/$defs/Node"
        });
        let out = portable(&schema);
        let mut depth = 0;
        let mut at = &out;
        while let Some(next) = at.get("properties").and_then(|p| p.get("next")) {
            depth += 1;
            at = next;
        }
        assert!(
            depth >= 1 && depth <= usize::from(MAX_REF_DEPTH) + 1,
            "{depth}"
        );
    }

    #[test]
    fn the_row_check_refuses_undeclared_fields_and_wrong_types() {
        let stream = StreamSchema::new("thing", &data_schema::<Data>()).unwrap();
        let check = RowCheck::new(&stream).unwrap();
        let ok = record(
            json!({"number": 1, "title": "t", "state": "Open", "merged_at": null,
                               "reviewers": [{"login": "a"}], "raw": [1]}),
        );
        assert_eq!(check.errors(&ok), Vec::<String>::new());
        let tombstone = record(json!({"number": 1, "deleted": true}));
        assert_eq!(check.errors(&tombstone), Vec::<String>::new());
        let extra = record(json!({"number": 1, "surprise": 2}));
        assert_eq!(check.errors(&extra).len(), 1, "{:?}", check.errors(&extra));
        let wrong = record(json!({"number": "1", "state": "Merged"}));
        assert_eq!(check.errors(&wrong).len(), 2, "{:?}", check.errors(&wrong));
    }

    fn record(data: Value) -> ConnectorRecord {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let mut r = ConnectorRecord::new("pr-1", "pull_request", "github", t, t);
        r.data = data.into();
        r.metadata = json!({"url": "u"}).into();
        r
    }

    #[test]
    fn a_row_is_the_record_flattened() {
        let r = record(json!({"title": "T", "labels": ["a"], "author": {"login": "x"}}));
        let mut out = Vec::new();
        write_row(&r, &mut out).unwrap();
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            row,
            json!({"id": "pr-1", "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
                   "title": "T", "labels": ["a"], "author": {"login": "x"}, "metadata": {"url": "u"}})
        );
        let mut empty = Vec::new();
        write_row(&record(json!({})), &mut empty).unwrap();
        let row: Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(row.as_object().unwrap().len(), 4);
        let mut selected = Vec::new();
        write_row_selected(&r, |f| f != "labels" && f != "metadata", &mut selected).unwrap();
        let row: Value = serde_json::from_slice(&selected).unwrap();
        assert_eq!(
            row,
            json!({"id": "pr-1", "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
                   "title": "T", "author": {"login": "x"}})
        );
    }
}
