"""The award ledger as its readers see it: one enterprise's awards and record, the payout
list, the summary. What awards has never seen is `NotFound`."""

from typing import Any

import asyncpg

from services.awards.ledger.adapters import award_views
from services.awards.ledger.domain.facts import Admission, Graduation
from services.awards.ledger.domain.stints import build_stints
from shared.contract.divisions import name_of
from shared.contract.errors import NotFound
from shared.process.db import snapshot


def payout_document(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "payout_id": str(r["payout_id"]),
        "rule": r["rule"],
        "recipient_role": r["recipient_role"],
        "recipient_uscc": r["recipient_uscc"],
        "recipient_name": r["recipient_name"],
        "enterprise_uscc": r["enterprise_uscc"],
        "incubator_id": r["incubator_id"],
        "amount_cny": r["amount_cny"],
        "funding": r["funding"],
        "policy_version": r["policy_version"],
        "top_up_of": str(r["top_up_of"]) if r["top_up_of"] else None,
        "recovered_cny": r["recovered_cny"],
        "basis_event_id": str(r["basis_event_id"]),
        "basis_date": r["basis_date"].isoformat(),
        "status": r["status"],
        "explanation": r["explanation"],
        "reversal_reason": r["reversal_reason"],
        "reversal_explanation": r["reversal_explanation"],
    }


async def _awards_document(conn: asyncpg.Connection, uscc: str) -> dict[str, Any]:
    if not await award_views.is_known(conn, uscc):
        raise NotFound(f"awards has never seen enterprise {uscc}")
    payouts = await award_views.payouts_of(conn, uscc)
    declines = await award_views.declines_of(conn, uscc)
    net = {"operator": 0, "enterprise": 0}
    for p in payouts:
        if p["status"] == "issued":
            net[p["recipient_role"]] += p["amount_cny"] - p["recovered_cny"]
    return {
        "enterprise_uscc": uscc,
        "payouts": [payout_document(p) for p in payouts],
        "declines": [
            {
                "rule": d["rule"],
                "reason_code": d["reason_code"],
                "explanation": d["explanation"],
                "basis_event_id": str(d["basis_event_id"]),
            }
            for d in declines
        ],
        "net_amount_cny": net,
    }


async def enterprise_awards(pool: asyncpg.Pool, uscc: str) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        return await _awards_document(conn, uscc)


async def find_enterprises(pool: asyncpg.Pool, text: str, limit: int) -> dict[str, Any]:
    """The lookup page's search: by part of the code or of the (Chinese) name."""
    async with pool.acquire() as conn:
        rows = await award_views.find_enterprises(conn, text.strip(), limit + 1)
    return {
        "query": text.strip(),
        "enterprises": [
            {
                "uscc": r["uscc"],
                "name": r["name"],
                "division_code": r["division_code"],
                "division_name": name_of(r["division_code"]),
                "registered_on": r["registered_on"].isoformat(),
            }
            for r in rows[:limit]
        ],
        "more": len(rows) > limit,
    }


async def enterprise_record(pool: asyncpg.Pool, uscc: str) -> dict[str, Any]:
    """What the lookup page shows: the registry facts awards holds, the incubation stints
    built from them, and every grant, decline and reversal with its explanation."""
    async with snapshot(pool) as conn:
        doc = await _awards_document(conn, uscc)
        registered = await award_views.registration_of(conn, uscc)
        stored = await award_views.facts_of(conn, uscc)
    parsed = [fact for _, _, fact in stored]
    stints = build_stints(
        frozenset(f for f in parsed if isinstance(f, Admission)),
        frozenset(f for f in parsed if isinstance(f, Graduation)),
    )
    listed = [fact_row(str(row["event_id"]), row["event_type"], data) for row, data, _ in stored]
    return {
        "enterprise": None
        if registered is None
        else {
            "uscc": uscc,
            "name": registered["name"],
            "division_code": registered["division_code"],
            "division_name": name_of(registered["division_code"]),
            "registered_on": registered["registered_on"].isoformat(),
        },
        "facts": sorted(listed, key=lambda f: (f["on"], f["event_type"])),
        "stints": [
            {
                "incubator_id": s.incubator_id,
                "operator_name": s.admission.operator_name,
                "operator_uscc": s.admission.operator_uscc,
                "admitted_on": s.admitted_on.isoformat(),
                "graduated_on": s.graduated_on.isoformat() if s.graduated_on else None,
            }
            for s in stints
        ],
        **doc,
    }


def fact_row(event_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    on = next(v for k, v in data.items() if k.endswith("_on"))
    return {"event_id": event_id, "event_type": event_type, "on": on, "data": data}


async def payouts_page(
    pool: asyncpg.Pool, *, after: int, rule: str | None, status: str | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """(up to `limit` payouts after ledger position `after`, the position of the last of
    them when more follow)."""
    async with pool.acquire() as conn:
        rows = await award_views.payouts_page(conn, after=after, rule=rule, status=status, limit=limit + 1)
    page = rows[:limit]
    return [payout_document(r) for r in page], page[-1]["seq"] if len(rows) > limit else None


async def summary(pool: asyncpg.Pool) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        rows, declines, enterprises = await award_views.summary_rows(conn)
    by_rule: dict[str, dict[str, dict[str, int]]] = {}
    issued_total = reversed_total = net = 0
    for r in rows:
        slot = by_rule.setdefault(r["rule"], {}).setdefault(
            r["recipient_role"], {"issued": 0, "reversed": 0, "issued_cny": 0, "reversed_cny": 0, "net_cny": 0}
        )
        # A reversed payout was issued first: count it in both.
        slot["issued"] += r["n"]
        slot["issued_cny"] += r["cny"]
        issued_total += r["n"]
        if r["status"] == "reversed":
            slot["reversed"] += r["n"]
            slot["reversed_cny"] += r["cny"]
            reversed_total += r["n"]
        else:
            slot["net_cny"] += r["cny"]
            net += r["cny"]
    return {
        "enterprises": enterprises,
        "payouts_issued": issued_total,
        "payouts_reversed": reversed_total,
        "net_amount_cny": net,
        "by_rule": by_rule,
        "declines": [{"rule": d["rule"], "reason_code": d["reason_code"], "count": d["n"]} for d in declines],
    }
