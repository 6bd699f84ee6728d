-- Searching owed payouts by part of a name or a code (the approvals page) uses trigram
-- indexes instead of reading every payout. pg_trgm lives in `public`, created there by the
-- database's setup (a superuser: stack/postgres.py, ops/postgres/roles.sh); this line only
-- creates it where the migrating role may (a superuser DSN), and is a no-op otherwise.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX enterprises_name_trgm ON enterprises USING gin (lower(name) public.gin_trgm_ops);
CREATE INDEX payouts_recipient_name_trgm ON payouts USING gin (lower(recipient_name) public.gin_trgm_ops);
CREATE INDEX payouts_codes_trgm ON payouts USING gin (enterprise_uscc public.gin_trgm_ops, recipient_uscc public.gin_trgm_ops);
