"""G2/G3 for awards over the real broker and database: the same canonical stream twice,
shuffled, with kill -9 at random points, a crash between DB commit and offset commit,
and two replicas in one consumer group — the ledger equals the engine's answer."""

import asyncio
import os
import random
import signal
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.facts import Admission, Certification, EnterpriseFacts, Graduation, Listing, Transfer
from services.awards.policy.domain.policy import THE_2015_PLAN
from shared.contract import topics
from shared.contract.enums import Board
from tests.support import factories as f
from tests.support.auth import READER
from tests.support.http import eventually, http_client
from tests.support.kafka_io import publish
from tests.support.stack import TEST_STACK, Stack

pytestmark = pytest.mark.e2e

REPLICA_PORT = 18012


def _canonical(event_type: str, data: dict[str, Any], event_id: uuid.UUID) -> dict[str, Any]:
    return f.envelope(event_type, data, event_id=event_id)


def generate(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], dict[str, EnterpriseFacts]]:
    """n enterprises with random incubation histories, as canonical events and as engine facts."""
    events: list[dict[str, Any]] = []
    expected: dict[str, EnterpriseFacts] = {}
    operators = {f"INC-AW-{i}": f.new_uscc() for i in range(3)}
    for _ in range(n):
        uscc = f.new_uscc()
        events.append(f.enterprise(uscc, registered_on="2014-12-01"))
        adms, grads, certs, lists, transfers = set(), set(), set(), set(), set()
        start = date(2014, 6, 1)
        for _ in range(rng.randint(0, 2)):
            inc = rng.choice(sorted(operators))
            admitted = start + timedelta(days=rng.randint(0, 700))
            a = Admission(uuid.uuid4(), inc, admitted, operators[inc], f"运营 {inc}")
            adms.add(a)
            state = {
                "operator_uscc": a.operator_uscc,
                "operator_name": a.operator_name,
                "level": "region",
                "division_code": "650102",
            }
            events.append(
                _canonical(
                    "EnterpriseAdmitted",
                    {"uscc": uscc, "incubator_id": inc, "admitted_on": admitted.isoformat(), **state},
                    a.event_id,
                )
            )
            if rng.random() < 0.6:
                g = Graduation(uuid.uuid4(), inc, admitted + timedelta(days=rng.randint(30, 600)))
                grads.add(g)
                events.append(
                    _canonical(
                        "EnterpriseGraduated",
                        {"uscc": uscc, "incubator_id": inc, "graduated_on": g.graduated_on.isoformat(), **state},
                        g.event_id,
                    )
                )
        for _ in range(rng.randint(0, 2)):
            c = Certification(uuid.uuid4(), start + timedelta(days=rng.randint(0, 1400)))
            certs.add(c)
            events.append(
                _canonical(
                    "HighTechCertified",
                    {"uscc": uscc, "certificate_no": "GR201665000001", "certified_on": c.certified_on.isoformat()},
                    c.event_id,
                )
            )
        for _ in range(rng.randint(0, 2)):
            x = Listing(
                uuid.uuid4(), rng.choice([Board.XJEE, Board.NEEQ]), start + timedelta(days=rng.randint(0, 1400))
            )
            lists.add(x)
            events.append(
                _canonical(
                    "ListedOnBoard",
                    {
                        "uscc": uscc,
                        "board": x.board.value,
                        "security_code": "XJ1",
                        "listed_on": x.listed_on.isoformat(),
                    },
                    x.event_id,
                )
            )
        if lists and rng.random() < 0.5:
            t = Transfer(uuid.uuid4(), start + timedelta(days=rng.randint(300, 1600)))
            transfers.add(t)
            events.append(
                _canonical(
                    "BoardTransferred",
                    {
                        "uscc": uscc,
                        "from_board": "XJEE",
                        "to_board": "NEEQ",
                        "security_code": "830001",
                        "transferred_on": t.transferred_on.isoformat(),
                    },
                    t.event_id,
                )
            )
        expected[uscc] = EnterpriseFacts(
            uscc, "", frozenset(adms), frozenset(grads), frozenset(certs), frozenset(lists), frozenset(transfers)
        )
    return events, expected


async def _net(stack: Stack, usccs: list[str]) -> dict[str, tuple[int, int, int]]:
    """Per enterprise: (live payouts, net CNY, payouts ever issued)."""
    out = {}
    async with http_client(timeout=10, headers=READER) as client:
        for u in usccs:
            r = await client.get(f"{stack.url('awards')}/v1/enterprises/{u}/awards")
            if r.status_code != 200:
                out[u] = (-1, -1, -1)
                continue
            body = r.json()
            live = [p for p in body["payouts"] if p["status"] == "issued"]
            out[u] = (len(live), sum(body["net_amount_cny"].values()), len(body["payouts"]))
    return out


async def test_replayed_shuffled_stream_with_crashes_and_two_replicas_pays_exactly_once(stack: Stack) -> None:
    rng = random.Random(20150416)
    events, facts = generate(rng, 40)
    policy = THE_2015_PLAN
    expected = {}
    for u, fs in facts.items():
        owed = decide(fs, policy).payouts
        expected[u] = (len(owed), sum(p.amount_cny for p in owed))
    assert sum(n for n, _ in expected.values()) > 20  # the sample exercises the rules

    replica = stack.start_replica("awards", REPLICA_PORT)
    try:
        first = events[:]
        rng.shuffle(first)
        publisher = asyncio.create_task(publish(stack.bootstrap, first, topic=topics.ENTERPRISE_EVENTS))
        await asyncio.sleep(rng.uniform(0.3, 1.0))
        stack.kill9("awards")  # at a random point of the first pass
        await publisher
        stack.up()
        (TEST_STACK / "crash-awards").write_text("once")  # one replica dies after a DB commit
        second = events[:]
        rng.shuffle(second)
        await publish(stack.bootstrap, second, topic=topics.ENTERPRISE_EVENTS)
        flag = TEST_STACK / "crash-awards"
        for _ in range(200):
            if not flag.exists():
                break
            await asyncio.sleep(0.1)
        assert not flag.exists(), "no awards replica reached the failpoint"
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        if replica.poll() is not None:
            replica = stack.start_replica("awards", REPLICA_PORT)
        stack.up()

        usccs = sorted(facts)
        want = {u: (n, cny) for u, (n, cny) in expected.items()}
        got = await eventually(
            lambda: _net(stack, usccs), lambda g: {u: v[:2] for u, v in g.items()} == want, timeout=90
        )
        assert {u: v[:2] for u, v in got.items()} == want
        assert sum(v[0] for v in got.values()) == sum(n for n, _ in expected.values())
        assert sum(v[1] for v in got.values()) == sum(c for _, c in expected.values())
    finally:
        if replica.poll() is None:
            os.killpg(replica.pid, signal.SIGTERM)
            replica.wait(timeout=30)
