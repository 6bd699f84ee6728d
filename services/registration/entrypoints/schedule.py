"""Registration's periodic job: expire facts parked too long, and show the parking lot."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import Gauge

from services.registration.service_layer.intake import expire_parked, parked_stats
from services.registration.settings import RegistrationSettings
from shared.process.runtime import ServiceRuntime

PARKED = Gauge("registration_parked_facts", "Intake facts parked until their reference arrives")
PARKED_OLDEST = Gauge("registration_parked_oldest_seconds", "Age of the oldest parked fact (0 when none)")


def sweep_parked(runtime: ServiceRuntime, settings: RegistrationSettings) -> Callable[[], Awaitable[None]]:
    async def sweep() -> None:
        await expire_parked(runtime.pool, ttl=timedelta(seconds=settings.park_ttl_seconds))
        count, oldest = await parked_stats(runtime.pool)
        PARKED.set(count)
        PARKED_OLDEST.set(oldest)
        await asyncio.sleep(settings.park_sweep_interval_seconds)

    return sweep
