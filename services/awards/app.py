"""Wiring: settings -> runtime (pool, broker, outbox relay) -> FastAPI app."""

from pathlib import Path

from fastapi import FastAPI

from services.awards import handlers
from services.awards.audit.entrypoints import audit_api
from services.awards.disbursement.entrypoints import disbursement_api, export_api
from services.awards.ledger.entrypoints import http_api
from services.awards.ledger.entrypoints.consumer import make_handler
from services.awards.office.entrypoints import policy_api, what_if_api
from services.awards.office.entrypoints.pages import PAGE_PATHS, pages
from services.awards.office.entrypoints.schedule import count_exceptions, redecide_after_adoption
from services.awards.policy.adapters.policy_versions import AdoptedCache
from services.awards.settings import AwardsSettings
from services.awards.treasury.entrypoints import treasury_api
from services.awards.treasury.service_layer import confirmations
from shared.contract import topics
from shared.contract.events import AWARD_MODELS
from shared.messaging.consumer import subscribe_batches
from shared.process.runtime import ServiceRuntime
from shared.web.app import service_app
from shared.web.auth import READ
from shared.web.dev_sign_in import dev_sign_in_router

SERVICE = "awards"


def create_app(settings: AwardsSettings | None = None) -> FastAPI:
    settings = settings or AwardsSettings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations=Path(__file__).parent / "migrations")
    policy = AdoptedCache()  # the versions are read inside each batch's transaction
    subscribe_batches(
        runtime,
        topics=list(topics.AWARDS_INPUTS),
        dlq_topic=topics.AWARDS_DLQ,
        handle=make_handler(handlers.bound(policy)),
    )
    runtime.background.append(count_exceptions(runtime))
    runtime.background.append(
        redecide_after_adoption(runtime, AdoptedCache(), settings.policy_redecision_batch, handlers.follow_up)
    )
    runtime.documents(
        topics.AWARD_EVENTS,
        models=list(AWARD_MODELS.values()),
        description=(
            "PayoutIssued, PayoutReversed, AwardDeclined; disbursement: PayoutApproved, PayoutPaid, ClawbackRaised, "
            "ClawbackSettled, PayoutCancelled, PayoutRecallRequested; PolicyVersionAdopted (key = its jurisdiction). "
            "Key = enterprise USCC; deterministic ids."
        ),
    )
    app = service_app(
        runtime,
        title="awards",
        description=(
            "Policy award rules -> payouts, never twice, explained, reversible "
            "(docs/contract/policy.md, events.md, http.md)."
        ),
        body_limits={"/v1/confirmations": confirmations.MAX_BYTES},  # the bank's file; everything else JSON
        pages=PAGE_PATHS,
    )
    # Payment data, records, exports and what-ifs: the role `reader` (or approver, treasurer).
    for r in (http_api.router, export_api.router, what_if_api.router):
        app.include_router(r, dependencies=[READ])
    for r in (disbursement_api.router, treasury_api.router, audit_api.router):
        app.include_router(r)  # each route names the role it acts for
    app.include_router(policy_api.router)  # reading needs a reader; drafting and adopting an approver
    app.include_router(pages)  # page shells hold no data; the data they fetch is guarded
    if settings.dev_sign_in_key_file is not None:  # the local stack only: it refuses anything else
        if not settings.dev_sign_in_local_stack:
            raise ValueError(
                "DEV_SIGN_IN_KEY_FILE is for the local stack: it also needs DEV_SIGN_IN_LOCAL_STACK=true, "
                "which only the local stack sets"
            )
        key, kid = settings.dev_sign_in_key_file, settings.dev_sign_in_kid
        app.include_router(dev_sign_in_router(key, kid, settings.http_host, settings.auth()))
    return app
