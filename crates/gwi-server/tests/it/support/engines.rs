//! The real store engines, for end-to-end tests that must not depend on the test double.

use std::sync::Arc;

use gwi_core::record::ConnectorRecord;
use gwi_core::store::{InboxStatus, RecordQuery, Store};
use gwi_store::SqliteStore;
use gwi_testing::MemoryStore;
use tempfile::TempDir;

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    /// `gwi_testing::MemoryStore`.
    Memory,
    /// `gwi_store::SqliteStore` on a fresh file.
    Sqlite,
}

/// An opened engine; its files live as long as this does.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    _dir: Option<TempDir>,
}

impl Engine {
    /// Opens a fresh, empty store.
    pub async fn open(self) -> Opened {
        match self {
            Self::Memory => Opened {
                store: Arc::new(MemoryStore::new()),
                _dir: None,
            },
            Self::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("gwi.db").display());
                Opened {
                    store: Arc::new(SqliteStore::connect(&url).await.unwrap()),
                    _dir: Some(dir),
                }
            }
        }
    }
}

/// How many inbox entries have `status`.
pub async fn inbox_count(store: &dyn Store, status: InboxStatus) -> u64 {
    store
        .inbox_counts()
        .await
        .unwrap()
        .into_iter()
        .filter(|(s, _)| *s == status)
        .map(|(_, n)| n)
        .sum()
}

/// Every record of `tenant`.
pub async fn records_of(store: &dyn Store, tenant: &str) -> Vec<ConnectorRecord> {
    store
        .query_records(&RecordQuery {
            tenant: tenant.to_owned(),
            ..RecordQuery::default()
        })
        .await
        .unwrap()
}
