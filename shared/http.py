"""The HTTP face every service shares: /healthz, /readyz, /metrics, AsyncAPI, OpenAPI."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.runtime import ServiceRuntime


def service_app(runtime: ServiceRuntime, *, title: str, description: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    spec = AsyncAPI(runtime.broker, title=f"{title} events", version="1.0.0", description=description)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["ops"])
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(spec.to_specification().to_jsonable())

    @app.get("/asyncapi", tags=["ops"], response_class=HTMLResponse)
    async def asyncapi_page() -> str:
        return get_asyncapi_html(spec.to_specification())

    return app
