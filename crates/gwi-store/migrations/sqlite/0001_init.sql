-- gwi store schema (SQLite).
-- Record timestamps are fixed-width RFC 3339 text (microseconds, UTC) so text order is time
-- order and the file stays readable with the sqlite3 shell; internal times are Unix microseconds.

CREATE TABLE records (
    tenant      TEXT    NOT NULL,
    connector   TEXT    NOT NULL,
    record_type TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    synced_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, connector, record_type, id)
);

CREATE INDEX records_by_tenant_updated ON records (tenant, updated_at);

CREATE TABLE sync_state (
    tenant     TEXT    NOT NULL,
    connector  TEXT    NOT NULL,
    stream     TEXT    NOT NULL,
    cursor     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, connector, stream)
);

CREATE TABLE idempotency_keys (
    key        TEXT    PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

CREATE TABLE inbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    connector       TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    headers         TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    received_at     INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    UNIQUE (connector, dedupe_key)
);

CREATE INDEX inbox_pending ON inbox (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE refresh_tokens (
    tenant     TEXT    NOT NULL,
    connector  TEXT    NOT NULL,
    token      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, connector)
);
