"""Every intake error of docs/contract/events.md through registration's own code in this
process, against the real PostgreSQL: a Kafka record goes through the consumer's batch
machinery (`BatchConsumer` with registration's handler), and what it decided is read from
the outbox in the same transaction (the DLQ record exactly as the relay will send it, the
sender's results); the same bytes over HTTP go through the route's use case and answer.

The running services' wiring (the relay to the broker, the DLQ topic, the HTTP route, the
sweeper's schedule) stays proven end to end in tests/e2e/test_registration_errors.py and
tests/e2e/test_redrive.py."""

import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.structs import ConsumerRecord

from services.registration.domain.authority import Authority
from services.registration.entrypoints.consumer import make_handler
from services.registration.entrypoints.http_api import answer
from services.registration.service_layer import intake
from shared.contract import topics
from shared.contract.events import INTAKE_MODELS
from shared.messaging.consumer import BatchConsumer
from shared.messaging.outbox import unpack
from shared.process import db
from tests.support import factories as f
from tests.support.auth import bearer, sender, write_jwks, write_senders
from tests.support.intake_errors import CASES
from tests.support.stack import AUTH_AUDIENCE, AUTH_ISSUER, ROOT, Infra

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "registration" / "migrations"
MAX_BYTES = topics.DEFAULT_MAX_EVENT_BYTES
SENDERS = {"tests": Authority(frozenset(INTAKE_MODELS))}
Sent = tuple[str, bytes | None, bytes, dict[str, str]]  # topic, key, value, headers


class Registration:
    """Registration's intake in this process: Kafka records through its consumer, HTTP
    bodies through its route's use case, and what each transaction put in the outbox."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.consumer = BatchConsumer(
            pool=pool,
            service="registration",
            dlq_topic=topics.INTAKE_DLQ,
            handle=make_handler(MAX_BYTES, None),
            max_attempts=2,
        )
        self._offsets = itertools.count(100)

    async def over_kafka(self, value: bytes, key: bytes = b"k", headers: list[tuple[str, bytes]] | None = None) -> int:
        """One record on partition 0 of the development intake topic; its offset."""
        offset = next(self._offsets)
        ms = int(time.time() * 1000)
        record = ConsumerRecord(topics.INTAKE, 0, offset, ms, 0, key, value, None, len(key), len(value), headers or [])
        await self.consumer.process([record])
        return offset

    async def over_http(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        outcome = await intake.submit(self.pool, raw, max_bytes=MAX_BYTES, sender="tests", registry=SENDERS)
        answered = answer(outcome)
        return answered.status_code, json.loads(answered.body)

    async def sent(self) -> list[Sent]:
        """Everything committed to the outbox so far, in order, taken out of it."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch("SELECT id, topics, keys, payloads, headers FROM outbox ORDER BY id")
            await conn.execute("DELETE FROM outbox")
        return [(t, k, v, {h: b.decode() for h, b in hs}) for r in rows for t, k, v, hs in unpack(r)]

    async def dead_letter(self, offset: int) -> Sent:
        found = [m for m in await self.sent() if m[0] == topics.INTAKE_DLQ]
        assert [m[3]["dlq.source_offset"] for m in found] == [str(offset)]
        return found[0]


@pytest.fixture
async def registration(infra: Infra, schema: str) -> AsyncIterator[Registration]:
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    pool = await db.create_pool(infra.dsn, schema=schema, max_size=3)
    yield Registration(pool)
    await pool.close()


def assert_dlq_headers(headers: dict[str, str], *, code: str, error: str, offset: int) -> None:
    h = dict(headers)
    failed_at = datetime.fromisoformat(h.pop("dlq.failed_at"))
    assert timedelta(0) <= datetime.now(UTC) - failed_at < timedelta(minutes=2)
    assert h == {
        "dlq.error_code": code,
        "dlq.error": error,
        "dlq.service": "registration",
        "dlq.source_topic": topics.INTAKE,
        "dlq.source_partition": "0",
        "dlq.source_offset": str(offset),
    }


@pytest.mark.parametrize(("name", "raw", "code", "error", "status", "body"), CASES, ids=[c[0] for c in CASES])
async def test_an_error_is_dead_lettered_unchanged_and_answered_over_http(
    registration: Registration, name: str, raw: bytes, code: str, error: str, status: int, body: dict[str, Any]
) -> None:
    offset = await registration.over_kafka(raw)
    topic, key, value, headers = await registration.dead_letter(offset)
    assert (topic, key, value) == (topics.INTAKE_DLQ, b"k", raw)  # unchanged
    assert_dlq_headers(headers, code=code, error=error, offset=offset)
    assert await registration.over_http(raw) == (status, body)
    # Answered, not dead-lettered; the results topic says it too.
    said = [(t, json.loads(v)["data"]) for t, _, v, _ in await registration.sent()]
    assert [(t, d["status"], d["error_code"], d["received_via"]) for t, d in said] == [
        (topics.INTAKE_RESULTS, "rejected", code, "http")
    ]


async def test_inconsistent_dates_future_and_graduation_before_admission(registration: Registration) -> None:
    offset = await registration.over_kafka(json.dumps(f.enterprise(f.new_uscc(), registered_on="2099-01-01")).encode())
    _, _, _, headers = await registration.dead_letter(offset)
    assert headers["dlq.error_code"] == "INCONSISTENT_DATES"
    assert headers["dlq.error"].startswith("registered_on 2099-01-01 is after today (")

    uscc, inc, op = f.new_uscc(), f.new_id(), f.new_uscc()
    for fact in (f.incubator(inc, operator_uscc=op), f.enterprise(uscc), f.admitted(uscc, inc, "2015-06-01")):
        await registration.over_kafka(json.dumps(fact).encode())
    canonical = [(t, k) for t, k, _, _ in await registration.sent() if t != topics.INTAKE_RESULTS]
    assert canonical == [
        (topics.CARRIER_EVENTS, inc.encode()),
        (topics.ENTERPRISE_EVENTS, uscc.encode()),
        (topics.ENTERPRISE_EVENTS, uscc.encode()),
    ]
    offset = await registration.over_kafka(json.dumps(f.graduated(uscc, inc, "2015-05-31")).encode(), uscc.encode())
    _, _, _, headers = await registration.dead_letter(offset)
    assert_dlq_headers(
        headers,
        code="INCONSISTENT_DATES",
        error="graduated_on 2015-05-31 is before admitted_on 2015-06-01 "
        "(data.graduated_on: must not be before admitted_on)",
        offset=offset,
    )
    assert await registration.over_http(json.dumps(f.graduated(uscc, inc, "2015-05-30")).encode()) == (
        422,
        {
            "error_code": "INCONSISTENT_DATES",
            "message": "graduated_on 2015-05-30 is before admitted_on 2015-06-01",
            "errors": [{"loc": "data.graduated_on", "msg": "must not be before admitted_on"}],
        },
    )


async def test_conflicting_duplicate_and_already_registered(registration: Registration) -> None:
    uscc = f.new_uscc()
    first = f.enterprise(uscc, employees=5)
    await registration.over_kafka(json.dumps(first).encode(), uscc.encode())
    assert [t for t, _, _, _ in await registration.sent()] == [topics.ENTERPRISE_EVENTS, topics.INTAKE_RESULTS]

    changed = {**first, "data": {**first["data"], "employees": 6}}
    offset = await registration.over_kafka(json.dumps(changed).encode(), uscc.encode())
    _, key, _, headers = await registration.dead_letter(offset)
    assert key == uscc.encode()
    error = f"event_id {first['event_id']} was already received with different content"
    assert_dlq_headers(headers, code="CONFLICTING_DUPLICATE", error=error, offset=offset)

    offset = await registration.over_kafka(json.dumps(f.enterprise(uscc)).encode(), uscc.encode())
    _, _, _, headers = await registration.dead_letter(offset)
    assert_dlq_headers(
        headers, code="ALREADY_REGISTERED", error=f"enterprise {uscc} is already registered", offset=offset
    )

    assert await registration.over_http(json.dumps(first).encode()) == (
        200,
        {"event_id": first["event_id"], "status": "duplicate"},
    )
    assert await registration.over_http(json.dumps(changed).encode()) == (
        409,
        {"error_code": "CONFLICTING_DUPLICATE", "message": error, "errors": []},
    )
    assert await registration.over_http(json.dumps(f.enterprise(uscc)).encode()) == (
        422,
        {"error_code": "ALREADY_REGISTERED", "message": f"enterprise {uscc} is already registered", "errors": []},
    )


async def test_a_fact_parked_past_its_ttl_is_dead_lettered_and_its_sender_told(registration: Registration) -> None:
    orphan = f.certified(f.new_uscc(), "2015-09-01")  # its enterprise never arrives
    raw, key = json.dumps(orphan).encode(), orphan["data"]["uscc"].encode()
    offset = await registration.over_kafka(raw, key)
    assert await intake.parked_stats(registration.pool) == (1, pytest.approx(0, abs=5))
    assert await intake.expire_parked(registration.pool, ttl=timedelta(hours=1)) == 0  # not yet

    assert await intake.expire_parked(registration.pool, ttl=timedelta(0)) == 1
    sent = await registration.sent()
    (dlq,) = [m for m in sent if m[0] == topics.INTAKE_DLQ]
    assert (dlq[1], dlq[2]) == (key, raw)
    assert dlq[3]["dlq.error_code"] == "PARK_EXPIRED"
    assert dlq[3]["dlq.error"].endswith(f"enterprise {orphan['data']['uscc']} is not registered yet")
    assert (await intake.parked_stats(registration.pool))[0] == 0
    # The sender learns it too, on the results topic: parked, then rejected when it expired.
    results = [json.loads(v)["data"] for t, k, v, _ in sent if t == topics.INTAKE_RESULTS]
    assert all(k == f"tests/{orphan['event_id']}".encode() for t, k, _, _ in sent if t == topics.INTAKE_RESULTS)
    assert [(d["status"], d["error_code"], d["source_offset"]) for d in results] == [
        ("parked", None, offset),
        ("rejected", "PARK_EXPIRED", offset),
    ]
    assert results[1]["message"] == dlq[3]["dlq.error"]


async def test_http_intake_is_closed_without_sign_in_and_a_sender_registry(tmp_path: Path) -> None:
    from services.registration.app import create_app
    from services.registration.settings import RegistrationSettings

    async def post(settings: RegistrationSettings, headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(settings))  # no lifespan: refused before any I/O
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/v1/events", json=f.enterprise(f.new_uscc()), headers=headers)

    closed = await post(RegistrationSettings(), sender())
    assert (closed.status_code, closed.json()["message"]) == (
        503,
        "sign-in is not configured: set AUTH_JWKS_FILE or AUTH_JWKS_URL",
    )
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks)
    signed = {"auth_jwks_file": jwks, "auth_issuer": AUTH_ISSUER, "auth_audience": AUTH_AUDIENCE}
    no_registry = await post(RegistrationSettings(**signed), sender())  # type: ignore[arg-type]
    assert (no_registry.status_code, no_registry.json()["message"]) == (
        503,
        "no sender registry: set SENDER_AUTHORITY_FILE",
    )
    registry = tmp_path / "senders.json"
    write_senders(registry)
    settings = RegistrationSettings(**signed, sender_authority_file=registry)  # type: ignore[arg-type]
    assert (await post(settings, {})).status_code == 401
    reader = await post(settings, bearer("rita", "reader"))
    assert (reader.status_code, reader.json()["message"]) == (
        403,
        "this needs the role sender; the token has ['reader']",
    )
    unnamed = await post(settings, bearer("svc-x", "sender"))
    assert (unnamed.status_code, unnamed.json()["error_code"]) == (403, "NOT_AUTHORIZED")


async def test_with_tracing_off_a_senders_trace_passes_on_unchanged_and_none_is_added(
    registration: Registration,
) -> None:
    """No tracer is installed here (no OTEL exporter configured): no span, no new header."""
    traceparent, tracestate = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01", "vendor=kept"
    trace = [("traceparent", traceparent.encode()), ("tracestate", tracestate.encode())]
    traced, plain = f.new_uscc(), f.new_uscc()
    await registration.over_kafka(json.dumps(f.enterprise(traced)).encode(), traced.encode(), trace)
    await registration.over_kafka(json.dumps(f.enterprise(plain)).encode(), plain.encode())
    sent = await registration.sent()
    said = {(t, k): (h, json.loads(v)["data"].get("trace_id")) for t, k, v, h in sent if t == topics.INTAKE_RESULTS}
    canonical = {k: h for t, k, _, h in sent if t == topics.ENTERPRISE_EVENTS}
    by_trace = {"traceparent": traceparent, "tracestate": tracestate}
    assert canonical == {
        traced.encode(): {"event_type": "EnterpriseRegistered", **by_trace},
        plain.encode(): {"event_type": "EnterpriseRegistered"},
    }
    assert sorted(said.values(), key=lambda x: x[1] or "~") == [
        ({"event_type": "IntakeResult", "intake_source": "tests", **by_trace}, "ab" * 16),
        ({"event_type": "IntakeResult", "intake_source": "tests"}, None),
    ]
    bad = f.new_uscc()
    offset = await registration.over_kafka(json.dumps(f.enterprise(bad[:-1] + "I")).encode(), bad.encode(), trace)
    _, _, _, headers = await registration.dead_letter(offset)
    assert (headers["traceparent"], headers["tracestate"]) == (traceparent, tracestate)


async def test_graduations_in_a_later_batch_close_their_stints_and_only_theirs(registration: Registration) -> None:
    inc = f.new_id()
    usccs = sorted(f.new_uscc() for _ in range(3))
    admissions = [f.admitted(u, inc, "2015-06-01") for u in usccs]
    for fact in (f.incubator(inc, operator_uscc=f.new_uscc()), *(f.enterprise(u) for u in usccs), *admissions):
        await registration.over_kafka(json.dumps(fact).encode())
    graduations = [f.graduated(usccs[0], inc, "2016-03-01"), f.graduated(usccs[1], inc, "2016-04-02")]
    now = int(time.time() * 1000)
    records = [
        ConsumerRecord(topics.INTAKE, 0, 900 + i, now, 0, b"k", v, None, 1, len(v), [])
        for i, v in enumerate(json.dumps(g).encode() for g in graduations)
    ]
    await registration.consumer.process(records)  # one batch: both stints closed by one statement
    async with registration.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT uscc, admission_event_id::text, graduated_on::text, graduation_event_id::text "
            "FROM stints ORDER BY uscc"
        )
    assert [tuple(r) for r in rows] == [
        (usccs[0], admissions[0]["event_id"], "2016-03-01", graduations[0]["event_id"]),
        (usccs[1], admissions[1]["event_id"], "2016-04-02", graduations[1]["event_id"]),
        (usccs[2], admissions[2]["event_id"], None, None),
    ]
