//! Storage engines for gwi: SQLite (default) and PostgreSQL.
//!
//! Both implement [`gwi_core::store::Store`] and pass the shared conformance suite in
//! `gwi_testing::store_conformance`. Pick one by URL with [`open`]:
//!
//! - `sqlite://./gwi.db`, `sqlite:///var/lib/gwi/gwi.db`, `sqlite::memory:` — a single file, no
//!   server; the default.
//! - `postgres://user@host/db` — for several workers sharing one store.
//!
//! Both use `sqlx` (runtime-checked queries, embedded migrations run on open): one async driver
//! family for both databases, and `rusqlite` could not link beside it.

mod batch;
mod codec;
mod error;
mod inbox;
pub mod postgres;
mod reads;
pub mod sqlite;
pub mod store_url;

use std::sync::Arc;

use gwi_core::store::{Store, StoreError};

pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore};

/// Opens the store `url` names: `sqlite:...` or `postgres:`/`postgresql:...`.
///
/// Migrations run before this returns. Any other scheme is
/// [`StoreError::UnsupportedUrl`] (with credentials redacted).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let engine = store_url::engine_for(url);
    tracing::debug!(?engine, url = %store_url::redact(url), "opening store");
    match engine {
        Some(store_url::Engine::Sqlite) => Ok(Arc::new(SqliteStore::connect(url).await?)),
        Some(store_url::Engine::Postgres) => Ok(Arc::new(PostgresStore::connect(url).await?)),
        None => Err(StoreError::UnsupportedUrl(store_url::redact(url))),
    }
}
