"""PostgreSQL from Debian's package, tuned for a disposable development database."""

import os
import shutil
import subprocess
from urllib.parse import urlsplit

from stack.layout import LOGS, PG_BIN, PG_DIR, PG_PORT
from stack.processes import say


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
                    "--auth=trust",
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
        psql = as_postgres(
            [str(PG_BIN.parent / "bin" / "psql"), "-h", "/tmp", "-p", str(PG_PORT), "-U", "postgres", "-q", "-c"]
        )
        subprocess.run([*psql, "CREATE ROLE xj LOGIN PASSWORD 'xj' SUPERUSER"], check=True)
        subprocess.run([*psql, "CREATE DATABASE xj OWNER xj"], check=True)


def stop_postgres() -> None:
    if pg_running():
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "stop", "-m", "fast", "-D", str(PG_DIR / "data")]),
            check=False,
            stdout=subprocess.DEVNULL,
        )
