"""`make bench`: throughput and latency of the whole pipeline on this machine (SPEC §7).

Starts a fresh stack under .local/bench (own broker, database, ports), then:
1. the raw aiokafka read rate of the intake topic — the machine's ceiling;
2. end to end: N simulated intake events published at once, until every consumer group
   has caught up and reporting's counters include them (events/s);
3. latency: registrations at a steady rate; intake record timestamp -> reporting's
   commit of the counter change (processed_at), p50/p95/p99;
4. service memory (RSS) before and after.

    BENCH_EVENTS=100000 BENCH_RATE=500 BENCH_SECONDS=20 python -m bench
"""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from tqdm import tqdm

from shared import topics
from shared.kafka import partitions_of
from simulator.history import Options, generate

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / ".local" / "bench"
ENV = {
    "STACK_DIR": str(STACK),
    "LOCAL_KAFKA_PORT": "49092",
    "LOCAL_PG_PORT": "45432",
    "REGISTRATION_PORT": "38001",
    "AWARDS_PORT": "38002",
    "REPORTING_PORT": "38000",
}
BOOTSTRAP = "127.0.0.1:49092"
DSN = "postgresql://xj:xj@127.0.0.1:45432/xj"
GROUPS = {
    "registration": [topics.INTAKE],
    "awards": [topics.ENTERPRISE_EVENTS],
    "reporting": [topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS],
}


def stack(command: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    subprocess.run(
        [sys.executable, "-m", "stack.localstack", command],
        cwd=ROOT,
        env={**env, **ENV},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def rss_mb() -> dict[str, float]:
    out = {}
    for name in GROUPS:
        pid = int((STACK / "run" / f"{name}.pid").read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        out[name] = kb / 1024
    return out


async def wait_caught_up(timeout: float = 1800) -> None:
    """Poll every group's lag with one admin client and one consumer (cheap for the broker)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    await consumer.start()
    parts = {
        g: [TopicPartition(t, p) for t in names for p in await partitions_of(BOOTSTRAP, t)]
        for g, names in GROUPS.items()
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


async def end_to_end(n_events: int) -> tuple[int, float]:
    enterprises = max(100, int(n_events / 2.35))  # the simulator makes ~2.35 events per enterprise
    events = []
    for e in generate(Options(year=2015, enterprises=enterprises, seed=99, duplicates=0.0)):
        d = e["data"]
        events.append(((d.get("uscc") or d.get("incubator_id") or d.get("platform_id")).encode(), orjson.dumps(e)))
        if len(events) >= n_events:
            break
    producer = AIOKafkaProducer(
        bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20
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
    published = time.monotonic() - t0
    await wait_caught_up()
    elapsed = time.monotonic() - t0
    print(f"  published {len(events):,} in {published:.1f}s; all consumers caught up after {elapsed:.1f}s")
    return len(events), elapsed


async def raw_read_rate() -> tuple[int, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    await consumer.start()
    parts = [TopicPartition(topics.INTAKE, p) for p in await partitions_of(BOOTSTRAP, topics.INTAKE)]
    consumer.assign(parts)
    await consumer.seek_to_beginning(*parts)
    ends = await consumer.end_offsets(parts)
    t0, n = time.monotonic(), 0
    while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
        batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
        n += sum(len(v) for v in batch.values())
    elapsed = time.monotonic() - t0
    await consumer.stop()
    return n, elapsed


async def latency(rate: int, seconds: int) -> list[float]:
    from stdnum.cn import uscc as uscc_check

    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=0)
    await producer.start()
    ids: list[str] = []
    sent_at: dict[str, float] = {}
    total = rate * seconds
    t0 = time.time()
    for i in tqdm(range(total), desc=f"steady {rate}/s", unit="ev", file=sys.stderr):
        target = t0 + i / rate
        delay = target - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        body = f"916501027{i:08d}"[:17]
        u = body + uscc_check.calc_check_digit(body)
        event_id = str(uuid.uuid4())
        e = {
            "event_id": event_id,
            "event_type": "EnterpriseRegistered",
            "schema_version": 1,
            "occurred_at": "2016-03-01T10:00:00+08:00",
            "source": "bench",
            "data": {
                "uscc": u,
                "name": f"bench {i}",
                "division_code": "650102",
                "registered_on": "2016-03-01",
                "size": "micro",
                "employees": 3,
            },
        }
        sent_at[event_id] = time.time()
        await producer.send(topics.INTAKE, orjson.dumps(e), key=u.encode())
        ids.append(event_id)
    await producer.stop()
    await wait_caught_up()
    conn = await asyncpg.connect(DSN)
    rows = await conn.fetch(
        "SELECT event_id::text, extract(epoch FROM processed_at) AS at FROM reporting.processed_events "
        "WHERE event_id = ANY($1::uuid[])",
        ids,
    )
    await conn.close()
    return sorted((float(r["at"]) - sent_at[r["event_id"]]) * 1000 for r in rows)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def run() -> None:
    n_events = int(os.environ.get("BENCH_EVENTS", "100000"))
    rate = int(os.environ.get("BENCH_RATE", "500"))
    seconds = int(os.environ.get("BENCH_SECONDS", "20"))
    rss_before = rss_mb()
    print(f"== end to end: {n_events:,} simulated intake events -> reporting counters")
    n, elapsed = await end_to_end(n_events)
    print(f"  end-to-end throughput: {n / elapsed:,.0f} events/s")
    rn, relapsed = await raw_read_rate()
    print(
        f"== ceiling: raw aiokafka read of {topics.INTAKE}: {rn:,} records in {relapsed:.2f}s = "
        f"{rn / relapsed:,.0f} records/s"
    )
    rss_mid = rss_mb()
    print(f"== latency at a steady {rate} events/s for {seconds}s (intake timestamp -> reporting commit)")
    lat = await latency(rate, seconds)
    print(
        f"  n={len(lat)} p50={pct(lat, 50):.0f} ms p95={pct(lat, 95):.0f} ms p99={pct(lat, 99):.0f} ms "
        f"max={max(lat):.0f} ms mean={statistics.fmean(lat):.0f} ms"
    )
    rss_after = rss_mb()
    print("== memory (RSS MB) before / after bulk / after steady run")
    for name in GROUPS:
        print(f"  {name:<13} {rss_before[name]:7.1f} {rss_mid[name]:7.1f} {rss_after[name]:7.1f}")


def main() -> None:
    stack("down")
    shutil.rmtree(STACK, ignore_errors=True)
    stack("up")
    try:
        asyncio.run(run())
    finally:
        stack("down")


if __name__ == "__main__":
    main()
