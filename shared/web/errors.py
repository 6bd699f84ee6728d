"""One error body for every 4xx of all three services, documented as such in OpenAPI.

    {"error_code": "NOT_FOUND", "message": "enterprise … is not registered", "errors": [{"loc", "msg"}]}

Intake keeps its own codes (docs/contract/events.md) (INVALID_USCC, …); everything else uses the HTTP-level
codes below. FastAPI's own 422 (HTTPValidationError) and HTTPException bodies are
replaced by handlers, so what a client generator reads is what the service sends.
"""

import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shared.contract import errors
from shared.process import db


class FieldError(BaseModel):
    loc: str
    msg: str


class ErrorBody(BaseModel):
    error_code: str
    message: str
    errors: list[FieldError] = []


MAX_HEADER_BYTES = 16 * 1024

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "TOO_LARGE",
    422: "INVALID_REQUEST",
    431: "HEADERS_TOO_LARGE",
    503: "NOT_READY",
}
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
DESCRIPTIONS = {
    401: "A bearer token is required (a sign-in JWT, or one of API_READ_TOKENS for reads) and was missing or wrong",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    422: "Invalid request: the fields are named in `errors`",
    503: "Not ready, or PostgreSQL lost during the request (DATABASE_UNAVAILABLE: sending it again is safe)",
}


# A use case's refusal (shared.contract.errors) as an HTTP status.
STATUS_OF_REFUSAL: dict[type[errors.Refused], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NotAllowed: 403,
    errors.Invalid: 422,
}


def error_response(
    status: int,
    message: str,
    errors: list[dict[str, str]] | None = None,
    code: str = "",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        error_code=code or CODES.get(status, f"HTTP_{status}"),
        message=message,
        errors=[FieldError(**e) for e in errors or []],
    )
    extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return JSONResponse(body.model_dump(), status_code=status, headers={**extra, **(headers or {})})


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error statuses, all with ErrorBody as JSON (spelled
    out, so a route that answers CSV or HTML still documents its errors as JSON)."""
    return {
        s: {
            "description": DESCRIPTIONS.get(s, CODES.get(s, "Error")),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for s in statuses
    }


def with_error_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Add ErrorBody and FieldError to an OpenAPI document's components."""
    defs = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs.pop("$defs", {}))
    components["ErrorBody"] = defs
    return schema


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in parts)


class HeaderLimit:
    """Pure ASGI: request headers over MAX_HEADER_BYTES get a 431 with the error body
    (far larger ones are refused by the HTTP parser itself with a 400)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            response = error_response(431, f"request headers exceed {MAX_HEADER_BYTES} bytes")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


FASTAPI_UNPARSABLE_BODY = "There was an error parsing the body"
UNPARSABLE_BODY = {"loc": "body", "msg": "not JSON in UTF-8"}


def install(app: FastAPI) -> None:
    app.add_middleware(HeaderLimit)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_UNPARSABLE_BODY:
            # A body that is not UTF-8 fails before JSON decoding: the same 422 as bad JSON.
            return error_response(422, "the request's parameters are invalid", [UNPARSABLE_BODY])
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (documented := allowed_methods(request)):
            headers["Allow"] = ", ".join(documented)
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(errors.Refused)
    async def refused(_: Request, exc: errors.Refused) -> JSONResponse:
        fields = [{"loc": loc, "msg": msg} for loc, msg in getattr(exc, "fields", [])]
        return error_response(STATUS_OF_REFUSAL.get(type(exc), 409), str(exc), fields)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        if not db.connection_lost(exc):
            raise exc  # a fault of ours: the server's 500
        # Each request is one transaction: wholly kept or wholly undone, and every write is
        # idempotent (a payout is paid once; what was kept answers as already done).
        message = "PostgreSQL was lost during the request: it was done wholly or not at all; sending it again is safe"
        return error_response(503, message, code=DATABASE_UNAVAILABLE, headers={"Retry-After": "5"})

    for lost in (*db.CONNECTION_LOST, asyncpg.InterfaceError):
        app.add_exception_handler(lost, database_unavailable)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return error_response(422, "the request's parameters are invalid", errors)


def allowed_methods(request: Request) -> list[str]:
    """Every documented method at this request's path: GET and POST of one path are two
    routes, and Starlette's 405 names only the first."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allow_table", None)
    if table is None:
        paths = request.app.openapi().get("paths", {})
        table = [(compile_path(p)[0], {m.upper() for m in ops}) for p, ops in paths.items()]
        request.app.state.allow_table = table
    return sorted(set().union(*(methods for regex, methods in table if regex.match(request.url.path))))
