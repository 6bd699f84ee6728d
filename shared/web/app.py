"""The HTTP face every service shares: /healthz, /readyz, /metrics, AsyncAPI, OpenAPI."""

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from faststream.specification import AsyncAPI
from opentelemetry.trace import Span
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shared.process import tracing
from shared.process.runtime import ServiceRuntime
from shared.web import auth, metrics_access
from shared.web import errors as http_errors
from shared.web.body_limit import BodyLimit
from shared.web.security_headers import SecurityHeaders, inline_script_hashes

SIGNIN_JS = Path(__file__).parent / "signin.js"


class Health(BaseModel):
    status: str
    service: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]


def service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    body_limits: Mapping[str, int] | None = None,
    pages: Iterable[Path] = (),
) -> FastAPI:
    """`body_limits`: path -> the most bytes its request body may have (else 1 MiB);
    `pages`: the HTML the service serves, whose inline scripts the CSP allows by hash."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            tracing.shutdown()

    # No /docs or /redoc: those pages load scripts from a CDN on the origin that holds the
    # token. The documents themselves are /openapi.json and /asyncapi.json.
    app = FastAPI(
        title=title, description=description, version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.runtime = runtime
    auth.install(app, runtime.settings.auth(), runtime.settings.read_tokens())
    http_errors.install(app)
    app.add_middleware(BodyLimit, service=runtime.name, limits=body_limits or {})
    app.add_middleware(SecurityHeaders, script_hashes=inline_script_hashes(pages))
    app.state.openapi_components = {}  # extra component schemas a service documents (e.g. intake events)
    app.state.sign_in_optional = frozenset[str]()  # paths open without a token by configuration

    if tracing.configure(runtime.name):
        _trace_requests(app)
    _document(app)
    _ops_routes(
        app, runtime, AsyncAPI(runtime.broker, title=f"{title} events", version="1.0.0", description=description)
    )
    return app


def _trace_requests(app: FastAPI) -> None:
    """A server span per request, continuing the caller's `traceparent`; not for the ops
    routes, and without the query string (a search may hold a name)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    def without_query(span: Span, scope: dict[str, Any]) -> None:
        if span.is_recording():
            span.set_attribute("http.target", scope.get("path", ""))
            span.set_attribute("http.url", scope.get("path", ""))

    FastAPIInstrumentor.instrument_app(
        app,
        server_request_hook=without_query,
        excluded_urls="healthz,readyz,metrics,static,openapi.json,asyncapi.json",
        exclude_spans=["receive", "send"],
    )


def _document(app: FastAPI) -> None:
    """OpenAPI with the shared error schema, the service's extra components, and the
    routes that may be called without a token by configuration."""

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


def _ops_routes(app: FastAPI, runtime: ServiceRuntime, spec: AsyncAPI) -> None:
    """Health, readiness, metrics, the pages' sign-in script and the AsyncAPI document."""

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
    async def metrics(request: Request) -> Response:
        metrics_access.check(runtime.settings.metrics_token_file, request.headers.get("authorization"))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/static/signin.js", include_in_schema=False)  # the pages' sign-in bar: no data in it
    async def signin_js() -> FileResponse:
        return FileResponse(SIGNIN_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @app.get("/static/trace-ui.json", include_in_schema=False)  # where the pages link a fact's trace
    async def trace_ui() -> dict[str, str | None]:
        url = runtime.settings.trace_ui_url
        return {"url": url.rstrip("/") if url else None}

    @app.get("/asyncapi.json", tags=["ops"], response_model=dict[str, Any])
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(spec.to_specification().to_jsonable())
