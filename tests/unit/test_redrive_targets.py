"""Which dead letters `make redrive` sends back (shared/redrive.py): to a platform topic or
a sender's own intake topic, never to a DLQ or a topic the platform does not know."""

import pytest

from shared import topics
from shared.redrive import DeadLetter, Filters


def letter(source_topic: str) -> DeadLetter:
    return DeadLetter(0, 0, b"k", b"{}", {"dlq.source_topic": source_topic}, ())


@pytest.mark.parametrize(
    ("source", "redriven"),
    [
        (topics.INTAKE, True),
        (topics.ENTERPRISE_EVENTS, True),
        (topics.sender_intake("inc-0001"), True),  # back where its sender wrote it
        (topics.sender_results("inc-0001"), False),
        (topics.INTAKE_DLQ, False),
        ("someone.elses.topic", False),
        ("", False),
    ],
)
def test_a_dead_letter_goes_back_only_to_a_topic_it_can_have_come_from(source: str, redriven: bool) -> None:
    assert letter(source).matches(Filters()) is redriven
