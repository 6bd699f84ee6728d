"""docker-compose.yml agrees with what the services read (no Docker engine needed)."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.awards.settings import AwardsSettings
from services.registration.settings import RegistrationSettings
from services.reporting.settings import ReportingSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, tuple[type[BaseSettings], int]] = {
    "registration": (RegistrationSettings, 8001),
    "awards": (AwardsSettings, 8002),
    "reporting": (ReportingSettings, 8000),
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_gets_every_setting_it_needs_and_only_known_ones(name: str) -> None:
    settings_cls, spec_port = SERVICES[name]
    svc = COMPOSE["services"][name]
    env = {k: str(v) for k, v in svc["environment"].items()}
    assert svc["command"] == ["python", "-m", f"services.{name}"]
    assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "HTTP_HOST", f"{name.upper()}_PORT"} <= env.keys()
    unknown = {k for k in env if k.lower() not in settings_cls.model_fields}
    assert unknown == set()
    settings = settings_cls.model_validate({k.lower(): v for k, v in env.items() if v != ""})
    port = getattr(settings, f"{name}_port")
    assert port == spec_port == settings_cls.model_fields[f"{name}_port"].default  # SPEC §4 default ports
    assert svc["ports"] == [f"{port}:{port}"]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])
    assert svc["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }


def test_brokers_and_database_agree_with_the_services() -> None:
    kafka = COMPOSE["services"]["kafka"]["environment"]
    pg = COMPOSE["services"]["postgres"]["environment"]
    for name in SERVICES:
        env = COMPOSE["services"][name]["environment"]
        assert f"PLAINTEXT://{env['KAFKA_BOOTSTRAP_SERVERS']}" == kafka["KAFKA_ADVERTISED_LISTENERS"]
        dsn = urlsplit(env["DATABASE_URL"])
        assert (dsn.username, dsn.password, dsn.hostname, dsn.port, dsn.path.lstrip("/")) == (
            pg["POSTGRES_USER"],
            pg["POSTGRES_PASSWORD"],
            "postgres",
            5432,
            pg["POSTGRES_DB"],
        )
    # Services create their topics at start; the broker must not invent others on a typo.
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert int(kafka["KAFKA_MESSAGE_MAX_BYTES"]) >= RegistrationSettings().max_event_bytes
    assert COMPOSE["services"]["kafka"]["image"] == "apache/kafka:4.1.1"  # the version the local stack pins
    pom = (ROOT / "stack" / "kafka" / "pom.xml").read_text()
    assert "<kafka.version>4.1.1</kafka.version>" in pom
