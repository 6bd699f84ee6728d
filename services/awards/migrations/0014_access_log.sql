-- Reads of payment data leave a trace: who downloaded a payment file, a payout export,
-- the audit export or a confirmation file as received, and when. Append-only for the
-- service (shared/process/db.py grants INSERT and SELECT by this comment). It is a table of its
-- own, not rows of the hash-chained audit trail: reads run in READ ONLY snapshots and the
-- chain serialises its appends, so a download must not wait for, or hold, the chain.
CREATE TABLE access_log (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    actor_name text NOT NULL,
    roles text[] NOT NULL,
    what text NOT NULL,  -- payment-file, payout-export, audit-export, confirmation-file
    subject text NOT NULL,  -- the batch, the filters, the file's SHA-256
    request_id text NOT NULL,
    client text,
    path text
);
COMMENT ON TABLE access_log IS 'append-only: who read payment data, and when';
