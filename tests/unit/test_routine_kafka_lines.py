"""aiokafka's routine recoveries are logged at INFO, not as warnings: the coordinator found
again, a heartbeat answered "rebalancing". Its other warnings stay warnings."""

import io
import json
import logging

import pytest

from shared.process.logs import setup_logging


@pytest.fixture
def lines() -> io.StringIO:
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("awards", "INFO")
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    yield out
    root.handlers[:], level = saved
    root.setLevel(level)


def test_routine_recoveries_say_info_and_other_warnings_stay(lines: io.StringIO) -> None:
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    coordinator.warning("Marking the coordinator dead (node %s)for group %s.", 1, "awards")
    coordinator.warning("Heartbeat failed for group %s because it is rebalancing", "awards")
    coordinator.warning(
        "Heartbeat failed for group %s: coordinator (node %s) is either not started or not valid", "awards", 1
    )
    coordinator.warning("Heartbeat session expired - marking coordinator dead")
    logging.getLogger("shared.messaging.outbox").warning("Marking the coordinator dead (not aiokafka's)")
    said = [(e["level"], e["msg"]) for e in map(json.loads, lines.getvalue().splitlines())]
    assert said == [
        ("INFO", "Marking the coordinator dead (node 1)for group awards."),
        ("INFO", "Heartbeat failed for group awards because it is rebalancing"),
        ("INFO", "Heartbeat failed for group awards: coordinator (node 1) is either not started or not valid"),
        ("WARNING", "Heartbeat session expired - marking coordinator dead"),
        ("WARNING", "Marking the coordinator dead (not aiokafka's)"),
    ]
