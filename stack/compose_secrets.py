"""Secrets for `docker compose` (the ops path): the brokers' TLS material in ./secrets/kafka/,
the token Prometheus scrapes /metrics with in ./secrets/metrics-token, and a password for
every Kafka principal and database role, the administrator's included, in .env — made
once: real ones are kept, missing, empty or placeholder ones (.env.example's `change-me…`)
are made. Compose's `secrets-check` step refuses to start the stack while any
is missing or a placeholder.

    python -m stack.compose_secrets

The CA certificate (ca.pem) is public; the keystore and its password are readable only by
the user the apache/kafka image runs as (uid 1000) and root. Production uses its own CA
and secret store instead: the file names and variables are the interface.
"""

import os
import secrets
from pathlib import Path

from stack.kafka_nodes import write_tls_material
from stack.layout import ROOT

DIRECTORY = ROOT / "secrets" / "kafka"
METRICS_TOKEN = ROOT / "secrets" / "metrics-token"
HOSTS = ["kafka", "kafka-1", "kafka-2", "kafka-3", "localhost"]
KAFKA_UID = 1000  # apache/kafka's appuser
PASSWORDS = [f"KAFKA_{who}_PASSWORD" for who in ("CONTROLLER", "BROKER", "OPS", "REGISTRATION", "AWARDS", "REPORTING")]
# PostgreSQL's roles (ops/postgres/roles.sh): the migration role and one per service.
PASSWORDS += [f"POSTGRES_{who}_PASSWORD" for who in ("MIGRATOR", "REGISTRATION", "AWARDS", "REPORTING", "REPLICATOR")]
PASSWORDS += ["POSTGRES_PASSWORD"]  # the administrator's: no service uses it, and no placeholder either


def is_placeholder(value: str) -> bool:
    return value.strip() == "" or value.strip().lower().startswith("change-me")


def unusable(env: dict[str, str]) -> list[str]:
    """The secrets missing from `env` or still a placeholder."""
    return [name for name in PASSWORDS if is_placeholder(env.get(name, ""))]


def main(env_file: Path = ROOT / ".env") -> None:
    if not (DIRECTORY / "broker.p12").exists():
        write_tls_material(DIRECTORY, HOSTS)
        os.chmod(DIRECTORY, 0o755)
        os.chmod(DIRECTORY / "ca.pem", 0o644)
        if os.geteuid() == 0:
            for name in ("broker.p12", "keystore-password"):
                os.chown(DIRECTORY / name, KAFKA_UID, KAFKA_UID)
        print(f"wrote {DIRECTORY}/ca.pem, broker.p12, keystore-password for {', '.join(HOSTS)}")
    write_metrics_token(METRICS_TOKEN)
    fill_env(env_file)


def write_metrics_token(path: Path) -> None:
    """Made once, kept after. Readable by the services (their image's user) and Prometheus
    (nobody), which compose gives it to as a secret: the file is theirs, not the public's."""
    if path.exists() and path.read_text().strip():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_urlsafe(32))
    os.chmod(path, 0o644)
    print(f"wrote {path}")


def fill_env(env_file: Path) -> None:
    """Every secret in .env: real ones kept, missing, empty or placeholder ones made."""
    text = env_file.read_text() if env_file.exists() else ""
    lines = text.splitlines()
    values = {ln.split("=", 1)[0]: ln.split("=", 1)[1] for ln in lines if "=" in ln and not ln.startswith("#")}
    made = unusable(values)
    if made:
        kept = [ln for ln in lines if not ("=" in ln and not ln.startswith("#") and ln.split("=", 1)[0] in made)]
        kept += [f"{name}={secrets.token_urlsafe(32)}" for name in made]
        env_file.write_text("\n".join(kept) + "\n")
        os.chmod(env_file, 0o600)
        print(f"made {', '.join(made)} in {env_file}")


if __name__ == "__main__":
    main()
