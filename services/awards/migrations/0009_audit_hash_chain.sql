-- The audit trail as a hash chain: each row carries the hash of the row before it and its
-- own hash over its content and that link, so a row changed or removed afterwards — even
-- by the table's owner, who can disable the append-only triggers — breaks the chain at
-- that row (`python -m services.awards verify-audit`). Appends are serialised by a
-- transaction-scoped advisory lock, so the chain's order is the order of `seq`.

ALTER TABLE audit_log ADD COLUMN prev_hash bytea, ADD COLUMN row_hash bytea;

CREATE FUNCTION audit_row_hash(prev bytea, a audit_log) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(concat_ws(E'\x1f',
        a.seq::text,
        (extract(epoch FROM a.at) * 1000000)::bigint::text,
        a.actor, a.actor_name, array_to_string(a.roles, ','), a.action, a.subject, a.detail::text,
        a.request_id, coalesce(a.client, ''), coalesce(a.method, ''), coalesce(a.path, '')), 'UTF8'))
$$;

-- The first row links to this: sha256 of the empty string.
CREATE FUNCTION audit_chain_genesis() RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT sha256(''::bytea) $$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(3200003);  -- shared/process/locks.py AUDIT_CHAIN
    SELECT row_hash INTO NEW.prev_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, audit_chain_genesis());
    -- seq is taken under the lock (the column has no default now), so seq order is chain order.
    NEW.seq := nextval(pg_get_serial_sequence('audit_log', 'seq'));
    NEW.row_hash := audit_row_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END
$$;

-- The rows written before the chain existed get their links now, in seq order.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
DO $$
DECLARE
    r audit_log;
    prev bytea := audit_chain_genesis();
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
        UPDATE audit_log SET prev_hash = prev, row_hash = audit_row_hash(prev, r) WHERE seq = r.seq
            RETURNING row_hash INTO prev;
    END LOOP;
END
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;

ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN row_hash SET NOT NULL,
    ALTER COLUMN seq DROP DEFAULT;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
