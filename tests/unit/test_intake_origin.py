"""Who sent a record is the topic it came on: a sender's own topic names it; the
development intake topic names no one and is open only on a PLAINTEXT local stack; any
other topic the subscription pattern reaches (it cannot bound a name's length) is refused,
never read as the development topic."""

import re

import pytest

from shared.contract import topics

LONGEST = "a" * 48  # a sender's name is at most 48 characters (topics.SENDER_NAME)


@pytest.mark.parametrize(
    ("topic", "development_intake", "origin"),
    [
        ("registration.from.kjt.v1", True, ("kjt", None)),
        ("registration.from.kjt.v1", False, ("kjt", None)),
        (f"registration.from.{LONGEST}.v1", False, (LONGEST, None)),
        (topics.INTAKE, True, (None, None)),
        (
            topics.INTAKE,
            False,
            (None, "registration.intake.v1 is closed on a secured cluster: send on your own topic"),
        ),
        (
            f"registration.from.{LONGEST}b.v1",
            True,
            (None, f"registration.from.{LONGEST}b.v1 is not a sender's own topic"),
        ),
    ],
)
def test_a_records_origin_is_its_topic(
    topic: str, development_intake: bool, origin: tuple[str | None, str | None]
) -> None:
    assert topics.intake_origin(topic, development_intake=development_intake) == origin


def test_a_secured_cluster_does_not_subscribe_to_the_development_topic() -> None:
    open_pattern = re.compile(topics.registration_input_pattern(development_intake=True))
    secured = re.compile(topics.registration_input_pattern(development_intake=False))
    assert open_pattern.match(topics.INTAKE) and not secured.match(topics.INTAKE)
    assert secured.match("registration.from.kjt.v1") and open_pattern.match("registration.from.kjt.v1")
    assert "{" not in secured.pattern  # FastStream would read braces as a path parameter
