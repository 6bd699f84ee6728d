"""A warning means trouble: the demo's simulated 2015 (the generator and seed `make run`
feeds) flows through a ready, healthy stack and no service logs a WARNING or worse.
Named to run first on the shared stack, right after it is ready and before any test kills
or crowds it."""

import json

import pytest

from shared.contract import topics
from simulator.__main__ import publish as publish_simulation
from simulator.history import Options
from tests.support.kafka_io import wait_quiet
from tests.support.stack import SERVICE_PORTS, TEST_STACK, Stack

pytestmark = pytest.mark.e2e

GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}
LOUD = {"WARNING", "ERROR", "CRITICAL"}


async def test_the_demo_on_a_ready_stack_logs_no_warning(stack: Stack) -> None:
    logs = {service: TEST_STACK / "logs" / f"{service}.log" for service in SERVICE_PORTS}
    ready_at = {service: path.stat().st_size for service, path in logs.items()}
    # What `make run` sends: python -m simulator --year 2015 --enterprises 3000 --seed 2015.
    sent = await publish_simulation(Options(year=2015, enterprises=3000, seed=2015), stack.bootstrap)
    await wait_quiet(stack.bootstrap, GROUPS)
    assert sent == 7032
    loud = [
        (service, entry["level"], entry["logger"], entry["msg"])
        for service, path in logs.items()
        for line in path.read_bytes()[ready_at[service] :].decode().splitlines()
        if (entry := json.loads(line))["level"] in LOUD
    ]
    assert loud == []
