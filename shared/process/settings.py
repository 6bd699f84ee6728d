"""Settings every service reads (environment variables, docs/configuration.md)."""

from pathlib import Path

from pydantic import Field, PostgresDsn, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.messaging.kafka import TopicSpec
from shared.messaging.kafka_settings import KafkaSettings
from shared.web.auth import AuthSettings
from shared.web.read_access import read_tokens


class ServiceSettings(KafkaSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True)

    # The service's own role. No default: a forgotten setting must not fall back to a
    # superuser (the local stack's administrator) but stop the service with why.
    database_url: PostgresDsn | None = None
    # A standby is part of the deployment: the ops gauges say when the primary has none
    # (alert PrimaryWithoutStandby).
    database_standby_expected: bool = False
    # `migrate` only: the service's own role, granted its schema's rows after migrating.
    database_runtime_role: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    topic_partitions: int = Field(default=6, ge=1, le=256)
    # 1 on the one-node local stack; 3 with min.insync.replicas 2 on a production cluster.
    topic_replication_factor: int = Field(default=1, ge=1, le=16)
    topic_min_insync_replicas: int | None = Field(default=None, ge=1, le=16)
    http_host: str = "127.0.0.1"
    # Bearer tokens for the read endpoints (comma-separated, or one per line in the file); unset: open reads.
    api_read_tokens: SecretStr | None = None
    api_read_tokens_file: Path | None = None
    log_level: str = "INFO"
    # The token Prometheus sends to scrape /metrics (a file: rotated without a restart);
    # unset, /metrics is closed (503).
    metrics_token_file: Path | None = None
    # Sign-in (shared/web/auth.py): a JWKS file or URL, issuer and audience; who may approve and
    # pay (awards) and who may send facts over HTTP (registration).
    auth_jwks_file: Path | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_roles_claim: str = "roles"
    auth_sender_claim: str = "sender"  # names the sender a `sender` token acts for
    # Consumer batches: one database transaction per fetched batch.
    batch_max_records: int = Field(default=2000, ge=1, le=50_000)
    # How long an empty poll waits for records; it returns as soon as some arrive.
    batch_timeout_ms: int = Field(default=500, ge=1, le=10_000)
    outbox_batch_size: int = Field(default=2000, ge=1, le=50_000)
    outbox_idle_sleep_s: float = Field(default=0.5, gt=0, le=5)  # fallback: commits NOTIFY the relay
    # Bounded retries before a message goes to the consumer's own DLQ (docs/contract/topics.md).
    max_attempts: int = Field(default=5, ge=1, le=100)
    # How often the ops gauges (lag, readiness, outbox age) are refreshed.
    ops_metrics_interval_s: float = Field(default=5, gt=0, le=300)
    # How soon a pattern subscription sees a new topic (registration: a new sender's intake).
    kafka_metadata_max_age_ms: int = Field(default=30_000, ge=1000, le=3_600_000)
    # How long a consumer that stops heartbeating keeps its partitions (aiokafka's default):
    # a member killed with -9 holds its partitions this long before the group moves them.
    kafka_session_timeout_ms: int = Field(default=10_000, ge=6000, le=300_000)
    # Static group membership (KIP-345), one name per process of a service: a process that
    # restarts under its name takes its partitions straight back, where a new member would
    # wait for the dead one's session to lapse and stop the whole group to rebalance. Two
    # live processes must never share one (the broker fences the older). Unset: dynamic.
    kafka_group_instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,200}$")
    # A trace UI (Zipkin's /zipkin) the pages link a payout's basis fact to; unset, no links.
    trace_ui_url: str | None = Field(default=None, pattern=r"^https?://[^\s\"'<>]+$")
    # How often a service retries a Kafka connection that its settings cannot make.
    kafka_retry_interval_s: float = Field(default=5, gt=0, le=300)

    @model_validator(mode="after")
    def _min_isr_fits(self) -> "ServiceSettings":
        if (
            self.topic_min_insync_replicas is not None
            and self.topic_min_insync_replicas > self.topic_replication_factor
        ):
            raise ValueError(
                f"TOPIC_MIN_INSYNC_REPLICAS={self.topic_min_insync_replicas} exceeds "
                f"TOPIC_REPLICATION_FACTOR={self.topic_replication_factor}: no write could ever be acknowledged"
            )
        return self

    def auth(self) -> AuthSettings:
        return AuthSettings(
            jwks_file=self.auth_jwks_file,
            jwks_url=self.auth_jwks_url,
            issuer=self.auth_issuer,
            audience=self.auth_audience,
            roles_claim=self.auth_roles_claim,
            sender_claim=self.auth_sender_claim,
        )

    def read_tokens(self) -> tuple[bytes, ...]:
        return read_tokens(self.api_read_tokens, self.api_read_tokens_file)

    @property
    def topic_spec(self) -> TopicSpec:
        return TopicSpec(self.topic_partitions, self.topic_replication_factor, self.topic_min_insync_replicas)

    @property
    def dsn(self) -> str:
        if self.database_url is None:
            raise RuntimeError(
                "DATABASE_URL is not set: give the service its own role's DSN (docs/configuration.md); "
                "`make up` sets it for the local stack"
            )
        # asyncpg speaks postgresql://, not the SQLAlchemy-style driver suffixes.
        return str(self.database_url).replace("postgresql+asyncpg://", "postgresql://")
