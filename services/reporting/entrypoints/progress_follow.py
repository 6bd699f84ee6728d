"""`python -m services.reporting follow`: live progress from reporting.progress.v1.

An example for the systems around the platform: no HTTP polling, no consumer group, no
database. It reads the compacted topic from its beginning (the latest row of every key is
always there, however late it starts), prints the current table, then one line per change.
"""

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contract import topics
from shared.messaging.kafka import partitions_of
from shared.messaging.kafka_settings import KafkaSettings, kafka_options


def line(row: dict[str, Any]) -> str:
    target = "-" if row["target"] is None else f"{row['target']:,}"
    ratio = "-" if row["ratio"] is None else f"{row['ratio']:.1%}"
    return (
        f"{row['year']}  {row['division']}  {row['metric']:<26}{row['actual']:>10,} / {target:<8}{ratio:>8}"
        f"  as of {row['as_of']}  {row['label_zh']}"
    )


class Latest:
    """The latest row of every key, as a compacted topic's reader keeps it."""

    def __init__(self, *, year: int | None, division: str | None) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self._year, self._division = year, division

    def apply(self, record: ConsumerRecord[bytes | None, bytes | None]) -> dict[str, Any] | None:
        """Take one record; the row when it is wanted and new, else None."""
        key = (record.key or b"").decode()
        if record.value is None:  # a tombstone
            self.rows.pop(key, None)
            return None
        row: dict[str, Any] = orjson.loads(record.value)["data"]
        if self._year is not None and row["year"] != self._year:
            return None
        if self._division is not None and row["division"] != self._division:
            return None
        if self.rows.get(key) == row:
            return None
        self.rows[key] = row
        return row


async def follow(
    settings: KafkaSettings,
    *,
    year: int | None = None,
    division: str | None = None,
    once: bool = False,
    out: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    latest = Latest(year=year, division=division)
    consumer = AIOKafkaConsumer(**kafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topics.PROGRESS, p) for p in await partitions_of(settings, topics.PROGRESS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for r in records:
                    latest.apply(r)
        for key in sorted(latest.rows):
            out(line(latest.rows[key]))
        if once:
            return latest.rows
        out(f"-- following {topics.PROGRESS}: one line per change (Ctrl-C stops)")
        async for record in consumer:
            if (row := latest.apply(record)) is not None:
                out(line(row))
        return latest.rows
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.reporting follow", description=__doc__)
    parser.add_argument("--year", type=int, help="only this year's rows")
    parser.add_argument("--division", help="only this division (650000: the region)")
    parser.add_argument("--once", action="store_true", help="print the current rows and exit")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow(KafkaSettings(), year=args.year, division=args.division, once=args.once))
