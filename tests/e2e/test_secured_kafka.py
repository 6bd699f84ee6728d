"""Issue 8: the platform over a SASL_SSL broker (SCRAM-SHA-512, a CA the stack made), and
what an operator sees when the password is wrong: one clear line, /readyz 503, no crash."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared import topics
from shared.kafka import KafkaSetupError, probe
from stack.handle import ROOT, StackHandle, fresh_database, http_status
from tests.support import factories as f
from tests.support.auth import JWKS_FILE, READER, SENDERS_FILE, sender, write_jwks, write_senders
from tests.support.http import eventually
from tests.support.kafka_io import publish, value_json, wait_for_records
from tests.support.stack import AUTH_AUDIENCE, AUTH_ISSUER, Infra

pytestmark = pytest.mark.e2e

WRONG_PASSWORD = "not-the-password-7f3a"
PROBE_PORT = 24901
DB_PASSWORD = "pg-secret-4b9d1c"
READ_TOKENS = ("read-token-alpha-93", "read-token-beta-17")


async def read(url: str, token: str | None = READ_TOKENS[1]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(url, headers=headers)
    return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)


@pytest.fixture(scope="module")
def secure(infra: Infra) -> Iterator[StackHandle]:
    write_jwks()
    write_senders()
    dsn = asyncio.run(fresh_database(infra.dsn, "xj_secure", password=DB_PASSWORD))
    s = StackHandle(
        ROOT / ".local" / "test-secure",
        kafka_port=24092,
        service_port=24800,
        dsn=dsn,
        # Every credential the platform takes is configured here, so the logs can be checked.
        env={
            "KAFKA_SECURITY": "sasl_ssl",
            "API_READ_TOKENS": ",".join(READ_TOKENS),
            "PUBLIC_PROGRESS": "false",  # closed, as it is by default (the local stack opens it)
            # Sign-in and the sender registry of the test stack (tests/support/auth.py).
            "AUTH_JWKS_FILE": str(JWKS_FILE),
            "AUTH_ISSUER": AUTH_ISSUER,
            "AUTH_AUDIENCE": AUTH_AUDIENCE,
            "SENDER_AUTHORITY_FILE": str(SENDERS_FILE),
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
    secrets = secure.dir / "kafka" / "sasl_ssl-1n" / "secrets"
    assert {k: v for k, v in env.items() if k.startswith(("KAFKA_", "TOPIC_"))} == {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:24092",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "xj",
        "KAFKA_SASL_PASSWORD_FILE": str(secrets / "kafka-password"),
        "KAFKA_SSL_CAFILE": str(secrets / "ca.pem"),
        "KAFKA_NODES": "1",
        "KAFKA_SECURITY": "sasl_ssl",
        "TOPIC_REPLICATION_FACTOR": "1",
        "TOPIC_MIN_INSYNC_REPLICAS": "1",
    }
    assert (secrets / "kafka-password").stat().st_mode & 0o077 == 0


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
    assert "KAFKA_SASL_USERNAME=xj" in failures[0] and "KAFKA_SASL_PASSWORD" in failures[0]
    assert "Traceback" not in text
    real_password = (secure.dir / "kafka" / "sasl_ssl-1n" / "secrets" / "kafka-password").read_text().strip()
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


async def test_reads_need_a_reader_and_ops_routes_stay_open(secure: StackHandle) -> None:
    for service, paths in READS.items():
        base = secure.url(service)
        for path in paths:
            async with httpx.AsyncClient(timeout=10) as client:
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
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await read(base + path, None))[0] == 200
        async with httpx.AsyncClient(timeout=10) as client:
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
    kafka_password = (secure.dir / "kafka" / "sasl_ssl-1n" / "secrets" / "kafka-password").read_text().strip()
    logs = "".join(p.read_text(errors="replace") for p in (secure.dir / "logs").glob("*.log"))
    assert "registration started" in logs  # the logs are there to be searched
    for secret in (kafka_password, DB_PASSWORD, *READ_TOKENS):
        assert secret not in logs
