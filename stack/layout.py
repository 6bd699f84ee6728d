"""Where the local stack lives and listens: paths under STACK_DIR, ports, the services."""

import os
from dataclasses import dataclass
from pathlib import Path

from stack.kafka_nodes import KafkaLayout

ROOT = Path(__file__).resolve().parent.parent
# STACK_DIR lets the test suite run a second, disposable stack beside a developer's.
LOCAL = Path(os.environ.get("STACK_DIR") or ROOT / ".local").resolve()
RUN = LOCAL / "run"
LOGS = LOCAL / "logs"
KAFKA_LIBS = ROOT / ".local" / "kafka-libs"  # a cache shared by every stack
KAFKA_DIR = LOCAL / "kafka"
PG_DIR = LOCAL / "pg"
STACK_ENV = LOCAL / "stack.env"

KAFKA_PORT = int(os.environ.get("LOCAL_KAFKA_PORT", "19092"))
KAFKA = KafkaLayout.from_env(base_port=KAFKA_PORT, kafka_dir=KAFKA_DIR)
PG_PORT = int(os.environ.get("LOCAL_PG_PORT", "15432"))
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# The database administrator (a superuser, for the stack's own bootstrap and the tests'
# inspection); the services and ops use the roles of stack/postgres.py instead.
LOCAL_DATABASE_URL = f"postgresql://xj:xj@127.0.0.1:{PG_PORT}/xj"
PG_SECRETS = LOCAL / "pg-secrets"
METRICS_TOKEN = LOCAL / "metrics-token"  # what Prometheus sends to scrape /metrics
PROMETHEUS_PORT = int(os.environ.get("LOCAL_PROMETHEUS_PORT", "9090"))
WITH_PROMETHEUS = os.environ.get("STACK_PROMETHEUS", "1") != "0"  # 0 leaves it out (tests, bench)
# TRACING=1: a Zipkin server, and every service sending it its spans (stack/zipkin.py).
WITH_TRACING = os.environ.get("TRACING", "0") == "1"
ZIPKIN_PORT = int(os.environ.get("LOCAL_ZIPKIN_PORT", "9411"))
ZIPKIN_JAR = ROOT / ".local" / "zipkin-lib" / "zipkin-server-3.5.1-exec.jar"  # a cache shared by every stack
REPLICAS = int(os.environ.get("SERVICE_REPLICAS") or "1")
REPLICA_PORT_STEP = 100  # replica r of a service listens on its port + 100 * (r - 1)


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    url_var: str


SERVICES = (
    Service("registration", int(os.environ.get("REGISTRATION_PORT", "8001")), "REGISTRATION_URL"),
    Service("awards", int(os.environ.get("AWARDS_PORT", "8002")), "AWARDS_URL"),
    Service("reporting", int(os.environ.get("REPORTING_PORT", "8000")), "REPORTING_URL"),
)
