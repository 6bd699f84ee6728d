"""How every Kafka client of the project connects: one settings model, one set of options.

Services, the outbox producer, the admin client, `rebuild`, the simulator, the bench and
the tests all build their aiokafka / FastStream clients from `KafkaSettings`, so a
secured cluster is configured once, by environment variables:

    KAFKA_BOOTSTRAP_SERVERS   host:port[,host:port...]
    KAFKA_SECURITY_PROTOCOL   PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    KAFKA_SASL_MECHANISM      PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE
    KAFKA_SSL_CAFILE, KAFKA_SSL_CERTFILE, KAFKA_SSL_KEYFILE
"""

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

if TYPE_CHECKING:  # FastStream is imported where a broker is made: the stack's CLI reads settings without it
    from faststream.security import BaseSecurity


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True)

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS must name at least one broker")
        return value

    @field_validator("kafka_sasl_password_file", "kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "KafkaSettings":
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl:
            missing = [
                name
                for name, given in (
                    ("KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism is not None),
                    ("KAFKA_SASL_USERNAME", bool(self.kafka_sasl_username)),
                    (
                        "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE",
                        self.kafka_sasl_password is not None or self.kafka_sasl_password_file is not None,
                    ),
                )
                if not given
            ]
            if missing:
                raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs {', '.join(missing)}")
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            raise ValueError("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
        if not self.uses_tls and (self.kafka_ssl_cafile or self.kafka_ssl_certfile or self.kafka_ssl_keyfile):
            raise ValueError(f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}")
        return self

    @classmethod
    def from_vars(cls, variables: Mapping[str, str]) -> "KafkaSettings":
        """Settings from these variables alone (e.g. a stack.env), not the process environment."""
        return _VarsOnly.model_validate({k.lower(): v for k, v in variables.items() if k.startswith("KAFKA_") and v})

    @property
    def bootstrap_list(self) -> list[str]:
        return [a.strip() for a in self.kafka_bootstrap_servers.split(",") if a.strip()]

    @property
    def uses_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def sasl_password(self) -> str | None:
        if self.kafka_sasl_password_file is not None:
            # A mounted secret usually ends with a newline that is not part of the password.
            return self.kafka_sasl_password_file.read_text().rstrip("\r\n")
        return self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None,
            certfile=str(self.kafka_ssl_certfile) if self.kafka_ssl_certfile else None,
            keyfile=str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None,
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_list,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.kafka_security_protocol.startswith("SASL_"):
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": self.sasl_password(),
            }
        return options

    def faststream_security(self) -> "BaseSecurity | None":
        """The same connection for FastStream's `KafkaBroker(security=...)`."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        if self.kafka_security_protocol == "PLAINTEXT":
            return None
        context = self.ssl_context()
        if self.kafka_security_protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        assert self.kafka_sasl_mechanism is not None and self.kafka_sasl_username is not None
        sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
            self.kafka_sasl_mechanism
        ]
        return sasl(
            username=self.kafka_sasl_username,
            password=self.sasl_password() or "",
            ssl_context=context,
            use_ssl=self.uses_tls,
        )

    def describe(self) -> str:
        """Where and how, for log lines: never a secret."""
        who = f" as {self.kafka_sasl_username} ({self.kafka_sasl_mechanism})" if self.kafka_sasl_username else ""
        return f"{self.kafka_bootstrap_servers} over {self.kafka_security_protocol}{who}"


class _VarsOnly(KafkaSettings):
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def local_vars() -> Mapping[str, str]:
    """The environment; when it names no broker, the stack.env that `make up` wrote
    (STACK_DIR, default .local): its addresses and the ops principal. For the CLIs."""
    env_file = Path(os.environ.get("STACK_DIR", ".local")) / "stack.env"
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or not env_file.exists():
        return os.environ
    return dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)


def local_connection() -> tuple[KafkaSettings, str]:
    """Kafka settings and DATABASE_URL as `local_vars` gives them (no default: a missing
    setting must not fall back to the local stack's superuser)."""
    env = local_vars()
    return KafkaSettings.from_vars(env), env.get("DATABASE_URL", "")


def kafka_options(target: "KafkaSettings | str") -> dict[str, Any]:
    """Client options from settings, or from a bare bootstrap address (a PLAINTEXT broker)."""
    if isinstance(target, str):
        return {"bootstrap_servers": [a.strip() for a in target.split(",") if a.strip()]}
    return target.client_options()
