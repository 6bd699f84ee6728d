-- The code search's trigram index is built over upper(code), not over the code: a
-- gin_trgm_ops index answers `=` too, and until payouts had been analyzed (a fresh
-- deployment's first minutes) the generic plan of the ledger's per-batch lookup,
-- `unnest($1) JOIN payouts USING (enterprise_uscc)`, probed it instead of the btree:
-- ~1 ms a key, 2 s for a batch of 2,000 (EXPLAIN ANALYZE on a fresh bench database).
-- An expression index serves only its expression; codes are stored in upper case, so
-- upper() changes no match (services/awards/disbursement/adapters/owed_sql.py).
DROP INDEX payouts_codes_trgm;
CREATE INDEX payouts_codes_trgm ON payouts
    USING gin (upper(enterprise_uscc) public.gin_trgm_ops, upper(recipient_uscc) public.gin_trgm_ops);
