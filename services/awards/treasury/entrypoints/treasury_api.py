"""The treasury over HTTP: the bank's confirmation files, the lines held for a second
person, and the exception queue. Every call acts for a named person (JWT)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from services.awards.audit.adapters import access_log
from services.awards.audit.entrypoints.actors import actor_of
from services.awards.treasury.domain.confirmations import CONFIRMATION_HEADER
from services.awards.treasury.service_layer import confirmations, held_bank_lines
from services.awards.treasury.service_layer import treasury_exceptions as treasury_exceptions_
from shared.web.auth import Approver, Reader, Treasurer
from shared.web.errors import responses
from shared.web.params import CSV, PageLimit, pool_of

router = APIRouter(prefix="/v1", tags=["disbursement"])


@router.post(
    "/confirmations",
    responses=responses(401, 403, 413, 422, 503),
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string", "pattern": f"^\ufeff?{','.join(CONFIRMATION_HEADER)}"}}
            },
            "required": True,
        }
    },
)
async def import_confirmation(request: Request, response: Response, who: Treasurer) -> dict[str, Any]:
    """The bank's confirmation CSV (payout_id,direction,amount_cny,value_date,reference
    [,clawback_id]; direction paid, recovered or returned). The file is kept as received
    (fetch it again by its SHA-256); each line is answered: it books what it says, finds
    it booked already (the same reference), is held for a second person (a `recovered`
    or `returned` line: see /v1/held-lines), or opens a treasury exception. Importing a
    file twice books, holds and opens nothing new."""
    actor = actor_of(request, response, who)
    raw = await request.body()
    if len(raw) > confirmations.MAX_BYTES:
        raise HTTPException(413, f"a confirmation file is at most {confirmations.MAX_BYTES} bytes")
    return await confirmations.import_confirmation(pool_of(request), actor, raw)


Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="SHA-256 of the file's bytes, hex")]


@router.get(
    "/confirmations/{sha256}",
    responses={**responses(401, 403, 404, 422, 503), 200: {"content": {"text/csv": {}}}},
)
async def confirmation_file(request: Request, response: Response, sha256: Sha256, who: Reader) -> Response:
    """A confirmation file exactly as it was received (a BOM included); in the access log."""
    content = await confirmations.confirmation_file(pool_of(request), sha256)
    await access_log.record(pool_of(request), actor_of(request, response, who), "confirmation-file", sha256)
    return Response(
        content,
        media_type=CSV,
        headers={
            "X-Content-SHA256": sha256,
            "Content-Disposition": f'attachment; filename="confirmation-{sha256}.csv"',
        },
    )


ExceptionStatus = Literal["open", "resolved", "closed"]


@router.get("/treasury-exceptions", responses=responses(401, 403, 422, 503))
async def treasury_exceptions(
    request: Request,
    _: Reader,
    status: ExceptionStatus | None = None,
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = PageLimit,
) -> dict[str, Any]:
    """Confirmation lines that were not a plain match, with the file, the line, the reason
    and the amounts: `open` (nobody resolved it), `resolved` (awaiting a second person),
    `closed`."""
    return await treasury_exceptions_.listed(pool_of(request), status, after, limit)


class Resolution(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="what was done about it")


ExceptionId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/treasury-exceptions/{exception_id}/resolution", responses=responses(400, 401, 403, 404, 409, 422, 503))
async def resolve_exception(
    request: Request, response: Response, exception_id: ExceptionId, body: Resolution, who: Treasurer
) -> dict[str, Any]:
    actor = actor_of(request, response, who)
    return await treasury_exceptions_.resolve(pool_of(request), actor, exception_id, body.note)


@router.post("/treasury-exceptions/{exception_id}/confirmation", responses=responses(401, 403, 404, 409, 422, 503))
async def confirm_exception(
    request: Request, response: Response, exception_id: ExceptionId, who: Approver
) -> dict[str, Any]:
    """Four eyes: an approver other than the treasurer who resolved it closes it."""
    actor = actor_of(request, response, who)
    return await treasury_exceptions_.confirm(pool_of(request), actor, exception_id)


HeldStatus = Literal["held", "confirmed", "rejected"]
HeldId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/held-lines", responses=responses(401, 403, 422, 503))
async def held_lines(
    request: Request,
    _: Reader,
    status: HeldStatus | None = None,
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = PageLimit,
) -> dict[str, Any]:
    """Confirmation lines that would settle a clawback or end a recall, held until an
    approver other than the importer decides them: `held`, `confirmed`, `rejected`."""
    return await held_bank_lines.listed(pool_of(request), status, after, limit)


@router.post("/held-lines/{held_id}/confirmation", responses=responses(401, 403, 404, 409, 422, 503))
async def confirm_held_line(request: Request, response: Response, held_id: HeldId, who: Approver) -> dict[str, Any]:
    """Four eyes: an approver other than the treasurer who imported the line books it, if
    the books still allow it (409 says why not)."""
    actor = actor_of(request, response, who)
    return await held_bank_lines.confirm(pool_of(request), actor, held_id)


@router.post("/held-lines/{held_id}/rejection", responses=responses(401, 403, 404, 409, 422, 503))
async def reject_held_line(
    request: Request, response: Response, held_id: HeldId, body: Resolution, who: Approver
) -> dict[str, Any]:
    """The line is not taken: nothing is booked and it becomes a treasury exception."""
    actor = actor_of(request, response, who)
    return await held_bank_lines.reject(pool_of(request), actor, held_id, body.note)
