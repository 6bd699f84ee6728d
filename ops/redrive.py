"""Send dead-lettered messages back to where they came from, once the cause is fixed.

    python -m ops.redrive --dlq registration.intake.v1.dlq --error-code PARK_EXPIRED --dry-run
    python -m ops.redrive --dlq registration.intake.v1.dlq --error-code PARK_EXPIRED

Reads the whole DLQ topic, keeps the messages that match the filters (error code, source
topic, key, failure time), and re-publishes each one's original key, value and headers to
its source topic with a `dlq.redriven_from` header naming the DLQ record. Idempotent: each
redriven DLQ record is written down in PostgreSQL (`ops.redriven`) after its send is
acknowledged, so a second run sends nothing twice (a crash between the two re-sends one
message, which the consumers' event-id dedup absorbs). A redriven message that fails
again reaches the DLQ again carrying `dlq.redriven_from`, and is not redriven again
unless `--again` is given: no loops.
"""

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord

from shared.contract import topics
from shared.messaging.kafka import read_topic
from shared.messaging.kafka_settings import KafkaSettings, kafka_options, local_connection

REDRIVEN_FROM = "dlq.redriven_from"
_TABLE = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.redriven (
    dlq_topic text NOT NULL,
    dlq_partition int NOT NULL,
    dlq_offset bigint NOT NULL,
    source_topic text NOT NULL,
    redriven_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
"""


@dataclass(frozen=True)
class Filters:
    error_code: str | None = None
    source_topic: str | None = None
    key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    again: bool = False


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    original_headers: tuple[tuple[str, bytes], ...]
    dlq_topic: str = ""

    @property
    def source_topic(self) -> str:
        return self.headers.get("dlq.source_topic", "")

    @property
    def failed_at(self) -> datetime | None:
        raw = self.headers.get("dlq.failed_at")
        return datetime.fromisoformat(raw) if raw else None

    def matches(self, f: Filters) -> bool:
        """Named by the filters, not redriven before (unless asked again), and allowed back."""
        again_ok = f.again or REDRIVEN_FROM not in self.headers
        return self._named_by(f) and self._failed_within(f) and again_ok and self.refusal() is None

    def _named_by(self, f: Filters) -> bool:
        """Its error code, source topic and key are the filter's, where it names them."""
        return (
            (f.error_code is None or self.headers.get("dlq.error_code") == f.error_code)
            and (f.source_topic is None or self.source_topic == f.source_topic)
            and (f.key is None or (self.key or b"").decode(errors="replace") == f.key)
        )

    def _failed_within(self, f: Filters) -> bool:
        failed = self.failed_at
        if failed is None:
            return f.since is None and f.until is None
        return (f.since is None or failed >= f.since) and (f.until is None or failed <= f.until)

    def refusal(self) -> str | None:
        """Why this dead letter may not go back where its headers say, or None. Headers are
        written by whoever could write the DLQ, and a redrive publishes as the operator:
        so a letter goes back only to an input of the service that owns the DLQ, written
        by that service (a sender's fact to its own intake topic, so registration still
        knows who sent it)."""
        owner = topics.DLQ_OWNERS.get(self.dlq_topic)
        if owner is None:
            return f"{self.dlq_topic or 'no topic'} is not one of the platform's DLQs"
        service, inputs = owner
        if self.headers.get("dlq.service") != service:
            return (
                f"its dlq.service is {self.headers.get('dlq.service') or 'missing'}, not {service}, whose DLQ it is in"
            )
        source = self.source_topic
        if source in inputs or (service == "registration" and topics.sender_of(source) is not None):
            return None
        return f"{source or 'no topic'} is not a topic {service} consumes"


def _dead_letter(record: "ConsumerRecord[bytes | None, bytes | None]", dlq_topic: str) -> DeadLetter:
    raw = tuple((k, bytes(v)) for k, v in (record.headers or ()))
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value or b"",
        headers={k: v.decode(errors="replace") for k, v in raw},
        original_headers=tuple(h for h in raw if not h[0].startswith("dlq.")),
        dlq_topic=dlq_topic,
    )


async def read_dlq(kafka: KafkaSettings | str, dlq_topic: str) -> list[DeadLetter]:
    """Every record of the DLQ topic, from its beginning to its end as of now."""
    return [_dead_letter(r, dlq_topic) for r in await read_topic(kafka, dlq_topic)]


async def refused(kafka: KafkaSettings | str, dlq_topic: str) -> list[tuple[DeadLetter, str]]:
    """The dead letters of the DLQ that may not be redriven, with why."""
    return [(d, why) for d in await read_dlq(kafka, dlq_topic) if (why := d.refusal()) is not None]


async def redrive(
    kafka: KafkaSettings | str, dsn: str, dlq_topic: str, filters: Filters, *, dry_run: bool
) -> list[DeadLetter]:
    """The dead letters sent (or, with dry_run, that would be sent)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_TABLE)
        done = {
            (r["dlq_partition"], r["dlq_offset"])
            for r in await conn.fetch(
                "SELECT dlq_partition, dlq_offset FROM ops.redriven WHERE dlq_topic = $1", dlq_topic
            )
        }
        chosen = [
            d for d in await read_dlq(kafka, dlq_topic) if d.matches(filters) and (d.partition, d.offset) not in done
        ]
        if dry_run or not chosen:
            return chosen
        producer = AIOKafkaProducer(**kafka_options(kafka), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for d in chosen:
                origin = f"{dlq_topic}/{d.partition}/{d.offset}".encode()
                await producer.send_and_wait(
                    d.source_topic, d.value, key=d.key, headers=[*d.original_headers, (REDRIVEN_FROM, origin)]
                )
                await conn.execute(
                    "INSERT INTO ops.redriven (dlq_topic, dlq_partition, dlq_offset, source_topic) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    dlq_topic,
                    d.partition,
                    d.offset,
                    d.source_topic,
                )
        finally:
            await producer.stop()
        return chosen
    finally:
        await conn.close()


def table(letters: Sequence[DeadLetter]) -> str:
    lines = [f"{'partition/offset':<18} {'error code':<22} {'source topic':<24} {'failed at':<27} key"]
    for d in letters:
        lines.append(
            f"{f'{d.partition}/{d.offset}':<18} {d.headers.get('dlq.error_code', ''):<22} {d.source_topic:<24} "
            f"{d.headers.get('dlq.failed_at', '')[:26]:<27} {(d.key or b'').decode(errors='replace')}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dlq", required=True, choices=sorted(topics.DLQS), help="the DLQ topic to read")
    parser.add_argument("--error-code", help="only messages with this dlq.error_code")
    parser.add_argument("--source-topic", help="only messages that failed on this topic")
    parser.add_argument("--key", help="only messages with this Kafka key (an enterprise USCC, an incubator id)")
    parser.add_argument("--since", type=datetime.fromisoformat, help="failed at or after (ISO 8601, with offset)")
    parser.add_argument("--until", type=datetime.fromisoformat, help="failed at or before (ISO 8601, with offset)")
    parser.add_argument("--again", action="store_true", help="also messages that failed again after a redrive")
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent, send nothing")
    args = parser.parse_args(argv)
    kafka, dsn = local_connection()
    if not dsn:
        parser.error("DATABASE_URL is not set (and no stack.env): the migration role's DSN records what is redriven")
    filters = Filters(args.error_code, args.source_topic, args.key, args.since, args.until, args.again)
    letters = asyncio.run(redrive(kafka, dsn, args.dlq, filters, dry_run=args.dry_run))
    print(table(letters))
    verb = "would send" if args.dry_run else "sent"
    print(f"{verb} {len(letters)} message(s) from {args.dlq} back to their source topics")
    for d, why in asyncio.run(refused(kafka, args.dlq)):
        print(f"refused {d.partition}/{d.offset}: {why}")


if __name__ == "__main__":
    main()
