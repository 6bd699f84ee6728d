-- Marks are pruned by age (shared/retention.py); BRIN suits an append-ordered timestamp.
CREATE INDEX processed_events_processed_at ON processed_events USING brin (processed_at);
