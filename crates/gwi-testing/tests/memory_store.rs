//! The store conformance suite against `MemoryStore`.

use std::sync::Arc;

use gwi_testing::MemoryStore;
use gwi_testing::store_conformance::{Case, POISON_RECORD_ID};

gwi_testing::store_conformance_tests!(harness);

async fn harness(case: Case) {
    case(Arc::new(
        MemoryStore::new().fail_commits_with_record_id(POISON_RECORD_ID),
    ))
    .await;
}
