"""Every route of every service is closed unless it is on the short public list below: 401
without a token, 403 with a token lacking the role, 503 with no sign-in configured. The
routes are enumerated from the apps themselves, so a new route cannot be forgotten."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import REGISTRY

from services.awards.app import create_app as awards_app
from services.awards.settings import AwardsSettings
from services.registration.app import create_app as registration_app
from services.registration.settings import RegistrationSettings
from services.reporting.app import create_app as reporting_app
from services.reporting.entrypoints import progress_gauges
from services.reporting.entrypoints.viewer import PROGRESS_PATHS
from services.reporting.settings import ReportingSettings
from tests.support import auth

# /metrics is a door of its own: the metrics token (test_metrics_need_the_metrics_token).
OPS = {"/healthz", "/readyz", "/metrics", "/asyncapi.json", "/asyncapi", "/openapi.json", "/docs", "/redoc"}
# The pages' sign-in script, and where they link a trace (configuration, no data).
OPS |= {"/docs/oauth2-redirect", "/static/signin.js", "/static/trace-ui.json"}
# Page shells: static HTML and script, no data; what they fetch is guarded like any route.
PAGES = {
    "registration": set[str](),
    "awards": {
        "/lookup",
        "/approvals",
        "/treasury",
        "/audit",
        "/policy",
        "/sign-in",
        "/static/workspace.css",
        "/static/labels.json",
    },
    "reporting": {"/", "/static/echarts.min.js"},
}
# The routes a reader may not use: they act for an approver or a treasurer, or hand out a
# payment file; every other closed route is a read.
NOT_FOR_READERS = {
    "registration": {"POST /v1/events"},
    "awards": {
        "POST /v1/approvals",
        "POST /v1/payment-batches",
        "POST /v1/payment-batches/{batch_id}/approval",
        "GET /v1/payment-batches/{batch_id}/file.{kind}",
        "POST /v1/confirmations",
        "POST /v1/payment-batches/{batch_id}/void",
        "POST /v1/treasury-exceptions/{exception_id}/resolution",
        "POST /v1/treasury-exceptions/{exception_id}/confirmation",
        "POST /v1/held-lines/{held_id}/confirmation",
        "POST /v1/held-lines/{held_id}/rejection",
        "POST /v1/policy/versions",
        "POST /v1/policy/versions/{version_id}/adoption",
    },
    "reporting": set[str](),
}


def apps(env: dict[str, Any]) -> dict[str, FastAPI]:
    return {
        "registration": registration_app(RegistrationSettings(**env)),
        "awards": awards_app(AwardsSettings(**env)),
        "reporting": reporting_app(ReportingSettings(**env)),
    }


@pytest.fixture
def signed_in(tmp_path: Path) -> dict[str, FastAPI]:
    auth.write_jwks(tmp_path / "jwks.json")
    return apps({"auth_jwks_file": tmp_path / "jwks.json", "auth_issuer": auth.ISSUER, "auth_audience": auth.AUDIENCE})


def closed_routes(app: FastAPI, service: str) -> list[tuple[str, str]]:
    """(method, path template) of every route that is neither ops nor a page shell."""
    found = []
    for route in iter_route_contexts(app.routes):  # included routers flattened, prefixes applied
        assert route.path is not None and route.methods, route
        if route.path in OPS or route.path in PAGES[service]:
            continue
        assert isinstance(route.original_route, APIRoute), f"{route.path}: a plain route escapes the sign-in"
        found += [(method, route.path) for method in sorted(route.methods)]
    return found


async def status(app: FastAPI, method: str, template: str, headers: dict[str, str]) -> int:
    path = re.sub(r"\{[^}]+\}", "x", template)
    # No lifespan and no pool: a route that got past the sign-in fails with a 500 here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        body = {"json": {}} if method == "POST" else {}
        return (await client.request(method, path, headers=headers, **body)).status_code


@pytest.mark.parametrize("service", ["registration", "awards", "reporting"])
async def test_every_route_but_ops_and_page_shells_needs_a_role(signed_in: dict[str, FastAPI], service: str) -> None:
    app = signed_in[service]
    routes = closed_routes(app, service)
    assert len(routes) >= {"registration": 4, "awards": 22, "reporting": 6}[service]
    nobody = auth.bearer("nobody")  # signed in, no role
    wrong_sender = auth.bearer("svc-x", "sender", sender="x")
    refused_reader = set()
    for method, path in routes:
        assert await status(app, method, path, {}) == 401, (method, path)
        assert await status(app, method, path, nobody) == 403, (method, path)
        if (method, path) != ("POST", "/v1/events"):
            assert await status(app, method, path, wrong_sender) == 403, (method, path)
        if await status(app, method, path, auth.READER) == 403:
            refused_reader.add(f"{method} {path}")
    assert refused_reader == NOT_FOR_READERS[service]


@pytest.mark.parametrize("service", ["registration", "awards", "reporting"])
async def test_without_sign_in_configured_every_closed_route_answers_503(service: str) -> None:
    app = apps({})[service]
    for method, path in closed_routes(app, service):
        assert await status(app, method, path, auth.READER) == 503, (method, path)


async def test_a_static_read_token_is_a_reader_and_nothing_more(signed_in: dict[str, FastAPI]) -> None:
    app = apps({"api_read_tokens": "static-read-token-1234"})["awards"]
    token = {"Authorization": "Bearer static-read-token-1234"}
    # Past the sign-in (500: no database here) for reads; never an approver or a treasurer.
    assert await status(app, "GET", "/v1/payouts", token) == 500
    assert await status(app, "GET", "/v1/payouts", {"Authorization": "Bearer static-read-token-1235"}) == 401
    assert await status(app, "POST", "/v1/approvals", token) == 503  # no sign-in: nobody can approve


async def test_page_shells_answer_without_a_token_and_hold_no_data(signed_in: dict[str, FastAPI]) -> None:
    for service, pages in PAGES.items():
        for page in {p for p in pages if not p.startswith("/static/")}:
            transport = httpx.ASGITransport(app=signed_in[service])
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.get(page)
            assert (r.status_code, r.headers["content-type"]) == (200, "text/html; charset=utf-8"), page
            assert '<script src="/static/signin.js">' in r.text or "Authorization" in r.text, page


async def test_public_progress_opens_exactly_the_progress_routes_and_says_so(tmp_path: Path) -> None:
    auth.write_jwks(tmp_path / "jwks.json")
    env = {"auth_jwks_file": tmp_path / "jwks.json", "auth_issuer": auth.ISSUER, "auth_audience": auth.AUDIENCE}
    app = reporting_app(ReportingSettings(**env, public_progress=True))
    opened = {path for method, path in closed_routes(app, "reporting") if await status(app, method, path, {}) != 401}
    assert opened == PROGRESS_PATHS
    doc = app.openapi()
    for path, ops in doc["paths"].items():
        optional = [op.get("security", [None])[0] == {} for op in ops.values()]
        assert optional == [path in PROGRESS_PATHS] * len(ops), path


@pytest.mark.parametrize("service", ["registration", "awards", "reporting"])
async def test_metrics_need_the_metrics_token_and_are_closed_without_one(service: str, tmp_path: Path) -> None:
    assert await status(apps({})[service], "GET", "/metrics", auth.READER) == 503  # no token file: closed
    token = tmp_path / "metrics-token"
    token.write_text("scrape-token-0123456789\n")
    app = apps({"metrics_token_file": token})[service]
    asked = [{}, auth.READER, {"Authorization": "Bearer scrape-token-01234567890"}, {"Authorization": "Basic x"}]
    assert [await status(app, "GET", "/metrics", h) for h in asked] == [401, 401, 401, 401]
    assert await status(app, "GET", "/metrics", {"Authorization": "Bearer scrape-token-0123456789"}) == 200
    token.write_text("rotated-token-9876543210")  # read on each scrape: no restart
    assert await status(app, "GET", "/metrics", {"Authorization": "Bearer scrape-token-0123456789"}) == 401
    assert await status(app, "GET", "/metrics", {"Authorization": "bearer rotated-token-9876543210"}) == 200


def test_closed_progress_never_reaches_the_metrics() -> None:
    row = {"division": "650000", "metric": "new_enterprises", "year": 2031, "actual": 7, "target": 3000}
    progress_gauges.show([row], public=False)
    assert REGISTRY.get_sample_value("progress_actual", {"metric": "new_enterprises", "year": "2031"}) is None
    progress_gauges.show([row], public=True)
    assert REGISTRY.get_sample_value("progress_actual", {"metric": "new_enterprises", "year": "2031"}) == 7.0


@pytest.mark.parametrize(
    ("service", "path", "kind"),
    [
        ("registration", "/static/signin.js", "text/javascript"),
        ("awards", "/static/signin.js", "text/javascript"),
        ("awards", "/static/workspace.css", "text/css"),
        ("reporting", "/static/signin.js", "text/javascript"),
        ("reporting", "/static/echarts.min.js", "javascript"),
    ],
)
async def test_the_pages_assets_are_served(signed_in: dict[str, FastAPI], service: str, path: str, kind: str) -> None:
    transport = httpx.ASGITransport(app=signed_in[service])
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(path)
    assert (r.status_code, kind in r.headers["content-type"], len(r.content) > 1000) == (200, True, True)
