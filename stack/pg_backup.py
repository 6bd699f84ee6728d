"""Base backups and point-in-time recovery for the local stack's PostgreSQL.

Continuous archiving (stack/postgres.py: `archive_command` copies every finished WAL
segment to PG_DIR/wal-archive, at least once a minute) plus base backups taken with
pg_basebackup; a restore unpacks the newest base backup older than the target into a
fresh data directory and replays the archive up to the target time (or to its end).

    python -m stack.localstack backup                 # make backup
    python -m stack.localstack restore [--at TIME]    # make restore AT="2026-12-02 10:15:00+08"

Kept: the newest PG_BACKUP_KEEP base backups (7) and the WAL from the oldest of them on.
"""

import json
import os
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from stack.layout import PG_BIN, PG_DIR
from stack.postgres import (
    DURABLE,
    NODES,
    PRIMARY_FILE,
    REPLICATOR,
    WAL_ARCHIVE,
    as_postgres,
    node_running,
    primary,
    role_password,
    sql,
    start_node,
    write_as_postgres,
)
from stack.processes import say, wait_for

BACKUPS = PG_DIR / "backups"
KEEP = int(os.environ.get("PG_BACKUP_KEEP", "7"))
SEGMENT = 16 * 1024 * 1024


def backup() -> Path:
    """A base backup of the primary (tar, gzip, with the WAL it needs), then the retention."""
    if not DURABLE:
        raise SystemExit("backups need the WAL archive: not with PG_DURABLE=0")
    node = primary()
    dest = BACKUPS / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    BACKUPS.mkdir(mode=0o700, parents=True, exist_ok=True)  # a whole copy of the books
    os.chmod(BACKUPS, 0o700)
    if os.geteuid() == 0:
        shutil.chown(BACKUPS, "postgres", "postgres")
    subprocess.run(
        as_postgres(
            [
                str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(node.port), "-U", REPLICATOR,
                "-D", str(dest), "-Ft", "-z", "-X", "fetch", "-c", "fast",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PGPASSWORD": role_password(REPLICATOR)},
    )  # fmt: skip
    say(f"base backup {dest.name} of {node.name}")
    prune()
    return dest


def backups() -> list[Path]:
    return sorted(p for p in BACKUPS.glob("*Z") if (p / "base.tar.gz").exists()) if BACKUPS.exists() else []


def first_wal_segment(backup_dir: Path) -> str:
    """The WAL file a backup starts in (its manifest's first WAL range)."""
    start = json.loads((backup_dir / "backup_manifest").read_text())["WAL-Ranges"][0]
    high, low = (int(x, 16) for x in start["Start-LSN"].split("/"))
    return f"{start['Timeline']:08X}{high:08X}{low // SEGMENT:08X}"


def prune() -> None:
    kept = backups()[-KEEP:]
    for old in backups()[:-KEEP]:
        shutil.rmtree(old)
    if kept:  # WAL older than the oldest kept backup restores nothing
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_archivecleanup"), str(WAL_ARCHIVE), first_wal_segment(kept[0])]),
            check=True,
            stdout=subprocess.DEVNULL,
        )


def chosen(at: datetime | None) -> Path:
    """The newest base backup that started before `at` (any, without a target)."""
    eligible = [b for b in backups() if at is None or _started(b) < at]
    if not eligible:
        raise SystemExit(f"no base backup before {at}: `make backup` takes one" if at else "no base backup")
    return eligible[-1]


def _started(b: Path) -> datetime:
    return datetime.strptime(b.name, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)


def restore(at: datetime | None) -> None:
    """PostgreSQL stopped; each node's data is set aside (PG_DIR/<node>.replaced-<time>),
    the chosen backup unpacked into the first node, the archive replayed to `at` (or to its
    end) and the server promoted. The standby, if any, is cloned again by the next start."""
    if any(node_running(n) for n in NODES):
        raise SystemExit("stop PostgreSQL first (the restore command does)")
    source = chosen(at)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in NODES:
        if n.data.exists():
            n.data.rename(PG_DIR / f"{n.name}.replaced-{stamp}")
    target = NODES[0]
    target.data.mkdir(mode=0o700)
    with tarfile.open(source / "base.tar.gz") as tar:
        tar.extractall(target.data, filter="tar")
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(target.data)], check=True)
    os.chmod(target.data, 0o700)
    recovery = {
        "restore_command": f"'cp {WAL_ARCHIVE}/%f %p'",
        "recovery_target_timeline": "'latest'",
        "recovery_target_action": "'promote'",
        "synchronous_standby_names": "''",  # no standby yet: writes must not wait for one
        **({"recovery_target_time": f"'{at.isoformat()}'"} if at else {}),
    }
    auto = target.data / "postgresql.auto.conf"
    write_as_postgres(auto, auto.read_text() + "".join(f"{k} = {v}\n" for k, v in recovery.items()))
    write_as_postgres(target.data / "recovery.signal", "")
    write_as_postgres(PRIMARY_FILE, target.name + "\n")
    say(f"restoring {source.name} into {target.name}, replaying the WAL archive to {at or 'its end'}")
    start_node(target)
    wait_for("recovery to finish", lambda: sql(target, "SELECT pg_is_in_recovery()", capture=True) == "f\n", 600)
    for setting in ("restore_command", "recovery_target_time", "recovery_target_action", "recovery_target_timeline"):
        sql(target, f"ALTER SYSTEM RESET {setting}")  # else a standby cloned from it would stop at the target
    sql(target, "SELECT pg_reload_conf()")
    say(f"restored; the replaced data directories are kept under {PG_DIR} (*.replaced-{stamp})")


def parse_time(text: str) -> datetime:
    """ISO 8601 with a zone, e.g. 2026-12-02T10:15:00+08:00 (a time without one is refused)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SystemExit(f"give the time with its zone (+08:00 for Beijing): {text!r}")
    return moment
