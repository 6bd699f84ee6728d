"""Monthly trend series against the targets. Pure."""

import calendar
from datetime import date

from services.reporting.domain.metric_definitions import COLLEGE_PERIOD, COLLEGE_STUDENT_FOUNDERS
from services.reporting.domain.progress import Window


def month_ends(w: Window) -> list[date]:
    """The last day of every month of the window's year up to its end; a window that
    ends mid-month (today) ends the series on that day."""
    ends = []
    for month in range(1, w.end.month + 1):
        last = date(w.year, month, calendar.monthrange(w.year, month)[1])
        ends.append(min(last, w.end))
    return ends


def pace(target: int | None, start: date, end: date, on: date) -> float | None:
    """Where the straight line from 0 on `start` to the target on `end` stands on `on`
    (the college-student target's line runs over the plan's three years)."""
    if target is None:
        return None
    share = min(max((on - start).days / (end - start).days, 0.0), 1.0)
    return round(target * share, 1)


def target_period(metric: str, year: int) -> tuple[date, date]:
    """The span a target is set for: the year, or the plan's period for college students."""
    return COLLEGE_PERIOD if metric == COLLEGE_STUDENT_FOUNDERS else (date(year, 1, 1), date(year, 12, 31))
