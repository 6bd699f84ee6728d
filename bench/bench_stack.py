"""The bench's own stack (.local/bench, its own ports) and what every bench run does to
it: start and stop it, feed it simulated intake, wait until every group caught up."""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from tqdm import tqdm

from bench.cpu import Processes, per_event_us
from shared.contract import topics
from shared.messaging.kafka import partitions_of
from shared.messaging.kafka_settings import kafka_options
from simulator.history import Options, generate
from stack.handle import StackHandle
from stack.layout import ROOT

STACK = ROOT / ".local" / "bench"
# The plain one-node stack at the services' own progress interval (2 s), on ports of its own.
# BENCH_PG_STANDBY=1: PostgreSQL as deployed (compose), a primary with a synchronous standby,
# both on this machine's cores.
HANDLE = StackHandle(
    STACK,
    kafka_port=30192,
    service_port=30800,
    pg_port=30432,
    env={
        "PROGRESS_PUBLISH_INTERVAL_SECONDS": "2",
        **({"PG_STANDBY": "1"} if os.environ.get("BENCH_PG_STANDBY") == "1" else {}),
    },
)
ENV = HANDLE.env
BOOTSTRAP = "127.0.0.1:30192"
DSN = "postgresql://xj:xj@127.0.0.1:30432/xj"
GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}


def stack(command: str, only: str = "") -> None:
    """`make up`/`down`/`infra` of the bench's stack (only: STACK_SERVICES, a comma list)."""
    HANDLE.env["STACK_SERVICES"] = only
    HANDLE.cli(command)


def rss_mb() -> dict[str, float]:
    out = {}
    for name in GROUPS:
        pid = int((STACK / "run" / f"{name}.pid").read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        out[name] = kb / 1024
    return out


async def wait_caught_up(timeout: float = 1800, groups: dict[str, list[str]] | None = None) -> None:
    """Poll every group's lag with one admin client and one consumer (cheap for the broker)."""
    admin = AIOKafkaAdminClient(**kafka_options(BOOTSTRAP))
    consumer = AIOKafkaConsumer(**kafka_options(BOOTSTRAP))
    await admin.start()
    await consumer.start()
    parts = {
        g: [TopicPartition(t, p) for t in names for p in await partitions_of(BOOTSTRAP, t)]
        for g, names in (groups or GROUPS).items()
    }
    try:
        deadline = time.monotonic() + timeout
        calm = 0
        while time.monotonic() < deadline:
            total = 0
            for group, tps in parts.items():
                committed = await admin.list_consumer_group_offsets(group)
                ends = await consumer.end_offsets(tps)
                total += sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps)
            calm = calm + 1 if total == 0 else 0
            if calm >= 2:
                return
            await asyncio.sleep(0.25)
        raise SystemExit("pipeline did not catch up")
    finally:
        await consumer.stop()
        await admin.close()


async def outbox_empty(schema: str) -> None:
    conn = await asyncpg.connect(DSN)
    try:
        while await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox"):
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def stop_service(name: str) -> None:
    """Stops the service and waits until it has exited (at once if it is not running)."""
    pid = int((STACK / "run" / f"{name}.pid").read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
        time.sleep(0.05)


def simulated(n_events: int, *, seed: int) -> list[tuple[bytes, bytes]]:
    """`n_events` simulated intake records (key, value), made before any clock starts."""
    enterprises = max(100, int(n_events / 2.35))  # the simulator makes ~2.35 events per enterprise
    events = []
    for e in generate(Options(year=2015, enterprises=enterprises, seed=seed, duplicates=0.0)):
        d = e["data"]
        events.append(((d.get("uscc") or d.get("incubator_id") or d.get("platform_id")).encode(), orjson.dumps(e)))
        if len(events) >= n_events:
            break
    return events


async def publish(events: list[tuple[bytes, bytes]]) -> float:
    """Publishes the records to the intake topic: the seconds it took."""
    producer = AIOKafkaProducer(
        **kafka_options(BOOTSTRAP), acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20
    )
    await producer.start()
    t0 = time.monotonic()
    pending = []
    for key, value in tqdm(events, desc="publishing", unit="ev", file=sys.stderr):
        pending.append(await producer.send(topics.INTAKE, value, key=key))
        if len(pending) >= 10_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    await producer.stop()
    return time.monotonic() - t0


async def publish_simulated(n_events: int, *, seed: int) -> tuple[int, float]:
    events = simulated(n_events, seed=seed)
    return len(events), await publish(events)


def processes() -> Processes:
    def pid(name: str) -> int:
        return int((STACK / "run" / f"{name}.pid").read_text())

    postmaster = int((STACK / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    return Processes(services={n: pid(n) for n in GROUPS}, broker=pid("kafka"), postmaster=postmaster)


async def commits_by_role() -> dict[str, int]:
    """Transactions committed so far by each service's role (pg_stat_statements counts
    each COMMIT): a consumer's batches and a relay's rounds, to compare batch sizes."""
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        rows = await conn.fetch(
            "SELECT r.rolname, sum(s.calls)::bigint FROM pg_stat_statements s"
            " JOIN pg_roles r ON r.oid = s.userid WHERE s.query ILIKE 'commit%' GROUP BY 1"
        )
    finally:
        await conn.close()
    return {name: n for name, n in rows}


async def settle(*, checkpoint: bool = True) -> None:
    """Earlier runs' leftovers cleared before a measured run: their dead rows vacuumed, their
    dirty pages checkpointed and synced, work that would otherwise land in whichever run
    comes next and be charged to it. checkpoint=False leaves PostgreSQL's checkpoint to its
    schedule: right after one, a run writes a full-page image of every page it first
    touches, which weighs on a run that touches thousands and hardly on one that touches few."""
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("VACUUM (ANALYZE)")
        if checkpoint:
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    os.sync()


async def end_to_end(n_events: int, *, seed: int = 99) -> tuple[int, float, dict[str, float]]:
    """`n_events` intake events through the running stack, until every group caught up:
    (events, seconds, CPU µs per event by process and in total)."""
    events = simulated(n_events, seed=seed)  # the simulator's own time is not the pipeline's
    n = len(events)
    procs = processes()
    cpu0 = procs.sample()
    t0 = time.monotonic()
    published = await publish(events)
    await wait_caught_up()
    elapsed = time.monotonic() - t0
    cpu = per_event_us(cpu0, procs.sample(), n)
    print(f"  published {n:,} in {published:.1f}s; all consumers caught up after {elapsed:.1f}s")
    print("  CPU per event (µs): " + "  ".join(f"{k} {v:,.0f}" for k, v in cpu.items()))
    return n, elapsed, cpu
