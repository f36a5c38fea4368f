-- gwi store schema (PostgreSQL).

CREATE TABLE records (
    tenant      TEXT        NOT NULL,
    connector   TEXT        NOT NULL,
    record_type TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    source      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    data        JSONB       NOT NULL,
    metadata    JSONB       NOT NULL,
    synced_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, connector, record_type, id)
);

CREATE INDEX records_by_tenant_updated ON records (tenant, updated_at);

CREATE TABLE sync_state (
    tenant     TEXT        NOT NULL,
    connector  TEXT        NOT NULL,
    stream     TEXT        NOT NULL,
    cursor     JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, connector, stream)
);

CREATE TABLE idempotency_keys (
    key        TEXT        PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

CREATE TABLE inbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant          TEXT        NOT NULL,
    connector       TEXT        NOT NULL,
    dedupe_key      TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    headers         JSONB       NOT NULL,
    body            BYTEA       NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (connector, dedupe_key)
);

CREATE INDEX inbox_pending ON inbox (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE refresh_tokens (
    tenant     TEXT        NOT NULL,
    connector  TEXT        NOT NULL,
    token      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, connector)
);
