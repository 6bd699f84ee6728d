"""Read the maintained aggregates for one window: a few indexed range sums, no event scans."""

from collections import defaultdict
from typing import Any

import asyncpg

from services.reporting.domain import metric_definitions as metrics
from services.reporting.domain.progress import Window, period_of
from services.reporting.domain.projection import REGION, UNKNOWN_PREFECTURE
from shared.contract.divisions import PREFECTURES

_PER_YEAR = (
    metrics.NEW_ENTERPRISES,
    metrics.JOBS,
    metrics.REGION_BASES,
    metrics.SERVICE_PLATFORMS,
    metrics.RESIDENT_ENTERPRISES,
    metrics.RESIDENT_JOBS,
    metrics.HIGH_TECH_CERTIFICATIONS,
    metrics.LISTINGS_XJEE,
    metrics.LISTINGS_NEEQ,
    metrics.BOARD_TRANSFERS,
    metrics.GRADUATIONS,
)


# Sum whole months from the monthly rollup and the days of the last month from the daily
# one: at most ~12 + 31 rows per metric and prefecture, whatever the history's size. The
# region's figure sums every prefecture's rows (UNKNOWN_PREFECTURE's too) under REGION.
_RANGE_SUM = """
SELECT {label} AS prefecture, metric, sum(value)::bigint AS v FROM (
    SELECT prefecture, metric, value FROM monthly_counters
    WHERE metric = ANY($1::text[]) AND ($2::int IS NULL OR cohort = $2) AND {where}
      AND month >= date_trunc('month', $3::date) AND month < date_trunc('month', $4::date)
    UNION ALL
    SELECT prefecture, metric, value FROM daily_counters
    WHERE metric = ANY($1::text[]) AND ($2::int IS NULL OR cohort = $2) AND {where}
      AND day >= greatest($3::date, date_trunc('month', $4::date)::date) AND day <= $4
) s GROUP BY 1, 2
"""


async def actuals(conn: asyncpg.Connection, w: Window, *, prefecture: str | None) -> dict[str, dict[str, int]]:
    """{prefecture: {metric: actual}}: the region-wide row for prefecture=None, one
    prefecture's row, or (prefecture="all") every prefecture's row."""
    if prefecture is None:
        sql, args = _RANGE_SUM.format(label="$5::text", where="TRUE"), [REGION]
    elif prefecture == "all":
        sql, args = _RANGE_SUM.format(label="prefecture", where="TRUE"), []
    else:
        sql, args = _RANGE_SUM.format(label="prefecture", where="prefecture = $5"), [prefecture]
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # Every per-year metric's window is [Y-01-01, E] within its cohort (business dates).
    for r in await conn.fetch(sql, list(_PER_YEAR), w.year, w.start, w.end, *args):
        out[r["prefecture"]][r["metric"]] = r["v"]
    start, end = period_of(metrics.COLLEGE_STUDENT_FOUNDERS, w)
    for r in await conn.fetch(sql, [metrics.COLLEGE_STUDENT_FOUNDERS], None, start, end, *args):
        out[r["prefecture"]][metrics.COLLEGE_STUDENT_FOUNDERS] = r["v"]
    bases = {
        r["prefecture"]
        for r in await conn.fetch(
            "SELECT DISTINCT prefecture FROM carriers WHERE kind = 'incubator' AND recognized_on <= $1", w.end
        )
        if r["prefecture"] in PREFECTURES
    }
    if prefecture is None:
        out[REGION][metrics.PREFECTURES_WITH_BASE] = len(bases)
    else:
        for p in bases if prefecture == "all" else bases & {prefecture}:
            out[p][metrics.PREFECTURES_WITH_BASE] = 1
    return {p: dict(v) for p, v in out.items()}


# A payout's CNY net of what policy versions clawed back of it.
_NET_CNY = (
    "(p.amount_cny - coalesce((SELECT sum(r.amount_cny) FROM payout_recoveries r WHERE r.payout_id = p.payout_id), 0))"
)


async def award_totals(conn: asyncpg.Connection, w: Window, prefecture: str | None) -> dict[str, Any]:
    """Payouts dated by basis date in the window; a reversed payout drops out entirely. A
    top-up adds its CNY to its award's basis year (not a payout to the count); what a
    version clawed back of a paid award comes off it there too. `by_funding`: the same
    net, by whose budget pays."""
    rows = await conn.fetch(
        "SELECT p.rule, p.recipient_role, p.reversed, p.funding, count(*) FILTER (WHERE NOT p.top_up) AS n, "
        f"sum({_NET_CNY})::bigint AS cny "
        "FROM payouts p LEFT JOIN enterprises e ON e.uscc = p.enterprise_uscc "
        "WHERE p.issued AND p.basis_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR e.prefecture = $3) "
        "GROUP BY 1, 2, 3, 4",
        w.start,
        w.end,
        prefecture,
    )
    by_rule: dict[str, dict[str, int]] = {}
    by_funding: dict[str, dict[str, int]] = {}
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
        funded = by_funding.setdefault(r["funding"], {"payouts": 0, "net_amount_cny": 0})
        funded["payouts"] += r["n"]
        funded["net_amount_cny"] += r["cny"]
    return {
        "payouts": payouts,
        "reversals": reversals,
        "reversed_amount_cny": reversed_cny,
        "net_amount_cny": net,
        "by_rule": dict(sorted(by_rule.items())),
        "by_funding": dict(sorted(by_funding.items())),
    }


async def targets(conn: asyncpg.Connection, year: int) -> dict[str, int]:
    rows = await conn.fetch("SELECT metric, target FROM targets WHERE year = $1", year)
    return {r["metric"]: r["target"] for r in rows}


async def award_months(conn: asyncpg.Connection, w: Window, prefecture: str | None) -> list[asyncpg.Record]:
    """Payouts by rule x recipient role x basis month in the window: everything issued
    (a later reversal included) and, of that, what was reversed."""
    return list(
        await conn.fetch(
            "SELECT p.rule, p.recipient_role, date_trunc('month', p.basis_date)::date AS month, "
            f"count(*) FILTER (WHERE NOT p.top_up) AS issued, sum({_NET_CNY})::bigint AS issued_cny, "
            "count(*) FILTER (WHERE p.reversed AND NOT p.top_up) AS reversed, "
            f"coalesce(sum({_NET_CNY}) FILTER (WHERE p.reversed), 0)::bigint AS reversed_cny "
            "FROM payouts p LEFT JOIN enterprises e ON e.uscc = p.enterprise_uscc "
            "WHERE p.issued AND p.basis_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR e.prefecture = $3) "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            w.start,
            w.end,
            prefecture,
        )
    )


DISBURSEMENT_KINDS = ("owed", "approved", "cancelled", "paid", "clawed_back", "recovered")


async def disbursement_months(
    conn: asyncpg.Connection, w: Window, prefecture: str | None, funding: str | None = None
) -> list[asyncpg.Record]:
    """CNY by month x prefecture x kind in the window: owed = live payouts by basis month;
    approved, paid, clawed back and recovered by the day each happened. `funding`: only
    the flows of payouts that budget pays."""
    return list(
        await conn.fetch(
            "WITH flows AS ("
            " SELECT f.day, f.enterprise_uscc, f.kind, f.amount_cny, coalesce(p.funding, '650000') AS funding"
            " FROM disbursement_flows f LEFT JOIN payouts p ON p.payout_id = f.payout_id"
            " WHERE f.day BETWEEN $1 AND $2"
            " UNION ALL"
            " SELECT p.basis_date, p.enterprise_uscc, 'owed', p.amount_cny, p.funding FROM payouts p"
            " WHERE p.issued AND NOT p.reversed AND p.basis_date BETWEEN $1 AND $2) "
            "SELECT date_trunc('month', f.day)::date AS month, coalesce(e.prefecture, $4) AS prefecture, f.kind, "
            "sum(f.amount_cny)::bigint AS cny FROM flows f LEFT JOIN enterprises e ON e.uscc = f.enterprise_uscc "
            "WHERE ($3::text IS NULL OR e.prefecture = $3) AND ($5::text IS NULL OR f.funding = $5) "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            w.start,
            w.end,
            prefecture,
            UNKNOWN_PREFECTURE,
            funding,
        )
    )


async def published_rows(conn: asyncpg.Connection) -> dict[tuple[int, str, str], tuple[int, int | None]]:
    """What reporting.progress.v1 last said of each (year, metric, division): (actual, target)."""
    return {
        (r["year"], r["metric"], r["division"]): (r["actual"], r["target"])
        for r in await conn.fetch("SELECT year, metric, division, actual, target FROM progress_published")
    }


async def mark_published(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    await conn.executemany(
        "INSERT INTO progress_published (year, metric, division, actual, target) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (year, metric, division) DO UPDATE SET actual = excluded.actual, target = excluded.target",
        [(r["year"], r["metric"], r["division"], r["actual"], r["target"]) for r in rows],
    )


async def reported_years(conn: asyncpg.Connection) -> set[int]:
    """Years with a target or with any counted fact."""
    years = {r["year"] for r in await conn.fetch("SELECT DISTINCT year FROM targets")}
    return years | {r["cohort"] for r in await conn.fetch("SELECT DISTINCT cohort FROM monthly_counters")}
