"""docker-compose.yml agrees with what the services read and with what the official images
do (no Docker engine needed): settings, brokers' data on volumes, the cluster profile's
quorum, secrets only from the environment."""

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.awards.settings import LEGACY_POLICY_VARIABLES, AwardsSettings
from services.registration.settings import RegistrationSettings
from services.reporting.settings import ReportingSettings
from shared.messaging import kafka_access
from shared.process.dsn import Dsn
from shared.process.dsn import parse as parse_dsn
from stack import compose_secrets
from stack.layout import ROOT

RAW = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(RAW)
SERVICES: dict[str, tuple[type[BaseSettings], int]] = {
    "registration": (RegistrationSettings, 8001),
    "awards": (AwardsSettings, 8002),
    "reporting": (ReportingSettings, 8000),
}
BROKERS = {
    name: svc
    for name, svc in COMPOSE["services"].items()
    if svc.get("image", "").startswith("apache/kafka") and name != "kafka-quotas"  # a tool run in that image
}
CLUSTER = {name: svc for name, svc in BROKERS.items() if "cluster" in svc.get("profiles", [])}


def dotenv(text: str, *, block: str | None = None) -> dict[str, str]:
    """.env.example's active lines, plus the commented lines of the block titled `block`."""
    values: dict[str, str] = {}
    active = True
    for line in text.splitlines():
        if line.startswith("# ---"):
            active = block is not None and block in line
            continue
        body = line.removeprefix("# ") if active and block and line.startswith("# ") else line
        if "=" in body and not body.startswith("#") and re.match(r"^[A-Z_]+=", body):
            key, value = body.split("=", 1)
            values[key] = value
    return values


ENV_EXAMPLE = (ROOT / ".env.example").read_text()
# What `python -m stack.compose_secrets` appends to .env.
GENERATED = {name: f"generated-{name.lower()}" for name in compose_secrets.PASSWORDS}
SINGLE_ENV = dotenv(ENV_EXAMPLE) | GENERATED
CLUSTER_ENV = dotenv(ENV_EXAMPLE, block="Three KRaft brokers") | GENERATED


def interpolate(value: Any, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default} (set but empty stays empty) and
    ${VAR:?error}, as `docker compose config` does."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if op == "-":
            return env.get(name, arg)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"{name} is required: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?|-)([^}]*))?\}", one, str(value)).replace("$$", "$")


def service_env(name: str, env: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(v, env) for k, v in COMPOSE["services"][name]["environment"].items()}


@pytest.mark.parametrize("mode", ["single", "cluster"])
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_gets_every_setting_it_needs_and_only_known_ones(name: str, mode: str, tmp_path: Path) -> None:
    settings_cls, spec_port = SERVICES[name]
    svc = COMPOSE["services"][name]
    env = service_env(name, SINGLE_ENV | (CLUSTER_ENV if mode == "cluster" else {}))
    # The CA the brokers' certificates chain to, mounted where the setting says.
    assert "./secrets/kafka/ca.pem:" + env["KAFKA_SSL_CAFILE"] + ":ro" in svc["volumes"]
    env["KAFKA_SSL_CAFILE"] = str(tmp_path / "ca.pem")
    (tmp_path / "ca.pem").write_text("a certificate")
    assert svc["command"] == ["python", "-m", f"services.{name}"]
    assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "HTTP_HOST", f"{name.upper()}_PORT"} <= env.keys()
    # OpenTelemetry's own variables are read by its SDK (shared/process/tracing.py).
    assert {k for k in env if k.lower() not in settings_cls.model_fields and not k.startswith("OTEL_")} == set()
    assert env["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] == "http://zipkin:9411/api/v2/spans"
    assert (env["OTEL_EXPORTER_OTLP_ENDPOINT"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("", "0.1")
    settings = settings_cls.model_validate(
        {k.lower(): v for k, v in env.items() if v != "" and not k.startswith("OTEL_")}
    )
    port = getattr(settings, f"{name}_port")
    assert port == spec_port == settings_cls.model_fields[f"{name}_port"].default  # the default ports
    # Published on loopback unless the site says otherwise (with TLS): tokens never in clear.
    assert [interpolate(p, env) for p in svc["ports"]] == [f"127.0.0.1:{port}:{port}"]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])
    brokers = CLUSTER if mode == "cluster" else {n: b for n, b in BROKERS.items() if n not in CLUSTER}
    assert settings.bootstrap_list == [f"{b}:9092" for b in sorted(brokers)]
    setup = service_env("kafka-setup", SINGLE_ENV | (CLUSTER_ENV if mode == "cluster" else {}))
    assert setup["KAFKA_BOOTSTRAP_SERVERS"] == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert (setup["TOPIC_REPLICATION_FACTOR"], setup["TOPIC_MIN_INSYNC_REPLICAS"]) == (
        ("3", "2") if mode == "cluster" else ("1", "1")
    )
    # The services wait for whichever brokers the active profile runs, and for PostgreSQL.
    assert svc["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert {b: svc["depends_on"][b] for b in BROKERS} == {
        b: {"condition": "service_healthy", "required": False} for b in BROKERS
    }


def test_each_service_connects_as_its_own_role_and_the_migration_role_migrates() -> None:
    pg = service_env("postgres", SINGLE_ENV)
    roles = (ROOT / "ops" / "postgres" / "roles.sh").read_text()
    for name in SERVICES:
        dsn = parse_dsn(service_env(name, SINGLE_ENV)["DATABASE_URL"])
        assert dsn == Dsn(
            f"xj_{name}",
            pg[f"POSTGRES_{name.upper()}_PASSWORD"],
            (("postgres", 5432), ("postgres-standby", 5432)),  # whichever takes writes: a failover needs no restart
            pg["POSTGRES_DB"],
            {"target_session_attrs": "read-write"},
        )
        assert f"CREATE ROLE xj_{name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'{name}';" in roles
        assert COMPOSE["services"][name]["depends_on"]["db-migrate"] == {"condition": "service_completed_successfully"}
    migrate = parse_dsn(service_env("db-migrate", SINGLE_ENV)["DATABASE_URL"])
    assert (migrate.user, migrate.password, migrate.hosts) == (
        "xj_migrator",
        pg["POSTGRES_MIGRATOR_PASSWORD"],
        (("postgres", 5432), ("postgres-standby", 5432)),
    )
    script = " ".join(COMPOSE["services"]["db-migrate"]["command"])
    assert re.findall(r"DATABASE_RUNTIME_ROLE=(\w+) python -m services\.(\w+) migrate", script) == [
        (f"xj_{n}", n) for n in ("registration", "awards", "reporting")
    ]
    assert (
        "./ops/postgres/roles.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro"
        in COMPOSE["services"]["postgres"]["volumes"]
    )
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD is required"):
        service_env("postgres", {})


def test_nothing_secret_is_written_into_the_compose_file() -> None:
    secret = re.compile(r"PASSWORD|TOKEN|SECRET", re.I)
    for name, svc in COMPOSE["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if secret.search(key) and not key.endswith("_FILE"):  # a path to a secret, not one
                assert re.fullmatch(r"\$\{\w+(:-|:\?[^}]*)?\}", str(value)), f"{name}.{key} = {value!r}"
    # Every DSN's password part is a variable of .env.
    assert all(p.startswith("${") for p in re.findall(r"postgresql://\w+:([^@]*)@", RAW))
    assert "xj:xj@" not in RAW
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be ignored by git"


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_every_broker_keeps_its_log_on_its_own_volume(broker: str) -> None:
    env = BROKERS[broker]["environment"]
    named = [v.rsplit(":", 1)[0] if v.endswith(":ro") else v for v in BROKERS[broker]["volumes"]]
    mounts = {path: vol for vol, path in (v.split(":", 1) for v in named) if not vol.startswith("./")}
    log_dirs = env["KAFKA_LOG_DIRS"].split(",")
    assert all(any(d == p or d.startswith(p.rstrip("/") + "/") for p in mounts) for d in log_dirs)
    assert all(vol in COMPOSE["volumes"] for vol in mounts.values())
    others = {v.split(":", 1)[0] for n, b in BROKERS.items() if n != broker for v in b["volumes"] if v[0] != "."}
    assert not set(mounts.values()) & others, "two brokers must never share a log volume"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) >= RegistrationSettings().max_event_bytes
    assert BROKERS[broker]["image"] == "apache/kafka:4.1.1"  # the version the local stack pins
    assert "<kafka.version>4.1.1</kafka.version>" in (ROOT / "stack" / "kafka" / "pom.xml").read_text()


def test_postgres_keeps_its_data_on_a_volume() -> None:
    assert COMPOSE["services"]["postgres"]["volumes"][0] == "pg-data:/var/lib/postgresql/data"


def test_the_cluster_profile_agrees_with_itself() -> None:
    assert sorted(CLUSTER) == ["kafka-1", "kafka-2", "kafka-3"]
    envs = {name: {k: interpolate(v, GENERATED) for k, v in b["environment"].items()} for name, b in CLUSTER.items()}
    ids = {name: int(e["KAFKA_NODE_ID"]) for name, e in envs.items()}
    assert sorted(ids.values()) == [1, 2, 3]
    for name, e in envs.items():
        listeners = dict(re.match(r"(\w+)://(.*)", x).groups() for x in e["KAFKA_LISTENERS"].split(","))  # type: ignore[union-attr]
        controller_port = listeners["CONTROLLER"].rsplit(":", 1)[1]
        client_port, broker_port = listeners["SASL_SSL"].rsplit(":", 1)[1], listeners["BROKER"].rsplit(":", 1)[1]
        assert e["KAFKA_ADVERTISED_LISTENERS"] == f"SASL_SSL://{name}:{client_port},BROKER://{name}:{broker_port}"
        voters = e["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert f"{ids[name]}@{name}:{controller_port}" in voters
        assert sorted(voters) == sorted(f"{i}@{n}:{controller_port}" for n, i in ids.items())
        assert e["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert (e["KAFKA_DEFAULT_REPLICATION_FACTOR"], e["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        assert (e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], e["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == ("3", "2")
        assert e["KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"] == "3"
        assert e["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    cluster_ids = {e["CLUSTER_ID"] for e in envs.values()}
    assert len(cluster_ids) == 1
    assert len(base64.urlsafe_b64decode(cluster_ids.pop() + "==")) == 16  # KRaft wants a base64 UUID
    assert CLUSTER_ENV["COMPOSE_PROFILES"] == "cluster"
    assert CLUSTER_ENV["KAFKA_BOOTSTRAP_SERVERS"].split(",") == [
        envs[n]["KAFKA_ADVERTISED_LISTENERS"].split(",")[0].removeprefix("SASL_SSL://") for n in sorted(envs)
    ]


def test_the_single_profile_is_the_default_of_the_env_example() -> None:
    kafka = {k: interpolate(v, GENERATED) for k, v in BROKERS["kafka"]["environment"].items()}
    assert BROKERS["kafka"]["profiles"] == ["single"] and SINGLE_ENV["COMPOSE_PROFILES"] == "single"
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == "SASL_SSL://kafka:9092,BROKER://kafka:9094"
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_prometheus_uses_the_local_stacks_config_and_scrapes_every_service() -> None:
    prom = COMPOSE["services"]["prometheus"]
    assert prom["volumes"][:3] == [
        f"./ops/prometheus/{name}:/etc/prometheus/{name}:ro" for name in ("prometheus.yml", "alerts.yml", "targets")
    ]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    targets = json.loads((ROOT / "ops" / "prometheus" / "targets" / "compose.json").read_text())
    scraped = {t["labels"]["service"]: t["targets"] for t in targets}
    assert scraped == {name: [f"{name}:{port}"] for name, (_, port) in SERVICES.items()}


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_every_broker_authenticates_every_listener_and_authorises_every_request(broker: str) -> None:
    e = {k: interpolate(v, GENERATED) for k, v in BROKERS[broker]["environment"].items()}
    assert e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "CONTROLLER:SASL_SSL,BROKER:SASL_SSL,SASL_SSL:SASL_SSL"
    assert (e["KAFKA_INTER_BROKER_LISTENER_NAME"], e["KAFKA_CONTROLLER_LISTENER_NAMES"]) == ("BROKER", "CONTROLLER")
    assert e["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert e["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert e["KAFKA_SUPER_USERS"] == "User:controller;User:broker;User:ops"
    assert e["KAFKA_LISTENER_NAME_SASL__SSL_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512,PLAIN"
    # Each PLAIN listener knows exactly its own principal, with its password from .env.
    for key, user in (
        ("KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG", "controller"),
        ("KAFKA_LISTENER_NAME_BROKER_PLAIN_SASL_JAAS_CONFIG", "broker"),
        ("KAFKA_LISTENER_NAME_SASL__SSL_PLAIN_SASL_JAAS_CONFIG", "ops"),
    ):
        password = GENERATED[f"KAFKA_{user.upper()}_PASSWORD"]
        assert re.findall(r'user_(\w+)="([^"]*)"', e[key]) == [(user, password)], key
    assert "/etc/kafka/secrets" in [v.split(":")[1] for v in BROKERS[broker]["volumes"]]
    assert (e["KAFKA_SSL_KEYSTORE_FILENAME"], e["KAFKA_SSL_KEYSTORE_CREDENTIALS"]) == (
        "broker.p12",
        "keystore-password",
    )
    assert 'password="' in RAW and all(m.startswith("${") for m in re.findall(r'password="([^"]*)"', RAW))


def test_each_service_is_its_own_principal_and_starts_after_the_ops_setup() -> None:
    users = {}
    for name in SERVICES:
        env = service_env(name, SINGLE_ENV)
        assert (env["KAFKA_SECURITY_PROTOCOL"], env["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "SCRAM-SHA-512")
        assert env["KAFKA_SASL_PASSWORD"] == GENERATED[f"KAFKA_{name.upper()}_PASSWORD"]
        users[name] = env["KAFKA_SASL_USERNAME"]
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["kafka-setup"] == {"condition": "service_completed_successfully"}
    assert users == {name: name for name in kafka_access.SERVICES}
    setup = COMPOSE["services"]["kafka-setup"]
    assert setup["command"] == ["python", "-m", "ops.kafka_admin", "setup"]
    env = service_env("kafka-setup", SINGLE_ENV)
    assert (env["KAFKA_SASL_USERNAME"], env["KAFKA_SASL_PASSWORD"]) == ("ops", GENERATED["KAFKA_OPS_PASSWORD"])
    assert {k for k in env if k.endswith("_PASSWORD") and k != "KAFKA_SASL_PASSWORD"} == {
        f"KAFKA_{s.upper()}_PASSWORD" for s in kafka_access.SERVICES
    }


def test_compose_secrets_makes_the_keystore_and_every_password_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compose_secrets, "DIRECTORY", tmp_path / "secrets" / "kafka")
    monkeypatch.setattr(compose_secrets, "METRICS_TOKEN", tmp_path / "secrets" / "metrics-token")
    env_file = tmp_path / ".env"
    env_file.write_text("POSTGRES_PASSWORD=x\nKAFKA_OPS_PASSWORD=kept\n")
    compose_secrets.main(env_file)
    first, token = env_file.read_text(), (tmp_path / "secrets" / "metrics-token").read_text()
    compose_secrets.main(env_file)
    assert env_file.read_text() == first
    assert (tmp_path / "secrets" / "metrics-token").read_text() == token and len(token) >= 40
    values = dict(line.split("=", 1) for line in first.splitlines())
    assert values["KAFKA_OPS_PASSWORD"] == "kept" and set(compose_secrets.PASSWORDS) <= set(values)
    assert len({values[k] for k in compose_secrets.PASSWORDS}) == len(compose_secrets.PASSWORDS)
    assert sorted(p.name for p in (tmp_path / "secrets" / "kafka").iterdir()) == [
        "broker.p12",
        "ca.pem",
        "keystore-password",
    ]


def test_postgres_has_a_synchronous_standby_and_archives_its_wal() -> None:
    primary, standby = COMPOSE["services"]["postgres"], COMPOSE["services"]["postgres-standby"]
    flags = dict(f.split("=", 1) for f in primary["command"] if "=" in f)
    assert flags == {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": "test ! -f /archive/%f && cp %p /archive/%f.part && sync /archive/%f.part "
        "&& mv /archive/%f.part /archive/%f && sync /archive",
        "archive_timeout": "60",
        # A client cut off inside a transaction loses it, and its locks, after ~25 s.
        "tcp_keepalives_idle": "10",
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "10000",
    }
    assert "pg-archive:/archive" in primary["volumes"]
    roles = (ROOT / "ops" / "postgres" / "roles.sh").read_text()
    assert "ALTER SYSTEM SET synchronous_standby_names = 'standby';" in roles
    assert "CREATE ROLE xj_replicator LOGIN REPLICATION NOSUPERUSER" in roles
    # Replication is admitted from the two servers' fixed addresses only.
    assert 'for address in "$PG_PRIMARY_ADDRESS" "$PG_STANDBY_ADDRESS"; do' in roles
    assert 'echo "host replication xj_replicator $address/32 scram-sha-256" >> "$PGDATA/pg_hba.conf"' in roles
    assert "replicator all" not in roles
    addresses = {
        n: COMPOSE["services"][n]["networks"]["default"]["ipv4_address"] for n in ("postgres", "postgres-standby")
    }
    assert addresses == {"postgres": "172.30.15.10", "postgres-standby": "172.30.15.11"}
    assert (primary["environment"]["PG_PRIMARY_ADDRESS"], primary["environment"]["PG_STANDBY_ADDRESS"]) == (
        "172.30.15.10",
        "172.30.15.11",
    )
    assert COMPOSE["networks"]["default"]["ipam"]["config"] == [{"subnet": "172.30.15.0/24"}]
    for svc in ("registration", "awards", "reporting"):
        assert COMPOSE["services"][svc]["environment"]["DATABASE_STANDBY_EXPECTED"] == "true"
    script = (ROOT / "ops" / "postgres" / "standby.sh").read_text()
    assert 'pg_basebackup -h postgres -p 5432 -U xj_replicator -D "$PGDATA" -R -X stream' in script
    assert "exec postgres -c cluster_name=standby -c hot_standby=on" in script  # the name the primary waits for
    assert "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3" in script
    assert "-c tcp_user_timeout=10000" in script
    assert (
        standby["environment"]["PGPASSWORD"] == "${POSTGRES_REPLICATOR_PASSWORD:?run python -m stack.compose_secrets}"
    )
    assert standby["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for waits in ("db-migrate", "registration", "awards", "reporting"):
        assert COMPOSE["services"][waits]["depends_on"]["postgres-standby"] == {"condition": "service_healthy"}
    assert "POSTGRES_REPLICATOR_PASSWORD" in compose_secrets.PASSWORDS


def test_no_service_is_given_a_policy_number() -> None:
    """The policy is adopted versions in awards' database: compose passes none of the old
    variables, and awards refuses to start while one is set (test_legacy_policy.py)."""
    every_value = " ".join(str(v) for s in COMPOSE["services"].values() for v in (s.get("environment") or {}).values())
    every_name = {k for s in COMPOSE["services"].values() for k in (s.get("environment") or {})}
    assert every_name & set(LEGACY_POLICY_VARIABLES) == set()
    assert [name for name in LEGACY_POLICY_VARIABLES if name in every_value] == []


def test_prometheus_is_not_published() -> None:
    assert "ports" not in COMPOSE["services"]["prometheus"]


def secrets_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    check = COMPOSE["services"]["secrets-check"]
    script = check["command"][0].replace("$$", "$")  # compose's escaping
    names = list(check["environment"])
    return subprocess.run(
        ["sh", "-c", script],
        env={"PATH": "/usr/bin:/bin", **{n: env.get(n, "") for n in names}},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_stack_refuses_to_start_with_a_placeholder_or_a_missing_secret() -> None:
    check = COMPOSE["services"]["secrets-check"]
    assert set(check["environment"]) == set(compose_secrets.PASSWORDS)
    assert (
        COMPOSE["services"]["db-migrate"]["depends_on"]["secrets-check"]["condition"]
        == "service_completed_successfully"
    )
    good = {n: f"s3cret-{i}" for i, n in enumerate(compose_secrets.PASSWORDS)}
    assert secrets_check(good).returncode == 0
    placeholder = secrets_check(good | {"POSTGRES_PASSWORD": "change-me-to-a-long-random-string"})
    assert (placeholder.returncode, placeholder.stdout.strip()) == (
        1,
        "refusing to start: POSTGRES_PASSWORD missing or a placeholder; run python -m stack.compose_secrets",
    )
    missing = secrets_check({k: v for k, v in good.items() if k != "KAFKA_OPS_PASSWORD"})
    assert "KAFKA_OPS_PASSWORD missing or a placeholder" in missing.stdout


def test_compose_secrets_makes_every_secret_and_replaces_placeholders(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "COMPOSE_PROFILES=single\nPOSTGRES_PASSWORD=change-me-to-a-long-random-string\nKAFKA_OPS_PASSWORD=kept\n"
    )
    compose_secrets.fill_env(env_file)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert values["COMPOSE_PROFILES"] == "single" and values["KAFKA_OPS_PASSWORD"] == "kept"
    assert set(compose_secrets.PASSWORDS) <= values.keys()
    assert not any(compose_secrets.is_placeholder(values[n]) for n in compose_secrets.PASSWORDS)
    assert len(values["POSTGRES_PASSWORD"]) >= 40
    assert env_file.stat().st_mode & 0o077 == 0


def test_only_prometheus_holds_the_metrics_token_beside_its_config() -> None:
    assert COMPOSE["secrets"] == {"metrics-token": {"file": "./secrets/metrics-token"}}
    for name in ("registration", "awards", "reporting"):
        svc = COMPOSE["services"][name]
        assert (svc["secrets"], svc["environment"]["METRICS_TOKEN_FILE"]) == (
            ["metrics-token"],
            "/run/secrets/metrics-token",
        )
    prometheus = COMPOSE["services"]["prometheus"]
    assert prometheus["secrets"] == [{"source": "metrics-token", "target": "/etc/prometheus/metrics-token"}]
    assert "ports" not in prometheus


def test_every_sender_has_a_produce_quota_before_any_service_starts() -> None:
    quotas = COMPOSE["services"]["kafka-quotas"]
    assert quotas["image"] == BROKERS["kafka"]["image"]  # the official image: it has kafka-configs.sh
    assert quotas["depends_on"] == {"kafka-setup": {"condition": "service_completed_successfully"}}
    for name in ("registration", "awards", "reporting"):
        assert COMPOSE["services"][name]["depends_on"]["kafka-quotas"] == {
            "condition": "service_completed_successfully"
        }
    script = (ROOT / "ops" / "kafka" / "quotas.sh").read_text()
    default = 'configs --alter --entity-type users --entity-default \\\n  --add-config "producer_byte_rate='
    assert default in script  # every user not named otherwise: the sender quota
    assert "for user in ops registration awards reporting; do" in script  # the platform's own: exempt
    assert 'configs --alter --entity-type users --entity-name "$1" --add-config "producer_byte_rate=$2"' in script
    parsed = subprocess.run(["bash", "-n", str(ROOT / "ops" / "kafka" / "quotas.sh")], check=False)
    assert parsed.returncode == 0


def test_traces_go_to_the_official_zipkin_image_on_loopback() -> None:
    zipkin = COMPOSE["services"]["zipkin"]
    assert zipkin["image"] == "openzipkin/zipkin:3.5.1"  # the server the local stack runs from Maven
    assert (zipkin["environment"], zipkin["ports"]) == ({"STORAGE_TYPE": "mem"}, ["127.0.0.1:9411:9411"])
