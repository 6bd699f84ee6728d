"""Which Kafka and PostgreSQL the tests use (docs/configuration.md): configured endpoints first, then
testcontainers when a Docker engine answers, else the project's local stack."""

import os
from collections.abc import Mapping
from typing import Literal

Backend = Literal["configured", "testcontainers", "local"]


def choose_backend(env: Mapping[str, str], *, docker_available: bool) -> Backend:
    if env.get("KAFKA_BOOTSTRAP_SERVERS") and env.get("DATABASE_URL"):
        return "configured"
    if docker_available and env.get("XJ_TESTS_NO_DOCKER") != "1":
        return "testcontainers"
    return "local"


def docker_available() -> bool:
    """True only when a Docker engine answers, not merely when the client is installed."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:  # noqa: BLE001 - no engine, whatever the reason
        return False


def current_backend() -> Backend:
    return choose_backend(os.environ, docker_available=docker_available())
