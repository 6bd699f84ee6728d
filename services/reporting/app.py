"""Wiring: settings -> runtime (pool, broker) -> FastAPI app with the dashboard."""

from pathlib import Path

from fastapi import FastAPI

from services.reporting.entrypoints import http_api, reports_api, viewer
from services.reporting.entrypoints.consumer import handle
from services.reporting.entrypoints.schedule import export_progress
from services.reporting.settings import ReportingSettings
from shared.contract import topics
from shared.contract.events import ProgressChanged
from shared.messaging.consumer import subscribe_batches
from shared.process.runtime import ServiceRuntime
from shared.web.app import service_app

SERVICE = "reporting"


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations=Path(__file__).parent / "migrations")
    subscribe_batches(runtime, topics=list(topics.REPORTING_INPUTS), dlq_topic=topics.REPORTING_DLQ, handle=handle)
    runtime.background.append(export_progress(runtime, settings))
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
        description=(
            "Running counters against the plan's targets, as of any date, per prefecture "
            "(docs/contract/policy.md#targets, http.md)."
        ),
        pages=[http_api.DASHBOARD_FILE],
    )
    # Each route names who may read it: progress (public only with PUBLIC_PROGRESS), money (readers).
    app.include_router(http_api.router)
    app.include_router(reports_api.router)
    if settings.public_progress:  # the document says so: no credential is one of the options
        app.state.sign_in_optional = viewer.PROGRESS_PATHS
    return app
