-- Disbursement: owed -> approved -> in a payment batch -> paid; cancellations, clawbacks,
-- and an append-only audit trail. A payout without a disbursements row is owed (or was
-- reversed while only owed): the rules' ledger stays as it was.

CREATE TABLE payment_batches (
    batch_id uuid PRIMARY KEY,
    prepared_by text NOT NULL,
    prepared_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    approved_by text,
    approved_at timestamptz,
    payouts integer NOT NULL CHECK (payouts > 0),
    total_cny bigint NOT NULL CHECK (total_cny >= 0),
    -- The files exactly as handed to the treasury, and their SHA-256 (hex).
    csv bytea NOT NULL,
    csv_sha256 text NOT NULL,
    xlsx bytea NOT NULL,
    xlsx_sha256 text NOT NULL,
    seq bigserial NOT NULL,
    CHECK (approved_by IS NULL OR approved_by <> prepared_by)  -- four eyes
);

CREATE TABLE disbursements (
    payout_id uuid PRIMARY KEY REFERENCES payouts (payout_id),
    state text NOT NULL CHECK (state IN ('approved', 'batched', 'paid', 'cancelled')),
    amount_cny bigint NOT NULL CHECK (amount_cny >= 0),
    approved_by text NOT NULL,
    approved_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Deferred: a batch takes its payouts before its row (with the files' hashes) is written.
    batch_id uuid REFERENCES payment_batches (batch_id) DEFERRABLE INITIALLY DEFERRED,
    paid_on date,
    paid_reference text,
    cancelled_at timestamptz,
    CHECK ((state = 'paid') = (paid_reference IS NOT NULL) OR state = 'cancelled'),
    CHECK (state IN ('approved', 'cancelled') OR batch_id IS NOT NULL)
);
CREATE INDEX disbursements_state ON disbursements (state);
CREATE INDEX disbursements_batch ON disbursements (batch_id);

-- At most one clawback per paid payout, for exactly what was paid.
CREATE TABLE clawbacks (
    payout_id uuid PRIMARY KEY REFERENCES disbursements (payout_id),
    recipient_uscc text NOT NULL,
    amount_cny bigint NOT NULL CHECK (amount_cny > 0),
    reason_code text NOT NULL,
    raised_on date NOT NULL,
    settled_on date,
    settled_reference text,
    CHECK ((settled_on IS NULL) = (settled_reference IS NULL))
);

CREATE TABLE audit_log (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,  -- the token's subject, or "awards-rules" for what a reversal caused
    actor_name text NOT NULL,
    roles text[] NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,  -- the payout, batch or file acted on
    detail jsonb NOT NULL,
    request_id text NOT NULL,
    client text,
    method text,
    path text
);

-- Append-only, for every role including the owner and a superuser: triggers fire for all.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
