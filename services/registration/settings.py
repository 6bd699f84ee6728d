"""Registration settings (environment variables; defaults are the local stack's)."""

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    registration_port: int = 8001
    # Who may send which facts over HTTP (services/registration/adapters/sender_registry.py);
    # unset: HTTP intake answers 503.
    sender_authority_file: Path | None = None
    max_event_bytes: int = Field(default=1 << 20, ge=1024, le=8 << 20)
    park_ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    park_sweep_interval_seconds: float = Field(default=30, gt=0)
