//! The sync engine: drives a connector's streams into a [`Store`](crate::store::Store) with checkpoints.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// What a finished sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncResult {
    /// Records yielded by the connector and committed (or emitted).
    pub records: u64,
    /// Wall-clock time of the run.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// The last committed cursor of each stream.
    pub cursors: BTreeMap<String, serde_json::Value>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
