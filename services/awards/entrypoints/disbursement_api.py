"""Disbursement over HTTP: approvals, payment batches and their files, confirmations,
recipients' positions and the audit trail. Every call acts for a named person (JWT)."""

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path as FilePath
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from services.awards import disbursing
from services.awards.adapters import disbursement_books as books
from services.awards.domain.disbursement import CONFIRMATION_HEADER, Stage, net_position
from services.awards.entrypoints.http_api import PageCursor, PageLimit, Uscc, next_cursor, seq_after
from shared.auth import Approver, Principal, Reader, Treasurer
from shared.http_errors import responses

router = APIRouter(prefix="/v1", tags=["disbursement"])
pages = APIRouter(include_in_schema=False)
APPROVALS_PAGE = (FilePath(__file__).parent / "approvals.html").read_text(encoding="utf-8")
P = ParamSpec("P")
T = TypeVar("T")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CONFIRMATION_BYTES = 5_000_000


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


def _actor(request: Request, response: Response, p: Principal) -> books.Actor:
    request_id = request.headers.get("x-request-id", "")[:100] or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    return books.Actor(
        subject=p.subject,
        name=p.name,
        roles=tuple(sorted(p.roles)),
        request_id=request_id,
        client=request.client.host if request.client else None,
        method=request.method,
        path=request.url.path,
    )


async def _run(
    request: Request, call: Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]], *args: P.args, **kw: P.kwargs
) -> T:
    """A use case on a pooled connection; what the books refuse becomes its HTTP status."""
    async with _pool(request).acquire() as conn:
        try:
            return await call(conn, *args, **kw)
        except disbursing.Refused as exc:
            raise HTTPException(exc.status, str(exc)) from exc


class ApprovalRequest(BaseModel):
    payout_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


@router.post("/approvals", responses=responses(400, 401, 403, 422, 503))
async def approve(request: Request, response: Response, body: ApprovalRequest, who: Approver) -> dict[str, Any]:
    """Approve owed payouts. Each id is answered: approved, already_approved, not_owed
    (reversed or cancelled) or unknown_payout; only `approved` changes anything."""
    actor = _actor(request, response, who)
    return {"results": await _run(request, disbursing.approve_payouts, actor, body.payout_ids)}


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
    return await _run(request, disbursing.prepare_batch, actor, wanted.limit, wanted.payout_ids)


BatchId = Annotated[uuid.UUID, Path()]


@router.post("/payment-batches/{batch_id}/approval", responses=responses(401, 403, 404, 422, 503))
async def release_batch(request: Request, response: Response, batch_id: BatchId, who: Approver) -> dict[str, Any]:
    """Four eyes: whoever prepared the batch cannot approve it. Approving twice changes nothing."""
    actor = _actor(request, response, who)
    return await _run(request, disbursing.release_batch, actor, batch_id)


@router.get("/payment-batches", responses=responses(401, 403, 503))
async def list_batches(request: Request, _: Reader) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        rows = await conn.fetch(f"SELECT {books.BATCH_COLUMNS} FROM payment_batches ORDER BY seq DESC LIMIT 200")
    return {"batches": [disbursing.batch_document(r) for r in rows]}


@router.get("/payment-batches/{batch_id}", responses=responses(401, 403, 404, 422, 503))
async def batch(request: Request, batch_id: BatchId, _: Reader) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        row = await books.batch(conn, batch_id)
        if row is None:
            raise HTTPException(404, f"no payment batch {batch_id}")
        payouts = await conn.fetch(
            "SELECT payout_id, state, amount_cny, paid_on, paid_reference FROM disbursements "
            "WHERE batch_id = $1 ORDER BY payout_id",
            batch_id,
        )
    return {
        **disbursing.batch_document(row),
        "lines": [
            {
                "payout_id": str(p["payout_id"]),
                "state": p["state"],
                "amount_cny": p["amount_cny"],
                "paid_on": p["paid_on"].isoformat() if p["paid_on"] else None,
                "paid_reference": p["paid_reference"],
            }
            for p in payouts
        ],
    }


@router.get(
    "/payment-batches/{batch_id}/file.{kind}",
    responses={**responses(401, 403, 404, 422, 503), 200: {"content": {"text/csv": {}, XLSX: {}}}},
)
async def batch_file(
    request: Request, batch_id: BatchId, _: Reader, kind: str = Path(pattern="^(csv|xlsx)$")
) -> Response:
    """The file exactly as prepared; `X-Content-SHA256` is its SHA-256, as recorded in the batch."""
    async with _pool(request).acquire() as conn:
        found = await books.batch_file(conn, batch_id, kind)
    if found is None:
        raise HTTPException(404, f"no payment batch {batch_id}")
    content, digest = found
    return Response(
        content,
        media_type="text/csv; charset=utf-8" if kind == "csv" else XLSX,
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
    return await _run(request, disbursing.import_confirmation, actor, text)


STAGE_SQL = {
    Stage.OWED: "p.status = 'issued' AND d.state IS NULL",
    Stage.REVERSED: "p.status = 'reversed' AND d.state IS NULL",
    **{s: f"d.state = '{s.value}'" for s in (Stage.APPROVED, Stage.BATCHED, Stage.PAID, Stage.CANCELLED)},
}


@router.get("/disbursement/payouts", responses=responses(401, 403, 422, 503))
async def payouts_by_stage(
    request: Request,
    _: Reader,
    stage: Stage = Stage.OWED,
    limit: int = PageLimit,
    cursor: str | None = PageCursor,
) -> dict[str, Any]:
    after = seq_after(cursor)
    async with _pool(request).acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.seq, p.payout_id, p.enterprise_uscc, p.rule, p.recipient_role, p.recipient_uscc, "
            "p.recipient_name, p.amount_cny, p.basis_date, d.approved_by, d.batch_id, d.paid_on "
            "FROM payouts p LEFT JOIN disbursements d USING (payout_id) "
            f"WHERE p.seq > $1 AND {STAGE_SQL[stage]} ORDER BY p.seq LIMIT $2",
            after,
            limit + 1,
        )
    page, more = rows[:limit], len(rows) > limit
    return {
        "stage": stage.value,
        "payouts": [
            {
                "payout_id": str(r["payout_id"]),
                "enterprise_uscc": r["enterprise_uscc"],
                "rule": r["rule"],
                "recipient_role": r["recipient_role"],
                "recipient_uscc": r["recipient_uscc"],
                "recipient_name": r["recipient_name"],
                "amount_cny": r["amount_cny"],
                "basis_date": r["basis_date"].isoformat(),
                "approved_by": r["approved_by"],
                "batch_id": str(r["batch_id"]) if r["batch_id"] else None,
                "paid_on": r["paid_on"].isoformat() if r["paid_on"] else None,
            }
            for r in page
        ],
        "next_cursor": next_cursor(page, more),
    }


@router.get("/recipients/{uscc}/position", responses=responses(401, 403, 422, 503))
async def position(request: Request, _: Reader, uscc: str = Uscc) -> dict[str, Any]:
    """What a recipient was paid and paid back: net = paid - recovered."""
    async with _pool(request).acquire() as conn:
        row = await conn.fetchrow(
            "SELECT coalesce(sum(d.amount_cny) FILTER (WHERE d.state = 'paid'), 0)::bigint AS paid, "
            "coalesce(sum(c.amount_cny), 0)::bigint AS clawed_back, "
            "coalesce(sum(c.amount_cny) FILTER (WHERE c.settled_on IS NOT NULL), 0)::bigint AS recovered "
            "FROM payouts p JOIN disbursements d USING (payout_id) LEFT JOIN clawbacks c USING (payout_id) "
            "WHERE p.recipient_uscc = $1",
            uscc,
        )
    assert row is not None
    return {
        "recipient_uscc": uscc,
        "paid_cny": row["paid"],
        "clawed_back_cny": row["clawed_back"],
        "recovered_cny": row["recovered"],
        "outstanding_clawback_cny": row["clawed_back"] - row["recovered"],
        "net_cny": net_position(row["paid"], row["recovered"]),
    }


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
    async with _pool(request).acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM audit_log WHERE seq > $1 AND ($2::text IS NULL OR action = $2) "
            "AND ($3::text IS NULL OR subject = $3) ORDER BY seq LIMIT $4",
            after,
            action,
            subject,
            limit,
        )
    return {
        "entries": [
            {
                "seq": r["seq"],
                "at": r["at"].isoformat(),
                "actor": r["actor"],
                "actor_name": r["actor_name"],
                "roles": list(r["roles"]),
                "action": r["action"],
                "subject": r["subject"],
                "detail": orjson.loads(r["detail"]),
                "request_id": r["request_id"],
                "client": r["client"],
                "method": r["method"],
                "path": r["path"],
            }
            for r in rows
        ],
        "next_after": rows[-1]["seq"] if rows else after,
    }


@pages.get("/approvals", response_class=HTMLResponse)
async def approvals_page() -> str:
    return APPROVALS_PAGE
