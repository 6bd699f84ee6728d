-- Awards: facts per enterprise, the payout ledger, current declines, dedup.
-- processed_at: when the effect committed (bench measures intake-to-counter latency from it).
CREATE TABLE processed_events (event_id uuid PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT clock_timestamp());

CREATE TABLE enterprises (
    uscc text PRIMARY KEY,
    name text NOT NULL,
    division_code text NOT NULL,
    registered_on date NOT NULL
);

CREATE TABLE facts (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    event_type text NOT NULL,
    data jsonb NOT NULL
);
CREATE INDEX facts_uscc ON facts (uscc);

CREATE TABLE payouts (
    payout_id uuid PRIMARY KEY,
    enterprise_uscc text NOT NULL,
    rule text NOT NULL,
    recipient_role text NOT NULL,
    recipient_uscc text NOT NULL,
    recipient_name text NOT NULL,
    incubator_id text NOT NULL,
    amount_cny bigint NOT NULL CHECK (amount_cny >= 0),
    basis_event_id uuid NOT NULL,
    basis_date date NOT NULL,
    explanation text NOT NULL,
    status text NOT NULL CHECK (status IN ('issued', 'reversed')),
    reversal_reason text,
    reversal_explanation text,
    seq bigserial NOT NULL
);
-- The guard of guarantee G2 (docs/contract/guarantees.md): never two live payouts of one rule to one role of one enterprise.
CREATE UNIQUE INDEX payouts_one_live ON payouts (enterprise_uscc, rule, recipient_role) WHERE status = 'issued';
CREATE INDEX payouts_enterprise ON payouts (enterprise_uscc);
CREATE INDEX payouts_seq ON payouts (seq);

CREATE TABLE declines (
    enterprise_uscc text NOT NULL,
    rule text NOT NULL,
    basis_event_id uuid NOT NULL,
    reason_code text NOT NULL,
    explanation text NOT NULL,
    PRIMARY KEY (enterprise_uscc, rule, basis_event_id)
);

-- The outbox: shared/messaging/migrations/ (one copy, applied to every service's schema first).
