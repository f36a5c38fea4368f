-- Several gwi serve processes share one store: each lease names its holder (an instance name),
-- so a holder renews what it holds with one heartbeat and a restarted instance hands back at
-- once what its previous life held.
ALTER TABLE inbox ADD COLUMN leased_by TEXT;
CREATE INDEX inbox_leased ON inbox (leased_by) WHERE status = 'pending' AND leased_by IS NOT NULL;

-- Named leases: one scheduled sync runs in one process at a time.
CREATE TABLE leases (
    name       TEXT        PRIMARY KEY,
    holder     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX leases_by_holder ON leases (holder);

-- The latest run of each scheduled sync, for the schedule and for gwi status.
CREATE TABLE sync_runs (
    tenant      TEXT        NOT NULL,
    connector   TEXT        NOT NULL,
    holder      TEXT        NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    records     BIGINT      NOT NULL,
    error       TEXT,
    next_run_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, connector)
);

-- Shared rate budgets: a token bucket per connector credential, for every process at once.
CREATE TABLE rate_budgets (
    key          TEXT             PRIMARY KEY,
    tokens       DOUBLE PRECISION NOT NULL,
    refilled_at  TIMESTAMPTZ      NOT NULL,
    granted      INTEGER          NOT NULL DEFAULT 0,
    paused_until TIMESTAMPTZ      NOT NULL DEFAULT 'epoch'
);
