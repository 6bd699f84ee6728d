"""`python -m bench.peer`: the end-to-end rate through all three services against the
simplest alternative a team would write first, on the same broker and database in one run.

The peer is a plain FastStream service that handles one message at a time: it validates
the record with pydantic, INSERTs it in a transaction of its own on the same durable
PostgreSQL, then publishes it on with `acks=all` and awaits the broker's answer. It runs
with FastStream's defaults otherwise (offsets auto-committed as records are read: the
cheapest setting, which can lose a record a crash interrupts) and without its log line per
message, so the ratio is if anything flattering to the peer.

The run: a fresh bench stack; BENCH_WARMUP_EVENTS end to end, not counted (the broker
compiles its hot paths in its first minute, and the peer, which runs after, finds it
warm); BENCH_EVENTS intake events end to end through the three
services (published, then every group caught up, as `make bench` measures it); the three
services stopped; PEER_EVENTS of the same simulated events published to the peer's own
topic; the peer started, timed from its first published record to its last. Prints both
rates and a RESULT line with their ratio (the goal: ≥ 15).

    BENCH_EVENTS=40000 PEER_EVENTS=5000 BENCH_WARMUP_EVENTS=20000 python -m bench.peer
"""

import asyncio
import os
import shutil
import sys
import time
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import FastStream
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from bench.bench_stack import BOOTSTRAP, DSN, GROUPS, STACK, end_to_end, stack, stop_service
from shared.messaging.kafka_settings import kafka_options
from simulator.history import Options, generate
from stack.layout import ROOT

IN, OUT = "peer.intake", "peer.registered"
PARTITIONS = 6  # as the platform's own topics


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


async def prepare(n_events: int) -> None:
    """The peer's topics and table, and `n_events` simulated intake records waiting for it."""
    admin = AIOKafkaAdminClient(**kafka_options(BOOTSTRAP))
    await admin.start()
    try:
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
        history = generate(Options(year=2015, enterprises=n_events, seed=7, duplicates=0.0))
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
    peer = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.peer", "serve", cwd=ROOT)
    try:
        first = None
        while (done := await out_count(consumer, parts)) < n_events:
            if first is None and done:
                first = (time.monotonic(), done)
            if peer.returncode is not None:
                raise SystemExit(f"the peer exited ({peer.returncode})")
            await asyncio.sleep(0.05)
        assert first is not None
        return (n_events - first[1]) / (time.monotonic() - first[0])
    finally:
        peer.terminate()
        await peer.wait()
        await consumer.stop()


async def run(n_events: int, n_peer: int, n_warm_up: int) -> None:
    # The peer runs on a broker the platform's phase has warmed; the platform gets the same:
    # a broker started a minute before spends that minute compiling its hot paths.
    if n_warm_up:
        print(f"== warm-up, {n_warm_up:,} intake events end to end (not counted)")
        await end_to_end(n_warm_up, seed=98)
    print(f"== end to end through the three services: {n_events:,} intake events")
    n, elapsed, _ = await end_to_end(n_events)
    ours = n / elapsed
    print(f"  {ours:,.0f} events/s")
    for name in GROUPS:
        stop_service(name)
    print(f"== the plain FastStream service, one message at a time: {n_peer:,} intake events")
    await prepare(n_peer)
    theirs = await peer_rate(n_peer)
    print(f"  {theirs:,.0f} events/s")
    print(f"RESULT e2e_eps={ours:.0f} peer_eps={theirs:.0f} ratio={ours / theirs:.1f}")


def main() -> None:
    if sys.argv[1:] == ["serve"]:
        asyncio.run(app.run())
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
            )
        )
    finally:
        stack("down")


if __name__ == "__main__":
    main()
