"""Registration settings (environment variables; defaults are the local stack's)."""

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    registration_port: int = 8001
    # Writes need `Authorization: Bearer <token>` when set.
    registration_api_token: SecretStr | None = None
    max_event_bytes: int = Field(default=1 << 20, ge=1024, le=8 << 20)
    park_ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    park_sweep_interval_seconds: float = Field(default=30, gt=0)
