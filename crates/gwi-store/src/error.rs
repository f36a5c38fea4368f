//! Turning `sqlx` failures into [`StoreError`]s that say what happened without leaking secrets.

use gwi_core::store::StoreError;

/// Classifies a `sqlx` error: transient connection trouble, a failed query, or undecodable data.
pub(crate) fn from_sqlx(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(error.to_string()),
        sqlx::Error::Configuration(_) => StoreError::Unavailable(error.to_string()),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(error.to_string()),
        sqlx::Error::Migrate(e) => StoreError::Migration(e.to_string()),
        other => StoreError::Query(other.to_string()),
    }
}

/// A migration failure.
pub(crate) fn from_migrate(error: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Migration(error.to_string())
}

/// A stored JSON column that does not parse.
pub(crate) fn corrupt_json(column: &str, error: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("column {column} is not valid JSON: {error}"))
}
