"""PostgreSQL from Debian's package, tuned for a disposable development database.

Connections over TCP authenticate with passwords (scram-sha-256); only the `postgres` OS
user on the server's own socket is trusted (peer), to bootstrap. Roles (shared/db.py):

    xj            the administrator: a superuser, for bootstrap and the tests' inspection
    xj_migrator   owns the schemas; runs `migrate`, redrive and rebuild (the ops role)
    xj_<service>  one per service: its own schema's rows, nothing else; not a superuser
"""

import os
import secrets
import shutil
import subprocess
from urllib.parse import quote, urlsplit

from stack.layout import LOGS, PG_BIN, PG_DIR, PG_PORT, PG_SECRETS
from stack.processes import say

MIGRATOR = "xj_migrator"
SERVICE_ROLES = {svc: f"xj_{svc}" for svc in ("registration", "awards", "reporting")}


def external_database() -> str | None:
    given = os.environ.get("DATABASE_URL", "")
    if not given:
        return None
    url = urlsplit(given)
    return None if url.hostname in ("127.0.0.1", "localhost") and url.port == PG_PORT else given


def as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and these machines run as root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def ensure_postgres_installed() -> None:
    if (PG_BIN / "postgres").exists():
        return
    say("installing PostgreSQL (Debian package)")
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "postgresql"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def pg_running() -> bool:
    data = PG_DIR / "data"
    return (
        data.exists()
        and subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "status", "-D", str(data)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
        == 0
    )


def start_postgres() -> None:
    if pg_running():
        return
    ensure_postgres_installed()
    data = PG_DIR / "data"
    PG_DIR.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(PG_DIR, "postgres", "postgres")
    fresh = not (data / "PG_VERSION").exists()
    if fresh:
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    say(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
    # Dev/test tuning: no fsync (an OS crash may lose the disposable data), but every commit
    # reaches the kernel before it returns: a kill -9 of PostgreSQL must not undo a commit
    # whose Kafka offsets were already committed (synchronous_commit=off would, `make chaos`).
    opts = (
        f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=on -c full_page_writes=off -c max_connections=200 "
        "-c shared_buffers=256MB -c shared_preload_libraries=pg_stat_statements "
        "-c autovacuum_naptime=10s"
    )
    pg_log = PG_DIR / "postgres.log"
    subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "start", "-w", "-D", str(data), "-o", opts, "-l", str(pg_log)]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if fresh:
        subprocess.run([*psql(), "CREATE ROLE xj LOGIN PASSWORD 'xj' SUPERUSER"], check=True)
        subprocess.run([*psql(), "CREATE DATABASE xj OWNER xj"], check=True)
    ensure_roles("xj")


def psql(database: str = "postgres") -> list[str]:
    return as_postgres(
        [str(PG_BIN / "psql"), "-h", "/tmp", "-p", str(PG_PORT), "-U", "postgres", "-d", database, "-q", "-c"]
    )


def role_password(role: str) -> str:
    """Made once per stack, kept 0600 under STACK_DIR/pg-secrets."""
    path = PG_SECRETS / f"{role}.password"
    if not path.exists():
        PG_SECRETS.mkdir(parents=True, exist_ok=True)
        os.chmod(PG_SECRETS, 0o700)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def ensure_roles(database: str) -> None:
    """The migration role and one role per service, with their passwords, and the
    extensions the migrations use (idempotent)."""
    statements = []
    for role in (MIGRATOR, *SERVICE_ROLES.values()):
        password = role_password(role).replace("'", "''")
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$;"
            f"ALTER ROLE {role} PASSWORD '{password}';"
        )
    statements.append(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {MIGRATOR};")
    # Extensions are a superuser's to install; awards' owed-payout search uses trigrams.
    statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;")
    subprocess.run([*psql(database), "".join(statements)], check=True, stdout=subprocess.DEVNULL)


def role_dsn(role: str, database: str = "xj") -> str:
    return f"postgresql://{role}:{quote(role_password(role), safe='')}@127.0.0.1:{PG_PORT}/{database}"


def stop_postgres() -> None:
    if pg_running():
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "stop", "-m", "fast", "-D", str(PG_DIR / "data")]),
            check=False,
            stdout=subprocess.DEVNULL,
        )
