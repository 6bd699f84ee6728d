"""`make bench`: throughput and latency on this machine (docs/performance.md). Prints numbers only.

Starts a fresh stack under .local/bench (own broker, database, ports), then measures:
1. each service alone: N simulated intake events through registration (the other two
   stopped) until the last canonical event is out; then awards alone on those canonical
   events; then reporting alone on all three topics (events/s each);
2. the raw aiokafka read rate of the intake topic in the same run — the ceiling;
3. end to end: another N intake events with all three services running, until every
   consumer group has caught up (events/s);
4. latency: registrations at a steady rate, intake record timestamp -> reporting's
   commit (processed_at), p50/p95/p99;
5. GET /v1/progress latency on a province-scale history (PROGRESS_ENTERPRISES
   enterprises folded straight into a reporting schema);
6. service memory (RSS) along the way.

7. the policy office's what-if and payout exports on an OFFICE_ENTERPRISES ledger
   (bench/office.py);
8. the audit trail's hash chain: appends with and without it (bench/audit_chain.py);
9. what PostgreSQL's durability costs a commit: no fsync, durable, durable with a
   synchronous standby (bench/durability.py);
10. what tracing costs per event: off, 10 % and 100 % of new traces (bench/tracing.py).

BENCH_HISTORY events first go end to end unmeasured, so the same phases can be measured
over a longer stored history (the cost per event should not grow with it).

    BENCH_EVENTS=100000 BENCH_RATE=500 BENCH_SECONDS=20 PROGRESS_ENTERPRISES=300000 \
    OFFICE_ENTERPRISES=300000 BENCH_HISTORY=0 python -m bench
"""

import asyncio
import os
import shutil
import statistics
import sys
import time
from datetime import date

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from tqdm import tqdm

from bench.audit_chain import audit_chain_cost
from bench.bench_stack import (
    BOOTSTRAP,
    DSN,
    GROUPS,
    STACK,
    end_to_end,
    outbox_empty,
    publish_simulated,
    rss_mb,
    stack,
    stop_service,
    wait_caught_up,
)
from bench.durability import main as durability_cost
from bench.office import office_scale
from bench.state_size import print_state_sizes
from bench.steady import latency, pct
from bench.tracing import tracing_cost, with_zipkin
from shared.contract import topics
from shared.messaging.kafka import partitions_of
from shared.messaging.kafka_settings import kafka_options
from simulator.history import Options, generate
from stack.layout import ROOT


async def per_service(n_events: int) -> None:
    stop_service("awards")
    stop_service("reporting")
    n, _ = await publish_simulated(n_events, seed=98)
    t0 = time.monotonic()
    await wait_caught_up(groups={"registration": GROUPS["registration"]})
    await outbox_empty("registration")
    t_reg = time.monotonic() - t0
    print(
        f"  registration alone: {n:,} intake events -> last canonical event out in {t_reg:.1f}s "
        f"= {n / t_reg:,.0f} events/s"
    )
    span = asyncio.create_task(consumed_span("awards"))
    await asyncio.to_thread(stack, "up", "awards")
    n_aw, t_aw = await span
    await outbox_empty("awards")
    print(f"  awards alone: {n_aw:,} canonical enterprise events in {t_aw:.1f}s = {n_aw / t_aw:,.0f} facts/s")
    span = asyncio.create_task(consumed_span("reporting"))
    await asyncio.to_thread(stack, "up", "reporting")
    n_rep, t_rep = await span
    print(f"  reporting alone: {n_rep:,} events from 3 topics in {t_rep:.1f}s = {n_rep / t_rep:,.0f} events/s")
    stack("up")


async def consumed_span(group: str) -> tuple[int, float]:
    """Records the group consumes and the time from its first to its last offset commit
    (startup excluded): call just before the service starts."""
    admin = AIOKafkaAdminClient(**kafka_options(BOOTSTRAP))
    consumer = AIOKafkaConsumer(**kafka_options(BOOTSTRAP))
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in GROUPS[group] for p in await partitions_of(BOOTSTRAP, t)]
        ends = await consumer.end_offsets(tps)

        async def committed() -> int:
            got = await admin.list_consumer_group_offsets(group)
            return sum(got[tp].offset if tp in got and got[tp].offset >= 0 else 0 for tp in tps)

        start = await committed()
        target = sum(ends.values())
        first = None
        while True:
            now = await committed()
            if first is None and now > start:
                first = time.monotonic()
            if now >= target:
                return target - start, time.monotonic() - (first or time.monotonic())
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
        await admin.close()


async def topic_size(topic: str) -> int:
    consumer = AIOKafkaConsumer(**kafka_options(BOOTSTRAP))
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(BOOTSTRAP, topic)]
        ends = await consumer.end_offsets(parts)
        starts = await consumer.beginning_offsets(parts)
        return sum(ends[tp] - starts[tp] for tp in parts)
    finally:
        await consumer.stop()


async def raw_read_rate() -> tuple[int, float]:
    consumer = AIOKafkaConsumer(**kafka_options(BOOTSTRAP), enable_auto_commit=False, max_partition_fetch_bytes=8 << 20)
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


async def progress_latency(enterprises: int) -> float:
    """Fold a province-scale history straight into a fresh reporting schema, then time
    the API's own query path on it."""
    from services.reporting.domain.progress import milestone_date, window
    from services.reporting.service_layer.progress_queries import progress
    from services.reporting.service_layer.projection import project
    from shared.contract.incoming import decode
    from shared.process import db

    schema = "reporting_scale"
    conn = await asyncpg.connect(DSN)
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.close()
    await db.migrate(DSN, schema=schema, directory=ROOT / "services" / "reporting" / "migrations")
    pool = await db.create_pool(DSN, schema=schema, max_size=2)
    batch: list[bytes] = []
    t0 = time.monotonic()
    n = 0
    history = list(generate(Options(year=2015, enterprises=enterprises, seed=300, duplicates=0.0)))
    for e in tqdm(history, desc="folding history", unit="ev", file=sys.stderr):
        batch.append(orjson.dumps(e))
        if len(batch) >= 5000:
            async with pool.acquire() as c, c.transaction():
                await project(c, [e for b in batch if (e := decode(b)) is not None])
            n += len(batch)
            batch.clear()
    async with pool.acquire() as c, c.transaction():
        await project(c, [e for b in batch if (e := decode(b)) is not None])
    n += len(batch)
    async with pool.acquire() as c:
        await c.execute("ANALYZE")
        count = await c.fetchval("SELECT count(*) FROM enterprises")
    print(
        f"  folded {n:,} events ({count:,} enterprises) in {time.monotonic() - t0:.0f}s "
        f"= {n / (time.monotonic() - t0):,.0f} events/s through the projection alone"
    )
    timings = []
    today = date.today()
    for i in range(300):
        as_of = (None, milestone_date(2015, "mid_term"), milestone_date(2015, "annual"))[i % 3]
        division = (None, "650100", "653100")[i % 3]
        t = time.perf_counter()
        await progress(pool, window(2015, as_of=as_of, today=today), division)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    print(
        f"  /v1/progress query path at {count:,} enterprises: p50={pct(timings, 50):.1f} ms "
        f"p95={pct(timings, 95):.1f} ms p99={pct(timings, 99):.1f} ms (n={len(timings)})"
    )
    await pool.close()
    return pct(timings, 99)


async def run() -> None:
    n_events = int(os.environ.get("BENCH_EVENTS", "100000"))
    rate = int(os.environ.get("BENCH_RATE", "500"))
    seconds = int(os.environ.get("BENCH_SECONDS", "20"))
    scale = int(os.environ.get("PROGRESS_ENTERPRISES", "300000"))
    history = int(os.environ.get("BENCH_HISTORY", "0"))
    if history:  # stored history the measured phases then run on, itself not measured
        print(f"== history: {history:,} intake events end to end first")
        await end_to_end(history, seed=90)
    rss_before = rss_mb()
    print(f"== each service alone: {n_events:,} simulated intake events")
    await per_service(n_events)
    print(f"== end to end: {n_events:,} more intake events, all services running")
    n, elapsed, cpu = await end_to_end(n_events)
    e2e_eps = n / elapsed
    print(f"  end-to-end throughput: {e2e_eps:,.0f} events/s")
    await print_state_sizes(DSN, intake_events=await topic_size(topics.INTAKE))
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
    print("== memory (RSS MB) at start / after bulk runs / after the steady run")
    for name in GROUPS:
        print(f"  {name:<13} {rss_before[name]:7.1f} {rss_mid[name]:7.1f} {rss_after[name]:7.1f}")
    progress_p99 = float("nan")
    if scale:
        print(f"== reporting reads at province scale: {scale:,} enterprises")
        progress_p99 = await progress_latency(scale)
    office = int(os.environ.get("OFFICE_ENTERPRISES", "300000"))
    if office:
        print(f"== the policy office's tools at province scale: {office:,} enterprises")
        await office_scale(DSN, office)
    print("== the audit trail's hash chain: what serialising the appends costs")
    await audit_chain_cost(DSN)
    raw_eps = rn / relapsed
    print(
        f"RESULT e2e_eps={e2e_eps:.0f} raw_read_eps={raw_eps:.0f} ratio={e2e_eps / raw_eps:.4f} "
        f"p50_ms={pct(lat, 50):.0f} p99_ms={pct(lat, 99):.0f} progress_p99_ms={progress_p99:.1f} "
        f"cpu_us_per_event={cpu['total']:.0f}"
    )


def main() -> None:
    stack("down")
    shutil.rmtree(STACK, ignore_errors=True)
    stack("up")
    try:
        asyncio.run(run())
        if os.environ.get("BENCH_TRACING", "1") != "0":
            with_zipkin()
            stack("up")  # Zipkin, which the stack starts (and the traced runs read the pid of)
            asyncio.run(tracing_cost(int(os.environ.get("BENCH_TRACING_EVENTS", "20000"))))
    finally:
        stack("down")
    durability_cost()  # servers of its own, one per durability setting


if __name__ == "__main__":
    main()
