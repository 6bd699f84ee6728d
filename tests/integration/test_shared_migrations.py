"""One copy of the outbox and of the consumer's positions (shared/messaging/migrations/)
for every service's schema. A schema migrated when each service kept its own copies
upgrades cleanly: the shared migrations find what they define and leave it (pending
outbox rows and stored positions included), the result is the schema a fresh migration
makes, and migrating again applies nothing."""

import asyncpg
import pytest

from shared.process import db
from tests.support.migrations import BEFORE_SHARED_OUTBOX, migrate_as_before
from tests.support.stack import ROOT, Infra

pytestmark = pytest.mark.integration

# The definition that matters: columns, storage, vacuum settings, the relay's trigger.
SHAPE = """
SELECT
    (SELECT array_agg(format('%s %s %s %s', column_name, data_type, is_nullable, replace(column_default, $1 || '.', ''))
                      ORDER BY ordinal_position)
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'outbox') AS outbox,
    (SELECT array_agg(format('%s %s %s', a.attname, a.attstorage, a.attcompression) ORDER BY a.attnum)
       FROM pg_attribute a WHERE a.attrelid = ($1 || '.outbox')::regclass AND a.attnum > 0) AS storage,
    (SELECT reloptions FROM pg_class WHERE oid = ($1 || '.outbox')::regclass) AS vacuum,
    (SELECT t.reloptions FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
       WHERE c.oid = ($1 || '.outbox')::regclass) AS toast_vacuum,
    (SELECT array_agg(tgname) FROM pg_trigger WHERE tgrelid = ($1 || '.outbox')::regclass AND NOT tgisinternal)
       AS triggers,
    (SELECT array_agg(format('%s %s', column_name, data_type) ORDER BY ordinal_position)
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'consumer_positions') AS positions
"""


@pytest.mark.parametrize("service", ["registration", "awards", "reporting"])
async def test_a_schema_of_the_previous_layout_upgrades_to_the_fresh_one(infra: Infra, service: str) -> None:
    old, fresh = f"up_{service}_old", f"up_{service}_fresh"
    conn = await asyncpg.connect(infra.dsn)
    try:
        for s in (old, fresh):
            await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        await migrate_as_before(infra.dsn, old, BEFORE_SHARED_OUTBOX / service)
        await conn.execute(
            f"INSERT INTO {old}.outbox (messages, topics, keys, payloads, headers) "
            "VALUES (1, ARRAY['t'], ARRAY['k'::bytea], ARRAY['pending'::bytea], ARRAY['[]'])"
        )
        await conn.execute(f"INSERT INTO {old}.consumer_positions VALUES ('t', 0, 42)")
        migrations = ROOT / "services" / service / "migrations"
        await db.migrate(infra.dsn, schema=old, directory=migrations)
        await db.migrate(infra.dsn, schema=fresh, directory=migrations)
        upgraded, made = await conn.fetchrow(SHAPE, old), await conn.fetchrow(SHAPE, fresh)
        kept = await conn.fetch(f"SELECT payloads FROM {old}.outbox")
        position = await conn.fetchval(f"SELECT next_offset FROM {old}.consumer_positions")
        ids = {r["migration_id"] for r in await conn.fetch(f"SELECT migration_id FROM {old}._yoyo_migration")}
        again = await conn.fetchval(f"SELECT count(*) FROM {old}._yoyo_migration")
        await db.migrate(infra.dsn, schema=old, directory=migrations)
        after = await conn.fetchval(f"SELECT count(*) FROM {old}._yoyo_migration")
        for s in (old, fresh):
            await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
    finally:
        await conn.close()
    assert dict(upgraded) == dict(made)
    assert made["triggers"] == ["outbox_notify"] and made["vacuum"] is not None
    assert [[bytes(p) for p in r["payloads"]] for r in kept] == [[b"pending"]]
    assert position == 42
    assert {"messaging-0001-outbox", "messaging-0002-consumer-positions", "messaging-0003-outbox-lz4"} <= ids
    assert again == after  # nothing left to apply


async def test_a_batch_row_of_the_outbox_is_compressed_with_lz4(infra: Infra) -> None:
    """A consumer batch's row: thousands of messages, every array past the TOAST threshold."""
    schema = "lz4_outbox"
    conn = await asyncpg.connect(infra.dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await db.migrate(infra.dsn, schema=schema, directory=ROOT / "services" / "registration" / "migrations")
        n = 4000
        await conn.execute(
            f"INSERT INTO {schema}.outbox (messages, topics, keys, payloads, headers) VALUES ($1, $2, $3, $4, $5)",
            n,
            ["xj.enterprise.events.v1"] * n,
            [f"91650102MA{i:08d}".encode() for i in range(n)],
            [b'{"event_type":"EnterpriseRegistered","data":{"uscc":"91650102MA%08d"}}' % i for i in range(n)],
            ['[["event_type","EnterpriseRegistered"]]'] * n,
        )
        columns = ("topics", "keys", "payloads", "headers")
        compression = await conn.fetchrow(
            "SELECT " + ", ".join(f"pg_column_compression({c}) AS {c}" for c in columns) + f" FROM {schema}.outbox"
        )
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()
    assert dict(compression) == {"topics": "lz4", "keys": "lz4", "payloads": "lz4", "headers": "lz4"}
