//! Inbox logic shared by both engines: status names, the kept headers as JSON, and how a batch
//! append maps the rows it stored back to the deliveries.

use std::collections::{HashMap, HashSet};

use gwi_core::store::{InboundWebhook, InboxAppend, InboxStatus, StoreError};

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

/// Indexes of the first delivery of each (tenant, connector, key) in `webhooks`, ordered by key.
///
/// Only these go into the insert, so every row it returns belongs to exactly one delivery. The
/// fixed order makes two writers appending overlapping batches wait on each other rather than
/// deadlock.
pub(crate) fn first_of_each_key(webhooks: &[InboundWebhook]) -> Vec<usize> {
    let mut seen = HashSet::with_capacity(webhooks.len());
    let mut first: Vec<usize> = (0..webhooks.len())
        .filter(|&i| {
            seen.insert((
                webhooks[i].tenant.as_str(),
                webhooks[i].connector.as_str(),
                webhooks[i].dedupe_key.as_str(),
            ))
        })
        .collect();
    first.sort_unstable_by_key(|&i| {
        (
            &webhooks[i].tenant,
            &webhooks[i].connector,
            &webhooks[i].dedupe_key,
        )
    });
    first
}

/// Each delivery's outcome, given the ids of the rows stored by (tenant, connector, key).
///
/// A key not stored was already in the inbox; a repeat of a stored key later in the batch finds
/// its id taken by the first occurrence: both are duplicates.
pub(crate) fn outcomes(
    webhooks: &[InboundWebhook],
    mut stored: HashMap<(String, String, String), i64>,
) -> Vec<InboxAppend> {
    webhooks
        .iter()
        .map(|w| {
            stored
                .remove(&(w.tenant.clone(), w.connector.clone(), w.dedupe_key.clone()))
                .map_or(InboxAppend::Duplicate, InboxAppend::Stored)
        })
        .collect()
}

/// `NotFound` naming how many of `ids` (counted once each) were not among the `found` entries.
pub(crate) fn all_found(ids: &[i64], found: usize) -> Result<(), StoreError> {
    let unknown = ids
        .iter()
        .collect::<HashSet<_>>()
        .len()
        .saturating_sub(found);
    if unknown > 0 {
        return Err(StoreError::NotFound(format!(
            "{unknown} of the inbox entries"
        )));
    }
    Ok(())
}
