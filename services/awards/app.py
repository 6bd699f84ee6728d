"""Wiring: settings -> runtime (pool, broker, outbox relay) -> FastAPI app."""

from pathlib import Path

from fastapi import FastAPI

from services.awards.entrypoints import disbursement_api, payout_export, what_if_api
from services.awards.entrypoints.http_api import pages, router
from services.awards.processing import SERVICE, make_handler
from services.awards.settings import AwardsSettings
from shared import topics
from shared.auth import JwtVerifier
from shared.consumer import subscribe_batches
from shared.events import AWARD_MODELS
from shared.http import service_app
from shared.read_access import reader_guard
from shared.runtime import ServiceRuntime


def create_app(settings: AwardsSettings | None = None) -> FastAPI:
    settings = settings or AwardsSettings()
    runtime = ServiceRuntime(
        name=SERVICE, settings=settings, migrations=Path(__file__).parent / "migrations", relay_lock_key=3_200_002
    )
    subscribe_batches(
        runtime, topics=[topics.ENTERPRISE_EVENTS], dlq_topic=topics.AWARDS_DLQ, handle=make_handler(settings.policy())
    )
    runtime.documents(
        topics.AWARD_EVENTS,
        models=list(AWARD_MODELS.values()),
        description=(
            "PayoutIssued, PayoutReversed, AwardDeclined; disbursement: PayoutApproved, PayoutPaid, ClawbackRaised, "
            "ClawbackSettled. Key = enterprise USCC; deterministic ids."
        ),
    )
    app = service_app(
        runtime,
        title="awards",
        description="Policy award rules -> payouts, never twice, explained, reversible (SPEC §2.1, §3.4, §4).",
    )
    guard = reader_guard(settings.read_tokens())
    for r in (router, payout_export.router, what_if_api.router):
        app.include_router(r, dependencies=guard)
    # Disbursement acts for named people: JWTs with roles, not the shared read tokens.
    auth = settings.auth()
    app.state.verifier = JwtVerifier(auth) if auth.configured else None
    app.include_router(disbursement_api.router)
    app.include_router(pages)  # the pages are public; the data they fetch is guarded
    app.include_router(disbursement_api.pages)
    return app
