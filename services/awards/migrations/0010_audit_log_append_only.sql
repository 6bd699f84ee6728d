-- The audit trail is append-only for the service that writes it: its role gets INSERT and
-- SELECT on this table and nothing more (shared/process/db.py grants by this comment); the table
-- is owned by the migration role, so the service cannot disable its triggers or drop it.
COMMENT ON TABLE audit_log IS 'append-only: who did what to the money, hash-chained (0009)';
