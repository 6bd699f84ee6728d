"""Fold a batch of canonical and award events into the reporting tables and counters."""

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from services.reporting.domain import metric_definitions as m
from services.reporting.domain.metric_definitions import Report, diff, enterprise_contributions
from shared.consumer import claim_new
from shared.db import lock_keys
from shared.divisions import prefecture_of
from shared.events import Envelope

UNKNOWN_PREFECTURE = "000000"
CounterKey = tuple[str, int, str, date]

_ENTERPRISE_COUNTERS = {
    "EnterpriseGraduated": (m.GRADUATIONS, "graduated_on"),
    "HighTechCertified": (m.HIGH_TECH_CERTIFICATIONS, "certified_on"),
    "BoardTransferred": (m.BOARD_TRANSFERS, "transferred_on"),
}


class _Batch:
    def __init__(self) -> None:
        self.counters: Counter[CounterKey] = Counter()
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            "enterprises": [], "employment_reports": [], "admissions": [], "carriers": []
        }
        self.payouts_issued: list[tuple[Any, ...]] = []
        self.payouts_reversed: list[tuple[Any, ...]] = []
        self.touched: set[str] = set()
        self.prefecture: dict[str, str] = {}

    def count(self, metric: str, prefecture: str, day: date, value: int = 1) -> None:
        self.counters[(metric, day.year, prefecture, day)] += value


async def project(conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
    fresh = await claim_new(conn, [e.event_id for e in envelopes])
    new = [e for e in envelopes if e.event_id in fresh]
    if not new:
        return
    b = _Batch()
    usccs = list({e.data["uscc"] for e in new if "uscc" in e.data})
    if usccs:
        for r in await conn.fetch("SELECT uscc, prefecture FROM enterprises WHERE uscc = ANY($1)", usccs):
            b.prefecture[r["uscc"]] = r["prefecture"]
    for e in new:
        _fold(b, e)
    await _write(conn, b)
    if b.touched:
        await lock_keys(conn, "reporting", b.touched)
        await _recompute(conn, b, sorted(b.touched))
    await _add_counters(conn, b.counters)


def _fold(b: _Batch, e: Envelope) -> None:
    d, t = e.data, e.event_type
    day = date.fromisoformat
    if t == "EnterpriseRegistered":
        pref = prefecture_of(d["division_code"])
        b.prefecture[d["uscc"]] = pref
        registered = day(d["registered_on"])
        founders = d.get("college_student_founders", 0)
        b.rows["enterprises"].append(
            (d["uscc"], d["division_code"], pref, registered, d["employees"], founders, e.event_id)
        )
        b.count(m.NEW_ENTERPRISES, pref, registered)
        if founders:
            b.count(m.COLLEGE_STUDENT_FOUNDERS, pref, registered, founders)
        b.touched.add(d["uscc"])
    elif t == "EmploymentReported":
        b.rows["employment_reports"].append((e.event_id, d["uscc"], day(d["reported_on"]), d["employees"]))
        b.touched.add(d["uscc"])
    elif t == "EnterpriseAdmitted":
        b.rows["admissions"].append((e.event_id, d["uscc"], day(d["admitted_on"])))
        b.touched.add(d["uscc"])
    elif t in _ENTERPRISE_COUNTERS:
        metric, field = _ENTERPRISE_COUNTERS[t]
        b.count(metric, b.prefecture.get(d["uscc"], UNKNOWN_PREFECTURE), day(d[field]))
    elif t == "ListedOnBoard":
        metric = m.LISTINGS_XJEE if d["board"] == "XJEE" else m.LISTINGS_NEEQ
        b.count(metric, b.prefecture.get(d["uscc"], UNKNOWN_PREFECTURE), day(d["listed_on"]))
    elif t in ("IncubatorRegistered", "ServicePlatformRegistered"):
        kind = "incubator" if t == "IncubatorRegistered" else "service_platform"
        carrier_id = d["incubator_id"] if kind == "incubator" else d["platform_id"]
        pref, recognized = prefecture_of(d["division_code"]), day(d["recognized_on"])
        b.rows["carriers"].append((carrier_id, kind, d["level"], d["division_code"], pref, recognized))
        if kind == "service_platform":
            b.count(m.SERVICE_PLATFORMS, pref, recognized)
        elif d["level"] == "region":
            b.count(m.REGION_BASES, pref, recognized)
    elif t == "PayoutIssued":
        b.payouts_issued.append(
            (d["payout_id"], d["enterprise_uscc"], d["rule"], d["recipient_role"], d["amount_cny"],
             day(d["basis_date"]))
        )
    elif t == "PayoutReversed":
        b.payouts_reversed.append(
            (d["payout_id"], d["enterprise_uscc"], d["rule"], d["recipient_role"], d["amount_cny"])
        )


async def _write(conn: asyncpg.Connection, b: _Batch) -> None:
    for table, rows in b.rows.items():
        if rows:
            marks = ", ".join(f"${i + 1}" for i in range(len(rows[0])))
            await conn.executemany(f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT DO NOTHING", rows)
    if b.payouts_issued:
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, amount_cny, basis_date, issued) "
            "VALUES ($1::uuid, $2, $3, $4, $5, $6, true) "
            "ON CONFLICT (payout_id) DO UPDATE SET issued = true, basis_date = excluded.basis_date",
            b.payouts_issued,
        )
    if b.payouts_reversed:
        # The issue normally comes first (same key, same partition); if not, the row waits for it.
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, amount_cny, basis_date, reversed) "
            "VALUES ($1::uuid, $2, $3, $4, $5, NULL, true) ON CONFLICT (payout_id) DO UPDATE SET reversed = true",
            b.payouts_reversed,
        )


async def _recompute(conn: asyncpg.Connection, b: _Batch, usccs: list[str]) -> None:
    """Replace the employment-based contributions of the touched enterprises."""
    enterprises = {
        r["uscc"]: r
        for r in await conn.fetch(
            "SELECT uscc, prefecture, registered_on, employees, event_id FROM enterprises WHERE uscc = ANY($1)", usccs
        )
    }
    reports: dict[str, list[Report]] = {u: [] for u in usccs}
    for u, r in enterprises.items():
        reports[u].append(Report(r["registered_on"], r["employees"], 0, str(r["event_id"])))
    for r in await conn.fetch(
        "SELECT uscc, reported_on, employees, event_id FROM employment_reports WHERE uscc = ANY($1)", usccs
    ):
        reports[r["uscc"]].append(Report(r["reported_on"], r["employees"], 1, str(r["event_id"])))
    admissions: dict[str, list[date]] = {u: [] for u in usccs}
    for r in await conn.fetch("SELECT uscc, admitted_on FROM admissions WHERE uscc = ANY($1)", usccs):
        admissions[r["uscc"]].append(r["admitted_on"])
    old: dict[str, m.Contributions] = {u: Counter() for u in usccs}
    for r in await conn.fetch(
        "SELECT uscc, metric, cohort, day, value FROM enterprise_contributions WHERE uscc = ANY($1)", usccs
    ):
        old[r["uscc"]][(r["metric"], r["cohort"], r["day"])] = r["value"]
    new_rows = []
    for u in usccs:
        e = enterprises.get(u)
        new = enterprise_contributions(
            registered_on=e and e["registered_on"], reports=reports[u], admissions=admissions[u]
        )
        pref = e["prefecture"] if e else UNKNOWN_PREFECTURE
        for (metric, cohort, day), delta in diff(old[u], new).items():
            b.counters[(metric, cohort, pref, day)] += delta
        new_rows += [(u, metric, cohort, day, value) for (metric, cohort, day), value in new.items()]
    await conn.execute("DELETE FROM enterprise_contributions WHERE uscc = ANY($1)", usccs)
    if new_rows:
        await conn.copy_records_to_table(
            "enterprise_contributions", records=new_rows, schema_name=await conn.fetchval("SELECT current_schema()")
        )


async def _add_counters(conn: asyncpg.Connection, counters: Counter[CounterKey]) -> None:
    rows = [(metric, cohort, pref, day, v) for (metric, cohort, pref, day), v in counters.items() if v]
    if rows:
        await conn.executemany(
            "INSERT INTO daily_counters VALUES ($1, $2, $3, $4, $5) ON CONFLICT (metric, cohort, prefecture, day) "
            "DO UPDATE SET value = daily_counters.value + excluded.value",
            sorted(rows),
        )
