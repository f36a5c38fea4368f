//! The `Store` trait: where records, sync state, idempotency claims and the webhook inbox live.
//!
//! Engines live in `gwi-store` (SQLite, PostgreSQL) and `gwi-testing` (memory); the core only
//! states the contract, which the shared conformance suite checks for each engine.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::record::ConnectorRecord;
use crate::stream::Checkpoint;

/// How long a lease (a fetched inbox entry, a running sync) lasts unless its holder renews it:
/// how long work held by a process that died waits before another takes it over (20 s, so a
/// scheduled sync is taken over within 25 s with the scheduler's 5 s look).
pub const LEASE_TTL: Duration = Duration::from_secs(20);

/// Who holds leases, and for how long each lasts unless renewed.
///
/// The holder is a `gwi serve` process's instance name: stable across its restarts, so a process
/// that starts again hands back at once what its previous life held (see
/// [`Store::release_leases`]), and distinct between processes sharing a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The instance name of the holder.
    pub holder: String,
    /// How long a lease lasts from its last renewal.
    pub ttl: Duration,
}

impl Lease {
    /// Leases for `holder` lasting [`LEASE_TTL`].
    pub fn new(holder: impl Into<String>) -> Self {
        Self {
            holder: holder.into(),
            ttl: LEASE_TTL,
        }
    }
}

/// What [`Store::take_budget`] granted from a shared rate budget.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetGrant {
    /// Requests granted now (up to the number asked for).
    pub granted: u32,
    /// With none granted: how long until the budget has refilled one request.
    pub wait: Duration,
    /// How long the budget stays paused (a provider's `Retry-After`); zero when it is not.
    pub paused_for: Duration,
}

impl BudgetGrant {
    /// A refill rate an engine can compute with: a rate that is not a positive number refills
    /// nothing (the burst is all there is).
    pub fn usable_rate(rate: f64) -> f64 {
        if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            0.0
        }
    }

    /// The grant of a bucket left holding `tokens` after granting `granted`, refilling at `rate`
    /// per second (from [`usable_rate`](Self::usable_rate)), paused for `paused_for`.
    pub fn from_bucket(granted: i64, tokens: f64, rate: f64, paused_for: Duration) -> Self {
        let granted = u32::try_from(granted).unwrap_or(0);
        let wait = if granted > 0 || !paused_for.is_zero() {
            Duration::ZERO
        } else if rate > 0.0 {
            Duration::try_from_secs_f64(((1.0 - tokens) / rate).max(0.001)).unwrap_or(Duration::MAX)
        } else {
            // Nothing refills: ask again now and then rather than never.
            Duration::from_secs(1)
        };
        Self {
            granted,
            wait,
            paused_for,
        }
    }
}

/// The name of the lease that makes one process at a time run the scheduled sync of
/// `connector` for `tenant`.
pub fn sync_lease_name(connector: &str, tenant: &str) -> String {
    format!("sync:{connector}:{tenant}")
}

/// One scheduled sync's latest run, as `gwi serve` records it and `gwi status` reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRun {
    /// Whose sync it is.
    pub tenant: String,
    /// Connector name.
    pub connector: String,
    /// Instance name of the process that ran (or runs) it.
    pub holder: String,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended; `None` while it runs, or if its process stopped or died during it.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records committed.
    pub records: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When the schedule runs it next, as its last runner computed it.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// A failure of the storage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or the connection broke.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A query or transaction failed.
    #[error("store query failed: {0}")]
    Query(String),
    /// Schema migrations could not run.
    #[error("store migration failed: {0}")]
    Migration(String),
    /// The store URL is not one gwi knows (`sqlite://...`, `postgres://...`).
    #[error("unsupported store URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// No such entry (inbox event id, ...).
    #[error("not found: {0}")]
    NotFound(String),
}

/// Whose data a call is about: records and state are kept per tenant and connector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Tenant id.
    pub tenant: String,
    /// Connector name.
    pub connector: String,
}

impl Scope {
    /// Builds a scope.
    pub fn new(tenant: impl Into<String>, connector: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            connector: connector.into(),
        }
    }
}

/// A stream's stored resume point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamState {
    /// Stream name.
    pub stream: String,
    /// The cursor of the last committed checkpoint.
    pub cursor: serde_json::Value,
    /// When it was committed.
    pub updated_at: DateTime<Utc>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// Rows inserted or replaced by a newer version.
    pub written: u64,
    /// Rows left alone because the stored copy was as new or newer.
    pub unchanged: u64,
}

/// Which records to read.
#[derive(Debug, Clone, Default)]
pub struct RecordQuery {
    /// Tenant (required).
    pub tenant: String,
    /// Only this connector's records.
    pub connector: Option<String>,
    /// Only this record type.
    pub record_type: Option<String>,
    /// Only records updated at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only records last written (by a sync or a webhook) before this time, by the clock of
    /// the process that wrote them: what a reconciling sync may mark deleted.
    pub written_before: Option<DateTime<Utc>>,
    /// At most this many, newest `updated_at` first.
    pub limit: Option<u64>,
}

/// A raw webhook delivery as received, before the connector maps it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundWebhook {
    /// Tenant the delivery is for.
    pub tenant: String,
    /// Connector it is for.
    pub connector: String,
    /// Provider's delivery id (or a body hash); unique per connector.
    pub dedupe_key: String,
    /// Provider's event type (e.g. `pull_request`).
    pub event_type: String,
    /// The headers gwi keeps (never signatures or tokens).
    pub headers: Vec<(String, String)>,
    /// The raw body bytes, exactly as signed (shared, not copied, on their way to the store).
    pub body: Bytes,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

impl InboundWebhook {
    /// SHA-256 of the body: how every store recognises a replayed body under a fresh delivery id.
    pub fn body_hash(&self) -> [u8; 32] {
        crate::webhook::body_digest(&self.body)
    }
}

/// Result of appending to the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxAppend {
    /// Stored for processing, with its inbox id.
    Stored(i64),
    /// The dedupe key was already present: nothing stored.
    Duplicate,
}

/// A processed inbox entry and the records its event mapped to (possibly none).
#[derive(Debug, Clone, PartialEq)]
pub struct InboxCompletion {
    /// Inbox id of the entry.
    pub id: i64,
    /// Records to store, under the entry's tenant and connector.
    pub records: Vec<ConnectorRecord>,
}

/// Processing state of an inbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// Waiting to be processed (or to be retried).
    Pending,
    /// Processed; its records are stored.
    Done,
    /// Gave up after repeated failures; kept with the reason.
    Dead,
}

/// Entries still needing attention, from [`Store::inbox_backlog`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxBacklog {
    /// Waiting to be processed (or retried).
    pub pending: u64,
    /// Dead-lettered.
    pub dead: u64,
}

/// What one [`Store::inbox_prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxPruned {
    /// Bodies dropped from entries that are kept.
    pub bodies: u64,
    /// Entries removed whole.
    pub entries: u64,
}

/// A stored webhook delivery with its processing state.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    /// Inbox id.
    pub id: i64,
    /// The delivery.
    pub webhook: InboundWebhook,
    /// Current status.
    pub status: InboxStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Last failure, if any.
    pub last_error: Option<String>,
}

/// Where gwi keeps what it synced, and what it needs to resume and dedupe.
///
/// Every method is atomic on its own. `commit_batch` is the heart of gwi's exactly-once effect:
/// the checkpoint covering records is saved only with them or after them, never before, and an
/// upsert written twice is written once. Every engine keeps timestamps to the microsecond
/// (PostgreSQL's precision), so engines agree on "newest".
#[async_trait]
pub trait Store: Send + Sync {
    /// Upserts `records` and saves `checkpoint` for the scope, in one transaction or (an engine
    /// that spreads a large batch over connections) the records' transactions first and the
    /// checkpoint after them all. A failed commit never saves the checkpoint; it may leave some
    /// of a large batch's records, which the next run, starting from the old checkpoint, writes
    /// again.
    ///
    /// A record replaces the stored one only if its `updated_at` is as new or newer.
    async fn commit_batch(
        &self,
        scope: &Scope,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError>;

    /// All stored stream states of a scope.
    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError>;

    /// Forgets stream state (one stream, or all of the scope); returns how many were removed.
    async fn reset_state(&self, scope: &Scope, stream: Option<&str>) -> Result<u64, StoreError>;

    /// Claims `key` for `ttl`: `true` the first time, `false` while a live claim exists.
    /// One atomic statement: two concurrent callers never both get `true`.
    async fn claim_idempotency_key(&self, key: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Gives up a claim of `key` before its ttl runs out, so the next claimant need not wait.
    async fn release_idempotency_key(&self, key: &str) -> Result<(), StoreError>;

    /// Durably appends deliveries in one transaction, each unless its dedupe key or its body
    /// (the same bytes) is already in the inbox for its tenant and connector; one result per
    /// delivery, in order.
    ///
    /// The body counts because most providers sign no delivery id: a captured delivery replayed
    /// under a fresh id is a duplicate for as long as its entry is kept (see
    /// [`inbox_prune`](Self::inbox_prune)). A key or body repeated within `webhooks` is stored
    /// once, for its first occurrence; the later ones are [`InboxAppend::Duplicate`]. On an error nothing of the batch is stored. This is
    /// what lets the webhook service acknowledge many concurrent deliveries with one commit.
    async fn inbox_append_batch(
        &self,
        webhooks: &[InboundWebhook],
    ) -> Result<Vec<InboxAppend>, StoreError>;

    /// Durably appends one delivery unless its dedupe key is already in the inbox (atomically).
    async fn inbox_append(&self, webhook: &InboundWebhook) -> Result<InboxAppend, StoreError> {
        self.inbox_append_batch(std::slice::from_ref(webhook))
            .await?
            .pop()
            .ok_or_else(|| StoreError::Query("the inbox append returned no result".to_owned()))
    }

    /// Up to `limit` pending entries whose retry time has come, oldest first, leased to `lease`.
    ///
    /// Other fetches skip a leased entry until it is marked done or failed, handed back
    /// ([`release_leases`](Self::release_leases)), or its lease runs out unrenewed (the holder
    /// died; see [`renew_leases`](Self::renew_leases)), so competing workers never process one
    /// delivery at the same time.
    async fn inbox_fetch_pending(
        &self,
        limit: u32,
        lease: &Lease,
    ) -> Result<Vec<InboxEntry>, StoreError>;

    /// Stores the records of processed entries and marks the entries done, all in one
    /// transaction: one commit for many events is what lets workers keep up with ingest.
    ///
    /// Each entry's records go to its own (tenant, connector) and replace stored ones as in
    /// [`commit_batch`](Self::commit_batch) (later entries win ties). If any id is unknown the
    /// result is [`StoreError::NotFound`], the other entries completed all the same; an unknown
    /// entry's records are not stored (there is no scope to store them under). On any other
    /// error nothing of the batch is stored.
    async fn inbox_complete_batch(&self, completed: &[InboxCompletion]) -> Result<(), StoreError>;

    /// Marks one entry processed without records: a batch of one, so every engine has one path.
    async fn inbox_mark_done(&self, id: i64) -> Result<(), StoreError> {
        self.inbox_complete_batch(&[InboxCompletion {
            id,
            records: Vec::new(),
        }])
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => StoreError::NotFound(format!("inbox entry {id}")),
            other => other,
        })
    }

    /// Records a failed attempt: retried after `retry_at`, or dead-lettered when `None`.
    async fn inbox_mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Number of entries in each status (every status, zeros included). It counts every
    /// entry: for tests and tools, not for frequent scrapes (see [`inbox_backlog`](Self::inbox_backlog)).
    async fn inbox_counts(&self) -> Result<Vec<(InboxStatus, u64)>, StoreError>;

    /// Pending and dead-lettered entries, counted without reading the done ones (for
    /// `/metrics`, scraped often while done entries pile up).
    async fn inbox_backlog(&self) -> Result<InboxBacklog, StoreError>;

    /// Forgets what settled (done or dead) entries no longer need: the bodies of those received
    /// before `bodies_before`, and whole entries, their dedupe key and body hash with them,
    /// received before `entries_before`. Pending entries are never touched. Works in bounded
    /// transactions, so it never holds the writer for long.
    async fn inbox_prune(
        &self,
        bodies_before: DateTime<Utc>,
        entries_before: DateTime<Utc>,
    ) -> Result<InboxPruned, StoreError>;

    /// Saves a rotated OAuth2 refresh token so the next run uses it.
    async fn save_refresh_token(
        &self,
        scope: &Scope,
        token: &SecretString,
    ) -> Result<(), StoreError>;

    /// The last saved refresh token, if any.
    async fn load_refresh_token(&self, scope: &Scope) -> Result<Option<SecretString>, StoreError>;

    /// Reads records, newest `updated_at` first.
    async fn query_records(&self, query: &RecordQuery) -> Result<Vec<ConnectorRecord>, StoreError> {
        self.stream_records(query).try_collect().await
    }

    /// Streams the records [`query_records`](Self::query_records) reads, one at a time, as one
    /// consistent snapshot: records written meanwhile neither show up twice nor push others out
    /// (paging by offset did both), and memory stays flat however many there are.
    ///
    /// The stream holds a read connection until it ends or is dropped.
    fn stream_records<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxStream<'a, Result<ConnectorRecord, StoreError>>;

    /// Counts records matching `query` (its `limit` is ignored).
    async fn count_records(&self, query: &RecordQuery) -> Result<u64, StoreError>;

    /// Takes the named lease (a scheduled sync, say) for `lease.holder`: `true` if it was free,
    /// had run out, or was already the holder's (then renewed). One atomic statement: two
    /// processes never both hold one name.
    async fn acquire_lease(&self, name: &str, lease: &Lease) -> Result<bool, StoreError>;

    /// The holder's heartbeat: extends by `lease.ttl` every named lease it still holds and its
    /// leases on `entries` (the inbox entries it is processing, no others: an entry it let go of
    /// without marking must run out), and returns the names it still holds (a name missing was
    /// taken over after running out, so its work must stop).
    async fn renew_leases(&self, lease: &Lease, entries: &[i64])
    -> Result<Vec<String>, StoreError>;

    /// The live named leases, as (name, holder): what runs where now, for `gwi status`.
    async fn leases(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Hands back one named lease, if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Hands back everything `holder` holds (named leases, leased inbox entries, due at once):
    /// at shutdown, and at startup for what a previous life of the same instance left. Returns
    /// how many leases were handed back.
    async fn release_leases(&self, holder: &str) -> Result<u64, StoreError>;

    /// Takes up to `want` requests from the shared rate budget `key`: a bucket that holds at most
    /// `burst` requests (full when first used) and refills at `rate` per second. Nothing is
    /// granted while the budget is paused. Atomic: processes sharing the store never spend more
    /// than the bucket holds, together.
    async fn take_budget(
        &self,
        key: &str,
        want: u32,
        rate: f64,
        burst: u32,
    ) -> Result<BudgetGrant, StoreError>;

    /// Pauses the shared rate budget `key` for `wait` from now, for every process (a pause is
    /// only lengthened): a provider's `Retry-After` seen by one process holds all of them.
    async fn pause_budget(&self, key: &str, wait: Duration) -> Result<(), StoreError>;

    /// Saves the latest run of a scheduled sync, replacing the one before for its tenant and
    /// connector.
    async fn save_sync_run(&self, run: &SyncRun) -> Result<(), StoreError>;

    /// The latest run of every scheduled sync, by tenant and connector.
    async fn sync_runs(&self) -> Result<Vec<SyncRun>, StoreError>;

    /// Checks that the store answers and takes a durable write (for `/readyz`: a store that
    /// can be read but not written would answer every delivery 503).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the store's connections once the work in flight is done, leaving what it wrote
    /// in its final place (a SQLite file holds everything, with no write-ahead log beside it).
    ///
    /// Call it once, at the end; the store refuses work afterwards.
    async fn close(&self);
}

/// Persists rotated OAuth2 refresh tokens in a [`Store`], per tenant and connector.
///
/// Each saved token remembers a fingerprint of the refresh token the config held when the chain
/// of rotations began. A stored token is used only while the config still holds that one: after
/// a revocation the documented fix, a new `refresh_token` in the config, takes effect instead of
/// being overridden by the dead stored one.
#[derive(Clone)]
pub struct StoreTokenSink {
    store: std::sync::Arc<dyn Store>,
    scope: Scope,
    /// Fingerprint of the configured refresh token, if the config has one.
    configured: Option<String>,
    /// Encrypts what is saved, when the user configured a key.
    key: Option<TokenKey>,
}

/// The key refresh tokens are encrypted with at rest (ChaCha20-Poly1305): 32 random bytes,
/// given base64-encoded through a secret reference (`[store] token_key = "env:GWI_TOKEN_KEY"`).
#[derive(Clone)]
pub struct TokenKey(std::sync::Arc<secrecy::SecretSlice<u8>>);

impl TokenKey {
    /// The key `secret` holds; what is wrong with it otherwise (never its value).
    pub fn from_secret(secret: &crate::config::Secret) -> Result<Self, String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret.expose().expose_secret().trim())
            .map_err(|_| "is not base64 (make one with `openssl rand -base64 32`)".to_owned())?;
        if bytes.len() != 32 {
            return Err(format!(
                "holds {} bytes; it must be 32 random bytes, base64-encoded (`openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        Ok(Self(std::sync::Arc::new(bytes.into())))
    }

    /// The cipher; `None` only for a key of the wrong length, which `from_secret` refuses.
    fn cipher(&self) -> Option<chacha20poly1305::ChaCha20Poly1305> {
        use chacha20poly1305::KeyInit as _;
        chacha20poly1305::ChaCha20Poly1305::new_from_slice(self.0.expose_secret()).ok()
    }

    /// `text` sealed with a fresh random nonce: `gwi-enc1:` and base64 of nonce and ciphertext.
    fn seal(&self, text: &str) -> Result<String, StoreError> {
        use base64::Engine as _;
        use chacha20poly1305::aead::{Aead as _, AeadCore as _, OsRng};
        let nonce = chacha20poly1305::ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher()
            .and_then(|cipher| cipher.encrypt(&nonce, text.as_bytes()).ok())
            .ok_or_else(|| StoreError::Query("cannot encrypt the refresh token".to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// The text [`seal`](Self::seal) sealed; `None` if it was sealed with another key or altered.
    fn open(&self, sealed: &str) -> Option<String> {
        use base64::Engine as _;
        use chacha20poly1305::aead::Aead as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let text = self.cipher()?.decrypt(&nonce.into(), ciphertext).ok()?;
        String::from_utf8(text).ok()
    }
}

impl PartialEq for TokenKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        self.0.expose_secret().ct_eq(other.0.expose_secret()).into()
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// How a stored token sealed with a [`TokenKey`] begins.
const SEALED_PREFIX: &str = "gwi-enc1:";
/// ChaCha20-Poly1305's nonce length.
const NONCE_LEN: usize = 12;

/// How a stored token names the configured token its chain began with.
const CHAIN_PREFIX: &str = "gwi1:";

/// A non-secret fingerprint of a refresh token (the first 8 bytes of its SHA-256, in hex):
/// stable across processes, and of no use for guessing a random token.
fn fingerprint(token: &SecretString) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.expose_secret().as_bytes());
    hex::encode(&digest[..8])
}

impl StoreTokenSink {
    /// A sink saving into `store` under `scope`.
    pub fn new(store: std::sync::Arc<dyn Store>, scope: Scope) -> Self {
        Self {
            store,
            scope,
            configured: None,
            key: None,
        }
    }

    /// The same sink, sealing what it saves with `key` (and opening what was sealed); without
    /// one, tokens are stored as they are.
    pub fn sealed_with(mut self, key: Option<TokenKey>) -> Self {
        self.key = key;
        self
    }

    /// The same sink, for a config holding `refresh_token`: stored tokens of a chain that began
    /// with another configured token are ignored.
    pub fn configured(mut self, refresh_token: Option<&crate::config::Secret>) -> Self {
        self.configured = refresh_token.map(|t| fingerprint(t.expose()));
        self
    }

    /// The claim key of the scope's refresh lock.
    fn lock_key(&self) -> String {
        format!(
            "refresh-lock/{}/{}",
            self.scope.tenant, self.scope.connector
        )
    }

    /// The sink of `connector`: its tenant and name, and its configured refresh token.
    pub fn for_connector(
        store: std::sync::Arc<dyn Store>,
        connector: &crate::registry::ConfiguredConnector,
    ) -> Self {
        let scope = Scope::new(connector.common.tenant_id.clone(), connector.name());
        let refresh_token = match &connector.common.auth {
            crate::auth::AuthConfig::OAuth2 { refresh_token, .. } => refresh_token.as_ref(),
            _ => None,
        };
        Self::new(store, scope).configured(refresh_token)
    }
}

impl std::fmt::Debug for StoreTokenSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTokenSink")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl crate::auth::RefreshTokenSink for StoreTokenSink {
    async fn save(&self, token: &SecretString) -> Result<(), crate::error::ConnectorError> {
        let stored = match &self.configured {
            Some(origin) => {
                SecretString::from(format!("{CHAIN_PREFIX}{origin}:{}", token.expose_secret()))
            }
            None => token.clone(),
        };
        let stored = match &self.key {
            Some(key) => {
                SecretString::from(key.seal(stored.expose_secret()).map_err(|source| {
                    crate::error::ConnectorError::Storage {
                        connector: self.scope.connector.clone(),
                        source,
                    }
                })?)
            }
            None => stored,
        };
        self.store
            .save_refresh_token(&self.scope, &stored)
            .await
            .map_err(|source| crate::error::ConnectorError::Storage {
                connector: self.scope.connector.clone(),
                source,
            })
    }

    async fn load(&self) -> Result<Option<SecretString>, crate::error::ConnectorError> {
        let stored = self
            .store
            .load_refresh_token(&self.scope)
            .await
            .map_err(|source| crate::error::ConnectorError::Storage {
                connector: self.scope.connector.clone(),
                source,
            })?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let stored = match stored.expose_secret().strip_prefix(SEALED_PREFIX) {
            Some(sealed) => {
                let refused = |problem: &str| crate::error::ConnectorError::Storage {
                    connector: self.scope.connector.clone(),
                    source: StoreError::Corrupt(format!(
                        "the stored refresh token of tenant {} is encrypted and {problem}",
                        self.scope.tenant
                    )),
                };
                let key = self
                    .key
                    .as_ref()
                    .ok_or_else(|| refused("no [store] token_key is configured to read it"))?;
                SecretString::from(key.open(sealed).ok_or_else(|| {
                    refused("[store] token_key does not open it (was it saved with another key?)")
                })?)
            }
            // Saved before a key was configured: read as it is, sealed at the next save.
            None => stored,
        };
        let text = stored.expose_secret();
        // A token saved before chains were named is used as it is.
        let Some((origin, token)) = text
            .strip_prefix(CHAIN_PREFIX)
            .and_then(|rest| rest.split_once(':'))
        else {
            return Ok(Some(stored));
        };
        if self.configured.as_deref().is_some_and(|c| c != origin) {
            tracing::info!(
                connector = %self.scope.connector,
                tenant = %self.scope.tenant,
                "the configured refresh token changed since the stored one was saved; using the configured one"
            );
            return Ok(None);
        }
        Ok(Some(SecretString::from(token.to_owned())))
    }

    /// A lease on the scope's refresh through the store: processes sharing it take turns, and
    /// one that dies holding it holds it no longer than [`REFRESH_LEASE`].
    async fn lock(&self) -> Result<(), crate::error::ConnectorError> {
        let key = self.lock_key();
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(20);
        loop {
            let claimed = self
                .store
                .claim_idempotency_key(&key, REFRESH_LEASE)
                .await
                .map_err(|source| crate::error::ConnectorError::Storage {
                    connector: self.scope.connector.clone(),
                    source,
                })?;
            if claimed {
                return Ok(());
            }
            // The lease runs out on its own, so this only ends early on a store that never
            // frees a claim.
            if started.elapsed() > 2 * REFRESH_LEASE {
                return Err(crate::error::ConnectorError::Storage {
                    connector: self.scope.connector.clone(),
                    source: StoreError::Query(format!(
                        "the refresh lock of tenant {} stayed taken for {} s",
                        self.scope.tenant,
                        (2 * REFRESH_LEASE).as_secs()
                    )),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }

    async fn unlock(&self) {
        if let Err(e) = self.store.release_idempotency_key(&self.lock_key()).await {
            // The lease ends on its own; the next refresh waits for it at most.
            tracing::warn!(connector = %self.scope.connector, "could not release the refresh lock: {e}");
        }
    }
}

/// Longest one process holds a scope's refresh lock: a token exchange takes seconds at most.
pub const REFRESH_LEASE: Duration = Duration::from_secs(60);
