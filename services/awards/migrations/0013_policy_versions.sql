-- The policy as effective-dated versions (docs/contract/policy.md). A version is drafted
-- by one person and adopted by another; once adopted nothing in it changes (a mistake is
-- corrected by a newer version). The 2015 plan is version 1.
CREATE TABLE policy_versions (
    version_id integer PRIMARY KEY CHECK (version_id > 0),
    -- The region (650000) or one prefecture; its budget pays what the version adds.
    jurisdiction text NOT NULL CHECK (jurisdiction ~ '^65\d{2}00$'),
    effective_from date NOT NULL CHECK (effective_from >= DATE '2015-04-16'),
    -- {"RULE": {"operator": CNY, "enterprise": CNY}}, {"RULE": years}
    amounts jsonb NOT NULL,
    window_years jsonb NOT NULL,
    allows_recovery boolean NOT NULL DEFAULT false,
    doc_issuer text NOT NULL,
    doc_title text NOT NULL,
    doc_issued_on date NOT NULL,
    doc_number text,
    doc_link text,
    drafted_by text NOT NULL,
    drafted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    adopted_by text,
    adopted_at timestamptz,
    CHECK ((adopted_by IS NULL) = (adopted_at IS NULL)),
    CHECK (adopted_by IS NULL OR adopted_by <> drafted_by)  -- four eyes
);
-- One version of a jurisdiction starts on a given day.
CREATE UNIQUE INDEX policy_versions_one_start ON policy_versions (jurisdiction, effective_from)
    WHERE adopted_at IS NOT NULL;

-- Adopted versions are immutable; a draft changes only by being adopted.
CREATE FUNCTION policy_version_immutable() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.adopted_at IS NOT NULL THEN
            RAISE EXCEPTION 'policy version % is adopted: it cannot be deleted', OLD.version_id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.adopted_at IS NOT NULL THEN
        RAISE EXCEPTION 'policy version % is adopted: correct it with a newer version', OLD.version_id;
    END IF;
    IF (NEW.version_id, NEW.jurisdiction, NEW.effective_from, NEW.amounts, NEW.window_years, NEW.allows_recovery,
        NEW.doc_issuer, NEW.doc_title, NEW.doc_issued_on, NEW.doc_number, NEW.doc_link, NEW.drafted_by,
        NEW.drafted_at)
       IS DISTINCT FROM
       (OLD.version_id, OLD.jurisdiction, OLD.effective_from, OLD.amounts, OLD.window_years, OLD.allows_recovery,
        OLD.doc_issuer, OLD.doc_title, OLD.doc_issued_on, OLD.doc_number, OLD.doc_link, OLD.drafted_by,
        OLD.drafted_at) THEN
        RAISE EXCEPTION 'a draft is adopted as it was previewed; draft a new version to change it';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER policy_versions_immutable BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_version_immutable();

INSERT INTO policy_versions (version_id, jurisdiction, effective_from, amounts, window_years, doc_issuer, doc_title,
                             doc_issued_on, drafted_by, drafted_at, adopted_by, adopted_at)
VALUES (1, '650000', DATE '2015-04-16',
        '{"HIGH_TECH_CERTIFICATION": {"operator": 100000, "enterprise": 100000},
          "EQUITY_LISTING": {"operator": 200000, "enterprise": 200000},
          "BOARD_TRANSFER": {"operator": 100000, "enterprise": 100000}}',
        '{"HIGH_TECH_CERTIFICATION": 1, "EQUITY_LISTING": 2}',
        '新疆维吾尔自治区人民政府办公厅', '新疆维吾尔自治区“大众创业、万众就业”行动方案', DATE '2015-04-16',
        'the plan as issued', clock_timestamp(), 'migration 0013', clock_timestamp());

-- Enterprises an adoption must re-decide; rows leave as their re-decision commits, so a
-- crash resumes where it stopped. A batch holding one of their payouts is not released
-- meanwhile (its amount may be about to change).
CREATE TABLE policy_redecisions (
    uscc text PRIMARY KEY,
    version_id integer NOT NULL REFERENCES policy_versions (version_id)
);

-- After a restore: the versions the award log says were adopted (`python -m services.awards
-- hold-for-log`, run by `make restore`). Decisions wait until each is adopted again, so the
-- restored books never decide under fewer versions than the log records.
CREATE TABLE policy_versions_in_log (
    jurisdiction text NOT NULL,
    effective_from date NOT NULL,
    amounts jsonb NOT NULL,
    window_years jsonb NOT NULL,
    logged_version_id integer NOT NULL,
    PRIMARY KEY (jurisdiction, effective_from)
);

-- A payout's identity gains its funding; a top-up adds what a version reaching back
-- raised an award by, and counts with the award it tops up.
ALTER TABLE payouts
    ADD COLUMN funding text NOT NULL DEFAULT '650000',
    ADD COLUMN policy_version integer NOT NULL DEFAULT 1,
    ADD COLUMN top_up_of uuid REFERENCES payouts (payout_id),
    -- What versions that allow recovery clawed back of this paid payout.
    ADD COLUMN recovered_cny bigint NOT NULL DEFAULT 0 CHECK (recovered_cny >= 0 AND recovered_cny <= amount_cny);
DROP INDEX payouts_one_live;
-- Never two live awards of one rule to one role of one enterprise from one budget.
CREATE UNIQUE INDEX payouts_one_live ON payouts (enterprise_uscc, rule, recipient_role, funding)
    WHERE status = 'issued' AND top_up_of IS NULL;

-- A batch pays from one budget: the region's, or one prefecture's account.
ALTER TABLE payment_batches ADD COLUMN funding text NOT NULL DEFAULT '650000';
