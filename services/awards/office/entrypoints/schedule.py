"""Awards' periodic jobs: how many treasury exceptions and held bank lines wait for two
people (gauges with alert rules, ops/prometheus/alerts.yml), and the re-decisions
adoptions queued."""

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

from services.awards.ledger.domain.consequences import FollowUp
from services.awards.office.service_layer.policy_office import redecide_pending
from services.awards.policy.adapters.policy_versions import AdoptedCache
from services.awards.treasury.service_layer import held_bank_lines, treasury_exceptions
from shared.messaging.consumer import NotYet
from shared.process.runtime import ServiceRuntime

REDECIDED = Gauge("awards_policy_redecided_last_round", "Enterprises re-decided in the last round after an adoption")


def count_exceptions(runtime: ServiceRuntime) -> Callable[[], Awaitable[None]]:
    async def count() -> None:
        await treasury_exceptions.refresh_gauge(runtime.pool)
        await held_bank_lines.refresh_gauge(runtime.pool)
        await asyncio.sleep(runtime.settings.ops_metrics_interval_s)

    return count


def redecide_after_adoption(
    runtime: ServiceRuntime, cache: AdoptedCache, batch: int, follow_up: FollowUp, idle_s: float = 1.0
) -> Callable[[], Awaitable[None]]:
    """Work through the queued re-decisions a batch at a time; idle when none wait."""

    async def redecide() -> None:
        try:
            done = await redecide_pending(runtime.pool, cache, batch, follow_up)
        except NotYet:
            done = 0  # restored books wait for their adoptions: the consumer says so
        REDECIDED.set(done)
        await asyncio.sleep(0 if done else idle_s)

    return redecide
