"""reporting.progress.v1: every progress row, published when its numbers change.

A background job recomputes the rows (the same queries as /v1/progress), compares them
with what the topic last said (`progress_published`) and writes the changed ones to the
outbox in the same transaction, so a change is never lost and never published for a
state that did not commit. The topic is compacted: the latest row of every key stays.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.reporting.adapters import progress_query
from services.reporting.domain.progress import progress_key, progress_rows, window
from services.reporting.domain.projection import REGION
from shared.contract import topics
from shared.contract.codec import OutgoingMessage, encode_envelope, event_message
from shared.contract.divisions import PREFECTURES, REGION_CITIES
from shared.messaging import outbox
from shared.process import locks
from shared.process.clock import business_date
from shared.process.db import unit_of_work


async def current_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    today = business_date()
    years = await progress_query.reported_years(conn)
    rows: list[dict[str, Any]] = []
    for year in sorted(y for y in years | {today.year} if y <= today.year):
        w = window(year, as_of=None, today=today)
        rows += progress_rows(
            w,
            region=(await progress_query.actuals(conn, w, prefecture=None)).get(REGION, {}),
            targets=await progress_query.targets(conn, year),
            by_division=await progress_query.actuals(conn, w, prefecture="all"),
            divisions=[*PREFECTURES, *REGION_CITIES],
        )
    return rows


def progress_message(row: dict[str, Any]) -> OutgoingMessage:
    # A fresh id each time: a row can go back to an earlier value, and that is news too.
    value = encode_envelope(
        event_id=uuid.uuid4(),
        event_type="ProgressChanged",
        occurred_at=datetime.now(UTC),
        source="reporting",
        data=row,
    )
    return event_message(
        topic=topics.PROGRESS, key=progress_key(row), envelope_bytes=value, event_type="ProgressChanged"
    )


async def publish_changes(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Publish the rows whose actual or target differ from what the topic last said;
    return every row as it is now (the progress gauges show them too)."""
    async with unit_of_work(pool) as conn:
        await locks.hold(conn, locks.REPORTING_PROGRESS_PUBLISH)
        said = await progress_query.published_rows(conn)
        rows = await current_rows(conn)
        changed = [r for r in rows if said.get((r["year"], r["metric"], r["division"])) != (r["actual"], r["target"])]
        if changed:
            await progress_query.mark_published(conn, changed)
            await outbox.enqueue(conn, [progress_message(r) for r in changed])
    return rows
