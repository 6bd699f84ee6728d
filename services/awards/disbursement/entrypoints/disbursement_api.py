"""Disbursement over HTTP: approvals, payment batches and their files, payouts by stage
and recipients' positions. Every call acts for a named person (JWT)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.awards.audit.adapters import access_log
from services.awards.audit.entrypoints.actors import actor_of
from services.awards.disbursement.domain.disbursement import Stage
from services.awards.disbursement.domain.owed_filter import Matching, OwedFilter
from services.awards.disbursement.service_layer import disbursement, disbursement_queries
from shared.contract.enums import RecipientRole, Rule
from shared.web.auth import Approver, Reader, Treasurer
from shared.web.errors import responses
from shared.web.params import (
    CSV,
    XLSX,
    PageCursor,
    PageLimit,
    Uscc,
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


@router.post("/payment-batches/{batch_id}/void", responses=responses(401, 403, 404, 409, 422, 503))
async def void_batch(request: Request, response: Response, batch_id: BatchId, who: Treasurer) -> dict[str, Any]:
    """A batch that must not leave (a line was reversed since it was prepared): its other
    lines go back to approved for a new batch. Only before release; voiding twice changes
    nothing."""
    actor = actor_of(request, response, who)
    return await disbursement.void_batch(pool_of(request), actor, batch_id)


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
