"""Fold a batch of canonical and award events into the reporting tables and counters.

Enterprise-scoped numbers are recomputed per touched enterprise from the set of its
stored facts (pure `enterprise_contributions`) and the difference from what it
contributed before (its row of `contributions`) is added to the daily counters, so
neither arrival order nor a registration arriving late changes the result.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.reporting.domain import metric_definitions as m
from services.reporting.domain.metric_definitions import Report, enterprise_contributions
from shared.codec import Delivered, unique
from shared.db import insert_rows, lock_keys
from shared.divisions import prefecture_of

UNKNOWN_PREFECTURE = "000000"  # facts about an enterprise whose registration has not arrived
CounterKey = tuple[str, int, str, date]

_DATED_FACTS: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "EnterpriseGraduated": (lambda d: m.GRADUATIONS, "graduated_on"),
    "HighTechCertified": (lambda d: m.HIGH_TECH_CERTIFICATIONS, "certified_on"),
    "BoardTransferred": (lambda d: m.BOARD_TRANSFERS, "transferred_on"),
    "ListedOnBoard": (lambda d: m.LISTINGS_XJEE if d["board"] == "XJEE" else m.LISTINGS_NEEQ, "listed_on"),
}

# Disbursement events: the flow each one is, and the field that dates it.
_DISBURSEMENT_FLOWS = {
    "PayoutApproved": ("approved", "approved_on"),
    "PayoutPaid": ("paid", "paid_on"),
    "ClawbackRaised": ("clawed_back", "raised_on"),
    "ClawbackSettled": ("recovered", "settled_on"),
}

_COLUMNS: dict[str, dict[str, str]] = {
    "enterprises": {
        "uscc": "text",
        "division_code": "text",
        "prefecture": "text",
        "registered_on": "date",
        "employees": "int",
        "college_student_founders": "int",
        "event_id": "uuid",
    },
    "employment_reports": {"event_id": "uuid", "uscc": "text", "reported_on": "date", "employees": "int"},
    "admissions": {"event_id": "uuid", "uscc": "text", "admitted_on": "date"},
    "enterprise_facts": {"event_id": "uuid", "uscc": "text", "metric": "text", "day": "date"},
    "carriers": {
        "carrier_id": "text",
        "kind": "text",
        "level": "text",
        "division_code": "text",
        "prefecture": "text",
        "recognized_on": "date",
        "event_id": "uuid",
    },
}
# What a first insert reports back: the enterprise to recompute, or the carrier to count.
_RETURNING = {
    **{t: "RETURNING uscc" for t in ("enterprises", "employment_reports", "admissions", "enterprise_facts")},
    "carriers": "RETURNING kind, level, prefecture, recognized_on",
}


class _Batch:
    def __init__(self) -> None:
        self.counters: Counter[CounterKey] = Counter()
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            "enterprises": [],
            "employment_reports": [],
            "admissions": [],
            "enterprise_facts": [],
            "carriers": [],
        }
        self.payouts_issued: list[tuple[Any, ...]] = []
        self.payouts_reversed: list[tuple[Any, ...]] = []
        self.disbursement_flows: list[tuple[Any, ...]] = []
        self.touched: set[str] = set()


async def project(conn: asyncpg.Connection, events: Sequence[Delivered]) -> None:
    """The stored rows are the dedup: an event already projected inserts nothing, so it
    touches no enterprise and counts no carrier; payout flags are idempotent."""
    b = _Batch()
    for e in unique(events):
        _fold(b, e)
    await _write(conn, b)
    if b.touched:
        await lock_keys(conn, "reporting", b.touched)
        await _recompute(conn, b, sorted(b.touched))
    await _add_counters(conn, b.counters)


def _fold(b: _Batch, e: Delivered) -> None:
    d, t = e.data, e.event_type
    day = date.fromisoformat
    if t == "EnterpriseRegistered":
        b.rows["enterprises"].append(
            (
                d["uscc"],
                d["division_code"],
                prefecture_of(d["division_code"]),
                day(d["registered_on"]),
                d["employees"],
                d.get("college_student_founders", 0),
                e.event_id,
            )
        )
    elif t == "EmploymentReported":
        b.rows["employment_reports"].append((e.event_id, d["uscc"], day(d["reported_on"]), d["employees"]))
    elif t == "EnterpriseAdmitted":
        b.rows["admissions"].append((e.event_id, d["uscc"], day(d["admitted_on"])))
    elif t in _DATED_FACTS:
        metric_of, field = _DATED_FACTS[t]
        b.rows["enterprise_facts"].append((e.event_id, d["uscc"], metric_of(d), day(d[field])))
    elif t in ("IncubatorRegistered", "ServicePlatformRegistered"):
        kind = "incubator" if t == "IncubatorRegistered" else "service_platform"
        carrier_id = d["incubator_id"] if kind == "incubator" else d["platform_id"]
        pref, recognized = prefecture_of(d["division_code"]), day(d["recognized_on"])
        b.rows["carriers"].append((carrier_id, kind, d["level"], d["division_code"], pref, recognized, e.event_id))
    elif t == "PayoutIssued":
        b.payouts_issued.append(
            (
                d["payout_id"],
                d["enterprise_uscc"],
                d["rule"],
                d["recipient_role"],
                d["amount_cny"],
                day(d["basis_date"]),
            )
        )
    elif t == "PayoutReversed":
        b.payouts_reversed.append(
            (d["payout_id"], d["enterprise_uscc"], d["rule"], d["recipient_role"], d["amount_cny"])
        )
    elif t in _DISBURSEMENT_FLOWS:
        kind, field = _DISBURSEMENT_FLOWS[t]
        b.disbursement_flows.append(
            (e.event_id, kind, uuid.UUID(d["payout_id"]), d["enterprise_uscc"], day(d[field]), d["amount_cny"])
        )
    # AwardDeclined and future types: nothing to count.


async def _write(conn: asyncpg.Connection, b: _Batch) -> None:
    for table, rows in b.rows.items():
        new = await insert_rows(
            conn, table, _COLUMNS[table], rows, suffix=f"ON CONFLICT DO NOTHING {_RETURNING[table]}"
        )
        if table != "carriers":
            b.touched.update(r["uscc"] for r in new)
            continue
        for c in new:
            if c["kind"] == "service_platform":
                b.counters[(m.SERVICE_PLATFORMS, c["recognized_on"].year, c["prefecture"], c["recognized_on"])] += 1
            elif c["level"] == "region":
                b.counters[(m.REGION_BASES, c["recognized_on"].year, c["prefecture"], c["recognized_on"])] += 1
    if b.payouts_issued:
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, amount_cny, basis_date, issued) "
            "VALUES ($1::uuid, $2, $3, $4, $5, $6, true) "
            "ON CONFLICT (payout_id) DO UPDATE SET issued = true, basis_date = excluded.basis_date",
            b.payouts_issued,
        )
    await insert_rows(
        conn,
        "disbursement_flows",
        {
            "event_id": "uuid",
            "kind": "text",
            "payout_id": "uuid",
            "enterprise_uscc": "text",
            "day": "date",
            "amount_cny": "bigint",
        },
        b.disbursement_flows,
        suffix="ON CONFLICT DO NOTHING",
    )
    if b.payouts_reversed:
        # The issue normally comes first (same key, same partition); if not, the row waits for it.
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, amount_cny, basis_date, reversed) "
            "VALUES ($1::uuid, $2, $3, $4, $5, NULL, true) ON CONFLICT (payout_id) DO UPDATE SET reversed = true",
            b.payouts_reversed,
        )


async def _recompute(conn: asyncpg.Connection, b: _Batch, usccs: list[str]) -> None:
    """Bring the touched enterprises' stored contributions to what their facts say now,
    and add the difference to the counters."""
    enterprises = {
        r["uscc"]: r
        for r in await conn.fetch(
            "SELECT uscc, prefecture, registered_on, employees, college_student_founders, event_id "
            "FROM unnest($1::text[]) AS k(uscc) JOIN enterprises USING (uscc)",
            usccs,
        )
    }
    reports: dict[str, list[Report]] = {u: [] for u in usccs}
    for u, r in enterprises.items():
        reports[u].append(Report(r["registered_on"], r["employees"], 0, str(r["event_id"])))
    for r in await conn.fetch(
        "SELECT uscc, reported_on, employees, event_id "
        "FROM unnest($1::text[]) AS k(uscc) JOIN employment_reports USING (uscc)",
        usccs,
    ):
        reports[r["uscc"]].append(Report(r["reported_on"], r["employees"], 1, str(r["event_id"])))
    admissions: dict[str, list[date]] = {u: [] for u in usccs}
    for r in await conn.fetch(
        "SELECT uscc, admitted_on FROM unnest($1::text[]) AS k(uscc) JOIN admissions USING (uscc)", usccs
    ):
        admissions[r["uscc"]].append(r["admitted_on"])
    dated: dict[str, list[tuple[str, date]]] = {u: [] for u in usccs}
    for r in await conn.fetch(
        "SELECT uscc, metric, day FROM unnest($1::text[]) AS k(uscc) JOIN enterprise_facts USING (uscc)", usccs
    ):
        dated[r["uscc"]].append((r["metric"], r["day"]))
    before: dict[str, tuple[str, dict[tuple[str, int, date], int]]] = {}
    for r in await conn.fetch(
        "SELECT uscc, prefecture, entries FROM unnest($1::text[]) AS k(uscc) JOIN contributions USING (uscc)", usccs
    ):
        entries = orjson.loads(r["entries"])
        before[r["uscc"]] = (r["prefecture"], {(m, c, date.fromisoformat(d)): v for m, c, d, v in entries})
    # One row per enterprise, rewritten only when its prefecture or a contribution changed.
    rewritten: list[tuple[str, str, str]] = []  # uscc, prefecture, entries as JSON
    emptied: list[str] = []
    for u in usccs:
        e = enterprises.get(u)
        pref = e["prefecture"] if e else UNKNOWN_PREFECTURE
        after = enterprise_contributions(
            registered_on=e and e["registered_on"],
            reports=reports[u],
            admissions=admissions[u],
            founders=e["college_student_founders"] if e else 0,
            dated_facts=dated[u],
        )
        old_pref, old = before.get(u, (pref, {}))
        if old_pref == pref and old == after:
            continue
        for (metric, cohort, day), v in old.items():
            b.counters[(metric, cohort, old_pref, day)] -= v
        for (metric, cohort, day), v in after.items():
            b.counters[(metric, cohort, pref, day)] += v
        if after:
            rewritten.append((u, pref, orjson.dumps([[*key, after[key]] for key in sorted(after)]).decode()))
        elif u in before:
            emptied.append(u)
    # The enterprises are locked (lock_keys): rows not there before cannot appear meanwhile.
    await insert_rows(
        conn,
        "contributions",
        {"uscc": "text", "prefecture": "text", "entries": "json"},
        rewritten,
        suffix="ON CONFLICT (uscc) DO UPDATE SET prefecture = excluded.prefecture, entries = excluded.entries",
    )
    if emptied:
        await conn.execute("DELETE FROM contributions WHERE uscc = ANY($1::text[])", emptied)


REGION = "*"  # the region-wide row beside the per-prefecture rows


async def _add_counters(conn: asyncpg.Connection, counters: Counter[CounterKey]) -> None:
    """Add to the daily and the monthly rollups, per prefecture and region-wide."""
    daily: Counter[CounterKey] = Counter()
    monthly: Counter[CounterKey] = Counter()
    for (metric, cohort, pref, day), v in counters.items():
        if v:
            for p in (pref, REGION):
                daily[(metric, cohort, p, day)] += v
                monthly[(metric, cohort, p, day.replace(day=1))] += v
    for table, key, rows in (("daily_counters", "day", daily), ("monthly_counters", "month", monthly)):
        await insert_rows(
            conn,
            table,
            {"metric": "text", "cohort": "int", "prefecture": "text", key: "date", "value": "bigint"},
            sorted((*k, v) for k, v in rows.items() if v),
            suffix=f"ON CONFLICT (metric, cohort, prefecture, {key}) "
            f"DO UPDATE SET value = {table}.value + excluded.value",
        )
