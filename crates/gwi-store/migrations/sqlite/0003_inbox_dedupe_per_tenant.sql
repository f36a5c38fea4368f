-- A delivery id is unique per tenant, not per connector: the same id sent to two tenants is two
-- deliveries, and deduplicating across tenants would drop the second tenant's data. SQLite
-- cannot change a table's UNIQUE constraint, so the table is rebuilt with its rows and ids.

CREATE TABLE inbox_rebuilt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    connector       TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    headers         TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    UNIQUE (tenant, connector, dedupe_key)
);

INSERT INTO inbox_rebuilt (id, tenant, connector, dedupe_key, event_type, headers, received_at,
                           status, attempts, last_error, next_attempt_at)
SELECT id, tenant, connector, dedupe_key, event_type, headers, received_at,
       status, attempts, last_error, next_attempt_at
FROM inbox;

DROP TABLE inbox;
ALTER TABLE inbox_rebuilt RENAME TO inbox;
CREATE INDEX inbox_pending ON inbox (next_attempt_at, id) WHERE status = 'pending';
