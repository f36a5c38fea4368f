//! SQLite's inbox append and completion each run their whole transaction as one query; what a
//! failure in one leaves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{
    InboundWebhook, InboxAppend, InboxCompletion, InboxStatus, RecordQuery, Store,
};
use gwi_store::{SqliteOptions, SqliteStore};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Executor};

fn webhook(key: &str) -> InboundWebhook {
    InboundWebhook {
        tenant: "t".into(),
        connector: "github".into(),
        dedupe_key: key.into(),
        event_type: "pull_request".into(),
        headers: vec![("x-github-event".into(), "pull_request".into())],
        body: format!("{{\"delivery\":\"{key}\"}}").into_bytes().into(),
        received_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
    }
}

/// A store on a new file, with the directory that holds it (removed when dropped).
async fn open(busy_timeout: Duration) -> (tempfile::TempDir, PathBuf, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let options = SqliteOptions {
        busy_timeout,
        ..Default::default()
    };
    let store = SqliteStore::connect_with(&format!("sqlite://{}", path.display()), options)
        .await
        .unwrap();
    (dir, path, store)
}

/// A second connection to the same file, as another process would have.
async fn side_connection(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

async fn count(store: &SqliteStore, wanted: InboxStatus) -> u64 {
    store
        .inbox_counts()
        .await
        .unwrap()
        .into_iter()
        .find_map(|(status, n)| (status == wanted).then_some(n))
        .unwrap_or(0)
}

async fn pending(store: &SqliteStore) -> u64 {
    count(store, InboxStatus::Pending).await
}

#[tokio::test]
async fn a_batch_failing_after_its_rows_went_in_stores_none_of_it_and_the_writer_goes_on() {
    let (_dir, path, store) = open(Duration::from_secs(5)).await;
    // Refuses the body of one key: the batch fails after its inbox rows were inserted.
    let mut side = side_connection(&path).await;
    side.execute(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox_bodies \
         WHEN (SELECT dedupe_key FROM inbox WHERE id = NEW.id) = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'poison refused'); END",
    )
    .await
    .unwrap();

    let failed = store
        .inbox_append_batch(&[webhook("ok-1"), webhook("poison")])
        .await
        .unwrap_err();
    assert!(failed.to_string().contains("poison refused"), "{failed}");
    assert_eq!(pending(&store).await, 0, "a failed batch left rows behind");

    // The writer is usable at once, and the keys of the failed batch are not taken.
    let appended = store
        .inbox_append_batch(&[webhook("ok-1"), webhook("ok-2")])
        .await
        .unwrap();
    assert!(
        appended.iter().all(|a| matches!(a, InboxAppend::Stored(_))),
        "{appended:?}"
    );
    let fetched = store
        .inbox_fetch_pending(10, &gwi_core::store::Lease::new("test"))
        .await
        .unwrap();
    let mut bodies: Vec<_> = fetched.iter().map(|e| e.webhook.body.clone()).collect();
    bodies.sort();
    assert_eq!(
        bodies,
        vec![webhook("ok-1").body, webhook("ok-2").body],
        "every stored row has its own body"
    );
    side.close().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn a_batch_that_cannot_begin_fails_cleanly_and_the_next_one_is_stored() {
    let (_dir, path, store) = open(Duration::from_millis(100)).await;
    // Another process holds the write lock for longer than the store waits.
    let mut side = side_connection(&path).await;
    side.execute("BEGIN IMMEDIATE").await.unwrap();
    let failed = store
        .inbox_append_batch(&[webhook("busy-1")])
        .await
        .unwrap_err();
    assert!(failed.to_string().contains("locked"), "{failed}");
    side.execute("ROLLBACK").await.unwrap();

    let appended = store
        .inbox_append_batch(&[webhook("busy-1")])
        .await
        .unwrap();
    assert!(
        matches!(appended[0], InboxAppend::Stored(_)),
        "{appended:?}"
    );
    // Later writes of every kind still commit.
    assert_eq!(
        store.inbox_append(&webhook("busy-1")).await.unwrap(),
        InboxAppend::Duplicate
    );
    assert_eq!(pending(&store).await, 1);
    side.close().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn an_append_cancelled_at_any_point_stores_all_or_none_of_it_and_the_writer_goes_on() {
    let (_dir, _, store) = open(Duration::from_secs(5)).await;
    let store = std::sync::Arc::new(store);
    let mut expected = 0;
    // Later rounds give the append more time, so cancellation lands before, during and after
    // the transaction.
    for round in 0..10u32 {
        let batch: Vec<InboundWebhook> = (0..500)
            .map(|i| {
                let mut w = webhook(&format!("cancel-{round}-{i}"));
                w.body = format!(
                    "{{\"round\":{round},\"i\":{i},\"pad\":\"{}\"}}",
                    "x".repeat(4000)
                )
                .into_bytes()
                .into();
                w
            })
            .collect();
        let appending = {
            let store = store.clone();
            tokio::spawn(async move { store.inbox_append_batch(&batch).await })
        };
        tokio::time::sleep(Duration::from_micros(250 << round)).await;
        appending.abort();
        let finished = matches!(appending.await, Ok(Ok(_)));
        // The writer takes the next append whatever state the cancelled one left. A query that
        // reached SQLite's thread runs to its end even when its future is dropped, so only once
        // the writer has moved on is the cancelled batch settled.
        let next = store
            .inbox_append(&webhook(&format!("after-{round}")))
            .await
            .unwrap();
        assert!(matches!(next, InboxAppend::Stored(_)), "{next:?}");
        let now = pending(&store).await;
        assert!(
            now == expected + 1 || now == expected + 501,
            "round {round}: {now} pending, expected {} or {}",
            expected + 1,
            expected + 501
        );
        if finished {
            assert_eq!(
                now,
                expected + 501,
                "round {round}: a finished append was lost"
            );
        }
        expected = now;
    }
    store.close().await;
}

#[tokio::test]
async fn a_completion_failing_after_entries_were_marked_done_leaves_them_pending() {
    let (_dir, path, store) = open(Duration::from_secs(5)).await;
    let mut ids = Vec::new();
    for key in ["done-1", "done-2"] {
        match store.inbox_append(&webhook(key)).await.unwrap() {
            InboxAppend::Stored(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    // Refuses one record: the completion fails after its status update ran.
    let mut side = side_connection(&path).await;
    side.execute(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON records WHEN NEW.id = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'poison refused'); END",
    )
    .await
    .unwrap();
    let tenant_t = RecordQuery {
        tenant: "t".into(),
        ..Default::default()
    };
    let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let completion = |id: i64, record: &str| InboxCompletion {
        id,
        records: vec![ConnectorRecord::new(
            record,
            "pull_request",
            "github",
            at,
            at,
        )],
    };

    let failed = store
        .inbox_complete_batch(&[completion(ids[0], "pr-1"), completion(ids[1], "poison")])
        .await
        .unwrap_err();
    assert!(failed.to_string().contains("poison refused"), "{failed}");
    assert_eq!(
        pending(&store).await,
        2,
        "a failed completion marked entries done"
    );
    assert_eq!(store.count_records(&tenant_t).await.unwrap(), 0);

    // The writer takes the next completion at once.
    store
        .inbox_complete_batch(&[completion(ids[0], "pr-1"), completion(ids[1], "pr-2")])
        .await
        .unwrap();
    assert_eq!(count(&store, InboxStatus::Done).await, 2);
    assert_eq!(store.count_records(&tenant_t).await.unwrap(), 2);
    side.close().await.unwrap();
    store.close().await;
}
