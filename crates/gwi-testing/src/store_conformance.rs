//! The one behaviour suite every [`Store`] engine must pass (SQLite, PostgreSQL, memory).
//!
//! Each case is a `pub async fn` taking a fresh, empty store. An engine's tests run them all with
//! [`store_conformance_tests!`](crate::store_conformance_tests), which generates one `#[tokio::test]`
//! per case around a harness of the engine's choosing:
//!
//! ```text
//! gwi_testing::store_conformance_tests!(harness);
//!
//! async fn harness(case: gwi_testing::store_conformance::Case) {
//!     let store = MyStore::open_fresh().await;   // arm POISON_RECORD_ID, see below
//!     case(Arc::new(store)).await;
//! }
//! ```
//!
//! The harness must make `commit_batch` fail, inside its transaction, for any record whose id is
//! [`POISON_RECORD_ID`] (a trigger in SQL engines): that is how the suite proves a failed batch
//! leaves neither its records nor its checkpoint behind.

// Test-suite code: a failed unwrap is a failed conformance check, reported by the test harness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use futures::future::BoxFuture;
use gwi_core::record::{ConnectorRecord, JsonText};
use gwi_core::store::{
    InboundWebhook, InboxAppend, InboxBacklog, InboxCompletion, InboxPruned, InboxStatus, Lease,
    RecordQuery, Scope, Store, StoreError, StreamState, SyncRun,
};
use gwi_core::stream::Checkpoint;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// A conformance case, ready to run against a store.
pub type Case = Box<dyn FnOnce(Arc<dyn Store>) -> BoxFuture<'static, ()> + Send>;

/// Wraps a case function as a [`Case`].
pub fn case<F>(f: fn(Arc<dyn Store>) -> F) -> Case
where
    F: Future<Output = ()> + Send + 'static,
{
    Box::new(move |store| Box::pin(f(store)))
}

/// Records with this id must make `commit_batch` fail inside the engine's transaction.
pub const POISON_RECORD_ID: &str = "poison-record";

/// Generates one `#[tokio::test]` per conformance case, each calling `$harness(case).await`.
///
/// `$harness` is an `async fn(Case)` that builds a fresh store, runs the case on it and cleans up.
#[macro_export]
macro_rules! store_conformance_tests {
    ($harness:path) => {
        $crate::store_conformance_tests!(@cases $harness;
            commit_batch_stores_records_with_their_checkpoint,
            failed_commit_stores_neither_records_nor_checkpoint,
            commit_without_checkpoint_keeps_the_stored_one,
            checkpoint_only_commit_saves_state,
            upsert_keeps_the_newest_updated_at,
            duplicate_ids_in_one_batch_keep_the_newest,
            records_are_unique_by_tenant_connector_type_and_id,
            records_round_trip_unchanged,
            records_with_nul_characters_are_stored_not_refused,
            large_batches_are_stored_whole,
            a_failed_large_batch_keeps_its_checkpoint,
            query_filters_orders_and_limits,
            count_ignores_limit,
            written_before_selects_by_when_a_record_was_last_written,
            streamed_records_are_one_snapshot_while_records_are_written,
            state_is_kept_per_scope_and_stream,
            reset_state_forgets_one_stream_or_all,
            idempotency_key_is_claimed_once,
            concurrent_claims_of_one_key_have_one_winner,
            expired_idempotency_key_can_be_claimed_again,
            released_idempotency_key_can_be_claimed_at_once,
            inbox_append_dedupes_per_tenant_and_connector,
            inbox_batch_append_stores_every_delivery_whole,
            inbox_batch_append_stores_a_repeated_key_once,
            inbox_batch_append_finds_earlier_deliveries_duplicate,
            inbox_large_batch_append_stores_each_key_once,
            inbox_bodies_round_trip_byte_for_byte,
            inbox_fetch_returns_pending_oldest_first_and_leases_them,
            concurrent_inbox_fetches_never_share_an_entry,
            inbox_failed_entries_retry_then_go_dead,
            inbox_marking_an_unknown_entry_is_not_found,
            inbox_a_late_failure_does_not_undo_a_completion,
            inbox_done_batch_marks_every_known_entry,
            inbox_completion_stores_records_under_each_entry_scope,
            inbox_counts_report_every_status,
            inbox_a_replayed_body_under_a_fresh_key_is_a_duplicate,
            inbox_prune_drops_settled_bodies_then_settled_entries,
            refresh_token_round_trips_per_scope,
            a_lease_has_one_holder_until_released_or_run_out,
            concurrent_takers_of_a_lease_have_one_winner,
            renewed_leases_stay_held_and_lapsed_ones_are_taken_over,
            released_leases_are_free_at_once,
            a_failed_entrys_retry_time_outlives_its_lease,
            sync_runs_are_kept_per_scope,
            a_budget_grants_its_burst_then_its_rate,
            concurrent_takers_never_overspend_a_budget,
            a_paused_budget_grants_nothing_until_the_pause_ends,
            ping_answers,
        );
    };
    (@cases $harness:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $harness($crate::store_conformance::case($crate::store_conformance::$case)).await;
            }
        )*
    };
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_704_067_200 + secs, 0)
        .single()
        .unwrap_or_default()
}

fn scope() -> Scope {
    Scope::new("tenant-a", "github")
}

/// A record of `record_type` updated `updated` seconds after the suite's epoch.
fn record(id: &str, record_type: &str, updated: i64) -> ConnectorRecord {
    let mut r = ConnectorRecord::new(id, record_type, "github", at(0), at(updated));
    r.data = json!({"id": id, "version": updated}).into();
    r.metadata = json!({"url": format!("https://example.test/{id}")}).into();
    r
}

fn checkpoint(stream: &str, cursor: Value) -> Checkpoint {
    Checkpoint {
        stream: stream.into(),
        cursor,
    }
}

fn all(tenant: &str) -> RecordQuery {
    RecordQuery {
        tenant: tenant.into(),
        ..Default::default()
    }
}

async fn ids(store: &dyn Store, query: &RecordQuery) -> Vec<String> {
    store
        .query_records(query)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn states(mut s: Vec<StreamState>) -> Vec<(String, Value)> {
    s.sort_by(|a, b| a.stream.cmp(&b.stream));
    s.into_iter().map(|s| (s.stream, s.cursor)).collect()
}

/// Records and their checkpoint are stored by one commit.
pub async fn commit_batch_stores_records_with_their_checkpoint(store: Arc<dyn Store>) {
    let records = vec![
        record("1", "issue", 10),
        record("2", "issue", 20),
        record("3", "issue", 30),
    ];
    let outcome = store
        .commit_batch(
            &scope(),
            &records,
            Some(&checkpoint("acme/widgets/issue", json!({"page": 2}))),
        )
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.unchanged), (3, 0));
    let stored = store.query_records(&all("tenant-a")).await.unwrap();
    assert_eq!(
        stored,
        vec![records[2].clone(), records[1].clone(), records[0].clone()]
    );
    assert_eq!(
        states(store.load_state(&scope()).await.unwrap()),
        vec![("acme/widgets/issue".to_owned(), json!({"page": 2}))]
    );
}

/// A commit that fails midway leaves no record and no checkpoint behind.
pub async fn failed_commit_stores_neither_records_nor_checkpoint(store: Arc<dyn Store>) {
    store
        .commit_batch(
            &scope(),
            &[record("0", "issue", 1)],
            Some(&checkpoint("s", json!(1))),
        )
        .await
        .unwrap();
    let batch = vec![
        record("1", "issue", 10),
        record(POISON_RECORD_ID, "issue", 11),
        record("2", "issue", 12),
    ];
    let failed = store
        .commit_batch(&scope(), &batch, Some(&checkpoint("s", json!(2))))
        .await;
    assert!(failed.is_err(), "the poison record must fail the batch");
    assert_eq!(ids(store.as_ref(), &all("tenant-a")).await, vec!["0"]);
    assert_eq!(
        states(store.load_state(&scope()).await.unwrap()),
        vec![("s".to_owned(), json!(1))]
    );
    // The store is still usable after a failed transaction.
    store
        .commit_batch(
            &scope(),
            &[record("1", "issue", 10)],
            Some(&checkpoint("s", json!(2))),
        )
        .await
        .unwrap();
    assert_eq!(store.count_records(&all("tenant-a")).await.unwrap(), 2);
}

/// A batch without a checkpoint leaves the stored cursor alone; a later checkpoint replaces it.
pub async fn commit_without_checkpoint_keeps_the_stored_one(store: Arc<dyn Store>) {
    let s = scope();
    store
        .commit_batch(
            &s,
            &[record("1", "issue", 1)],
            Some(&checkpoint("s", json!("c1"))),
        )
        .await
        .unwrap();
    store
        .commit_batch(&s, &[record("2", "issue", 2)], None)
        .await
        .unwrap();
    assert_eq!(
        states(store.load_state(&s).await.unwrap()),
        vec![("s".to_owned(), json!("c1"))]
    );
    store
        .commit_batch(
            &s,
            &[record("3", "issue", 3)],
            Some(&checkpoint("s", json!("c2"))),
        )
        .await
        .unwrap();
    assert_eq!(
        states(store.load_state(&s).await.unwrap()),
        vec![("s".to_owned(), json!("c2"))]
    );
    assert_eq!(store.count_records(&all("tenant-a")).await.unwrap(), 3);
}

/// A checkpoint with no records (an empty page) is still saved.
pub async fn checkpoint_only_commit_saves_state(store: Arc<dyn Store>) {
    let outcome = store
        .commit_batch(
            &scope(),
            &[],
            Some(&checkpoint("s", json!({"since": "2024-01-01"}))),
        )
        .await
        .unwrap();
    assert_eq!((outcome.written, outcome.unchanged), (0, 0));
    let loaded = store.load_state(&scope()).await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].stream, "s");
    assert_eq!(loaded[0].cursor, json!({"since": "2024-01-01"}));
}

/// An older copy never replaces a newer one; on equal `updated_at` the new copy wins.
pub async fn upsert_keeps_the_newest_updated_at(store: Arc<dyn Store>) {
    let s = scope();
    let stored_data = |store: Arc<dyn Store>| async move {
        let records = store.query_records(&all("tenant-a")).await.unwrap();
        assert_eq!(records.len(), 1);
        (records[0].updated_at, records[0].data.to_value())
    };
    store
        .commit_batch(&s, &[record("1", "issue", 10)], None)
        .await
        .unwrap();

    let older = store
        .commit_batch(&s, &[record("1", "issue", 5)], None)
        .await
        .unwrap();
    assert_eq!((older.written, older.unchanged), (0, 1));
    assert_eq!(
        stored_data(store.clone()).await,
        (at(10), json!({"id": "1", "version": 10}))
    );

    let newer = store
        .commit_batch(&s, &[record("1", "issue", 20)], None)
        .await
        .unwrap();
    assert_eq!((newer.written, newer.unchanged), (1, 0));
    assert_eq!(stored_data(store.clone()).await.0, at(20));

    // A webhook and a sync that saw the same version agree: the later write wins.
    let mut same_time = record("1", "issue", 20);
    same_time.data = json!({"id": "1", "from": "webhook"}).into();
    let tie = store.commit_batch(&s, &[same_time], None).await.unwrap();
    assert_eq!((tie.written, tie.unchanged), (1, 0));
    assert_eq!(
        stored_data(store.clone()).await,
        (at(20), json!({"id": "1", "from": "webhook"}))
    );
}

/// The same record twice in one batch is stored once, newest copy (later one on a tie).
pub async fn duplicate_ids_in_one_batch_keep_the_newest(store: Arc<dyn Store>) {
    let mut first_tie = record("b", "issue", 10);
    first_tie.data = json!({"copy": "first"}).into();
    let mut second_tie = record("b", "issue", 10);
    second_tie.data = json!({"copy": "second"}).into();
    let batch = vec![
        record("a", "issue", 10),
        record("a", "issue", 30),
        record("a", "issue", 20),
        first_tie,
        second_tie,
    ];
    store.commit_batch(&scope(), &batch, None).await.unwrap();
    let stored = store.query_records(&all("tenant-a")).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id, "a");
    assert_eq!(stored[0].updated_at, at(30));
    assert_eq!(stored[1].data, json!({"copy": "second"}));
}

/// One id under another type, connector or tenant is another record.
pub async fn records_are_unique_by_tenant_connector_type_and_id(store: Arc<dyn Store>) {
    let a_github = Scope::new("tenant-a", "github");
    let a_gitlab = Scope::new("tenant-a", "gitlab");
    let b_github = Scope::new("tenant-b", "github");
    store
        .commit_batch(
            &a_github,
            &[record("1", "issue", 1), record("1", "pull_request", 1)],
            None,
        )
        .await
        .unwrap();
    store
        .commit_batch(&a_gitlab, &[record("1", "issue", 1)], None)
        .await
        .unwrap();
    store
        .commit_batch(&b_github, &[record("1", "issue", 1)], None)
        .await
        .unwrap();
    // Writing the same four again changes the count of none.
    store
        .commit_batch(&a_github, &[record("1", "issue", 2)], None)
        .await
        .unwrap();

    assert_eq!(store.count_records(&all("tenant-a")).await.unwrap(), 3);
    assert_eq!(store.count_records(&all("tenant-b")).await.unwrap(), 1);
    let github_issues = RecordQuery {
        connector: Some("github".into()),
        record_type: Some("issue".into()),
        ..all("tenant-a")
    };
    let found = store.query_records(&github_issues).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].updated_at, at(2));
}

/// Text a provider may send that not every engine can keep as is (a NUL character, which
/// real GitHub issues contain; a lone surrogate escape) is stored, as the replacement
/// character, and never fails the batch it is in.
pub async fn records_with_nul_characters_are_stored_not_refused(store: Arc<dyn Store>) {
    let mut poison = record("issue-nul", "issue", 10);
    poison.data = json!({"title": "before\u{0}after", "body": "ok"}).into();
    poison.metadata = JsonText::from_text(r#"{"raw":"\ud800 lone"}"#.to_owned())
        .unwrap_or_else(|e| panic!("{e}"));
    let sibling = record("issue-ok", "issue", 11);
    store
        .commit_batch(&scope(), &[poison, sibling], None)
        .await
        .unwrap_or_else(|e| panic!("the batch failed: {e}"));
    let stored = store.query_records(&all("tenant-a")).await.unwrap();
    assert_eq!(stored.len(), 2, "{stored:?}");
    let kept = stored
        .iter()
        .find(|r| r.id == "issue-nul")
        .unwrap_or_else(|| panic!("lost"));
    assert_eq!(kept.data.get("title"), Some(json!("before\u{fffd}after")));
    assert_eq!(kept.metadata.get("raw"), Some(json!("\u{fffd} lone")));
}

/// Every field of a record comes back as written (timestamps to the microsecond).
pub async fn records_round_trip_unchanged(store: Arc<dyn Store>) {
    let created = Utc
        .timestamp_opt(1_700_000_000, 123_456_000)
        .single()
        .unwrap_or_default();
    let updated = Utc
        .timestamp_opt(1_710_000_000, 999_999_000)
        .single()
        .unwrap_or_default();
    let mut r = ConnectorRecord::new("pr-42", "pull_request", "github", created, updated);
    r.data = json!({
        "title": "Fix “quotes” — and emoji 🚀",
        "number": 42,
        "big": 9_007_199_254_740_993_u64,
        "negative": -17,
        "ratio": 0.25,
        "draft": false,
        "labels": ["bug", {"nested": [1, 2, {"deep": null}]}],
        "body": "line\nbreak\ttab \\ backslash 'single' \"double\"",
        "empty": {}
    })
    .into();
    r.metadata = json!({"url": "https://example.test/pr/42", "etag": "W/\"abc\""}).into();
    store
        .commit_batch(&scope(), std::slice::from_ref(&r), None)
        .await
        .unwrap();
    let stored = store.query_records(&all("tenant-a")).await.unwrap();
    assert_eq!(stored, vec![r]);
}

/// A batch of thousands of records is stored whole (engines split statements internally).
pub async fn large_batches_are_stored_whole(store: Arc<dyn Store>) {
    let batch: Vec<ConnectorRecord> = (0..5_000)
        .map(|i| record(&format!("r{i:05}"), "issue", i))
        .collect();
    let outcome = store
        .commit_batch(&scope(), &batch, Some(&checkpoint("s", json!(5_000))))
        .await
        .unwrap();
    assert_eq!(outcome.written, 5_000);
    assert_eq!(store.count_records(&all("tenant-a")).await.unwrap(), 5_000);
    let newest = store
        .query_records(&RecordQuery {
            limit: Some(1),
            ..all("tenant-a")
        })
        .await
        .unwrap();
    assert_eq!(newest[0].id, "r04999");
}

/// A large batch that fails, however the engine splits its work, leaves the checkpoint as it
/// was and stores nothing it refused; the same batch then commits whole. (An engine may have
/// stored some of the other records: the next run, from the old checkpoint, writes them again.)
pub async fn a_failed_large_batch_keeps_its_checkpoint(store: Arc<dyn Store>) {
    store
        .commit_batch(&scope(), &[], Some(&checkpoint("s", json!(1))))
        .await
        .unwrap();
    // These ids sort before the poison one, which therefore comes last.
    let mut batch: Vec<ConnectorRecord> = (0..3_000)
        .map(|i| record(&format!("a{i:05}"), "issue", i))
        .collect();
    batch.push(record(POISON_RECORD_ID, "issue", 1));
    let failed = store
        .commit_batch(&scope(), &batch, Some(&checkpoint("s", json!(2))))
        .await;
    assert!(failed.is_err(), "the poison record must fail the batch");
    assert!(
        !ids(store.as_ref(), &all("tenant-a"))
            .await
            .contains(&POISON_RECORD_ID.to_owned())
    );
    assert_eq!(
        states(store.load_state(&scope()).await.unwrap()),
        vec![("s".to_owned(), json!(1))]
    );
    batch.pop();
    store
        .commit_batch(&scope(), &batch, Some(&checkpoint("s", json!(2))))
        .await
        .unwrap();
    assert_eq!(store.count_records(&all("tenant-a")).await.unwrap(), 3_000);
    assert_eq!(
        states(store.load_state(&scope()).await.unwrap()),
        vec![("s".to_owned(), json!(2))]
    );
}

async fn seed_for_queries(store: &dyn Store) {
    let github = Scope::new("tenant-a", "github");
    let gitlab = Scope::new("tenant-a", "gitlab");
    let other = Scope::new("tenant-b", "github");
    store
        .commit_batch(
            &github,
            &[
                record("i1", "issue", 10),
                record("i2", "issue", 20),
                record("p1", "pull_request", 30),
                record("i3", "issue", 40),
            ],
            None,
        )
        .await
        .unwrap();
    store
        .commit_batch(&gitlab, &[record("g1", "issue", 25)], None)
        .await
        .unwrap();
    store
        .commit_batch(&other, &[record("x1", "issue", 50)], None)
        .await
        .unwrap();
}

/// Queries filter by connector, type and update time, newest first, with a limit.
pub async fn query_filters_orders_and_limits(store: Arc<dyn Store>) {
    seed_for_queries(store.as_ref()).await;
    let s = store.as_ref();
    assert_eq!(
        ids(s, &all("tenant-a")).await,
        ["i3", "p1", "g1", "i2", "i1"]
    );
    let github = RecordQuery {
        connector: Some("github".into()),
        ..all("tenant-a")
    };
    assert_eq!(ids(s, &github).await, ["i3", "p1", "i2", "i1"]);
    let issues = RecordQuery {
        record_type: Some("issue".into()),
        ..all("tenant-a")
    };
    assert_eq!(ids(s, &issues).await, ["i3", "g1", "i2", "i1"]);
    let recent = RecordQuery {
        updated_since: Some(at(20)),
        ..issues.clone()
    };
    assert_eq!(ids(s, &recent).await, ["i3", "g1", "i2"]);
    let newest = RecordQuery {
        limit: Some(2),
        ..all("tenant-a")
    };
    assert_eq!(ids(s, &newest).await, ["i3", "p1"]);
    assert_eq!(ids(s, &all("tenant-b")).await, ["x1"]);
    assert!(ids(s, &all("tenant-c")).await.is_empty());
}

/// `count_records` applies the filters but not `limit`.
pub async fn count_ignores_limit(store: Arc<dyn Store>) {
    seed_for_queries(store.as_ref()).await;
    let query = RecordQuery {
        connector: Some("github".into()),
        record_type: Some("issue".into()),
        updated_since: Some(at(15)),
        limit: Some(1),
        ..all("tenant-a")
    };
    assert_eq!(store.count_records(&query).await.unwrap(), 2);
    assert_eq!(store.count_records(&all("tenant-a")).await.unwrap(), 5);
    assert_eq!(store.count_records(&all("nobody")).await.unwrap(), 0);
}

/// `written_before` keeps the records last written before that instant, whatever their
/// `updated_at`: a record rewritten later (by a webhook during a reconciling sync) drops out,
/// and one whose older copy was refused keeps its first write time.
pub async fn written_before_selects_by_when_a_record_was_last_written(store: Arc<dyn Store>) {
    let s = scope();
    store
        .commit_batch(
            &s,
            &[record("early", "issue", 10), record("kept", "issue", 30)],
            None,
        )
        .await
        .unwrap();
    // Past any clock tick of the stores' own timestamps.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let between = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .commit_batch(
            &s,
            // "early" is rewritten; "kept" gets an older copy, which the store refuses.
            &[
                record("early", "issue", 11),
                record("kept", "issue", 20),
                record("late", "issue", 1),
            ],
            None,
        )
        .await
        .unwrap();
    let query = RecordQuery {
        written_before: Some(between),
        ..all("tenant-a")
    };
    assert_eq!(ids(store.as_ref(), &query).await, ["kept"]);
    assert_eq!(store.count_records(&query).await.unwrap(), 1);
    let everything = RecordQuery {
        written_before: Some(Utc::now() + chrono::Duration::seconds(60)),
        ..all("tenant-a")
    };
    assert_eq!(store.count_records(&everything).await.unwrap(), 3);
}

/// Streaming reads what a query reads, one record at a time and from one snapshot: records
/// updated or added meanwhile neither show up twice nor push others out (paging newest first by
/// offset missed each record that became the newest, and wrote another one twice).
pub async fn streamed_records_are_one_snapshot_while_records_are_written(store: Arc<dyn Store>) {
    let batch: Vec<ConnectorRecord> = (0..600)
        .map(|i| record(&format!("s{i:04}"), "issue", i))
        .collect();
    store.commit_batch(&scope(), &batch, None).await.unwrap();
    let query = all("tenant-a");
    let streamed: Vec<String> = store
        .stream_records(&query)
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, ids(store.as_ref(), &query).await);

    let mut stream = store.stream_records(&query);
    let mut seen = vec![stream.try_next().await.unwrap().unwrap().id];
    // The oldest record becomes the newest, and a new one arrives.
    store
        .commit_batch(
            &scope(),
            &[
                record("s0000", "issue", 10_000),
                record("new", "issue", 10_001),
            ],
            None,
        )
        .await
        .unwrap();
    while let Some(r) = stream.try_next().await.unwrap() {
        seen.push(r.id);
    }
    drop(stream);
    let expected: Vec<String> = (0..600).rev().map(|i| format!("s{i:04}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(ids(store.as_ref(), &query).await[..2], ["new", "s0000"]);
}

/// State is per (tenant, connector, stream).
pub async fn state_is_kept_per_scope_and_stream(store: Arc<dyn Store>) {
    let a = scope();
    let b = Scope::new("tenant-b", "github");
    let c = Scope::new("tenant-a", "jira");
    assert!(store.load_state(&a).await.unwrap().is_empty());
    store
        .commit_batch(&a, &[], Some(&checkpoint("s1", json!(1))))
        .await
        .unwrap();
    store
        .commit_batch(&a, &[], Some(&checkpoint("s2", json!({"t": "x"}))))
        .await
        .unwrap();
    store
        .commit_batch(&b, &[], Some(&checkpoint("s1", json!(100))))
        .await
        .unwrap();
    store
        .commit_batch(&a, &[], Some(&checkpoint("s1", json!(2))))
        .await
        .unwrap();
    assert_eq!(
        states(store.load_state(&a).await.unwrap()),
        vec![
            ("s1".to_owned(), json!(2)),
            ("s2".to_owned(), json!({"t": "x"}))
        ]
    );
    assert_eq!(
        states(store.load_state(&b).await.unwrap()),
        vec![("s1".to_owned(), json!(100))]
    );
    assert!(store.load_state(&c).await.unwrap().is_empty());
}

/// Reset forgets one stream or all of a scope, and says how many it removed.
pub async fn reset_state_forgets_one_stream_or_all(store: Arc<dyn Store>) {
    let a = scope();
    let b = Scope::new("tenant-b", "github");
    for stream in ["s1", "s2", "s3"] {
        store
            .commit_batch(&a, &[], Some(&checkpoint(stream, json!(1))))
            .await
            .unwrap();
    }
    store
        .commit_batch(&b, &[], Some(&checkpoint("s1", json!(1))))
        .await
        .unwrap();
    assert_eq!(store.reset_state(&a, Some("s2")).await.unwrap(), 1);
    assert_eq!(store.reset_state(&a, Some("missing")).await.unwrap(), 0);
    assert_eq!(
        states(store.load_state(&a).await.unwrap()),
        vec![("s1".to_owned(), json!(1)), ("s3".to_owned(), json!(1))]
    );
    assert_eq!(store.reset_state(&a, None).await.unwrap(), 2);
    assert!(store.load_state(&a).await.unwrap().is_empty());
    assert_eq!(store.load_state(&b).await.unwrap().len(), 1);
}

/// A key is claimed by the first caller only.
pub async fn idempotency_key_is_claimed_once(store: Arc<dyn Store>) {
    let ttl = Duration::from_secs(3600);
    assert!(
        store
            .claim_idempotency_key("github:delivery-1", ttl)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_idempotency_key("github:delivery-1", ttl)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_idempotency_key("github:delivery-2", ttl)
            .await
            .unwrap()
    );
}

/// Fifty simultaneous claims of one key: exactly one wins.
pub async fn concurrent_claims_of_one_key_have_one_winner(store: Arc<dyn Store>) {
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .claim_idempotency_key("slack:evt-1", Duration::from_secs(3600))
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// Once a claim's TTL has passed, the key can be claimed again (and then is held again).
pub async fn expired_idempotency_key_can_be_claimed_again(store: Arc<dyn Store>) {
    assert!(
        store
            .claim_idempotency_key("k", Duration::from_millis(1))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        store
            .claim_idempotency_key("k", Duration::from_secs(3600))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_idempotency_key("k", Duration::from_secs(3600))
            .await
            .unwrap()
    );
}

/// A released claim can be taken again at once; releasing a key nobody holds is no error.
pub async fn released_idempotency_key_can_be_claimed_at_once(store: Arc<dyn Store>) {
    let hour = Duration::from_secs(3600);
    assert!(store.claim_idempotency_key("lock", hour).await.unwrap());
    assert!(!store.claim_idempotency_key("lock", hour).await.unwrap());
    store.release_idempotency_key("lock").await.unwrap();
    assert!(store.claim_idempotency_key("lock", hour).await.unwrap());
    store
        .release_idempotency_key("never-claimed")
        .await
        .unwrap();
}

/// The lease of the worker most cases fetch as.
fn worker() -> Lease {
    Lease::new("worker-a")
}

/// A lease of `holder` lasting `millis`, for cases that watch leases run out.
fn short_lease(holder: &str, millis: u64) -> Lease {
    Lease {
        holder: holder.into(),
        ttl: Duration::from_millis(millis),
    }
}

fn webhook(connector: &str, key: &str) -> InboundWebhook {
    InboundWebhook {
        tenant: "tenant-a".into(),
        connector: connector.into(),
        dedupe_key: key.into(),
        event_type: "pull_request".into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-github-event".into(), "pull_request".into()),
        ],
        // Bodies are raw bytes: not necessarily UTF-8. Each delivery's differs (as real ones
        // do), since a body already stored is a replay whatever its key.
        body: [
            format!("{{\"action\":\"opened\",\"delivery\":\"{key}\"}}").as_bytes(),
            &[0xff, 0x00, 0xfe],
        ]
        .concat()
        .into(),
        received_at: at(5),
    }
}

fn stored_id(append: InboxAppend) -> i64 {
    match append {
        InboxAppend::Stored(id) => id,
        InboxAppend::Duplicate => panic!("expected the delivery to be stored"),
    }
}

async fn count_of(store: &dyn Store, status: InboxStatus) -> u64 {
    store
        .inbox_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == status)
        .map_or(0, |(_, n)| n)
}

/// A delivery is stored once per (tenant, connector, dedupe key): the same id sent to another
/// connector or another tenant is another delivery, in one append and in a batch alike.
pub async fn inbox_append_dedupes_per_tenant_and_connector(store: Arc<dyn Store>) {
    let first = stored_id(store.inbox_append(&webhook("github", "d-1")).await.unwrap());
    assert_eq!(
        store.inbox_append(&webhook("github", "d-1")).await.unwrap(),
        InboxAppend::Duplicate
    );
    let other = stored_id(store.inbox_append(&webhook("gitlab", "d-1")).await.unwrap());
    assert_ne!(first, other);
    let mut globex = webhook("github", "d-1");
    globex.tenant = "globex".into();
    let tenant = stored_id(store.inbox_append(&globex).await.unwrap());
    assert_ne!(
        first, tenant,
        "another tenant's delivery is not a duplicate"
    );
    let mut initech = webhook("github", "d-2");
    initech.tenant = "initech".into();
    let batch = store
        .inbox_append_batch(&[webhook("github", "d-2"), initech.clone(), initech])
        .await
        .unwrap();
    assert!(
        matches!(batch[0], InboxAppend::Stored(_)) && matches!(batch[1], InboxAppend::Stored(_))
    );
    assert_eq!(batch[2], InboxAppend::Duplicate);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 5);
}

/// A batch stores each new delivery with its own id, one result per delivery in order.
pub async fn inbox_batch_append_stores_every_delivery_whole(store: Arc<dyn Store>) {
    assert!(store.inbox_append_batch(&[]).await.unwrap().is_empty());
    let batch = [
        webhook("github", "b-2"),
        webhook("github", "b-1"),
        webhook("gitlab", "b-2"),
    ];
    let appended = store.inbox_append_batch(&batch).await.unwrap();
    assert_eq!(appended.len(), 3);
    let ids: Vec<i64> = appended.into_iter().map(stored_id).collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3, "{ids:?}");
    let mut fetched = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    fetched.sort_by_key(|e| e.id);
    let mut expected: Vec<(i64, InboundWebhook)> = ids.into_iter().zip(batch).collect();
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(
        fetched
            .into_iter()
            .map(|e| (e.id, e.webhook))
            .collect::<Vec<_>>(),
        expected
    );
}

/// Bodies come back exactly as received: large and repetitive (which an engine may compress),
/// uncompressible, empty, and not UTF-8.
pub async fn inbox_bodies_round_trip_byte_for_byte(store: Arc<dyn Store>) {
    let json = format!(
        "{{\"action\":\"opened\",\"items\":[{}]}}",
        (0..2000)
            .map(|i| format!("{{\"n\":{i},\"label\":\"bug\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let bodies = [
        json.into_bytes(),
        incompressible(20_000),
        Vec::new(),
        vec![0xff; 300],
    ];
    let batch: Vec<InboundWebhook> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut w = webhook("github", &format!("body-{i}"));
            w.body = body.clone().into();
            w
        })
        .collect();
    let ids: Vec<i64> = store
        .inbox_append_batch(&batch)
        .await
        .unwrap()
        .into_iter()
        .map(stored_id)
        .collect();
    let fetched = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    assert_eq!(fetched.len(), bodies.len());
    for entry in fetched {
        let i = ids.iter().position(|id| *id == entry.id).unwrap();
        assert_eq!(entry.webhook.body, bodies[i], "body {i}");
    }
}

/// A key repeated within one batch is stored once, from its first occurrence.
pub async fn inbox_batch_append_stores_a_repeated_key_once(store: Arc<dyn Store>) {
    let mut again = webhook("github", "r-1");
    again.body = bytes::Bytes::from_static(b"{\"action\":\"edited\"}");
    let batch = [
        webhook("github", "r-1"),
        webhook("github", "r-2"),
        again,
        webhook("gitlab", "r-1"),
        webhook("github", "r-2"),
    ];
    let appended = store.inbox_append_batch(&batch).await.unwrap();
    assert!(
        matches!(appended[0], InboxAppend::Stored(_)),
        "{appended:?}"
    );
    assert!(
        matches!(appended[1], InboxAppend::Stored(_)),
        "{appended:?}"
    );
    assert_eq!(appended[2], InboxAppend::Duplicate);
    assert!(
        matches!(appended[3], InboxAppend::Stored(_)),
        "{appended:?}"
    );
    assert_eq!(appended[4], InboxAppend::Duplicate);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 3);
    let first = stored_id(appended[0]);
    let fetched = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    let kept = fetched.iter().find(|e| e.id == first).unwrap();
    assert_eq!(kept.webhook, webhook("github", "r-1"));
}

/// A batch answers duplicate for keys stored by earlier appends and stores the rest.
pub async fn inbox_batch_append_finds_earlier_deliveries_duplicate(store: Arc<dyn Store>) {
    let earlier = stored_id(store.inbox_append(&webhook("github", "e-1")).await.unwrap());
    let appended = store
        .inbox_append_batch(&[webhook("github", "e-2"), webhook("github", "e-1")])
        .await
        .unwrap();
    assert_eq!(appended[1], InboxAppend::Duplicate);
    assert_ne!(stored_id(appended[0]), earlier);
    assert_eq!(
        store.inbox_append(&webhook("github", "e-2")).await.unwrap(),
        InboxAppend::Duplicate
    );
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 2);
}

/// A batch larger than an engine's statement size, repeating keys across its parts and keys
/// stored before, stores each new key once and answers every delivery.
pub async fn inbox_large_batch_append_stores_each_key_once(store: Arc<dyn Store>) {
    let earlier = stored_id(
        store
            .inbox_append(&webhook("github", "big-7"))
            .await
            .unwrap(),
    );
    // Keys 0..700, then every tenth key again (a repeat far from its first occurrence).
    let keys: Vec<String> = (0..700)
        .chain((0..700).step_by(10))
        .map(|i| format!("big-{i}"))
        .collect();
    let batch: Vec<InboundWebhook> = keys.iter().map(|k| webhook("github", k)).collect();
    let appended = store.inbox_append_batch(&batch).await.unwrap();
    assert_eq!(appended.len(), batch.len());
    let mut ids = BTreeSet::new();
    for (i, (key, outcome)) in keys.iter().zip(&appended).enumerate() {
        let expect_stored = i < 700 && key != "big-7";
        match outcome {
            InboxAppend::Stored(id) => {
                assert!(expect_stored, "delivery {i} ({key}) stored twice");
                assert!(ids.insert(*id), "id {id} given twice");
            }
            InboxAppend::Duplicate => assert!(!expect_stored, "delivery {i} ({key}) lost"),
        }
    }
    assert!(!ids.contains(&earlier));
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 700);
    // Each id names the delivery it was answered for.
    let fetched = store.inbox_fetch_pending(1000, &worker()).await.unwrap();
    assert_eq!(fetched.len(), 700);
    for entry in fetched {
        if entry.id == earlier {
            continue;
        }
        let i = appended
            .iter()
            .position(|a| *a == InboxAppend::Stored(entry.id))
            .unwrap();
        assert_eq!(entry.webhook.dedupe_key, keys[i]);
    }
}

/// Pending entries come oldest first, whole, and a fetched entry is not handed out twice.
pub async fn inbox_fetch_returns_pending_oldest_first_and_leases_them(store: Arc<dyn Store>) {
    let mut appended = Vec::new();
    for key in ["d-1", "d-2", "d-3"] {
        appended.push(stored_id(
            store.inbox_append(&webhook("github", key)).await.unwrap(),
        ));
    }
    let first = store.inbox_fetch_pending(2, &worker()).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.id).collect::<Vec<_>>(),
        appended[..2]
    );
    assert_eq!(first[0].webhook, webhook("github", "d-1"));
    assert_eq!(first[0].status, InboxStatus::Pending);
    assert_eq!(first[0].attempts, 0);
    assert_eq!(first[0].last_error, None);
    // The first two are leased to whoever fetched them.
    let rest = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), appended[2..]);
    assert!(
        store
            .inbox_fetch_pending(10, &worker())
            .await
            .unwrap()
            .is_empty()
    );
    store.inbox_mark_done(appended[0]).await.unwrap();
    assert_eq!(count_of(store.as_ref(), InboxStatus::Done).await, 1);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 2);
}

/// Workers fetching at the same time get disjoint entries, and together all of them.
pub async fn concurrent_inbox_fetches_never_share_an_entry(store: Arc<dyn Store>) {
    let mut appended = BTreeSet::new();
    for i in 0..40 {
        let key = format!("d-{i}");
        appended.insert(stored_id(
            store.inbox_append(&webhook("github", &key)).await.unwrap(),
        ));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                loop {
                    let batch = store.inbox_fetch_pending(3, &worker()).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|e| e.id));
                }
            })
        })
        .collect();
    let mut fetched = Vec::new();
    for worker in workers {
        fetched.extend(worker.await.unwrap());
    }
    let distinct: BTreeSet<i64> = fetched.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        fetched.len(),
        "an entry was handed to two workers"
    );
    assert_eq!(distinct, appended);
}

/// A failure with a retry time comes back then; without one the entry is dead.
pub async fn inbox_failed_entries_retry_then_go_dead(store: Arc<dyn Store>) {
    let soon = stored_id(
        store
            .inbox_append(&webhook("github", "soon"))
            .await
            .unwrap(),
    );
    let later = stored_id(
        store
            .inbox_append(&webhook("github", "later"))
            .await
            .unwrap(),
    );
    assert_eq!(
        store
            .inbox_fetch_pending(10, &worker())
            .await
            .unwrap()
            .len(),
        2
    );

    store
        .inbox_mark_failed(
            soon,
            "HTTP 502 from provider",
            Some(Utc::now() - chrono::Duration::seconds(1)),
        )
        .await
        .unwrap();
    store
        .inbox_mark_failed(
            later,
            "timeout",
            Some(Utc::now() + chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
    let retried = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    assert_eq!(retried.len(), 1, "only the entry whose retry time has come");
    assert_eq!(retried[0].id, soon);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(
        retried[0].last_error.as_deref(),
        Some("HTTP 502 from provider")
    );

    store
        .inbox_mark_failed(soon, "still failing", None)
        .await
        .unwrap();
    assert!(
        store
            .inbox_fetch_pending(10, &worker())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(count_of(store.as_ref(), InboxStatus::Dead).await, 1);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 1);
}

/// A failure reported after the entry was completed (a worker whose time ran out as it
/// committed) leaves it done: the completion stands, and the entry is not run again.
pub async fn inbox_a_late_failure_does_not_undo_a_completion(store: Arc<dyn Store>) {
    let id = stored_id(
        store
            .inbox_append(&webhook("github", "late-1"))
            .await
            .unwrap(),
    );
    store.inbox_mark_done(id).await.unwrap();
    let retry = Some(Utc::now());
    store
        .inbox_mark_failed(id, "timed out", retry)
        .await
        .unwrap_or_else(|e| panic!("a late failure is not an error: {e}"));
    assert_eq!(count_of(store.as_ref(), InboxStatus::Done).await, 1);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 0);
    assert!(
        store
            .inbox_fetch_pending(10, &worker())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Marking an id that does not exist is `NotFound`.
pub async fn inbox_marking_an_unknown_entry_is_not_found(store: Arc<dyn Store>) {
    assert!(matches!(
        store.inbox_mark_done(987_654).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.inbox_mark_failed(987_654, "x", None).await,
        Err(StoreError::NotFound(_))
    ));
}

fn done(id: i64) -> InboxCompletion {
    InboxCompletion {
        id,
        records: Vec::new(),
    }
}

/// A batch marks every entry done in one call; an unknown id is reported, the rest still marked.
pub async fn inbox_done_batch_marks_every_known_entry(store: Arc<dyn Store>) {
    let mut entries = Vec::new();
    for key in ["m-1", "m-2", "m-3"] {
        entries.push(stored_id(
            store.inbox_append(&webhook("github", key)).await.unwrap(),
        ));
    }
    store.inbox_complete_batch(&[]).await.unwrap();
    store
        .inbox_complete_batch(&[done(entries[0]), done(entries[1])])
        .await
        .unwrap();
    assert_eq!(count_of(store.as_ref(), InboxStatus::Done).await, 2);
    let fetched = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    assert_eq!(
        fetched.iter().map(|e| e.id).collect::<Vec<_>>(),
        [entries[2]]
    );
    let mut unknown = done(987_654);
    unknown.records = vec![record("nowhere", "issue", 1)];
    assert!(matches!(
        store
            .inbox_complete_batch(&[done(entries[2]), unknown])
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(count_of(store.as_ref(), InboxStatus::Done).await, 3);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 0);
    assert!(
        ids(store.as_ref(), &all("tenant-a")).await.is_empty(),
        "an unknown entry's records have no scope to go to"
    );
}

/// Completing entries stores each one's records under the entry's own tenant and connector,
/// newest copy winning across entries (the later entry on a tie), in the same call.
pub async fn inbox_completion_stores_records_under_each_entry_scope(store: Arc<dyn Store>) {
    let a = stored_id(store.inbox_append(&webhook("github", "c-1")).await.unwrap());
    let b = stored_id(store.inbox_append(&webhook("github", "c-2")).await.unwrap());
    let mut other = webhook("gitlab", "c-1");
    other.tenant = "tenant-b".into();
    let c = stored_id(store.inbox_append(&other).await.unwrap());
    let mut tied = record("pr-2", "pull_request", 5);
    tied.data = json!({"id": "pr-2", "from": "second"}).into();
    let completed = [
        InboxCompletion {
            id: a,
            records: vec![
                record("pr-1", "pull_request", 9),
                record("pr-2", "pull_request", 5),
            ],
        },
        InboxCompletion {
            id: b,
            // Older than what entry `a` carries: kept out. Tied: the later entry wins.
            records: vec![record("pr-1", "pull_request", 3), tied.clone()],
        },
        InboxCompletion {
            id: c,
            records: vec![record("mr-1", "merge_request", 1)],
        },
    ];
    store.inbox_complete_batch(&completed).await.unwrap();
    assert_eq!(count_of(store.as_ref(), InboxStatus::Done).await, 3);

    let github = store.query_records(&all("tenant-a")).await.unwrap();
    assert_eq!(github.len(), 2);
    let pr1 = github.iter().find(|r| r.id == "pr-1").unwrap();
    assert_eq!(pr1.updated_at, at(9));
    let pr2 = github.iter().find(|r| r.id == "pr-2").unwrap();
    assert_eq!(pr2.data, tied.data);
    let mut gitlab = all("tenant-b");
    gitlab.connector = Some("gitlab".into());
    assert_eq!(ids(store.as_ref(), &gitlab).await, ["mr-1"]);
}

/// Counts list every status, zeros included.
pub async fn inbox_counts_report_every_status(store: Arc<dyn Store>) {
    let counts = |store: Arc<dyn Store>| async move {
        let mut c = store.inbox_counts().await.unwrap();
        c.sort_by_key(|(s, _)| *s as u8);
        c
    };
    assert_eq!(
        counts(store.clone()).await,
        vec![
            (InboxStatus::Pending, 0),
            (InboxStatus::Done, 0),
            (InboxStatus::Dead, 0)
        ]
    );
    let done = stored_id(store.inbox_append(&webhook("github", "a")).await.unwrap());
    let dead = stored_id(store.inbox_append(&webhook("github", "b")).await.unwrap());
    store.inbox_append(&webhook("github", "c")).await.unwrap();
    store.inbox_mark_done(done).await.unwrap();
    store
        .inbox_mark_failed(dead, "bad payload", None)
        .await
        .unwrap();
    assert_eq!(
        counts(store.clone()).await,
        vec![
            (InboxStatus::Pending, 1),
            (InboxStatus::Done, 1),
            (InboxStatus::Dead, 1)
        ]
    );
    assert_eq!(
        store.inbox_backlog().await.unwrap(),
        InboxBacklog {
            pending: 1,
            dead: 1
        }
    );
}

/// A body already stored for a tenant and connector is a replay under any key: a duplicate,
/// in one append and within a batch; the same body for another connector or tenant is not.
pub async fn inbox_a_replayed_body_under_a_fresh_key_is_a_duplicate(store: Arc<dyn Store>) {
    let original = webhook("github", "r-1");
    stored_id(store.inbox_append(&original).await.unwrap());
    let mut replay = webhook("github", "r-fresh");
    replay.body = original.body.clone();
    assert_eq!(
        store.inbox_append(&replay).await.unwrap(),
        InboxAppend::Duplicate
    );
    let mut twin = webhook("github", "r-3");
    twin.body = webhook("github", "r-2").body;
    let batch = store
        .inbox_append_batch(&[webhook("github", "r-2"), twin])
        .await
        .unwrap();
    assert!(matches!(batch[0], InboxAppend::Stored(_)), "{batch:?}");
    assert_eq!(batch[1], InboxAppend::Duplicate);
    let mut elsewhere = replay.clone();
    elsewhere.connector = "gitlab".into();
    stored_id(store.inbox_append(&elsewhere).await.unwrap());
    let mut other_tenant = replay;
    other_tenant.tenant = "globex".into();
    stored_id(store.inbox_append(&other_tenant).await.unwrap());
    assert_eq!(count_of(store.as_ref(), InboxStatus::Pending).await, 4);
}

/// Pruning drops the bodies of settled entries past the body cutoff, then whole settled entries
/// past the entry cutoff, never a pending one; a pruned body still answers replays until its
/// entry goes, and then the delivery can be stored again.
pub async fn inbox_prune_drops_settled_bodies_then_settled_entries(store: Arc<dyn Store>) {
    let received = |key: &str, secs: i64| {
        let mut w = webhook("github", key);
        w.received_at = at(secs);
        w
    };
    let old_done = stored_id(store.inbox_append(&received("old-done", 0)).await.unwrap());
    let old_dead = stored_id(store.inbox_append(&received("old-dead", 1)).await.unwrap());
    let old_pending = stored_id(
        store
            .inbox_append(&received("old-pending", 2))
            .await
            .unwrap(),
    );
    let new_done = stored_id(
        store
            .inbox_append(&received("new-done", 1000))
            .await
            .unwrap(),
    );
    store.inbox_mark_done(old_done).await.unwrap();
    store.inbox_mark_done(new_done).await.unwrap();
    store
        .inbox_mark_failed(old_dead, "bad", None)
        .await
        .unwrap();

    let pruned = store.inbox_prune(at(500), at(-1)).await.unwrap();
    assert_eq!(
        pruned,
        InboxPruned {
            bodies: 2,
            entries: 0
        }
    );
    assert_eq!(
        store.inbox_prune(at(500), at(-1)).await.unwrap(),
        InboxPruned::default(),
        "a second run finds nothing more"
    );
    let mut replay = received("old-done-replayed", 2000);
    replay.body = received("old-done", 0).body;
    assert_eq!(
        store.inbox_append(&replay).await.unwrap(),
        InboxAppend::Duplicate,
        "a pruned body still answers replays"
    );

    let pruned = store.inbox_prune(at(500), at(500)).await.unwrap();
    assert_eq!(
        pruned,
        InboxPruned {
            bodies: 0,
            entries: 2
        }
    );
    let pending = store.inbox_fetch_pending(10, &worker()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, old_pending);
    assert_eq!(pending[0].webhook, received("old-pending", 2), "kept whole");
    stored_id(
        store
            .inbox_append(&received("old-done", 3000))
            .await
            .unwrap(),
    );
    assert_eq!(count_of(store.as_ref(), InboxStatus::Done).await, 1);
    assert_eq!(count_of(store.as_ref(), InboxStatus::Dead).await, 0);
}

/// The last saved refresh token of a scope is the one loaded.
pub async fn refresh_token_round_trips_per_scope(store: Arc<dyn Store>) {
    let a = scope();
    let b = Scope::new("tenant-b", "github");
    assert!(store.load_refresh_token(&a).await.unwrap().is_none());
    store
        .save_refresh_token(&a, &SecretString::from("rt-1"))
        .await
        .unwrap();
    store
        .save_refresh_token(&a, &SecretString::from("rt-2"))
        .await
        .unwrap();
    let loaded = store.load_refresh_token(&a).await.unwrap();
    assert_eq!(loaded.as_ref().map(|t| t.expose_secret()), Some("rt-2"));
    assert!(store.load_refresh_token(&b).await.unwrap().is_none());
}

/// A reachable, writable store answers `ping`, again and again.
pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    store.ping().await.unwrap();
}

/// `len` bytes of a xorshift stream: nothing repeats for a compressor to find.
pub fn incompressible(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// A named lease is held by one holder at a time: renewed by its holder, refused to others,
/// free again when released by its holder (not by another) or once it runs out.
pub async fn a_lease_has_one_holder_until_released_or_run_out(store: Arc<dyn Store>) {
    let a = Lease::new("process-a");
    let b = Lease::new("process-b");
    assert!(store.acquire_lease("sync:github", &a).await.unwrap());
    assert!(!store.acquire_lease("sync:github", &b).await.unwrap());
    assert!(
        store.acquire_lease("sync:github", &a).await.unwrap(),
        "renewal"
    );
    assert!(
        store.acquire_lease("sync:gitlab", &b).await.unwrap(),
        "another name"
    );
    store
        .release_lease("sync:github", "process-b")
        .await
        .unwrap();
    assert!(!store.acquire_lease("sync:github", &b).await.unwrap());
    store
        .release_lease("sync:github", "process-a")
        .await
        .unwrap();
    assert!(store.acquire_lease("sync:github", &b).await.unwrap());

    let brief = short_lease("process-c", 300);
    assert!(store.acquire_lease("sync:jira", &brief).await.unwrap());
    assert!(!store.acquire_lease("sync:jira", &a).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        store.acquire_lease("sync:jira", &a).await.unwrap(),
        "run out"
    );
}

/// Processes racing for one free lease: exactly one gets it.
pub async fn concurrent_takers_of_a_lease_have_one_winner(store: Arc<dyn Store>) {
    let takers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .acquire_lease("sync:slack", &Lease::new(format!("process-{i}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for taker in takers {
        winners += usize::from(taker.await.unwrap());
    }
    assert_eq!(winners, 1);
}

/// A heartbeat keeps a holder's named leases and the fetched entries it names from running out
/// and names what it still holds; without one they run out and others take them, and the late
/// holder's next heartbeat no longer names the lease it lost. An entry the heartbeat does not
/// name (let go of without a mark) runs out as if its holder had died.
pub async fn renewed_leases_stay_held_and_lapsed_ones_are_taken_over(store: Arc<dyn Store>) {
    let a = short_lease("process-a", 600);
    let b = short_lease("process-b", 600);
    let id = stored_id(store.inbox_append(&webhook("github", "d-1")).await.unwrap());
    let dropped = stored_id(store.inbox_append(&webhook("github", "d-2")).await.unwrap());
    assert_eq!(store.inbox_fetch_pending(10, &a).await.unwrap().len(), 2);
    assert!(store.acquire_lease("sync:github", &a).await.unwrap());
    let mut freed = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let held = store.renew_leases(&a, &[id]).await.unwrap();
        assert_eq!(held, ["sync:github"]);
        freed.extend(store.inbox_fetch_pending(10, &b).await.unwrap());
        assert!(!store.acquire_lease("sync:github", &b).await.unwrap());
    }
    assert_eq!(
        freed.iter().map(|e| e.id).collect::<Vec<_>>(),
        [dropped],
        "only the entry the heartbeat left out runs out"
    );
    assert_eq!(
        store.leases().await.unwrap(),
        [("sync:github".to_owned(), "process-a".to_owned())]
    );
    // Process a stops renewing: after its ttl, b takes both over.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        store.leases().await.unwrap().is_empty(),
        "a lapsed lease is not live"
    );
    assert_eq!(store.inbox_fetch_pending(10, &b).await.unwrap()[0].id, id);
    assert!(store.acquire_lease("sync:github", &b).await.unwrap());
    assert!(store.renew_leases(&a, &[id]).await.unwrap().is_empty());
    assert_eq!(store.renew_leases(&b, &[]).await.unwrap(), ["sync:github"]);
}

/// What a holder releases (at shutdown, or at its next start) is free at once: its fetched
/// entries are due again and its named leases can be taken, by anyone; nobody else's are.
pub async fn released_leases_are_free_at_once(store: Arc<dyn Store>) {
    let a = Lease::new("process-a");
    let b = Lease::new("process-b");
    for key in ["d-1", "d-2", "d-3"] {
        store.inbox_append(&webhook("github", key)).await.unwrap();
    }
    assert_eq!(store.inbox_fetch_pending(2, &a).await.unwrap().len(), 2);
    assert_eq!(store.inbox_fetch_pending(1, &b).await.unwrap().len(), 1);
    assert!(store.acquire_lease("sync:github", &a).await.unwrap());
    assert!(store.acquire_lease("sync:gitlab", &b).await.unwrap());
    assert_eq!(store.release_leases("process-a").await.unwrap(), 3);
    let c = Lease::new("process-c");
    assert_eq!(store.inbox_fetch_pending(10, &c).await.unwrap().len(), 2);
    assert!(store.acquire_lease("sync:github", &c).await.unwrap());
    assert!(!store.acquire_lease("sync:gitlab", &c).await.unwrap());
    assert_eq!(store.release_leases("process-a").await.unwrap(), 0);
}

/// A failed attempt ends the entry's lease: the holder's heartbeat does not push its retry time
/// back, and it is due at that time for any worker.
pub async fn a_failed_entrys_retry_time_outlives_its_lease(store: Arc<dyn Store>) {
    let a = Lease::new("process-a");
    let id = stored_id(store.inbox_append(&webhook("github", "d-1")).await.unwrap());
    store.inbox_fetch_pending(10, &a).await.unwrap();
    let retry_at = Utc::now() + chrono::Duration::milliseconds(300);
    store
        .inbox_mark_failed(id, "upstream 503", Some(retry_at))
        .await
        .unwrap();
    store.renew_leases(&a, &[id]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let due = store
        .inbox_fetch_pending(10, &Lease::new("process-b"))
        .await
        .unwrap();
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    assert_eq!(due[0].attempts, 1);
}

/// The latest run of each scheduled sync is kept per tenant and connector, a new one replacing
/// the one before, times to the microsecond.
pub async fn sync_runs_are_kept_per_scope(store: Arc<dyn Store>) {
    assert!(store.sync_runs().await.unwrap().is_empty());
    let running = SyncRun {
        tenant: "acme".into(),
        connector: "github".into(),
        holder: "process-a".into(),
        started_at: at(10) + chrono::Duration::microseconds(7),
        finished_at: None,
        records: 0,
        error: None,
        next_run_at: None,
    };
    let other = SyncRun {
        tenant: "globex".into(),
        connector: "github".into(),
        ..running.clone()
    };
    store.save_sync_run(&running).await.unwrap();
    store.save_sync_run(&other).await.unwrap();
    let finished = SyncRun {
        holder: "process-b".into(),
        finished_at: Some(at(70)),
        records: 1_234,
        error: Some("GitHub answered 502".into()),
        next_run_at: Some(at(910)),
        ..running.clone()
    };
    store.save_sync_run(&finished).await.unwrap();
    assert_eq!(store.sync_runs().await.unwrap(), [finished, other]);
}

/// A fresh budget holds its burst; once spent it grants nothing and says how long until the
/// next request, then refills at its rate, never past the burst. Budgets are apart by key.
pub async fn a_budget_grants_its_burst_then_its_rate(store: Arc<dyn Store>) {
    let first = store.take_budget("github:acme", 8, 10.0, 5).await.unwrap();
    assert_eq!(first.granted, 5);
    let empty = store.take_budget("github:acme", 8, 10.0, 5).await.unwrap();
    assert_eq!(empty.granted, 0);
    assert!(
        empty.wait > Duration::ZERO && empty.wait <= Duration::from_millis(100),
        "{empty:?}"
    );
    assert_eq!(empty.paused_for, Duration::ZERO);
    let other = store
        .take_budget("github:globex", 2, 10.0, 5)
        .await
        .unwrap();
    assert_eq!(other.granted, 2, "another key has its own budget");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let refilled = store.take_budget("github:acme", 8, 10.0, 5).await.unwrap();
    assert!(
        (3..=4).contains(&refilled.granted),
        "about 3.5 requests refilled in 350 ms at 10/s: {refilled:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let capped = store.take_budget("github:acme", 8, 10.0, 5).await.unwrap();
    assert_eq!(capped.granted, 5, "never more than the burst");
}

/// Takers racing for one budget get, together, no more than it holds: its burst plus its rate
/// over the time they took.
pub async fn concurrent_takers_never_overspend_a_budget(store: Arc<dyn Store>) {
    let started = std::time::Instant::now();
    let takers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut got = 0u64;
                let until = std::time::Instant::now() + Duration::from_millis(800);
                while std::time::Instant::now() < until {
                    let grant = store.take_budget("shared", 2, 20.0, 4).await.unwrap();
                    got += u64::from(grant.granted);
                    if grant.granted == 0 {
                        tokio::time::sleep(grant.wait.min(Duration::from_millis(20))).await;
                    }
                }
                got
            })
        })
        .collect();
    let mut total = 0;
    for taker in takers {
        total += taker.await.unwrap();
    }
    let allowed = 4.0 + 20.0 * started.elapsed().as_secs_f64();
    assert!(
        total as f64 <= allowed + 1.0,
        "{total} taken, {allowed:.1} allowed"
    );
    assert!(
        total >= 12,
        "the budget should have granted most of it: {total}"
    );
}

/// A pause (a provider's `Retry-After` seen by one process) holds the budget for everyone, is
/// only ever lengthened, and ends on time.
pub async fn a_paused_budget_grants_nothing_until_the_pause_ends(store: Arc<dyn Store>) {
    store
        .pause_budget("github:acme", Duration::from_millis(400))
        .await
        .unwrap();
    store
        .pause_budget("github:acme", Duration::from_millis(100))
        .await
        .unwrap();
    let paused = store.take_budget("github:acme", 1, 10.0, 5).await.unwrap();
    assert_eq!(paused.granted, 0);
    assert!(
        paused.paused_for > Duration::from_millis(200),
        "the longer pause holds: {paused:?}"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let resumed = store.take_budget("github:acme", 1, 10.0, 5).await.unwrap();
    assert_eq!(resumed.granted, 1, "{resumed:?}");
    assert_eq!(resumed.paused_for, Duration::ZERO);
}
