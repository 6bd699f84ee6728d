"""Progress toward the targets as Prometheus gauges (SPEC §1: reporting consumers read
JSON, CSV, the dashboard — and metrics). Refreshed by a background job, not per scrape."""

import asyncpg
from prometheus_client import Gauge

from services.reporting.adapters import progress_query as q
from services.reporting.domain.progress import window

ACTUAL = Gauge("progress_actual", "Actual value of a plan metric as of today", ["metric", "year"])
TARGET = Gauge("progress_target", "Target of a plan metric", ["metric", "year"])
RATIO = Gauge("progress_ratio", "Actual / target", ["metric", "year"])
REFRESHED = Gauge("progress_gauges_refreshed_timestamp_seconds", "When the progress gauges were last refreshed")


async def publish_progress_gauges(conn: asyncpg.Connection) -> None:
    today = q.today_in_xinjiang()
    years = {r["year"] for r in await conn.fetch("SELECT DISTINCT year FROM targets")} | {today.year}
    for year in sorted(y for y in years if y <= today.year):
        w = window(year, as_of=None, today=today)
        actual = (await q.actuals(conn, w, prefecture=None)).get(q.REGION, {})
        targets = await q.targets(conn, year)
        for metric, target in targets.items():
            value = actual.get(metric, 0)
            ACTUAL.labels(metric, str(year)).set(value)
            TARGET.labels(metric, str(year)).set(target)
            RATIO.labels(metric, str(year)).set(value / target if target else 0)
    REFRESHED.set_to_current_time()
