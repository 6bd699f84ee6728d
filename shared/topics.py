"""Topic names of SPEC §3.2 — the only place they are spelled."""

from typing import Final

INTAKE: Final = "registration.intake.v1"
INTAKE_DLQ: Final = "registration.intake.v1.dlq"
ENTERPRISE_EVENTS: Final = "enterprise.events.v1"
CARRIER_EVENTS: Final = "carrier.events.v1"
AWARD_EVENTS: Final = "award.events.v1"
AWARDS_DLQ: Final = "award.events.v1.awards.dlq"
REPORTING_DLQ: Final = "reporting.dlq.v1"

ALL: Final = (
    INTAKE,
    INTAKE_DLQ,
    ENTERPRISE_EVENTS,
    CARRIER_EVENTS,
    AWARD_EVENTS,
    AWARDS_DLQ,
    REPORTING_DLQ,
)

DLQS: Final = frozenset({INTAKE_DLQ, AWARDS_DLQ, REPORTING_DLQ})
