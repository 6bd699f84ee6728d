"""Registration settings (environment variables; defaults are the local stack's)."""

from pathlib import Path

from pydantic import Field

from shared.contract import topics
from shared.process.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    registration_port: int = 8001
    # Who may send which facts over HTTP (services/registration/adapters/sender_registry.py);
    # unset: HTTP intake answers 503.
    sender_authority_file: Path | None = None
    max_event_bytes: int = Field(default=topics.DEFAULT_MAX_EVENT_BYTES, ge=1024, le=8 << 20)
    park_ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    park_sweep_interval_seconds: float = Field(default=30, gt=0)
    # The development intake topic (no sender): open on a PLAINTEXT stack, closed on a
    # secured one unless a test or a drill opens it explicitly (DEVELOPMENT_INTAKE=true).
    development_intake: bool | None = None

    @property
    def development_intake_open(self) -> bool:
        if self.development_intake is not None:
            return self.development_intake
        return self.kafka_security_protocol == "PLAINTEXT"
