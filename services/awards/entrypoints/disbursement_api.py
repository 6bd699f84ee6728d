"""Disbursement over HTTP: approvals, payment batches and their files, confirmations,
recipients' positions and the audit trail. Every call acts for a named person (JWT)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from services.awards.domain.audit import Actor
from services.awards.domain.disbursement import CONFIRMATION_HEADER, Stage
from services.awards.service_layer import disbursement, disbursement_queries
from shared.auth import Approver, Principal, Reader, Treasurer
from shared.http_errors import responses
from shared.http_params import CSV, XLSX, PageCursor, PageLimit, Uscc, next_cursor, pool_of, seq_after

router = APIRouter(prefix="/v1", tags=["disbursement"])
MAX_CONFIRMATION_BYTES = 5_000_000


def _actor(request: Request, response: Response, p: Principal) -> Actor:
    request_id = request.headers.get("x-request-id", "")[:100] or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    return Actor(
        subject=p.subject,
        name=p.name,
        roles=tuple(sorted(p.roles)),
        request_id=request_id,
        client=request.client.host if request.client else None,
        method=request.method,
        path=request.url.path,
    )


class ApprovalRequest(BaseModel):
    payout_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


@router.post("/approvals", responses=responses(400, 401, 403, 422, 503))
async def approve(request: Request, response: Response, body: ApprovalRequest, who: Approver) -> dict[str, Any]:
    """Approve owed payouts. Each id is answered: approved, already_approved, not_owed
    (reversed or cancelled) or unknown_payout; only `approved` changes anything."""
    actor = _actor(request, response, who)
    return {"results": await disbursement.approve_payouts(pool_of(request), actor, body.payout_ids)}


class BatchRequest(BaseModel):
    limit: int = Field(default=1000, ge=1, le=10_000)
    payout_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=10_000)  # else any approved


@router.post("/payment-batches", status_code=201, responses=responses(400, 401, 403, 409, 422, 503))
async def prepare_batch(
    request: Request, response: Response, who: Treasurer, body: BatchRequest | None = None
) -> dict[str, Any]:
    """Put approved payouts (oldest approval first, up to `limit`) into a new payment
    batch and write its CSV and XLSX files; an approver other than the preparer releases it."""
    actor = _actor(request, response, who)
    wanted = body or BatchRequest()
    return await disbursement.prepare_batch(pool_of(request), actor, wanted.limit, wanted.payout_ids)


BatchId = Annotated[uuid.UUID, Path()]


@router.post("/payment-batches/{batch_id}/approval", responses=responses(401, 403, 404, 422, 503))
async def release_batch(request: Request, response: Response, batch_id: BatchId, who: Approver) -> dict[str, Any]:
    """Four eyes: whoever prepared the batch cannot approve it. Approving twice changes nothing."""
    actor = _actor(request, response, who)
    return await disbursement.release_batch(pool_of(request), actor, batch_id)


@router.get("/payment-batches", responses=responses(401, 403, 503))
async def list_batches(request: Request, _: Reader) -> dict[str, Any]:
    return {"batches": await disbursement_queries.recent_batches(pool_of(request))}


@router.get("/payment-batches/{batch_id}", responses=responses(401, 403, 404, 422, 503))
async def batch(request: Request, batch_id: BatchId, _: Reader) -> dict[str, Any]:
    return await disbursement_queries.batch_with_lines(pool_of(request), batch_id)


@router.get(
    "/payment-batches/{batch_id}/file.{kind}",
    responses={**responses(401, 403, 404, 422, 503), 200: {"content": {"text/csv": {}, XLSX: {}}}},
)
async def batch_file(
    request: Request, batch_id: BatchId, _: Reader, kind: str = Path(pattern="^(csv|xlsx)$")
) -> Response:
    """The file exactly as prepared; `X-Content-SHA256` is its SHA-256, as recorded in the batch."""
    content, digest = await disbursement_queries.batch_file(pool_of(request), batch_id, kind)
    return Response(
        content,
        media_type=CSV if kind == "csv" else XLSX,
        headers={
            "X-Content-SHA256": digest,
            "Content-Disposition": f'attachment; filename="payment-batch-{batch_id}.{kind}"',
        },
    )


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
    """The treasury's confirmation CSV (payout_id,direction,amount_cny,value_date,reference;
    direction paid or recovered): each line is answered; only `paid` and `settled` change
    anything, so importing a file twice is safe."""
    actor = _actor(request, response, who)
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(422, "the body is the confirmation file (CSV); it is empty")
    if len(raw) > MAX_CONFIRMATION_BYTES:
        raise HTTPException(413, f"a confirmation file is at most {MAX_CONFIRMATION_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "a confirmation file is UTF-8 text") from exc
    return await disbursement.import_confirmation(pool_of(request), actor, text)


@router.get("/disbursement/payouts", responses=responses(401, 403, 422, 503))
async def payouts_by_stage(
    request: Request,
    _: Reader,
    stage: Stage = Stage.OWED,
    limit: int = PageLimit,
    cursor: str | None = PageCursor,
) -> dict[str, Any]:
    page, last = await disbursement_queries.payouts_at_stage(
        pool_of(request), stage, after=seq_after(cursor), limit=limit
    )
    return {"stage": stage.value, "payouts": page, "next_cursor": next_cursor(last)}


@router.get("/recipients/{uscc}/position", responses=responses(401, 403, 422, 503))
async def position(request: Request, _: Reader, uscc: str = Uscc) -> dict[str, Any]:
    """What a recipient was paid and paid back: net = paid - recovered."""
    return await disbursement_queries.position(pool_of(request), uscc)


@router.get("/audit", responses=responses(401, 403, 422, 503))
async def audit_trail(
    request: Request,
    _: Reader,
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
    action: str | None = Query(default=None, max_length=64),
    subject: str | None = Query(default=None, max_length=100),
) -> dict[str, Any]:
    """Who did what, when, from which request; oldest first, `after` = the last `seq` seen."""
    return await disbursement_queries.audit_trail(
        pool_of(request), after=after, limit=limit, action=action, subject=subject
    )
