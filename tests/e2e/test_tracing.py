"""One trace per fact, in a real Zipkin started by the stack (TRACING=1): a fact sent over
HTTP with a `traceparent` is one causal path through registration, its outbox, awards,
awards' outbox and reporting; a Kafka sender's trace is joined, or one is begun; a
rejected fact's dead letter and intake result carry its trace; a payout's trace is found
by its basis event's id; no span holds a name, an amount or a bank reference."""

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared.contract import topics
from stack.handle import ROOT, StackHandle
from tests.support import factories as f
from tests.support.auth import READER, sender, sign_in_env
from tests.support.browser import ARTIFACTS, page_in_chromium
from tests.support.disbursement import HEADER, approve, call, confirm, released_batch
from tests.support.http import eventually, http_client
from tests.support.kafka_io import Record, headers, value_json, wait_for_records
from tests.support.stack import on

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
DIR = ROOT / ".local" / "test-traced"
ZIPKIN_PORT = 26411
ZIPKIN = f"http://127.0.0.1:{ZIPKIN_PORT}"
DIVISION = "650102"


@pytest.fixture(scope="module")
def traced() -> Iterator[StackHandle]:
    h = StackHandle(
        DIR,
        kafka_port=26092,
        service_port=26800,
        env={
            "TRACING": "1",
            "LOCAL_ZIPKIN_PORT": str(ZIPKIN_PORT),
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # spans reach Zipkin within a fifth of a second
            **sign_in_env("traced"),
        },
    )
    if DIR.exists():
        h.cli("down")
        shutil.rmtree(DIR)
    h.cli("up")
    try:
        yield h
    finally:
        h.cli("down")


def new_traceparent() -> tuple[str, str, str]:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


async def zipkin_trace(trace_id: str, done: Any, timeout: float = 60) -> list[dict[str, Any]]:
    async def spans() -> list[dict[str, Any]]:
        async with http_client(timeout=10) as c:
            r = await c.get(f"{ZIPKIN}/api/v2/trace/{trace_id}")
        return r.json() if r.status_code == 200 else []

    found: list[dict[str, Any]] = await eventually(spans, done, timeout=timeout)
    return found


def named(spans: list[dict[str, Any]], service: str, name: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["localEndpoint"]["serviceName"] == service and s["name"] == name]


def path_to_root(spans: list[dict[str, Any]], leaf: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {s["id"]: s for s in spans}
    path = [leaf]
    while (parent := path[-1].get("parentId")) in by_id:
        path.append(by_id[parent])
    return path[::-1]


def rooted(spans: list[dict[str, Any]], leaves: list[dict[str, Any]], root: str = "post /v1/events") -> bool:
    """Whether each leaf's path up reaches a span named `root`: each service exports on its
    own schedule, so a child can reach Zipkin before its parent does."""
    return bool(leaves) and all(path_to_root(spans, leaf)[0]["name"] == root for leaf in leaves)


async def send_kafka(h: StackHandle, envelope: dict[str, Any], trace: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=on(h).bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        value = json.dumps(envelope, ensure_ascii=False).encode()
        await producer.send_and_wait(topics.INTAKE, value, key=f.key_of(envelope).encode(), headers=trace)
    finally:
        await producer.stop()


async def result_of(h: StackHandle, envelope: dict[str, Any]) -> tuple[Record, dict[str, Any]]:
    key = f"tests/{envelope['event_id']}".encode()
    (record,) = await wait_for_records(on(h).bootstrap, topics.INTAKE_RESULTS, lambda r: r.key == key, count=1)
    return record, value_json(record)["data"]


async def incubated(h: StackHandle) -> tuple[str, str, str]:
    """An enterprise admitted to a region-level incubator (over Kafka, no trace)."""
    uscc, operator, inc = f.new_uscc(DIVISION), f.new_uscc(DIVISION), f.new_id("INC-TRACE")
    admission = f.admitted(uscc, inc, "2015-06-01")
    for e in (f.incubator(inc, operator_uscc=operator), f.enterprise(uscc), admission):
        await send_kafka(h, e, [])
    # Registered: an admission read before its incubator (another key, another partition) waits.
    key = f"tests/{admission['event_id']}".encode()
    await wait_for_records(
        on(h).bootstrap,
        topics.INTAKE_RESULTS,
        lambda r: r.key == key and value_json(r)["data"]["status"] in ("accepted", "released"),
        count=1,
    )
    return uscc, operator, inc


CAUSAL_PATH = [
    ("registration", "post /v1/events"),  # Zipkin keeps span names in lower case
    ("registration", "registration publish"),
    ("awards", f"awards process {topics.ENTERPRISE_EVENTS}"),
    ("awards", "awards decide"),
    ("awards", "awards publish"),
    ("reporting", f"reporting process {topics.AWARD_EVENTS}"),
]


async def test_a_fact_sent_over_http_is_one_causal_path_through_the_three_services(traced: StackHandle) -> None:
    uscc, _operator, _inc = await incubated(traced)
    traceparent, trace_id, callers_span = new_traceparent()
    certification = f.certified(uscc, "2015-09-01")
    async with http_client(timeout=30) as c:
        r = await c.post(
            f"{traced.url('registration')}/v1/events",
            json=certification,
            headers={**sender(), "traceparent": traceparent},
        )
    assert r.status_code == 202, r.text
    assert r.headers["traceresponse"].split("-")[1] == trace_id

    def complete(spans: list[dict[str, Any]]) -> bool:
        leaves = named(spans, "reporting", f"reporting process {topics.AWARD_EVENTS}")
        return len(leaves) == 2 and rooted(spans, leaves)  # both payouts

    spans = await zipkin_trace(trace_id, complete)
    assert {s["localEndpoint"]["serviceName"] for s in spans} == {"registration", "awards", "reporting"}
    for leaf in named(spans, "reporting", f"reporting process {topics.AWARD_EVENTS}"):
        path = path_to_root(spans, leaf)
        assert [(s["localEndpoint"]["serviceName"], s["name"]) for s in path] == CAUSAL_PATH
        assert path[0]["parentId"] == callers_span  # the sender's span is the root's parent
        starts = [s["timestamp"] for s in path]
        assert starts == sorted(starts)  # each hop begins after the one that caused it
    (decision,) = named(spans, "awards", "awards decide")
    assert sorted(json.loads(decision["tags"]["xj.issued"])) == [
        "HIGH_TECH_CERTIFICATION/enterprise",
        "HIGH_TECH_CERTIFICATION/operator",
    ]
    # The database statements of the request and of the decision are in the trace, by name.
    assert {s["name"] for s in spans if s.get("kind") == "CLIENT"} >= {"insert", "select"}
    # reporting's projection is where the trace ends: progress.v1 comes from a periodic job.
    assert not [s for s in spans if topics.PROGRESS in s["name"]]

    # The sender's intake result names the trace; the payouts are found by their basis fact.
    _, result = await result_of(traced, certification)
    assert (result["status"], result["trace_id"]) == ("accepted", trace_id)
    async with http_client(timeout=10, headers=READER) as c:
        payouts = (await c.get(f"{traced.url('awards')}/v1/enterprises/{uscc}/awards")).json()["payouts"]
    assert {p["basis_event_id"] for p in payouts} == {certification["event_id"]}
    found = await traces_of_event(certification["event_id"])
    assert trace_id in found
    await zipkin_page_shows(trace_id, len(spans))
    # The workspace links a payout's basis fact there, the dashboard the trace UI.
    async with http_client(timeout=10) as c:
        assert (await c.get(f"{traced.url('awards')}/static/trace-ui.json")).json() == {"url": f"{ZIPKIN}/zipkin"}
        dashboard = (await c.get(f"{traced.url('reporting')}/")).text
    assert f'<a href="{ZIPKIN}/zipkin/">追踪 Traces (Zipkin)</a>' in dashboard


async def zipkin_page_shows(trace_id: str, spans: int) -> None:
    """Zipkin's own page of the trace, as an operator sees it (docs/operations.md)."""
    async with page_in_chromium() as page:
        await page.set_viewport_size({"width": 1400, "height": 1300})
        await page.goto(f"{ZIPKIN}/zipkin/traces/{trace_id}")
        await page.wait_for_selector("text=Total Spans", timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "zipkin-trace.png"))
        shown = await page.inner_text("body")
        assert "registration: post /v1/events" in shown, shown[:2000]  # the root, at the top
        assert re.search(r"Services\s+3\b", shown), shown[:2000]
        assert re.search(rf"Total Spans\s+{spans}\b", shown), shown[:2000]


async def traces_of_event(event_id: str) -> set[str]:
    """Zipkin's search by the tag every consumed record's span has: its event id."""

    async def search() -> list[list[dict[str, Any]]]:
        async with http_client(timeout=10) as c:
            r = await c.get(
                f"{ZIPKIN}/api/v2/traces",
                params={"annotationQuery": f"xj.event_id={event_id}", "lookback": 3_600_000, "limit": 10},
            )
        return r.json() if r.status_code == 200 else []

    traces = await eventually(search, bool, timeout=30)
    return {t[0]["traceId"] for t in traces}


async def test_a_kafka_senders_trace_is_joined_and_one_without_begins_a_new_one(traced: StackHandle) -> None:
    traceparent, trace_id, callers_span = new_traceparent()
    joined = f.enterprise(f.new_uscc(DIVISION))
    await send_kafka(traced, joined, [("traceparent", traceparent.encode())])
    record, result = await result_of(traced, joined)
    assert (result["status"], result["trace_id"]) == ("accepted", trace_id)
    assert headers(record)["traceparent"].split("-")[1] == trace_id

    consumed = f"registration process {topics.INTAKE}"
    spans = await zipkin_trace(trace_id, lambda s: bool(named(s, "registration", consumed)))
    (first,) = named(spans, "registration", consumed)
    assert first["parentId"] == callers_span and first["kind"] == "CONSUMER"

    fresh = f.enterprise(f.new_uscc(DIVISION))
    await send_kafka(traced, fresh, [])
    _, result = await result_of(traced, fresh)
    begun = result["trace_id"]
    assert result["status"] == "accepted" and begun is not None and begun != trace_id
    spans = await zipkin_trace(begun, lambda s: bool(named(s, "registration", consumed)))
    (root,) = named(spans, "registration", consumed)
    assert "parentId" not in root


async def test_a_rejected_facts_dead_letter_and_result_carry_its_trace(traced: StackHandle) -> None:
    traceparent, trace_id, _ = new_traceparent()
    uscc = f.new_uscc(DIVISION)
    invalid = f.enterprise(uscc[:-1] + ("0" if uscc[-1] != "0" else "1"))  # a wrong check character
    await send_kafka(traced, invalid, [("traceparent", traceparent.encode())])
    (dead,) = await wait_for_records(
        on(traced).bootstrap, topics.INTAKE_DLQ, lambda r: value_json(r)["event_id"] == invalid["event_id"], count=1
    )
    assert headers(dead)["dlq.error_code"] == "INVALID_USCC"
    assert headers(dead)["traceparent"].split("-")[1] == trace_id
    _, result = await result_of(traced, invalid)
    assert (result["status"], result["error_code"], result["trace_id"]) == ("rejected", "INVALID_USCC", trace_id)

    # Over HTTP the error is answered, not dead-lettered: the trace is in the response.
    traceparent, trace_id, _ = new_traceparent()
    async with http_client(timeout=30) as c:
        r = await c.post(
            f"{traced.url('registration')}/v1/events", json=invalid, headers={**sender(), "traceparent": traceparent}
        )
    assert (r.status_code, r.json()["error_code"]) == (422, "INVALID_USCC")
    assert r.headers["traceresponse"].split("-")[1] == trace_id


async def test_no_span_holds_a_name_an_amount_or_a_bank_reference(traced: StackHandle) -> None:
    """A whole disbursement: facts, payouts, approval by two people, a payment file, the
    bank's confirmations; then every span of every trace Zipkin holds is read."""
    stack = on(traced)
    uscc, operator, inc = f.new_uscc(DIVISION), f.new_uscc(DIVISION), f.new_id("INC-PII")
    enterprise_name, operator_name = "天山保密企业", "保密运营公司"
    home = f.incubator(inc, operator_uscc=operator)
    home["data"]["operator_name"] = operator_name
    for e in (home, f.enterprise(uscc, name=enterprise_name), f.admitted(uscc, inc, "2015-06-01")):
        await send_kafka(traced, e, [])
    await send_kafka(traced, f.certified(uscc, "2015-09-01"), [("traceparent", new_traceparent()[0].encode())])

    async def issued() -> list[dict[str, Any]]:
        r = await call(stack, "GET", f"/v1/enterprises/{uscc}/awards", READER)
        return r.json()["payouts"] if r.status_code == 200 else []

    payouts = await eventually(issued, lambda p: len(p) == 2)
    ids = [p["payout_id"] for p in payouts]
    assert await approve(stack, ids) == ["approved", "approved"]
    await released_batch(stack, ids)
    bank_refs = [f"BANKREF{uuid.uuid4().hex[:10].upper()}" for _ in ids]
    lines = "".join(f"{pid},paid,100000,2015-10-08,{ref}\n" for pid, ref in zip(ids, bank_refs, strict=True))
    answer = await confirm(stack, HEADER + lines)
    assert [line["outcome"] for line in answer["lines"]] == ["paid", "paid"]
    await asyncio.sleep(1)  # the last spans leave each service within a fifth of a second

    spans = await all_spans()
    assert len(spans) > 50
    forbidden = [enterprise_name, operator_name, "保密", *bank_refs, "100000"]
    for s in spans:
        for key, value in (s.get("tags") or {}).items():
            assert not any(word in value for word in forbidden), (s["name"], key, value)


async def all_spans() -> list[dict[str, Any]]:
    out = []
    async with http_client(timeout=30) as c:
        for service in ("registration", "awards", "reporting"):
            r = await c.get(
                f"{ZIPKIN}/api/v2/traces", params={"serviceName": service, "lookback": 3_600_000, "limit": 10_000}
            )
            out += [s for t in r.json() for s in t]
    return out


async def test_a_parked_fact_keeps_its_trace_until_it_is_released(traced: StackHandle) -> None:
    uscc = f.new_uscc(DIVISION)
    traceparent, trace_id, _ = new_traceparent()
    early = f.certified(uscc, "2015-09-01")  # its enterprise is not registered yet
    async with http_client(timeout=30) as c:
        r = await c.post(
            f"{traced.url('registration')}/v1/events", json=early, headers={**sender(), "traceparent": traceparent}
        )
    assert (r.status_code, r.headers["traceresponse"].split("-")[1]) == (202, trace_id)
    key = f"tests/{early['event_id']}".encode()
    (parked,) = await wait_for_records(on(traced).bootstrap, topics.INTAKE_RESULTS, lambda r: r.key == key, count=1)
    assert (value_json(parked)["data"]["status"], value_json(parked)["data"]["trace_id"]) == ("parked", trace_id)

    await send_kafka(traced, f.enterprise(uscc), [])  # releases it
    results = await wait_for_records(on(traced).bootstrap, topics.INTAKE_RESULTS, lambda r: r.key == key, count=2)
    assert [(value_json(r)["data"]["status"], value_json(r)["data"]["trace_id"]) for r in results] == [
        ("parked", trace_id),
        ("released", trace_id),
    ]
    consumed = f"awards process {topics.ENTERPRISE_EVENTS}"
    spans = await zipkin_trace(trace_id, lambda s: rooted(s, named(s, "awards", consumed)))
    (released,) = named(spans, "awards", consumed)
    assert [(s["localEndpoint"]["serviceName"], s["name"]) for s in path_to_root(spans, released)] == [
        ("registration", "post /v1/events"),
        ("registration", "registration publish"),
        ("awards", consumed),
    ]
