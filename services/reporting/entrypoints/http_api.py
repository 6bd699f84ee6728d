"""Reporting HTTP API (SPEC §4): progress as JSON and CSV, per-division rows, the dashboard."""

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse

from services.reporting.adapters import progress_query as q
from services.reporting.domain.metric_definitions import TARGETED
from services.reporting.domain.progress import Milestone, Window, metrics_block, milestone_date, window
from shared.divisions import PREFECTURES, REGION_CITIES, is_prefecture, prefecture_of
from shared.http_errors import responses

router = APIRouter(tags=["reporting"])
DASHBOARD = (Path(__file__).parent / "dashboard.html").read_text(encoding="utf-8")
# Apache ECharts from web/ (npm ci by `make setup`, a build stage in the Dockerfile): the
# dashboard works on an intranet with no internet, so nothing comes from a CDN.
ECHARTS = Path(__file__).parents[3] / "web" / "node_modules" / "echarts" / "dist" / "echarts.min.js"


def pool_of(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


def request_window(year: int, as_of: date | None, milestone: Milestone | None) -> Window:
    if as_of is not None and milestone is not None:
        raise HTTPException(422, "give as_of or milestone, not both")
    if milestone is not None:
        as_of = milestone_date(year, milestone)
    try:
        return window(year, as_of=as_of, today=q.today_in_xinjiang())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


async def progress_document(conn: asyncpg.Connection, w: Window, division: str | None) -> dict[str, Any]:
    found = await q.actuals(conn, w, prefecture=division)
    actual = found.get(division or q.REGION, {})
    targets = await q.targets(conn, w.year) if division is None else {}
    return {
        "year": w.year,
        "as_of": w.end.isoformat(),
        "division": division,
        "metrics": metrics_block(w, actual, targets),
        "counters": q.counters_block(actual),
        "awards": await q.award_totals(conn, w, division),
    }


Year = Query(ge=2000, le=2100)


@router.get("/v1/progress", responses=responses(401, 422))
async def progress(
    request: Request,
    year: int = Year,
    as_of: date | None = None,
    milestone: Milestone | None = None,
    division: str | None = Query(default=None, pattern=r"^65\d{4}$"),
) -> dict[str, Any]:
    w = request_window(year, as_of, milestone)
    rolled = None if division is None else prefecture_of(division)
    async with pool_of(request).acquire() as conn:
        return await progress_document(conn, w, rolled)


async def divisions_document(conn: asyncpg.Connection, w: Window) -> dict[str, Any]:
    by_prefecture = await q.actuals(conn, w, prefecture="all")
    rows = []
    for code, name in {**PREFECTURES, **REGION_CITIES}.items():
        actual = by_prefecture.get(code, {})
        rows.append(
            {
                "division_code": code,
                "name_zh": name,
                "prefecture_level": is_prefecture(code),
                "metrics": {k: actual.get(k, 0) for k in TARGETED},
                "counters": q.counters_block(actual),
            }
        )
    return {"year": w.year, "as_of": w.end.isoformat(), "divisions": rows}


@router.get("/v1/progress/divisions", responses=responses(401, 422))
async def progress_divisions(
    request: Request, year: int = Year, as_of: date | None = None, milestone: Milestone | None = None
) -> dict[str, Any]:
    w = request_window(year, as_of, milestone)
    async with pool_of(request).acquire() as conn:
        return await divisions_document(conn, w)


class CSVResponse(PlainTextResponse):
    media_type = "text/csv"


@router.get("/v1/progress.csv", response_class=CSVResponse, responses=responses(401, 422))
async def progress_csv(
    request: Request, year: int = Year, as_of: date | None = None, milestone: Milestone | None = None
) -> CSVResponse:
    w = request_window(year, as_of, milestone)
    async with pool_of(request).acquire() as conn:
        doc = await progress_document(conn, w, None)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["key", "label_zh", "target", "actual", "ratio", "from", "to"])
    for key, v in doc["metrics"].items():
        writer.writerow(
            [
                key,
                v["label_zh"],
                v["target"] if v["target"] is not None else "",
                v["actual"],
                v["ratio"] if v["ratio"] is not None else "",
                v["period"]["from"],
                v["period"]["to"],
            ]
        )
    return CSVResponse(
        buf.getvalue(),
        headers={"Content-Disposition": f'attachment; filename="progress-{w.year}-{w.end}.csv"'},
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(request: Request) -> str:
    # Links to the awards service (lookup page, payout exports) point where it is published.
    return DASHBOARD.replace("__AWARDS_URL__", request.app.state.runtime.settings.awards_url.rstrip("/"))


@router.get("/static/echarts.min.js", include_in_schema=False)
async def echarts() -> FileResponse:
    if not ECHARTS.is_file():
        raise HTTPException(503, f"{ECHARTS} is missing: run `make setup` (npm ci in web/)")
    return FileResponse(ECHARTS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
