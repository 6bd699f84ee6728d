"""Awards' periodic job: how many treasury exceptions wait for two people (a gauge with an
alert rule, ops/prometheus/alerts.yml)."""

import asyncio
from collections.abc import Awaitable, Callable

from services.awards.service_layer.treasury_exceptions import refresh_gauge
from shared.runtime import ServiceRuntime


def count_exceptions(runtime: ServiceRuntime) -> Callable[[], Awaitable[None]]:
    async def count() -> None:
        await refresh_gauge(runtime.pool)
        await asyncio.sleep(runtime.settings.ops_metrics_interval_s)

    return count
