"""Schemas as they were migrated before the outbox and the consumer's positions were one
shared copy: each service's own migrations alone (the fixture keeps that layout)."""

import asyncio
from pathlib import Path

from yoyo import get_backend, read_migrations

from shared.process import db
from shared.process.dsn import parse as parse_dsn
from stack.layout import ROOT

BEFORE_SHARED_OUTBOX = ROOT / "tests" / "fixtures" / "migrations_before_shared_outbox"


async def migrate_as_before(dsn: str, schema: str, directory: Path) -> None:
    """`directory`'s migrations with yoyo alone, as `db.migrate` applied them then."""
    await db.ensure_schema(dsn, schema)

    def apply() -> None:
        backend = get_backend(parse_dsn(dsn).yoyo_uri(schema))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(directory))))

    await asyncio.to_thread(apply)
