"""The policy office's views (issue 10): monthly trends against the targets and the
milestone workbook. Both are built from the same queries as /v1/progress, so a month's
end in the series and a sheet's figures equal the progress answer for that date."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from services.reporting.adapters import progress_query as q
from services.reporting.adapters.projection import UNKNOWN_PREFECTURE
from services.reporting.domain.metric_definitions import LABELS_ZH, TARGETED
from services.reporting.domain.progress import window
from services.reporting.domain.trends import month_ends, pace, target_period
from services.reporting.entrypoints import milestone_workbook
from services.reporting.entrypoints.http_api import (
    Year,
    divisions_document,
    pool_of,
    progress_document,
    request_window,
)
from shared.divisions import name_of, prefecture_of
from shared.http_errors import responses

router = APIRouter(tags=["reporting"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/v1/progress/monthly", responses=responses(401, 422))
async def progress_monthly(
    request: Request, year: int = Year, division: str | None = Query(default=None, pattern=r"^65\d{4}$")
) -> dict[str, Any]:
    """Cumulative actual of every target at each month's end (the last point is today in
    the current year), the pace line toward the target, and awards by basis month."""
    w = request_window(year, None, None)
    rolled = None if division is None else prefecture_of(division)
    ends = month_ends(w)
    series: dict[str, list[int]] = {k: [] for k in TARGETED}
    async with pool_of(request).acquire() as conn:
        targets = await q.targets(conn, year) if rolled is None else {}
        for end in ends:
            found = await q.actuals(conn, window(year, as_of=end, today=end), prefecture=rolled)
            actual = found.get(rolled or q.REGION, {})
            for key in TARGETED:
                series[key].append(actual.get(key, 0))
        award_rows = await q.award_months(conn, w, rolled)
    by_month: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in award_rows:
        slot = by_month[r["month"]]
        for i, col in enumerate(("issued", "issued_cny", "reversed", "reversed_cny")):
            slot[i] += r[col]
    months = [date(year, e.month, 1) for e in ends]
    return {
        "year": year,
        "division": rolled,
        "months": [m.strftime("%Y-%m") for m in months],
        "month_ends": [e.isoformat() for e in ends],
        "milestones": {"mid_term": f"{year}-07-31", "annual": f"{year}-11-30"},
        "metrics": {
            key: {
                "label_zh": LABELS_ZH[key],
                "target": targets.get(key),
                "actual": series[key],
                "pace": [pace(targets.get(key), *target_period(key, year), e) for e in ends],
            }
            for key in TARGETED
        },
        "awards": {
            name: [by_month[m][i] for m in months]
            for i, name in enumerate(("issued", "issued_cny", "reversed", "reversed_cny"))
        },
    }


@router.get("/v1/disbursement", responses=responses(401, 422))
async def disbursement(
    request: Request, year: int = Year, division: str | None = Query(default=None, pattern=r"^65\d{4}$")
) -> dict[str, Any]:
    """CNY owed / approved / paid / clawed back / recovered per month and prefecture:
    owed = live payouts by basis month; the others by the day they happened."""
    w = request_window(year, None, None)
    async with pool_of(request).acquire() as conn:
        rows = await q.disbursement_months(conn, w, None if division is None else prefecture_of(division))
    return {"year": year, **disbursement_table(rows)}


def disbursement_table(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rows of `disbursement_months` as one line per month x prefecture, and totals."""
    lines: dict[tuple[date, str], dict[str, Any]] = {}
    totals = dict.fromkeys(q.DISBURSEMENT_KINDS, 0)
    for r in rows:
        line = lines.setdefault(
            (r["month"], r["prefecture"]),
            {
                "month": r["month"].strftime("%Y-%m"),
                "prefecture": r["prefecture"],
                "name_zh": name_of(r["prefecture"]) if r["prefecture"] != UNKNOWN_PREFECTURE else "未登记",
                **{f"{k}_cny": 0 for k in q.DISBURSEMENT_KINDS},
            },
        )
        line[f"{r['kind']}_cny"] += r["cny"]
        totals[r["kind"]] += r["cny"]
    return {"rows": list(lines.values()), "totals": {f"{k}_cny": v for k, v in totals.items()}}


@router.get(
    "/v1/reports/{year}/{milestone}.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the workbook"}, **responses(401, 422)},
)
async def milestone_report(
    request: Request,
    milestone: Literal["mid_term", "annual", "to_date"],
    year: int = Path(ge=2000, le=2100),
) -> Response:
    w = request_window(year, None, None if milestone == "to_date" else milestone)
    async with pool_of(request).acquire() as conn:
        progress = await progress_document(conn, w, None)
        divisions = await divisions_document(conn, w)
        award_rows = [dict(r) for r in await q.award_months(conn, w, None)]
        money = disbursement_table(await q.disbursement_months(conn, w, None))
    body = milestone_workbook.build(progress, divisions, award_rows, money["rows"])
    name = f"progress-{year}-{milestone}-{w.end.isoformat()}.xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
