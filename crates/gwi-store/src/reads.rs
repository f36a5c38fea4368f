//! The record read both engines run, so each returns the same columns in the same order.

/// The columns each engine's `decode_record` reads, from every record.
pub(crate) const SELECT_RECORDS: &str =
    "SELECT record_type, id, source, created_at, updated_at, data, metadata FROM records";

/// Newest first, ties in key order, so every engine lists and limits alike.
pub(crate) const NEWEST_FIRST: &str = " ORDER BY updated_at DESC, connector, record_type, id";
