"""Latency at a steady rate: registrations sent at `rate`/s, each timed from its send to
reporting's commit of it (`reporting.enterprises.projected_at`)."""

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from bench.bench_stack import BOOTSTRAP, DSN, wait_caught_up
from shared.contract import topics
from shared.messaging.kafka_settings import kafka_options


async def latency(rate: int, seconds: int, *, first: int = 0) -> list[float]:
    """Latencies in ms, sorted. Registrations are numbered from `first`: each run of this
    against one stack needs numbers of its own (a code registered twice is one enterprise)."""
    from stdnum.cn import uscc as uscc_check

    producer = AIOKafkaProducer(**kafka_options(BOOTSTRAP), acks="all", enable_idempotence=True, linger_ms=0)
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
        body = f"916501027{first + i:08d}"[:17]
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
        "SELECT event_id::text, extract(epoch FROM projected_at) AS at FROM reporting.enterprises "
        "WHERE event_id = ANY($1::uuid[])",
        ids,
    )
    await conn.close()
    series = sorted((sent_at[r["event_id"]] - t0, (float(r["at"]) - sent_at[r["event_id"]]) * 1000) for r in rows)
    if os.environ.get("BENCH_LATENCY_SERIES"):  # when each slow one was sent: periodic stalls show up
        Path(os.environ["BENCH_LATENCY_SERIES"]).write_text("".join(f"{s:.3f},{ms:.1f}\n" for s, ms in series))
    return sorted(ms for _, ms in series)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]
