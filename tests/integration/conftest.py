"""Integration tests run one concern in this process against the real broker and
database; nothing here starts a service process. Each test gets its own schema."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.stack import Infra


@pytest.fixture
async def schema(infra: Infra) -> AsyncIterator[str]:
    """A uniquely named schema for one test (created by whoever migrates it), dropped after."""
    name = f"it_{uuid.uuid4().hex[:10]}"
    yield name
    conn = await asyncpg.connect(infra.dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def schema_conn(infra: Infra, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection that reads and writes `schema` (its search_path)."""
    conn = await asyncpg.connect(infra.dsn, server_settings={"search_path": schema})
    try:
        yield conn
    finally:
        await conn.close()
