-- Owed payouts found by their enterprise's name read that name from the payout itself: a
-- trigram index over every registered enterprise (migration 0011) cost each registration
-- as much as the rest of its row, for a search that only ever looks for the few that
-- have a payout. A payout takes the name when it is issued, or when the registration
-- arrives after it (services/awards/ledger/adapters/ledger.py); awards keeps an
-- enterprise's first name, so the copy never goes stale.
ALTER TABLE payouts ADD COLUMN enterprise_name text;
UPDATE payouts p SET enterprise_name = e.name FROM enterprises e WHERE e.uscc = p.enterprise_uscc;
CREATE INDEX payouts_enterprise_name_trgm ON payouts USING gin (lower(enterprise_name) public.gin_trgm_ops);
DROP INDEX enterprises_name_trgm;
