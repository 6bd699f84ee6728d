"""Wiring: settings -> runtime (pool, broker, outbox relay) -> FastAPI app."""

import asyncio
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import Gauge

from services.registration.entrypoints.http_api import build_router
from services.registration.entrypoints.intake_consumer import make_handler
from services.registration.entrypoints.intake_schema import request_body_schema
from services.registration.intake import SERVICE, expire_parked
from services.registration.settings import RegistrationSettings
from shared import divisions, topics
from shared.consumer import subscribe_batches
from shared.events import CANONICAL_MODELS, CARRIER_EVENT_TYPES, IntakeResult
from shared.http import service_app
from shared.runtime import ServiceRuntime

PARKED = Gauge("registration_parked_facts", "Intake facts parked until their reference arrives")
PARKED_OLDEST = Gauge("registration_parked_oldest_seconds", "Age of the oldest parked fact (0 when none)")


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()
    divisions.preload()
    runtime = ServiceRuntime(
        name=SERVICE, settings=settings, migrations=Path(__file__).parent / "migrations", relay_lock_key=3_100_002
    )
    subscribe_batches(
        runtime, topics=[topics.INTAKE], dlq_topic=topics.INTAKE_DLQ, handle=make_handler(settings.max_event_bytes)
    )

    async def sweep_parked() -> None:
        async with runtime.pool.acquire() as conn:
            async with conn.transaction():
                await expire_parked(conn, ttl=timedelta(seconds=settings.park_ttl_seconds))
            row = await conn.fetchrow(
                "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(parked_at)), 0) AS age FROM parked"
            )
            PARKED.set(row["n"])
            PARKED_OLDEST.set(float(row["age"]))
        await asyncio.sleep(settings.park_sweep_interval_seconds)

    runtime.background.append(sweep_parked)
    runtime.documents(
        topics.ENTERPRISE_EVENTS,
        models=[m for t, m in CANONICAL_MODELS.items() if t not in CARRIER_EVENT_TYPES],
        description="Canonical enterprise events; key = USCC; the intake event_id is kept.",
    )
    runtime.documents(
        topics.CARRIER_EVENTS,
        models=[CANONICAL_MODELS[t] for t in sorted(CARRIER_EVENT_TYPES)],
        description="Incubators and service platforms; key = carrier id.",
    )
    runtime.documents(
        topics.INTAKE_RESULTS,
        models=[IntakeResult],
        description=(
            "What became of each intake message (accepted, duplicate, parked, released, rejected with the "
            "SPEC §3.5 code); key = `{source}/{event_id}` of the intake event, header `intake_source`. "
            "Written through the outbox with the decision; drop result ids already seen."
        ),
    )
    app = service_app(
        runtime,
        title="registration",
        description="Validated intake, registry of record and canonical events (SPEC §3, §4).",
    )
    app.include_router(build_router(settings))
    app.state.openapi_components.update(request_body_schema()[1])  # the envelope per event type
    return app
