"""Registration HTTP API (SPEC §4): intake through the same path as Kafka, registry reads."""

import hmac
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.registration.entrypoints.intake_schema import request_body_schema
from services.registration.intake import IntakeBatch
from services.registration.intake_results import Incoming
from services.registration.settings import RegistrationSettings
from shared.enums import IntakeError, IntakeStatus
from shared.http_errors import error_response, responses
from shared.read_access import BEARER, reader_guard

USCC = Path(pattern=r"^[0-9A-Z]{18}$", description="Unified social credit code: 18 characters, 0-9 and A-Z")
# Any printable text: a NUL or control character never reaches PostgreSQL (422 instead of 500).
CARRIER_ID = Path(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")


class Accepted(BaseModel):
    event_id: str
    status: Literal["accepted"]


class Duplicate(BaseModel):
    event_id: str
    status: Literal["duplicate"]


def _error(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return error_response(status, message, errors, code=code)


def build_router(settings: RegistrationSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["registration"])
    limit = settings.max_event_bytes
    read = reader_guard(settings.read_tokens())
    body_schema, _ = request_body_schema()

    def pool(request: Request) -> asyncpg.Pool:
        return request.app.state.runtime.pool

    @router.post(
        "/events",
        status_code=202,
        response_model=Accepted,
        responses={
            200: {"model": Duplicate, "description": "Already received (same id, same content)"},
            **responses(401, 409, 413, 422),
        },
        # The bearer scheme is documented when a token is configured; checked below.
        dependencies=[Depends(BEARER)] if settings.registration_api_token is not None else [],
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}}},
    )
    async def post_event(request: Request) -> JSONResponse:
        token = settings.registration_api_token
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
                return _error(401, "UNAUTHORIZED", "a bearer token is required")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _error(413, IntakeError.TOO_LARGE, f"body exceeds {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():  # never buffer more than the limit
            body += chunk
            if len(body) > limit:
                return _error(413, IntakeError.TOO_LARGE, f"body exceeds {limit} bytes")
        async with pool(request).acquire() as conn, conn.transaction():
            (outcome,) = await IntakeBatch(conn, max_bytes=limit, dead_letter=False).run([Incoming(raw=bytes(body))])
        if outcome.status is IntakeStatus.DUPLICATE:
            return JSONResponse({"event_id": str(outcome.event_id), "status": "duplicate"}, status_code=200)
        if outcome.rejection is not None:
            r = outcome.rejection
            status = 409 if r.code is IntakeError.CONFLICTING_DUPLICATE else 422
            return _error(status, r.code, r.message, [{"loc": e.loc, "msg": e.msg} for e in r.errors])
        return JSONResponse({"event_id": str(outcome.event_id), "status": "accepted"}, status_code=202)

    @router.get("/enterprises/{uscc}", dependencies=read, responses=responses(401, 404, 422))
    async def get_enterprise(request: Request, uscc: str = USCC) -> dict[str, Any]:
        async with pool(request).acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM enterprises WHERE uscc = $1", uscc)
            if row is None:
                raise HTTPException(404, f"enterprise {uscc} is not registered")
            stints = await conn.fetch(
                "SELECT incubator_id, admitted_on, graduated_on FROM stints WHERE uscc = $1 ORDER BY admitted_on",
                uscc,
            )
            certs = await conn.fetch(
                "SELECT certificate_no, certified_on FROM certifications WHERE uscc = $1 ORDER BY certified_on", uscc
            )
            listings = await conn.fetch(
                "SELECT board, security_code, listed_on FROM listings WHERE uscc = $1 ORDER BY listed_on", uscc
            )
            transfers = await conn.fetch(
                "SELECT from_board, to_board, security_code, transferred_on FROM transfers WHERE uscc = $1 "
                "ORDER BY transferred_on",
                uscc,
            )
            latest = await conn.fetchrow(
                "SELECT employees, reported_on FROM employment_reports WHERE uscc = $1 "
                "ORDER BY reported_on DESC, event_id DESC LIMIT 1",
                uscc,
            )
        return {
            **_row(row),
            "stints": [_row(s) for s in stints],
            "certifications": [_row(c) for c in certs],
            "listings": [_row(x) for x in listings],
            "transfers": [_row(t) for t in transfers],
            "latest_employment_report": latest and _row(latest),
        }

    @router.get("/incubators/{incubator_id}", dependencies=read, responses=responses(401, 404, 422))
    async def get_incubator(request: Request, incubator_id: str = CARRIER_ID) -> dict[str, Any]:
        async with pool(request).acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM incubators WHERE incubator_id = $1", incubator_id)
            if row is None:
                raise HTTPException(404, f"incubator {incubator_id} is not registered")
            resident = await conn.fetchval(
                "SELECT count(*) FROM stints WHERE incubator_id = $1 AND graduated_on IS NULL", incubator_id
            )
        return {**_row(row), "resident_enterprises": resident}

    @router.get("/parked", dependencies=read, responses=responses(401, 422))
    async def get_parked(request: Request, limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
        async with pool(request).acquire() as conn:
            total = await conn.fetchval("SELECT count(*) FROM parked")
            rows = await conn.fetch(
                "SELECT event_id, event_type, waiting_for, reason, parked_at, source_topic, source_partition, "
                "source_offset FROM parked ORDER BY parked_at, event_id LIMIT $1",
                limit,
            )
        return {"total": total, "parked": [_row(r) for r in rows]}

    return router


def _row(record: asyncpg.Record) -> dict[str, Any]:
    return {k: _json(v) for k, v in record.items()}


def _json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    return str(value) if not isinstance(value, int | str | float | type(None)) else value
