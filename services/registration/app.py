"""Wiring: settings -> runtime (pool, broker, outbox relay) -> FastAPI app."""

from pathlib import Path

from fastapi import FastAPI

from services.registration.adapters import sender_registry
from services.registration.entrypoints.consumer import make_handler
from services.registration.entrypoints.http_api import build_router
from services.registration.entrypoints.intake_schema import request_body_schema
from services.registration.entrypoints.schedule import sweep_parked
from services.registration.settings import RegistrationSettings
from shared.contract import divisions, topics
from shared.contract.events import CANONICAL_MODELS, CARRIER_EVENT_TYPES, IntakeResult
from shared.messaging.consumer import subscribe_batches
from shared.process.runtime import ServiceRuntime
from shared.web.app import service_app

SERVICE = "registration"


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()
    divisions.preload()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations=Path(__file__).parent / "migrations")
    registry = sender_registry.RegistryFile(settings.sender_authority_file) if settings.sender_authority_file else None
    # The development intake topic is for a PLAINTEXT local stack only; senders have their own.
    development_intake = settings.development_intake_open
    subscribe_batches(
        runtime,
        topics=list(topics.REGISTRATION_INPUTS) if development_intake else [],
        pattern=topics.registration_input_pattern(development_intake=development_intake),  # every sender's topic
        dlq_topic=topics.INTAKE_DLQ,
        handle=make_handler(settings.max_event_bytes, registry, development_intake=development_intake),
        begins_traces=True,  # facts enter here: one sent without a trace begins one
    )

    runtime.background.append(sweep_parked(runtime, settings))
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
            "code of docs/contract/events.md); key = `{source}/{event_id}` of the intake event, "
            "header `intake_source`. "
            "Written through the outbox with the decision; drop result ids already seen."
        ),
    )
    app = service_app(
        runtime,
        title="registration",
        description="Validated intake, registry of record and canonical events (docs/contract/events.md, http.md).",
        body_limits={"/v1/events": settings.max_event_bytes},  # intake's own cap
    )
    app.state.sender_registry = registry
    app.include_router(build_router(settings))
    app.state.openapi_components.update(request_body_schema()[1])  # the envelope per event type
    return app
