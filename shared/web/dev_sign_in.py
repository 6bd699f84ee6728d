"""The development sign-in: a form's name and roles become an RS256 token signed with the
local stack's development key, so people can try the workspace without an identity
provider. Never in production, by construction: it is mounted only when
DEV_SIGN_IN_KEY_FILE is set, the service listens on loopback only, and the key's public
half is already in the service's own AUTH_JWKS_FILE under DEV_SIGN_IN_KID (so it mints
nothing the service would not trust anyway). An office signs in with its identity
provider instead (docs/workspace.md#sign-in)."""

import ipaddress
import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.web.auth import AuthSettings, Role
from shared.web.errors import responses

DEV_TTL_S = 8 * 3600


class PersonRole(StrEnum):
    """A person's roles; a sender is a machine and signs in with its own token (make token)."""

    READER = Role.READER.value
    APPROVER = Role.APPROVER.value
    TREASURER = Role.TREASURER.value


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}


def mint(
    key: rsa.RSAPrivateKey,
    kid: str,
    subject: str,
    roles: list[str],
    *,
    issuer: str,
    audience: str,
    ttl_s: int = DEV_TTL_S,
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "name": subject.title(),
        "roles": roles,
        "iat": now,
        "exp": now + ttl_s,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return key


class SignInForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,39}$", description="who: the token's sub, e.g. alice")
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f<>]+$")
    roles: list[PersonRole] = Field(min_length=1, max_length=3)


def is_loopback_name(host: str) -> bool:
    """localhost, or a loopback address (IPv6 in brackets), with or without a port."""
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else ""
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def addressed_to_loopback(request: Request) -> None:
    if not is_loopback_name(request.headers.get("host", "")):
        raise HTTPException(403, "the development sign-in answers only requests addressed to a loopback name")


def dev_sign_in_router(key_file: Path, kid: str, host: str, auth: AuthSettings) -> APIRouter:
    """The routes GET/POST /dev/sign-in, after checking that they cannot mint a token the
    service would not already trust, nor be reached from another machine."""
    if not is_loopback_name(host):
        raise ValueError(
            f"DEV_SIGN_IN_KEY_FILE is for the local stack: HTTP_HOST must be loopback, not {host or '(empty)'}"
        )
    if auth.jwks_file is None or auth.jwks_url is not None:
        raise ValueError("DEV_SIGN_IN_KEY_FILE needs AUTH_JWKS_FILE (the development JWKS), not an identity provider")
    key = load_key(key_file)
    trusted = json.loads(auth.jwks_file.read_text())["keys"]
    if jwks_of(key, kid)["keys"][0]["n"] not in [k.get("n") for k in trusted if k.get("kid") == kid]:
        raise ValueError(f"the key in {key_file} is not in {auth.jwks_file} under kid {kid!r}")
    assert auth.issuer and auth.audience  # AuthSettings requires them with a JWKS
    issuer, audience = auth.issuer, auth.audience
    # DNS rebinding: a page from elsewhere whose name now points at 127.0.0.1 still sends
    # its own name in Host. Only requests addressed to a loopback name are answered.
    router = APIRouter(prefix="/dev", tags=["development sign-in"], dependencies=[Depends(addressed_to_loopback)])

    @router.get("/sign-in")
    async def offered() -> dict[str, Any]:
        """Whether this service offers the development sign-in (404 when it does not)."""
        return {"enabled": True, "roles": [r.value for r in PersonRole], "ttl_s": DEV_TTL_S}

    @router.post("/sign-in", responses=responses(400, 403, 422))
    async def sign_in(form: SignInForm) -> dict[str, Any]:
        """A token for the person named, with the roles ticked (local stack only)."""
        roles = sorted({r.value for r in form.roles})
        name = form.name or form.subject.title()
        token = mint(key, kid, form.subject, roles, issuer=issuer, audience=audience, name=name)
        return {"token": token, "subject": form.subject, "name": name, "roles": roles, "expires_in_s": DEV_TTL_S}

    return router
