"""Windows, milestones and the shape of a progress answer (docs/contract/policy.md#targets, http.md). Pure."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from services.reporting.domain import metric_definitions as metrics
from services.reporting.domain.metric_definitions import COLLEGE_PERIOD, COLLEGE_STUDENT_FOUNDERS, LABELS_ZH, TARGETED

Milestone = Literal["mid_term", "annual"]


@dataclass(frozen=True, slots=True)
class Window:
    year: int
    start: date
    end: date  # E = min(Y-12-31, as_of)
    as_of: date


def milestone_date(year: int, milestone: Milestone) -> date:
    return date(year, 7, 31) if milestone == "mid_term" else date(year, 11, 30)


def window(year: int, *, as_of: date | None, today: date) -> Window:
    year_end = date(year, 12, 31)
    if as_of is None:
        as_of = today if year == today.year else year_end
    if as_of < date(year, 1, 1):
        raise ValueError(f"as_of {as_of} is before the start of {year}")
    return Window(year, date(year, 1, 1), min(year_end, as_of), as_of)


def period_of(metric: str, w: Window) -> tuple[date, date]:
    if metric == COLLEGE_STUDENT_FOUNDERS:
        return COLLEGE_PERIOD[0], min(COLLEGE_PERIOD[1], w.end)
    return w.start, w.end


def ratio(actual: int, target: int | None) -> float | None:
    return None if not target else round(actual / target, 4)


def metrics_block(w: Window, actuals: dict[str, int], targets: dict[str, int]) -> dict[str, Any]:
    block = {}
    for key in TARGETED:
        start, end = period_of(key, w)
        target = targets.get(key)
        actual = actuals.get(key, 0)
        block[key] = {
            "label_zh": LABELS_ZH[key],
            "target": target,
            "actual": actual,
            "ratio": ratio(actual, target),
            "period": {"from": start.isoformat(), "to": end.isoformat()},
        }
    return block


REGION_DIVISION = "650000"  # the autonomous region itself, in reporting.progress.v1 keys


def progress_rows(
    w: Window,
    *,
    region: dict[str, int],
    targets: dict[str, int],
    by_division: dict[str, dict[str, int]],
    divisions: Iterable[str],
) -> list[dict[str, Any]]:
    """The progress rows of one year as reporting.progress.v1 carries them: each targeted
    metric for the region (with its target) and for every prefecture-level division."""
    rows = []
    for division, actual, with_targets in [
        (REGION_DIVISION, region, targets),
        *((d, by_division.get(d, {}), {}) for d in divisions),
    ]:
        for metric, row in metrics_block(w, actual, with_targets).items():
            rows.append(
                {
                    "year": w.year,
                    "metric": metric,
                    "label_zh": row["label_zh"],
                    "division": division,
                    "actual": row["actual"],
                    "target": row["target"],
                    "ratio": row["ratio"],
                    "period_from": row["period"]["from"],
                    "period_to": row["period"]["to"],
                    "as_of": w.end.isoformat(),
                }
            )
    return rows


def progress_key(row: dict[str, Any]) -> str:
    return f"{row['year']}/{row['metric']}/{row['division']}"


def counters_block(actual: dict[str, int]) -> dict[str, Any]:
    return {
        "high_tech_certifications": actual.get(metrics.HIGH_TECH_CERTIFICATIONS, 0),
        "listings": {"XJEE": actual.get(metrics.LISTINGS_XJEE, 0), "NEEQ": actual.get(metrics.LISTINGS_NEEQ, 0)},
        "board_transfers": actual.get(metrics.BOARD_TRANSFERS, 0),
        "graduations": actual.get(metrics.GRADUATIONS, 0),
    }
