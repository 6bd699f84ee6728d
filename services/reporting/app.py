"""Wiring: settings -> runtime (pool, broker) -> FastAPI app with the dashboard."""

import asyncio
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.reporting.adapters.projection import project
from services.reporting.entrypoints import progress_gauges, reports_api
from services.reporting.entrypoints.http_api import router
from services.reporting.entrypoints.progress_topic import publish_changes
from services.reporting.settings import ReportingSettings
from shared import topics
from shared.codec import decode_envelope
from shared.consumer import Record, subscribe_batches
from shared.events import ProgressChanged
from shared.http import service_app
from shared.read_access import reader_guard
from shared.runtime import ServiceRuntime

SERVICE = "reporting"
SOURCE_TOPICS = (topics.ENTERPRISE_EVENTS, topics.CARRIER_EVENTS, topics.AWARD_EVENTS)


async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
    await project(conn, [decode_envelope(r.value) for r in records if r.value is not None])


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = ServiceRuntime(
        name=SERVICE, settings=settings, migrations=Path(__file__).parent / "migrations", relay_lock_key=3_300_002
    )
    subscribe_batches(runtime, topics=list(SOURCE_TOPICS), dlq_topic=topics.REPORTING_DLQ, handle=handle)

    async def export_progress() -> None:
        async with runtime.pool.acquire() as conn:
            progress_gauges.show(await publish_changes(conn))
        await asyncio.sleep(settings.progress_publish_interval_seconds)

    runtime.background.append(export_progress)
    runtime.documents(
        topics.PROGRESS,
        models=[ProgressChanged],
        description=(
            "Compacted: the latest progress row per key `{year}/{metric}/{division}` (650000 = the region, "
            "the only rows with a target); published when a row's actual or target changes."
        ),
    )
    app = service_app(
        runtime,
        title="reporting",
        description="Running counters against the plan's targets, as of any date, per prefecture (SPEC §2.2, §4).",
    )
    # PUBLIC_DASHBOARD=false closes the dashboard and the progress API to all but token holders.
    guard = [] if settings.public_dashboard else reader_guard(settings.read_tokens())
    app.include_router(router, dependencies=guard)
    app.include_router(reports_api.router, dependencies=guard)
    return app
