"""On a three-node KRaft cluster (RF 3, min.insync.replicas 2) with two replicas
of every service in one consumer group each, a shuffled history with duplicates flows
while the broker leading the busiest partitions is killed (-9) and kept down 30 s,
later a different broker is killed, and then the busiest leader is cut from both its
followers for 15 s (each node has a network namespace of its own). Afterwards every
enterprise's net payouts and every reporting number equal what the pure rules compute
from the same set of facts.

The cluster runs as in production: SASL_SSL on every listener, the authorizer
closed by default, each service its own principal with its ACLs, the harness as ops; and
a sender's principal is refused what is not its own."""

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from services.awards.policy.domain.policy import THE_2015_PLAN
from shared.contract import topics
from shared.messaging.kafka_settings import KafkaSettings
from simulator.history import Options, generate
from simulator.oracle import expected_actuals, expected_award_totals, expected_net_payouts, reported_actuals
from stack import netns
from stack.handle import ROOT, StackHandle, fresh_database
from tests.support.auth import READER, sign_in_env
from tests.support.factories import key_of
from tests.support.http import http_client
from tests.support.kafka_acl import kafka_principal, produce
from tests.support.kafka_io import wait_quiet
from tests.support.stack import Infra

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ENTERPRISES = 1000
GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}


@pytest.fixture(scope="module")
def cluster(infra: Infra) -> Iterator[StackHandle]:
    dsn = asyncio.run(fresh_database(infra.dsn, "xj_cluster"))
    s = StackHandle(
        ROOT / ".local" / "test-cluster",
        kafka_port=23092,
        service_port=23800,
        dsn=dsn,
        # Each node in a network namespace of its own, so a link can be cut (stack/netns.py).
        env={
            "KAFKA_NODES": "3",
            "KAFKA_SECURITY": "sasl_ssl",
            "DEVELOPMENT_INTAKE": "true",  # the history is fed through the development topic as ops
            "SERVICE_REPLICAS": "2",
            "KAFKA_NETNS": "1",
            **sign_in_env("cluster"),
        },
    )
    s.cli("down")
    s.cli("up")
    try:
        yield s
    finally:
        s.cli("down")


async def leaders(kafka: KafkaSettings) -> Counter[int]:
    """How many partitions of the busiest topics (intake, canonical) each broker leads."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics([topics.INTAKE, topics.ENTERPRISE_EVENTS])
        return Counter(p["leader"] for t in described for p in t["partitions"] if p["leader"] >= 0)
    finally:
        await admin.close()


async def publish_paced(kafka: KafkaSettings, events: list[dict[str, Any]], *, seconds: float) -> None:
    """The history in 40 slices over `seconds`, so faults land while events flow: one
    idempotent producer that keeps appending while a partition waits out a fault (its
    batches are large enough never to block a slice), then waits for every ack."""
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True, max_batch_size=4 << 20)
    await producer.start()
    try:
        acks = []
        for chunk in (events[i::40] for i in range(40)):
            t0 = time.monotonic()
            for env in chunk:
                value = json.dumps(env, ensure_ascii=False).encode()
                acks.append(await producer.send(topics.INTAKE, value, key=key_of(env).encode()))
            await asyncio.sleep(max(0.0, seconds / 40 - (time.monotonic() - t0)))
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def awards_net(stack: StackHandle, usccs: list[str]) -> dict[str, dict[str, int]]:
    """Each enterprise's net awards, asked of both replicas in turn, eight at a time."""
    room = asyncio.Semaphore(8)

    async def net(client: httpx.AsyncClient, n: int, u: str) -> dict[str, int]:
        async with room:
            r = await client.get(f"{stack.url('awards', replica=1 + n % 2)}/v1/enterprises/{u}/awards")
        return r.json()["net_amount_cny"] if r.status_code == 200 else {}

    async with http_client(timeout=10, headers=READER) as client:
        nets = await asyncio.gather(*(net(client, n, u) for n, u in enumerate(usccs)))
    return dict(zip(usccs, nets, strict=True))


async def test_two_broker_failures_and_a_partition_lose_nothing_and_pay_nothing_twice(
    cluster: StackHandle, client: httpx.AsyncClient
) -> None:
    kafka = cluster.kafka()
    assert (kafka.kafka_security_protocol, kafka.kafka_sasl_username, len(kafka.bootstrap_list)) == (
        "SASL_SSL",
        "ops",
        3,
    )
    rng = random.Random(20150416)
    history = list(generate(Options(year=2015, enterprises=ENTERPRISES, seed=77, duplicates=0.0)))
    stream = history + rng.sample(history, len(history) // 5)  # about 20 % delivered twice
    rng.shuffle(stream)

    flowing = asyncio.create_task(publish_paced(kafka, stream, seconds=60))
    await asyncio.sleep(7)
    busiest = (await leaders(kafka)).most_common(1)[0][0]
    cluster.kill9(f"kafka-{busiest}")
    await asyncio.sleep(20)
    assert f"starting kafka-{busiest}" in await asyncio.to_thread(cluster.cli, "up")
    await asyncio.sleep(6)
    second = next(n for n, _ in (await leaders(kafka)).most_common() if n != busiest)
    cluster.kill9(f"kafka-{second}")
    await asyncio.sleep(10)
    assert f"starting kafka-{second}" in await asyncio.to_thread(cluster.cli, "up")
    # Then a partition: the busiest leader cut from both followers (clients still reach it).
    await asyncio.sleep(4)
    cut = (await leaders(kafka)).most_common(1)[0][0]
    for peer in (n for n in cluster.layout.node_ids if n != cut):
        netns.cut(cluster.layout, cut, peer)
    await asyncio.sleep(12)
    netns.heal(cluster.layout, cut)
    await flowing
    await wait_quiet(kafka, GROUPS, timeout=240)

    policy = THE_2015_PLAN
    want = expected_net_payouts(history, policy)
    assert sum(sum(v.values()) for v in want.values()) > 0  # the history exercises the rules
    got = await awards_net(cluster, sorted(want))
    assert {u: v for u, v in got.items() if v != want[u]} == {}

    year_end = date(2015, 12, 31)
    doc = (await client.get(f"{cluster.url('reporting', replica=2)}/v1/progress?year=2015")).json()
    assert reported_actuals(doc) == {k: v for k, v in expected_actuals(history, year=2015, end=year_end).items() if v}
    totals = expected_award_totals(history, policy, start=date(2015, 1, 1), end=year_end)
    assert {k: doc["awards"][k] for k in totals} == totals


async def test_on_the_cluster_a_sender_writes_only_its_own_topic(cluster: StackHandle) -> None:
    name = f"inc-{uuid.uuid4().hex[:6]}"
    sender = kafka_principal(cluster, name, "sender", "EnterpriseAdmitted")
    for topic in (topics.ENTERPRISE_EVENTS, topics.AWARD_EVENTS, topics.PROGRESS, topics.INTAKE):
        assert await produce(sender, topic) == "TopicAuthorizationFailedError", topic
    assert await produce(sender, topics.sender_intake(name)) == "written"
