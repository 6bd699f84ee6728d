"""Awards HTTP API (docs/contract/http.md): one enterprise's awards and record, the payout
list, a summary."""

from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from services.awards.ledger.service_layer import award_queries
from shared.contract.enums import Rule
from shared.web.errors import responses
from shared.web.params import PageCursor, PageLimit, Uscc, next_cursor, pool_of, seq_after

router = APIRouter(prefix="/v1", tags=["awards"])


@router.get("/enterprises", responses=responses(401, 403, 422, 503))
async def find_enterprises(
    request: Request,
    q: str = Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"),
    limit: int = Query(default=20, ge=1, le=100),
) -> dict[str, Any]:
    """Enterprises by part of their code (prefix or substring) or of their name, code
    prefixes first; `more` says the list was cut at `limit`."""
    return await award_queries.find_enterprises(pool_of(request), q, limit)


@router.get("/enterprises/{uscc}/awards", responses=responses(401, 403, 404, 422, 503))
async def enterprise_awards(request: Request, uscc: str = Uscc) -> dict[str, Any]:
    return await award_queries.enterprise_awards(pool_of(request), uscc)


@router.get("/enterprises/{uscc}/record", responses=responses(401, 403, 404, 422, 503))
async def enterprise_record(request: Request, uscc: str = Uscc) -> dict[str, Any]:
    """What the lookup page shows: the registry facts awards holds, the incubation stints
    built from them, and every grant, decline and reversal with its explanation."""
    return await award_queries.enterprise_record(pool_of(request), uscc)


@router.get("/payouts", responses=responses(401, 403, 422, 503))
async def list_payouts(
    request: Request,
    rule: Rule | None = None,
    status: Literal["issued", "reversed"] | None = None,
    limit: int = PageLimit,
    cursor: str | None = PageCursor,
) -> dict[str, Any]:
    page, last = await award_queries.payouts_page(
        pool_of(request), after=seq_after(cursor), rule=rule, status=status, limit=limit
    )
    return {"payouts": page, "next_cursor": next_cursor(last)}


@router.get("/summary", responses=responses(401, 403, 503))
async def summary(request: Request) -> dict[str, Any]:
    return await award_queries.summary(pool_of(request))
