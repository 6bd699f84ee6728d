"""Issue 2's walking skeleton: intake -> canonical event -> awards -> reporting, as processes."""

from typing import Any

import pytest

from shared import topics
from tests.conftest import Stack
from tests.support import factories as f
from tests.support.http import eventually, get_json
from tests.support.kafka_io import publish, value_json, wait_for_records

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
