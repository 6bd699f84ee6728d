"""Session fixtures: a real broker and database, and the three services as processes.

The local backend runs a disposable stack under .local/test on its own ports, so a
developer's `make up` stack is never touched and every run starts from empty topics.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from filelock import FileLock

from tests.support.auth import KID, READER
from tests.support.backends import current_backend
from tests.support.browser import close_chromium
from tests.support.http import http_client
from tests.support.stack import AUTH_AUDIENCE, AUTH_ISSUER, ROOT, SERVICE_PORTS, TEST_STACK, Infra, Stack


# Every port below the kernel's ephemeral range (32768+), where a client socket could
# already hold it: the test stack, `make up`'s test stack and the bench all stay under it.
def _stack_env(extra: dict[str, str]) -> dict[str, str]:
    return {
        "STACK_DIR": str(TEST_STACK),
        "STACK_PROMETHEUS": "0",
        "PG_DURABLE": "0",  # a disposable database: no fsync, no WAL archive (docs/durability.md)
        "LOCAL_KAFKA_PORT": "29092",
        "LOCAL_PG_PORT": "25432",
        "REGISTRATION_PORT": str(SERVICE_PORTS["registration"]),
        "AWARDS_PORT": str(SERVICE_PORTS["awards"]),
        "REPORTING_PORT": str(SERVICE_PORTS["reporting"]),
        # Short enough for the PARK_EXPIRED test, long enough for out-of-order tests.
        "PARK_TTL_SECONDS": "12",
        "PARK_SWEEP_INTERVAL_SECONDS": "1",
        "TOPIC_PARTITIONS": "6",
        "PROGRESS_PUBLISH_INTERVAL_SECONDS": "1",
        # The brokers' least (group.min.session.timeout.ms): a killed service's partitions
        # move 4 s sooner, for every kill the suite makes.
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "XJ_CRASH_FILE": str(TEST_STACK / "crash-{service}"),
        # Small batches, so a test can kill awards between two of an adoption's re-decisions.
        "POLICY_REDECISION_BATCH": "50",
        # tests/support/auth.py writes this JWKS and mints the tokens.
        "AUTH_JWKS_FILE": str(TEST_STACK / "jwks.json"),
        "AUTH_ISSUER": AUTH_ISSUER,
        "AUTH_AUDIENCE": AUTH_AUDIENCE,
        # tests/support/auth.py writes this too: who may send what over HTTP.
        "SENDER_AUTHORITY_FILE": str(TEST_STACK / "senders.json"),
        # The workspace's development sign-in form signs with the tests' key.
        "DEV_SIGN_IN_KEY_FILE": str(TEST_STACK / "dev-signing-key.pem"),
        "DEV_SIGN_IN_KID": KID,
        "DEV_SIGN_IN_LOCAL_STACK": "true",
        **extra,
    }


# Modules that start a stack of their own (own broker, ports and directory). Under
# pytest-xdist each is one scope, run whole by one worker; every other e2e module is on the
# shared test stack, whose services run in one worker: one scope too. A stack is handed
# only to an idle worker, in this order after the shared stack (the longest first); single
# tests fill in around them.
OWN_STACKS = (
    "test_cluster_failover",
    "test_secured_kafka",
    "test_database_durability",
    "test_tracing",
    "test_local_stack",
)
SHARED_STACK = "shared-stack"
INFRA_LOCK = TEST_STACK.parent / "test-infra.lock"
INFRA_RUN = TEST_STACK.parent / "test-infra.run"  # the xdist run that started the infra


def pytest_configure(config: pytest.Config) -> None:
    # Every stack the suite starts lives minutes: its brokers skip C2 and G1 (stack/kafka_broker.py).
    os.environ.setdefault("KAFKA_JVM_PERFORMANCE_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


def scope_of(nodeid: str) -> str:
    """The unit one worker runs whole: a stack's tests, or else a single test."""
    path = nodeid.split("::", 1)[0]
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    if stem in OWN_STACKS:
        return stem
    return SHARED_STACK if path.startswith("tests/e2e/") else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class StackScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            # A worker busy with more than its last test (a worker holds its last test back
            # until it has the next) is only topped up with a single test: a stack queued
            # behind another stack would wait while a worker sits idle.
            if self._pending_of(self.assigned_work.get(node, {})) > 1:
                single = next((scope for scope in self.workqueue if scope.startswith("tests/")), None)
                if single is None:
                    return  # asked again as each of its tests completes
                self.workqueue.move_to_end(single, last=False)
            super()._assign_work_unit(node)

    config.option.loadscopereorder = False  # in collection order (below), not by size
    return StackScheduling(config, log)  # type: ignore[arg-type]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The stacks first, in the order above, so the single tests fill in around them."""
    rank = {SHARED_STACK: 0, **{name: n + 1 for n, name in enumerate(OWN_STACKS)}}
    items.sort(key=lambda item: rank.get(scope_of(item.nodeid), len(rank)))  # stable


def _xdist_run(config: pytest.Config) -> str | None:
    """This xdist run's id in a worker, None when pytest runs without workers."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["testrunuid"]) if workerinput else None


def _local_infra(action: str) -> None:
    env = {**os.environ, **_stack_env({})}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "stack.localstack", action]
    if action == "down":
        subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True)
        return
    subprocess.run([*command[:-1], "down"], cwd=ROOT, env=env, check=False, capture_output=True)
    shutil.rmtree(TEST_STACK, ignore_errors=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[Infra]:
    backend = current_backend()
    if backend == "configured":
        yield Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"])
        return
    if backend == "testcontainers":
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-untyped]
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka, PostgresContainer("postgres:15") as pg:
            dsn = pg.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
            yield Infra(kafka.get_bootstrap_server(), dsn)
        return
    local = Infra("127.0.0.1:29092", "postgresql://xj:xj@127.0.0.1:25432/xj")
    run = _xdist_run(request.config)
    if run is None:
        _local_infra("infra")
        try:
            yield local
        finally:
            _local_infra("down")
        return
    # Workers share one broker and database: the first starts them, the controller stops them.
    INFRA_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(INFRA_LOCK):
        if not INFRA_RUN.exists() or INFRA_RUN.read_text() != run:
            _local_infra("infra")
            INFRA_RUN.write_text(run)
    yield local


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The xdist controller stops the infra its workers shared, once they are all done; only
    its own run's (a `pytest tests/unit` beside a running suite leaves that suite's alone)."""
    nodes = getattr(session.config.pluginmanager.getplugin("dsession"), "nodemanager", None)
    if nodes is not None and INFRA_RUN.exists() and INFRA_RUN.read_text() == nodes.testrunuid:
        INFRA_RUN.unlink()
        _local_infra("down")


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[Stack]:
    s = Stack(infra, _stack_env({"KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "DATABASE_URL": infra.dsn}))
    from tests.support.auth import write_jwks, write_senders

    write_jwks()
    write_senders()
    s.up()
    try:
        yield s
    finally:
        for service in SERVICE_PORTS:
            pid_file = TEST_STACK / "run" / f"{service}.pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.killpg(int(pid_file.read_text()), signal.SIGTERM)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the services, signed in as a reader (reads are closed to anyone
    else); a request's own Authorization header replaces it. Generous timeout: exports and
    what-ifs take seconds."""
    async with http_client(timeout=120, headers=READER) as c:
        yield c


@pytest.fixture(scope="session", autouse=True)
async def _one_browser_per_process() -> AsyncIterator[None]:
    """The Chromium the page tests share in this test process, closed when it is done."""
    yield
    await close_chromium()
