//! Choosing and opening a store by URL.

use chrono::{TimeZone, Utc};
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{RecordQuery, Scope, Store, StoreError};
use gwi_core::stream::Checkpoint;
use serde_json::json;

fn record(id: &str) -> ConnectorRecord {
    let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    ConnectorRecord::new(id, "issue", "github", t, t)
}

fn everything() -> RecordQuery {
    RecordQuery {
        tenant: "t".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn open_refuses_unknown_schemes_without_showing_the_password() {
    let err = gwi_store::open("mysql://admin:hunter2@db.local/gwi")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err}");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("sqlite://"),
        "the error says what to use: {text}"
    );

    let err = gwi_store::open("./gwi.db").await.err().unwrap();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err}");
}

#[tokio::test]
async fn open_sqlite_creates_missing_directories_and_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/nested/gwi.db").display()
    );
    let scope = Scope::new("t", "github");
    {
        let store = gwi_store::open(&url).await.unwrap();
        let checkpoint = Checkpoint {
            stream: "s".into(),
            cursor: json!(3),
        };
        store
            .commit_batch(&scope, &[record("1"), record("2")], Some(&checkpoint))
            .await
            .unwrap();
    }
    let store = gwi_store::open(&url).await.unwrap();
    assert_eq!(store.count_records(&everything()).await.unwrap(), 2);
    assert_eq!(store.load_state(&scope).await.unwrap()[0].cursor, json!(3));
}

#[tokio::test]
async fn open_sqlite_in_memory_works_without_a_file() {
    let store = gwi_store::open("sqlite::memory:").await.unwrap();
    store
        .commit_batch(&Scope::new("t", "github"), &[record("1")], None)
        .await
        .unwrap();
    assert_eq!(store.count_records(&everything()).await.unwrap(), 1);
    store.ping().await.unwrap();
}

#[tokio::test]
async fn open_postgres_by_url_runs_migrations() {
    let Some(url) = crate::support::postgres_url() else {
        return;
    };
    // Keep the test out of the public schema: the URL itself selects a fresh schema.
    let schema = format!("gwi_test_open_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .execute(&admin)
    .await
    .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let store = gwi_store::open(&scoped).await.unwrap();
    store
        .commit_batch(&Scope::new("t", "github"), &[record("1")], None)
        .await
        .unwrap();
    assert_eq!(store.count_records(&everything()).await.unwrap(), 1);
    drop(store);
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'records'",
    )
    .bind(&schema)
    .fetch_one(&admin)
    .await
    .unwrap();
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(
        tables, 1,
        "migrations created the tables in the URL's schema"
    );
}

#[tokio::test]
async fn open_postgres_reports_an_unreachable_server_as_unavailable() {
    let options = gwi_store::PostgresOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    // Port 1 on loopback: nothing listens there.
    let err = gwi_store::PostgresStore::connect_with("postgres://u:secret@127.0.0.1:1/x", options)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn sqlite_inbox_rows_stored_before_body_compression_stay_readable() {
    // A database as the first schema left it, holding one delivery with its body in the row.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("migrations");
    std::fs::create_dir(&first).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_init.sql"
        ),
        first.join("0001_init.sql"),
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let old = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            url.parse::<sqlx::sqlite::SqliteConnectOptions>()
                .unwrap()
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(first.as_path())
        .await
        .unwrap()
        .run(&old)
        .await
        .unwrap();
    let body = br#"{"action":"opened","number":7}"#.repeat(50);
    sqlx::query(
        "INSERT INTO inbox (tenant, connector, dedupe_key, event_type, headers, body, \
         received_at, status, next_attempt_at) \
         VALUES ('t', 'github', 'old-1', 'pull_request', '[]', ?1, 0, 'pending', 0)",
    )
    .bind(&body)
    .execute(&old)
    .await
    .unwrap();
    old.close().await;

    let store = gwi_store::SqliteStore::connect(&url).await.unwrap();
    let fetched = store
        .inbox_fetch_pending(10, &gwi_core::store::Lease::new("test"))
        .await
        .unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].webhook.dedupe_key, "old-1");
    assert_eq!(fetched[0].webhook.body, body);
    store.close().await;
}

/// How large the main database file is (in WAL mode it only grows when pages are checkpointed).
fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

async fn store_with_checkpointer(
    dir: &std::path::Path,
    background_checkpoint: bool,
) -> (gwi_store::SqliteStore, std::path::PathBuf) {
    let path = dir.join(format!("ckpt-{background_checkpoint}.db"));
    let options = gwi_store::SqliteOptions {
        background_checkpoint,
        ..Default::default()
    };
    let url = format!("sqlite://{}", path.display());
    let store = gwi_store::SqliteStore::connect_with(&url, options)
        .await
        .unwrap();
    (store, path)
}

fn bulky_records() -> Vec<ConnectorRecord> {
    (0..300)
        .map(|i| {
            let mut r = record(&i.to_string());
            r.data = json!({ "text": "x".repeat(2000), "n": i }).into();
            r
        })
        .collect()
}

#[tokio::test]
async fn sqlite_copies_committed_pages_into_the_database_file_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::new("t", "github");

    // Control: a commit far below the writer's own checkpoint threshold stays in the WAL.
    let (store, path) = store_with_checkpointer(dir.path(), false).await;
    let before = file_len(&path);
    store
        .commit_batch(&scope, &bulky_records(), None)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        file_len(&path),
        before,
        "nothing should checkpoint this commit"
    );
    store.close().await;

    let (store, path) = store_with_checkpointer(dir.path(), true).await;
    let before = file_len(&path);
    store
        .commit_batch(&scope, &bulky_records(), None)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while file_len(&path) < before + 500_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes",
            file_len(&path)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(store.count_records(&everything()).await.unwrap(), 300);
    store.close().await;
}

#[tokio::test]
async fn a_closed_sqlite_store_is_whole_in_its_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = store_with_checkpointer(dir.path(), true).await;
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(store);
    store
        .commit_batch(&Scope::new("t", "github"), &bulky_records(), None)
        .await
        .unwrap();
    // Readers open too, as a command that reads back what it wrote has them.
    assert_eq!(store.count_records(&everything()).await.unwrap(), 300);
    store.close().await;

    let wal = path.with_extension("db-wal");
    assert!(
        !wal.exists(),
        "{} was left beside the database",
        wal.display()
    );
    // Copying the one file copies every record.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let copied = gwi_store::SqliteStore::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    assert_eq!(copied.count_records(&everything()).await.unwrap(), 300);
    copied.close().await;
}
