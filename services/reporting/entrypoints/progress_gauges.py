"""Progress toward the targets as Prometheus gauges (reporting's consumers read
JSON, CSV, the dashboard — and metrics). Set from the rows the progress topic's job
computes anyway, not per scrape."""

from collections.abc import Iterable
from typing import Any

from prometheus_client import Gauge

from services.reporting.domain.progress import REGION_DIVISION

ACTUAL = Gauge("progress_actual", "Actual value of a plan metric as of today", ["metric", "year"])
TARGET = Gauge("progress_target", "Target of a plan metric", ["metric", "year"])
RATIO = Gauge("progress_ratio", "Actual / target", ["metric", "year"])
REFRESHED = Gauge("progress_gauges_refreshed_timestamp_seconds", "When the progress gauges were last refreshed")


def show(rows: Iterable[dict[str, Any]], *, public: bool) -> None:
    """The region's rows that have a target (the plan's targets, year by year) — only when
    progress is public: a figure closed on the API stays closed on /metrics."""
    if not public:
        return
    for r in rows:
        if r["division"] == REGION_DIVISION and r["target"]:
            labels = (r["metric"], str(r["year"]))
            ACTUAL.labels(*labels).set(r["actual"])
            TARGET.labels(*labels).set(r["target"])
            RATIO.labels(*labels).set(r["actual"] / r["target"])
    REFRESHED.set_to_current_time()
