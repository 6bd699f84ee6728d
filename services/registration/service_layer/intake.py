"""One path for every intake message, from Kafka or HTTP: validate, dedup, apply, park or
reject, release what waited for it — all in the caller's transaction, with the
canonical events, results and DLQ entries written to the outbox in that same transaction.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
from prometheus_client import Counter as PromCounter

from services.registration.adapters import parking
from services.registration.adapters.registry import BatchRegistry
from services.registration.domain.authority import Authority, authorise
from services.registration.domain.intake import Incoming, Outcome, describe
from services.registration.domain.references import Apply, Park, decide, satisfied_keys
from services.registration.domain.validation import Rejection, ValidFact, validate
from services.registration.service_layer.messages import canonical_message, dead_letter, result_message
from shared.contract.codec import OutgoingMessage
from shared.contract.enums import IntakeError, IntakeStatus
from shared.messaging import outbox
from shared.process import locks
from shared.process.clock import business_date
from shared.process.db import unit_of_work

OUTCOMES = PromCounter("intake_outcomes_total", "Intake messages by outcome", ["outcome", "error_code"])


@dataclass(frozen=True, slots=True)
class _Waiting:
    fact: ValidFact
    message: Incoming
    reason: str


class IntakeBatch:
    """Processes one batch inside an open transaction; call `run` once."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        *,
        max_bytes: int,
        dead_letter: bool,
        registry: Mapping[str, Authority] | None = None,
    ) -> None:
        self._conn = conn
        self._registry = registry or {}
        self._max_bytes = max_bytes
        self._dead_letter = dead_letter  # HTTP callers get the error instead of a DLQ entry
        self._out: list[OutgoingMessage] = []
        self._parked: dict[str, list[_Waiting]] = defaultdict(list)
        self._satisfied: list[str] = []

    async def run(self, messages: list[Incoming]) -> list[Outcome]:
        await locks.hold(self._conn, locks.REGISTRATION_WRITES)
        today = business_date()
        checked = [validate(m.raw, max_bytes=self._max_bytes, today=today) for m in messages]
        facts = [c for c in checked if isinstance(c, ValidFact)]
        self._reg = await BatchRegistry.load(
            self._conn, event_ids=[f.envelope.event_id for f in facts], facts=[f.data for f in facts]
        )
        outcomes = []
        for m, c in zip(messages, checked, strict=True):
            outcome = self._first_sight(m, c)
            self._out.append(result_message(m, c, outcome, first_sight=True))
            outcomes.append(outcome)
        await self._release()
        await self._reg.flush(self._conn)
        await parking.park(
            self._conn,
            [
                parking.ToPark(w.fact.envelope.event_id, w.fact.event_type, key, w.reason, w.message)
                for key, waiting in self._parked.items()
                for w in waiting
            ],
        )
        await outbox.enqueue(self._conn, self._out)
        tally = Counter((o.status.value, o.rejection.code.value if o.rejection else "") for o in outcomes)
        for labels, n in tally.items():
            OUTCOMES.labels(*labels).inc(n)
        return outcomes

    def _first_sight(self, message: Incoming, checked: ValidFact | Rejection) -> Outcome:
        if message.untrusted is not None:
            event_id = checked.envelope.event_id if isinstance(checked, ValidFact) else None
            return self._reject(message, Rejection(IntakeError.NOT_AUTHORIZED, message.untrusted), event_id)
        if isinstance(checked, Rejection):
            return self._reject(message, checked, None)
        event_id = checked.envelope.event_id
        if message.sender is not None and (refused := authorise(message.sender, self._registry, checked)):
            return self._reject(message, refused, event_id)  # before dedup: a spoof learns nothing
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
            self._parked[decision.waiting_for].append(_Waiting(fact, message, decision.reason))
            return Outcome(IntakeStatus.PARKED, event_id, reason=decision.reason)
        self._reg.apply(event_id, fact.data, admitted_on=decision.admitted_on)
        self._out.append(canonical_message(fact, decision, message.trace))
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
            for parked in await parking.take_waiting_for(self._conn, keys):
                fact = validate(parked.message.raw, max_bytes=1 << 30, today=date.max)
                assert isinstance(fact, ValidFact), "a parked fact was valid when parked"
                waiting.append(_Waiting(fact, parked.message, parked.reason))
            await self._reg.extend(self._conn, event_ids=[], facts=[w.fact.data for w in waiting])
            for w in waiting:
                outcome = self._settle(w.message, w.fact, decide(w.fact, self._reg))
                if outcome.status is IntakeStatus.ACCEPTED:
                    outcome = Outcome(IntakeStatus.RELEASED, outcome.event_id)
                self._out.append(result_message(w.message, w.fact, outcome, first_sight=False))


async def submit(
    pool: asyncpg.Pool,
    raw: bytes,
    *,
    max_bytes: int,
    sender: str,
    registry: Mapping[str, Authority],
    trace: tuple[tuple[str, bytes], ...] = (),
) -> Outcome:
    """One message from an authenticated sender over HTTP, in its own transaction: its
    errors go back to the caller, not to the DLQ."""
    async with unit_of_work(pool) as conn:
        batch = IntakeBatch(conn, max_bytes=max_bytes, dead_letter=False, registry=registry)
        (outcome,) = await batch.run([Incoming(raw=raw, sender=sender, trace=trace)])
    return outcome


async def expire_parked(pool: asyncpg.Pool, *, ttl: timedelta) -> int:
    """Send facts parked longer than `ttl` to the DLQ with PARK_EXPIRED (docs/contract/events.md), and
    tell their senders; one transaction."""
    async with unit_of_work(pool) as conn:
        return await _expire(conn, ttl)


async def parked_stats(pool: asyncpg.Pool) -> tuple[int, float]:
    """(facts parked now, age in seconds of the oldest)."""
    async with pool.acquire() as conn:
        return await parking.stats(conn)


async def _expire(conn: asyncpg.Connection, ttl: timedelta) -> int:
    await locks.hold(conn, locks.REGISTRATION_WRITES)
    expired_facts = await parking.take_expired(conn, ttl)
    messages: list[OutgoingMessage] = []
    for p in expired_facts:
        since = p.parked_at.isoformat()
        expired = Rejection(IntakeError.PARK_EXPIRED, f"parked since {since} and expired after {ttl}: {p.reason}")
        messages.append(dead_letter(p.message, expired.code, expired.message))
        outcome = Outcome(IntakeStatus.REJECTED, p.event_id, expired)
        messages.append(result_message(p.message, expired, outcome, first_sight=False))
    # Forget the ids, so a later re-publish of the same fact is processed afresh.
    await parking.forget_intake_ids(conn, [p.event_id for p in expired_facts])
    await outbox.enqueue(conn, messages)
    return len(expired_facts)
