"""Produce quotas per principal: a sender that writes faster than its quota is slowed by
the broker (it delays its answers), so one sender cannot fill the brokers' disks while the
others' facts keep flowing. Neither confluent-kafka nor aiokafka can alter client quotas:
this runs Kafka's own ConfigCommand (`kafka-configs.sh`), from the stack's jars or the
command `KAFKA_CONFIGS_COMMAND` names (compose: the official image's script)."""

import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from shared.messaging.kafka_settings import KafkaSettings

DEFAULT_SENDER_BYTES_PER_SECOND = 1 << 20  # a sender's intake: 1 MiB/s, hundreds of facts a second
TIMEOUT_S = 120


def config_command() -> list[str]:
    """`KAFKA_CONFIGS_COMMAND`, or ConfigCommand from the jars in `KAFKA_LIBS` (default: the
    local stack's, .local/kafka-libs)."""
    given = os.environ.get("KAFKA_CONFIGS_COMMAND")
    if given:
        return shlex.split(given)
    libs = Path(os.environ.get("KAFKA_LIBS") or Path(".local") / "kafka-libs").resolve()
    if not any(libs.glob("kafka_*.jar")):
        raise ValueError(
            f"no Kafka jars in {libs}: set KAFKA_CONFIGS_COMMAND (kafka-configs.sh) or KAFKA_LIBS to set quotas"
        )
    # A command that lives seconds: the quick compiler only, and the small collector
    # (a third less CPU per run).
    return ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", f"{libs}/*", "kafka.admin.ConfigCommand"]


def available() -> bool:
    """Whether this machine can run ConfigCommand (compose's setup image cannot: there the
    kafka-quotas step gives every sender the default quota instead)."""
    try:
        config_command()
    except ValueError:
        return False
    return True


def client_properties(s: KafkaSettings) -> str:
    """The ops principal's connection in Java client properties."""
    lines = [f"security.protocol={s.kafka_security_protocol}"]
    if s.kafka_security_protocol.startswith("SASL_"):
        module = (
            "scram.ScramLoginModule" if (s.kafka_sasl_mechanism or "").startswith("SCRAM") else "plain.PlainLoginModule"
        )
        user, password = _quoted(s.kafka_sasl_username or ""), _quoted(s.sasl_password() or "")
        lines += [
            f"sasl.mechanism={s.kafka_sasl_mechanism}",
            f"sasl.jaas.config=org.apache.kafka.common.security.{module} required "
            f'username="{user}" password="{password}";',
        ]
    if s.kafka_ssl_cafile is not None:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={s.kafka_ssl_cafile}"]
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _run(s: KafkaSettings, *args: str) -> str:
    with tempfile.TemporaryDirectory() as home:  # the password: the caller's eyes only
        props = Path(home) / "client.properties"
        props.touch(mode=0o600)
        props.write_text(client_properties(s))
        out = subprocess.run(
            [*config_command(), "--bootstrap-server", s.bootstrap_list[0], "--command-config", str(props), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    if out.returncode != 0:
        said = (out.stderr or out.stdout).strip().splitlines()
        raise ValueError(f"kafka-configs failed: {said[-1] if said else out.returncode}")
    return out.stdout


def set_produce_quota(s: KafkaSettings, user: str, bytes_per_second: int) -> None:
    if bytes_per_second < 1024:
        raise ValueError(f"a produce quota below 1024 bytes/s ({bytes_per_second}) would stop a sender outright")
    _run(s, "--alter", "--entity-type", "users", "--entity-name", user,
         "--add-config", f"producer_byte_rate={bytes_per_second}")  # fmt: skip


def delete_produce_quota(s: KafkaSettings, user: str) -> None:
    if produce_quota(s, user) is not None:
        _run(s, "--alter", "--entity-type", "users", "--entity-name", user, "--delete-config", "producer_byte_rate")


def produce_quota(s: KafkaSettings, user: str) -> int | None:
    """The user's producer_byte_rate, None when it has none."""
    said = _run(s, "--describe", "--entity-type", "users", "--entity-name", user)
    found = re.search(r"producer_byte_rate=([0-9.]+)", said)
    return int(float(found.group(1))) if found else None
