//! Inbox columns shared by both engines: status names and the kept headers as JSON.

use gwi_core::store::{InboxStatus, StoreError};

use crate::error::corrupt_json;

/// The status stored as text.
pub(crate) fn parse_status(text: &str) -> Result<InboxStatus, StoreError> {
    match text {
        "pending" => Ok(InboxStatus::Pending),
        "done" => Ok(InboxStatus::Done),
        "dead" => Ok(InboxStatus::Dead),
        other => Err(StoreError::Corrupt(format!(
            "unknown inbox status {other:?}"
        ))),
    }
}

/// Headers as JSON text: an array of `[name, value]` pairs (order and repeats kept).
pub(crate) fn headers_to_json(headers: &[(String, String)]) -> Result<String, StoreError> {
    serde_json::to_string(headers)
        .map_err(|e| StoreError::Query(format!("cannot encode headers: {e}")))
}

/// Reads headers stored by [`headers_to_json`].
pub(crate) fn headers_from_json(
    value: serde_json::Value,
) -> Result<Vec<(String, String)>, StoreError> {
    serde_json::from_value(value).map_err(|e| corrupt_json("headers", &e))
}
