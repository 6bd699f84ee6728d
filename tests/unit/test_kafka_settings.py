"""Kafka connection settings: one model for every client, validated up front,
secrets never printed; the local stack's cluster and SASL_SSL shapes."""

import logging
import ssl
from pathlib import Path

import pytest
from faststream.security import SASLScram512
from pydantic import ValidationError

from services.awards.settings import AwardsSettings
from shared.messaging.kafka import TopicSpec
from shared.messaging.kafka_settings import KafkaSettings, kafka_options
from shared.process.logs import QuietRepeats
from stack.kafka_nodes import KafkaLayout, ensure_tls_material
from stack.service_processes import without_connection


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    for name in ("KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE", "KAFKA_SSL_CAFILE", "TOPIC_REPLICATION_FACTOR"):
        monkeypatch.delenv(name, raising=False)


def test_plaintext_default_gives_a_bootstrap_list_only() -> None:
    s = KafkaSettings(kafka_bootstrap_servers="10.0.0.1:9092, 10.0.0.2:9092")
    assert s.client_options() == {
        "bootstrap_servers": ["10.0.0.1:9092", "10.0.0.2:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert s.faststream_security() is None
    assert kafka_options("a:1,b:2") == {"bootstrap_servers": ["a:1", "b:2"]}


def test_sasl_ssl_from_the_environment_with_a_password_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret-value\n")  # a mounted secret's trailing newline is not part of it
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "xj")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret))
    s = AwardsSettings()
    options = s.client_options()
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    assert options == {
        "bootstrap_servers": ["127.0.0.1:19092"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "xj",
        "sasl_plain_password": "s3cret-value",
    }
    security = s.faststream_security()
    assert isinstance(security, SASLScram512) and security.use_ssl and security.password == "s3cret-value"
    assert "s3cret" not in repr(s) + s.describe()
    assert s.describe() == "127.0.0.1:19092 over SASL_SSL as xj (SCRAM-SHA-512)"


def test_a_password_given_inline_is_a_secret() -> None:
    s = KafkaSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="u",
        kafka_sasl_password="hunter2",  # type: ignore[arg-type]
    )
    assert s.sasl_password() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, "
            "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": "u"},
            "needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE",
        ),
        ({"kafka_ssl_cafile": "/etc/hostname"}, "KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/no/such/ca.pem"}, "/no/such/ca.pem is not a"),
        ({"kafka_security_protocol": "TLS"}, "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'"),
        ({"kafka_bootstrap_servers": " "}, "KAFKA_BOOTSTRAP_SERVERS must name at least one broker"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_variable(given: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("*", r"\*").replace("(", r"\(")):
        KafkaSettings.model_validate(given)


def test_both_password_and_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x")
    with pytest.raises(ValidationError, match="set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both"):
        KafkaSettings.model_validate(
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "SCRAM-SHA-256",
                "kafka_sasl_username": "u",
                "kafka_sasl_password": "x",
                "kafka_sasl_password_file": str(tmp_path / "pw"),
            }
        )


def test_topic_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("TOPIC_MIN_INSYNC_REPLICAS", "2")
    assert AwardsSettings().topic_spec == TopicSpec(partitions=6, replication_factor=3, min_insync_replicas=2)
    monkeypatch.setenv("TOPIC_MIN_INSYNC_REPLICAS", "4")
    with pytest.raises(ValidationError, match="TOPIC_MIN_INSYNC_REPLICAS=4 exceeds TOPIC_REPLICATION_FACTOR=3"):
        AwardsSettings()


def test_from_vars_reads_a_stack_env_and_ignores_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    s = KafkaSettings.from_vars({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "DATABASE_URL": "postgresql://x/y"})
    assert (s.kafka_bootstrap_servers, s.kafka_security_protocol) == ("127.0.0.1:1", "PLAINTEXT")


def properties(layout: KafkaLayout, node: int) -> dict[str, str]:
    """Node `node`'s server.properties as a dict."""
    lines = layout.properties(node).splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_a_stacks_services_get_its_connection_but_the_callers_client_tuning() -> None:
    shell = {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:15092",  # another stack's stack.env, sourced
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_USERNAME": "ops",
        "KAFKA_SASL_PASSWORD_FILE": "/elsewhere/kafka-ops.password",
        "KAFKA_SSL_CAFILE": "/elsewhere/ca.pem",
        "KAFKA_NODES": "3",
        "TOPIC_REPLICATION_FACTOR": "3",
        "TOPIC_MIN_INSYNC_REPLICAS": "2",
        "KAFKA_METADATA_MAX_AGE_MS": "2000",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "TOPIC_PARTITIONS": "6",
        "PATH": "/usr/bin",
    }
    assert without_connection(shell) == {
        "KAFKA_METADATA_MAX_AGE_MS": "2000",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "TOPIC_PARTITIONS": "6",
        "PATH": "/usr/bin",
    }


def test_cluster_layout(tmp_path: Path) -> None:
    layout = KafkaLayout.from_env(base_port=23092, kafka_dir=tmp_path, env={"KAFKA_NODES": "3"})
    assert layout.bootstrap == "127.0.0.1:23092,127.0.0.1:23102,127.0.0.1:23112"
    assert [layout.name(n) for n in layout.node_ids] == ["kafka-1", "kafka-2", "kafka-3"]
    props = properties(layout, 2)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:23093,2@127.0.0.1:23103,3@127.0.0.1:23113"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:23102,CONTROLLER://127.0.0.1:23103"
    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("3", "2")
    assert (props["offsets.topic.replication.factor"], props["transaction.state.log.min.isr"]) == ("3", "2")
    assert props["unclean.leader.election.enable"] == "false"
    assert props["log.dirs"] == str(tmp_path / "plaintext-3n" / "node-2" / "data")
    assert layout.client_env()["TOPIC_REPLICATION_FACTOR"] == "3"
    assert layout.owns("127.0.0.1:23102,localhost:23092")
    assert not layout.owns("127.0.0.1:23102,kafka.example:9092")
    assert not layout.owns("127.0.0.1:19092")


def test_a_cluster_in_network_namespaces_listens_on_each_nodes_own_address(tmp_path: Path) -> None:
    layout = KafkaLayout.from_env(base_port=23092, kafka_dir=tmp_path, env={"KAFKA_NODES": "3", "KAFKA_NETNS": "1"})
    assert layout.bootstrap == "10.77.59.11:23092,10.77.59.12:23102,10.77.59.13:23112"
    assert [layout.namespace(n) for n in layout.node_ids] == ["xj59k1", "xj59k2", "xj59k3"]
    props = properties(layout, 2)
    assert props["controller.quorum.voters"] == "1@10.77.59.11:23093,2@10.77.59.12:23103,3@10.77.59.13:23113"
    assert props["listeners"] == "PLAINTEXT://10.77.59.12:23102,CONTROLLER://10.77.59.12:23103"
    assert props["log.dirs"] == str(tmp_path / "plaintext-3n-netns" / "node-2" / "data")  # its own storage
    assert layout.owns("10.77.59.13:23112") and not layout.owns("10.77.60.13:23112")
    assert [layout.service_machine(r) for r in (1, 2)] == [None, None]  # services on the host


def test_service_replicas_share_the_nodes_machines_last_node_first(tmp_path: Path) -> None:
    env = {"KAFKA_NODES": "3", "KAFKA_NETNS": "1", "SERVICE_NETNS": "1"}
    layout = KafkaLayout.from_env(base_port=22192, kafka_dir=tmp_path, env=env)
    assert [layout.service_machine(r) for r in (1, 2, 3, 4, 5)] == [None, 3, 2, 1, 3]
    assert (layout.bridge_address, layout.host(3)) == ("10.77.219.1", "10.77.219.13")
    with pytest.raises(
        SystemExit, match="SERVICE_NETNS=1 puts services on the nodes' machines: it needs KAFKA_NETNS=1"
    ):
        KafkaLayout.from_env(base_port=22192, kafka_dir=tmp_path, env={"KAFKA_NODES": "3", "SERVICE_NETNS": "1"})


def test_single_node_sasl_ssl_layout(tmp_path: Path) -> None:
    layout = KafkaLayout.from_env(base_port=24092, kafka_dir=tmp_path, env={"KAFKA_SECURITY": "SASL_SSL"})
    assert (layout.name(1), layout.listener, layout.replication_factor) == ("kafka", "SASL_SSL", 1)
    secrets = tmp_path / "sasl_ssl-acl-1n" / "secrets"
    assert layout.client_env()["KAFKA_SASL_PASSWORD_FILE"] == str(secrets / "kafka-ops.password")
    assert layout.client_env("awards")["KAFKA_SASL_USERNAME"] == "awards"
    ensure_tls_material(layout)
    props = dict(
        line.split("=", 1) for line in layout.properties(1).splitlines() if "=" in line and not line.startswith("#")
    )
    # Clients, brokers and controllers each on a listener of their own, each with a principal.
    assert props["listeners"] == ("SASL_SSL://127.0.0.1:24092,BROKER://127.0.0.1:24094,CONTROLLER://127.0.0.1:24093")
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:24092,BROKER://127.0.0.1:24094"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SASL_SSL,BROKER:SASL_SSL,SASL_SSL:SASL_SSL"
    assert (props["inter.broker.listener.name"], props["sasl.mechanism.controller.protocol"]) == ("BROKER", "PLAIN")
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:controller;User:broker;User:ops"
    scram = layout.scram_user_argument()
    assert [a.split("[name=")[1].split(",")[0] for a in scram[1::2]] == [
        "broker",
        "ops",
        "registration",
        "awards",
        "reporting",
    ]
    with pytest.raises(SystemExit, match="KAFKA_SECURITY=kerberos: choose plaintext or sasl_ssl"):
        KafkaLayout.from_env(base_port=1, kafka_dir=tmp_path, env={"KAFKA_SECURITY": "kerberos"})


def test_repeated_aiokafka_lines_pass_once_per_window() -> None:
    quiet = QuietRepeats(window_s=60)

    def rec(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)

    seen = [quiet.filter(rec("aiokafka", "Unable connect to node 3")) for _ in range(50)]
    assert seen.count(True) == 1
    assert quiet.filter(rec("aiokafka", "Unable connect to node 2"))
    assert all(quiet.filter(rec("shared.process.runtime", "same line")) for _ in range(3))
