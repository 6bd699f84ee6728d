-- Disbursement as reported: each approval, payment, clawback and settlement once (by its
-- event id), dated by its own day; the prefecture comes from the enterprise at read time,
-- so a registration arriving after the money changes nothing but where it is counted.
CREATE TABLE disbursement_flows (
    event_id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('approved', 'paid', 'clawed_back', 'recovered')),
    payout_id uuid NOT NULL,
    enterprise_uscc text NOT NULL,
    day date NOT NULL,
    amount_cny bigint NOT NULL
);
CREATE INDEX disbursement_flows_day ON disbursement_flows (day);
