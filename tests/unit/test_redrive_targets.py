"""Which dead letters `make redrive` sends back (ops/redrive.py): only to an input of
the service that owns the DLQ, written there by that service — a sender's fact to its own
intake topic — never to a DLQ, another service's input or a topic the platform does not
know, whatever a planted record's headers say."""

import pytest

from ops.redrive import DeadLetter, Filters
from shared.contract import topics


def letter(source_topic: str, dlq: str, service: str) -> DeadLetter:
    return DeadLetter(0, 0, b"k", b"{}", {"dlq.source_topic": source_topic, "dlq.service": service}, (), dlq)


@pytest.mark.parametrize(
    ("source", "dlq", "service", "why"),
    [
        (topics.INTAKE, topics.INTAKE_DLQ, "registration", None),
        (topics.sender_intake("inc-0001"), topics.INTAKE_DLQ, "registration", None),  # back where its sender wrote it
        (topics.ENTERPRISE_EVENTS, topics.AWARDS_DLQ, "awards", None),
        (topics.AWARD_EVENTS, topics.REPORTING_DLQ, "reporting", None),
        # Planted with a leaked awards or reporting password: refused.
        (
            topics.ENTERPRISE_EVENTS,
            topics.REPORTING_DLQ,
            "awards",
            "its dlq.service is awards, not reporting, whose DLQ it is in",
        ),
        (topics.INTAKE, topics.AWARDS_DLQ, "awards", "registration.intake.v1 is not a topic awards consumes"),
        (
            topics.sender_intake("inc-0001"),
            topics.REPORTING_DLQ,
            "reporting",
            "registration.from.inc-0001.v1 is not a topic reporting consumes",
        ),
        (
            topics.ENTERPRISE_EVENTS,
            topics.INTAKE_DLQ,
            "registration",
            "enterprise.events.v1 is not a topic registration consumes",
        ),
        (
            topics.sender_results("inc-0001"),
            topics.INTAKE_DLQ,
            "registration",
            "registration.to.inc-0001.v1 is not a topic registration consumes",
        ),
        (
            topics.INTAKE_DLQ,
            topics.INTAKE_DLQ,
            "registration",
            "registration.intake.v1.dlq is not a topic registration consumes",
        ),
        ("someone.elses.topic", topics.AWARDS_DLQ, "awards", "someone.elses.topic is not a topic awards consumes"),
        ("", topics.AWARDS_DLQ, "awards", "no topic is not a topic awards consumes"),
        (topics.INTAKE, topics.INTAKE_DLQ, "", "its dlq.service is missing, not registration, whose DLQ it is in"),
        (topics.INTAKE, topics.PROGRESS, "reporting", "reporting.progress.v1 is not one of the platform's DLQs"),
    ],
)
def test_a_dead_letter_goes_back_only_to_an_input_of_the_service_whose_dlq_it_is_in(
    source: str, dlq: str, service: str, why: str | None
) -> None:
    d = letter(source, dlq, service)
    assert d.refusal() == why
    assert d.matches(Filters()) is (why is None)
