"""Apache Kafka from the Maven Central jars: one KRaft node, or three (stack/kafka_nodes.py)."""

import os
import subprocess
import uuid
from functools import partial
from pathlib import Path

from stack import netns
from stack.kafka_nodes import ensure_tls_material
from stack.layout import KAFKA, KAFKA_LIBS, LOGS, ROOT, RUN
from stack.processes import pid_alive, port_open, say, spawn, stop_pids, wait_for


def ensure_kafka_jars() -> None:
    if KAFKA_LIBS.exists() and any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        return
    say("resolving Apache Kafka jars from Maven Central (stack/kafka/pom.xml)")
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={KAFKA_LIBS}",
        ],
        cwd=ROOT / "stack" / "kafka",
        check=True,
    )


# The JIT and collector flags, as Kafka's own scripts name them. The default is a broker's;
# the test suite's stacks live minutes, and C1 alone with the serial collector costs them
# about 40 % less CPU than compiling for a long life (docs/configuration.md).
JVM_PERFORMANCE_OPTS = "-XX:+UseG1GC -XX:MaxGCPauseMillis=20"


def kafka_java(main: str, *args: str, heap: str = "512m", logs: Path = LOGS) -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        *os.environ.get("KAFKA_JVM_PERFORMANCE_OPTS", JVM_PERFORMANCE_OPTS).split(),
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={ROOT / 'stack' / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={logs}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main,
        *args,
    ]


def kafka_node_running(node: int) -> bool:
    return pid_alive(KAFKA.name(node)) is not None and port_open(KAFKA.port(node), KAFKA.host(node))


def start_kafka_node(node: int) -> None:
    """Format the node's storage once (same cluster id for every node), then start it."""
    if kafka_node_running(node):
        return
    props, data = KAFKA.properties_file(node), KAFKA.data_dir(node)
    props.parent.mkdir(parents=True, exist_ok=True)
    props.write_text(KAFKA.properties(node))
    os.chmod(props, 0o600)  # it holds the SCRAM and keystore passwords under SASL_SSL
    if not (data / "meta.properties").exists():
        id_file = KAFKA.root / "cluster.id"
        if not id_file.exists():
            id_file.write_text(uuid.uuid4().hex[:22])
        subprocess.run(
            kafka_java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                id_file.read_text().strip(),
                "-c",
                str(props),
                *KAFKA.scram_user_argument(),
                heap="256m",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    say(f"starting {KAFKA.name(node)} on {KAFKA.host(node)}:{KAFKA.port(node)} ({KAFKA.listener})")
    node_logs = LOGS / KAFKA.name(node)
    node_logs.mkdir(parents=True, exist_ok=True)
    spawn(KAFKA.name(node), netns.wrap(KAFKA, node, kafka_java("kafka.Kafka", str(props), logs=node_logs)))


def start_kafka() -> None:
    if all(kafka_node_running(n) for n in KAFKA.node_ids):
        provision_kafka(KAFKA.client_env(), grant_services=KAFKA.security == "sasl_ssl")
        return
    ensure_kafka_jars()
    ensure_tls_material(KAFKA)
    if KAFKA.netns:
        netns.ensure_network(KAFKA)
    for node in KAFKA.node_ids:
        start_kafka_node(node)
    for node in KAFKA.node_ids:
        wait_for(KAFKA.name(node), partial(port_open, KAFKA.port(node), KAFKA.host(node)), 90)
    wait_for(f"{KAFKA.nodes} registered broker(s)", partial(brokers_registered, KAFKA.nodes), 90)
    provision_kafka(KAFKA.client_env(), grant_services=KAFKA.security == "sasl_ssl")


def provision_kafka(client_env: dict[str, str], *, grant_services: bool) -> None:
    """As the ops principal: the platform's topics (services create none) and, on the
    SASL stack, each service's ACLs. Idempotent."""
    from ops import kafka_admin
    from shared.contract import topics
    from shared.messaging import kafka_access

    settings = kafka_admin.settings_of({k: v for k, v in os.environ.items() if k.startswith("TOPIC_")} | client_env)
    admin = kafka_admin.admin_client(settings)
    created = kafka_admin.create_topics(admin, topics.ALL, settings.topic_spec)
    if created:
        say(f"created topics {', '.join(created)} as {settings.kafka_sasl_username or 'anonymous'}")
    if grant_services:
        for service in kafka_access.SERVICES:
            kafka_admin.grant(admin, service, kafka_access.service_grants(service))


def brokers_registered(expected: int) -> bool:
    """The cluster can create RF-n topics only once every broker has registered."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    from shared.messaging.kafka_settings import KafkaSettings

    async def count() -> int:
        settings = KafkaSettings.from_vars(KAFKA.client_env())
        admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=5000)
        await admin.start()
        try:
            return len((await admin.describe_cluster())["brokers"])
        finally:
            await admin.close()

    try:
        return asyncio.run(count()) >= expected
    except Exception:  # noqa: BLE001 - not yet
        return False


def stop_kafka() -> None:
    stop_pids([pid_file.stem for pid_file in sorted(RUN.glob("kafka*.pid"))], timeout=30)
    if KAFKA.netns:  # the namespaces and the bridge go with the nodes; `up` makes them again
        netns.remove_network(KAFKA)


def external_kafka() -> str | None:
    """KAFKA_BOOTSTRAP_SERVERS when it points somewhere other than this stack's brokers."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    return None if not given or KAFKA.owns(given) else given
