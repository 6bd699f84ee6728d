-- The audit chain's functions resolve names in this schema and pg_catalog only: a role
-- that could put a table or function of its own earlier on a caller's search_path (a
-- temporary schema, `public`) cannot make the chain hash or append through it.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_row_hash(bytea, audit_log) SET search_path = %I, pg_catalog', current_schema());
    EXECUTE format('ALTER FUNCTION audit_chain_genesis() SET search_path = %I, pg_catalog', current_schema());
    EXECUTE format('ALTER FUNCTION audit_log_chain() SET search_path = %I, pg_catalog', current_schema());
    EXECUTE format('ALTER FUNCTION audit_log_is_append_only() SET search_path = %I, pg_catalog', current_schema());
END
$$;
