-- Registry of record, intake dedup log, parked facts.
CREATE TABLE intake_log (
    event_id uuid PRIMARY KEY,
    content_hash bytea NOT NULL,
    event_type text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enterprises (
    uscc text PRIMARY KEY,
    name text NOT NULL,
    division_code text NOT NULL,
    registered_on date NOT NULL,
    size text NOT NULL,
    employees integer NOT NULL,
    college_student_founders integer NOT NULL,
    event_id uuid NOT NULL
);

CREATE TABLE incubators (
    incubator_id text PRIMARY KEY,
    name text NOT NULL,
    operator_uscc text NOT NULL,
    operator_name text NOT NULL,
    level text NOT NULL,
    division_code text NOT NULL,
    recognized_on date NOT NULL,
    event_id uuid NOT NULL
);

CREATE TABLE service_platforms (
    platform_id text PRIMARY KEY,
    name text NOT NULL,
    operator_uscc text NOT NULL,
    operator_name text NOT NULL,
    level text NOT NULL,
    division_code text NOT NULL,
    recognized_on date NOT NULL,
    event_id uuid NOT NULL
);

CREATE TABLE stints (
    admission_event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    incubator_id text NOT NULL,
    admitted_on date NOT NULL,
    graduated_on date,
    graduation_event_id uuid UNIQUE
);
CREATE INDEX stints_uscc ON stints (uscc, incubator_id);

CREATE TABLE certifications (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    certificate_no text NOT NULL,
    certified_on date NOT NULL
);
CREATE INDEX certifications_uscc ON certifications (uscc);

CREATE TABLE listings (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    board text NOT NULL,
    security_code text NOT NULL,
    listed_on date NOT NULL
);
CREATE INDEX listings_uscc ON listings (uscc);

CREATE TABLE transfers (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    from_board text NOT NULL,
    to_board text NOT NULL,
    security_code text NOT NULL,
    transferred_on date NOT NULL
);
CREATE INDEX transfers_uscc ON transfers (uscc);

CREATE TABLE employment_reports (
    event_id uuid PRIMARY KEY,
    uscc text NOT NULL,
    employees integer NOT NULL,
    reported_on date NOT NULL
);
CREATE INDEX employment_reports_uscc ON employment_reports (uscc);

CREATE TABLE parked (
    event_id uuid PRIMARY KEY,
    event_type text NOT NULL,
    waiting_for text NOT NULL,
    reason text NOT NULL,
    raw bytea NOT NULL,
    key bytea,
    headers jsonb NOT NULL DEFAULT '[]',
    source_topic text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_waiting_for ON parked (waiting_for);
CREATE INDEX parked_at ON parked (parked_at);

-- The outbox: shared/messaging/migrations/ (one copy, applied to every service's schema first).
