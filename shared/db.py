"""PostgreSQL: a pool per service, each service in its own schema, migrations by yoyo."""

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from yoyo import get_backend, read_migrations

from shared import locks

log = logging.getLogger(__name__)


async def create_pool(dsn: str, *, schema: str, min_size: int = 2, max_size: int = 8) -> asyncpg.Pool:
    # A startup parameter, not a SET: the pool's RESET ALL on release would undo a SET.
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, server_settings={"search_path": f"{schema},public"}
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


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop a service's schema and everything in it (reporting's rebuild)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def _apply_migrations(dsn: str, schema: str, directory: Path) -> int:
    uri = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in uri else "?"
    backend = get_backend(f"{uri}{sep}schema={schema}")
    migrations = read_migrations(str(directory))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


async def migrate(dsn: str, *, schema: str, directory: Path) -> None:
    """Apply pending versioned SQL files of `directory` (yoyo keeps the ledger and the lock)."""
    await ensure_schema(dsn, schema)
    applied = await asyncio.to_thread(_apply_migrations, dsn, schema, directory)
    log.info("schema %s: %d migration(s) applied", schema, applied)


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
