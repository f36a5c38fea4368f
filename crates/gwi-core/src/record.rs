//! `ConnectorRecord`: the one shape every connector turns provider data into.

use std::fmt;

use chrono::SubsecRound as _;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::FieldError;

/// One item of provider data in gwi's standard shape.
///
/// Records are unique by (tenant, connector, `record_type`, `id`): the same pull request synced
/// twice, or once by a sync and once by a webhook, is one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorRecord {
    /// Stable id, unique within the connector and type (e.g. `pr-1234`).
    #[schemars(length(min = 1))]
    pub id: String,
    /// Record type, lower snake case (e.g. `pull_request`).
    #[serde(rename = "type")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub record_type: String,
    /// Name of the connector that produced it.
    #[schemars(length(min = 1))]
    pub source: String,
    /// When the provider created the object.
    pub created_at: DateTime<Utc>,
    /// When the provider last changed the object; newer wins on upsert.
    pub updated_at: DateTime<Utc>,
    /// The useful fields of the object (a JSON object).
    pub data: JsonText,
    /// Links and provenance (a JSON object, possibly empty).
    #[serde(default = "JsonText::empty_object")]
    pub metadata: JsonText,
}

impl ConnectorRecord {
    /// Starts a record with empty `data` and `metadata`.
    pub fn new(
        id: impl Into<String>,
        record_type: impl Into<String>,
        source: impl Into<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            record_type: record_type.into(),
            source: source.into(),
            created_at,
            updated_at,
            data: JsonText::empty_object(),
            metadata: JsonText::empty_object(),
        }
    }

    /// Checks the rules the JSON Schema states, returning every violation by field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.id.trim().is_empty() {
            errors.push(FieldError::new("id", "must not be empty"));
        }
        if !is_snake_case(&self.record_type) {
            errors.push(FieldError::new(
                "type",
                format!(
                    "{:?} is not lower snake case (e.g. pull_request)",
                    self.record_type
                ),
            ));
        }
        if self.source.trim().is_empty() {
            errors.push(FieldError::new("source", "must not be empty"));
        }
        if !self.data.is_object() {
            errors.push(FieldError::new("data", "must be a JSON object"));
        }
        if !self.metadata.is_object() {
            errors.push(FieldError::new("metadata", "must be a JSON object"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The JSON Schema of a record, as published by `gwi` and used by contract tests.
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(ConnectorRecord)
    }
}

impl ConnectorRecord {
    /// Marks the record deleted upstream: same id and fields, plus `data.deleted = true`.
    ///
    /// Providers describe a deleted object as it was, with its old `updated_at`; the tombstone
    /// is stamped `now` (if later) so it replaces the stored copy under the newer-wins upsert.
    /// A sync never lists a deleted object again, so without it the store keeps it forever.
    /// `now` is cut to the microsecond, the precision every store keeps, so the tombstone reads
    /// back from a store exactly as it was written.
    pub fn into_tombstone(mut self, now: DateTime<Utc>) -> Self {
        self.set_field("deleted", Value::Bool(true));
        self.updated_at = self.updated_at.max(now.trunc_subsecs(6));
        self
    }

    /// Whether the record is a tombstone (see [`into_tombstone`](Self::into_tombstone)).
    pub fn is_tombstone(&self) -> bool {
        self.data.get("deleted") == Some(Value::Bool(true))
    }

    /// Sets `key` in `data` (facts only an event carries, such as where an object moved).
    pub fn set_field(&mut self, key: &str, value: Value) {
        if let Value::Object(mut data) = self.data.to_value() {
            data.insert(key.to_owned(), value);
            self.data = Value::Object(data).into();
        }
    }
}

/// Who a record is and when it changed: everything but its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    /// The connector's name.
    pub source: &'a str,
    /// The record type.
    pub record_type: &'a str,
    /// The record's stable id.
    pub id: String,
    /// When the provider created the object.
    pub created_at: DateTime<Utc>,
    /// When the provider last changed it.
    pub updated_at: DateTime<Utc>,
}

impl Envelope<'_> {
    /// The record, with `data` and `metadata` serialized once (typically structs of borrowed
    /// fields); an encoding error names the field and the record.
    pub fn encode(
        self,
        data: &impl Serialize,
        metadata: &impl Serialize,
    ) -> Result<ConnectorRecord, crate::error::ConnectorError> {
        let named = |field: &str, value: Result<JsonText, serde_json::Error>| {
            value.map_err(|e| {
                crate::error::ConnectorError::validation(
                    self.source,
                    field,
                    format!("{}: {e}", self.id),
                )
            })
        };
        let data = named("data", JsonText::encode(data))?;
        let metadata = named("metadata", JsonText::encode(metadata))?;
        Ok(self.with(data, metadata))
    }

    /// The record with `data` serialized once and empty `metadata`, for connectors that keep
    /// nothing beside the object itself.
    pub fn encode_data(
        self,
        data: &impl Serialize,
    ) -> Result<ConnectorRecord, crate::error::ConnectorError> {
        let data = JsonText::encode(data).map_err(|e| {
            crate::error::ConnectorError::validation(
                self.source,
                "data",
                format!("{}: {e}", self.id),
            )
        })?;
        Ok(self.with(data, JsonText::empty_object()))
    }

    fn with(self, data: JsonText, metadata: JsonText) -> ConnectorRecord {
        ConnectorRecord {
            id: self.id,
            record_type: self.record_type.to_owned(),
            source: self.source.to_owned(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            data,
            metadata,
        }
    }
}

/// The value of the four hex digits at the start of `hex`, if they are four hex digits.
fn hex4(hex: &[u8]) -> Option<u32> {
    let digits = hex.get(..4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// `text` with every `\u0000` escape and every lone surrogate escape (`\ud800` without its
/// pair) replaced by `\ufffd`, or `None` when there is none. PostgreSQL's `jsonb` refuses both,
/// and one such record would fail its whole batch, and every later run at the same cursor.
fn storable_text(text: &str) -> Option<String> {
    if !text.contains("\\u") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut last, mut i, mut changed) = (0, 0, false);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        let code = bytes.get(i + 2..).and_then(hex4);
        let unstorable = match code {
            Some(0) | Some(0xDC00..=0xDFFF) => true,
            Some(0xD800..=0xDBFF) => {
                let next = bytes.get(i + 6..);
                let paired = next.is_some_and(|n| n.starts_with(b"\\u"))
                    && matches!(
                        next.and_then(|n| n.get(2..)).and_then(hex4),
                        Some(0xDC00..=0xDFFF)
                    );
                if paired {
                    i += 12;
                    continue;
                }
                true
            }
            _ => false,
        };
        if unstorable {
            out.push_str(&text[last..i]);
            out.push_str("\\ufffd");
            last = i + 6;
            changed = true;
        }
        i += 6;
    }
    changed.then(|| {
        out.push_str(text.get(last..).unwrap_or_default());
        out
    })
}

/// A JSON value kept as its serialized text: a record's `data` and `metadata`.
///
/// Records are written far more often than they are looked into, so a connector serializes a
/// record's fields once, where it builds them ([`JsonText::encode`]), and stores and
/// protocol writers pass that text through. [`to_value`](Self::to_value) parses it back for
/// the few places that inspect fields. Two values are equal when their JSON is, whatever the
/// key order or spacing (PostgreSQL's `jsonb` hands back its own layout).
///
/// Every store can keep every value: a `\u0000` escape (a NUL character) or a lone surrogate
/// escape becomes `\ufffd` (the replacement character) when the text is made.
#[derive(Clone)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// `raw`, with what no store can keep replaced (see the type's docs).
    fn storable(raw: Box<RawValue>) -> Self {
        match storable_text(raw.get()).map(RawValue::from_string) {
            Some(Ok(cleaned)) => Self(cleaned),
            _ => Self(raw),
        }
    }

    /// `{}`.
    pub fn empty_object() -> Self {
        Self::from(Value::Object(serde_json::Map::new()))
    }

    /// Serializes `value` (typically a struct of borrowed fields, so nothing is copied twice).
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self::storable)
    }

    /// Takes JSON text as stored, checking that it is JSON.
    pub fn from_text(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self::storable)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Whether the value is a JSON object.
    pub fn is_object(&self) -> bool {
        self.as_str().trim_start().starts_with('{')
    }

    /// The value parsed, to look into its fields.
    pub fn to_value(&self) -> Value {
        // The text was checked (or produced) as JSON, so it parses.
        serde_json::from_str(self.as_str()).unwrap_or(Value::Null)
    }

    /// The field `key` of an object, parsed (`None` if absent or not an object).
    pub fn get(&self, key: &str) -> Option<Value> {
        match self.to_value() {
            Value::Object(mut map) => map.remove(key),
            _ => None,
        }
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        // Serializing a `Value` cannot fail: its keys are strings and its numbers finite.
        Self::storable(
            serde_json::value::to_raw_value(&value).unwrap_or_else(|_| RawValue::NULL.to_owned()),
        )
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl PartialEq<Value> for JsonText {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self::storable)
    }
}

impl JsonSchema for JsonText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Value::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Value::json_schema(generator)
    }
}

fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Declares a connector's record types: an enum whose variants carry the names used in records,
/// stream names and configs, with `ALL`, `NAMES`, `as_str`, `parse`, `Display`, serde and JSON
/// Schema. The calling crate depends on `serde` and `schemars`, as every connector does for its
/// config.
///
/// ```
/// gwi_core::record_types! {
///     /// What the todos connector syncs.
///     pub enum TodoType {
///         /// A todo (`todo-<id>`).
///         Todo = "todo",
///         /// A project (`project-<id>`).
///         Project = "project",
///     }
/// }
/// assert_eq!(TodoType::parse("project"), Some(TodoType::Project));
/// assert_eq!(TodoType::NAMES, ["todo", "project"]);
/// ```
#[macro_export]
macro_rules! record_types {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Deserialize, ::serde::Serialize, ::schemars::JsonSchema,
        )]
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every type, in the order streams are read.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Every type's name, in the same order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name used in records, stream names and configs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The types a config's `types` list turns on (all when it has none), in the
            /// order streams are read.
            pub fn enabled(chosen: Option<&[Self]>) -> Vec<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .filter(|t| chosen.is_none_or(|chosen| chosen.contains(t)))
                    .collect()
            }

            /// The type named `name`, if there is one.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {

    #[test]
    fn nul_characters_and_lone_surrogates_become_replacement_characters() {
        let encoded =
            JsonText::encode(&serde_json::json!({"t": "a\u{0}b", "k": "\u{1b}[0m"})).unwrap();
        assert_eq!(encoded.get("t"), Some(Value::String("a\u{fffd}b".into())));
        assert_eq!(
            encoded.get("k"),
            Some(Value::String("\u{1b}[0m".into())),
            "other escapes stay"
        );
        for (stored, expected) in [
            (r#"{"s":"\ud83d\ude00"}"#, r#"{"s":"\ud83d\ude00"}"#),
            (r#"{"s":"\ud83d!"}"#, r#"{"s":"\ufffd!"}"#),
            (r#"{"s":"\ude00\u0000"}"#, r#"{"s":"\ufffd\ufffd"}"#),
            (r#"{"s":"\\u0000"}"#, r#"{"s":"\\u0000"}"#),
            (r#"{"s":"\ud83d"}"#, r#"{"s":"\ufffd"}"#),
        ] {
            let text = JsonText::from_text(stored.to_owned()).unwrap();
            assert_eq!(text.as_str(), expected, "{stored}");
        }
    }

    proptest::proptest! {
        #[test]
        fn stored_text_is_json_without_nul_or_lone_surrogates(s in "[a\\x00\\\\\"\u{1F600}]{0,12}", hex in "[0-9a-fA-F]{4}") {
            let raw = format!(r#"{{"s":{},"e":"\u{}\ud800x"}}"#, serde_json::to_string(&s).unwrap(), hex);
            if let Ok(text) = JsonText::from_text(raw) {
                let parsed: Result<Value, _> = serde_json::from_str(text.as_str());
                proptest::prop_assert!(parsed.is_ok(), "{}", text.as_str());
                proptest::prop_assert!(!text.as_str().contains("\\u0000"));
            }
        }
    }
    use super::*;
    use serde_json::json;

    fn record() -> ConnectorRecord {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut r = ConnectorRecord::new("pr-1", "pull_request", "github", t, t);
        r.data = json!({"number": 1}).into();
        r
    }

    crate::record_types! {
        /// Types of a test connector.
        enum Kind {
            /// First.
            PullRequest = "pull_request",
            /// Second.
            Issue = "issue",
        }
    }

    #[test]
    fn declared_record_types_agree_with_serde_and_their_names() {
        for (kind, name) in Kind::ALL.iter().zip(Kind::NAMES) {
            assert_eq!(kind.as_str(), *name);
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(name));
            assert_eq!(Kind::parse(name), Some(*kind));
            assert_eq!(kind.to_string(), *name);
        }
        assert_eq!(Kind::parse("wiki"), None);
        assert_eq!(
            Kind::enabled(None),
            Kind::ALL,
            "no list turns every type on"
        );
        assert_eq!(
            Kind::enabled(Some(&[Kind::Issue, Kind::PullRequest])),
            Kind::ALL,
            "in read order"
        );
        assert_eq!(Kind::enabled(Some(&[Kind::Issue])), [Kind::Issue]);
        let schema = serde_json::to_string(&schemars::schema_for!(Kind)).unwrap();
        assert!(schema.contains("pull_request"), "{schema}");
    }

    #[test]
    fn a_tombstone_keeps_the_id_and_fields_and_wins_the_upsert() {
        let live = record();
        assert!(!live.is_tombstone());
        let now = live.updated_at + chrono::Duration::days(1);
        let dead = live.clone().into_tombstone(now);
        assert!(dead.is_tombstone());
        assert_eq!(dead.id, live.id);
        assert_eq!(dead.data.get("number"), Some(json!(1)));
        assert_eq!(dead.updated_at, now);
        let earlier = live.updated_at - chrono::Duration::days(1);
        assert_eq!(
            live.clone().into_tombstone(earlier).updated_at,
            live.updated_at
        );
        let nanos = now + chrono::Duration::nanoseconds(1_234_567);
        assert_eq!(
            live.clone().into_tombstone(nanos).updated_at,
            now + chrono::Duration::microseconds(1_234),
            "kept to the microsecond, as stores keep it"
        );
    }

    #[test]
    fn an_envelope_encodes_data_and_metadata_once() {
        let t = record().created_at;
        let envelope = Envelope {
            source: "demo",
            record_type: "todo",
            id: "todo-1".into(),
            created_at: t,
            updated_at: t,
        };
        let r = envelope
            .encode(&json!({"title": "x"}), &json!({"url": "u"}))
            .unwrap();
        assert_eq!(
            (r.id.as_str(), r.record_type.as_str(), r.source.as_str()),
            ("todo-1", "todo", "demo")
        );
        assert_eq!(r.data, json!({"title": "x"}));
        assert_eq!(r.metadata, json!({"url": "u"}));
        assert!(r.validate().is_ok());
    }

    #[test]
    fn an_envelope_that_cannot_encode_names_the_field_and_the_record() {
        let t = record().created_at;
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), "a map with non-string keys is not JSON");
        let envelope = Envelope {
            source: "demo",
            record_type: "todo",
            id: "todo-9".into(),
            created_at: t,
            updated_at: t,
        };
        let text = envelope.encode(&bad, &json!({})).unwrap_err().to_string();
        assert!(text.contains("data") && text.contains("todo-9"), "{text}");
    }

    #[test]
    fn a_well_formed_record_validates_and_round_trips_as_json() {
        let r = record();
        assert!(r.validate().is_ok());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["type"], "pull_request");
        assert_eq!(json["created_at"], "2024-01-02T03:04:05Z");
        let back: ConnectorRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn validate_reports_every_bad_field() {
        let mut r = record();
        r.id = " ".into();
        r.record_type = "PullRequest".into();
        r.data = json!([1]).into();
        let errors = r.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "type", "data"]);
    }

    #[test]
    fn schema_requires_the_core_fields() {
        let schema = serde_json::to_value(ConnectorRecord::json_schema()).unwrap();
        let required = schema["required"].as_array().unwrap();
        for field in ["id", "type", "source", "created_at", "updated_at", "data"] {
            assert!(required.iter().any(|v| v == field), "{field} not required");
        }
    }

    #[test]
    fn json_text_is_written_through_as_is() {
        let mut r = record();
        r.data = JsonText::from_text(r#"{"b":1,"a":[true,null]}"#.to_owned()).unwrap();
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains(r#""data":{"b":1,"a":[true,null]}"#), "{line}");
    }

    #[test]
    fn json_text_equality_ignores_key_order_and_spacing() {
        let compact = JsonText::from_text(r#"{"a":1,"b":{"c":[1,2]}}"#.to_owned()).unwrap();
        let spaced = JsonText::from_text(r#"{ "b": {"c": [1, 2]}, "a": 1 }"#.to_owned()).unwrap();
        let other = JsonText::from_text(r#"{"a":2,"b":{"c":[1,2]}}"#.to_owned()).unwrap();
        assert_eq!(compact, spaced);
        assert_ne!(compact, other);
        assert_eq!(compact, json!({"a": 1, "b": {"c": [1, 2]}}));
    }

    #[test]
    fn json_text_refuses_text_that_is_not_json() {
        assert!(JsonText::from_text("{\"a\":".to_owned()).is_err());
        assert!(JsonText::from_text("not json".to_owned()).is_err());
    }

    #[test]
    fn json_text_knows_objects_and_reads_fields() {
        let text = JsonText::encode(&json!({"title": "x"})).unwrap();
        assert!(text.is_object());
        assert_eq!(text.get("title"), Some(json!("x")));
        assert_eq!(text.get("missing"), None);
        let list = JsonText::from(json!([1]));
        assert!(!list.is_object());
        assert_eq!(list.get("title"), None);
        assert!(JsonText::empty_object().is_object());
    }
}
