//! `PostgresStore`: the engine for deployments where several workers share the work.
//!
//! Records are `JSONB`; batches are upserted with one `INSERT ... SELECT FROM UNNEST(...)
//! ON CONFLICT` per chunk (arrays keep the statement the same whatever the batch size, so it is
//! prepared once); inbox workers compete through `FOR UPDATE SKIP LOCKED`. Times that decide
//! expiry (claims, inbox leases) come from the database clock, which all workers share.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{
    BudgetGrant, InboundWebhook, InboxAppend, InboxBacklog, InboxCompletion, InboxEntry,
    InboxPruned, InboxStatus, Lease, RecordQuery, Scope, Store, StoreError, StreamState, SyncRun,
    UpsertOutcome,
};
use gwi_core::stream::Checkpoint;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, QueryBuilder, Row};

use crate::batch::{newest_per_key, records_by_scope};
use crate::codec;
use crate::error::{from_migrate, from_sqlx};
use crate::inbox::{
    all_found, first_of_each_key, headers_from_json, headers_to_json, outcomes, parse_status,
};
use crate::reads::{NEWEST_FIRST, SELECT_RECORDS};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Records per upsert statement: bounds the size of one statement's arrays.
const ROWS_PER_STATEMENT: usize = 5_000;
/// Run the expired-claims cleanup once per this many claims.
const PURGE_EVERY: u64 = 1024;

/// A batch part below this many rows is not worth a connection of its own.
const PART_MIN_ROWS: usize = 256;

/// Pool settings for [`PostgresStore`].
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long to wait for a connection (also bounds connecting to an unreachable server).
    pub acquire_timeout: Duration,
    /// Connections one large batch is upserted over at once (1: one transaction).
    pub commit_connections: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            // Parsing JSON into `jsonb` is most of a batch's cost and runs in the backend, one
            // core per connection, while gwi reads the next batch (bench/measurements.md: 34k
            // records/s with one, 45k with four, on two cores).
            commit_connections: 4,
        }
    }
}

/// The PostgreSQL engine.
pub struct PostgresStore {
    pool: PgPool,
    claims: AtomicU64,
    /// See [`PostgresOptions::commit_connections`].
    commit_connections: usize,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`) and runs migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with pool settings.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let unavailable =
            |e: String| StoreError::Unavailable(format!("{}: {e}", crate::store_url::redact(url)));
        let connect = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::UnsupportedUrl(format!("{}: {e}", crate::store_url::redact(url)))
        })?;
        // One direct connection first: a pool only reports "timed out", this says why
        // (refused, unknown host, bad password).
        let probe = tokio::time::timeout(
            options.acquire_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        .map_err(|_| unavailable(format!("no answer within {:?}", options.acquire_timeout)))?
        .map_err(|e| unavailable(from_sqlx(e).to_string()))?;
        probe
            .close()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let commit_connections = options.commit_connections.max(1);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            // Kept open so a large batch finds its spare connections idle.
            .min_connections(
                u32::try_from(commit_connections)
                    .unwrap_or(u32::MAX)
                    .min(options.max_connections),
            )
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| unavailable(from_sqlx(e).to_string()))?;
        let mut store = Self::from_pool(pool).await?;
        store.commit_connections = commit_connections;
        Ok(store)
    }

    /// Uses an existing pool (e.g. one whose connections set a `search_path`); runs migrations.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        MIGRATOR.run(&pool).await.map_err(from_migrate)?;
        Ok(Self {
            pool,
            claims: AtomicU64::new(0),
            commit_connections: PostgresOptions::default().commit_connections,
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn decode_record(row: &PgRow) -> Result<ConnectorRecord, StoreError> {
    Ok(ConnectorRecord {
        id: row.try_get("id").map_err(from_sqlx)?,
        record_type: row.try_get("record_type").map_err(from_sqlx)?,
        source: row.try_get("source").map_err(from_sqlx)?,
        created_at: row.try_get("created_at").map_err(from_sqlx)?,
        updated_at: row.try_get("updated_at").map_err(from_sqlx)?,
        data: row
            .try_get::<serde_json::Value, _>("data")
            .map_err(from_sqlx)?
            .into(),
        metadata: row
            .try_get::<serde_json::Value, _>("metadata")
            .map_err(from_sqlx)?
            .into(),
    })
}

fn decode_entry(row: &PgRow) -> Result<InboxEntry, StoreError> {
    let attempts: i32 = row.try_get("attempts").map_err(from_sqlx)?;
    let codec: i16 = row.try_get("body_codec").map_err(from_sqlx)?;
    Ok(InboxEntry {
        id: row.try_get("id").map_err(from_sqlx)?,
        webhook: InboundWebhook {
            tenant: row.try_get("tenant").map_err(from_sqlx)?,
            connector: row.try_get("connector").map_err(from_sqlx)?,
            dedupe_key: row.try_get("dedupe_key").map_err(from_sqlx)?,
            event_type: row.try_get("event_type").map_err(from_sqlx)?,
            headers: headers_from_json(row.try_get("headers").map_err(from_sqlx)?)?,
            body: codec::decode(i64::from(codec), row.try_get("body").map_err(from_sqlx)?)?.into(),
            received_at: row.try_get("received_at").map_err(from_sqlx)?,
        },
        status: parse_status(row.try_get("status").map_err(from_sqlx)?)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        last_error: row.try_get("last_error").map_err(from_sqlx)?,
    })
}

fn push_filters<'a>(qb: &mut QueryBuilder<'a, Postgres>, query: &'a RecordQuery) {
    qb.push(" WHERE tenant = ").push_bind(query.tenant.as_str());
    if let Some(connector) = &query.connector {
        qb.push(" AND connector = ").push_bind(connector.as_str());
    }
    if let Some(record_type) = &query.record_type {
        qb.push(" AND record_type = ")
            .push_bind(record_type.as_str());
    }
    if let Some(since) = query.updated_since {
        qb.push(" AND updated_at >= ").push_bind(since);
    }
    if let Some(before) = query.written_before {
        qb.push(" AND synced_at < ").push_bind(before);
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Inbox entries pruned per statement, so deliveries arriving meanwhile hardly wait.
const PRUNE_CHUNK: i64 = 500;

/// Appends deliveries given as arrays, skipping keys already stored; returns what it stored.
/// No conflict target: a known key and a known body hash are both skipped.
const INBOX_APPEND: &str = "INSERT INTO inbox (tenant, connector, dedupe_key, event_type, \
     headers, body, body_codec, received_at, body_hash, status) \
     SELECT t.tenant, t.connector, t.dedupe_key, t.event_type, t.headers::jsonb, t.body, \
            t.body_codec, t.received_at, t.body_hash, 'pending' \
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], \
                 $7::smallint[], $8::timestamptz[], $9::bytea[]) \
          AS t(tenant, connector, dedupe_key, event_type, headers, body, body_codec, \
               received_at, body_hash) \
     ON CONFLICT DO NOTHING \
     RETURNING id, tenant, connector, dedupe_key";

const UPSERT: &str = "INSERT INTO records (tenant, connector, record_type, id, source, \
     created_at, updated_at, data, metadata, synced_at) \
     SELECT $1, $2, t.record_type, t.id, t.source, t.created_at, t.updated_at, \
            t.data::jsonb, t.metadata::jsonb, $10 \
     FROM UNNEST($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], \
                 $8::text[], $9::text[]) \
          AS t(record_type, id, source, created_at, updated_at, data, metadata) \
     ON CONFLICT (tenant, connector, record_type, id) DO UPDATE SET \
       source = EXCLUDED.source, created_at = EXCLUDED.created_at, \
       updated_at = EXCLUDED.updated_at, data = EXCLUDED.data, \
       metadata = EXCLUDED.metadata, synced_at = EXCLUDED.synced_at \
     WHERE EXCLUDED.updated_at >= records.updated_at";

/// Saves `checkpoint` for `scope` on `conn` (in its transaction, if it is one).
async fn save_checkpoint(
    conn: &mut sqlx::PgConnection,
    scope: &Scope,
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_state (tenant, connector, stream, cursor, updated_at) \
         VALUES ($1, $2, $3, $4, now()) \
         ON CONFLICT (tenant, connector, stream) \
         DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at",
    )
    .bind(&scope.tenant)
    .bind(&scope.connector)
    .bind(&checkpoint.stream)
    .bind(&checkpoint.cursor)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

impl PostgresStore {
    /// Upserts `rows` as up to `parts` disjoint key ranges over connections of their own at
    /// once, each range its own transaction, committed as soon as it is written; then saves
    /// the checkpoint. Parsing JSON into `jsonb` is most of a batch's cost and runs in the
    /// backend, one core per connection.
    ///
    /// No transaction waits inside gwi for another while it holds row locks, so a lock cycle
    /// with another writer (a webhook worker) is one PostgreSQL sees and breaks; each range is
    /// locked in key order like every other write. The checkpoint comes after every range, so
    /// a failure leaves at most records the next run writes again. Beyond the first, only
    /// idle connections are taken: commits never wait on each other for one.
    async fn commit_in_parts(
        &self,
        scope: &Scope,
        mut rows: Vec<&ConnectorRecord>,
        parts: usize,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<u64, StoreError> {
        let mut first = self.pool.acquire().await.map_err(from_sqlx)?;
        let mut spare = Vec::with_capacity(parts - 1);
        while spare.len() + 1 < parts {
            let Some(mut connection) = self.pool.try_acquire() else {
                break;
            };
            // `try_acquire` skips the pool's health check: a connection PostgreSQL dropped
            // while it was idle would fail the batch.
            match connection.ping().await {
                Ok(()) => spare.push(connection),
                Err(_) => {
                    let _ = connection.close().await;
                }
            }
        }
        tracing::trace!(
            rows = rows.len(),
            parts = spare.len() + 1,
            "upserting a batch"
        );
        let per_part = rows.len().div_ceil(spare.len() + 1);
        let mut ranges = Vec::with_capacity(spare.len() + 1);
        while rows.len() > per_part {
            ranges.push(rows.split_off(rows.len() - per_part));
        }
        ranges.push(rows);
        let connections = spare.iter_mut().map(|c| &mut **c).chain([&mut *first]);
        // Every range runs to its end (a failed one does not cut the others off mid-commit),
        // then the first failure is the batch's.
        let written = futures::future::join_all(connections.zip(ranges).map(
            |(connection, range)| async move {
                let mut tx = Connection::begin(connection).await.map_err(from_sqlx)?;
                let written = upsert(&mut tx, scope, range).await?;
                tx.commit().await.map_err(from_sqlx)?;
                Ok::<_, StoreError>(written)
            },
        ))
        .await
        .into_iter()
        .collect::<Result<Vec<u64>, StoreError>>()?;
        if let Some(checkpoint) = checkpoint {
            save_checkpoint(&mut first, scope, checkpoint).await?;
        }
        Ok(written.into_iter().sum())
    }
}

/// Upserts `rows` (one per key) for `scope` in `tx`; returns how many rows were written.
async fn upsert(
    tx: &mut sqlx::PgConnection,
    scope: &Scope,
    mut rows: Vec<&ConnectorRecord>,
) -> Result<u64, StoreError> {
    // Rows are locked in statement order: a fixed order keeps two workers upserting
    // overlapping batches from deadlocking.
    rows.sort_unstable_by(|a, b| {
        (a.record_type.as_str(), a.id.as_str()).cmp(&(b.record_type.as_str(), b.id.as_str()))
    });
    let mut written = 0;
    // gwi's clock, not the server's: a reconciling sync compares it with its own start.
    let now = chrono::Utc::now();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        // JSON is sent as text and cast in SQL: PostgreSQL parses it either way.
        let data: Vec<&str> = chunk.iter().map(|r| r.data.as_str()).collect();
        let metadata: Vec<&str> = chunk.iter().map(|r| r.metadata.as_str()).collect();
        let done = sqlx::query(UPSERT)
            .bind(&scope.tenant)
            .bind(&scope.connector)
            .bind(
                chunk
                    .iter()
                    .map(|r| r.record_type.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(chunk.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.updated_at).collect::<Vec<_>>())
            .bind(data)
            .bind(metadata)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        written += done.rows_affected();
    }
    Ok(written)
}

#[async_trait]
impl Store for PostgresStore {
    async fn commit_batch(
        &self,
        scope: &Scope,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        let rows = newest_per_key(records);
        let parts = self
            .commit_connections
            .min(rows.len() / PART_MIN_ROWS)
            .max(1);
        let written = if parts == 1 {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let written = upsert(&mut tx, scope, rows).await?;
            if let Some(checkpoint) = checkpoint {
                save_checkpoint(&mut tx, scope, checkpoint).await?;
            }
            tx.commit().await.map_err(from_sqlx)?;
            written
        } else {
            self.commit_in_parts(scope, rows, parts, checkpoint).await?
        };
        Ok(UpsertOutcome {
            written,
            unchanged: (records.len() as u64).saturating_sub(written),
        })
    }

    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        let rows = sqlx::query(
            "SELECT stream, cursor, updated_at FROM sync_state \
             WHERE tenant = $1 AND connector = $2 ORDER BY stream",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(StreamState {
                    stream: row.try_get("stream").map_err(from_sqlx)?,
                    cursor: row.try_get("cursor").map_err(from_sqlx)?,
                    updated_at: row.try_get("updated_at").map_err(from_sqlx)?,
                })
            })
            .collect()
    }

    async fn reset_state(&self, scope: &Scope, stream: Option<&str>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sync_state WHERE tenant = $1 AND connector = $2 \
             AND ($3::text IS NULL OR stream = $3)",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .bind(stream)
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    async fn claim_idempotency_key(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        if self.claims.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= now()")
                .execute(&self.pool)
                .await
                .map_err(from_sqlx)?;
        }
        // One statement: concurrent inserts of one key serialize on the unique index; the
        // losers see a live claim and update nothing.
        let done = sqlx::query(
            "INSERT INTO idempotency_keys (key, expires_at) \
             VALUES ($1, clock_timestamp() + make_interval(secs => $2)) \
             ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE idempotency_keys.expires_at <= clock_timestamp()",
        )
        .bind(key)
        .bind(seconds(ttl))
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_idempotency_key(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn inbox_append_batch(
        &self,
        webhooks: &[InboundWebhook],
    ) -> Result<Vec<InboxAppend>, StoreError> {
        let first = first_of_each_key(webhooks);
        if first.is_empty() {
            return Ok(Vec::new());
        }
        let rows = first.iter().map(|&i| &webhooks[i]);
        let headers = rows
            .clone()
            .map(|w| headers_to_json(&w.headers))
            .collect::<Result<Vec<_>, _>>()?;
        let bodies: Vec<_> = rows.clone().map(|w| codec::encode(&w.body)).collect();
        let stored: Vec<(i64, String, String, String)> = sqlx::query_as(INBOX_APPEND)
            .bind(rows.clone().map(|w| w.tenant.as_str()).collect::<Vec<_>>())
            .bind(
                rows.clone()
                    .map(|w| w.connector.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.clone()
                    .map(|w| w.dedupe_key.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                rows.clone()
                    .map(|w| w.event_type.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(headers)
            .bind(
                bodies
                    .iter()
                    .map(|(_, body)| body.as_ref())
                    .collect::<Vec<&[u8]>>(),
            )
            .bind(bodies.iter().map(|(codec, _)| *codec).collect::<Vec<_>>())
            .bind(rows.clone().map(|w| w.received_at).collect::<Vec<_>>())
            .bind(rows.map(|w| w.body_hash().to_vec()).collect::<Vec<_>>())
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        let stored = stored
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
        // SKIP LOCKED: workers fetching at the same time take disjoint entries; the lease then
        // hides them from later fetches until marked (or until the worker is presumed dead).
        let rows = sqlx::query(
            "WITH picked AS ( \
               SELECT id FROM inbox \
               WHERE status = 'pending' AND next_attempt_at <= clock_timestamp() \
               ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE inbox SET next_attempt_at = clock_timestamp() + make_interval(secs => $2), \
               leased_by = $3 \
             FROM picked WHERE inbox.id = picked.id \
             RETURNING inbox.id, inbox.tenant, inbox.connector, inbox.dedupe_key, \
               inbox.event_type, inbox.headers, inbox.body, inbox.body_codec, inbox.received_at, \
               inbox.status, \
               inbox.attempts, inbox.last_error",
        )
        .bind(i64::from(limit))
        .bind(seconds(lease.ttl))
        .bind(lease.holder.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            match decode_entry(row) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    // One unreadable entry must not fail every fetch it is part of.
                    let id: i64 = row.try_get("id").map_err(from_sqlx)?;
                    tracing::error!(id, error = %error, "inbox entry cannot be read; it is dead-lettered");
                    self.inbox_mark_failed(id, &format!("cannot be read: {error}"), None)
                        .await?;
                }
            }
        }
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    async fn inbox_complete_batch(&self, completed: &[InboxCompletion]) -> Result<(), StoreError> {
        if completed.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = completed.iter().map(|c| c.id).collect();
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        // Marking done first names each entry's tenant and connector: records are stored under
        // the scope the inbox holds, and an unknown entry's records nowhere.
        let marked: Vec<(i64, String, String)> = sqlx::query_as(
            "UPDATE inbox SET status = 'done' WHERE id = ANY($1) RETURNING id, tenant, connector",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let scopes: HashMap<i64, Scope> = marked
            .into_iter()
            .map(|(id, tenant, connector)| (id, Scope::new(tenant, connector)))
            .collect();
        for (scope, records) in records_by_scope(completed, &scopes) {
            upsert(&mut tx, &scope, newest_per_key(records)).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        all_found(&ids, scopes.len())
    }

    async fn inbox_mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $2, \
             status = CASE WHEN $3::timestamptz IS NULL THEN 'dead' ELSE 'pending' END, \
             next_attempt_at = COALESCE($3, next_attempt_at), leased_by = NULL \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            // Completed (or given up) meanwhile, e.g. by a worker whose time ran out just as
            // it committed: that outcome stands.
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM inbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
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
                .fetch_all(&self.pool)
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
        .fetch_one(&self.pool)
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
        // Oldest first, PRUNE_CHUNK entries per statement; SKIP LOCKED leaves rows a worker
        // holds to the next run instead of waiting for it.
        loop {
            let done = sqlx::query(
                "UPDATE inbox SET body = ''::bytea, body_codec = 0, body_kept = false \
                 WHERE id IN (SELECT id FROM inbox \
                   WHERE status <> 'pending' AND body_kept AND received_at < $1 \
                   ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(bodies_before)
            .bind(PRUNE_CHUNK)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            pruned.bodies += done;
            if done == 0 {
                break;
            }
        }
        loop {
            let done = sqlx::query(
                "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox \
                   WHERE status <> 'pending' AND received_at < $1 \
                   ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(entries_before)
            .bind(PRUNE_CHUNK)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            pruned.entries += done;
            if done == 0 {
                break;
            }
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
             VALUES ($1, $2, $3, now()) ON CONFLICT (tenant, connector) \
             DO UPDATE SET token = EXCLUDED.token, updated_at = EXCLUDED.updated_at",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .bind(token.expose_secret())
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn load_refresh_token(&self, scope: &Scope) -> Result<Option<SecretString>, StoreError> {
        let token: Option<String> = sqlx::query_scalar(
            "SELECT token FROM refresh_tokens WHERE tenant = $1 AND connector = $2",
        )
        .bind(&scope.tenant)
        .bind(&scope.connector)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(token.map(SecretString::from))
    }

    fn stream_records<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxStream<'a, Result<ConnectorRecord, StoreError>> {
        Box::pin(async_stream::try_stream! {
            let mut qb = QueryBuilder::<Postgres>::new(SELECT_RECORDS);
            push_filters(&mut qb, query);
            // LIMIT NULL means no limit.
            qb.push(NEWEST_FIRST)
                .push(" LIMIT ")
                .push_bind(query.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)));
            // One statement: PostgreSQL answers it from one snapshot, and rows are read off the
            // connection as the consumer asks.
            let mut rows = qb.build().fetch(&self.pool);
            while let Some(row) = rows.try_next().await.map_err(from_sqlx)? {
                yield decode_record(&row)?;
            }
        })
    }

    async fn count_records(&self, query: &RecordQuery) -> Result<u64, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM records");
        push_filters(&mut qb, query);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn acquire_lease(&self, name: &str, lease: &Lease) -> Result<bool, StoreError> {
        // One statement: concurrent takers of one name serialize on its primary key; a live
        // lease of another holder is left alone. Times come from the database clock, which
        // every process shares.
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) \
             VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3)) \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, \
               expires_at = EXCLUDED.expires_at \
             WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= clock_timestamp()",
        )
        .bind(name)
        .bind(lease.holder.as_str())
        .bind(seconds(lease.ttl))
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn renew_leases(
        &self,
        lease: &Lease,
        entries: &[i64],
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "UPDATE inbox SET next_attempt_at = clock_timestamp() + make_interval(secs => $2) \
             WHERE leased_by = $1 AND status = 'pending' AND id = ANY($3)",
        )
        .bind(lease.holder.as_str())
        .bind(seconds(lease.ttl))
        .bind(entries)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let held: Vec<(String,)> = sqlx::query_as(
            "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => $2) \
             WHERE holder = $1 RETURNING name",
        )
        .bind(lease.holder.as_str())
        .bind(seconds(lease.ttl))
        .fetch_all(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(held.into_iter().map(|(name,)| name).collect())
    }

    async fn leases(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as(
            "SELECT name, holder FROM leases WHERE expires_at > clock_timestamp() ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn release_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let entries = sqlx::query(
            "UPDATE inbox SET next_attempt_at = clock_timestamp(), leased_by = NULL \
             WHERE leased_by = $1 AND status = 'pending'",
        )
        .bind(holder)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let names = sqlx::query("DELETE FROM leases WHERE holder = $1")
            .bind(holder)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
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
        // What the bucket holds now, and what it grants (nothing while paused); every SET
        // expression reads the row as it was, and the row lock serializes processes. `now()`
        // is this statement's transaction start, one instant for every expression.
        let available = "LEAST($4::float8, tokens + $3::float8 \
            * GREATEST(0, EXTRACT(EPOCH FROM (now() - refilled_at))::float8))";
        let grant = format!(
            "CASE WHEN paused_until > now() THEN 0 \
             ELSE LEAST($2::int, FLOOR({available})::int) END"
        );
        sqlx::query(
            "INSERT INTO rate_budgets (key, tokens, refilled_at) VALUES ($1, $2, now()) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(f64::from(burst))
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let (granted, tokens, paused_secs): (i32, f64, f64) = sqlx::query_as(&format!(
            "UPDATE rate_budgets SET granted = {grant}, tokens = {available} - ({grant}), \
               refilled_at = GREATEST(refilled_at, now()) \
             WHERE key = $1 RETURNING granted, tokens, \
               CASE WHEN paused_until > now() \
                 THEN EXTRACT(EPOCH FROM (paused_until - now()))::float8 ELSE 0 END"
        ))
        .bind(key)
        .bind(i32::try_from(want).unwrap_or(i32::MAX))
        .bind(rate)
        .bind(f64::from(burst))
        .fetch_one(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let paused_for = Duration::try_from_secs_f64(paused_secs).unwrap_or_default();
        Ok(BudgetGrant::from_bucket(
            i64::from(granted),
            tokens,
            rate,
            paused_for,
        ))
    }

    async fn pause_budget(&self, key: &str, wait: Duration) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rate_budgets (key, tokens, refilled_at, paused_until) \
             VALUES ($1, 0, now(), clock_timestamp() + make_interval(secs => $2)) \
             ON CONFLICT (key) DO UPDATE SET \
               paused_until = GREATEST(rate_budgets.paused_until, EXCLUDED.paused_until)",
        )
        .bind(key)
        .bind(seconds(wait))
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn save_sync_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sync_runs (tenant, connector, holder, started_at, finished_at, \
               records, error, next_run_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant, connector) DO UPDATE SET holder = EXCLUDED.holder, \
               started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, \
               records = EXCLUDED.records, error = EXCLUDED.error, \
               next_run_at = EXCLUDED.next_run_at",
        )
        .bind(run.tenant.as_str())
        .bind(run.connector.as_str())
        .bind(run.holder.as_str())
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(i64::try_from(run.records).unwrap_or(i64::MAX))
        .bind(run.error.as_deref())
        .bind(run.next_run_at)
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn sync_runs(&self) -> Result<Vec<SyncRun>, StoreError> {
        type Row = (
            String,
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            i64,
            Option<String>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT tenant, connector, holder, started_at, finished_at, records, error, \
               next_run_at FROM sync_runs ORDER BY tenant, connector",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    tenant,
                    connector,
                    holder,
                    started_at,
                    finished_at,
                    records,
                    error,
                    next_run_at,
                )| {
                    SyncRun {
                        tenant,
                        connector,
                        holder,
                        started_at,
                        finished_at,
                        records: u64::try_from(records).unwrap_or(0),
                        error,
                        next_run_at,
                    }
                },
            )
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // A primary that went read-only (a failover, a full disk) fails here, not at the next
        // delivery.
        sqlx::query(
            "INSERT INTO store_probe (id, written_at) VALUES (1, now()) \
             ON CONFLICT (id) DO UPDATE SET written_at = EXCLUDED.written_at",
        )
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
