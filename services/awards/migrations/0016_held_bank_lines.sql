-- A confirmation line that would end a debt (`recovered`) or a recall (`returned`) is held
-- here until a second person with the approver's role decides it: the treasurer who
-- imported the file could have written the line. Until it is confirmed the clawback stays
-- open and the recall stays requested; a rejection opens a treasury exception for the line.
CREATE TABLE held_bank_lines (
    held_id bigserial PRIMARY KEY,
    file_sha256 text NOT NULL REFERENCES confirmation_files (sha256),
    line integer NOT NULL,
    direction text NOT NULL CHECK (direction IN ('recovered', 'returned')),
    payout_id uuid NOT NULL REFERENCES payouts (payout_id),
    clawback_id text REFERENCES clawbacks (clawback_id),
    amount_cny bigint NOT NULL CHECK (amount_cny > 0),
    value_date date NOT NULL,
    reference text NOT NULL,
    imported_by text NOT NULL,
    held_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    decision text CHECK (decision IN ('confirmed', 'rejected')),
    decided_by text,
    decided_at timestamptz,
    note text,
    UNIQUE (file_sha256, line),  -- re-importing a file holds nothing new
    CHECK ((direction = 'recovered') = (clawback_id IS NOT NULL)),
    CHECK ((decision IS NULL) = (decided_by IS NULL) AND (decision IS NULL) = (decided_at IS NULL)),
    CHECK (decided_by IS NULL OR decided_by <> imported_by)  -- four eyes
);
-- One undecided hold per clawback and per recall: a debt is not settled twice over.
CREATE UNIQUE INDEX held_bank_lines_one_per_clawback ON held_bank_lines (clawback_id) WHERE decision IS NULL;
CREATE UNIQUE INDEX held_bank_lines_one_return_per_payout ON held_bank_lines (payout_id)
    WHERE decision IS NULL AND direction = 'returned';
