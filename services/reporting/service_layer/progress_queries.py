"""Progress as its readers see it: against the targets, per division, month by month,
the disbursement flows and the milestone workbook — all from the same range sums, so a
month's end in the series and a sheet's figures equal the progress answer for that date."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import asyncpg

from services.reporting.adapters import milestone_workbook, progress_query
from services.reporting.domain.metric_definitions import LABELS_ZH, TARGETED
from services.reporting.domain.progress import (
    Milestone,
    Window,
    counters_block,
    metrics_block,
    milestone_date,
    window,
)
from services.reporting.domain.projection import REGION, UNKNOWN_PREFECTURE
from services.reporting.domain.trends import month_ends, pace, target_period
from shared.contract.divisions import PREFECTURES, REGION_CITIES, is_prefecture, name_of
from shared.contract.errors import Invalid
from shared.process.clock import business_date
from shared.process.db import snapshot

AWARD_MONTH_COLUMNS = ("issued", "issued_cny", "reversed", "reversed_cny")


def window_for(year: int, as_of: date | None, milestone: Milestone | None) -> Window:
    """The window of a request: up to `as_of`, a milestone, or today (business date)."""
    if as_of is not None and milestone is not None:
        raise Invalid("give as_of or milestone, not both")
    if milestone is not None:
        as_of = milestone_date(year, milestone)
    try:
        return window(year, as_of=as_of, today=business_date())
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


async def _progress(conn: asyncpg.Connection, w: Window, division: str | None) -> dict[str, Any]:
    found = await progress_query.actuals(conn, w, prefecture=division)
    actual = found.get(division or REGION, {})
    targets = await progress_query.targets(conn, w.year) if division is None else {}
    return {
        "year": w.year,
        "as_of": w.end.isoformat(),
        "division": division,
        "metrics": metrics_block(w, actual, targets),
        "counters": counters_block(actual),
        "awards": await progress_query.award_totals(conn, w, division),
    }


async def progress(pool: asyncpg.Pool, w: Window, division: str | None) -> dict[str, Any]:
    """The region's (division None) or one prefecture's progress in the window."""
    async with snapshot(pool) as conn:
        return await _progress(conn, w, division)


async def _divisions(conn: asyncpg.Connection, w: Window) -> dict[str, Any]:
    by_prefecture = await progress_query.actuals(conn, w, prefecture="all")
    rows = []
    for code, name in {**PREFECTURES, **REGION_CITIES}.items():
        actual = by_prefecture.get(code, {})
        rows.append(
            {
                "division_code": code,
                "name_zh": name,
                "prefecture_level": is_prefecture(code),
                "metrics": {k: actual.get(k, 0) for k in TARGETED},
                "counters": counters_block(actual),
            }
        )
    return {"year": w.year, "as_of": w.end.isoformat(), "divisions": rows}


async def divisions(pool: asyncpg.Pool, w: Window) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        return await _divisions(conn, w)


def _awards_by_month(award_rows: Sequence[Any]) -> dict[date, list[int]]:
    by_month: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in award_rows:
        slot = by_month[r["month"]]
        for i, col in enumerate(AWARD_MONTH_COLUMNS):
            slot[i] += r[col]
    return by_month


async def monthly(pool: asyncpg.Pool, year: int, division: str | None) -> dict[str, Any]:
    """Cumulative actual of every target at each month's end (the last point is today in
    the current year), the pace line toward the target, and awards by basis month."""
    w = window_for(year, None, None)
    ends = month_ends(w)
    series: dict[str, list[int]] = {k: [] for k in TARGETED}
    async with snapshot(pool) as conn:
        targets = await progress_query.targets(conn, year) if division is None else {}
        for end in ends:
            found = await progress_query.actuals(conn, window(year, as_of=end, today=end), prefecture=division)
            actual = found.get(division or REGION, {})
            for key in TARGETED:
                series[key].append(actual.get(key, 0))
        award_rows = await progress_query.award_months(conn, w, division)
    by_month = _awards_by_month(award_rows)
    months = [date(year, e.month, 1) for e in ends]
    return {
        "year": year,
        "division": division,
        "months": [month.strftime("%Y-%m") for month in months],
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
        "awards": {name: [by_month[month][i] for month in months] for i, name in enumerate(AWARD_MONTH_COLUMNS)},
    }


async def disbursement(
    pool: asyncpg.Pool, year: int, division: str | None, funding: str | None = None
) -> dict[str, Any]:
    """CNY owed / approved / cancelled / paid / clawed back / recovered per month and
    prefecture: owed = live payouts by basis month; the others by the day they happened
    (a cancellation is counted on its day, so past months never change)."""
    w = window_for(year, None, None)
    async with pool.acquire() as conn:
        rows = await progress_query.disbursement_months(conn, w, division, funding)
    return {"year": year, "funding": funding, **disbursement_table(rows)}


def disbursement_table(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rows of `disbursement_months` as one line per month x prefecture, and totals."""
    lines: dict[tuple[date, str], dict[str, Any]] = {}
    totals = dict.fromkeys(progress_query.DISBURSEMENT_KINDS, 0)
    for r in rows:
        line = lines.setdefault(
            (r["month"], r["prefecture"]),
            {
                "month": r["month"].strftime("%Y-%m"),
                "prefecture": r["prefecture"],
                "name_zh": name_of(r["prefecture"]) if r["prefecture"] != UNKNOWN_PREFECTURE else "未登记",
                **{f"{k}_cny": 0 for k in progress_query.DISBURSEMENT_KINDS},
            },
        )
        line[f"{r['kind']}_cny"] += r["cny"]
        totals[r["kind"]] += r["cny"]
    return {"rows": list(lines.values()), "totals": {f"{k}_cny": v for k, v in totals.items()}}


async def milestone_report(pool: asyncpg.Pool, w: Window) -> bytes:
    """The milestone workbook for the window, from one snapshot."""
    async with snapshot(pool) as conn:
        doc = await _progress(conn, w, None)
        by_division = await _divisions(conn, w)
        award_rows = [dict(r) for r in await progress_query.award_months(conn, w, None)]
        money = disbursement_table(await progress_query.disbursement_months(conn, w, None))
    return milestone_workbook.build(doc, by_division, award_rows, money["rows"])
