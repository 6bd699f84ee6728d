"""PostgreSQL from Debian's package: one server, or a primary and a synchronous standby
(PG_STANDBY=1), durable (fsync, full-page writes, WAL archive) unless PG_DURABLE=0.

Connections over TCP authenticate with passwords (scram-sha-256); only the `postgres` OS
user on the server's own socket is trusted (peer), to bootstrap. Roles (shared/process/db.py):

    xj            the administrator: a superuser, for bootstrap and the tests' inspection
    xj_migrator   owns the schemas; runs `migrate`, redrive and rebuild (the ops role)
    xj_<service>  one per service: its own schema's rows, nothing else; not a superuser
"""

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from shared.process.dsn import parse as parse_dsn
from stack.layout import KAFKA, LOGS, PG_BIN, PG_DIR, PG_PORT, PG_SECRETS
from stack.processes import say, wait_for

MIGRATOR = "xj_migrator"
SERVICE_ROLES = {svc: f"xj_{svc}" for svc in ("registration", "awards", "reporting")}


def external_database() -> str | None:
    given = os.environ.get("DATABASE_URL", "")
    if not given:
        return None
    ours = parse_dsn(given).hosts
    return None if {port for host, port in ours if host in ("127.0.0.1", "localhost")} & {PG_PORT} else given


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


@dataclass(frozen=True)
class PgNode:
    name: str  # also its cluster_name: how the primary names its synchronous standby
    data: Path
    port: int

    @property
    def fenced(self) -> Path:
        return self.data / "FENCED"


# PG_STANDBY=1: two servers by streaming replication, the second a synchronous standby.
STANDBY = os.environ.get("PG_STANDBY") == "1"
# PG_DURABLE=0 (the test suite's disposable stacks): no fsync, no full-page writes, no
# WAL archive. Otherwise every commit is on disk (and, with a standby, on its disk too).
DURABLE = STANDBY or os.environ.get("PG_DURABLE", "1") != "0"
NODES = (PgNode("pg-a", PG_DIR / "data", PG_PORT), PgNode("pg-b", PG_DIR / "data-b", PG_PORT + 1))
WAL_ARCHIVE = PG_DIR / "wal-archive"  # production keeps it on other storage (docs/durability.md)
PRIMARY_FILE = PG_DIR / "primary"  # which node is the primary: failover moves it
REPLICATOR = "xj_replicator"


def nodes() -> tuple[PgNode, ...]:
    """The servers this stack runs: both with a standby, else the current primary alone
    (after a failover that is pg-b, so a plain `make up` comes up where the data is)."""
    return NODES if STANDBY else (primary(),)


def standby_expected() -> bool:
    """The stack was set up with a standby (its second server's data exists), whatever this
    `make up` was started with: after a failover the primary must not run alone unnoticed."""
    return STANDBY or (NODES[1].data / "PG_VERSION").exists()


def primary() -> PgNode:
    name = PRIMARY_FILE.read_text().strip() if PRIMARY_FILE.exists() else NODES[0].name
    return next(n for n in NODES if n.name == name)


def standby_of(node: PgNode) -> PgNode:
    return next(n for n in NODES if n is not node)


def node_running(node: PgNode) -> bool:
    return (node.data / "PG_VERSION").exists() and subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "status", "-D", str(node.data)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    ).returncode == 0


def pg_running() -> bool:
    return node_running(primary())


def _settings() -> dict[str, str]:
    """What every node runs with (stack.conf, included by postgresql.conf)."""
    settings = {
        # SERVICE_NETNS=1: also the bridge, where a replica on a node's machine connects.
        "listen_addresses": f"'127.0.0.1,{KAFKA.bridge_address}'" if KAFKA.service_netns else "'127.0.0.1'",
        "unix_socket_directories": "'/tmp'",
        "max_connections": "200",
        "shared_buffers": "'256MB'",
        "shared_preload_libraries": "'pg_stat_statements'",
        "autovacuum_naptime": "'10s'",
        # Every commit reaches the kernel before it returns: a kill -9 of PostgreSQL must not
        # undo a commit whose Kafka offsets were already committed (`make chaos`).
        "synchronous_commit": "on",
        "fsync": "on" if DURABLE else "off",
        "full_page_writes": "on" if DURABLE else "off",
        # A client cut off inside a transaction holds its row locks until the server notices:
        # probes after 10 s idle, every 5 s, three missed; or a reply unacknowledged for 10 s
        # — the backend ends, its transaction rolls back, the locks free (the OS defaults
        # would wait two hours, or 15 minutes of retransmissions).
        "tcp_keepalives_idle": "10",
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "10000",
        "wal_level": "replica",
        "hot_standby": "on",
    }
    if DURABLE:  # continuous archiving, for point-in-time recovery (stack/pg_backup.py)
        A = WAL_ARCHIVE
        settings |= {
            "archive_mode": "on",
            # On disk before PostgreSQL may recycle the segment, and never half a file under
            # its own name; written as it is archived, not all at once when the kernel's dirty
            # pages expire (a burst's archive written back in one go stalled commits).
            "archive_command": f"'test ! -f {A}/%f && cp %p {A}/%f.part && sync {A}/%f.part && mv {A}/%f.part {A}/%f "
            f"&& sync {A}'",
            "archive_timeout": "'60s'",  # a quiet hour still archives: the archive's RPO
        }
    return settings


def _write_settings(node: PgNode) -> None:
    conf = "".join(f"{k} = {v}\n" for k, v in _settings().items())
    write_as_postgres(node.data / "stack.conf", "# written by stack/postgres.py at every start\n" + conf)
    main = (node.data / "postgresql.conf").read_text()
    if "include_if_exists = 'stack.conf'" not in main:
        write_as_postgres(node.data / "postgresql.conf", main + "\ninclude_if_exists = 'stack.conf'\n")
    hba = (node.data / "pg_hba.conf").read_text()
    if KAFKA.service_netns and _machines_line() not in hba:
        write_as_postgres(node.data / "pg_hba.conf", hba + _machines_line())


def _machines_line() -> str:
    """From the nodes' namespaces: the service roles, to the stack's database, by password."""
    roles = ",".join(SERVICE_ROLES.values())
    return f"host xj {roles} {KAFKA.subnet}.0/24 scram-sha-256\n"


def write_as_postgres(path: Path, text: str) -> None:
    path.write_text(text)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _prepare_dirs() -> None:
    PG_DIR.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    WAL_ARCHIVE.mkdir(exist_ok=True)
    for d in (PG_DIR, WAL_ARCHIVE):  # every row is in the WAL: the server's account alone reads it
        os.chmod(d, 0o700)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")


def start_node(node: PgNode) -> None:
    if node.fenced.exists():
        raise SystemExit(
            f"{node.name} was the primary before a failover and is fenced: it must not come back as a writer. "
            "`make pg-rejoin` rebuilds it as the new primary's standby."
        )
    _write_settings(node)
    say(f"starting PostgreSQL {node.name} on 127.0.0.1:{node.port}")
    subprocess.run(
        as_postgres(
            [
                str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "120", "-D", str(node.data),
                "-o", f"-p {node.port} -c cluster_name={node.name}", "-l", str(PG_DIR / f"{node.name}.log"),
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def start_postgres() -> None:
    ensure_postgres_installed()
    _prepare_dirs()
    first = primary()
    fresh = not (first.data / "PG_VERSION").exists()
    if fresh:
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "initdb"), "-D", str(first.data), "-U", "postgres", "--auth-local=peer",
                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not node_running(first):
        start_node(first)
    if fresh:
        subprocess.run([*psql(), "CREATE ROLE xj LOGIN PASSWORD 'xj' SUPERUSER"], check=True)
        subprocess.run([*psql(), "CREATE DATABASE xj OWNER xj"], check=True)
    ensure_roles("xj")
    if STANDBY:
        start_standby(first)


def start_standby(of: PgNode) -> None:
    """The other node as `of`'s synchronous standby: cloned by pg_basebackup when it has no
    data, then named in `of`'s synchronous_standby_names once it streams."""
    node = standby_of(of)
    if node.fenced.exists():  # after a failover: writes go on unmirrored until it is rebuilt
        say(f"{node.name} is fenced (the old primary): no synchronous standby until `make pg-rejoin`")
        return
    if not (node.data / "PG_VERSION").exists():
        say(f"cloning {node.name} from {of.name} (pg_basebackup)")
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(of.port), "-U", REPLICATOR,
                    "-D", str(node.data), "-R", "-X", "stream", "-c", "fast",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PGPASSWORD": role_password(REPLICATOR)},
        )  # fmt: skip
    if not node_running(node):
        start_node(node)
    wait_for(f"{node.name} streaming from {of.name}", lambda: _streaming(of, node.name), 60)
    _set_synchronous_standby(of, node.name)


def _set_synchronous_standby(node: PgNode, name: str) -> None:
    quoted = f'"{name}"' if name else ""  # a name with "-" is quoted in the list
    sql(node, f"ALTER SYSTEM SET synchronous_standby_names = '{quoted}'")  # not inside a transaction
    sql(node, "SELECT pg_reload_conf()")


def _streaming(of: PgNode, name: str) -> bool:
    out = sql(of, f"SELECT state FROM pg_stat_replication WHERE application_name = '{name}'", capture=True)
    return out.strip() == "streaming"


def sql(node: PgNode, sql: str, *, capture: bool = False, database: str = "postgres") -> str:
    out = subprocess.run(
        as_postgres([str(PG_BIN / "psql"), "-h", "/tmp", "-p", str(node.port), "-U", "postgres", "-d", database,
                     "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql]),
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return out.stdout if capture else ""


def failover() -> PgNode:
    """Promote the standby and fence the old primary: stopped at once, marked so that no
    start brings it back as a writer (it can only be rebuilt as a standby: `rejoin`). The
    new primary runs without a synchronous standby until then (RPO of the WAL archive)."""
    if not STANDBY:
        raise SystemExit("failover needs PG_STANDBY=1 (a standby to promote)")
    old = primary()
    new = standby_of(old)
    if not node_running(new):
        raise SystemExit(f"{new.name} is not running: nothing to promote")
    if node_running(old):
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "stop", "-m", "immediate", "-D", str(old.data)]),
            check=False,
            stdout=subprocess.DEVNULL,
        )
    if (old.data / "PG_VERSION").exists():
        write_as_postgres(old.fenced, f"fenced by failover to {new.name}\n")
    say(f"promoting {new.name}; {old.name} fenced")
    subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "promote", "-w", "-D", str(new.data)]), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    wait_for(
        f"{new.name} accepting writes", lambda: sql(new, "SELECT pg_is_in_recovery()", capture=True).strip() == "f", 60
    )
    # Synchronous commit with no standby would wait forever: writes go on, unmirrored.
    _set_synchronous_standby(new, "")
    write_as_postgres(PRIMARY_FILE, new.name + "\n")
    return new


def rejoin() -> None:
    """The fenced node rebuilt from the new primary as its synchronous standby."""
    new = primary()
    old = standby_of(new)
    if node_running(old):
        raise SystemExit(f"{old.name} is running; stop it first")
    shutil.rmtree(old.data, ignore_errors=True)
    start_standby(new)


def psql(database: str = "postgres") -> list[str]:
    return as_postgres(
        [str(PG_BIN / "psql"), "-h", "/tmp", "-p", str(primary().port), "-U", "postgres", "-d", database, "-q", "-c"]
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
    statements = ["SET client_min_messages = warning;"]
    for role in (MIGRATOR, *SERVICE_ROLES.values(), REPLICATOR):
        password = role_password(role).replace("'", "''")
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$;"
            f"ALTER ROLE {role} PASSWORD '{password}';"
        )
    statements.append(f"ALTER ROLE {REPLICATOR} REPLICATION;")  # streaming and base backups only
    statements.append(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {MIGRATOR};")
    # The service roles reach their own database only, and make no temporary objects (which
    # could shadow names on a search_path): PUBLIC's defaults revoked.
    roles = ", ".join(SERVICE_ROLES.values())
    statements.append(f"REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC;")
    statements.append(f"GRANT CONNECT ON DATABASE {database} TO {roles};")
    statements.append("REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;")
    statements.append("REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;")
    # Extensions are a superuser's to install; awards' owed-payout search uses trigrams.
    statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;")
    subprocess.run([*psql(database), "".join(statements)], check=True, stdout=subprocess.DEVNULL)


def role_dsn(role: str, database: str = "xj", *, host: str | None = None) -> str:
    """With a standby, both servers: the client keeps the one that takes writes, so the
    services find the new primary after a failover on their own. `host`: the servers'
    address as seen from a namespace (the bridge's), else loopback."""
    hosts = ",".join(f"{host or '127.0.0.1'}:{n.port}" for n in sorted(nodes(), key=lambda n: n is not primary()))
    attrs = "?target_session_attrs=read-write" if STANDBY else ""
    return f"postgresql://{role}:{quote(role_password(role), safe='')}@{hosts}/{database}{attrs}"


def stop_postgres() -> None:
    # Every server of the stack, whatever it was started with (a promoted standby too).
    for node in NODES:
        if node_running(node):
            subprocess.run(
                as_postgres([str(PG_BIN / "pg_ctl"), "stop", "-m", "fast", "-D", str(node.data)]),
                check=False,
                stdout=subprocess.DEVNULL,
            )
