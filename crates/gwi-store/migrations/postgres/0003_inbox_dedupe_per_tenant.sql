-- A delivery id is unique per tenant, not per connector: the same id sent to two tenants is two
-- deliveries, and deduplicating across tenants would drop the second tenant's data.
ALTER TABLE inbox DROP CONSTRAINT inbox_connector_dedupe_key_key;
ALTER TABLE inbox ADD CONSTRAINT inbox_tenant_connector_dedupe_key_key
    UNIQUE (tenant, connector, dedupe_key);
