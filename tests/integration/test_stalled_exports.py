"""A slow reader cannot take the service's database: exports stream from a pool of their
own (two connections), so ten downloads stalled inside their snapshots leave the pool
that approvals, the consumer and the relay use untouched."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from services.awards.audit.domain.audit import Actor
from services.awards.disbursement.adapters.payout_export import csv_chunks
from services.awards.disbursement.service_layer import disbursement
from shared.process import db
from shared.process.runtime import EXPORT_CONNECTIONS, EXPORT_STALL_S
from tests.integration.test_policy_adoption import MIGRATIONS, enterprise, payouts_by_stage, take, uscc
from tests.support.stack import Infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def pools(infra: Infra, schema: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    work = await db.create_pool(infra.dsn, schema=schema, max_size=3)
    exports = await db.create_pool(
        infra.dsn,
        schema=schema,
        min_size=0,
        max_size=EXPORT_CONNECTIONS,
        settings={"idle_in_transaction_session_timeout": f"{EXPORT_STALL_S}s"},
    )
    yield work, exports
    await exports.close()
    await work.close()


async def test_ten_stalled_downloads_leave_the_services_pool_free(pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    work, exports = pools
    for n in range(1, 4):
        await take(work, enterprise(n, certified=date(2016, 3, n)))
    async with exports.acquire() as conn:  # a download stalled in its snapshot is ended by the server
        assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "5min"
    downloads = [csv_chunks(exports, (None, None, None, None)) for _ in range(10)]
    first = [asyncio.ensure_future(anext(d)) for d in downloads]
    await asyncio.sleep(1.0)
    # Each started download holds its snapshot (a connection) until its client reads on;
    # the others wait for one of the export pool's two.
    assert sum(f.done() for f in first) == EXPORT_CONNECTIONS
    # The service's own work goes on: an approval, and a consumed batch with its outbox row.
    ids = await payouts_by_stage(work)
    approved = await asyncio.wait_for(
        disbursement.approve_payouts(work, Actor("alice", "Alice", ("approver",), "t"), ids[1]), timeout=10
    )
    assert [r["outcome"] for r in approved] == ["approved", "approved"]
    await asyncio.wait_for(take(work, enterprise(9, certified=date(2016, 4, 1))), timeout=10)
    async with work.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payouts WHERE enterprise_uscc = $1", uscc(9)) == 2
    for f in first:
        f.cancel()
    await asyncio.gather(*first, return_exceptions=True)  # the waiting ones give up their turn
    for d in downloads:
        await d.aclose()
