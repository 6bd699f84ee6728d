"""Disbursement steps the e2e tests share: an awarded enterprise, signed-in calls to awards,
approvals, batches, confirmations, the award events of one enterprise, reporting's
disbursement rows."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx

from shared.contract import topics
from tests.support import factories as f
from tests.support.auth import READER, bearer
from tests.support.awards_app import InProcessAwards
from tests.support.http import eventually, http_client
from tests.support.kafka_io import publish, read_all, value_json
from tests.support.stack import Stack

# Where awards runs: the test stack's process, or this process (tests/support/awards_app.py).
Awards = Stack | InProcessAwards

ALICE = bearer("alice", "approver")  # approves payouts and releases batches
BOB = bearer("bob", "treasurer", "approver")  # prepares batches: may not release his own
CAROL = bearer("carol", "treasurer")  # imports the treasury's confirmations
HEADER = "payout_id,direction,amount_cny,value_date,reference\n"
DIVISION = "652101"  # a county whose prefecture is 650400 (its code's predecessor prefix 6521)


def incubator_state(uscc: str, inc: str, operator: str) -> dict[str, Any]:
    return {
        "uscc": uscc,
        "incubator_id": inc,
        "operator_uscc": operator,
        "operator_name": "运营公司",
        "level": "region",
    }


def canonical_awarded(
    uscc: str, inc: str, operator: str, division: str, name: str | None = None
) -> list[dict[str, Any]]:
    """An enterprise incubated since 2015-01-05 and certified High-Tech on 2016-09-01:
    100,000 CNY to the operator and 100,000 to the enterprise."""
    state = {**incubator_state(uscc, inc, operator), "division_code": division}
    return [
        f.enterprise(uscc, division=division, registered_on="2014-12-01", name=name),
        f.envelope("EnterpriseAdmitted", {**state, "admitted_on": "2015-01-05"}),
        f.certified(uscc, "2016-09-01"),
    ]


def graduated_early(uscc: str, inc: str, operator: str, division: str) -> dict[str, Any]:
    """Graduated 2015-03-01: the certification falls outside the one-year window, so both
    payouts are reversed."""
    state = {**incubator_state(uscc, inc, operator), "division_code": division}
    return f.envelope("EnterpriseGraduated", {**state, "graduated_on": "2015-03-01"})


async def awarded(stack: Awards, division: str = "650102") -> tuple[str, str, list[dict[str, Any]], str]:
    uscc, operator, inc = f.new_uscc(division), f.new_uscc(division), f.new_id("INC-DISB")
    events = canonical_awarded(uscc, inc, operator, division)
    if isinstance(stack, InProcessAwards):
        await stack.take(events)
    else:
        await publish(stack.bootstrap, events, topic=topics.ENTERPRISE_EVENTS)

    async def payouts() -> list[dict[str, Any]]:
        r = await call(stack, "GET", f"/v1/enterprises/{uscc}/awards", READER)
        return r.json()["payouts"] if r.status_code == 200 else []

    found = await eventually(payouts, lambda p: len(p) == 2)
    assert sorted((p["recipient_role"], p["amount_cny"], p["status"]) for p in found) == [
        ("enterprise", 100_000, "issued"),
        ("operator", 100_000, "issued"),
    ]
    return uscc, operator, sorted(found, key=lambda p: p["recipient_role"]), inc


async def call(
    stack: Awards, method: str, path: str, who: dict[str, str] | None, base: str | None = None, **kw: Any
) -> httpx.Response:
    client = stack.client(timeout=30) if isinstance(stack, InProcessAwards) else http_client(timeout=30)
    async with client as c:  # exactly `who`: None sends no token
        headers = {**(who or {}), **kw.pop("headers", {})}
        return await c.request(method, f"{base or stack.url('awards')}{path}", headers=headers, **kw)


async def approve(stack: Awards, ids: list[str], who: dict[str, str] = ALICE, **kw: Any) -> list[str]:
    r = await call(stack, "POST", "/v1/approvals", who, json={"payout_ids": ids}, **kw)
    assert r.status_code == 200, r.text
    return [x["outcome"] for x in r.json()["results"]]


async def confirm(
    stack: Awards, text: str | bytes, base: str | None = None, who: dict[str, str] = CAROL
) -> dict[str, Any]:
    """The bank's confirmation file, imported by carol (a treasurer) unless `who`."""
    body = text.encode() if isinstance(text, str) else text
    r = await call(stack, "POST", "/v1/confirmations", who, base, content=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def held_ids(answer: dict[str, Any]) -> list[int]:
    """The holds an import opened, in line order."""
    return [x["held_id"] for x in answer["lines"] if "held_id" in x]


async def second_person_confirms(
    stack: Awards, answer: dict[str, Any], who: dict[str, str] = ALICE, base: str | None = None
) -> list[str]:
    """An approver other than the importer confirms every line the import held; the outcomes."""
    outcomes = []
    for held_id in held_ids(answer):
        r = await call(stack, "POST", f"/v1/held-lines/{held_id}/confirmation", who, base)
        assert r.status_code == 200, r.text
        outcomes.append(r.json()["outcome"])
    return outcomes


async def released_batch(stack: Awards, ids: list[str]) -> dict[str, Any]:
    r = await call(stack, "POST", "/v1/payment-batches", BOB, json={"payout_ids": ids})
    assert r.status_code == 201, r.text
    batch = r.json()
    r = await call(stack, "POST", f"/v1/payment-batches/{batch['batch_id']}/approval", ALICE)
    assert r.status_code == 200, r.text
    return batch


async def award_events(stack: Stack, uscc: str, settle: float = 0.0) -> Counter[str]:
    """One enterprise's award events as a consumer counts them: each event id once. A kill -9
    between the outbox relay's send and its delete sends a record again (at least once, by
    design); a record again must be the same event, never a second one under the same id."""
    await asyncio.sleep(settle)
    records = await read_all(stack.bootstrap, topics.AWARD_EVENTS)
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.key == uscc.encode():
            event = value_json(r)
            assert seen.setdefault(event["event_id"], event) == event, f"two events under id {event['event_id']}"
    return Counter(e["event_type"] for e in seen.values())


async def disbursement_rows(stack: Stack, year: int) -> dict[tuple[str, str], dict[str, int]]:
    async with http_client(timeout=10, headers=READER) as c:
        body = (await c.get(f"{stack.url('reporting')}/v1/disbursement", params={"year": year})).json()
    return {(r["month"], r["prefecture"]): r for r in body["rows"]}


async def awarded_many(stack: Stack, n: int) -> tuple[str, list[tuple[str, str, str]]]:
    """`n` enterprises named with a tag no other test uses, each owed 2 × 100,000 CNY."""
    tag = uuid.uuid4().hex[:8]
    made = [(f.new_uscc(DIVISION), f.new_uscc(DIVISION), f.new_id("INC-ALL")) for _ in range(n)]
    events = [
        e for i, (u, op, inc) in enumerate(made) for e in canonical_awarded(u, inc, op, DIVISION, f"{tag}企业{i}")
    ]
    await publish(stack.bootstrap, events, topic=topics.ENTERPRISE_EVENTS)
    await eventually(lambda: owed(stack, q=tag), lambda d: d["count"] == 2 * n, timeout=60)
    return tag, made


async def owed(stack: Awards, **params: Any) -> dict[str, Any]:
    r = await call(stack, "GET", "/v1/disbursement/owed", READER, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
