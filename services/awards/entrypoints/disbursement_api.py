"""Disbursement over HTTP: approvals, payment batches and their files, confirmations,
recipients' positions and the audit trail. Every call acts for a named person (JWT)."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.awards.adapters import access_log
from services.awards.domain.audit import AuditFilter
from services.awards.domain.confirmations import CONFIRMATION_HEADER
from services.awards.domain.disbursement import Stage
from services.awards.domain.owed_filter import Matching, OwedFilter
from services.awards.entrypoints.actors import actor_of
from services.awards.service_layer import confirmations, disbursement, disbursement_queries, held_bank_lines
from services.awards.service_layer import treasury_exceptions as treasury_exceptions_
from shared.contract.enums import RecipientRole, Rule
from shared.web.auth import Approver, Reader, Treasurer
from shared.web.errors import responses
from shared.web.params import (
    CSV,
    PLAIN_TEXT,
    XLSX,
    IsoDay,
    PageCursor,
    PageLimit,
    Uscc,
    export_pool_of,
    next_cursor,
    pool_of,
    seq_after,
)

router = APIRouter(prefix="/v1", tags=["disbursement"])


class OwedQuery(BaseModel):
    """Which owed payouts: every field narrows; none means all."""

    rule: Rule | None = None
    recipient_role: RecipientRole | None = None
    prefecture: str | None = Field(default=None, pattern=r"^65\d{2}00$|^6590\d{2}$")
    basis_month: str | None = Field(default=None, pattern=r"^(20\d{2})-(0[1-9]|1[0-2])$")
    min_amount_cny: int | None = Field(default=None, ge=0, le=10**12)
    max_amount_cny: int | None = Field(default=None, ge=0, le=10**12)
    q: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
    )

    def owed_filter(self) -> OwedFilter:
        return OwedFilter(
            self.rule, self.recipient_role, self.prefecture, self.basis_month,
            self.min_amount_cny, self.max_amount_cny, self.q.strip() if self.q else None,
        )  # fmt: skip


class AllMatching(OwedQuery):
    """The filter with what the officer saw it match: approved only if it still does."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=10**7)
    total_cny: int = Field(ge=0, le=10**15)


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payout_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=1000)
    all_matching: AllMatching | None = None

    @model_validator(mode="after")
    def _one_way(self) -> "ApprovalRequest":
        if (self.payout_ids is None) == (self.all_matching is None):
            raise ValueError("give either payout_ids or all_matching")
        return self


@router.post("/approvals", responses=responses(400, 401, 403, 409, 422, 503))
async def approve(request: Request, response: Response, body: ApprovalRequest, who: Approver) -> dict[str, Any]:
    """Approve owed payouts: the ids chosen (up to 1,000), or all that match a filter with
    the count and total CNY the officer saw (409 and nothing approved if the matching set
    changed since). Each payout is answered: approved, already_approved, not_owed (reversed
    or cancelled), held_for_recall or unknown_payout; only `approved` changes anything."""
    actor = actor_of(request, response, who)
    if body.all_matching is not None:
        seen = Matching(body.all_matching.count, body.all_matching.total_cny)
        f = body.all_matching.owed_filter()
        return {"results": await disbursement.approve_matching(pool_of(request), actor, f, seen)}
    assert body.payout_ids is not None
    return {"results": await disbursement.approve_payouts(pool_of(request), actor, body.payout_ids)}


@router.get("/disbursement/owed", responses=responses(401, 403, 422, 503))
async def owed_payouts(
    request: Request,
    _: Reader,
    query: Annotated[OwedQuery, Query()],
    limit: int = PageLimit,
    cursor: str | None = PageCursor,
) -> dict[str, Any]:
    """Owed payouts matching the filter (`q`: part of the enterprise's or the recipient's
    name or code), with how many match in all and what they total."""
    doc = await disbursement_queries.owed(pool_of(request), query.owed_filter(), after=seq_after(cursor), limit=limit)
    return {**{k: v for k, v in doc.items() if k != "last_seq"}, "next_cursor": next_cursor(doc["last_seq"])}


class BatchRequest(BaseModel):
    limit: int = Field(default=1000, ge=1, le=10_000)
    funding: str = Field(default="650000", pattern=r"^65\d{2}00$", description="whose budget pays: one per batch")
    payout_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=10_000)  # else any approved


@router.post("/payment-batches", status_code=201, responses=responses(400, 401, 403, 409, 422, 503))
async def prepare_batch(
    request: Request, response: Response, who: Treasurer, body: BatchRequest | None = None
) -> dict[str, Any]:
    """Put approved payouts (oldest approval first, up to `limit`) into a new payment
    batch and write its CSV and XLSX files; an approver other than the preparer releases it."""
    actor = actor_of(request, response, who)
    wanted = body or BatchRequest()
    return await disbursement.prepare_batch(pool_of(request), actor, wanted.limit, wanted.payout_ids, wanted.funding)


BatchId = Annotated[uuid.UUID, Path()]


@router.post("/payment-batches/{batch_id}/approval", responses=responses(401, 403, 404, 422, 503))
async def release_batch(request: Request, response: Response, batch_id: BatchId, who: Approver) -> dict[str, Any]:
    """Four eyes: whoever prepared the batch cannot approve it. Approving twice changes nothing."""
    actor = actor_of(request, response, who)
    return await disbursement.release_batch(pool_of(request), actor, batch_id)


@router.get("/payment-batches", responses=responses(401, 403, 503))
async def list_batches(request: Request, _: Reader) -> dict[str, Any]:
    return {"batches": await disbursement_queries.recent_batches(pool_of(request))}


@router.get("/payment-batches/{batch_id}", responses=responses(401, 403, 404, 422, 503))
async def batch(request: Request, batch_id: BatchId, _: Reader) -> dict[str, Any]:
    return await disbursement_queries.batch_with_lines(pool_of(request), batch_id)


@router.get(
    "/payment-batches/{batch_id}/file.{kind}",
    responses={**responses(401, 403, 404, 409, 422, 503), 200: {"content": {"text/csv": {}, XLSX: {}}}},
)
async def batch_file(
    request: Request, response: Response, batch_id: BatchId, who: Treasurer, kind: str = Path(pattern="^(csv|xlsx)$")
) -> Response:
    """The file exactly as prepared; `X-Content-SHA256` is its SHA-256, as recorded in the
    batch. 409 until another approver has released the batch, and for a voided one. Only a
    treasurer takes a payment instruction to the bank; readers see the batch's lines. Each
    download is in the access log."""
    content, digest = await disbursement.batch_file(pool_of(request), batch_id, kind)
    actor = actor_of(request, response, who)
    await access_log.record(pool_of(request), actor, "payment-file", f"{batch_id}.{kind} sha256 {digest}")
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


@router.post("/payment-batches/{batch_id}/void", responses=responses(401, 403, 404, 409, 422, 503))
async def void_batch(request: Request, response: Response, batch_id: BatchId, who: Treasurer) -> dict[str, Any]:
    """A batch that must not leave (a line was reversed since it was prepared): its other
    lines go back to approved for a new batch. Only before release; voiding twice changes
    nothing."""
    actor = actor_of(request, response, who)
    return await disbursement.void_batch(pool_of(request), actor, batch_id)


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


class AuditQuery(BaseModel):
    """Which audit rows: every field narrows; `from`/`to` are the office's (Beijing) days."""

    model_config = ConfigDict(populate_by_name=True)

    actor: str | None = Field(default=None, max_length=100, pattern=PLAIN_TEXT, description="the person: a token's sub")
    action: str | None = Field(default=None, max_length=64, pattern=PLAIN_TEXT)
    subject: str | None = Field(
        default=None, max_length=100, pattern=PLAIN_TEXT, description="the payout, batch, file or exception"
    )
    from_: IsoDay | None = Field(default=None, alias="from")
    to: IsoDay | None = None

    def audit_filter(self) -> AuditFilter:
        return AuditFilter(self.actor, self.action, self.subject, self.from_, self.to)


@router.get("/audit", responses=responses(401, 403, 422, 503))
async def audit_trail(
    request: Request,
    _: Reader,
    query: Annotated[AuditQuery, Query()],
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Who did what, when, from which request; oldest first, `after` = the last `seq` seen."""
    return await disbursement_queries.audit_trail(pool_of(request), query.audit_filter(), after=after, limit=limit)


@router.get("/access-log", responses=responses(401, 403, 422, 503))
async def access_log_entries(
    request: Request,
    _: Reader,
    after: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """Who read payment data (payment files, payout exports, the audit export, confirmation
    files as received), oldest first; `after` = the last `seq` seen."""
    rows = await access_log.entries(pool_of(request), after=after, limit=limit)
    return {"entries": rows, "next_after": rows[-1]["seq"] if rows else after}


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={**responses(401, 403, 422, 503), 200: {"content": {"text/csv": {}}}},
)
async def audit_csv(
    request: Request, response: Response, who: Reader, query: Annotated[AuditQuery, Query()]
) -> StreamingResponse:
    """The same rows as CSV for an auditor's spreadsheet (cells that look like formulas are
    prefixed with an apostrophe); in the access log."""
    filters = query.model_dump(by_alias=True, exclude_none=True, mode="json")
    await access_log.record(pool_of(request), actor_of(request, response, who), "audit-export", str(filters))
    return StreamingResponse(
        await disbursement_queries.audit_csv(export_pool_of(request), query.audit_filter()),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
