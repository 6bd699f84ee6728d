-- A cancellation is a flow of its own, counted on the day it happens (PayoutCancelled),
-- so approved minus cancelled per month never rewrites a past month.
ALTER TABLE disbursement_flows DROP CONSTRAINT disbursement_flows_kind_check;
ALTER TABLE disbursement_flows ADD CONSTRAINT disbursement_flows_kind_check
    CHECK (kind IN ('approved', 'cancelled', 'paid', 'clawed_back', 'recovered'));
