"""`make chaos`: real faults while events flow, and Jepsen's three questions for each —
was an acknowledged message lost, was anything paid twice, did the platform recover by
itself (and how fast). Prints figures; asserts nothing by timing.

Runs three stacks of its own: a one-node stack under .local/chaos (kill -9 of the broker,
of PostgreSQL and of each service; SIGSTOP of the broker and of PostgreSQL); a three-node
cluster under .local/chaos-cluster, each node in a network namespace (its "machine") and
two replicas of every service, the second on the last node's machine (kills: the busiest
leader, a second broker, a rolling restart; partitions: chaos/faults.py PARTITIONS, among
them a minority with services on it and PostgreSQL cut from awards mid-import); and a
stack whose PostgreSQL has a synchronous standby under .local/chaos-pg (a planned
failover; kill -9 of the primary, then failover). For each fault a fresh simulated
year of intake facts (10 % delivered twice, shuffled) is published at CHAOS_RATE events/s
for CHAOS_SECONDS while the fault happens; afterwards:

- recovery_s: seconds from the end of the fault (and of the input) until every replica of
  every service is ready, every consumer group's lag is 0 and every outbox is empty;
- lost: facts acknowledged by the broker that never reached reporting, enterprises paid
  less than the pure award rules owe them, reporting numbers below the metric definitions;
- doubled: enterprises paid more than owed, reporting numbers above the definitions.

    CHAOS_RATE=200 CHAOS_SECONDS=20 python -m chaos
    CHAOS_SECURITY=sasl_ssl make chaos    # both stacks over SASL_SSL with the authorizer: each
                                          # service its own principal, the harness as ops
    CHAOS_STACKS=cluster make chaos       # only the three-node cluster
    CHAOS_STACKS=postgres make chaos      # only the PostgreSQL pair: failover planned and after kill -9
    CHAOS_STACKS=cluster CHAOS_FAULTS=partitions make chaos   # only the network faults
"""

import asyncio
import contextlib
import logging
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer

from chaos.faults import CLUSTER, PARTITIONS, POSTGRES_PAIR, SINGLE_NODE, Fault
from services.awards.policy.domain.policy import THE_2015_PLAN
from shared.contract import topics
from shared.messaging.kafka_settings import KafkaSettings
from shared.messaging.lag import LagReader
from simulator.history import Options, generate
from simulator.oracle import expected_actuals, expected_net_payouts, reported_actuals
from stack.handle import StackHandle
from stack.layout import ROOT

RATE = int(os.environ.get("CHAOS_RATE", "200"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "20"))
SECURITY = os.environ.get("CHAOS_SECURITY", "plaintext")
STACKS = set(os.environ.get("CHAOS_STACKS", "single,cluster,postgres").split(","))
# CHAOS_FAULTS=partitions: only the network faults (on the cluster); kills: only the kills.
FAULTS = set(os.environ.get("CHAOS_FAULTS", "kills,partitions").split(","))
RECOVERY_LIMIT_S = 300.0
GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}


@dataclass
class Row:
    fault: str
    fault_s: float
    recovery_s: float | None
    messages: int
    lost: int
    doubled: int
    counterpart: str | None = None

    @property
    def survived(self) -> bool:
        return self.recovery_s is not None and self.lost == 0 and self.doubled == 0


def history_for(year: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the set of facts, the stream as published: shuffled, about 10 % twice)."""
    enterprises = max(50, int(RATE * SECONDS / 2.6))
    facts = list(generate(Options(year=year, enterprises=enterprises, seed=seed, duplicates=0.0)))
    rng = random.Random(seed)
    stream = facts + rng.sample(facts, len(facts) // 10)
    rng.shuffle(stream)
    return facts, stream


async def publish_steady(kafka: KafkaSettings, stream: list[dict[str, Any]]) -> int:
    """Publish at RATE/s as an upstream system would: each message until acknowledged."""

    def connect() -> AIOKafkaProducer:
        # A send is given up after 10 s; a metadata refresh every 5 s finds moved leaders.
        return AIOKafkaProducer(
            **kafka.client_options(), acks="all", enable_idempotence=True, linger_ms=5,
            request_timeout_ms=10_000, metadata_max_age_ms=5_000,
        )  # fmt: skip

    producer = connect()
    await asyncio.wait_for(producer.start(), 60)
    t0, acked = time.monotonic(), 0
    try:
        for i, e in enumerate(stream):
            await asyncio.sleep(max(0.0, t0 + i / RATE - time.monotonic()))
            d = e["data"]
            key = (d.get("uscc") or d.get("incubator_id") or d.get("platform_id")).encode()
            while True:
                try:
                    await asyncio.wait_for(producer.send_and_wait(topics.INTAKE, orjson.dumps(e), key=key), 15)
                    acked += 1
                    break
                except Exception:  # noqa: BLE001 - not acknowledged: an upstream system reconnects, retries
                    await asyncio.sleep(0.5)
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(producer.stop(), 5)
                    producer = connect()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(producer.start(), 15)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 10)
    return acked


async def still_waiting_on(stack: StackHandle) -> str:
    """What keeps the stack from having recovered ("" once nothing does): a replica of a
    service not ready (none restarted: a partition fault starts nothing), an outbox not
    empty, a consumer group's lag."""
    async with httpx.AsyncClient(timeout=3) as client:
        for service in GROUPS:
            for replica in range(1, stack.replicas + 1):
                if (await client.get(f"{stack.url(service, replica)}/readyz")).status_code != 200:
                    return f"{service} replica {replica} not ready"
    conn = await asyncpg.connect(stack.dsn, timeout=5)
    try:
        pending = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.outbox") for s in GROUPS}
    finally:
        await conn.close()
    if any(pending.values()):
        return f"outbox rows {pending}"
    async with LagReader(stack.kafka(), GROUPS) as lag:
        behind = {group: n for group, n in (await lag.read()).items() if n}
    return f"lag {behind}" if behind else ""


async def wait_recovered(stack: StackHandle) -> float | None:
    """Seconds until nothing was left to wait on (seen again 0.5 s later). A recovery over
    3 s prints what it waited on last, so a slow one can be explained."""
    t0 = time.monotonic()
    first_calm: float | None = None
    waited_on = ""
    while time.monotonic() - t0 < RECOVERY_LIMIT_S:
        try:
            waiting = await still_waiting_on(stack)
        except Exception as e:  # noqa: BLE001 - a broker or database still coming back
            waiting = f"{type(e).__name__}"
        if not waiting and first_calm is not None:
            if first_calm - t0 > 3:
                print(f"    waited on, last: {waited_on}", flush=True)
            return first_calm - t0
        if waiting:
            waited_on = f"{waiting} at {time.monotonic() - t0:.1f} s"
        first_calm = None if waiting else time.monotonic()
        await asyncio.sleep(0.5)
    print(f"    never recovered; waiting on: {waited_on}", flush=True)
    return None


async def audit(
    stack: StackHandle, facts: list[dict[str, Any]], year: int, *, everything: list[dict[str, Any]]
) -> tuple[int, int]:
    """(lost, doubled) of this fault's facts against the pure award rules, and of the
    stack's numbers for `year` against the metric definitions over `everything` published
    to it (two targets count across years: college founders 2015-2017, prefectures)."""
    conn = await asyncpg.connect(stack.dsn)
    try:
        ids = [e["event_id"] for e in facts]
        # Reporting stores every event it projects under its event id.
        reached = await conn.fetchval(
            "SELECT count(*) FROM ("
            + " UNION ALL ".join(
                f"SELECT event_id FROM reporting.{t}"
                for t in ("enterprises", "employment_reports", "admissions", "enterprise_facts", "carriers")
            )
            + ") s WHERE event_id = ANY($1::uuid[])",
            ids,
        )
        rows = await conn.fetch(
            "SELECT enterprise_uscc, recipient_role, sum(amount_cny)::bigint AS cny FROM awards.payouts "
            "WHERE status = 'issued' AND enterprise_uscc = ANY($1::text[]) GROUP BY 1, 2",
            [e["data"]["uscc"] for e in facts if e["event_type"] == "EnterpriseRegistered"],
        )
    finally:
        await conn.close()
    paid: dict[str, dict[str, int]] = {}
    for r in rows:
        paid.setdefault(r["enterprise_uscc"], {"operator": 0, "enterprise": 0})[r["recipient_role"]] = r["cny"]
    owed = expected_net_payouts(facts, THE_2015_PLAN)
    lost = len(ids) - reached
    doubled = 0
    for uscc, want in owed.items():
        got = paid.get(uscc, {"operator": 0, "enterprise": 0})
        lost += sum(got[r] < want[r] for r in want)
        doubled += sum(got[r] > want[r] for r in want)
    want_metrics = expected_actuals(everything, year=year, end=date(year, 12, 31))
    got_metrics = await progress_of(stack, year)
    lost += sum(got_metrics.get(k, 0) < v for k, v in want_metrics.items())
    doubled += sum(got_metrics.get(k, 0) > want_metrics.get(k, 0) for k in got_metrics)
    return lost, doubled


async def progress_of(stack: StackHandle, year: int) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=10) as client:
        doc = (await client.get(f"{stack.url('reporting')}/v1/progress?year={year}")).json()
    return reported_actuals(doc)


async def run_fault(stack: StackHandle, fault: Fault, *, year: int, published: list[dict[str, Any]]) -> Row:
    facts, stream = history_for(year, seed=year * 7)
    published += facts
    publisher = asyncio.create_task(publish_steady(stack.kafka(), stream))
    await asyncio.sleep(min(3.0, SECONDS / 4))
    t0 = time.monotonic()
    await fault.inject(stack)
    fault_s = time.monotonic() - t0
    messages = await publisher
    recovery_s = await wait_recovered(stack)
    lost, doubled = await audit(stack, facts, year, everything=published) if recovery_s is not None else (-1, -1)
    said = ""
    if fault.audit is not None and recovery_s is not None:
        own_lost, own_doubled, said = await fault.audit(stack)
        lost, doubled = lost + own_lost, doubled + own_doubled
    row = Row(fault.name, fault_s, recovery_s, messages, lost, doubled, fault.counterpart)
    print(format_row(row), flush=True)
    if said:
        print(f"    {said}", flush=True)
    return row


def format_row(r: Row) -> str:
    recovery = f"{r.recovery_s:10.1f}" if r.recovery_s is not None else "     never"
    return f"  {r.fault:<56} {r.fault_s:7.1f} {recovery} {r.messages:9,d} {r.lost:5d} {r.doubled:7d}"


async def run_schedule(stack: StackHandle, faults: tuple[Fault, ...], first_year: int) -> list[Row]:
    rows: list[Row] = []
    published: list[dict[str, Any]] = []
    for i, fault in enumerate(faults):
        rows.append(await run_fault(stack, fault, year=first_year + i, published=published))
    return rows


def compare_with_kill(rows: list[Row]) -> None:
    """Each partition's recovery beside its kill counterpart's: the busiest leader killed for
    the Kafka cuts, the PostgreSQL primary killed (then failed over) for the database cut."""
    parted = [r for r in rows if r.counterpart]
    if not parted:
        return
    print("partition recovery beside the matching kill's ('-': that kill not in this run)")
    for r in parted:
        kill = next((k for k in rows if r.counterpart and k.fault.startswith(r.counterpart)), None)
        mine = f"{r.recovery_s:.1f}" if r.recovery_s is not None else "never"
        theirs = f"{kill.recovery_s:.1f}" if kill and kill.recovery_s is not None else "-"
        print(f"  {r.fault:<56} {mine:>6} s   {r.counterpart}: {theirs:>6} s")


def fresh(stack: StackHandle) -> None:
    stack.cli("down")
    shutil.rmtree(stack.dir, ignore_errors=True)
    stack.cli("up")


def main() -> None:
    # The harness's own producer retries through every fault; its reconnect errors are noise.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # The harness feeds facts through the development intake topic, opened explicitly on SASL.
    shape = {"KAFKA_SECURITY": SECURITY, "DEVELOPMENT_INTAKE": "true"}
    single = StackHandle(ROOT / ".local" / "chaos", kafka_port=22092, service_port=22800, env=shape, pg_port=22432)
    cluster = StackHandle(
        ROOT / ".local" / "chaos-cluster",
        kafka_port=22192,
        service_port=22900,
        # Each node in a network namespace of its own, so links can be cut (stack/netns.py);
        # the second replica of every service on the last node's machine; the failpoint that
        # holds a confirmation import inside its transaction.
        env={
            "KAFKA_NODES": "3",
            "SERVICE_REPLICAS": "2",
            "KAFKA_NETNS": "1",
            "SERVICE_NETNS": "1",
            "XJ_PAUSE_FILE": str(ROOT / ".local" / "chaos-cluster" / "pause-{point}"),
            **shape,
        },
        pg_port=22532,
    )
    pair = StackHandle(
        ROOT / ".local" / "chaos-pg",
        kafka_port=22292,
        service_port=23000,
        env={"PG_STANDBY": "1", **shape},
        pg_port=22632,
    )
    print(f"chaos: {RATE} events/s for {SECONDS:.0f} s per fault over {SECURITY}; figures, not assertions", flush=True)
    print(f"  {'fault':<56} {'fault_s':>7} {'recovery_s':>10} {'messages':>9} {'lost':>5} {'doubled':>7}")
    rows: list[Row] = []
    try:
        if "single" in STACKS and "kills" in FAULTS:
            print("== one-node stack", flush=True)
            fresh(single)
            rows += asyncio.run(run_schedule(single, SINGLE_NODE, first_year=2015))
            single.cli("down")
        if "cluster" in STACKS:
            print("== three-node cluster, two replicas of every service", flush=True)
            fresh(cluster)
            schedule = (CLUSTER if "kills" in FAULTS else ()) + (PARTITIONS if "partitions" in FAULTS else ())
            rows += asyncio.run(run_schedule(cluster, schedule, first_year=2015))
            cluster.cli("down")
        if "postgres" in STACKS and "kills" in FAULTS:
            print("== PostgreSQL primary and synchronous standby", flush=True)
            fresh(pair)
            rows += asyncio.run(run_schedule(pair, POSTGRES_PAIR, first_year=2015))
    finally:
        single.cli("down")
        cluster.cli("down")
        pair.cli("down")
    compare_with_kill(rows)
    recoveries = [r.recovery_s for r in rows if r.recovery_s is not None]
    print(
        f"RESULT faults={len(rows)} survived={sum(r.survived for r in rows)} "
        f"lost={sum(max(r.lost, 0) for r in rows)} doubled={sum(max(r.doubled, 0) for r in rows)} "
        f"max_recovery_s={max(recoveries, default=0.0):.1f}"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
