"""PostgreSQL: a pool per service, each service in its own schema, migrations by yoyo.

Who may do what: a migration role owns the schemas (`python -m services.<svc> migrate`
runs as it); each service runs as a role of its own that may read and write its own
schema's rows and nothing else — no ownership, no DDL, no other schema — and may only
INSERT and SELECT a table whose comment starts with "append-only" (the audit log)."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from yoyo import get_backend, read_migrations

from shared.process import locks
from shared.process.dsn import parse as parse_dsn

log = logging.getLogger(__name__)


# A link that is cut, not closed, sends nothing: a client would learn of it only when the
# OS gives up (about 15 minutes of retransmissions), and a connect would wait out asyncpg's
# 60 s. So data unacknowledged for 10 s aborts the connection (TCP_USER_TIMEOUT, libpq's
# `tcp_user_timeout`), an idle one is probed, and a connect gives up after 5 s: the pool
# then opens a fresh connection, which works as soon as the link is back.
TCP_USER_TIMEOUT_MS = 10_000
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 10, 5, 3
CONNECT_TIMEOUT_S = 5.0


async def detect_dead_links(conn: asyncpg.Connection) -> None:
    """The socket options above, on each new connection of a pool (its `init`)."""
    # asyncpg has no socket options of its own; its transport is the way in (the pinned
    # version is checked by tests/integration/test_dead_links.py).
    sock = conn._transport.get_extra_info("socket")
    if sock is None or sock.family == socket.AF_UNIX:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, TCP_USER_TIMEOUT_MS)


# PostgreSQL lost under a caller: a cut link given up on, a failover, a restart.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.ReadOnlySQLTransactionError,  # the server it reached was demoted: a failover
    ConnectionError,
    TimeoutError,  # a connect past CONNECT_TIMEOUT_S, a link past TCP_USER_TIMEOUT_MS
)
# How asyncpg words a connection that died under a caller: closed, or dropped by the pool
# (its proxy then says "released") when the server went away mid-transaction.
CONNECTION_GONE = ("connection is closed", "released back to the pool")


def connection_lost(exc: BaseException | None) -> bool:
    """Whether `exc` or what caused it is the database going away (asyncpg reports a
    connection that died inside a transaction as an InterfaceError on its way out)."""
    while exc is not None:
        if isinstance(exc, CONNECTION_LOST):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and any(words in str(exc) for words in CONNECTION_GONE):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# The services look rows up by key for a whole batch at once (`unnest($1) JOIN t USING
# (key)`). At PostgreSQL's default random_page_cost (4, a spinning disk's) the planner
# prices 2,000 index probes above reading the whole table while it holds from some tens of
# thousands to about 180,000 intake rows, and hashes all of it for every batch: 38.9 against
# 2.5 ms for 2,000 keys in 138,000 intake rows, the cost growing with history through that
# range (tests/integration/test_batch_lookups.py). The working set is in memory, where a
# random page costs about what a sequential one does: 1.1 is the usual value for SSDs.
PLANNER_SETTINGS = {"random_page_cost": "1.1"}


async def create_pool(
    dsn: str, *, schema: str, min_size: int = 2, max_size: int = 8, settings: dict[str, str] | None = None
) -> asyncpg.Pool:
    # A startup parameter, not a SET: the pool's RESET ALL on release would undo a SET.
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": f"{schema},public", **PLANNER_SETTINGS, **(settings or {})},
        timeout=CONNECT_TIMEOUT_S,
        init=detect_dead_links,
    )
    assert pool is not None
    return pool


async def ensure_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await locks.hold(conn, locks.SCHEMA_CREATION)
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    finally:
        await conn.close()


async def drop_schema(dsn: str, schema: str) -> list[str]:
    """Drop a service's schema and everything in it (reporting's rebuild). Returns the
    roles it had been granted to, so the rebuilt schema can be granted to them again."""
    conn = await asyncpg.connect(dsn)
    try:
        owner = await conn.fetchval("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", schema)
        me = await conn.fetchval("SELECT current_user")
        if owner is not None and owner != me:
            # Else the schema would come back owned by someone else, whom the next migration is not.
            raise PermissionError(f"schema {schema} belongs to {owner}: rebuild it as {owner}, not as {me}")
        grantees = await conn.fetch(
            "SELECT DISTINCT a.grantee::regrole::text AS role FROM pg_namespace n, aclexplode(n.nspacl) a "
            "WHERE n.nspname = $1 AND a.grantee <> n.nspowner AND a.grantee <> 0",
            schema,
        )
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()
    return sorted(r["role"] for r in grantees)


# The outbox and the consumer's positions, one copy for every service's schema.
MESSAGING_MIGRATIONS = Path(__file__).parents[1] / "messaging" / "migrations"


def _apply_migrations(dsn: str, schema: str, directory: Path) -> int:
    backend = get_backend(parse_dsn(dsn).yoyo_uri(schema))  # a multi-host DSN keeps its hosts
    migrations = read_migrations(str(MESSAGING_MIGRATIONS), str(directory))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


async def migrate(dsn: str, *, schema: str, directory: Path, runtime_roles: Sequence[str] = ()) -> None:
    """Apply pending versioned SQL files of shared/messaging/migrations/, then of
    `directory` (yoyo keeps the ledger and the lock), then grant each of `runtime_roles`
    what a running service may do in the schema."""
    await ensure_schema(dsn, schema)
    applied = await asyncio.to_thread(_apply_migrations, dsn, schema, directory)
    log.info("schema %s: %d migration(s) applied", schema, applied)
    if runtime_roles:
        conn = await asyncpg.connect(dsn)
        try:
            for role in runtime_roles:
                await grant_runtime(conn, schema, role)
        finally:
            await conn.close()


async def grant_runtime(conn: asyncpg.Connection, schema: str, role: str) -> None:
    """Rows of its own schema, no DDL; yoyo's ledger read-only; append-only tables
    INSERT and SELECT only. Run by the schema's owner after every migration."""
    quoted = f'"{role}"'
    append_only = [
        r["name"]
        for r in await conn.fetch(
            "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') "
            "AND (obj_description(c.oid, 'pg_class') LIKE 'append-only%' OR c.relname LIKE '%yoyo%')",
            schema,
        )
    ]
    async with conn.transaction():
        await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {quoted}")
        await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}")
        await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}")
        await conn.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}")
        for table in append_only:
            await conn.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {schema}."{table}" FROM {quoted}')
            if "yoyo" in table:
                await conn.execute(f'REVOKE INSERT ON {schema}."{table}" FROM {quoted}')


class MigrationsPending(RuntimeError):
    pass


async def require_migrated(dsn: str, *, schema: str, directory: Path) -> None:
    """A service does not migrate (its role may not): it refuses to start on a schema that
    lacks any of its migrations."""
    wanted = {m.id for m in read_migrations(str(MESSAGING_MIGRATIONS), str(directory))}
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f"SELECT migration_id FROM {schema}._yoyo_migration")
        applied = {r["migration_id"] for r in rows}
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError, asyncpg.InsufficientPrivilegeError):
        applied = set()
    finally:
        await conn.close()
    missing = sorted(wanted - applied)
    if missing:
        raise MigrationsPending(
            f"schema {schema} lacks migrations {', '.join(missing)} (or this role may not see them): run "
            f"`python -m services.{schema} migrate` as the migration role first (`make up` does)"
        )


async def insert_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: dict[str, str],
    rows: Sequence[Sequence[object]],
    *,
    suffix: str = "",
) -> list[asyncpg.Record]:
    """Insert many rows in one statement (`unnest` of one array per column).

    One statement per batch instead of one per row: a large share of the database's CPU
    under load. `columns` maps column name -> PostgreSQL type; `suffix` is e.g. an
    ON CONFLICT clause, with a RETURNING clause the inserted rows come back.
    """
    if not rows:
        return []
    names = ", ".join(columns)
    arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(columns.values()))
    return list(
        await conn.fetch(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {suffix}",
            *(list(col) for col in zip(*rows, strict=True)),
        )
    )


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One use case's writes: a pooled connection in one transaction, committed when the
    block ends and rolled back if it raises. Repositories take the connection it yields."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


@asynccontextmanager
async def snapshot(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One query's consistent view: a REPEATABLE READ, READ ONLY transaction, so every
    statement of the answer sees the same moment and nothing can be written by mistake."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        yield conn
