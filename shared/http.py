"""The HTTP face every service shares: /healthz, /readyz, /metrics, AsyncAPI, OpenAPI."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shared import auth, http_errors
from shared.body_limit import BodyLimit
from shared.runtime import ServiceRuntime

SIGNIN_JS = Path(__file__).parent / "web" / "signin.js"


class Health(BaseModel):
    status: str
    service: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]


def service_app(
    runtime: ServiceRuntime, *, title: str, description: str, body_limits: Mapping[str, int] | None = None
) -> FastAPI:
    """`body_limits`: path -> the most bytes its request body may have (else 1 MiB)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    auth.install(app, runtime.settings.auth(), runtime.settings.read_tokens())
    http_errors.install(app)
    app.add_middleware(BodyLimit, service=runtime.name, limits=body_limits or {})
    app.state.openapi_components = {}  # extra component schemas a service documents (e.g. intake events)
    app.state.sign_in_optional = frozenset[str]()  # paths open without a token by configuration

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            http_errors.with_error_schema(schema)["components"]["schemas"].update(app.state.openapi_components)
            for path in app.state.sign_in_optional:  # `{}`: no credential is one of the options
                for operation in schema["paths"][path].values():
                    operation["security"] = [{}, *operation.get("security", [])]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    spec = AsyncAPI(runtime.broker, title=f"{title} events", version="1.0.0", description=description)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> Health:
        return Health(status="ok", service=runtime.name)

    @app.get(
        "/readyz",
        tags=["ops"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Kafka or PostgreSQL is not reachable"}},
    )
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)  # Prometheus text format, not JSON
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/static/signin.js", include_in_schema=False)  # the pages' sign-in bar: no data in it
    async def signin_js() -> FileResponse:
        return FileResponse(SIGNIN_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @app.get("/asyncapi.json", tags=["ops"], response_model=dict[str, Any])
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(spec.to_specification().to_jsonable())

    @app.get("/asyncapi", tags=["ops"], response_class=HTMLResponse)
    async def asyncapi_page() -> str:
        return get_asyncapi_html(spec.to_specification())

    return app
