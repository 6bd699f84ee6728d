"""Each service does what its OpenAPI document says (schemathesis, every check),
with one error body shape; hostile HTTP input gets a clear 4xx, never a 5xx or a hang."""

import base64
import re
import shutil
import subprocess

import httpx
import pytest

from tests.support.auth import READER, bearer
from tests.support.http import http_client
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

SERVICES = ("registration", "awards", "reporting")
ERROR_KEYS = {"error_code", "message", "errors"}


@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis_finds_no_mismatch_between_document_and_behaviour(stack: Stack, service: str) -> None:
    tool = shutil.which("schemathesis", path=str(ROOT / ".venv" / "bin")) or shutil.which("schemathesis")
    assert tool
    # Every route but the ops ones needs a role: fuzz past the sign-in with all a service's
    # roles (a fuzzed envelope's source is not the sender: 403).
    who = {
        "awards": bearer("fuzz", "approver", "treasurer", "reader"),
        "registration": bearer("svc-tests", "sender", "reader", sender="tests"),
        "reporting": READER,
    }[service]
    signed_in = ["-H", "Authorization: " + who["Authorization"]]
    out = subprocess.run(
        [
            tool,
            "run",
            f"{stack.url(service)}/openapi.json",
            "--checks",
            "all",
            "-n",
            "15",
            "--seed",
            "2015",
            *signed_in,
        ],
        cwd=ROOT,  # schemathesis.toml: which 422s a schema cannot rule out
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    summary = re.search(r"(\d+) generated, (\d+) passed", out.stdout)
    assert out.returncode == 0 and summary is not None, out.stdout[-6000:]
    assert summary.group(1) == summary.group(2) and int(summary.group(1)) > 50


HOSTILE_PATHS = [
    "/v1/enterprises/..%2F..%2Fetc%2Fpasswd",
    "/v1/enterprises/%00%00",
    "/v1/enterprises/" + "新" * 40,
    "/v1/enterprises/" + "A" * 5000,
    "/v1/incubators/%2e%2e%2f%2e%2e%2f",
    "/v1/incubators/" + "x" * 5000,
    "/v1/parked?limit=0",
    "/v1/parked?limit=abc",
    "/v1/parked?limit=99999999999999999999999",
]
HOSTILE_AWARDS = [
    "/v1/enterprises/%00/awards",
    "/v1/enterprises/" + "Z" * 5000 + "/awards",
    "/v1/payouts?cursor=!!!",
    "/v1/payouts?cursor=" + base64.urlsafe_b64encode(b"-5").decode(),
    "/v1/payouts?cursor=" + base64.urlsafe_b64encode(b"9" * 40).decode(),
    "/v1/payouts?cursor=" + "A" * 200,
    "/v1/payouts?limit=-1",
    "/v1/payouts?status=deleted",
]
HOSTILE_REPORTING = [
    "/v1/progress?year=99999",
    "/v1/progress?year=abc",
    "/v1/progress?year=2015&as_of=1970-01-01",
    "/v1/progress?year=2015&as_of=2015-02-30",
    "/v1/progress?year=2015&milestone=mid_term&as_of=2015-07-31",
    "/v1/progress?year=2015&division=../../x",
    "/v1/progress/divisions?year=2015&milestone=%00",
    "/v1/progress.csv?year=-1",
]


@pytest.mark.parametrize(
    ("service", "path"),
    [("registration", p) for p in HOSTILE_PATHS]
    + [("awards", p) for p in HOSTILE_AWARDS]
    + [("reporting", p) for p in HOSTILE_REPORTING],
)
async def test_hostile_input_gets_a_clear_4xx(stack: Stack, service: str, path: str, client: httpx.AsyncClient) -> None:
    r = await client.get(stack.url(service) + path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    if r.status_code != 404 or path.startswith("/v1/"):
        body = r.json()
        assert set(body) == ERROR_KEYS and body["message"], body


@pytest.mark.parametrize("service", SERVICES)
async def test_oversized_headers_are_refused_not_crashed(stack: Stack, service: str, client: httpx.AsyncClient) -> None:
    r = await client.get(f"{stack.url(service)}/healthz", headers={"X-Junk": "j" * 32_000})  # twice h11's 16 KB limit
    after = await client.get(f"{stack.url(service)}/healthz")
    assert 400 <= r.status_code < 500
    assert after.status_code == 200  # and the service keeps serving


async def test_every_documented_error_response_uses_the_one_error_body(stack: Stack) -> None:
    for service in SERVICES:
        async with http_client(timeout=10, headers=READER) as client:
            doc = (await client.get(f"{stack.url(service)}/openapi.json")).json()
        assert set(doc["components"]["schemas"]["ErrorBody"]["properties"]) == ERROR_KEYS
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                for status, response in op["responses"].items():
                    if status.startswith("4"):
                        schema = response["content"]["application/json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (service, method, path, status)
        assert "HTTPValidationError" not in doc["components"]["schemas"]
        assert "/metrics" not in doc["paths"]
