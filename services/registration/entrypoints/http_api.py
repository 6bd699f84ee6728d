"""Registration HTTP API (SPEC §4): intake through the same path as Kafka, registry reads."""

import hmac
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.registration.entrypoints.intake_schema import request_body_schema
from services.registration.service_layer import intake, registry_queries
from services.registration.settings import RegistrationSettings
from shared.enums import IntakeError, IntakeStatus
from shared.http_errors import error_response, responses
from shared.http_params import Uscc, pool_of
from shared.read_access import BEARER, reader_guard

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
        outcome = await intake.submit(pool_of(request), bytes(body), max_bytes=limit)
        if outcome.status is IntakeStatus.DUPLICATE:
            return JSONResponse({"event_id": str(outcome.event_id), "status": "duplicate"}, status_code=200)
        if outcome.rejection is not None:
            r = outcome.rejection
            status = 409 if r.code is IntakeError.CONFLICTING_DUPLICATE else 422
            return _error(status, r.code, r.message, [{"loc": e.loc, "msg": e.msg} for e in r.errors])
        return JSONResponse({"event_id": str(outcome.event_id), "status": "accepted"}, status_code=202)

    @router.get("/enterprises/{uscc}", dependencies=read, responses=responses(401, 404, 422))
    async def get_enterprise(request: Request, uscc: str = Uscc) -> dict[str, Any]:
        return await registry_queries.enterprise(pool_of(request), uscc)

    @router.get("/incubators/{incubator_id}", dependencies=read, responses=responses(401, 404, 422))
    async def get_incubator(request: Request, incubator_id: str = CARRIER_ID) -> dict[str, Any]:
        return await registry_queries.incubator(pool_of(request), incubator_id)

    @router.get("/parked", dependencies=read, responses=responses(401, 422))
    async def get_parked(request: Request, limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
        return await registry_queries.parked(pool_of(request), limit)

    return router
