"""The registry's records as its readers see them; what is not there is `NotFound`."""

from typing import Any

import asyncpg

from services.registration.adapters import registry_views
from shared.contract.errors import NotFound
from shared.process.db import snapshot


async def enterprise(pool: asyncpg.Pool, uscc: str) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        found = await registry_views.enterprise(conn, uscc)
    if found is None:
        raise NotFound(f"enterprise {uscc} is not registered")
    return found


async def incubator(pool: asyncpg.Pool, incubator_id: str) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        found = await registry_views.incubator(conn, incubator_id)
    if found is None:
        raise NotFound(f"incubator {incubator_id} is not registered")
    return found


async def parked(pool: asyncpg.Pool, limit: int) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        return await registry_views.parked(conn, limit)
