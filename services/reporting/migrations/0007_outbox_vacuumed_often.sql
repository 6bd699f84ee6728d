-- The outbox is a queue: every row is inserted, relayed and deleted within a second. Its
-- dead rows, not its live ones, make the relay's `ORDER BY id LIMIT n` slow (reads of
-- 200 ms were logged after 100,000-event bursts), so vacuum it every 10,000 dead rows,
-- whatever its size, and without the cost-based pauses meant for big tables.
ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0
);
