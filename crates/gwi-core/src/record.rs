//! `ConnectorRecord`: the one shape every connector turns provider data into.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    pub data: serde_json::Value,
    /// Links and provenance (a JSON object, possibly empty).
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
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
            data: empty_object(),
            metadata: empty_object(),
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

fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> ConnectorRecord {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut r = ConnectorRecord::new("pr-1", "pull_request", "github", t, t);
        r.data = json!({"number": 1});
        r
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
        r.data = json!([1]);
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
}
