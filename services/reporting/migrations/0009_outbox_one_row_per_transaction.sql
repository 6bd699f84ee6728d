-- One outbox row per transaction, its messages in order in parallel arrays, instead of
-- one row per message: a batch of 2,000 intake events wrote ~4,000 rows (a heap tuple,
-- an index entry and a sequence step each), which the relay then read and deleted one by
-- one. Rows still leave in id order and messages in array order, so nothing about
-- delivery or ordering changes; pending rows of the old shape are carried over.
CREATE TABLE outbox_packed (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    messages int NOT NULL CHECK (messages > 0),
    topics text[] NOT NULL,
    keys bytea[] NOT NULL,
    payloads bytea[] NOT NULL,
    headers text[] NOT NULL  -- per message, its [name, value] pairs as JSON
);
INSERT INTO outbox_packed (created_at, messages, topics, keys, payloads, headers)
SELECT created_at, 1, ARRAY[topic], ARRAY[key], ARRAY[value], ARRAY[headers::text]
FROM outbox ORDER BY id;
DROP TABLE outbox;
ALTER TABLE outbox_packed RENAME TO outbox;
ALTER SEQUENCE outbox_packed_id_seq RENAME TO outbox_id_seq;
ALTER INDEX outbox_packed_pkey RENAME TO outbox_pkey;

-- Already compact JSON, deleted within a second: compressing it would only cost CPU.
ALTER TABLE outbox ALTER COLUMN payloads SET STORAGE EXTERNAL;

-- Still a queue: vacuum it (and its TOAST table, where a batch's payloads go) early and
-- without cost-based pauses, as before for the old table.
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
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
