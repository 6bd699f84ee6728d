"""The audit trail is a hash chain (awards migration 0009): rows written one after
another, or by many transactions at once, form one unbroken chain; a row changed or
removed afterwards by the table's owner — who can switch the append-only triggers off —
is found by the verifier; rows written before the chain existed are linked by the
migration."""

import asyncio
import re
import shutil
from pathlib import Path

import asyncpg
import pytest

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from services.awards.audit.service_layer import audit_chain
from shared.process import db, locks
from tests.support.stack import ROOT, Infra

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "awards" / "migrations"
CHAIN = "0009_audit_hash_chain.sql"
ALICE = Actor("alice", "Alice", ("approver",), "r-1", "127.0.0.1", "POST", "/v1/approvals")


async def write(pool: asyncpg.Pool, n: int, who: Actor = ALICE) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await audit_trail.append(
            conn, who, [("payout.approve", f"p-{i}", {"amount_cny": 100_000 + i}) for i in range(n)]
        )


async def as_owner(conn: asyncpg.Connection, sql: str) -> None:
    """What the table's owner can do: switch the append-only trigger off, change, switch on."""
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
    await conn.execute(sql)
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")


def test_the_trigger_takes_the_lock_key_named_in_shared_locks() -> None:
    sql = (MIGRATIONS / CHAIN).read_text()
    assert re.findall(r"pg_advisory_xact_lock\((\d+)\)", sql) == [str(locks.AUDIT_CHAIN)]


async def test_concurrent_writers_make_one_chain_and_a_changed_or_removed_row_breaks_it(
    infra: Infra, schema: str, schema_conn: asyncpg.Connection
) -> None:
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    pool = await db.create_pool(infra.dsn, schema=schema, max_size=6)
    try:
        await write(pool, 3)
        await asyncio.gather(*(write(pool, 5, Actor(f"w{i}", "Writer", ("treasurer",), f"r{i}")) for i in range(12)))
        report = await audit_chain.verify(pool)
        assert (report.rows, report.breaks, report.intact) == (63, [], True)
        seqs = [r["seq"] for r in await schema_conn.fetch("SELECT seq FROM audit_log ORDER BY seq")]
        assert seqs == sorted(seqs) and len(set(seqs)) == 63

        changed = seqs[10]
        await as_owner(schema_conn, f"UPDATE audit_log SET detail = '{{\"amount_cny\": 1}}' WHERE seq = {changed}")
        assert (await audit_chain.verify(pool)).breaks == [(changed, audit_trail.CHANGED)]

        removed = seqs[40]
        await as_owner(schema_conn, f"DELETE FROM audit_log WHERE seq = {removed}")
        assert (await audit_chain.verify(pool)).breaks == [
            (changed, audit_trail.CHANGED),
            (seqs[41], audit_trail.UNLINKED),
        ]
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="audit_log is append-only"):
            await schema_conn.execute("DELETE FROM audit_log")
    finally:
        await pool.close()


async def test_rows_written_before_the_chain_are_linked_by_the_migration(
    infra: Infra, schema: str, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for sql in sorted(MIGRATIONS.glob("*.sql")):
        if sql.name < CHAIN:
            shutil.copy(sql, before / sql.name)
    await db.migrate(infra.dsn, schema=schema, directory=before)
    pool = await db.create_pool(infra.dsn, schema=schema, max_size=2)
    try:
        await write(pool, 4)
        await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
        await write(pool, 2)
        report = await audit_chain.verify(pool)
        assert (report.rows, report.intact) == (6, True)
        assert report.head is not None and len(report.head) == 64
    finally:
        await pool.close()
