-- Reporting: a projection of the canonical and award topics; rebuildable from offset 0.
-- processed_at: when the effect committed (bench measures intake-to-counter latency from it).
CREATE TABLE processed_events (event_id uuid PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT clock_timestamp());

CREATE TABLE enterprises (
    uscc text PRIMARY KEY,
    division_code text NOT NULL,
    prefecture text NOT NULL,
    registered_on date NOT NULL,
    employees integer NOT NULL,
    college_student_founders integer NOT NULL,
    event_id uuid NOT NULL
);

CREATE TABLE employment_reports (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    reported_on date NOT NULL,
    employees integer NOT NULL
);
CREATE INDEX employment_reports_uscc ON employment_reports (uscc);

CREATE TABLE admissions (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    admitted_on date NOT NULL
);
CREATE INDEX admissions_uscc ON admissions (uscc);

-- Dated enterprise facts that only count: certifications, listings, transfers, graduations.
CREATE TABLE enterprise_facts (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    metric text NOT NULL,
    day date NOT NULL
);
CREATE INDEX enterprise_facts_uscc ON enterprise_facts (uscc);

CREATE TABLE carriers (
    carrier_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('incubator', 'service_platform')),
    level text NOT NULL,
    division_code text NOT NULL,
    prefecture text NOT NULL,
    recognized_on date NOT NULL,
    PRIMARY KEY (kind, carrier_id)
);

-- The maintained aggregate: additive contributions per metric, cohort year, prefecture, day.
CREATE TABLE daily_counters (
    metric text NOT NULL,
    cohort integer NOT NULL,
    prefecture text NOT NULL,
    day date NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (metric, cohort, prefecture, day)
);

-- What each enterprise currently contributes to the counters, and under which prefecture
-- (facts can arrive before the registration that names it).
CREATE TABLE enterprise_contributions (
    uscc text NOT NULL,
    prefecture text NOT NULL,
    metric text NOT NULL,
    cohort integer NOT NULL,
    day date NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (uscc, metric, cohort, day)
);

CREATE TABLE payouts (
    payout_id uuid PRIMARY KEY,
    enterprise_uscc text NOT NULL,
    rule text NOT NULL,
    recipient_role text NOT NULL,
    amount_cny bigint NOT NULL,
    basis_date date,  -- NULL only while a reversal waits for its issue
    issued boolean NOT NULL DEFAULT false,
    reversed boolean NOT NULL DEFAULT false
);
CREATE INDEX payouts_basis_date ON payouts (basis_date);

CREATE TABLE targets (
    metric text NOT NULL,
    year integer NOT NULL,
    target integer NOT NULL,
    PRIMARY KEY (metric, year)
);

-- The plan's 2015 figures (二、工作目标); college students cover 2015-2017.
INSERT INTO targets (metric, year, target) VALUES
    ('new_enterprises', 2015, 3000),
    ('jobs', 2015, 15000),
    ('region_bases', 2015, 10),
    ('service_platforms', 2015, 20),
    ('resident_enterprises', 2015, 1000),
    ('resident_jobs', 2015, 5000),
    ('college_student_founders', 2015, 5000),
    ('college_student_founders', 2016, 5000),
    ('college_student_founders', 2017, 5000),
    ('prefectures_with_base', 2015, 14);

-- The outbox: shared/messaging/migrations/ (one copy, applied to every service's schema first).
