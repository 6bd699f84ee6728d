"""Every intake error code of docs/contract/events.md, over Kafka (exact DLQ headers, value unchanged)
and over HTTP (exact 4xx body), with registration still consuming afterwards."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract import topics
from tests.support import factories as f
from tests.support.auth import bearer, sender, write_jwks, write_senders
from tests.support.http import eventually
from tests.support.kafka_io import headers, publish, value_json, wait_for_records
from tests.support.stack import AUTH_AUDIENCE, AUTH_ISSUER, Stack

pytestmark = pytest.mark.e2e

_U = f.new_uscc()
_BAD_USCC = _U[:-1] + ("0" if _U[-1] != "0" else "1")
_UNKNOWN = f.envelope("EnterpriseMerged", {"uscc": _U})
_BAD_DATA = f.enterprise(f.new_uscc())
_BAD_DATA["data"]["employees"] = "12"
_BAD_DIVISION = f.enterprise(f.new_uscc(), division="650402", registered_on="2015-02-10")
_FUTURE = f.enterprise(f.new_uscc(), registered_on="2099-01-01")

# (name, raw value, error code, dlq.error, HTTP status, HTTP body)
CASES: list[tuple[str, bytes, str, str, int, dict[str, Any]]] = [
    (
        "malformed-json",
        b"{not json",
        "MALFORMED_JSON",
        "not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
        422,
        {
            "error_code": "MALFORMED_JSON",
            "message": "not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
            "errors": [],
        },
    ),
    (
        "invalid-envelope",
        json.dumps({"event_type": "EnterpriseRegistered", "schema_version": 1}).encode(),
        "INVALID_ENVELOPE",
        "the envelope is invalid (event_id: Field required; occurred_at: Field required; source: Field required; "
        "data: Field required)",
        422,
        {
            "error_code": "INVALID_ENVELOPE",
            "message": "the envelope is invalid",
            "errors": [
                {"loc": "event_id", "msg": "Field required"},
                {"loc": "occurred_at", "msg": "Field required"},
                {"loc": "source", "msg": "Field required"},
                {"loc": "data", "msg": "Field required"},
            ],
        },
    ),
    (
        "unknown-event-type",
        json.dumps(_UNKNOWN).encode(),
        "UNKNOWN_EVENT_TYPE",
        "unknown event_type 'EnterpriseMerged'; expected one of BoardTransferred, EmploymentReported, "
        "EnterpriseAdmitted, EnterpriseGraduated, EnterpriseRegistered, HighTechCertified, IncubatorRegistered, "
        "ListedOnBoard, ServicePlatformRegistered (event_type: unknown event type)",
        422,
        {
            "error_code": "UNKNOWN_EVENT_TYPE",
            "message": "unknown event_type 'EnterpriseMerged'; expected one of BoardTransferred, EmploymentReported, "
            "EnterpriseAdmitted, EnterpriseGraduated, EnterpriseRegistered, HighTechCertified, "
            "IncubatorRegistered, ListedOnBoard, ServicePlatformRegistered",
            "errors": [{"loc": "event_type", "msg": "unknown event type"}],
        },
    ),
    (
        "invalid-data",
        json.dumps(_BAD_DATA).encode(),
        "INVALID_DATA",
        "EnterpriseRegistered data is invalid (data.employees: Input should be a valid integer)",
        422,
        {
            "error_code": "INVALID_DATA",
            "message": "EnterpriseRegistered data is invalid",
            "errors": [{"loc": "data.employees", "msg": "Input should be a valid integer"}],
        },
    ),
    (
        "invalid-uscc",
        json.dumps(f.enterprise(_BAD_USCC)).encode(),
        "INVALID_USCC",
        f"uscc '{_BAD_USCC}' is not a valid unified social credit code (GB 32100-2015) "
        "(data.uscc: invalid USCC check character or alphabet)",
        422,
        {
            "error_code": "INVALID_USCC",
            "message": f"uscc '{_BAD_USCC}' is not a valid unified social credit code (GB 32100-2015)",
            "errors": [{"loc": "data.uscc", "msg": "invalid USCC check character or alphabet"}],
        },
    ),
    (
        "invalid-division",
        json.dumps(_BAD_DIVISION).encode(),
        "INVALID_DIVISION",
        "division_code 650402 is not a Xinjiang GB/T 2260 code in force on 2015-02-10 "
        "(data.division_code: not in force in Xinjiang on 2015-02-10)",
        422,
        {
            "error_code": "INVALID_DIVISION",
            "message": "division_code 650402 is not a Xinjiang GB/T 2260 code in force on 2015-02-10",
            "errors": [{"loc": "data.division_code", "msg": "not in force in Xinjiang on 2015-02-10"}],
        },
    ),
]


async def _dlq_entry(stack: Stack, partition: int, offset: int) -> Any:
    found = await wait_for_records(
        stack.bootstrap,
        topics.INTAKE_DLQ,
        lambda r: (
            headers(r).get("dlq.source_offset") == str(offset)
            and headers(r).get("dlq.source_partition") == str(partition)
            and headers(r).get("dlq.source_topic") == topics.INTAKE
        ),
        count=1,
        timeout=30,
    )
    assert len(found) == 1
    return found[0]


async def _send(stack: Stack, value: bytes, key: bytes = b"k") -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, max_request_size=8 << 20)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topics.INTAKE, value, key=key)
    finally:
        await producer.stop()
    return meta.partition, meta.offset


async def assert_still_consuming(stack: Stack) -> None:
    uscc = f.new_uscc()
    await publish(stack.bootstrap, [f.enterprise(uscc)])
    out = await wait_for_records(stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=1)
    assert len(out) == 1


def assert_dlq_headers(record: Any, *, code: str, error: str, partition: int, offset: int) -> None:
    h = headers(record)
    failed_at = datetime.fromisoformat(h.pop("dlq.failed_at"))
    assert timedelta(0) <= datetime.now(UTC) - failed_at < timedelta(minutes=2)
    assert h == {
        "dlq.error_code": code,
        "dlq.error": error,
        "dlq.service": "registration",
        "dlq.source_topic": topics.INTAKE,
        "dlq.source_partition": str(partition),
        "dlq.source_offset": str(offset),
    }


@pytest.mark.parametrize(("name", "raw", "code", "error", "status", "body"), CASES, ids=[c[0] for c in CASES])
async def test_error_code_over_kafka_and_http(
    stack: Stack,
    name: str,
    raw: bytes,
    code: str,
    error: str,
    status: int,
    body: dict[str, Any],
    client: httpx.AsyncClient,
) -> None:
    partition, offset = await _send(stack, raw)
    record = await _dlq_entry(stack, partition, offset)
    assert record.value == raw  # unchanged
    assert record.key == b"k"
    assert_dlq_headers(record, code=code, error=error, partition=partition, offset=offset)

    r = await client.post(
        f"{stack.url('registration')}/v1/events", content=raw, headers={"content-type": "application/json", **sender()}
    )
    assert (r.status_code, r.json()) == (status, body)
    await assert_still_consuming(stack)


async def test_inconsistent_dates_future_and_graduation_before_admission(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    partition, offset = await _send(stack, json.dumps(_FUTURE).encode())
    record = await _dlq_entry(stack, partition, offset)
    code = headers(record)["dlq.error_code"]
    assert code == "INCONSISTENT_DATES"
    assert headers(record)["dlq.error"].startswith("registered_on 2099-01-01 is after today (")

    uscc, inc, op = f.new_uscc(), f.new_id(), f.new_uscc()
    await publish(
        stack.bootstrap, [f.incubator(inc, operator_uscc=op), f.enterprise(uscc), f.admitted(uscc, inc, "2015-06-01")]
    )
    await wait_for_records(stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=2)
    early = f.graduated(uscc, inc, "2015-05-31")
    partition, offset = await _send(stack, json.dumps(early).encode(), key=uscc.encode())
    record = await _dlq_entry(stack, partition, offset)
    assert_dlq_headers(
        record,
        code="INCONSISTENT_DATES",
        error="graduated_on 2015-05-31 is before admitted_on 2015-06-01 "
        "(data.graduated_on: must not be before admitted_on)",
        partition=partition,
        offset=offset,
    )
    r = await client.post(
        f"{stack.url('registration')}/v1/events", json=f.graduated(uscc, inc, "2015-05-30"), headers=sender()
    )
    assert (r.status_code, r.json()) == (
        422,
        {
            "error_code": "INCONSISTENT_DATES",
            "message": "graduated_on 2015-05-30 is before admitted_on 2015-06-01",
            "errors": [{"loc": "data.graduated_on", "msg": "must not be before admitted_on"}],
        },
    )
    await assert_still_consuming(stack)


async def test_conflicting_duplicate_and_already_registered(stack: Stack, client: httpx.AsyncClient) -> None:
    uscc = f.new_uscc()
    first = f.enterprise(uscc, employees=5)
    await publish(stack.bootstrap, [first])
    await wait_for_records(stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=1)

    changed = {**first, "data": {**first["data"], "employees": 6}}
    partition, offset = await _send(stack, json.dumps(changed).encode(), key=uscc.encode())
    record = await _dlq_entry(stack, partition, offset)
    assert_dlq_headers(
        record,
        code="CONFLICTING_DUPLICATE",
        error=f"event_id {first['event_id']} was already received with different content",
        partition=partition,
        offset=offset,
    )

    second = f.enterprise(uscc)  # same USCC, new event id
    partition, offset = await _send(stack, json.dumps(second).encode(), key=uscc.encode())
    record = await _dlq_entry(stack, partition, offset)
    assert_dlq_headers(
        record,
        code="ALREADY_REGISTERED",
        error=f"enterprise {uscc} is already registered",
        partition=partition,
        offset=offset,
    )

    url = f"{stack.url('registration')}/v1/events"
    dup = await client.post(url, json=first, headers=sender())
    conflict = await client.post(url, json=changed, headers=sender())
    again = await client.post(url, json=f.enterprise(uscc), headers=sender())
    assert (dup.status_code, dup.json()) == (200, {"event_id": first["event_id"], "status": "duplicate"})
    assert (conflict.status_code, conflict.json()) == (
        409,
        {
            "error_code": "CONFLICTING_DUPLICATE",
            "message": f"event_id {first['event_id']} was already received with different content",
            "errors": [],
        },
    )
    assert (again.status_code, again.json()) == (
        422,
        {"error_code": "ALREADY_REGISTERED", "message": f"enterprise {uscc} is already registered", "errors": []},
    )
    await assert_still_consuming(stack)


async def test_too_large_over_kafka_and_http(stack: Stack, client: httpx.AsyncClient) -> None:
    raw = json.dumps(f.enterprise(f.new_uscc(), name="大" * 100)).encode() + b" " * (5 << 20)  # 5 MB
    partition, offset = await _send(stack, raw)
    record = await _dlq_entry(stack, partition, offset)
    assert record.value == raw
    assert_dlq_headers(
        record,
        code="TOO_LARGE",
        error=f"message of {len(raw)} bytes exceeds the limit of 1048576",
        partition=partition,
        offset=offset,
    )
    r = await client.post(f"{stack.url('registration')}/v1/events", content=raw, headers=sender())
    assert (r.status_code, r.json()) == (
        413,
        {"error_code": "TOO_LARGE", "message": "body exceeds 1048576 bytes", "errors": []},
    )
    await assert_still_consuming(stack)


async def test_park_expired_after_ttl(stack: Stack, client: httpx.AsyncClient) -> None:
    orphan = f.certified(f.new_uscc(), "2015-09-01")  # its enterprise never arrives
    raw = json.dumps(orphan).encode()
    partition, offset = await _send(stack, raw, key=orphan["data"]["uscc"].encode())

    async def parked_ids() -> set[str]:
        parked = (await client.get(f"{stack.url('registration')}/v1/parked", params={"limit": 1000})).json()
        return {p["event_id"] for p in parked["parked"]}

    assert orphan["event_id"] in await eventually(parked_ids, lambda ids: orphan["event_id"] in ids, timeout=10)
    record = await _dlq_entry(stack, partition, offset)  # TTL 12 s in the test stack
    h = headers(record)
    assert h["dlq.error_code"] == "PARK_EXPIRED"
    assert h["dlq.error"].endswith(f"enterprise {orphan['data']['uscc']} is not registered yet")
    assert record.value == raw
    parked = (await client.get(f"{stack.url('registration')}/v1/parked", params={"limit": 1000})).json()
    assert orphan["event_id"] not in {p["event_id"] for p in parked["parked"]}
    # The sender learns it too, on the results topic: parked, then rejected when it expired.
    results = await wait_for_records(
        stack.bootstrap, topics.INTAKE_RESULTS, lambda r: r.key == f"tests/{orphan['event_id']}".encode(), count=2
    )
    said = [value_json(r)["data"] for r in results]
    assert [(d["status"], d["error_code"], d["source_offset"]) for d in said] == [
        ("parked", None, offset),
        ("rejected", "PARK_EXPIRED", offset),
    ]
    assert said[1]["message"] == h["dlq.error"]


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
