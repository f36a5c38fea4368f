-- Replays: a body seen before for the same tenant and connector is a duplicate while its entry
-- is kept, whatever delivery id it comes with (most providers sign none). Older entries have no
-- hash (NULLs never conflict).
ALTER TABLE inbox ADD COLUMN body_hash BYTEA;
CREATE UNIQUE INDEX inbox_body_hash ON inbox (tenant, connector, body_hash);

-- Retention: settled entries whose body is still kept, and settled entries, by age; pruning
-- walks these from the oldest and never rescans what it already pruned.
ALTER TABLE inbox ADD COLUMN body_kept BOOLEAN NOT NULL DEFAULT true;
CREATE INDEX inbox_settled_with_body ON inbox (received_at) WHERE status <> 'pending' AND body_kept;
CREATE INDEX inbox_settled ON inbox (received_at) WHERE status <> 'pending';

-- /metrics counts dead letters on every scrape without reading the done entries.
CREATE INDEX inbox_dead ON inbox (id) WHERE status = 'dead';

-- /readyz proves the store takes a durable write by updating this one row.
CREATE TABLE store_probe (
    id         INTEGER PRIMARY KEY,
    written_at TIMESTAMPTZ NOT NULL
);
