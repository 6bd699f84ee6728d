-- The books follow the money: a released line is recalled, never cancelled; every money
-- movement the bank confirms is booked under its own reference; every confirmation file
-- is kept as received; what is not a plain match opens a treasury exception; clawbacks
-- are keyed by what caused them (a reversal, or one overpayment).

ALTER TABLE disbursements
    DROP CONSTRAINT disbursements_state_check,
    DROP CONSTRAINT disbursements_check,
    DROP CONSTRAINT disbursements_check1;
ALTER TABLE disbursements
    ADD COLUMN reversal_reason text,  -- the rules reversed it after approval: why
    ADD COLUMN recall_requested_at timestamptz,
    ADD COLUMN returned_reference text,  -- the bank's reference of a stopped payment
    ADD CONSTRAINT disbursements_state_check
        CHECK (state IN ('approved', 'batched', 'recall_requested', 'paid', 'cancelled')),
    ADD CONSTRAINT disbursements_paid_has_reference
        CHECK ((state = 'paid') = (paid_reference IS NOT NULL)),
    ADD CONSTRAINT disbursements_batched_has_batch
        CHECK (state IN ('approved', 'cancelled') OR batch_id IS NOT NULL);
CREATE INDEX disbursements_recall ON disbursements (payout_id) WHERE state = 'recall_requested';

ALTER TABLE payment_batches
    ADD COLUMN voided_by text,
    ADD COLUMN voided_at timestamptz,
    ADD CONSTRAINT payment_batches_released_or_voided CHECK (approved_by IS NULL OR voided_by IS NULL);

-- Money that left, one row per bank reference: the payment, then any second debit.
CREATE TABLE bank_payments (
    payout_id uuid NOT NULL REFERENCES disbursements (payout_id),
    reference text NOT NULL,
    amount_cny bigint NOT NULL CHECK (amount_cny > 0),
    value_date date NOT NULL,
    file_sha256 text,  -- NULL: booked before confirmation files were kept
    line integer,
    booked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (payout_id, reference)
);
INSERT INTO bank_payments (payout_id, reference, amount_cny, value_date)
SELECT payout_id, paid_reference, amount_cny, paid_on FROM disbursements WHERE state = 'paid';

-- Clawbacks keyed by cause: 'reversal:<payout>' or 'overpayment:<payout>:<bank reference>'.
ALTER TABLE clawbacks ADD COLUMN clawback_id text;
UPDATE clawbacks SET clawback_id = 'reversal:' || payout_id;
ALTER TABLE clawbacks ALTER COLUMN clawback_id SET NOT NULL;
ALTER TABLE clawbacks DROP CONSTRAINT clawbacks_pkey;
ALTER TABLE clawbacks ADD PRIMARY KEY (clawback_id);
CREATE INDEX clawbacks_payout ON clawbacks (payout_id);
CREATE INDEX clawbacks_recipient_open ON clawbacks (recipient_uscc) WHERE settled_on IS NULL;
-- A recovered reference is unique per payout, as a paid one is (bank_payments' key).
CREATE UNIQUE INDEX clawbacks_settled_reference ON clawbacks (payout_id, settled_reference)
    WHERE settled_reference IS NOT NULL;

-- Every confirmation file exactly as received (a BOM included), fetched by its SHA-256.
-- Audit rows written before this migration recorded the SHA-256 of the file's text
-- without a BOM; they keep it.
CREATE TABLE confirmation_files (
    sha256 text PRIMARY KEY,
    content bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    received_by text NOT NULL
);

CREATE TABLE treasury_exceptions (
    exception_id bigserial PRIMARY KEY,
    file_sha256 text NOT NULL REFERENCES confirmation_files (sha256),
    line integer NOT NULL,
    reason text NOT NULL,
    payout_id uuid,
    direction text,
    amount_cny bigint,
    expected_cny bigint,
    reference text,
    message text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    resolved_by text,
    resolved_at timestamptz,
    resolution text,
    confirmed_by text,
    confirmed_at timestamptz,
    UNIQUE (file_sha256, line),  -- re-importing a file opens nothing new
    CHECK ((resolved_by IS NULL) = (resolution IS NULL)),
    CHECK (confirmed_by IS NULL OR (resolved_by IS NOT NULL AND confirmed_by <> resolved_by))  -- four eyes
);
CREATE INDEX treasury_exceptions_not_closed ON treasury_exceptions (exception_id) WHERE confirmed_by IS NULL;
