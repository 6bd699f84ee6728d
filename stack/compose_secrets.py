"""Secrets for `docker compose` (the ops path): the brokers' TLS material in ./secrets/kafka/
and a password for every Kafka principal and database role in .env, made once (existing
ones are kept).

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
HOSTS = ["kafka", "kafka-1", "kafka-2", "kafka-3", "localhost"]
KAFKA_UID = 1000  # apache/kafka's appuser
PASSWORDS = [f"KAFKA_{who}_PASSWORD" for who in ("CONTROLLER", "BROKER", "OPS", "REGISTRATION", "AWARDS", "REPORTING")]
# PostgreSQL's roles (ops/postgres/roles.sh): the migration role and one per service.
PASSWORDS += [f"POSTGRES_{who}_PASSWORD" for who in ("MIGRATOR", "REGISTRATION", "AWARDS", "REPORTING", "REPLICATOR")]


def main(env_file: Path = ROOT / ".env") -> None:
    if not (DIRECTORY / "broker.p12").exists():
        write_tls_material(DIRECTORY, HOSTS)
        os.chmod(DIRECTORY, 0o755)
        os.chmod(DIRECTORY / "ca.pem", 0o644)
        if os.geteuid() == 0:
            for name in ("broker.p12", "keystore-password"):
                os.chown(DIRECTORY / name, KAFKA_UID, KAFKA_UID)
        print(f"wrote {DIRECTORY}/ca.pem, broker.p12, keystore-password for {', '.join(HOSTS)}")
    text = env_file.read_text() if env_file.exists() else ""
    present = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}
    missing = [name for name in PASSWORDS if name not in present]
    if missing:
        lines = "".join(f"{name}={secrets.token_urlsafe(32)}\n" for name in missing)
        env_file.write_text(text + ("" if text.endswith("\n") or not text else "\n") + lines)
        os.chmod(env_file, 0o600)
        print(f"added {', '.join(missing)} to {env_file}")


if __name__ == "__main__":
    main()
