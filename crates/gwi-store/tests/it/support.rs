//! Harnesses that give each conformance case a fresh store with the poison trigger armed.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::FutureExt;
use gwi_store::{PostgresStore, SqliteStore};
use gwi_testing::store_conformance::{Case, POISON_RECORD_ID};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor};

/// A fresh SQLite file in a temporary directory.
pub async fn sqlite_harness(case: Case) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gwi.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    conn.execute(
        format!(
            "CREATE TRIGGER poison_guard BEFORE INSERT ON records \
             WHEN NEW.id = '{POISON_RECORD_ID}' BEGIN SELECT RAISE(ABORT, 'poisoned record'); END"
        )
        .as_str(),
    )
    .await
    .unwrap();
    conn.close().await.unwrap();
    case(Arc::new(store)).await;
}

/// The PostgreSQL URL to test against, or `None` (with a note) when none is configured locally.
///
/// Set but unreachable is a failure, and so is unset under CI: a green run must have tested it.
pub fn postgres_url() -> Option<String> {
    match std::env::var("GWI_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "GWI_TEST_POSTGRES_URL must be set in CI (e.g. postgres://postgres@127.0.0.1:5432/test)"
            )
        }
        _ => {
            eprintln!("note: GWI_TEST_POSTGRES_URL is not set; skipping a PostgreSQL test");
            None
        }
    }
}

static SCHEMAS: AtomicU32 = AtomicU32::new(0);

/// A fresh schema per case: created, used through `search_path`, dropped afterwards.
pub async fn postgres_harness(case: Case) {
    let Some(url) = postgres_url() else { return };
    let schema = format!(
        "gwi_test_{}_{}",
        std::process::id(),
        SCHEMAS.fetch_add(1, Ordering::Relaxed)
    );
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("GWI_TEST_POSTGRES_URL is set but unreachable: {e}"));
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let path = schema.clone();
    let pool = PgPoolOptions::new()
        .max_connections(8)
        // Idle connections, as `PostgresStore::connect_with` keeps, so large batches are
        // split over several (`PostgresOptions::commit_connections`).
        .min_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _| {
            let sql = format!("SET search_path TO {path}");
            Box::pin(async move {
                conn.execute(sql.as_str()).await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .unwrap();
    let store = PostgresStore::from_pool(pool.clone()).await.unwrap();
    pool.execute(
        format!(
            "CREATE FUNCTION poison_guard() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.id = '{POISON_RECORD_ID}' THEN RAISE EXCEPTION 'poisoned record'; END IF; \
             RETURN NEW; END $$"
        )
        .as_str(),
    )
    .await
    .unwrap();
    pool.execute(
        "CREATE TRIGGER poison_guard BEFORE INSERT ON records \
         FOR EACH ROW EXECUTE FUNCTION poison_guard()",
    )
    .await
    .unwrap();
    let outcome = AssertUnwindSafe(case(Arc::new(store))).catch_unwind().await;
    pool.close().await;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .unwrap();
    admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
