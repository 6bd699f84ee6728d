-- When a row entered the outbox: the age of the oldest pending row is an alert (ops).
ALTER TABLE outbox ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp();
