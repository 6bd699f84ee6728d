"""Registration HTTP API (docs/contract/http.md): intake through the same path as Kafka, registry reads."""

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.registration.domain.intake import Outcome
from services.registration.entrypoints.intake_schema import request_body_schema
from services.registration.service_layer import intake, registry_queries
from services.registration.settings import RegistrationSettings
from shared.contract.enums import IntakeError, IntakeStatus
from shared.messaging import trace_context
from shared.web.auth import READ, Sender
from shared.web.errors import error_response, responses
from shared.web.params import Uscc, pool_of

# Any printable text: a NUL or control character never reaches PostgreSQL (422 instead of 500).
CARRIER_ID = Path(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")


class Accepted(BaseModel):
    event_id: str
    status: Literal["accepted"]


class Duplicate(BaseModel):
    event_id: str
    status: Literal["duplicate"]


STATUS_OF = {
    IntakeError.CONFLICTING_DUPLICATE: 409,
    IntakeError.SOURCE_MISMATCH: 403,
    IntakeError.NOT_AUTHORIZED: 403,
}


def _error(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return error_response(status, message, errors, code=code)


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds `limit` (never buffering more than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def answer(outcome: Outcome) -> JSONResponse:
    """As the results topic would say it."""
    if outcome.status is IntakeStatus.DUPLICATE:
        return JSONResponse({"event_id": str(outcome.event_id), "status": "duplicate"}, status_code=200)
    if outcome.rejection is not None:
        r = outcome.rejection
        status = STATUS_OF.get(r.code, 422)
        return _error(status, r.code, r.message, [{"loc": e.loc, "msg": e.msg} for e in r.errors])
    return JSONResponse({"event_id": str(outcome.event_id), "status": "accepted"}, status_code=202)


def build_router(settings: RegistrationSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["registration"])
    limit = settings.max_event_bytes
    read = [READ]  # records and the parked list: the role `reader`
    body_schema, _ = request_body_schema()

    @router.post(
        "/events",
        status_code=202,
        response_model=Accepted,
        responses={
            200: {"model": Duplicate, "description": "Already received (same id, same content)"},
            **responses(401, 403, 409, 413, 422, 503),
        },
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}}},
    )
    async def post_event(request: Request, who: Sender) -> JSONResponse:
        """One intake envelope from a signed-in sender (a JWT with the role `sender` whose
        sender claim names it): its `source` must be that sender, and the sender registry
        must allow it this event type (and carrier). Answered as the results topic would."""
        registry = request.app.state.sender_registry
        if registry is None:
            return _error(503, "NOT_READY", "no sender registry: set SENDER_AUTHORITY_FILE")
        if who.sender is None:
            claim = settings.auth_sender_claim
            return _error(403, IntakeError.NOT_AUTHORIZED, f"the token names no sender (claim {claim!r})")
        body = await _bounded_body(request, limit)
        if body is None:
            return _error(413, IntakeError.TOO_LARGE, f"body exceeds {limit} bytes")
        trace = trace_context.of_current(request.headers.items())
        outcome = await intake.submit(
            pool_of(request), body, max_bytes=limit, sender=who.sender, registry=registry.current(), trace=trace
        )
        response = answer(outcome)
        if traceparent := dict(trace).get("traceparent"):  # W3C's traceresponse: the trace this fact is in
            response.headers["traceresponse"] = traceparent.decode()
        return response

    @router.get("/enterprises/{uscc}", dependencies=read, responses=responses(401, 403, 404, 422, 503))
    async def get_enterprise(request: Request, uscc: str = Uscc) -> dict[str, Any]:
        return await registry_queries.enterprise(pool_of(request), uscc)

    @router.get("/incubators/{incubator_id}", dependencies=read, responses=responses(401, 403, 404, 422, 503))
    async def get_incubator(request: Request, incubator_id: str = CARRIER_ID) -> dict[str, Any]:
        return await registry_queries.incubator(pool_of(request), incubator_id)

    @router.get("/parked", dependencies=read, responses=responses(401, 403, 422, 503))
    async def get_parked(request: Request, limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
        return await registry_queries.parked(pool_of(request), limit)

    return router
