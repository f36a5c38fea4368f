//! The store conformance suite against `PostgresStore` (a schema per case).

gwi_testing::store_conformance_tests!(crate::support::postgres_harness);

use std::sync::Arc;

use gwi_core::record::ConnectorRecord;
use gwi_core::store::{RecordQuery, Scope, Store};
use gwi_core::stream::Checkpoint;
use gwi_testing::store_conformance::{POISON_RECORD_ID, case};

/// A large batch is written as key ranges over several connections, each committed on its
/// own: a range that fails leaves the others stored (the next run writes them again), and
/// never the checkpoint.
#[tokio::test]
async fn a_large_batch_is_written_in_ranges_that_commit_on_their_own() {
    crate::support::postgres_harness(case(ranges_commit_on_their_own)).await;
}

async fn ranges_commit_on_their_own(store: Arc<dyn Store>) {
    let scope = Scope::new("tenant-a", "github");
    let at = chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap();
    // The poison id sorts last, so it falls in the last range.
    let mut batch: Vec<ConnectorRecord> = (0..3_000)
        .map(|i| ConnectorRecord::new(format!("a{i:05}"), "issue", "github", at, at))
        .collect();
    batch.push(ConnectorRecord::new(
        POISON_RECORD_ID,
        "issue",
        "github",
        at,
        at,
    ));
    let checkpoint = Checkpoint {
        stream: "s".into(),
        cursor: serde_json::json!(2),
    };
    assert!(
        store
            .commit_batch(&scope, &batch, Some(&checkpoint))
            .await
            .is_err()
    );
    let query = RecordQuery {
        tenant: "tenant-a".into(),
        ..RecordQuery::default()
    };
    let stored = store.count_records(&query).await.unwrap();
    assert!(
        stored > 0 && stored < 3_000,
        "{stored} stored: the batch was not split"
    );
    assert!(store.load_state(&scope).await.unwrap().is_empty());
}
