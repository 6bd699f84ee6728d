"""Kafka principals for the tests: `make kafka-principal` on a running SASL stack, and a
producer that reports what became of one write."""

import subprocess

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.contract import topics
from shared.messaging.kafka_settings import KafkaSettings
from stack.handle import ROOT, StackHandle


def kafka_principal(
    stack: StackHandle, name: str, kind: str, event_types: str = "", carriers: str = "", quota: int | None = None
) -> KafkaSettings:
    """`make kafka-principal` on the running stack; its KEY=VALUE output is the client's settings."""
    made = subprocess.run(
        [
            "make",
            "-s",
            "kafka-principal",
            f"NAME={name}",
            f"KIND={kind}",
            f"EVENT_TYPES={event_types}",
            f"CARRIERS={carriers}",
            *([f"QUOTA={quota}"] if quota else []),
        ],
        cwd=ROOT,
        env=stack.process_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    out = made.stdout
    lines = dict(line.split("=", 1) for line in out.splitlines())
    assert set(lines) >= {
        "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE", "CONSUMER_GROUP_PREFIX",
    }  # fmt: skip
    assert lines["KAFKA_SASL_USERNAME"] == name and lines["CONSUMER_GROUP_PREFIX"] == f"{name}."
    if kind == "sender":
        assert (lines["INTAKE_TOPIC"], lines["RESULTS_TOPIC"]) == (
            topics.sender_intake(name),
            topics.sender_results(name),
        )
    return KafkaSettings.from_vars(lines)


async def produce(who: KafkaSettings, topic: str) -> str:
    """What became of one write: "written", or the name of the error that refused it."""
    producer = AIOKafkaProducer(**who.client_options(), request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"forged": true}', key=b"91650102MA7XXXXX0X")
        return "written"
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        await producer.stop()
