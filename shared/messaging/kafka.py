"""Kafka plumbing every service shares: the connection probe, topic creation and the
idempotent producer, all built from `KafkaSettings`."""

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)

from shared.contract import topics
from shared.messaging.kafka_settings import KafkaSettings, kafka_options

log = logging.getLogger(__name__)


class KafkaSetupError(Exception):
    """The connection settings cannot work as they are; the message names the setting."""


@dataclass(frozen=True)
class TopicSpec:
    partitions: int
    replication_factor: int = 1
    min_insync_replicas: int | None = None


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    hosts = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        hosts.append((host.strip("[]") or item.strip(), int(port or 9092)))
    return hosts


async def probe(settings: KafkaSettings, *, timeout_s: float = 10) -> None:
    """Connect and authenticate to one bootstrap broker, or raise KafkaSetupError with one
    line saying which setting is wrong. aiokafka's own clients would only retry and log
    stack traces; this runs first so an operator reads the cause."""
    options = settings.client_options()
    errors: list[str] = []
    for host, port in _hosts(settings.kafka_bootstrap_servers):
        try:
            conn = await asyncio.wait_for(
                create_conn(
                    host,
                    port,
                    request_timeout_ms=int(timeout_s * 1000),
                    ssl_context=options.get("ssl_context"),
                    security_protocol=options["security_protocol"],
                    sasl_mechanism=options.get("sasl_mechanism"),
                    sasl_plain_username=options.get("sasl_plain_username"),
                    sasl_plain_password=options.get("sasl_plain_password"),
                ),
                timeout_s,
            )
        except (SaslAuthenticationFailed, AuthenticationFailedError, IllegalSaslStateError) as exc:
            raise KafkaSetupError(
                f"Kafka authentication failed at {host}:{port} for KAFKA_SASL_USERNAME={settings.kafka_sasl_username} "
                f"with KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism}: check KAFKA_SASL_PASSWORD / "
                f"KAFKA_SASL_PASSWORD_FILE ({type(exc).__name__})"
            ) from None
        except UnsupportedSaslMechanismError as exc:
            raise KafkaSetupError(f"KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism} is refused: {exc}") from None
        except ssl.SSLCertVerificationError as exc:
            raise KafkaSetupError(
                f"Kafka TLS: the certificate of {host}:{port} is not trusted ({exc.verify_message}): "
                f"check KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile or '(system CAs)'}"
            ) from None
        except ssl.SSLError as exc:
            raise KafkaSetupError(
                f"Kafka TLS handshake with {host}:{port} failed ({exc.reason}): check that "
                f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} matches the broker's listener"
            ) from None
        except (OSError, KafkaError, TimeoutError) as exc:
            errors.append(f"{host}:{port}: {exc or type(exc).__name__}")
            continue
        conn.close()
        return
    raise KafkaSetupError(
        f"Kafka unreachable at KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers} "
        f"(KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol}): {'; '.join(errors)}"
    )


async def missing_topics(settings: KafkaSettings, names: Iterable[str]) -> list[str]:
    """Which of `names` this principal cannot see: absent, or not granted to it."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        seen = set(await admin.list_topics())
    finally:
        await admin.close()
    return [t for t in names if t not in seen]


async def group_members(settings: KafkaSettings, group: str) -> int:
    """How many members the consumer group `group` has now."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        (described,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    return sum(len(g[5]) for g in described.groups)  # (error, group, state, protocol type, protocol, members)


async def wait_until_group_empty(settings: KafkaSettings, group: str, *, timeout_s: float) -> None:
    """Until `group` has no member. A process that stopped keeps its static membership
    (KAFKA_GROUP_INSTANCE_ID) until its session lapses; a process still running never
    leaves, and after `timeout_s` that is an error that says so."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (members := await group_members(settings, group)) > 0:
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(
                f"consumer group {group} still has {members} member(s): stop every {group} process first"
            )
        await asyncio.sleep(0.5)


async def ensure_topics(settings: KafkaSettings, names: Iterable[str], spec: TopicSpec) -> None:
    """Create missing topics as `spec` says; report existing ones that differ in one line
    (partitions and replicas are not changed behind an operator's back)."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        wanted = list(names)
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            configs = {} if spec.min_insync_replicas is None else {"min.insync.replicas": str(spec.min_insync_replicas)}
            with contextlib.suppress(TopicAlreadyExistsError):  # another service created it first
                await admin.create_topics(
                    [
                        NewTopic(
                            name=t,
                            num_partitions=spec.partitions,
                            replication_factor=spec.replication_factor,
                            topic_configs={**configs, **topics.CONFIGS.get(t, {})},
                        )
                        for t in missing
                    ]
                )
            log.info("created topics %s (rf=%d)", missing, spec.replication_factor)
        present = [t for t in wanted if t in existing]
        differing = []
        for described in await admin.describe_topics(present) if present else []:
            parts = described["partitions"]
            rf = min((len(p["replicas"]) for p in parts), default=0)
            if len(parts) != spec.partitions or rf != spec.replication_factor:
                differing.append(f"{described['topic']} has {len(parts)} partitions × rf {rf}")
        if differing:
            log.warning(
                "existing topics differ from TOPIC_PARTITIONS=%d / TOPIC_REPLICATION_FACTOR=%d and were left as "
                "they are: %s",
                spec.partitions,
                spec.replication_factor,
                "; ".join(differing),
            )
    finally:
        await admin.close()


def idempotent_producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    # acks=all + idempotence: a retried send never duplicates or reorders within a partition,
    # and with min.insync.replicas=2 an acknowledged write survives the loss of a broker.
    return AIOKafkaProducer(
        **kafka_options(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=1 << 20,
        max_request_size=8 << 20,
    )


async def partitions_of(target: KafkaSettings | str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**kafka_options(target))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
    finally:
        await admin.close()


async def read_topic(
    target: KafkaSettings | str, topic: str, **consumer_options: Any
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of `topic` from its beginning to its end as of now, partition by partition."""
    consumer = AIOKafkaConsumer(**kafka_options(target), enable_auto_commit=False, **consumer_options)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(target, topic)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[ConsumerRecord[Any, Any]] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).items():
                found += [r for r in records if r.offset < ends[tp]]
        return found
    finally:
        await consumer.stop()
