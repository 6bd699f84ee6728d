"""Settings every service reads (environment variables, SPEC §6)."""

from pydantic import Field, PostgresDsn, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    database_url: PostgresDsn = PostgresDsn("postgresql://xj:xj@127.0.0.1:15432/xj")
    topic_partitions: int = Field(default=6, ge=1, le=256)
    http_host: str = "127.0.0.1"
    log_level: str = "INFO"
    # Consumer batches: one database transaction per fetched batch.
    batch_max_records: int = Field(default=2000, ge=1, le=50_000)
    batch_timeout_ms: int = Field(default=50, ge=1, le=10_000)
    outbox_batch_size: int = Field(default=2000, ge=1, le=50_000)
    outbox_idle_sleep_s: float = Field(default=0.02, gt=0, le=5)
    # Bounded retries before a message goes to the consumer's own DLQ (SPEC §3.2).
    max_attempts: int = Field(default=5, ge=1, le=100)

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS must name at least one broker")
        return value

    @property
    def dsn(self) -> str:
        # asyncpg speaks postgresql://, not the SQLAlchemy-style driver suffixes.
        return str(self.database_url).replace("postgresql+asyncpg://", "postgresql://")
