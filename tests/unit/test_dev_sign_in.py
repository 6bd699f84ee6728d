"""The development sign-in form's route: absent unless configured, refused anywhere but a
loopback listener with the development JWKS, and it mints only people's roles, as tokens
the service verifies like any other."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from services.awards.app import create_app
from services.awards.settings import AwardsSettings
from shared.process.serve import bound_host
from shared.web.auth import AuthSettings, JwtVerifier, Principal
from shared.web.dev_sign_in import new_key
from tests.support import auth


def env(tmp_path: Path, **more: Any) -> dict[str, Any]:
    auth.write_jwks(tmp_path / "jwks.json")  # also writes the tests' key beside it
    return {
        "auth_jwks_file": tmp_path / "jwks.json",
        "auth_issuer": auth.ISSUER,
        "auth_audience": auth.AUDIENCE,
        "dev_sign_in_key_file": tmp_path / "dev-signing-key.pem",
        "dev_sign_in_kid": auth.KID,
        "dev_sign_in_local_stack": True,
        **more,
    }


async def call(
    app: FastAPI, method: str, body: dict[str, Any] | None = None, host: str = "127.0.0.1:8002"
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        return await client.request(method, "/dev/sign-in", json=body)


async def test_the_route_is_absent_unless_configured(tmp_path: Path) -> None:
    settings = env(tmp_path)
    del settings["dev_sign_in_key_file"]
    app = create_app(AwardsSettings(**settings))
    assert (await call(app, "GET")).status_code == 404
    assert (await call(app, "POST", {"subject": "mallory", "roles": ["approver"]})).status_code == 404


async def test_it_mints_a_token_the_service_verifies_with_the_roles_ticked(tmp_path: Path) -> None:
    app = create_app(AwardsSettings(**env(tmp_path)))
    offered = await call(app, "GET")
    assert offered.json() == {"enabled": True, "roles": ["reader", "approver", "treasurer"], "ttl_s": 28800}
    r = await call(app, "POST", {"subject": "alice", "name": "艾丽 Alice", "roles": ["treasurer", "approver"]})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert {k: v for k, v in doc.items() if k != "token"} == {
        "subject": "alice",
        "name": "艾丽 Alice",
        "roles": ["approver", "treasurer"],
        "expires_in_s": 28800,
    }
    verifier = JwtVerifier(AuthSettings(jwks_file=tmp_path / "jwks.json", issuer=auth.ISSUER, audience=auth.AUDIENCE))
    assert verifier.verify(doc["token"]) == Principal("alice", "艾丽 Alice", frozenset({"approver", "treasurer"}))


@pytest.mark.parametrize(
    "body",
    [
        {"subject": "svc-tests", "roles": ["sender"]},  # a machine's role: never from a form
        {"subject": "alice", "roles": []},
        {"subject": "Alice Smith", "roles": ["reader"]},
        {"subject": "alice", "roles": ["reader"], "sender": "tests"},  # no other claims
        {"subject": "alice", "name": "<script>", "roles": ["reader"]},
    ],
)
async def test_it_refuses_what_a_person_cannot_be_given(tmp_path: Path, body: dict[str, Any]) -> None:
    r = await call(create_app(AwardsSettings(**env(tmp_path))), "POST", body)
    assert (r.status_code, r.json()["error_code"]) == (422, "INVALID_REQUEST")


def test_it_refuses_to_start_off_loopback_with_a_provider_or_with_a_key_the_service_does_not_trust(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match=r"HTTP_HOST must be loopback, not 0\.0\.0\.0"):
        create_app(AwardsSettings(**env(tmp_path, http_host="0.0.0.0")))
    with pytest.raises(ValueError, match="needs AUTH_JWKS_FILE"):
        create_app(AwardsSettings(**env(tmp_path, auth_jwks_file=None, auth_jwks_url="https://id.example/jwks")))
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(
        new_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match=r"is not in .* under kid"):
        create_app(AwardsSettings(**env(tmp_path, dev_sign_in_key_file=stranger)))


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8002", "10.0.0.5:8002", "127.0.0.1.nip.io"])
async def test_a_request_addressed_to_another_name_is_refused_dns_rebinding(tmp_path: Path, host: str) -> None:
    app = create_app(AwardsSettings(**env(tmp_path)))
    r = await call(app, "POST", {"subject": "mallory", "roles": ["approver"]}, host=host)
    assert (r.status_code, r.json()["message"]) == (
        403,
        "the development sign-in answers only requests addressed to a loopback name",
    )


@pytest.mark.parametrize("host", ["localhost:8002", "127.0.0.1", "[::1]:8002"])
async def test_loopback_names_are_answered(tmp_path: Path, host: str) -> None:
    assert (await call(create_app(AwardsSettings(**env(tmp_path))), "GET", host=host)).status_code == 200


def test_a_key_file_alone_opens_nothing_and_an_empty_host_binds_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="also needs DEV_SIGN_IN_LOCAL_STACK=true"):
        create_app(AwardsSettings(**env(tmp_path, dev_sign_in_local_stack=False)))
    monkeypatch.setenv("HTTP_HOST", "")  # was: uvicorn bound every interface while the check read the default
    app = create_app(AwardsSettings(**{k: v for k, v in env(tmp_path).items() if k != "http_host"}))
    assert bound_host(app) == "127.0.0.1"
