"""Read the maintained aggregates for one window: a few indexed range sums, no event scans."""

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

from services.reporting.domain import metric_definitions as m
from services.reporting.domain.progress import Window, period_of
from shared.divisions import PREFECTURES

_PER_YEAR = (
    m.NEW_ENTERPRISES,
    m.JOBS,
    m.REGION_BASES,
    m.SERVICE_PLATFORMS,
    m.RESIDENT_ENTERPRISES,
    m.RESIDENT_JOBS,
    m.HIGH_TECH_CERTIFICATIONS,
    m.LISTINGS_XJEE,
    m.LISTINGS_NEEQ,
    m.BOARD_TRANSFERS,
    m.GRADUATIONS,
)


async def actuals_by_prefecture(conn: asyncpg.Connection, w: Window) -> dict[str, dict[str, int]]:
    """{prefecture: {metric: actual}} for every metric and counter of SPEC §2.2."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in await conn.fetch(
        "SELECT prefecture, metric, sum(value)::bigint AS v FROM daily_counters "
        "WHERE metric = ANY($1::text[]) AND cohort = $2 AND day <= $3 GROUP BY 1, 2",
        list(_PER_YEAR),
        w.year,
        w.end,
    ):
        out[r["prefecture"]][r["metric"]] = r["v"]
    start, end = period_of(m.COLLEGE_STUDENT_FOUNDERS, w)
    for r in await conn.fetch(
        "SELECT prefecture, sum(value)::bigint AS v FROM daily_counters "
        "WHERE metric = $1 AND day BETWEEN $2 AND $3 GROUP BY 1",
        m.COLLEGE_STUDENT_FOUNDERS,
        start,
        end,
    ):
        out[r["prefecture"]][m.COLLEGE_STUDENT_FOUNDERS] = r["v"]
    for r in await conn.fetch(
        "SELECT DISTINCT prefecture FROM carriers WHERE kind = 'incubator' AND recognized_on <= $1", w.end
    ):
        if r["prefecture"] in PREFECTURES:
            out[r["prefecture"]][m.PREFECTURES_WITH_BASE] = 1
    return {p: dict(v) for p, v in out.items()}


def total(by_prefecture: dict[str, dict[str, int]], prefecture: str | None) -> dict[str, int]:
    if prefecture is not None:
        return dict(by_prefecture.get(prefecture, {}))
    sums: dict[str, int] = defaultdict(int)
    for metrics in by_prefecture.values():
        for k, v in metrics.items():
            sums[k] += v
    return dict(sums)


async def award_totals(conn: asyncpg.Connection, w: Window, prefecture: str | None) -> dict[str, Any]:
    """Payouts dated by basis date in the window; a reversed payout drops out entirely."""
    rows = await conn.fetch(
        "SELECT p.rule, p.recipient_role, p.reversed, count(*) AS n, sum(p.amount_cny)::bigint AS cny "
        "FROM payouts p LEFT JOIN enterprises e ON e.uscc = p.enterprise_uscc "
        "WHERE p.issued AND p.basis_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR e.prefecture = $3) "
        "GROUP BY 1, 2, 3",
        w.start,
        w.end,
        prefecture,
    )
    by_rule: dict[str, dict[str, int]] = {}
    payouts = reversals = net = reversed_cny = 0
    for r in rows:
        if r["reversed"]:
            reversals += r["n"]
            reversed_cny += r["cny"]
            continue
        payouts += r["n"]
        net += r["cny"]
        slot = by_rule.setdefault(r["rule"], {"operator": 0, "enterprise": 0})
        slot[r["recipient_role"]] += r["cny"]
    return {
        "payouts": payouts,
        "reversals": reversals,
        "reversed_amount_cny": reversed_cny,
        "net_amount_cny": net,
        "by_rule": dict(sorted(by_rule.items())),
    }


async def targets(conn: asyncpg.Connection, year: int) -> dict[str, int]:
    rows = await conn.fetch("SELECT metric, target FROM targets WHERE year = $1", year)
    return {r["metric"]: r["target"] for r in rows}


def counters_block(actual: dict[str, int]) -> dict[str, Any]:
    return {
        "high_tech_certifications": actual.get(m.HIGH_TECH_CERTIFICATIONS, 0),
        "listings": {"XJEE": actual.get(m.LISTINGS_XJEE, 0), "NEEQ": actual.get(m.LISTINGS_NEEQ, 0)},
        "board_transfers": actual.get(m.BOARD_TRANSFERS, 0),
        "graduations": actual.get(m.GRADUATIONS, 0),
    }


def today_in_xinjiang() -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date()
