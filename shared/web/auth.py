"""Named people with roles: bearer JWTs (RS256) verified against a JWKS.

AUTH_JWKS_FILE (a JWKS document on disk) or AUTH_JWKS_URL (an identity provider's
`jwks_uri`), with AUTH_ISSUER and AUTH_AUDIENCE, which every token must match. Roles come
from the AUTH_ROLES_CLAIM claim (a list, or a space-separated string). Every route that is
not an ops route or a page shell needs a role: closed by default. Unconfigured, those
routes answer 503 (an approval needs somebody to be named, a read somebody entitled);
static API_READ_TOKENS, if an office keeps them, count as the role `reader` and nothing more.
"""

import asyncio
import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, model_validator

from shared.web.read_access import Credentials, token_ok


class Role(StrEnum):
    APPROVER = "approver"  # approves payouts and releases payment batches
    TREASURER = "treasurer"  # prepares payment batches, imports confirmations
    READER = "reader"  # reads the disbursement state and the audit trail
    SENDER = "sender"  # an upstream system sending facts over HTTP, named by its sender claim


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str  # the token's `sub`: who did it
    name: str  # `name` claim when present, else the subject
    roles: frozenset[str]
    sender: str | None = None  # the sender claim: which upstream system a `sender` acts for


class AuthSettings(BaseModel):
    jwks_file: Path | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    roles_claim: str = "roles"
    sender_claim: str = "sender"
    leeway_s: int = 30

    @model_validator(mode="after")
    def _complete(self) -> "AuthSettings":
        if (self.jwks_file or self.jwks_url) and not (self.issuer and self.audience):
            raise ValueError("AUTH_JWKS_FILE / AUTH_JWKS_URL need AUTH_ISSUER and AUTH_AUDIENCE as well")
        if self.jwks_url and not jwks_url_is_safe(self.jwks_url):
            raise ValueError(
                f"AUTH_JWKS_URL={self.jwks_url!r} must be https (plain http only on loopback, for development): "
                "whoever is on the path of a plain-http key set could serve their own key and mint any role"
            )
        return self

    @property
    def configured(self) -> bool:
        return bool(self.jwks_file or self.jwks_url)


def jwks_url_is_safe(url: str) -> bool:
    """https, or plain http to a loopback address (the local stack's development keys)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class JwtVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self._s = settings
        self._client = jwt.PyJWKClient(settings.jwks_url, lifespan=300) if settings.jwks_url else None
        self._file_keys: dict[str, Any] = {}
        self._file_seen: tuple[int, int] | None = None

    def _key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        assert self._s.jwks_file is not None
        stat = self._s.jwks_file.stat()
        if (stat.st_mtime_ns, stat.st_size) != self._file_seen:  # rotated, or a key removed: read it again
            try:
                keys = jwt.PyJWKSet.from_json(self._s.jwks_file.read_text()).keys
            except (jwt.PyJWKSetError, ValueError):
                keys = None  # caught half-written: keep the keys read before, look again next time
            if keys is not None:
                self._file_keys = {k.key_id: k.key for k in keys if k.key_id}
                self._file_seen = (stat.st_mtime_ns, stat.st_size)
        if kid not in self._file_keys:
            raise jwt.InvalidTokenError(f"no key {kid!r} in the JWKS")
        return self._file_keys[kid]

    def verify(self, token: str) -> Principal:
        claims = jwt.decode(
            token,
            self._key(token),
            algorithms=["RS256"],
            issuer=self._s.issuer,
            audience=self._s.audience,
            leeway=self._s.leeway_s,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        raw = claims.get(self._s.roles_claim, [])
        roles = raw.split() if isinstance(raw, str) else [str(r) for r in raw] if isinstance(raw, list) else []
        sender = claims.get(self._s.sender_claim)
        return Principal(
            str(claims["sub"]),
            str(claims.get("name") or claims["sub"]),
            frozenset(roles),
            sender if isinstance(sender, str) and sender else None,
        )


# Who a static read token is: a reader, no one in particular, never an approver.
READ_TOKEN = Principal("read-token", "read token", frozenset({Role.READER.value}))
READ_ROLES = (Role.READER, Role.APPROVER, Role.TREASURER)


async def authenticate(request: Request, credentials: Credentials, roles: tuple[Role, ...]) -> Principal:
    """The verified person holding one of `roles`, or 401 (no or bad token), 403 (the role
    is missing) or 503 (no sign-in configured: closed, not open)."""
    wanted = {r.value for r in roles}
    given = credentials.credentials if credentials else None
    read_tokens: tuple[bytes, ...] = request.app.state.read_tokens
    if given and Role.READER.value in wanted and token_ok(given, read_tokens):
        return READ_TOKEN
    verifier: JwtVerifier | None = request.app.state.verifier
    if verifier is None and not (read_tokens and Role.READER.value in wanted):
        raise HTTPException(503, "sign-in is not configured: set AUTH_JWKS_FILE or AUTH_JWKS_URL")
    if credentials is None or verifier is None:
        raise HTTPException(401, "a bearer token (JWT) is required", headers={"WWW-Authenticate": "Bearer"})
    principal = await _verified(verifier, credentials.credentials)
    if not wanted & principal.roles:
        raise HTTPException(
            403, f"this needs the role {' or '.join(sorted(wanted))}; the token has {sorted(principal.roles)}"
        )
    return principal


async def _verified(verifier: JwtVerifier, token: str) -> Principal:
    try:
        # A JWKS URL may be fetched: off the event loop.
        return await asyncio.to_thread(verifier.verify, token)
    except jwt.PyJWKClientConnectionError as exc:
        raise HTTPException(503, f"the identity provider's keys cannot be fetched: {exc}") from exc
    except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
        raise HTTPException(401, f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}) from exc


def requires(*roles: Role) -> Any:
    """A FastAPI dependency giving the verified person, who must hold one of `roles`."""

    async def person(request: Request, credentials: Credentials) -> Principal:
        return await authenticate(request, credentials, roles)

    return Depends(person)


def install(app: Any, settings: AuthSettings, read_tokens: tuple[bytes, ...]) -> None:
    """What every route's sign-in check reads: the JWT verifier and the static read tokens."""
    app.state.verifier = JwtVerifier(settings) if settings.configured else None
    app.state.read_tokens = read_tokens


Approver = Annotated[Principal, requires(Role.APPROVER)]
Treasurer = Annotated[Principal, requires(Role.TREASURER)]
READ = requires(*READ_ROLES)  # route dependency: payment data, records, exports
Reader = Annotated[Principal, READ]
Sender = Annotated[Principal, requires(Role.SENDER)]
