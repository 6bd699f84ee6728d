"""The platform over a SASL_SSL broker (SCRAM-SHA-512, a CA the stack made), and
what an operator sees when the password is wrong: one clear line, /readyz 503, no crash."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupAuthorizationFailedError, MessageSizeTooLargeError
from aiokafka.structs import OffsetAndMetadata
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as ConfluentPartition
from confluent_kafka.admin import OffsetSpec

from ops.kafka_admin import admin_client, librdkafka_config
from ops.kafka_quotas import DEFAULT_SENDER_BYTES_PER_SECOND, produce_quota
from shared.contract import topics
from shared.messaging.kafka import KafkaSetupError, probe
from shared.messaging.kafka_settings import KafkaSettings
from stack.handle import ROOT, StackHandle, fresh_database, http_status
from tests.support import factories as f
from tests.support.auth import READER, sender, sign_in_env
from tests.support.http import eventually, http_client, metrics, metrics_token
from tests.support.kafka_acl import kafka_principal, produce
from tests.support.kafka_io import publish, read_all, value_json, wait_for_records
from tests.support.stack import Infra

pytestmark = pytest.mark.e2e

WRONG_PASSWORD = "not-the-password-7f3a"
PROBE_PORT = 24901
DB_PASSWORD = "pg-secret-4b9d1c"
READ_TOKENS = ("read-token-alpha-93", "read-token-beta-17")


async def read(url: str, token: str | None = READ_TOKENS[1]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http_client(timeout=10) as client:
        r = await client.get(url, headers=headers)
    return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)


@pytest.fixture(scope="module")
def secure(infra: Infra) -> Iterator[StackHandle]:
    dsn = asyncio.run(fresh_database(infra.dsn, "xj_secure", password=DB_PASSWORD))
    s = StackHandle(
        ROOT / ".local" / "test-secure",
        kafka_port=24092,
        service_port=24800,
        dsn=dsn,
        # Every credential the platform takes is configured here, so the logs can be checked.
        env={
            "KAFKA_SECURITY": "sasl_ssl",
            "DEVELOPMENT_INTAKE": "true",  # the walking skeleton feeds the development topic as ops
            "API_READ_TOKENS": ",".join(READ_TOKENS),
            "PUBLIC_PROGRESS": "false",  # closed, as it is by default (the local stack opens it)
            "KAFKA_METADATA_MAX_AGE_MS": "2000",  # registration sees a new sender's topic soon
            **sign_in_env("secure"),  # its own sign-in and sender registry (tests/support/auth.py)
        },
    )
    s.cli("down")
    up = s.cli("up")
    assert "starting kafka on 127.0.0.1:24092 (SASL_SSL)" in up
    try:
        yield s
    finally:
        s.cli("down")


def test_stack_env_carries_what_a_client_needs(secure: StackHandle) -> None:
    env = secure.stack_env()
    secrets = secure.dir / "kafka" / "sasl_ssl-acl-1n" / "secrets"
    assert {k: v for k, v in env.items() if k.startswith(("KAFKA_", "TOPIC_"))} == {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:24092",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "ops",  # the operator's principal; each service has its own
        "KAFKA_SASL_PASSWORD_FILE": str(secrets / "kafka-ops.password"),
        "KAFKA_SSL_CAFILE": str(secrets / "ca.pem"),
        "KAFKA_NODES": "1",
        "KAFKA_SECURITY": "sasl_ssl",
        "TOPIC_REPLICATION_FACTOR": "1",
        "TOPIC_MIN_INSYNC_REPLICAS": "1",
    }
    assert sorted(p.name for p in secrets.glob("kafka-*.password")) == [
        f"kafka-{who}.password" for who in ("awards", "broker", "controller", "ops", "registration", "reporting")
    ]
    assert all(p.stat().st_mode & 0o077 == 0 for p in secrets.iterdir())


async def test_walking_skeleton_over_sasl_ssl(secure: StackHandle) -> None:
    kafka = secure.kafka()
    uscc = f.new_uscc()
    event = f.enterprise(uscc, registered_on="2015-06-01", employees=7)
    await publish(kafka, [event])

    canonical = await wait_for_records(
        kafka, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=1, timeout=30
    )
    assert [value_json(r)["event_id"] for r in canonical] == [event["event_id"]]

    async def awards_view() -> tuple[int, Any]:
        return await read(f"{secure.url('awards')}/v1/enterprises/{uscc}/awards")

    status, body = await eventually(awards_view, lambda v: v[0] == 200)
    assert (status, body["net_amount_cny"]) == (200, {"operator": 0, "enterprise": 0})

    async def progress() -> tuple[int, Any]:
        return await read(f"{secure.url('reporting')}/v1/progress?year=2015")

    _, doc = await eventually(progress, lambda v: v[1]["metrics"]["jobs"]["actual"] == 7)
    assert (doc["metrics"]["new_enterprises"]["actual"], doc["metrics"]["jobs"]["actual"]) == (1, 7)


async def test_a_client_without_tls_or_credentials_is_refused_with_the_setting_named(secure: StackHandle) -> None:
    kafka = secure.kafka()
    plaintext = kafka.model_copy(update={"kafka_security_protocol": "PLAINTEXT", "kafka_ssl_cafile": None})
    with pytest.raises(KafkaSetupError, match=r"KAFKA_BOOTSTRAP_SERVERS=127\.0\.0\.1:24092 \(KAFKA_SECURITY_PROTOCOL"):
        await probe(plaintext, timeout_s=3)
    untrusted = kafka.model_copy(update={"kafka_ssl_cafile": None})  # system CAs do not know the stack's CA
    with pytest.raises(KafkaSetupError, match=r"certificate of 127\.0\.0\.1:24092 is not trusted .*KAFKA_SSL_CAFILE"):
        await probe(untrusted)


def test_wrong_password_is_one_clear_line_and_readyz_503(secure: StackHandle) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env |= {k: v for k, v in secure.stack_env().items() if k != "KAFKA_SASL_PASSWORD_FILE"}
    env |= {"KAFKA_SASL_PASSWORD": WRONG_PASSWORD, "REGISTRATION_PORT": str(PROBE_PORT), "KAFKA_RETRY_INTERVAL_S": "1"}
    log_path = secure.dir / "logs" / "wrong-password.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.registration"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while http_status(f"http://127.0.0.1:{PROBE_PORT}/healthz") != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(5)  # several retries at a 1 s interval
        assert proc.poll() is None, "the service must keep running, not crash-loop"
        assert http_status(f"http://127.0.0.1:{PROBE_PORT}/readyz") == 503
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    text = log_path.read_text()
    failures = [line for line in text.splitlines() if "Kafka authentication failed" in line]
    assert len(failures) == 1, text
    assert "KAFKA_SASL_USERNAME=ops" in failures[0] and "KAFKA_SASL_PASSWORD" in failures[0]
    assert "Traceback" not in text
    real_password = (secure.dir / "kafka" / "sasl_ssl-acl-1n" / "secrets" / "kafka-ops.password").read_text().strip()
    assert WRONG_PASSWORD not in text and real_password not in text


READS = {
    "registration": ["/v1/enterprises/91650102MA7XXXXX0X", "/v1/incubators/INC-1", "/v1/parked"],
    "awards": ["/v1/enterprises/91650102MA7XXXXX0X/awards", "/v1/payouts", "/v1/summary"],
    "reporting": [
        "/v1/progress?year=2015",
        "/v1/progress/divisions?year=2015",
        "/v1/progress.csv?year=2015",
        "/v1/disbursement?year=2015",
    ],
}


async def test_reads_need_a_reader_health_stays_open_and_metrics_need_their_token(secure: StackHandle) -> None:
    for service, paths in READS.items():
        base = secure.url(service)
        for path in paths:
            async with http_client(timeout=10) as client:
                missing = await client.get(base + path)
                wrong = await client.get(base + path, headers={"Authorization": "Bearer read-token-alpha-9"})
            assert (missing.status_code, wrong.status_code) == (401, 401), path
            assert missing.headers["www-authenticate"] == "Bearer"
            assert missing.json() == {
                "error_code": "UNAUTHORIZED",
                "message": "a bearer token (JWT) is required",
                "errors": [],
            }
            # A static read token and a signed-in reader read; a signed-in sender does not.
            for token in (*READ_TOKENS, READER["Authorization"].removeprefix("Bearer ")):
                status, _ = await read(base + path, token)
                assert status in (200, 404), (path, status)
            assert (await read(base + path, sender()["Authorization"].removeprefix("Bearer ")))[0] == 403
        for path in ("/healthz", "/readyz"):
            assert (await read(base + path, None))[0] == 200
        # /metrics answers the metrics token only: not a reader, not nobody.
        assert (await read(base + "/metrics", None))[0] == 401
        assert (await read(base + "/metrics", READ_TOKENS[0]))[0] == 401
        assert (await read(base + "/metrics", metrics_token(secure.dir)))[0] == 200
        async with http_client(timeout=10) as client:
            doc = (await client.get(f"{base}/openapi.json")).json()
        scheme = doc["components"]["securitySchemes"]["HTTPBearer"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
        open_reads = {
            p for p, ops in doc["paths"].items() if p.startswith("/v1/") and not ops.get("get", {}).get("security", 1)
        }
        assert open_reads == set()


async def test_intake_needs_a_signed_in_sender(secure: StackHandle, client: httpx.AsyncClient) -> None:
    event = f.enterprise(f.new_uscc(), registered_on="2015-06-02")
    url = f"{secure.url('registration')}/v1/events"
    refused = await client.post(url, json=event, headers={"Authorization": f"Bearer {READ_TOKENS[0]}"})
    accepted = await client.post(url, json=event, headers=sender())
    assert (refused.status_code, refused.json()["error_code"]) == (401, "UNAUTHORIZED")
    assert (accepted.status_code, accepted.json()) == (202, {"event_id": event["event_id"], "status": "accepted"})


def test_no_credential_appears_in_any_log(secure: StackHandle) -> None:
    secrets = (secure.dir / "kafka" / "sasl_ssl-acl-1n" / "secrets").glob("kafka-*.password")
    kafka_passwords = [p.read_text().strip() for p in secrets]
    assert len(kafka_passwords) == 6
    logs = "".join(p.read_text(errors="replace") for p in (secure.dir / "logs").glob("*.log"))
    assert "registration started" in logs  # the logs are there to be searched
    for secret in (*kafka_passwords, DB_PASSWORD, *READ_TOKENS):
        assert secret not in logs


# --- Authorization: every principal does its own job only (shared/messaging/kafka_access.py) ---------


def fetch_error(who: KafkaSettings, topic: str, group: str) -> str:
    """The error a consumer gets reading `topic` (librdkafka reports a refused fetch; aiokafka
    only logs it and returns nothing)."""
    consumer = Consumer(
        librdkafka_config(who) | {"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is not None:
                return str(msg.error().name())
            if msg is not None:
                return "read"
        return "nothing"
    finally:
        consumer.close()


def end_offsets(ops: KafkaSettings, names: list[str]) -> dict[tuple[str, int], int]:
    admin = admin_client(ops)
    found = admin.list_topics(timeout=10).topics
    wanted = {
        ConfluentPartition(t, p): OffsetSpec.latest() for t in names for p in found[t].partitions
    }  # fmt: skip
    return {(tp.topic, tp.partition): f.result(timeout=10).offset for tp, f in admin.list_offsets(wanted).items()}


async def test_every_forbidden_act_is_refused_by_kafka_and_changes_nothing(secure: StackHandle) -> None:
    ops = secure.kafka()
    suffix = uuid.uuid4().hex[:6]
    incubator = kafka_principal(secure, f"inc-{suffix}", "sender", "EnterpriseAdmitted,EnterpriseGraduated", "INC-X")
    other = kafka_principal(secure, f"inc-{suffix}2", "sender", "EnterpriseAdmitted")  # name extends the first's
    board = kafka_principal(secure, f"board-{suffix}", "reader")
    protected = [
        topics.ENTERPRISE_EVENTS,
        topics.AWARD_EVENTS,
        topics.PROGRESS,
        topics.INTAKE,
        topics.sender_intake(f"inc-{suffix}2"),
        topics.sender_results(f"inc-{suffix}2"),
    ]
    before = end_offsets(ops, protected)
    admin = AIOKafkaAdminClient(**ops.client_options())
    await admin.start()
    try:
        awards_offsets_before = await admin.list_consumer_group_offsets("awards")
    finally:
        await admin.close()

    # A sender writes only its own intake topic (the other's name starts with its name).
    for topic in protected[:5]:
        assert await produce(incubator, topic) == "TopicAuthorizationFailedError", topic
    assert await produce(incubator, topics.sender_intake(f"inc-{suffix}")) == "written"
    # ... and reads only its own results, in its own consumer groups.
    assert (
        fetch_error(incubator, topics.sender_results(f"inc-{suffix}2"), f"inc-{suffix}.r")
        == "TOPIC_AUTHORIZATION_FAILED"
    )
    assert fetch_error(incubator, topics.sender_results(f"inc-{suffix}"), "awards") == "GROUP_AUTHORIZATION_FAILED"
    # It cannot move the awards group past a fact, nor delete the log of record.
    spy = AIOKafkaConsumer(**incubator.client_options(), group_id="awards", enable_auto_commit=False)
    await spy.start()
    try:
        tp = TopicPartition(topics.sender_intake(f"inc-{suffix}"), 0)
        spy.assign([tp])
        with pytest.raises(GroupAuthorizationFailedError):
            await spy.commit({tp: OffsetAndMetadata(10**6, "")})
    finally:
        await spy.stop()
    sender_admin = AIOKafkaAdminClient(**incubator.client_options())
    await sender_admin.start()
    try:
        deleted = await sender_admin.delete_topics([topics.AWARD_EVENTS, topics.ENTERPRISE_EVENTS])
    finally:
        await sender_admin.close()
    assert sorted(deleted.topic_error_codes) == [(topics.AWARD_EVENTS, 29), (topics.ENTERPRISE_EVENTS, 29)]
    # A reader reads progress and writes nothing, not even there.
    for topic in (topics.PROGRESS, topics.INTAKE, topics.sender_intake(f"inc-{suffix}")):
        assert await produce(board, topic) == "TopicAuthorizationFailedError", topic
    assert fetch_error(board, topics.PROGRESS, f"board-{suffix}.progress") == "read"
    assert await produce(other, topics.sender_intake(f"inc-{suffix}2")) == "written"

    # Nothing changed but the write the second sender was allowed, and registration's
    # answer to it on that sender's results topic (waited for: registration reads a new
    # sender's topic within its metadata refresh, so the answer may come at any moment).
    answers = topics.sender_results(f"inc-{suffix}2")

    def grown_topics(now: dict[tuple[str, int], int]) -> set[str]:
        return {t for (t, p), offset in now.items() if offset != before[(t, p)]}

    after = await eventually(
        lambda: asyncio.to_thread(end_offsets, ops, protected), lambda a: answers in grown_topics(a), timeout=60
    )
    assert grown_topics(after) == {topics.sender_intake(f"inc-{suffix}2"), answers}
    admin = AIOKafkaAdminClient(**ops.client_options())
    await admin.start()
    try:
        assert await admin.list_consumer_group_offsets("awards") == awards_offsets_before
        assert {topics.AWARD_EVENTS, topics.ENTERPRISE_EVENTS} <= set(await admin.list_topics())
    finally:
        await admin.close()


async def own_results(who: KafkaSettings, name: str, events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each event's result, read by its sender from its own results topic."""
    wanted = {e["event_id"] for e in events}
    found = await wait_for_records(
        who,
        topics.sender_results(name),
        lambda r: value_json(r)["data"]["intake_event_id"] in wanted,
        count=len(wanted),
        timeout=60,
    )
    return {value_json(r)["data"]["intake_event_id"]: value_json(r)["data"] for r in found}


async def test_a_sender_is_known_by_its_topic_and_held_to_its_authority(secure: StackHandle) -> None:
    name = f"inc-{uuid.uuid4().hex[:6]}"
    me = kafka_principal(secure, name, "sender", "EnterpriseAdmitted,EnterpriseGraduated", "INC-MINE")
    mine, theirs = f.new_uscc(), f.new_uscc()
    as_me = {"source": name}
    certify = {**f.certified(mine, "2015-09-01"), **as_me}  # not among its event types
    foreign = {**f.graduated(theirs, "INC-THEIRS", "2015-07-01"), **as_me}  # another incubator's enterprise
    spoofed = f.admitted(mine, "INC-MINE", "2015-06-01")  # source "tests": not who wrote it
    own = {**f.admitted(mine, "INC-MINE", "2015-06-01"), **as_me}
    await publish(me, [certify, foreign, spoofed, own], topic=topics.sender_intake(name))

    said = await own_results(me, name, [certify, foreign, spoofed, own])
    assert [
        (said[e["event_id"]]["status"], said[e["event_id"]]["error_code"]) for e in (certify, foreign, spoofed, own)
    ] == [
        ("rejected", "NOT_AUTHORIZED"),
        ("rejected", "NOT_AUTHORIZED"),
        ("rejected", "SOURCE_MISMATCH"),
        ("parked", None),  # its own incubator's admission: held until the enterprise is registered
    ]
    assert said[foreign["event_id"]]["message"] == (
        f"sender '{name}' may send EnterpriseGraduated only for INC-MINE, not for INC-THEIRS"
    )
    assert {d["source_topic"] for d in said.values()} == {topics.sender_intake(name)}
    # Nothing of the refused facts was applied: no certification reached the canonical log.
    canonical = [value_json(r) for r in await read_all(secure.kafka(), topics.ENTERPRISE_EVENTS)]
    assert not [e for e in canonical if e["data"].get("uscc") in (mine, theirs)]
    status, _ = await read(f"{secure.url('awards')}/v1/enterprises/{mine}/awards")
    assert status == 404
    # Registration's lag gauge covers the new sender's topic too: read to the end.
    lag_line = re.compile(
        r'kafka_consumer_lag{partition="\d+",service="registration",'
        rf'topic="{re.escape(topics.sender_intake(name))}"}} (\d+)\.0'
    )

    async def lags() -> list[str]:
        return lag_line.findall(await metrics(secure.url("registration"), secure.dir))

    found = await eventually(lags, lambda v: len(v) == 6 and set(v) == {"0"}, timeout=60)
    assert (len(found), set(found)) == (6, {"0"})


class Flood:
    """Writes `values` as `who` in a thread, a record every 10 ms, watching the brokers'
    answers: a broker delays a principal over its quota and says for how long in each
    answer (librdkafka's throttle callback). `throttled` is set from the first such answer."""

    def __init__(self, who: KafkaSettings, topic: str, values: list[bytes]) -> None:
        self.worst_ms = 0
        self.throttled = threading.Event()
        self.failed: list[str] = []
        self._args = (who, topic, values)

    def _throttle(self, event: Any) -> None:
        self.worst_ms = max(self.worst_ms, int(event.throttle_time * 1000))
        if self.worst_ms > 0:
            self.throttled.set()

    def _delivered(self, error: Any, _: Any) -> None:
        if error is not None:
            self.failed.append(str(error))

    def run(self) -> int:
        who, topic, values = self._args
        producer = Producer({**librdkafka_config(who), "throttle_cb": self._throttle, "linger.ms": 0})
        for value in values:
            producer.produce(topic, value, key=b"91650102MA7QUOTA0X", on_delivery=self._delivered)
            producer.poll(0.01)
        assert producer.flush(180) == 0, "the throttled sender's writes were still queued after 180 s"
        return len(values) - len(self.failed)


async def test_a_sender_over_its_quota_is_throttled_while_another_senders_facts_are_accepted(
    secure: StackHandle,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    flood, calm = f"flood-{suffix}", f"calm-{suffix}"
    flooder = kafka_principal(secure, flood, "sender", "EnterpriseAdmitted", "INC-Q", quota=1 << 20)
    other = kafka_principal(secure, calm, "sender", "EnterpriseAdmitted", "INC-C")
    ops = secure.kafka()
    assert (produce_quota(ops, flood), produce_quota(ops, calm)) == (1 << 20, DEFAULT_SENDER_BYTES_PER_SECOND)
    make = subprocess.run(
        ["make", "-s", "kafka-quota", f"NAME={flood}", "QUOTA=4096"],
        cwd=ROOT,
        env=secure.process_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert make.returncode == 0, make.stderr
    assert produce_quota(ops, flood) == 4096  # changed without a new password

    # 64 KiB of facts at 4 KiB/s (over the broker's 10 s window, 6.4 KiB/s): once the brokers
    # report holding the flooder back, calm writes a fact, and it is applied.
    facts = [{**f.admitted(f.new_uscc(), "INC-Q", "2015-06-01"), "source": flood} for _ in range(64)]
    padded = [json.dumps(e).encode().ljust(1024) for e in facts]
    watcher = Flood(flooder, topics.sender_intake(flood), padded)
    flooding = asyncio.create_task(asyncio.to_thread(watcher.run))
    assert await asyncio.to_thread(watcher.throttled.wait, 60), "no broker reported throttling the flooder"
    own = {**f.admitted(f.new_uscc(), "INC-C", "2015-06-01"), "source": calm}
    await publish(other, [own], topic=topics.sender_intake(calm))
    said = await own_results(other, calm, [own])
    assert said[own["event_id"]]["status"] == "parked"  # accepted: held for its enterprise
    assert (await flooding, watcher.failed) == (64, [])  # slowed, not refused: every write arrived
    assert watcher.worst_ms > 0

    # A record over intake's cap is refused by the broker itself, before it is stored.
    producer = AIOKafkaProducer(**other.client_options(), max_request_size=4 << 20, request_timeout_ms=30_000)
    await producer.start()
    try:
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send_and_wait(
                topics.sender_intake(calm), b"x" * (topics.DEFAULT_MAX_EVENT_BYTES + (64 << 10))
            )
    finally:
        await producer.stop()
