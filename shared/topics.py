"""Topic names of SPEC §3.2 — the only place they are spelled."""

from typing import Final

INTAKE: Final = "registration.intake.v1"
INTAKE_DLQ: Final = "registration.intake.v1.dlq"
ENTERPRISE_EVENTS: Final = "enterprise.events.v1"
CARRIER_EVENTS: Final = "carrier.events.v1"
AWARD_EVENTS: Final = "award.events.v1"
AWARDS_DLQ: Final = "award.events.v1.awards.dlq"
REPORTING_DLQ: Final = "reporting.dlq.v1"
# For the systems around the platform: what became of each intake event, and live progress.
INTAKE_RESULTS: Final = "registration.intake.results.v1"
PROGRESS: Final = "reporting.progress.v1"

ALL: Final = (
    INTAKE,
    INTAKE_DLQ,
    ENTERPRISE_EVENTS,
    CARRIER_EVENTS,
    AWARD_EVENTS,
    AWARDS_DLQ,
    REPORTING_DLQ,
    INTAKE_RESULTS,
    PROGRESS,
)

# What each service consumes.
REGISTRATION_INPUTS: Final = (INTAKE,)
AWARDS_INPUTS: Final = (ENTERPRISE_EVENTS,)
REPORTING_INPUTS: Final = (ENTERPRISE_EVENTS, CARRIER_EVENTS, AWARD_EVENTS)

DLQS: Final = frozenset({INTAKE_DLQ, AWARDS_DLQ, REPORTING_DLQ})

# Topic configs beyond partitions and replication. The progress topic keeps the latest
# row per key (year/metric/division) forever, so a consumer starting late reads it whole.
CONFIGS: Final[dict[str, dict[str, str]]] = {PROGRESS: {"cleanup.policy": "compact"}}
