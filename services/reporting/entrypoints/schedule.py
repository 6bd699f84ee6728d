"""Reporting's periodic job: publish the changed progress rows and refresh the gauges."""

import asyncio
from collections.abc import Awaitable, Callable

from services.reporting.entrypoints import progress_gauges
from services.reporting.service_layer.progress_publishing import publish_changes
from services.reporting.settings import ReportingSettings
from shared.process.runtime import ServiceRuntime


def export_progress(runtime: ServiceRuntime, settings: ReportingSettings) -> Callable[[], Awaitable[None]]:
    async def export() -> None:
        progress_gauges.show(await publish_changes(runtime.pool), public=settings.public_progress)
        await asyncio.sleep(settings.progress_publish_interval_seconds)

    return export
