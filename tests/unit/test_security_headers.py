"""Every response of every service carries the headers that keep a token-holding page
safe, and the CSP allows exactly the pages' own inline scripts (by hash), nothing from
elsewhere; the documentation pages that loaded CDN scripts are gone."""

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support import auth
from tests.unit.test_closed_by_default import apps


@pytest.fixture
def services(tmp_path: Path) -> dict[str, FastAPI]:
    auth.write_jwks(tmp_path / "jwks.json")
    return apps({"auth_jwks_file": tmp_path / "jwks.json", "auth_issuer": auth.ISSUER, "auth_audience": auth.AUDIENCE})


async def get(app: FastAPI, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        return await client.get(path)


EVERYWHERE = [
    ("awards", "/approvals"),
    ("awards", "/policy"),
    ("awards", "/sign-in"),
    ("reporting", "/"),
    ("awards", "/v1/payouts"),
    ("registration", "/healthz"),
    ("reporting", "/no-such-page"),
]


@pytest.mark.parametrize(("service", "path"), EVERYWHERE)
async def test_every_response_carries_the_headers(services: dict[str, FastAPI], service: str, path: str) -> None:
    r = await get(services[service], path)
    assert (r.headers["x-frame-options"], r.headers["x-content-type-options"], r.headers["referrer-policy"]) == (
        "DENY",
        "nosniff",
        "no-referrer",
    )
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "http" not in csp  # no other origin at all


@pytest.mark.parametrize(("service", "path"), [("awards", "/approvals"), ("awards", "/policy"), ("reporting", "/")])
async def test_a_pages_inline_script_is_allowed_by_its_hash(
    services: dict[str, FastAPI], service: str, path: str
) -> None:
    r = await get(services[service], path)
    [script] = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/asyncapi"])
async def test_no_page_loads_scripts_from_a_cdn(services: dict[str, FastAPI], path: str) -> None:
    for app in services.values():
        assert (await get(app, path)).status_code == 404
    assert (await get(services["awards"], "/openapi.json")).status_code == 200
    assert (await get(services["awards"], "/asyncapi.json")).status_code == 200
