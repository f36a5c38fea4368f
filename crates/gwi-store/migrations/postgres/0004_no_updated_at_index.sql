-- The (tenant, updated_at) index goes. Records arrive in whatever order a provider lists them,
-- and when `updated_at` does not follow that order every batch inserted into this index at
-- random places: on SQLite a 200,000-record sync took twice as long and twice the memory
-- (bench/measurements.md, "Data shapes"). Only `gwi records list` ordered by it, and a listing
-- now scans the tenant's records and keeps the newest in a bounded sort instead.
DROP INDEX IF EXISTS records_by_tenant_updated;
