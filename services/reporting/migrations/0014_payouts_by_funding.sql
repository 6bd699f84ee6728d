-- Awards split by whose budget pays them (the region, 650000, or a prefecture). A top-up
-- (a version reaching back raised an award) adds CNY to its award's basis year, not a
-- payout to the count; a recovery (a version lowered a paid award) takes its CNY away.
-- Events written before policy versions carry neither field: the region's, no top-up.
ALTER TABLE payouts
    ADD COLUMN funding text NOT NULL DEFAULT '650000',
    ADD COLUMN top_up boolean NOT NULL DEFAULT false;

-- What versions clawed back of paid awards, once per clawback (a redelivery adds nothing).
CREATE TABLE payout_recoveries (
    clawback_id text PRIMARY KEY,
    payout_id uuid NOT NULL,
    amount_cny bigint NOT NULL CHECK (amount_cny > 0)
);
CREATE INDEX payout_recoveries_payout ON payout_recoveries (payout_id);
