"""The policy office's views: monthly trends against the targets, the disbursement flows
and the milestone workbook."""

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from services.reporting.entrypoints.viewer import Viewer, for_viewer
from services.reporting.service_layer import progress_queries
from shared.contract.divisions import prefecture_of
from shared.web.auth import READ
from shared.web.errors import responses
from shared.web.params import XLSX, Division, Year, pool_of

Funding = Query(default=None, pattern=r"^65\d{2}00$", description="whose budget: 650000 (the region) or a prefecture")
router = APIRouter(tags=["reporting"])


@router.get("/v1/progress/monthly", responses=responses(401, 403, 422, 503))
async def progress_monthly(
    request: Request, who: Viewer, year: int = Year, division: str | None = Division
) -> dict[str, Any]:
    """Cumulative actual of every target at each month's end (the last point is today in
    the current year), the pace line toward the target, and awards by basis month."""
    rolled = None if division is None else prefecture_of(division)
    return for_viewer(await progress_queries.monthly(pool_of(request), year, rolled), who)


@router.get("/v1/disbursement", dependencies=[READ], responses=responses(401, 403, 422, 503))
async def disbursement(
    request: Request, year: int = Year, division: str | None = Division, funding: str | None = Funding
) -> dict[str, Any]:
    """CNY owed / approved / cancelled / paid / clawed back / recovered per month and
    prefecture: owed = live payouts by basis month; the others by the day they happened
    (a cancellation is counted on its day, so past months never change). `funding`: only
    what that budget pays (650000 the region's, or a prefecture's)."""
    rolled = None if division is None else prefecture_of(division)
    return await progress_queries.disbursement(pool_of(request), year, rolled, funding)


@router.get(
    "/v1/reports/{year}/{milestone}.xlsx",
    response_class=Response,
    dependencies=[READ],
    responses={200: {"content": {XLSX: {}}, "description": "the workbook"}, **responses(401, 403, 422, 503)},
)
async def milestone_report(
    request: Request,
    milestone: Literal["mid_term", "annual", "to_date"],
    year: int = Path(ge=2000, le=2100),
) -> Response:
    w = progress_queries.window_for(year, None, None if milestone == "to_date" else milestone)
    body = await progress_queries.milestone_report(pool_of(request), w)
    name = f"progress-{year}-{milestone}-{w.end.isoformat()}.xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
