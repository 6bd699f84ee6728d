-- Dedup by the rows themselves (every projected event is stored under its own key):
-- the separate processed-event marks cost a write per event and ~90 MB per million.
-- projected_at: when an enterprise's registration was projected (the bench's latency).
DROP TABLE processed_events;
ALTER TABLE enterprises ADD COLUMN projected_at timestamptz NOT NULL DEFAULT clock_timestamp();
ALTER TABLE carriers ADD COLUMN event_id uuid;
