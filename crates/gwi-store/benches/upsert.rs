//! Upsert throughput: 200k records of ~1 KB JSON, committed in batches, into each engine.
//!
//! Prints records/s and peak RSS (VmHWM) per run. SQLite runs in a temporary file for several
//! statement shapes (one prepared single-row statement reused vs multi-row statements);
//! PostgreSQL runs when `GWI_BENCH_POSTGRES_URL` is set, in a throwaway schema.
//!
//! `cargo bench -p gwi-store` (add `-- --quick` for 20k records).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{RecordQuery, Scope, Store};
use gwi_core::stream::Checkpoint;
use gwi_store::{PostgresStore, SqliteOptions, SqliteStore};
use serde_json::json;
use sqlx::Executor;
use sqlx::postgres::PgPoolOptions;

const BATCH: usize = 500;

/// Record `i`, with `data` of about 1 KB; `version` shifts `updated_at` for the update pass.
fn record(i: usize, version: i64) -> ConnectorRecord {
    let t = Utc
        .timestamp_opt(1_700_000_000 + i as i64 + version * 10_000_000, 0)
        .unwrap();
    let mut r = ConnectorRecord::new(format!("issue-{i:07}"), "issue", "bench", t, t);
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = BODY.get_or_init(|| {
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
            .repeat(14)
            .chars()
            .take(760)
            .collect()
    });
    r.data = json!({
        "number": i,
        "title": format!("Issue number {i} needs a fix in the pagination module"),
        "state": if i.is_multiple_of(3) { "closed" } else { "open" },
        "labels": ["bug", "p2", format!("area-{}", i % 17)],
        "author": {"login": format!("user{}", i % 1000), "id": i % 1000},
        "body": body,
        "version": version,
    })
    .into();
    r.metadata = json!({"url": format!("https://example.test/acme/widgets/issues/{i}")}).into();
    r
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak-RSS counter (Linux >= 4.0), so each run reports its own peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU time (user + system) this process has used, all threads, from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the `(comm)` part; utime and stime are fields 14 and 15.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Figures {
    label: String,
    records: usize,
    /// Wall time spent in `commit_batch` (building the records is not counted).
    elapsed: Duration,
    /// CPU time of this process during `commit_batch` (the database server's is not included).
    cpu: Duration,
    peak_rss_kib: Option<u64>,
}

impl Figures {
    fn print(&self) {
        let per_sec = self.records as f64 / self.elapsed.as_secs_f64();
        let per_cpu_sec = self.records as f64 / self.cpu.as_secs_f64().max(0.001);
        let rss = self.peak_rss_kib.map_or("n/a".to_owned(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        });
        println!(
            "{:<36} {:>7.2} s wall {:>8.0} rec/s | {:>6.2} s cpu {:>8.0} rec/cpu-s | peak RSS {}",
            self.label,
            self.elapsed.as_secs_f64(),
            per_sec,
            self.cpu.as_secs_f64(),
            per_cpu_sec,
            rss
        );
    }
}

/// Upserts `total` records in batches, each with a checkpoint, as the sync engine does.
async fn upsert_all(store: &dyn Store, total: usize, version: i64, label: String) -> Figures {
    let scope = Scope::new("bench", "bench");
    reset_peak_rss();
    let mut elapsed = Duration::ZERO;
    let mut cpu = Duration::ZERO;
    let mut start = 0;
    while start < total {
        let end = (start + BATCH).min(total);
        // Built per batch, as records stream in: memory stays bounded by the batch.
        let batch: Vec<ConnectorRecord> = (start..end).map(|i| record(i, version)).collect();
        let checkpoint = Checkpoint {
            stream: "acme/widgets/issue".into(),
            cursor: json!({"page": end / BATCH}),
        };
        let (started, cpu_before) = (Instant::now(), cpu_time());
        let outcome = store
            .commit_batch(&scope, &batch, Some(&checkpoint))
            .await
            .unwrap();
        elapsed += started.elapsed();
        cpu += cpu_time().saturating_sub(cpu_before);
        assert_eq!(outcome.written as usize, batch.len());
        start = end;
    }
    let stored = store
        .count_records(&RecordQuery {
            tenant: "bench".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored as usize, total);
    Figures {
        label,
        records: total,
        elapsed,
        cpu,
        peak_rss_kib: peak_rss_kib(),
    }
}

async fn bench_sqlite(total: usize) {
    for rows in [1, 16, 64, 250, 500] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let options = SqliteOptions {
            rows_per_statement: rows,
            ..Default::default()
        };
        let store = SqliteStore::connect_with(&url, options).await.unwrap();
        upsert_all(
            &store,
            total,
            0,
            format!("sqlite insert, {rows} rows/statement"),
        )
        .await
        .print();
        upsert_all(
            &store,
            total,
            1,
            format!("sqlite update, {rows} rows/statement"),
        )
        .await
        .print();
        store.close().await;
    }
}

async fn bench_postgres(url: &str, total: usize) {
    let schema = format!("gwi_bench_{}", std::process::id());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let path = schema.clone();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            let sql = format!("SET search_path TO {path}");
            Box::pin(async move {
                conn.execute(sql.as_str()).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(PostgresStore::from_pool(pool.clone()).await.unwrap());
    upsert_all(store.as_ref(), total, 0, "postgres insert (UNNEST)".into())
        .await
        .print();
    upsert_all(store.as_ref(), total, 1, "postgres update (UNNEST)".into())
        .await
        .print();
    pool.close().await;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .unwrap();
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let total = if quick { 20_000 } else { 200_000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sample = serde_json::to_string(&record(0, 0)).unwrap();
    println!(
        "upsert benchmark: {total} records of ~{} bytes JSON, batches of {BATCH}, each batch with its checkpoint",
        sample.len()
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!("machine: {cores} cores, load average {}", load.trim());
    }
    rt.block_on(async {
        bench_sqlite(total).await;
        match std::env::var("GWI_BENCH_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => bench_postgres(&url, total).await,
            _ => println!("postgres: skipped (set GWI_BENCH_POSTGRES_URL to run it)"),
        }
    });
}
