"""An upstream sender reads what became of each of its intake events from
registration.intake.results.v1 — accepted, duplicate, parked then released, rejected
with its code of docs/contract/events.md — over Kafka and over HTTP."""

import json
from collections import defaultdict
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract import topics
from tests.support import factories as f
from tests.support.auth import RESULTS_SENDER, sender
from tests.support.kafka_io import Record, headers, value_json, wait_for_records
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _from(source: str, envelope: dict[str, Any]) -> dict[str, Any]:
    return {**envelope, "source": source}


async def _send(stack: Stack, values: list[tuple[bytes, bytes]]) -> list[tuple[int, int]]:
    """Send in order, one at a time; where each landed."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        return [
            (m.partition, m.offset) for m in [await producer.send_and_wait(topics.INTAKE, v, key=k) for k, v in values]
        ]
    finally:
        await producer.stop()


def _by_key(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    """Each result once (first copy of an id wins), grouped by key, in partition order."""
    seen: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        env = value_json(r)
        if env["event_id"] in seen:
            continue
        seen.add(env["event_id"])
        assert env["event_type"] == "IntakeResult"
        out[(r.key or b"").decode()].append(env["data"])
    return dict(out)


async def test_a_sender_reads_the_result_of_each_of_its_events(stack: Stack, client: httpx.AsyncClient) -> None:
    source = RESULTS_SENDER
    first, late = f.new_uscc(), f.new_uscc()
    bad = f.new_uscc()
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    registered = _from(source, f.enterprise(first))
    orphan_cert = _from(source, f.certified(late, "2015-09-01"))
    late_registration = _from(source, f.enterprise(late))
    invalid = _from(source, f.enterprise(bad))
    by_http = _from(source, f.enterprise(f.new_uscc()))
    raw_key = f"{source}-unreadable".encode()

    def enc(e: dict[str, Any]) -> bytes:
        return json.dumps(e, ensure_ascii=False).encode()

    where = await _send(
        stack,
        [
            (first.encode(), enc(registered)),
            (first.encode(), enc(registered)),  # the sender retried: same id, same content
            (late.encode(), enc(orphan_cert)),  # its enterprise is not registered yet
            (bad.encode(), enc(invalid)),
            (raw_key, b"{not json"),
        ],
    )
    assert (
        await client.post(f"{stack.url('registration')}/v1/events", json=by_http, headers=sender(source))
    ).status_code == 202
    parked = await wait_for_records(
        stack.bootstrap,
        topics.INTAKE_RESULTS,
        lambda r: r.key == f"{source}/{orphan_cert['event_id']}".encode(),
        count=1,
    )
    assert [value_json(r)["data"]["status"] for r in parked] == ["parked"]
    where += await _send(stack, [(late.encode(), enc(late_registration))])

    def mine(r: Record) -> bool:
        return headers(r).get("intake_source") == source or r.key == raw_key

    results = _by_key(await wait_for_records(stack.bootstrap, topics.INTAKE_RESULTS, mine, count=8, settle=1.5))

    def key(e: dict[str, Any]) -> str:
        return f"{source}/{e['event_id']}"

    def kafka(i: int) -> dict[str, Any]:
        return {
            "received_via": "kafka",
            "source_topic": topics.INTAKE,
            "source_partition": where[i][0],
            "source_offset": where[i][1],
        }

    def ok(e: dict[str, Any], status: str, **more: Any) -> dict[str, Any]:
        return {
            "intake_event_id": e["event_id"],
            "intake_source": source,
            "intake_event_type": e["event_type"],
            "status": status,
            "error_code": None,
            "message": None,
            "errors": [],
            "trace_id": None,  # tracing is off on the test stack and these came without a trace
            **more,
        }

    assert results == {
        key(registered): [ok(registered, "accepted", **kafka(0)), ok(registered, "duplicate", **kafka(1))],
        key(orphan_cert): [
            ok(orphan_cert, "parked", **{**kafka(2), "message": f"enterprise {late} is not registered yet"}),
            ok(orphan_cert, "released", **kafka(2)),
        ],
        key(late_registration): [ok(late_registration, "accepted", **kafka(5))],
        key(invalid): [
            ok(
                invalid,
                "rejected",
                **kafka(3),
                error_code="INVALID_USCC",
                message=f"uscc '{bad}' is not a valid unified social credit code (GB 32100-2015)",
                errors=[{"loc": "data.uscc", "msg": "invalid USCC check character or alphabet"}],
            )
        ],
        raw_key.decode(): [
            {
                "intake_event_id": None,
                "intake_source": None,
                "intake_event_type": None,
                "status": "rejected",
                "error_code": "MALFORMED_JSON",
                "message": "not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
                "errors": [],
                "trace_id": None,
                **kafka(4),
            }
        ],
        key(by_http): [
            ok(
                by_http,
                "accepted",
                received_via="http",
                source_topic="http:/v1/events",
                source_partition=-1,
                source_offset=-1,
            )
        ],
    }
