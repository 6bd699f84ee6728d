"""Registration under redelivery, out-of-order arrival and a crash between the database
commit and the offset commit (guarantees G1, G2)."""

import asyncio
from collections import Counter

import httpx
import pytest

from shared.contract import topics
from stack.handle import wait_gone
from tests.support import factories as f
from tests.support.auth import READER
from tests.support.http import eventually, http_client
from tests.support.kafka_io import publish, read_all, value_json, wait_for_records
from tests.support.stack import TEST_STACK, Stack

pytestmark = pytest.mark.e2e


async def _parked_ids(stack: Stack) -> set[str]:
    async with http_client(timeout=10, headers=READER) as client:
        body = (await client.get(f"{stack.url('registration')}/v1/parked", params={"limit": 1000})).json()
    return {p["event_id"] for p in body["parked"]}


async def test_out_of_order_facts_are_parked_then_released_in_causal_order(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    uscc, inc, op = f.new_uscc(), f.new_id(), f.new_uscc()
    cert = f.certified(uscc, "2015-09-01")
    admission = f.admitted(uscc, inc, "2015-06-01")
    incubator = f.incubator(inc, operator_uscc=op)
    registration = f.enterprise(uscc)
    ids = {e["event_id"] for e in (cert, admission, incubator, registration)}

    await publish(stack.bootstrap, [cert])
    await publish(stack.bootstrap, [admission])
    assert await eventually(lambda: _parked_ids(stack), lambda p: {cert["event_id"], admission["event_id"]} <= p) >= {
        cert["event_id"],
        admission["event_id"],
    }
    await publish(stack.bootstrap, [incubator])
    await publish(stack.bootstrap, [registration])

    enterprise_events = await wait_for_records(
        stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=3, settle=1.0
    )
    carrier_events = await wait_for_records(
        stack.bootstrap, topics.CARRIER_EVENTS, lambda r: r.key == inc.encode(), count=1
    )
    types = [value_json(r)["event_type"] for r in enterprise_events]
    # Causal: registration before anything else about the enterprise (cert and admission are independent).
    assert types[0] == "EnterpriseRegistered"
    assert sorted(types[1:]) == ["EnterpriseAdmitted", "HighTechCertified"]
    admission_record = enterprise_events[types.index("EnterpriseAdmitted")]
    assert [value_json(r)["event_type"] for r in carrier_events] == ["IncubatorRegistered"]
    assert {value_json(r)["event_id"] for r in enterprise_events + carrier_events} == ids
    assert carrier_events[0].timestamp <= admission_record.timestamp  # incubator before the admission
    canonical_admission = value_json(admission_record)["data"]
    assert canonical_admission == {
        "uscc": uscc,
        "incubator_id": inc,
        "admitted_on": "2015-06-01",
        "operator_uscc": op,
        "operator_name": incubator["data"]["operator_name"],
        "level": "region",
        "division_code": "650102",
    }
    assert not (ids & await _parked_ids(stack))
    carrier = (await client.get(f"{stack.url('registration')}/v1/incubators/{inc}")).json()
    enterprise = (await client.get(f"{stack.url('registration')}/v1/enterprises/{uscc}")).json()
    assert (carrier["operator_uscc"], carrier["level"], carrier["resident_enterprises"]) == (op, "region", 1)
    assert enterprise["stints"] == [{"incubator_id": inc, "admitted_on": "2015-06-01", "graduated_on": None}]
    assert enterprise["certifications"] == [{"certificate_no": "GR201565000001", "certified_on": "2015-09-01"}]


async def test_same_intake_message_three_times_gives_one_canonical_event(stack: Stack) -> None:
    uscc = f.new_uscc()
    event = f.enterprise(uscc)
    await publish(stack.bootstrap, [event, event, event])
    out = await wait_for_records(
        stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=1, settle=2.0
    )
    assert [value_json(r)["event_id"] for r in out] == [event["event_id"]]
    dlq = [r for r in await read_all(stack.bootstrap, topics.INTAKE_DLQ) if r.key == uscc.encode()]
    assert dlq == []  # exact duplicates are ignored, not dead-lettered


async def test_kill9_between_db_commit_and_offset_commit_loses_and_duplicates_nothing(stack: Stack) -> None:
    pid_before = stack.pid("registration")
    flag = TEST_STACK / "crash-registration"
    flag.write_text("once")
    usccs = [f.new_uscc() for _ in range(200)]
    events = [f.enterprise(u) for u in usccs]
    event_ids = [e["event_id"] for e in events]
    await publish(stack.bootstrap, events)

    deadline = asyncio.get_running_loop().time() + 30
    while flag.exists() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert not flag.exists(), "registration never reached the failpoint"
    wait_gone(pid_before)  # the failpoint removes its flag, then kills: a moment apart under load
    stack.up()  # restarts just the killed service
    assert stack.pid("registration") != pid_before

    wanted = {u.encode() for u in usccs}
    out = await wait_for_records(
        stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key in wanted, count=200, timeout=60, settle=2.0
    )
    per_key = Counter(r.key for r in out)
    assert len(out) == 200
    assert set(per_key) == wanted and set(per_key.values()) == {1}
    # Results: the redelivered batch says "duplicate" under the same result ids, so a sender
    # that drops ids it has seen reads exactly one "accepted" per event.
    keys = {f"tests/{e}".encode() for e in event_ids}
    results = await wait_for_records(stack.bootstrap, topics.INTAKE_RESULTS, lambda r: r.key in keys, count=200)
    first: dict[str, dict[str, object]] = {}
    for r in sorted(results, key=lambda r: (r.partition, r.offset)):
        first.setdefault(value_json(r)["event_id"], value_json(r)["data"])
    assert len(first) == 200
    assert Counter((d["intake_event_id"], d["status"]) for d in first.values()) == Counter(
        {(e, "accepted"): 1 for e in event_ids}
    )
