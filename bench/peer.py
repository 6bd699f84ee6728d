"""`python -m bench.peer`: the end-to-end rate through all three services against the
simplest alternative a team would write first, on the same broker and database in one run.

The peer is a plain FastStream service that handles one message at a time: it validates
the record with pydantic, INSERTs it in a transaction of its own on the same durable
PostgreSQL, then publishes it on with `acks=all` and awaits the broker's answer. It runs
with FastStream's defaults otherwise (offsets auto-committed as records are read: the
cheapest setting, which can lose a record a crash interrupts) and without its log line per
message, so the ratio is if anything flattering to the peer.

The run: a fresh bench stack; BENCH_WARMUP_EVENTS end to end, not counted (a new broker
spends its first minute compiling its hot paths; the peer, which runs after, finds it
warm). Its JIT compiler threads still take 4–18 µs of CPU per event in the rounds, after a
warm-up of 20,000 events or of 100,000 alike, which a broker running for a day no longer
pays: each round prints that share. Then BENCH_EVENTS intake events end to end through
the three services while they are published ("live", as `make bench` measures it: the
publisher shares the two cores, and the pipeline's fill is timed). Then PEER_ROUNDS
rounds, each measuring both sides the same way, on a backlog:
- the three services stopped, BENCH_EVENTS new intake records published, the services
  started, timed from their first committed batch until every group has caught up and no
  outbox holds a row (seen twice in a row);
- the services stopped, PEER_EVENTS new simulated records published to the peer's own
  topic, the peer started, timed from its first published record to its last.
Before each side starts, the database is vacuumed and the disks synced (`settle`, without
a checkpoint, whose full-page images would weigh on the side that touches more pages):
neither pays for the other's writes. Both sides are looked at every 50 ms.
The peer is bound by fsyncs and round trips, so its rate moves with the disk's hour: the
RESULT line gives the median of the rounds' ratios (the goal: ≥ 15), and the live rate's
ratio to the first round's peer.

    BENCH_EVENTS=40000 PEER_EVENTS=5000 BENCH_WARMUP_EVENTS=20000 PEER_ROUNDS=3 python -m bench.peer

BENCH_PG_STANDBY=1 runs both on PostgreSQL as deployed: a primary whose every commit waits
for a synchronous standby's disk (the standby on the same cores).
"""

import asyncio
import os
import shutil
import statistics
import sys
import time
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import FastStream
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from bench.bench_stack import (
    BOOTSTRAP,
    DSN,
    GROUPS,
    STACK,
    end_to_end,
    publish,
    settle,
    simulated,
    stack,
    stop_service,
)
from bench.cpu import TICK, broker_jit, cpu_by_process, machine
from shared.messaging.kafka import partitions_of
from shared.messaging.kafka_settings import kafka_options
from simulator.history import Options, generate
from stack.layout import ROOT

IN, OUT = "peer.intake", "peer.registered"
PARTITIONS = 6  # as the platform's own topics
LOOK = 0.05  # seconds between looks at either side's progress
OUTBOXES = ("registration", "awards")  # reporting's holds only its periodic progress


class Intake(BaseModel):
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    source: str
    data: dict[str, Any]


# No per-message log lines: what they cost would count against the peer.
broker = KafkaBroker(BOOTSTRAP, acks="all", enable_idempotence=True, logger=None)
app = FastStream(broker, logger=None)
pools: list[asyncpg.Pool] = []


@app.on_startup
async def connect() -> None:
    pools.append(await asyncpg.create_pool(DSN, min_size=1, max_size=1))


@app.after_shutdown
async def disconnect() -> None:
    await pools[0].close()


@broker.subscriber(IN, group_id="peer", auto_offset_reset="earliest")
async def handle(event: Intake) -> None:
    async with pools[0].acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO peer.intake (event_id, event_type, occurred_at, data) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (event_id) DO NOTHING",
            event.event_id,
            event.event_type,
            event.occurred_at,
            orjson.dumps(event.data).decode(),
        )
    await broker.publish(event.model_dump_json(), OUT, key=event.event_id.bytes)


async def prepare(n_events: int, round_no: int) -> None:
    """The peer's topics and table, and `n_events` simulated intake records (new ones each
    round) waiting for it."""
    admin = AIOKafkaAdminClient(**kafka_options(BOOTSTRAP))
    await admin.start()
    try:
        if round_no == 0:
            await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (IN, OUT)])
    finally:
        await admin.close()
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(
            "CREATE SCHEMA IF NOT EXISTS peer; CREATE TABLE IF NOT EXISTS peer.intake (event_id uuid PRIMARY KEY, "
            "event_type text NOT NULL, occurred_at timestamptz NOT NULL, data jsonb NOT NULL)"
        )
    finally:
        await conn.close()
    producer = AIOKafkaProducer(**kafka_options(BOOTSTRAP), acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        history = generate(Options(year=2015, enterprises=n_events, seed=7 + round_no, duplicates=0.0))
        for _, e in zip(range(n_events), history, strict=False):
            await producer.send(IN, orjson.dumps(e), key=e["event_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def out_count(consumer: AIOKafkaConsumer, parts: list[TopicPartition]) -> int:
    return sum((await consumer.end_offsets(parts)).values())


async def peer_rate(n_events: int) -> float:
    """Starts the peer on its backlog: records per second from its first output to its last."""
    consumer = AIOKafkaConsumer(**kafka_options(BOOTSTRAP))
    await consumer.start()
    parts = [TopicPartition(OUT, p) for p in range(PARTITIONS)]
    before = await out_count(consumer, parts)  # earlier rounds' output
    peer = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.peer", "serve", cwd=ROOT)
    try:
        first = None
        while (done := await out_count(consumer, parts) - before) < n_events:
            if first is None and done:
                first = (time.monotonic(), done)
            if peer.returncode is not None:
                raise SystemExit(f"the peer exited ({peer.returncode})")
            await asyncio.sleep(LOOK)
        assert first is not None
        return (n_events - first[1]) / (time.monotonic() - first[0])
    finally:
        peer.terminate()
        await peer.wait()
        await consumer.stop()


class Pipeline:
    """The three services' progress, read from the broker and the outboxes."""

    def __init__(self) -> None:
        self.admin = AIOKafkaAdminClient(**kafka_options(BOOTSTRAP))
        self.consumer = AIOKafkaConsumer(**kafka_options(BOOTSTRAP))

    async def __aenter__(self) -> "Pipeline":
        await self.admin.start()
        await self.consumer.start()
        self.parts = {
            g: [TopicPartition(t, p) for t in names for p in await partitions_of(BOOTSTRAP, t)]
            for g, names in GROUPS.items()
        }
        self.db = await asyncpg.connect(DSN)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.db.close()
        await self.consumer.stop()
        await self.admin.close()

    async def registered(self) -> int:
        """Intake records registration has committed."""
        committed = await self.admin.list_consumer_group_offsets("registration")
        return sum(committed[tp].offset for tp in self.parts["registration"] if tp in committed)

    async def idle(self) -> bool:
        """Every group caught up and every outbox empty: nothing left anywhere in flight."""
        for group, tps in self.parts.items():
            committed = await self.admin.list_consumer_group_offsets(group)
            ends = await self.consumer.end_offsets(tps)
            if any(ends[tp] > (committed[tp].offset if tp in committed else 0) for tp in tps):
                return False
        for schema in OUTBOXES:
            if await self.db.fetchval(f"SELECT EXISTS (SELECT FROM {schema}.outbox)"):
                return False
        return True


async def backlog_rate(n_events: int, seed: int) -> float:
    """The three services started on a backlog of `n_events` intake records: records per
    second from their first committed batch until nothing is left in flight."""
    events = simulated(n_events, seed=seed)
    for name in GROUPS:
        stop_service(name)
    async with Pipeline() as pipeline:
        before = await pipeline.registered()
        await publish(events)
        await settle(checkpoint=False)
        starting = asyncio.create_task(asyncio.to_thread(stack, "up", ",".join(GROUPS)))
        while (done := await pipeline.registered() - before) == 0:
            await asyncio.sleep(LOOK)
        first, done_at_first = time.monotonic(), done
        cpu0, machine0, jit0 = cpu_by_process(), machine(), broker_jit()
        while True:
            if await pipeline.idle():
                end, cpu1, machine1, jit1 = time.monotonic(), cpu_by_process(), machine(), broker_jit()
                await asyncio.sleep(LOOK)
                if await pipeline.idle():
                    break
            await asyncio.sleep(LOOK)
        await starting
    timed = len(events) - done_at_first
    busy, idle, _ = (b - a for a, b in zip(machine0, machine1, strict=True))
    per_event = {k: (cpu1[k] - cpu0[k]) / TICK * 1e6 / timed for k in cpu1}
    print(
        f"  machine busy {100 * busy / max(busy + idle, 1):.0f} %; CPU µs/event "
        + " / ".join(f"{k} {v:.0f}" for k, v in per_event.items())
        + f" = {sum(per_event.values()):.0f} (of kafka's, its JIT compiler {(jit1 - jit0) / TICK * 1e6 / timed:.0f})"
    )
    return timed / (end - first)


async def run(n_events: int, n_peer: int, n_warm_up: int, rounds: int) -> None:
    # The peer runs on a broker the platform's phase has warmed; the platform gets the same:
    # a broker started a minute before spends that minute compiling its hot paths.
    if n_warm_up:
        print(f"== warm-up, {n_warm_up:,} intake events end to end (not counted)")
        await end_to_end(n_warm_up, seed=98)
    print(f"== end to end through the three services, live: {n_events:,} intake events")
    n, elapsed, _ = await end_to_end(n_events)
    live = n / elapsed
    print(f"  {live:,.0f} events/s")
    ratios, peers, ours_all = [], [], []
    for r in range(rounds):  # interleaved: the peer's disk-bound rate moves with the hour
        print(f"== round {r + 1}: the three services on a backlog of {n_events:,} intake events")
        ours = await backlog_rate(n_events, seed=97 - r)
        print(f"  {ours:,.0f} events/s")
        for name in GROUPS:
            stop_service(name)
        print(f"== round {r + 1}: the plain FastStream service, one message at a time: {n_peer:,} intake events")
        await prepare(n_peer, r)
        await settle(checkpoint=False)
        theirs = await peer_rate(n_peer)
        print(f"  {theirs:,.0f} events/s; ratio {ours / theirs:.1f}")
        ratios.append(ours / theirs)
        peers.append(theirs)
        ours_all.append(ours)
    print(
        f"RESULT backlog_eps={statistics.median(ours_all):.0f} peer_eps={statistics.median(peers):.0f}"
        f" ratio={statistics.median(ratios):.1f} (median of {rounds}: {', '.join(f'{x:.1f}' for x in ratios)})"
        f" live_eps={live:.0f} live_ratio={live / peers[0]:.1f} (against round 1's peer)"
    )


def main() -> None:
    if sys.argv[1:] == ["serve"]:
        uvloop.run(app.run())  # as `faststream run` does when uvloop is installed, and the services
        return
    stack("down")
    shutil.rmtree(STACK, ignore_errors=True)
    stack("up")
    try:
        asyncio.run(
            run(
                int(os.environ.get("BENCH_EVENTS", "40000")),
                int(os.environ.get("PEER_EVENTS", "5000")),
                int(os.environ.get("BENCH_WARMUP_EVENTS", "20000")),
                int(os.environ.get("PEER_ROUNDS", "3")),
            )
        )
    finally:
        stack("down")


if __name__ == "__main__":
    main()
