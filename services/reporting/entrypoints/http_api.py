"""Reporting HTTP API (docs/contract/http.md): progress as JSON and CSV, per-division rows,
the dashboard. Progress needs the role `reader` unless PUBLIC_PROGRESS=true opens its
aggregates to everyone; money (the `awards` block) is a reader's either way."""

import csv
import html
import io
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse

from services.reporting.domain.progress import Milestone
from services.reporting.entrypoints.viewer import Viewer, for_viewer
from services.reporting.service_layer import progress_queries
from shared.contract.divisions import prefecture_of
from shared.web.errors import responses
from shared.web.params import Division, Year, pool_of

router = APIRouter(tags=["reporting"])
DASHBOARD_FILE = Path(__file__).parent / "dashboard.html"
DASHBOARD = DASHBOARD_FILE.read_text(encoding="utf-8")
# Apache ECharts from web/ (npm ci by `make setup`, a build stage in the Dockerfile): the
# dashboard works on an intranet with no internet, so nothing comes from a CDN.
ECHARTS = Path(__file__).parents[3] / "web" / "node_modules" / "echarts" / "dist" / "echarts.min.js"


@router.get("/v1/progress", responses=responses(401, 403, 422, 503))
async def progress(
    request: Request,
    who: Viewer,
    *,
    year: int = Year,
    as_of: date | None = None,
    milestone: Milestone | None = None,
    division: str | None = Division,
) -> dict[str, Any]:
    w = progress_queries.window_for(year, as_of, milestone)
    doc = await progress_queries.progress(pool_of(request), w, None if division is None else prefecture_of(division))
    return for_viewer(doc, who)


@router.get("/v1/progress/divisions", responses=responses(401, 403, 422, 503))
async def progress_divisions(
    request: Request, who: Viewer, year: int = Year, as_of: date | None = None, milestone: Milestone | None = None
) -> dict[str, Any]:
    return await progress_queries.divisions(pool_of(request), progress_queries.window_for(year, as_of, milestone))


class CSVResponse(PlainTextResponse):
    media_type = "text/csv"


@router.get("/v1/progress.csv", response_class=CSVResponse, responses=responses(401, 403, 422, 503))
async def progress_csv(
    request: Request, who: Viewer, year: int = Year, as_of: date | None = None, milestone: Milestone | None = None
) -> CSVResponse:
    w = progress_queries.window_for(year, as_of, milestone)
    doc = await progress_queries.progress(pool_of(request), w, None)
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
    # Links to the awards service (lookup page, payout exports) point where it is published,
    # and to the traces when a trace UI is configured.
    settings = request.app.state.runtime.settings
    traces = settings.trace_ui_url
    link = f'<a href="{html.escape(traces.rstrip("/"))}/">追踪 Traces (Zipkin)</a>' if traces else ""
    return DASHBOARD.replace("__AWARDS_URL__", settings.awards_url.rstrip("/")).replace("<!--TRACES-->", link)


@router.get("/static/echarts.min.js", include_in_schema=False)
async def echarts() -> FileResponse:
    if not ECHARTS.is_file():
        raise HTTPException(503, f"{ECHARTS} is missing: run `make setup` (npm ci in web/)")
    return FileResponse(ECHARTS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
