"""Topic names (docs/contract/topics.md) — the only place they are spelled."""

import re
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

# What each service consumes and writes: its Kafka ACLs are made from these (kafka_access.py).
REGISTRATION_INPUTS: Final = (INTAKE,)
AWARDS_INPUTS: Final = (ENTERPRISE_EVENTS,)
REPORTING_INPUTS: Final = (ENTERPRISE_EVENTS, CARRIER_EVENTS, AWARD_EVENTS)
REGISTRATION_OUTPUTS: Final = (ENTERPRISE_EVENTS, CARRIER_EVENTS, INTAKE_RESULTS, INTAKE_DLQ)
AWARDS_OUTPUTS: Final = (AWARD_EVENTS, AWARDS_DLQ)
REPORTING_OUTPUTS: Final = (PROGRESS, REPORTING_DLQ)
ALL_OF: Final = {
    "registration": (*REGISTRATION_INPUTS, *REGISTRATION_OUTPUTS),
    "awards": (*AWARDS_INPUTS, *AWARDS_OUTPUTS),
    "reporting": (*REPORTING_INPUTS, *REPORTING_OUTPUTS),
}

# One intake topic and one results topic per sender, named for it, so the topic says who
# sent a fact (a record does not carry its producer's principal). Each prefix ends in a
# delimiter and sender names have none, so `acme`'s prefix never matches `acme2`'s topics,
# and nothing under SENDER_INTAKE_PREFIX is a DLQ.
SENDER_NAME: Final = r"[a-z0-9][a-z0-9-]{0,47}"
SENDER_INTAKE_PREFIX: Final = "registration.from."
SENDER_RESULTS_PREFIX: Final = "registration.to."
SENDER_INTAKE_PATTERN: Final = rf"^registration\.from\.({SENDER_NAME})\.v1$"


# Registration reads the development intake topic and every sender's, by one pattern.
# (No braces in it: FastStream reads `{name}` in a pattern as a path parameter.)
REGISTRATION_INPUT_PATTERN: Final = r"^(registration\.intake\.v1|registration\.from\.[a-z0-9][a-z0-9-]*\.v1)$"
# On a secured cluster the development intake topic is not read at all: senders only.
SENDER_TOPICS_PATTERN: Final = r"^registration\.from\.[a-z0-9][a-z0-9-]*\.v1$"


def registration_input_pattern(*, development_intake: bool) -> str:
    return REGISTRATION_INPUT_PATTERN if development_intake else SENDER_TOPICS_PATTERN


def intake_origin(topic: str, *, development_intake: bool) -> tuple[str | None, str | None]:
    """(the sender whose own topic it is, or None; why a record there is refused, or None).
    The subscription pattern is wider than a sender's name may be (it cannot say {0,47}),
    so a topic that is no sender's and not the open development topic is refused here:
    its records never pass as the development intake's."""
    sender = sender_of(topic)
    if sender is not None:
        return sender, None
    if topic == INTAKE and development_intake:
        return None, None
    if topic == INTAKE:
        return None, f"{INTAKE} is closed on a secured cluster: send on your own topic"
    return None, f"{topic} is not a sender's own topic"


def sender_of(topic: str) -> str | None:
    """The sender whose intake topic this is; None for the development intake topic."""
    found = re.match(SENDER_INTAKE_PATTERN, topic)
    return found.group(1) if found else None


def sender_intake(sender: str) -> str:
    return f"{SENDER_INTAKE_PREFIX}{sender}.v1"


def sender_results(sender: str) -> str:
    return f"{SENDER_RESULTS_PREFIX}{sender}.v1"


DLQS: Final = frozenset({INTAKE_DLQ, AWARDS_DLQ, REPORTING_DLQ})
# Whose DLQ each is, and the topics it consumes: a dead letter goes back only to one of
# them (registration's: the development intake topic or a sender's own).
DLQ_OWNERS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    INTAKE_DLQ: ("registration", REGISTRATION_INPUTS),
    AWARDS_DLQ: ("awards", AWARDS_INPUTS),
    REPORTING_DLQ: ("reporting", REPORTING_INPUTS),
}

# Intake's cap on one fact (registration's MAX_EVENT_BYTES), and what a record carries
# beside its value (key, headers, the batch's header): a sender's intake topic refuses at
# the broker a record that intake would refuse anyway, before it is stored three times.
DEFAULT_MAX_EVENT_BYTES: Final = 1 << 20
RECORD_OVERHEAD_BYTES: Final = 16 * 1024


def sender_intake_configs(max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> dict[str, str]:
    return {"max.message.bytes": str(max_event_bytes + RECORD_OVERHEAD_BYTES)}


# Topic configs beyond partitions and replication. The progress topic keeps the latest
# row per key (year/metric/division) forever, so a consumer starting late reads it whole.
CONFIGS: Final[dict[str, dict[str, str]]] = {PROGRESS: {"cleanup.policy": "compact"}}
