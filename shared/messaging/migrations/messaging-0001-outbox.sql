-- The transactional outbox each service writes in the transaction of its effects and its
-- relay publishes from (shared/messaging/outbox.py): one row per transaction, its messages
-- in order in parallel arrays. One copy for every service's schema, applied before the
-- service's own migrations, and idempotent: a schema migrated when each service kept its
-- own copy already has the table, or has the old one-row-per-message shape, whose pending
-- rows are carried over in order.
DO $$
BEGIN
    IF to_regclass('outbox') IS NULL THEN
        CREATE TABLE outbox (
            id bigserial PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            messages int NOT NULL CHECK (messages > 0),
            topics text[] NOT NULL,
            keys bytea[] NOT NULL,
            payloads bytea[] NOT NULL,
            headers text[] NOT NULL  -- per message, its [name, value] pairs as JSON
        );
    ELSIF EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'outbox' AND column_name = 'topic'
    ) THEN
        ALTER TABLE outbox ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT clock_timestamp();
        CREATE TABLE outbox_packed (
            id bigserial PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            messages int NOT NULL CHECK (messages > 0),
            topics text[] NOT NULL,
            keys bytea[] NOT NULL,
            payloads bytea[] NOT NULL,
            headers text[] NOT NULL
        );
        INSERT INTO outbox_packed (created_at, messages, topics, keys, payloads, headers)
        SELECT created_at, 1, ARRAY[topic], ARRAY[key], ARRAY[value], ARRAY[headers::text]
        FROM outbox ORDER BY id;
        DROP TABLE outbox;
        ALTER TABLE outbox_packed RENAME TO outbox;
        ALTER SEQUENCE outbox_packed_id_seq RENAME TO outbox_id_seq;
        ALTER INDEX outbox_packed_pkey RENAME TO outbox_pkey;
    END IF;
END $$;

-- Already compact JSON, deleted within a second: compressing it would only cost CPU.
ALTER TABLE outbox ALTER COLUMN payloads SET STORAGE EXTERNAL;

-- A queue: every row is inserted, relayed and deleted within a second, so its dead rows,
-- not its live ones, slow the relay's `ORDER BY id LIMIT n`. Vacuum it (and its TOAST
-- table, where a batch's payloads go) early and without cost-based pauses.
ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0,
    toast.autovacuum_vacuum_scale_factor = 0,
    toast.autovacuum_vacuum_threshold = 10000,
    toast.autovacuum_vacuum_cost_delay = 0
);

-- Wake the relay at commit (PostgreSQL folds repeats in one transaction); the relay
-- listens on outbox_<schema>.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $fn$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
