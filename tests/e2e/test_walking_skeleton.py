"""The walking skeleton: intake -> canonical event -> awards -> reporting, as processes."""

from typing import Any

import pytest

from shared.contract import topics
from tests.support import factories as f
from tests.support.http import eventually, get_json, metrics
from tests.support.kafka_io import publish, value_json, wait_for_records
from tests.support.stack import TEST_STACK, Stack

pytestmark = pytest.mark.e2e


async def _new_enterprises(stack: Stack) -> int:
    status, body = await get_json(f"{stack.url('reporting')}/v1/progress?year=2015")
    assert status == 200
    return int(body["metrics"]["new_enterprises"]["actual"])  # type: ignore[index]


async def test_registered_enterprise_flows_through_all_three_services(stack: Stack) -> None:
    before = await _new_enterprises(stack)
    uscc = f.new_uscc()
    event = f.enterprise(uscc, registered_on="2015-06-01", employees=12)

    await publish(stack.bootstrap, [event])

    canonical = await wait_for_records(
        stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=1, timeout=30
    )
    assert len(canonical) == 1
    body = value_json(canonical[0])
    assert body["event_id"] == event["event_id"]  # canonical events keep the intake id
    assert body["event_type"] == "EnterpriseRegistered"
    assert dict(canonical[0].headers)["event_type"] == b"EnterpriseRegistered"

    async def awards_view() -> tuple[int, Any]:
        return await get_json(f"{stack.url('awards')}/v1/enterprises/{uscc}/awards")

    status, awards = await eventually(awards_view, lambda v: v[0] == 200)
    assert status == 200
    assert awards == {
        "enterprise_uscc": uscc,
        "payouts": [],
        "declines": [],
        "net_amount_cny": {"operator": 0, "enterprise": 0},
    }

    async def count() -> int:
        return await _new_enterprises(stack)

    assert await eventually(count, lambda n: n == before + 1) == before + 1


async def test_progress_is_exported_as_prometheus_gauges(stack: Stack) -> None:
    import re

    async def scrape() -> tuple[str, int]:
        text = await metrics(stack.url("reporting"), TEST_STACK)
        return text, await _new_enterprises(stack)

    def agrees(v: tuple[str, int]) -> bool:
        m = re.search(r'^progress_actual\{metric="new_enterprises",year="2015"\} ([0-9.e+]+)$', v[0], re.M)
        return m is not None and float(m.group(1)) == v[1]

    text, actual = await eventually(scrape, agrees, timeout=20)
    assert agrees((text, actual))
    assert 'progress_target{metric="new_enterprises",year="2015"} 3000.0' in text
    assert 'progress_target{metric="college_student_founders",year="2017"} 5000.0' in text
