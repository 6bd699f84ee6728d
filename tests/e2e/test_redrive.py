"""A fact dead-lettered with PARK_EXPIRED (its incubator never came) is redriven
once the incubator is registered: the admission lands, the award is paid exactly once,
and a second redrive sends nothing."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from ops.redrive import REDRIVEN_FROM, Filters, redrive
from shared.contract import topics
from tests.support import factories as f
from tests.support.http import eventually, get_json
from tests.support.kafka_io import headers, publish, read_all, wait_for_records
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def test_park_expired_admission_redriven_after_its_incubator_arrives_pays_once(stack: Stack) -> None:
    started = datetime.now(UTC)
    uscc, operator, incubator = f.new_uscc(), f.new_uscc(), f.new_id("INC-REDRIVE")
    admission = f.admitted(uscc, incubator, "2015-05-10")
    await publish(stack.bootstrap, [f.enterprise(uscc, registered_on="2015-05-01"), admission])
    await publish(stack.bootstrap, [f.certified(uscc, "2015-09-01")])

    expired = await wait_for_records(
        stack.bootstrap,
        topics.INTAKE_DLQ,
        lambda r: r.key == uscc.encode() and headers(r)["dlq.error_code"] == "PARK_EXPIRED",
        count=1,
        timeout=60,  # PARK_TTL_SECONDS=12 on the test stack, swept every second
    )
    assert len(expired) == 1

    async def awards() -> tuple[int, Any]:
        return await get_json(f"{stack.url('awards')}/v1/enterprises/{uscc}/awards")

    _, before = await eventually(awards, lambda v: v[0] == 200 and len(v[1]["declines"]) == 1)
    assert [(d["rule"], d["reason_code"]) for d in before["declines"]] == [("HIGH_TECH_CERTIFICATION", "NOT_INCUBATED")]
    assert before["payouts"] == []

    await publish(stack.bootstrap, [f.incubator(incubator, operator_uscc=operator, recognized_on="2015-04-20")])
    only_ours = Filters(error_code="PARK_EXPIRED", key=uscc, since=started)
    planned = await redrive(stack.bootstrap, stack.dsn, topics.INTAKE_DLQ, only_ours, dry_run=True)
    assert [(d.partition, d.offset) for d in planned] == [(expired[0].partition, expired[0].offset)]
    assert planned[0].source_topic == topics.INTAKE

    sent = await redrive(stack.bootstrap, stack.dsn, topics.INTAKE_DLQ, only_ours, dry_run=False)
    assert [(d.partition, d.offset) for d in sent] == [(expired[0].partition, expired[0].offset)]

    _, after = await eventually(awards, lambda v: len(v[1]["payouts"]) == 2, timeout=30)
    assert sorted(
        (p["recipient_role"], p["recipient_uscc"], p["amount_cny"], p["status"]) for p in after["payouts"]
    ) == [
        ("enterprise", uscc, 100_000, "issued"),
        ("operator", operator, 100_000, "issued"),
    ]
    assert after["net_amount_cny"] == {"operator": 100_000, "enterprise": 100_000}

    again = await redrive(stack.bootstrap, stack.dsn, topics.INTAKE_DLQ, only_ours, dry_run=False)
    assert again == []
    await asyncio.sleep(3)
    _, settled = await get_json(f"{stack.url('awards')}/v1/enterprises/{uscc}/awards")
    assert settled["payouts"] == after["payouts"]
    origin = f"{topics.INTAKE_DLQ}/{expired[0].partition}/{expired[0].offset}"
    redriven = [r for r in await read_all(stack.bootstrap, topics.INTAKE) if headers(r).get(REDRIVEN_FROM) == origin]
    assert [r.value for r in redriven] == [expired[0].value]
    canonical = await wait_for_records(
        stack.bootstrap,
        topics.ENTERPRISE_EVENTS,
        lambda r: r.key == uscc.encode() and r.value is not None and admission["event_id"].encode() in r.value,
        count=1,
        timeout=10,
    )
    assert len(canonical) == 1  # the admission became canonical exactly once
