"""One path for every intake message, from Kafka or HTTP: validate, dedup, apply, park or
reject, release what waited for it — all in the caller's transaction, with the
canonical events and DLQ entries written to the outbox in that same transaction.
"""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson
from prometheus_client import Counter as PromCounter

from services.registration.adapters.registry import BatchRegistry
from services.registration.domain.references import Apply, Park, decide, satisfied_keys
from services.registration.domain.validation import Rejection, ValidFact, validate
from services.registration.intake_results import Identity, Incoming, identity_of, result_message
from shared import outbox, topics
from shared.codec import OutgoingMessage, encode_envelope, event_message
from shared.dlq import dlq_message
from shared.enums import IntakeError, IntakeStatus
from shared.events import CARRIER_EVENT_TYPES, aggregate_id

SERVICE = "registration"
WRITE_LOCK = 3_100_001  # registration's writes are serialised: parking and release never race
XINJIANG_TZ = ZoneInfo("Asia/Shanghai")  # the official (Beijing) time of the region's offices

OUTCOMES = PromCounter("intake_outcomes_total", "Intake messages by outcome", ["outcome", "error_code"])


@dataclass(frozen=True, slots=True)
class Outcome:
    status: IntakeStatus
    event_id: uuid.UUID | None = None
    rejection: Rejection | None = None
    reason: str | None = None  # why it is parked


def today() -> date:
    return datetime.now(XINJIANG_TZ).date()


def describe(rejection: Rejection) -> str:
    details = "; ".join(f"{e.loc}: {e.msg}" for e in rejection.errors)
    return f"{rejection.message} ({details})" if details else rejection.message


class IntakeBatch:
    """Processes one batch inside an open transaction; call `run` once."""

    def __init__(self, conn: asyncpg.Connection, *, max_bytes: int, dead_letter: bool) -> None:
        self._conn = conn
        self._max_bytes = max_bytes
        self._dead_letter = dead_letter  # HTTP callers get the error instead of a DLQ entry
        self._out: list[OutgoingMessage] = []
        self._parked: dict[str, list[tuple[ValidFact, Incoming, str]]] = defaultdict(list)
        self._satisfied: list[str] = []

    async def run(self, messages: list[Incoming]) -> list[Outcome]:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
        now = today()
        checked = [validate(m.raw, max_bytes=self._max_bytes, today=now) for m in messages]
        facts = [c for c in checked if isinstance(c, ValidFact)]
        self._reg = await BatchRegistry.load(
            self._conn, event_ids=[f.envelope.event_id for f in facts], facts=[f.data for f in facts]
        )
        outcomes = []
        for m, c in zip(messages, checked, strict=True):
            outcome = self._first_sight(m, c)
            self._out.append(_result(m, c, outcome, first_sight=True))
            outcomes.append(outcome)
        await self._release()
        await self._reg.flush(self._conn)
        await self._store_parked()
        await outbox.enqueue(self._conn, self._out)
        tally = Counter((o.status.value, o.rejection.code.value if o.rejection else "") for o in outcomes)
        for labels, n in tally.items():
            OUTCOMES.labels(*labels).inc(n)
        return outcomes

    def _first_sight(self, message: Incoming, checked: ValidFact | Rejection) -> Outcome:
        if isinstance(checked, Rejection):
            return self._reject(message, checked, None)
        event_id = checked.envelope.event_id
        seen = self._reg.seen.get(event_id)
        if seen is not None:
            if seen == checked.content_hash:
                return Outcome(IntakeStatus.DUPLICATE, event_id)
            conflict = Rejection(
                IntakeError.CONFLICTING_DUPLICATE,
                f"event_id {event_id} was already received with different content",
            )
            return self._reject(message, conflict, event_id)
        decision = decide(checked, self._reg)
        if not isinstance(decision, Rejection):
            # Parked facts are received too: the same id again is a duplicate, not new.
            self._reg.remember(event_id, checked.content_hash, checked.event_type)
        return self._settle(message, checked, decision)

    def _settle(self, message: Incoming, fact: ValidFact, decision: Apply | Park | Rejection) -> Outcome:
        event_id = fact.envelope.event_id
        if isinstance(decision, Rejection):
            return self._reject(message, decision, event_id)
        if isinstance(decision, Park):
            self._parked[decision.waiting_for].append((fact, message, decision.reason))
            return Outcome(IntakeStatus.PARKED, event_id, reason=decision.reason)
        self._reg.apply(event_id, fact.data, admitted_on=decision.admitted_on)
        self._out.append(canonical_message(fact, decision))
        self._satisfied.extend(satisfied_keys(fact))
        return Outcome(IntakeStatus.ACCEPTED, event_id)

    def _reject(self, message: Incoming, rejection: Rejection, event_id: uuid.UUID | None) -> Outcome:
        if self._dead_letter:
            self._out.append(dead_letter(message, rejection.code, describe(rejection)))
        return Outcome(IntakeStatus.REJECTED, event_id, rejection)

    async def _release(self) -> None:
        """Apply parked facts whose reference has now arrived, until nothing more moves."""
        while self._satisfied:
            keys, self._satisfied = list(dict.fromkeys(self._satisfied)), []
            waiting = [w for k in keys for w in self._parked.pop(k, [])]
            rows = await self._conn.fetch("DELETE FROM parked WHERE waiting_for = ANY($1::text[]) RETURNING *", keys)
            for row in sorted(rows, key=lambda r: (r["parked_at"], r["source_offset"])):
                fact = validate(bytes(row["raw"]), max_bytes=1 << 30, today=date.max)
                assert isinstance(fact, ValidFact), "a parked fact was valid when parked"
                waiting.append((fact, _parked_message(row), row["reason"]))
            await self._reg.extend(self._conn, event_ids=[], facts=[f.data for f, _, _ in waiting])
            for fact, message, _ in waiting:
                outcome = self._settle(message, fact, decide(fact, self._reg))
                if outcome.status is IntakeStatus.ACCEPTED:
                    outcome = Outcome(IntakeStatus.RELEASED, outcome.event_id)
                self._out.append(_result(message, fact, outcome, first_sight=False))

    async def _store_parked(self) -> None:
        rows = [
            (
                f.envelope.event_id,
                f.event_type,
                key,
                reason,
                m.raw,
                m.key,
                orjson.dumps([[k, v.decode("utf-8", "replace")] for k, v in m.headers]).decode(),
                m.topic,
                m.partition,
                m.offset,
            )
            for key, entries in self._parked.items()
            for f, m, reason in entries
        ]
        if rows:
            await self._conn.executemany(
                "INSERT INTO parked (event_id, event_type, waiting_for, reason, raw, key, headers, source_topic, "
                "source_partition, source_offset) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                "ON CONFLICT (event_id) DO UPDATE SET waiting_for = excluded.waiting_for, reason = excluded.reason",
                rows,
            )


def canonical_message(fact: ValidFact, decision: Apply) -> OutgoingMessage:
    """The intake fact as a canonical event: same id, plus the incubator's state for
    admissions and graduations (the shape of `CANONICAL_MODELS`; both parts are validated)."""
    env, event_type = fact.envelope, fact.event_type
    payload: dict[str, Any] = fact.data.model_dump(mode="json")
    if decision.incubator is not None:
        payload.update(decision.incubator.model_dump(mode="json"))
    topic = topics.CARRIER_EVENTS if event_type in CARRIER_EVENT_TYPES else topics.ENTERPRISE_EVENTS
    value = encode_envelope(
        event_id=env.event_id, event_type=event_type, occurred_at=env.occurred_at, source=env.source, data=payload
    )
    return event_message(
        topic=topic, key=aggregate_id(event_type, fact.data), envelope_bytes=value, event_type=event_type
    )


def _result(
    message: Incoming, checked: ValidFact | Rejection, outcome: Outcome, *, first_sight: bool
) -> OutgoingMessage:
    if isinstance(checked, ValidFact):
        env = checked.envelope
        who = Identity(env.event_id, env.source, env.event_type)
    else:
        who = identity_of(message.raw)
    return result_message(
        message, who, outcome.status, rejection=outcome.rejection, reason=outcome.reason, first_sight=first_sight
    )


def dead_letter(message: Incoming, code: str, error: str) -> OutgoingMessage:
    return dlq_message(
        dlq_topic=topics.INTAKE_DLQ,
        service=SERVICE,
        error_code=code,
        error=error,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        key=message.key,
        value=message.raw,
        original_headers=message.headers,
    )


def _parked_message(row: asyncpg.Record) -> Incoming:
    """A parked fact as it first arrived."""
    items = orjson.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]
    return Incoming(
        raw=bytes(row["raw"]),
        key=row["key"] and bytes(row["key"]),
        headers=tuple((k, v.encode()) for k, v in items),
        topic=row["source_topic"],
        partition=row["source_partition"],
        offset=row["source_offset"],
    )


async def expire_parked(conn: asyncpg.Connection, *, ttl: timedelta) -> int:
    """Send facts parked longer than `ttl` to the DLQ with PARK_EXPIRED (SPEC §3.5), and
    tell their senders."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
    rows = await conn.fetch("DELETE FROM parked WHERE parked_at < now() - $1::interval RETURNING *", ttl)
    messages: list[OutgoingMessage] = []
    for r in rows:
        incoming = _parked_message(r)
        since = r["parked_at"].isoformat()
        expired = Rejection(IntakeError.PARK_EXPIRED, f"parked since {since} and expired after {ttl}: {r['reason']}")
        messages.append(dead_letter(incoming, expired.code, expired.message))
        outcome = Outcome(IntakeStatus.REJECTED, r["event_id"], expired)
        messages.append(_result(incoming, expired, outcome, first_sight=False))
    # Forget the ids, so a later re-publish of the same fact is processed afresh.
    await conn.execute("DELETE FROM intake_log WHERE event_id = ANY($1::uuid[])", [r["event_id"] for r in rows])
    await outbox.enqueue(conn, messages)
    return len(rows)
