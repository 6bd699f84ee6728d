"""Reporting's projection tables in PostgreSQL: the stored facts (their rows are the
dedup: an event already projected inserts nothing), each enterprise's contributions, and
the daily and monthly counters. Every function runs in the caller's transaction."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import asyncpg
import orjson

from services.reporting.domain.metric_definitions import Report
from services.reporting.domain.projection import CounterKey, Entries, Folded, NewCarrier
from shared.process.db import insert_rows

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
_ENTERPRISE_TABLES = ("enterprises", "employment_reports", "admissions", "enterprise_facts")
_FLOW_COLUMNS = {
    "event_id": "uuid",
    "kind": "text",
    "payout_id": "uuid",
    "enterprise_uscc": "text",
    "day": "date",
    "amount_cny": "bigint",
}


async def store(conn: asyncpg.Connection, folded: Folded) -> tuple[set[str], list[NewCarrier]]:
    """Insert what is new; return (the enterprises a new row touches, the carriers stored now)."""
    touched: set[str] = set()
    for table in _ENTERPRISE_TABLES:
        new = await insert_rows(
            conn, table, _COLUMNS[table], getattr(folded, table), suffix="ON CONFLICT DO NOTHING RETURNING uscc"
        )
        touched.update(r["uscc"] for r in new)
    carriers = await insert_rows(
        conn,
        "carriers",
        _COLUMNS["carriers"],
        folded.carriers,
        suffix="ON CONFLICT DO NOTHING RETURNING kind, level, prefecture, recognized_on",
    )
    if folded.payouts_issued:
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, amount_cny, basis_date, funding, "
            "top_up, issued) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, true) "
            "ON CONFLICT (payout_id) DO UPDATE SET issued = true, basis_date = excluded.basis_date, "
            "funding = excluded.funding, top_up = excluded.top_up",
            folded.payouts_issued,
        )
    await insert_rows(
        conn, "disbursement_flows", _FLOW_COLUMNS, folded.disbursement_flows, suffix="ON CONFLICT DO NOTHING"
    )
    if folded.payout_recoveries:
        await conn.executemany(
            "INSERT INTO payout_recoveries (clawback_id, payout_id, amount_cny) VALUES ($1, $2, $3) "
            "ON CONFLICT (clawback_id) DO NOTHING",
            folded.payout_recoveries,
        )
    if folded.payouts_reversed:
        # The issue normally comes first (same key, same partition); if not, the row waits for it.
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, amount_cny, basis_date, reversed) "
            "VALUES ($1::uuid, $2, $3, $4, $5, NULL, true) ON CONFLICT (payout_id) DO UPDATE SET reversed = true",
            folded.payouts_reversed,
        )
    return touched, [NewCarrier(c["kind"], c["level"], c["prefecture"], c["recognized_on"]) for c in carriers]


@dataclass
class EnterpriseInputs:
    """Everything an enterprise's contributions are computed from, and what it contributes now."""

    prefecture: str | None = None  # None: its registration has not arrived
    registered_on: date | None = None
    founders: int = 0
    reports: list[Report] = field(default_factory=list)
    admissions: list[date] = field(default_factory=list)
    dated: list[tuple[str, date]] = field(default_factory=list)
    before: tuple[str, Entries] | None = None  # (prefecture, entries) as stored


async def load_inputs(conn: asyncpg.Connection, usccs: Sequence[str]) -> dict[str, EnterpriseInputs]:
    inputs = {u: EnterpriseInputs() for u in usccs}
    for r in await conn.fetch(
        "SELECT uscc, prefecture, registered_on, employees, college_student_founders, event_id "
        "FROM unnest($1::text[]) AS k(uscc) JOIN enterprises USING (uscc)",
        list(usccs),
    ):
        i = inputs[r["uscc"]]
        i.prefecture, i.registered_on, i.founders = r["prefecture"], r["registered_on"], r["college_student_founders"]
        i.reports.append(Report(r["registered_on"], r["employees"], 0, str(r["event_id"])))
    for r in await conn.fetch(
        "SELECT uscc, reported_on, employees, event_id "
        "FROM unnest($1::text[]) AS k(uscc) JOIN employment_reports USING (uscc)",
        list(usccs),
    ):
        inputs[r["uscc"]].reports.append(Report(r["reported_on"], r["employees"], 1, str(r["event_id"])))
    for r in await conn.fetch(
        "SELECT uscc, admitted_on FROM unnest($1::text[]) AS k(uscc) JOIN admissions USING (uscc)", list(usccs)
    ):
        inputs[r["uscc"]].admissions.append(r["admitted_on"])
    for r in await conn.fetch(
        "SELECT uscc, metric, day FROM unnest($1::text[]) AS k(uscc) JOIN enterprise_facts USING (uscc)", list(usccs)
    ):
        inputs[r["uscc"]].dated.append((r["metric"], r["day"]))
    for r in await conn.fetch(
        "SELECT uscc, prefecture, entries FROM unnest($1::text[]) AS k(uscc) JOIN contributions USING (uscc)",
        list(usccs),
    ):
        entries = orjson.loads(r["entries"])
        inputs[r["uscc"]].before = (
            r["prefecture"],
            {(metric, cohort, date.fromisoformat(day)): v for metric, cohort, day, v in entries},
        )
    return inputs


async def save_contributions(
    conn: asyncpg.Connection, rewritten: Sequence[tuple[str, str, Entries]], emptied: Sequence[str]
) -> None:
    """One row per enterprise: (uscc, prefecture, entries) rewritten; `emptied` deleted."""
    await insert_rows(
        conn,
        "contributions",
        {"uscc": "text", "prefecture": "text", "entries": "json"},
        [(u, p, orjson.dumps([[*key, e[key]] for key in sorted(e)]).decode()) for u, p, e in rewritten],
        suffix="ON CONFLICT (uscc) DO UPDATE SET prefecture = excluded.prefecture, entries = excluded.entries",
    )
    if emptied:
        await conn.execute("DELETE FROM contributions WHERE uscc = ANY($1::text[])", list(emptied))


async def add_to_counters(conn: asyncpg.Connection, daily: Counter[CounterKey], monthly: Counter[CounterKey]) -> None:
    for table, key, rows in (("daily_counters", "day", daily), ("monthly_counters", "month", monthly)):
        await insert_rows(
            conn,
            table,
            {"metric": "text", "cohort": "int", "prefecture": "text", key: "date", "value": "bigint"},
            sorted((*k, v) for k, v in rows.items() if v),
            suffix=f"ON CONFLICT (metric, cohort, prefecture, {key}) "
            f"DO UPDATE SET value = {table}.value + excluded.value",
        )
