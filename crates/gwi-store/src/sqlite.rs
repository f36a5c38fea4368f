//! `SqliteStore`: the default engine, one file (`sqlite://./gwi.db`), zero set-up.
//!
//! One writer connection takes every write in `BEGIN IMMEDIATE` transactions (SQLite allows one
//! writer at a time anyway, and queueing in the pool beats `SQLITE_BUSY` retries); a small pool of
//! read-only connections serves reads concurrently thanks to WAL, and one more connection copies
//! the WAL into the database file in the background (see `Checkpointer`).
//!
//! Durability: WAL with `synchronous = NORMAL` (the default here). A committed transaction is in
//! the WAL file before `commit` returns, so it survives the process being killed (SIGKILL, OOM,
//! panic). After a power loss or OS crash the last transactions before the crash may be rolled
//! back, but the database stays consistent, and because records and their checkpoint share a
//! transaction the next sync simply resumes from the older checkpoint. Inbox appends are the
//! exception: each one is fsynced before it returns (`synchronous = FULL` for that transaction),
//! because a webhook delivery is acknowledged once appended and a provider does not send it again.
//! Set [`SqliteOptions::synchronous_full`] to fsync every commit (slower writes).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use gwi_core::record::{ConnectorRecord, JsonText};
use gwi_core::store::{
    BudgetGrant, InboundWebhook, InboxAppend, InboxBacklog, InboxCompletion, InboxEntry,
    InboxPruned, InboxStatus, Lease, RecordQuery, Scope, Store, StoreError, StreamState, SyncRun,
    UpsertOutcome,
};
use gwi_core::stream::Checkpoint;
use gwi_core::time::format_micros;
use secrecy::{ExposeSecret, SecretString};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection as _, QueryBuilder, Row, Sqlite};
use tokio::sync::Notify;

use crate::batch::newest_per_key;
use crate::codec;
use crate::error::{corrupt_json, from_migrate, from_sqlx};
use crate::inbox::{
    all_found, first_of_each_key, headers_from_json, headers_to_json, outcomes, parse_status,
};
use crate::reads::{NEWEST_FIRST, SELECT_RECORDS};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Parameters bound per row in the upsert.
const COLUMNS_PER_ROW: usize = 10;
/// SQLite's default limit on bound parameters (`SQLITE_MAX_VARIABLE_NUMBER`) since 3.32.
const MAX_PARAMETERS: usize = 32_766;
/// Inbox ids per `IN (...)` list (well under the bound-parameter limit).
const BODIES_PER_SELECT: usize = 500;
/// Deliveries per multi-row inbox insert (8 bound parameters each).
const APPEND_ROWS_PER_STATEMENT: usize = 256;
/// Least time between two background checkpoint passes.
const CHECKPOINT_SPACING: Duration = Duration::from_millis(20);
/// WAL size (pages) at which the writer checkpoints on its own when the background checkpointer
/// runs: only a backstop, about 80 MB at the default page size.
///
/// The WAL only starts over when a write begins after every frame was copied, which under a
/// steady stream of commits is rare, so with SQLite's default of 1,000 pages (8 MB) the writer
/// ran a checkpoint itself, fsyncs included, several times a second, and on every commit while
/// a reader kept that checkpoint from completing. Under webhook load with workers reading, the
/// single writer spent much of its time in those fsyncs while deliveries waited for their
/// commit. Raising it took ingest from about 9.1k to 10.4k deliveries/s on the benchmark
/// machine (three interleaved pairs).
const BACKSTOP_CHECKPOINT_PAGES: u32 = 10_000;
/// Inbox entries pruned per transaction (bound as parameters, and short enough that deliveries
/// arriving meanwhile hardly wait).
const PRUNE_CHUNK: i64 = 500;
/// Run the expired-claims cleanup once per this many claims.
const PURGE_EVERY: u64 = 1024;

/// Tuning for [`SqliteStore`]; the defaults suit a CLI and a webhook server alike.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteOptions {
    /// Read-only connections for queries (file databases; in-memory ones share the writer).
    pub readers: u32,
    /// How long a statement waits for another process's lock before failing.
    pub busy_timeout: Duration,
    /// Most records per `INSERT ... ON CONFLICT` statement (1 = one prepared single-row
    /// statement reused for every record). A statement journals each page it changes and
    /// copies its bound values, so more rows cost memory, fewer cost statements (see the
    /// `upsert` benchmark and `bench/measurements.md`).
    pub rows_per_statement: usize,
    /// Page size of a newly created database file (ignored for an existing one). 16 KiB pages
    /// halve the pages (and WAL frames) a batch of records writes, against 8 KiB; larger pages
    /// slowed webhook ingest (see `bench/measurements.md`).
    pub page_size: u32,
    /// fsync every commit (`synchronous = FULL`): survives power loss, slower writes.
    pub synchronous_full: bool,
    /// Copy committed pages from the WAL into the database file on a connection of its own,
    /// so the writer rarely stops to do it (file databases only).
    pub background_checkpoint: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            rows_per_statement: 64,
            page_size: 16_384,
            synchronous_full: false,
            background_checkpoint: true,
        }
    }
}

/// The SQLite engine.
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    checkpointer: Option<Checkpointer>,
    /// How to open the database file read-write, for folding a WAL left at close (none in memory).
    file: Option<SqliteConnectOptions>,
    upserts: UpsertStatements,
    claims: AtomicU64,
    /// The writer's `synchronous` level, which an inbox append restores after its own.
    synchronous: &'static str,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("rows_per_statement", &self.upserts.max)
            .finish_non_exhaustive()
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and runs migrations.
    ///
    /// `url` is `sqlite://PATH` (relative or absolute), `sqlite:PATH` or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, SqliteOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with tuning options.
    pub async fn connect_with(url: &str, options: SqliteOptions) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                StoreError::UnsupportedUrl(format!("{}: {e}", crate::store_url::redact(url)))
            })?
            .create_if_missing(true)
            .busy_timeout(options.busy_timeout);
        let single = || {
            SqlitePoolOptions::new()
                .max_connections(1)
                // An in-memory database lives as long as its connection: never recycle it.
                // No `min_connections`: closing the store would make the pool open a new one.
                .idle_timeout(None)
                .max_lifetime(None)
        };
        let in_memory = is_in_memory(url);
        if !in_memory {
            // `sqlite://./data/gwi.db` should work on a fresh checkout: create the directory.
            if let Some(dir) = base.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            create_private(base.get_filename())?;
        }
        let (synchronous, synchronous_name) = if options.synchronous_full {
            (SqliteSynchronous::Full, "FULL")
        } else {
            (SqliteSynchronous::Normal, "NORMAL")
        };
        let writable = base
            .clone()
            .page_size(options.page_size)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            // Multi-row statements keep a statement journal; in memory it costs no file writes.
            .pragma("temp_store", "memory");
        let (writer, reader) = if in_memory {
            let pool = single().connect_with(base).await.map_err(from_sqlx)?;
            (pool.clone(), pool)
        } else {
            let mut writer_options = writable.clone();
            if options.background_checkpoint {
                writer_options = writer_options
                    .pragma("wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES.to_string());
            }
            let writer = single()
                .connect_with(writer_options)
                .await
                .map_err(from_sqlx)?;
            let reader = SqlitePoolOptions::new()
                .max_connections(options.readers.max(1))
                .connect_with(base.read_only(true))
                .await
                .map_err(from_sqlx)?;
            (writer, reader)
        };
        MIGRATOR.run(&writer).await.map_err(from_migrate)?;
        let file = (!in_memory).then(|| writable.clone());
        let checkpointer = if in_memory || !options.background_checkpoint {
            None
        } else {
            Some(Checkpointer::start(
                single().connect_with(writable).await.map_err(from_sqlx)?,
            ))
        };
        Ok(Self {
            writer,
            reader,
            checkpointer,
            file,
            upserts: UpsertStatements::new(options.rows_per_statement),
            claims: AtomicU64::new(0),
            synchronous: synchronous_name,
        })
    }

    /// Upserts `records` (one per key) for `scope` in `tx`; returns how many rows were written.
    ///
    /// Rows are encoded one statement at a time, the next while SQLite runs the current one:
    /// encoding a whole batch up front held a second copy of every record in memory, which
    /// capped how large a batch could be, and left SQLite's thread idle while it ran.
    async fn upsert(
        &self,
        tx: &mut sqlx::SqliteConnection,
        scope: &Scope,
        records: Vec<&ConnectorRecord>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut sizes = self.upserts.chunks(records.len()).into_iter();
        let mut records = records.into_iter();
        let Some(first) = sizes.next() else {
            return Ok(0);
        };
        let mut statement = self.upsert_statement(scope, now, first, &mut records)?;
        let mut written = 0;
        loop {
            let next = sizes.next();
            // `join!` polls the statement first, which hands it to SQLite's thread; the next
            // one is then encoded here while it runs.
            let (done, following) = futures::join!(statement.execute(&mut *tx), async {
                next.map(|size| self.upsert_statement(scope, now, size, &mut records))
                    .transpose()
            });
            written += done.map_err(from_sqlx)?.rows_affected();
            match following? {
                Some(following) => statement = following,
                None => return Ok(written),
            }
        }
    }

    /// The upsert of the next `size` of `records`, with their columns bound.
    fn upsert_statement<'q>(
        &'q self,
        scope: &'q Scope,
        now: i64,
        size: usize,
        records: &mut impl Iterator<Item = &'q ConnectorRecord>,
    ) -> Result<sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>, StoreError> {
        let mut q = sqlx::query(self.upserts.sql(size)?);
        for record in records.take(size) {
            // sqlx copies borrowed text into the statement's arguments, so the large columns
            // are copied once here and moved in. Timestamps are fixed-width text, so comparing
            // text compares times.
            q = q
                .bind(scope.tenant.as_str())
                .bind(scope.connector.as_str())
                .bind(now)
                .bind(record.record_type.as_str())
                .bind(record.id.as_str())
                .bind(record.source.as_str())
                .bind(format_micros(record.created_at))
                .bind(format_micros(record.updated_at))
                .bind(record.data.as_str().to_owned())
                .bind(record.metadata.as_str().to_owned());
        }
        Ok(q)
    }

    /// The stored (codec, bytes) of each entry's body, by inbox id.
    async fn inbox_bodies(
        &self,
        entries: &[InboxEntry],
    ) -> Result<HashMap<i64, (i64, Vec<u8>)>, StoreError> {
        let mut bodies = HashMap::with_capacity(entries.len());
        for chunk in entries.chunks(BODIES_PER_SELECT) {
            let mut qb = with_ids(
                "SELECT id, codec, body FROM inbox_bodies WHERE id IN (",
                chunk.iter().map(|entry| entry.id),
                ")",
            );
            let rows: Vec<(i64, i64, Vec<u8>)> = qb
                .build_query_as()
                .fetch_all(&self.reader)
                .await
                .map_err(from_sqlx)?;
            bodies.extend(
                rows.into_iter()
                    .map(|(id, codec, body)| (id, (codec, body))),
            );
        }
        Ok(bodies)
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        // IMMEDIATE takes the write lock up front, so another process's writer makes us wait
        // (busy_timeout) instead of failing halfway through the transaction.
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(from_sqlx)
    }

    /// Commits a write transaction and lets the background checkpointer know there is more
    /// in the WAL to copy.
    async fn commit(&self, tx: sqlx::Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        tx.commit().await.map_err(from_sqlx)?;
        self.committed();
        Ok(())
    }

    /// Runs `transaction` (`BEGIN IMMEDIATE; ...; COMMIT` as one multi-statement query) on the
    /// writer in one round trip, and returns the rows its statements return.
    ///
    /// Each statement sqlx sends on its own is a round trip to the connection's thread; under
    /// load those waits, not SQLite, held the single writer.
    async fn write_in_one_query<O>(
        &self,
        mut transaction: QueryBuilder<'_, Sqlite>,
    ) -> Result<Vec<O>, StoreError>
    where
        O: for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
    {
        let mut writer = WriterTransaction::acquire(&self.writer).await?;
        match transaction
            .build_query_as()
            .fetch_all(writer.connection())
            .await
        {
            Ok(rows) => {
                writer.committed();
                self.committed();
                Ok(rows)
            }
            Err(failed) => {
                writer.roll_back().await;
                Err(from_sqlx(failed))
            }
        }
    }

    /// Lets the background checkpointer know a commit added to the WAL.
    fn committed(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.nudge.notify_one();
        }
    }
}

/// The writer connection while a transaction runs as one multi-statement query, which sqlx's
/// own `Transaction` cannot track.
///
/// Until [`committed`](Self::committed) says otherwise, the transaction may still be open, so
/// dropping this (a cancelled future, or a failed rollback) closes the connection instead of
/// handing it back to the pool: closing makes SQLite roll back whatever is still open, and the
/// pool opens a fresh one. A query already on SQLite's thread runs to its end first, so a
/// cancelled transaction is stored whole or not at all, and is settled by the time the writer
/// takes the next one. An in-memory database lives in that connection and is lost with it; such
/// stores are for tests and demos, and only a cancelled write or a failed rollback gets here.
struct WriterTransaction {
    connection: PoolConnection<Sqlite>,
    open: bool,
}

impl WriterTransaction {
    async fn acquire(writer: &SqlitePool) -> Result<Self, StoreError> {
        let connection = writer.acquire().await.map_err(from_sqlx)?;
        Ok(Self {
            connection,
            open: true,
        })
    }

    fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.connection
    }

    /// The query ran to its `COMMIT`: the connection is idle again.
    fn committed(&mut self) {
        self.open = false;
    }

    /// Ends whatever the failed query left open. `ROLLBACK` also fails when nothing is open
    /// (`BEGIN` itself failed, or SQLite already rolled back); the connection is then closed
    /// all the same, since what it holds cannot be told apart from a stuck transaction.
    async fn roll_back(&mut self) {
        match sqlx::query("ROLLBACK").execute(self.connection()).await {
            Ok(_) => self.open = false,
            Err(e) => tracing::warn!(
                error = %e,
                "rollback after a failed write did not run; reopening the writer connection"
            ),
        }
    }
}

impl Drop for WriterTransaction {
    fn drop(&mut self) {
        if self.open {
            self.connection.close_on_drop();
        }
    }
}

/// Copies committed pages from the WAL into the database file on its own connection.
///
/// With only the writer's automatic checkpoint, every thousandth page committed made one commit
/// wait while the whole WAL was copied and synced (tens of milliseconds), and nothing else was
/// written meanwhile. Copying in the background, nudged after each commit, leaves the writer's
/// own checkpoint (still on, at [`BACKSTOP_CHECKPOINT_PAGES`], so the WAL stays bounded) little
/// to copy. A checkpoint here is `PASSIVE`: it never blocks the writer or readers.
struct Checkpointer {
    nudge: Arc<Notify>,
    pool: SqlitePool,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Checkpointer {
    fn start(pool: SqlitePool) -> Self {
        let nudge = Arc::new(Notify::new());
        let task = tokio::spawn(checkpoint_when_nudged(pool.clone(), nudge.clone()));
        Self {
            nudge,
            pool,
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    async fn stop(&self) {
        let task = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
            // Until the task is gone, a pass it was making may still hold or be opening a
            // connection, which would outlive the close below and keep the WAL beside the file.
            let _ = task.await;
        }
        close_pool(&self.pool).await;
    }
}

/// Closes every connection of `pool`, returning once each one is closed.
///
/// `SqlitePool::close` alone can return while a connection that was just handed back is still
/// open (it goes back to the pool on a task of its own, and can land there after `close` looked);
/// that connection then closes later, on its own thread. Closing connections one by one first
/// makes the order of closing, which decides who folds the WAL into the file, the caller's.
async fn close_pool(pool: &SqlitePool) {
    while pool.size() > 0 && !pool.is_closed() {
        match pool.try_acquire() {
            Some(connection) => {
                if let Err(e) = connection.close().await {
                    tracing::debug!(error = %e, "closing a SQLite connection");
                }
            }
            // In use, or on its way back to the pool.
            None => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    pool.close().await;
}

/// Folds a WAL still beside the database file after every pool closed into the file, by a
/// connection of its own: it is then the last one, whose close checkpoints and removes the WAL.
///
/// Under load, a pool's last connection can still be closing on its own thread when the writer
/// closes (seen in CI: the writer was then not last, and the WAL stayed), so this tries a few
/// times before leaving the WAL, which SQLite folds in at the next open anyway.
async fn fold_leftover_wal(file: &SqliteConnectOptions) {
    let mut wal = file.get_filename().as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    for _ in 0..50 {
        if !tokio::fs::try_exists(&wal).await.unwrap_or(false) {
            return;
        }
        match SqliteConnection::connect_with(file).await {
            Ok(mut connection) => {
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut connection)
                    .await
                {
                    tracing::debug!(error = %e, "folding the WAL at close");
                }
                if let Err(e) = connection.close().await {
                    tracing::debug!(error = %e, "closing the WAL-folding connection");
                }
            }
            Err(e) => tracing::debug!(error = %e, "opening a connection to fold the WAL"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::debug!(wal = %wal.display(), "the WAL stays beside the database until its next open");
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let task = self
            .task
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = task {
            task.abort();
        }
    }
}

async fn checkpoint_when_nudged(pool: SqlitePool, nudge: Arc<Notify>) {
    loop {
        nudge.notified().await;
        // A failed pass is harmless: the writer's own checkpoint still bounds the WAL.
        if let Err(failure) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!("background checkpoint failed: {failure}");
        }
        // Nudges that arrive meanwhile collapse into one more pass.
        tokio::time::sleep(CHECKPOINT_SPACING).await;
    }
}

/// `INSERT ... ON CONFLICT` for `rows` records, ten anonymous parameters per row.
///
/// Anonymous `?` rather than numbered `?NNN` (which would let rows share the tenant and connector
/// parameters): sqlx looks up every parameter's name when binding, and SQLite answers that with a
/// linear scan over the named parameters, which made large statements quadratic.
fn upsert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(400 + rows * 22);
    sql.push_str(
        "INSERT INTO records (tenant, connector, synced_at, record_type, id, source, \
         created_at, updated_at, data, metadata) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?)");
    }
    sql.push_str(UPSERT_ON_CONFLICT);
    sql
}

/// What an upsert does with a record already stored: replaces it unless it is newer.
///
/// `>=`: on equal `updated_at` the incoming copy wins, so a webhook and a sync agree.
const UPSERT_ON_CONFLICT: &str = " ON CONFLICT (tenant, connector, record_type, id) DO UPDATE SET \
     source = excluded.source, created_at = excluded.created_at, \
     updated_at = excluded.updated_at, data = excluded.data, \
     metadata = excluded.metadata, synced_at = excluded.synced_at \
     WHERE excluded.updated_at >= records.updated_at";

/// The upsert statements a store uses: `max` rows, and each power of two below it.
///
/// A batch is cut into full statements and then the remainder's binary digits, so any batch
/// size uses at most ~10 distinct statements, all of which stay prepared in the connection's
/// statement cache (a time-bound flush of 137 records does not prepare a new 137-row statement).
struct UpsertStatements {
    max: usize,
    sql: std::collections::BTreeMap<usize, String>,
}

impl UpsertStatements {
    fn new(max: usize) -> Self {
        let max = max.clamp(1, MAX_PARAMETERS / COLUMNS_PER_ROW);
        let mut sql = std::collections::BTreeMap::new();
        sql.insert(max, upsert_sql(max));
        let mut size = 1;
        while size < max {
            sql.insert(size, upsert_sql(size));
            size *= 2;
        }
        Self { max, sql }
    }

    /// Statement sizes covering `total` rows, largest first.
    fn chunks(&self, total: usize) -> Vec<usize> {
        let mut sizes = vec![self.max; total / self.max];
        let mut rest = total % self.max;
        for size in self.sql.keys().rev() {
            if *size <= rest {
                sizes.push(*size);
                rest -= size;
            }
        }
        sizes
    }

    fn sql(&self, rows: usize) -> Result<&str, StoreError> {
        self.sql
            .get(&rows)
            .map(String::as_str)
            .ok_or_else(|| StoreError::Query(format!("no upsert statement for {rows} rows")))
    }
}

fn parse_ts(column: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("column {column} holds {text:?}: {e}")))
}

/// `head`, then `ids` as a comma-separated list of bound parameters, then `tail`.
fn with_ids<'a>(
    head: &str,
    ids: impl Iterator<Item = i64>,
    tail: &str,
) -> QueryBuilder<'a, Sqlite> {
    let mut qb = QueryBuilder::new(head);
    push_ids(&mut qb, ids);
    qb.push(tail);
    qb
}

/// `ids` as a comma-separated list of bound parameters.
fn push_ids(qb: &mut QueryBuilder<'_, Sqlite>, ids: impl Iterator<Item = i64>) {
    let mut list = qb.separated(',');
    for id in ids {
        list.push_bind(id);
    }
}

fn from_micros(column: &str, micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("column {column} holds {micros}")))
}

fn micros_after(now: DateTime<Utc>, wait: Duration) -> Result<i64, StoreError> {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map(|t| t.timestamp_micros())
        .ok_or_else(|| StoreError::Query(format!("duration {wait:?} is out of range")))
}

fn to_json_text(value: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Query(format!("cannot encode JSON: {e}")))
}

fn decode_record(row: &SqliteRow) -> Result<ConnectorRecord, StoreError> {
    let get = |col: &str| row.try_get::<String, _>(col).map_err(from_sqlx);
    let data = get("data")?;
    let metadata = get("metadata")?;
    Ok(ConnectorRecord {
        id: get("id")?,
        record_type: get("record_type")?,
        source: get("source")?,
        created_at: parse_ts("created_at", &get("created_at")?)?,
        updated_at: parse_ts("updated_at", &get("updated_at")?)?,
        data: JsonText::from_text(data).map_err(|e| corrupt_json("data", &e))?,
        metadata: JsonText::from_text(metadata).map_err(|e| corrupt_json("metadata", &e))?,
    })
}

/// Creates the database file readable and writable by its owner only (mode 0600), if it does
/// not exist: it holds records, webhook bodies and refresh tokens. SQLite gives its `-wal` and
/// `-shm` files the same mode. An existing file keeps the mode its owner chose.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Unavailable(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

/// Gives up on an entry that cannot be read, so it fails no later fetch of the entries beside it.
async fn dead_letter(store: &dyn Store, id: i64, error: &StoreError) -> Result<(), StoreError> {
    tracing::error!(id, error = %error, "inbox entry cannot be read; it is dead-lettered");
    store
        .inbox_mark_failed(id, &format!("cannot be read: {error}"), None)
        .await
}

fn decode_entry(row: &SqliteRow) -> Result<InboxEntry, StoreError> {
    let headers: String = row.try_get("headers").map_err(from_sqlx)?;
    let headers = serde_json::from_str(&headers).map_err(|e| corrupt_json("headers", &e))?;
    let attempts: i64 = row.try_get("attempts").map_err(from_sqlx)?;
    Ok(InboxEntry {
        id: row.try_get("id").map_err(from_sqlx)?,
        webhook: InboundWebhook {
            tenant: row.try_get("tenant").map_err(from_sqlx)?,
            connector: row.try_get("connector").map_err(from_sqlx)?,
            dedupe_key: row.try_get("dedupe_key").map_err(from_sqlx)?,
            event_type: row.try_get("event_type").map_err(from_sqlx)?,
            headers: headers_from_json(headers)?,
            // Filled in from `inbox_bodies` by the caller.
            body: Bytes::new(),
            received_at: from_micros(
                "received_at",
                row.try_get("received_at").map_err(from_sqlx)?,
            )?,
        },
        status: parse_status(row.try_get("status").map_err(from_sqlx)?)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error").map_err(from_sqlx)?,
    })
}

fn push_filters<'a>(qb: &mut QueryBuilder<'a, Sqlite>, query: &'a RecordQuery) {
    qb.push(" WHERE tenant = ").push_bind(query.tenant.as_str());
    if let Some(connector) = &query.connector {
        qb.push(" AND connector = ").push_bind(connector.as_str());
    }
    if let Some(record_type) = &query.record_type {
        qb.push(" AND record_type = ")
            .push_bind(record_type.as_str());
    }
    if let Some(since) = query.updated_since {
        qb.push(" AND updated_at >= ")
            .push_bind(format_micros(since));
    }
    if let Some(before) = query.written_before {
        qb.push(" AND synced_at < ")
            .push_bind(before.timestamp_micros());
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn commit_batch(
        &self,
        scope: &Scope,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        let rows = newest_per_key(records);
        let cursor = checkpoint.map(|c| to_json_text(&c.cursor)).transpose()?;
        let now = Utc::now().timestamp_micros();
        let mut tx = self.begin().await?;
        let written = self.upsert(&mut tx, scope, rows, now).await?;
        if let (Some(checkpoint), Some(cursor)) = (checkpoint, &cursor) {
            sqlx::query(
                "INSERT INTO sync_state (tenant, connector, stream, cursor, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (tenant, connector, stream) \
                 DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(&scope.tenant)
            .bind(&scope.connector)
            .bind(&checkpoint.stream)
            .bind(cursor)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        }
        self.commit(tx).await?;
        Ok(UpsertOutcome {
            written,
            unchanged: (records.len() as u64).saturating_sub(written),
        })
    }

    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        let rows = sqlx::query(
            "SELECT stream, cursor, updated_at FROM sync_state \
             WHERE tenant = ?1 AND connector = ?2 ORDER BY stream",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let cursor: String = row.try_get("cursor").map_err(from_sqlx)?;
                Ok(StreamState {
                    stream: row.try_get("stream").map_err(from_sqlx)?,
                    cursor: serde_json::from_str(&cursor)
                        .map_err(|e| corrupt_json("cursor", &e))?,
                    updated_at: from_micros(
                        "updated_at",
                        row.try_get("updated_at").map_err(from_sqlx)?,
                    )?,
                })
            })
            .collect()
    }

    async fn reset_state(&self, scope: &Scope, stream: Option<&str>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sync_state WHERE tenant = ?1 AND connector = ?2 \
             AND (?3 IS NULL OR stream = ?3)",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .bind(stream)
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    async fn claim_idempotency_key(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = Utc::now();
        let now_micros = now.timestamp_micros();
        let expires = micros_after(now, ttl)?;
        if self.claims.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= ?1")
                .bind(now_micros)
                .execute(&self.writer)
                .await
                .map_err(from_sqlx)?;
        }
        // One statement: a live claim is left alone (0 rows), a missing or expired one is taken.
        let done = sqlx::query(
            "INSERT INTO idempotency_keys (key, expires_at) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= ?3",
        )
        .bind(key)
        .bind(expires)
        .bind(now_micros)
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_idempotency_key(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key = ?1")
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(from_sqlx)?;
        self.committed();
        Ok(())
    }

    async fn inbox_append_batch(
        &self,
        webhooks: &[InboundWebhook],
    ) -> Result<Vec<InboxAppend>, StoreError> {
        if webhooks.is_empty() {
            return Ok(Vec::new());
        }
        // (delivery, headers, (codec, body)), compressed before the transaction so the single
        // writer only moves the bytes.
        let rows = first_of_each_key(webhooks)
            .into_iter()
            .map(|i| {
                let webhook = &webhooks[i];
                Ok((
                    webhook,
                    headers_to_json(&webhook.headers)?,
                    codec::encode(&webhook.body),
                    webhook.body_hash(),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let now = Utc::now().timestamp_micros();
        // One query for the whole transaction (see `write_in_one_query`; five round trips per
        // batch before, and their waits, not SQLite, bounded ingest). `DO NOTHING` skips keys
        // already stored; `RETURNING` names the rows that went in, so ids are never inferred from
        // insertion order. Bodies join on the key instead of naming ids
        // (unknown until the insert ran): a key already stored has its body already, since a row
        // and its body are only ever written together, so `DO NOTHING` skips exactly those.
        // Durable before it returns, power loss included: the caller acknowledges the deliveries
        // next. In WAL mode a transaction's level can differ from its neighbours': recovery keeps
        // the longest valid run of frames, and this one was synced whole.
        let mut qb = QueryBuilder::<Sqlite>::new("PRAGMA synchronous = FULL; BEGIN IMMEDIATE;");
        for chunk in rows.chunks(APPEND_ROWS_PER_STATEMENT) {
            qb.push(
                " INSERT INTO inbox (tenant, connector, dedupe_key, event_type, headers, \
                 received_at, body_hash, status, attempts, next_attempt_at) ",
            );
            qb.push_values(chunk, |mut row, (webhook, headers, _, hash)| {
                row.push_bind(webhook.tenant.as_str())
                    .push_bind(webhook.connector.as_str())
                    .push_bind(webhook.dedupe_key.as_str())
                    .push_bind(webhook.event_type.as_str())
                    .push_bind(headers.as_str())
                    .push_bind(webhook.received_at.timestamp_micros())
                    .push_bind(&hash[..])
                    .push_unseparated(", 'pending', 0, ")
                    .push_bind_unseparated(now);
            });
            qb.push(
                // No conflict target: a known key and a known body hash are both skipped.
                " ON CONFLICT DO NOTHING \
                 RETURNING id, tenant, connector, dedupe_key; \
                 INSERT INTO inbox_bodies (id, codec, body) \
                 SELECT inbox.id, new.column4, new.column5 FROM (",
            );
            qb.push_values(chunk, |mut row, (webhook, _, (codec, body), _)| {
                row.push_bind(webhook.tenant.as_str())
                    .push_bind(webhook.connector.as_str())
                    .push_bind(webhook.dedupe_key.as_str())
                    .push_bind(*codec)
                    .push_bind(body.as_ref());
            });
            // `WHERE true` keeps SQLite from reading `ON CONFLICT` as part of the join.
            qb.push(
                ") AS new JOIN inbox ON inbox.tenant = new.column1 \
                 AND inbox.connector = new.column2 AND inbox.dedupe_key = new.column3 \
                 WHERE true ON CONFLICT (id) DO NOTHING;",
            );
        }
        qb.push(" COMMIT; PRAGMA synchronous = ");
        qb.push(self.synchronous);
        let inserted: Vec<(i64, String, String, String)> = self.write_in_one_query(qb).await?;
        let stored: HashMap<(String, String, String), i64> = inserted
            .into_iter()
            .map(|(id, tenant, connector, key)| ((tenant, connector, key), id))
            .collect();
        Ok(outcomes(webhooks, stored))
    }

    async fn inbox_fetch_pending(
        &self,
        limit: u32,
        lease: &Lease,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let now = Utc::now();
        // Leasing is one UPDATE on the single writer, so two fetches never get one entry.
        // Ordered like the `inbox_pending` index, so a backlog is not sorted on every fetch.
        let rows = sqlx::query(
            "UPDATE inbox SET next_attempt_at = ?1, leased_by = ?4 WHERE id IN ( \
               SELECT id FROM inbox WHERE status = 'pending' AND next_attempt_at <= ?2 \
               ORDER BY next_attempt_at, id LIMIT ?3) \
             RETURNING id, tenant, connector, dedupe_key, event_type, headers, \
               received_at, status, attempts, last_error",
        )
        .bind(micros_after(now, lease.ttl)?)
        .bind(now.timestamp_micros())
        .bind(i64::from(limit))
        .bind(lease.holder.as_str())
        .fetch_all(&self.writer)
        .await
        .map_err(from_sqlx)?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut corrupt = Vec::new();
        for row in &rows {
            match decode_entry(row) {
                Ok(entry) => entries.push(entry),
                Err(e) => corrupt.push((row.try_get::<i64, _>("id").map_err(from_sqlx)?, e)),
            }
        }
        entries.sort_by_key(|e| e.id);
        // Bodies never change once stored, so a reader fetches them beside the writer.
        let mut bodies = self.inbox_bodies(&entries).await?;
        let mut whole = Vec::with_capacity(entries.len());
        for mut entry in entries {
            let body = bodies
                .remove(&entry.id)
                .ok_or_else(|| StoreError::Corrupt(format!("inbox entry {} has no body", entry.id)))
                .and_then(|(codec, body)| codec::decode(codec, body));
            match body {
                Ok(body) => {
                    entry.webhook.body = body.into();
                    whole.push(entry);
                }
                Err(e) => corrupt.push((entry.id, e)),
            }
        }
        for (id, error) in corrupt {
            dead_letter(self, id, &error).await?;
        }
        Ok(whole)
    }

    async fn inbox_complete_batch(&self, completed: &[InboxCompletion]) -> Result<(), StoreError> {
        if completed.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = completed.iter().map(|c| c.id).collect();
        let records: Vec<(i64, &ConnectorRecord)> = completed
            .iter()
            .flat_map(|c| c.records.iter().map(move |record| (c.id, record)))
            .collect();
        let now = Utc::now().timestamp_micros();
        // One query for the whole transaction, like the append: completions share the single
        // writer with ingest.
        let mut qb = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE;");
        for chunk in ids.chunks(BODIES_PER_SELECT) {
            qb.push(" UPDATE inbox SET status = 'done' WHERE id IN (");
            push_ids(&mut qb, chunk.iter().copied());
            qb.push(") RETURNING id;");
        }
        // Records take their tenant and connector from the entry they came with, so an unknown
        // entry's records join nothing and go nowhere. Rows are upserted in completion order
        // (`ORDER BY` the position, whatever join order SQLite picks), one after another, so the
        // newest copy of a record wins and, on a tie, the later entry's; `WHERE true` keeps
        // SQLite from reading `ON CONFLICT` as part of the join.
        for chunk in records.chunks(self.upserts.max) {
            qb.push(
                " INSERT INTO records (tenant, connector, synced_at, record_type, id, source, \
                 created_at, updated_at, data, metadata) \
                 SELECT inbox.tenant, inbox.connector, ",
            );
            qb.push_bind(now);
            qb.push(
                ", new.column3, new.column4, new.column5, new.column6, new.column7, \
                 new.column8, new.column9 FROM (",
            );
            qb.push_values(
                chunk.iter().enumerate(),
                |mut row, (position, (entry, record))| {
                    row.push_bind(position as i64)
                        .push_bind(*entry)
                        .push_bind(record.record_type.as_str())
                        .push_bind(record.id.as_str())
                        .push_bind(record.source.as_str())
                        .push_bind(format_micros(record.created_at))
                        .push_bind(format_micros(record.updated_at))
                        .push_bind(record.data.as_str())
                        .push_bind(record.metadata.as_str());
                },
            );
            qb.push(
                ") AS new JOIN inbox ON inbox.id = new.column2 WHERE true ORDER BY new.column1",
            );
            qb.push(UPSERT_ON_CONFLICT);
            qb.push(";");
        }
        qb.push(" COMMIT");
        let found: Vec<(i64,)> = self.write_in_one_query(qb).await?;
        all_found(&ids, found.len())
    }

    async fn inbox_mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, last_error = ?2, \
             status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END, \
             next_attempt_at = COALESCE(?3, next_attempt_at), leased_by = NULL \
             WHERE id = ?1 AND status = 'pending'",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at.map(|t| t.timestamp_micros()))
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            // Completed (or given up) meanwhile, e.g. by a worker whose time ran out just as
            // it committed: that outcome stands.
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM inbox WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.writer)
                .await
                .map_err(from_sqlx)?;
            if known.is_none() {
                return Err(StoreError::NotFound(format!("inbox entry {id}")));
            }
        }
        Ok(())
    }

    async fn inbox_counts(&self) -> Result<Vec<(InboxStatus, u64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM inbox GROUP BY status")
                .fetch_all(&self.reader)
                .await
                .map_err(from_sqlx)?;
        let mut counts = [InboxStatus::Pending, InboxStatus::Done, InboxStatus::Dead]
            .map(|s| (s, 0u64))
            .to_vec();
        for (status, n) in rows {
            let status = parse_status(&status)?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(counts)
    }

    async fn inbox_backlog(&self) -> Result<InboxBacklog, StoreError> {
        // Each count reads one partial index.
        let (pending, dead): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending'), \
                    (SELECT COUNT(*) FROM inbox WHERE status = 'dead')",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(from_sqlx)?;
        Ok(InboxBacklog {
            pending: u64::try_from(pending).unwrap_or(0),
            dead: u64::try_from(dead).unwrap_or(0),
        })
    }

    async fn inbox_prune(
        &self,
        bodies_before: DateTime<Utc>,
        entries_before: DateTime<Utc>,
    ) -> Result<InboxPruned, StoreError> {
        let mut pruned = InboxPruned::default();
        // Oldest first, PRUNE_CHUNK entries per transaction, so deliveries arriving meanwhile
        // wait for one short transaction at most.
        loop {
            let mut tx = self.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM inbox INDEXED BY inbox_settled_with_body \
                 WHERE status <> 'pending' AND body_kept = 1 AND received_at < ?1 \
                 ORDER BY received_at LIMIT ?2",
            )
            .bind(bodies_before.timestamp_micros())
            .bind(PRUNE_CHUNK)
            .fetch_all(&mut *tx)
            .await
            .map_err(from_sqlx)?;
            if ids.is_empty() {
                break;
            }
            for statement in ["DELETE FROM inbox_bodies", "UPDATE inbox SET body_kept = 0"] {
                with_ids(
                    &format!("{statement} WHERE id IN ("),
                    ids.iter().copied(),
                    ")",
                )
                .build()
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            }
            self.commit(tx).await?;
            pruned.bodies += ids.len() as u64;
        }
        loop {
            let mut tx = self.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM inbox INDEXED BY inbox_settled \
                 WHERE status <> 'pending' AND received_at < ?1 \
                 ORDER BY received_at LIMIT ?2",
            )
            .bind(entries_before.timestamp_micros())
            .bind(PRUNE_CHUNK)
            .fetch_all(&mut *tx)
            .await
            .map_err(from_sqlx)?;
            if ids.is_empty() {
                break;
            }
            for statement in ["DELETE FROM inbox_bodies", "DELETE FROM inbox"] {
                with_ids(
                    &format!("{statement} WHERE id IN ("),
                    ids.iter().copied(),
                    ")",
                )
                .build()
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            }
            self.commit(tx).await?;
            pruned.entries += ids.len() as u64;
        }
        Ok(pruned)
    }

    async fn save_refresh_token(
        &self,
        scope: &Scope,
        token: &SecretString,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (tenant, connector, token, updated_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant, connector) \
             DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .bind(token.expose_secret())
        .bind(Utc::now().timestamp_micros())
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn load_refresh_token(&self, scope: &Scope) -> Result<Option<SecretString>, StoreError> {
        let token: Option<String> = sqlx::query_scalar(
            "SELECT token FROM refresh_tokens WHERE tenant = ?1 AND connector = ?2",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .fetch_optional(&self.reader)
        .await
        .map_err(from_sqlx)?;
        Ok(token.map(SecretString::from))
    }

    fn stream_records<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxStream<'a, Result<ConnectorRecord, StoreError>> {
        Box::pin(async_stream::try_stream! {
            let mut qb = QueryBuilder::<Sqlite>::new(SELECT_RECORDS);
            push_filters(&mut qb, query);
            qb.push(NEWEST_FIRST)
                .push(" LIMIT ")
                .push_bind(
                    query
                        .limit
                        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)),
                );
            // One statement, stepped as the consumer asks: SQLite reads it from one snapshot.
            let mut rows = qb.build().fetch(&self.reader);
            while let Some(row) = rows.try_next().await.map_err(from_sqlx)? {
                yield decode_record(&row)?;
            }
        })
    }

    async fn count_records(&self, query: &RecordQuery) -> Result<u64, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM records");
        push_filters(&mut qb, query);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.reader)
            .await
            .map_err(from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn acquire_lease(&self, name: &str, lease: &Lease) -> Result<bool, StoreError> {
        let now = Utc::now();
        // One statement on the single writer: a live lease of another holder is left alone.
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
               expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
        )
        .bind(name)
        .bind(lease.holder.as_str())
        .bind(micros_after(now, lease.ttl)?)
        .bind(now.timestamp_micros())
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        self.committed();
        Ok(done.rows_affected() == 1)
    }

    async fn renew_leases(
        &self,
        lease: &Lease,
        entries: &[i64],
    ) -> Result<Vec<String>, StoreError> {
        let until = micros_after(Utc::now(), lease.ttl)?;
        let ids = serde_json::to_string(entries)
            .map_err(|e| StoreError::Query(format!("cannot encode inbox ids: {e}")))?;
        let mut tx = self.writer.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "UPDATE inbox SET next_attempt_at = ?2 WHERE leased_by = ?1 AND status = 'pending' \
             AND id IN (SELECT value FROM json_each(?3))",
        )
        .bind(lease.holder.as_str())
        .bind(until)
        .bind(ids)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let held: Vec<(String,)> =
            sqlx::query_as("UPDATE leases SET expires_at = ?2 WHERE holder = ?1 RETURNING name")
                .bind(lease.holder.as_str())
                .bind(until)
                .fetch_all(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        self.committed();
        Ok(held.into_iter().map(|(name,)| name).collect())
    }

    async fn leases(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as("SELECT name, holder FROM leases WHERE expires_at > ?1 ORDER BY name")
            .bind(Utc::now().timestamp_micros())
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await
            .map_err(from_sqlx)?;
        self.committed();
        Ok(())
    }

    async fn release_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await.map_err(from_sqlx)?;
        let entries = sqlx::query(
            "UPDATE inbox SET next_attempt_at = ?2, leased_by = NULL \
             WHERE leased_by = ?1 AND status = 'pending'",
        )
        .bind(holder)
        .bind(Utc::now().timestamp_micros())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let names = sqlx::query("DELETE FROM leases WHERE holder = ?1")
            .bind(holder)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        self.committed();
        Ok(entries.rows_affected() + names.rows_affected())
    }

    async fn take_budget(
        &self,
        key: &str,
        want: u32,
        rate: f64,
        burst: u32,
    ) -> Result<BudgetGrant, StoreError> {
        let rate = BudgetGrant::usable_rate(rate);
        let now = Utc::now().timestamp_micros();
        // What the bucket holds now, and what it grants (nothing while paused); every SET
        // expression reads the row as it was.
        let available = "MIN(?4, tokens + ?3 * MAX(0, ?5 - refilled_at) / 1e6)";
        let grant = format!(
            "CASE WHEN paused_until > ?5 THEN 0 ELSE MIN(?2, CAST({available} AS INTEGER)) END"
        );
        let mut tx = self.writer.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO rate_budgets (key, tokens, refilled_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(f64::from(burst))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let (granted, tokens, paused_until): (i64, f64, i64) = sqlx::query_as(&format!(
            "UPDATE rate_budgets SET granted = {grant}, tokens = {available} - ({grant}), \
               refilled_at = MAX(refilled_at, ?5) \
             WHERE key = ?1 RETURNING granted, tokens, paused_until"
        ))
        .bind(key)
        .bind(i64::from(want))
        .bind(rate)
        .bind(f64::from(burst))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        self.committed();
        let paused_for = Duration::from_micros(u64::try_from(paused_until - now).unwrap_or(0));
        Ok(BudgetGrant::from_bucket(granted, tokens, rate, paused_for))
    }

    async fn pause_budget(&self, key: &str, wait: Duration) -> Result<(), StoreError> {
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO rate_budgets (key, tokens, refilled_at, paused_until) \
             VALUES (?1, 0, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET \
               paused_until = MAX(rate_budgets.paused_until, excluded.paused_until)",
        )
        .bind(key)
        .bind(now.timestamp_micros())
        .bind(micros_after(now, wait)?)
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        self.committed();
        Ok(())
    }

    async fn save_sync_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sync_runs (tenant, connector, holder, started_at, finished_at, \
               records, error, next_run_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (tenant, connector) DO UPDATE SET holder = excluded.holder, \
               started_at = excluded.started_at, finished_at = excluded.finished_at, \
               records = excluded.records, error = excluded.error, \
               next_run_at = excluded.next_run_at",
        )
        .bind(run.tenant.as_str())
        .bind(run.connector.as_str())
        .bind(run.holder.as_str())
        .bind(run.started_at.timestamp_micros())
        .bind(run.finished_at.map(|t| t.timestamp_micros()))
        .bind(i64::try_from(run.records).unwrap_or(i64::MAX))
        .bind(run.error.as_deref())
        .bind(run.next_run_at.map(|t| t.timestamp_micros()))
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        self.committed();
        Ok(())
    }

    async fn sync_runs(&self) -> Result<Vec<SyncRun>, StoreError> {
        type Row = (
            String,
            String,
            String,
            i64,
            Option<i64>,
            i64,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT tenant, connector, holder, started_at, finished_at, records, error, \
               next_run_at FROM sync_runs ORDER BY tenant, connector",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        rows.into_iter()
            .map(
                |(tenant, connector, holder, started, finished, records, error, next)| {
                    Ok(SyncRun {
                        tenant,
                        connector,
                        holder,
                        started_at: from_micros("started_at", started)?,
                        finished_at: finished
                            .map(|t| from_micros("finished_at", t))
                            .transpose()?,
                        records: u64::try_from(records).unwrap_or(0),
                        error,
                        next_run_at: next.map(|t| from_micros("next_run_at", t)).transpose()?,
                    })
                },
            )
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO store_probe (id, written_at) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at",
        )
        .bind(Utc::now().timestamp_micros())
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        self.committed();
        Ok(())
    }

    async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop().await;
        }
        // The writer goes last: SQLite folds the WAL into the file and removes it only when
        // the last connection closes, and a read-only one cannot.
        close_pool(&self.reader).await;
        close_pool(&self.writer).await;
        if let Some(file) = &self.file {
            fold_leftover_wal(file).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refresh_tokens_are_sealed_with_the_configured_key_and_refused_without_it() {
        use gwi_core::auth::RefreshTokenSink;
        use gwi_core::config::Secret;
        use gwi_core::store::{StoreTokenSink, TokenKey};
        use secrecy::{ExposeSecret, SecretString};
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
        let scope = Scope::new("t", "jira");
        let key = |b: u8| TokenKey::from_secret(&Secret::literal(base64_of(&[b; 32]))).unwrap();
        let sink = |key: Option<TokenKey>| {
            StoreTokenSink::new(store.clone(), scope.clone()).sealed_with(key)
        };
        let text = |t: Option<SecretString>| t.map(|t| t.expose_secret().to_owned());

        // Stored before a key was configured: read as it is, sealed at the next save.
        store
            .save_refresh_token(&scope, &SecretString::from("plain-rt"))
            .await
            .unwrap();
        assert_eq!(
            text(sink(Some(key(1))).load().await.unwrap()).as_deref(),
            Some("plain-rt")
        );
        sink(Some(key(1)))
            .save(&SecretString::from("rotated-rt"))
            .await
            .unwrap();
        let raw = text(store.load_refresh_token(&scope).await.unwrap()).unwrap();
        assert!(
            raw.starts_with("gwi-enc1:") && !raw.contains("rotated-rt"),
            "{raw}"
        );
        assert_eq!(
            text(sink(Some(key(1))).load().await.unwrap()).as_deref(),
            Some("rotated-rt")
        );

        for (other, says) in [(Some(key(2)), "another key"), (None, "token_key")] {
            let error = sink(other).load().await.unwrap_err().to_string();
            assert!(
                error.contains(says) && !error.contains("rotated-rt"),
                "{error}"
            );
        }
        assert!(TokenKey::from_secret(&Secret::literal("short")).is_err());
        assert!(TokenKey::from_secret(&Secret::literal(base64_of(&[7; 16]))).is_err());
    }

    fn base64_of(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[tokio::test]
    async fn a_new_refresh_token_in_the_config_wins_over_the_stored_chain() {
        use gwi_core::auth::RefreshTokenSink;
        use gwi_core::config::Secret;
        use gwi_core::store::StoreTokenSink;
        use secrecy::{ExposeSecret, SecretString};
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
        let scope = Scope::new("t", "jira");
        let sink = |configured: &str| {
            StoreTokenSink::new(store.clone(), scope.clone())
                .configured(Some(&Secret::literal(configured)))
        };
        let first = sink("configured-1");
        first.save(&SecretString::from("rotated-1")).await.unwrap();
        let loaded = first
            .load()
            .await
            .unwrap()
            .map(|t| t.expose_secret().to_owned());
        assert_eq!(loaded.as_deref(), Some("rotated-1"), "the chain goes on");
        assert!(
            sink("configured-2").load().await.unwrap().is_none(),
            "a new configured token is used, not the dead chain"
        );
        // A token stored before chains were named is used as it was.
        store
            .save_refresh_token(&scope, &SecretString::from("legacy"))
            .await
            .unwrap();
        let legacy = sink("configured-2")
            .load()
            .await
            .unwrap()
            .map(|t| t.expose_secret().to_owned());
        assert_eq!(legacy.as_deref(), Some("legacy"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwi.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.close().await;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }

    #[tokio::test]
    async fn records_keep_only_their_key_index_so_insert_order_does_not_matter() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'",
        )
        .fetch_all(&store.writer)
        .await
        .unwrap();
        assert_eq!(indexes, ["sqlite_autoindex_records_1"]);
    }

    #[tokio::test]
    async fn an_unreadable_inbox_entry_is_dead_lettered_and_its_neighbours_still_fetched() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let webhook = |key: &str| InboundWebhook {
            tenant: "t".into(),
            connector: "github".into(),
            dedupe_key: key.into(),
            event_type: "push".into(),
            headers: Vec::new(),
            body: Bytes::from(format!("{{\"key\":\"{key}\"}}")),
            received_at: Utc::now(),
        };
        store
            .inbox_append_batch(&[webhook("a"), webhook("b"), webhook("c")])
            .await
            .unwrap();
        sqlx::query("UPDATE inbox SET headers = 'not json' WHERE dedupe_key = 'b'")
            .execute(&store.writer)
            .await
            .unwrap();
        let fetched = store
            .inbox_fetch_pending(10, &gwi_core::store::Lease::new("test"))
            .await
            .unwrap();
        let keys: Vec<&str> = fetched
            .iter()
            .map(|e| e.webhook.dedupe_key.as_str())
            .collect();
        assert_eq!(keys, ["a", "c"]);
        let counts = store.inbox_counts().await.unwrap();
        assert!(counts.contains(&(InboxStatus::Dead, 1)), "{counts:?}");
    }

    #[tokio::test]
    async fn the_per_tenant_dedupe_migration_keeps_every_delivery_and_its_id() {
        use sqlx::Connection;
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        for sql in [
            include_str!("../migrations/sqlite/0001_init.sql"),
            include_str!("../migrations/sqlite/0002_inbox_bodies.sql"),
        ] {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
        let insert = |tenant: &str, key: &str, status: &str| {
            format!(
                "INSERT INTO inbox (tenant, connector, dedupe_key, event_type, headers, \
                 received_at, status, next_attempt_at) \
                 VALUES ('{tenant}', 'github', '{key}', 'push', '[]', 1, '{status}', 1)"
            )
        };
        for (key, status) in [("d-1", "done"), ("d-2", "pending")] {
            sqlx::raw_sql(&insert("acme", key, status))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::raw_sql(include_str!(
            "../migrations/sqlite/0003_inbox_dedupe_per_tenant.sql"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, dedupe_key, status FROM inbox ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                (1, "d-1".to_owned(), "done".to_owned()),
                (2, "d-2".to_owned(), "pending".to_owned())
            ]
        );
        sqlx::raw_sql(&insert("globex", "d-1", "pending"))
            .execute(&mut conn)
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar("SELECT id FROM inbox WHERE tenant = 'globex'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(id, 3, "ids go on after the rebuilt rows");
        assert!(
            sqlx::raw_sql(&insert("acme", "d-1", "pending"))
                .execute(&mut conn)
                .await
                .is_err(),
            "one tenant's key is still stored once"
        );
    }

    /// The writer's `synchronous` level (1 = NORMAL, 2 = FULL).
    async fn writer_synchronous(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.writer)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_append_leaves_the_writer_at_its_configured_level() {
        let dir = tempfile::tempdir().unwrap();
        for (full, level) in [(false, 1), (true, 2)] {
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{full}.db")).display()
            );
            let options = SqliteOptions {
                synchronous_full: full,
                ..SqliteOptions::default()
            };
            let store = SqliteStore::connect_with(&url, options).await.unwrap();
            assert_eq!(writer_synchronous(&store).await, level);
            let webhook = InboundWebhook {
                tenant: "t".into(),
                connector: "github".into(),
                dedupe_key: "d-1".into(),
                event_type: "ping".into(),
                headers: Vec::new(),
                body: Bytes::from_static(b"{}"),
                received_at: Utc::now(),
            };
            let appended = store.inbox_append_batch(&[webhook]).await.unwrap();
            assert!(matches!(appended[..], [InboxAppend::Stored(_)]));
            assert_eq!(
                writer_synchronous(&store).await,
                level,
                "an append changed the level of the commits after it"
            );
            store.close().await;
        }
    }

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        let a = DateTime::parse_from_rfc3339("2024-01-01T00:00:09Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2024-01-01T00:00:10.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(format_micros(a) < format_micros(b));
        assert_eq!(format_micros(a).len(), format_micros(b).len());
        assert_eq!(parse_ts("t", &format_micros(b)).unwrap(), b);
    }

    #[test]
    fn batches_use_full_statements_then_powers_of_two() {
        let upserts = UpsertStatements::new(100);
        assert_eq!(upserts.chunks(0), Vec::<usize>::new());
        assert_eq!(upserts.chunks(100), [100]);
        assert_eq!(upserts.chunks(237), [100, 100, 32, 4, 1]);
        for total in 0..1000 {
            let chunks = upserts.chunks(total);
            assert_eq!(chunks.iter().sum::<usize>(), total);
            assert!(chunks.iter().all(|c| upserts.sql(*c).is_ok()));
        }
        assert_eq!(UpsertStatements::new(0).chunks(3), [1, 1, 1]);
    }

    #[test]
    fn upsert_sql_has_ten_parameters_per_row() {
        let sql = upsert_sql(3);
        assert_eq!(sql.matches('?').count(), 30);
    }
}
