"""Awards HTTP API (SPEC §4): one enterprise's awards, the payout list, a summary."""

import base64
import uuid
from pathlib import Path as FilePath
from typing import Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from services.awards.adapters.ledger import FACT_COLUMNS, fact_of
from services.awards.domain.facts import Admission, Graduation
from services.awards.domain.stints import build_stints
from shared.divisions import name_of
from shared.enums import Rule
from shared.http_errors import responses

router = APIRouter(prefix="/v1", tags=["awards"])
pages = APIRouter(include_in_schema=False)
LOOKUP = (FilePath(__file__).parent / "lookup.html").read_text(encoding="utf-8")


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


def _payout(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "payout_id": str(r["payout_id"]),
        "rule": r["rule"],
        "recipient_role": r["recipient_role"],
        "recipient_uscc": r["recipient_uscc"],
        "recipient_name": r["recipient_name"],
        "enterprise_uscc": r["enterprise_uscc"],
        "incubator_id": r["incubator_id"],
        "amount_cny": r["amount_cny"],
        "basis_event_id": str(r["basis_event_id"]),
        "basis_date": r["basis_date"].isoformat(),
        "status": r["status"],
        "explanation": r["explanation"],
        "reversal_reason": r["reversal_reason"],
        "reversal_explanation": r["reversal_explanation"],
    }


Uscc = Path(pattern=r"^[0-9A-Z]{18}$")
PageLimit = Query(default=100, ge=1, le=1000)
PageCursor = Query(default=None, max_length=64, description="next_cursor of the previous page")


async def awards_document(conn: asyncpg.Connection, uscc: str) -> dict[str, Any]:
    known = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM enterprises WHERE uscc = $1) OR EXISTS (SELECT 1 FROM facts WHERE uscc = $1)",
        uscc,
    )
    if not known:
        raise HTTPException(404, f"awards has never seen enterprise {uscc}")
    payouts = await conn.fetch("SELECT * FROM payouts WHERE enterprise_uscc = $1 ORDER BY seq", uscc)
    declines = await conn.fetch("SELECT * FROM declines WHERE enterprise_uscc = $1 ORDER BY rule, basis_event_id", uscc)
    net = {"operator": 0, "enterprise": 0}
    for p in payouts:
        if p["status"] == "issued":
            net[p["recipient_role"]] += p["amount_cny"]
    return {
        "enterprise_uscc": uscc,
        "payouts": [_payout(p) for p in payouts],
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


@router.get("/enterprises/{uscc}/awards", responses=responses(401, 404, 422))
async def enterprise_awards(request: Request, uscc: str = Uscc) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        return await awards_document(conn, uscc)


@router.get("/enterprises/{uscc}/record", responses=responses(401, 404, 422))
async def enterprise_record(request: Request, uscc: str = Uscc) -> dict[str, Any]:
    """What the lookup page shows: the registry facts awards holds, the incubation stints
    built from them, and every grant, decline and reversal with its explanation."""
    async with _pool(request).acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        doc = await awards_document(conn, uscc)
        registered = await conn.fetchrow("SELECT * FROM enterprises WHERE uscc = $1", uscc)
        rows = await conn.fetch(f"SELECT {FACT_COLUMNS}, f.data FROM facts f WHERE uscc = $1", uscc)
    facts = [(r["event_id"], r["event_type"], orjson.loads(r["data"])) for r in rows]
    parsed = [fact_of(r) for r in rows]
    stints = build_stints(
        frozenset(f for f in parsed if isinstance(f, Admission)),
        frozenset(f for f in parsed if isinstance(f, Graduation)),
    )
    listed = [fact_row(*f) for f in facts]
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


def fact_row(event_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    on = next(v for k, v in data.items() if k.endswith("_on"))
    return {"event_id": str(event_id), "event_type": event_type, "on": on, "data": data}


@router.get("/payouts", responses=responses(401, 422))
async def list_payouts(
    request: Request,
    rule: Rule | None = None,
    status: Literal["issued", "reversed"] | None = None,
    limit: int = PageLimit,
    cursor: str | None = PageCursor,
) -> dict[str, Any]:
    after = seq_after(cursor)
    async with _pool(request).acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM payouts WHERE seq > $1 AND ($2::text IS NULL OR rule = $2) "
            "AND ($3::text IS NULL OR status = $3) ORDER BY seq LIMIT $4",
            after,
            rule,
            status,
            limit + 1,
        )
    page, more = rows[:limit], len(rows) > limit
    return {"payouts": [_payout(r) for r in page], "next_cursor": next_cursor(page, more)}


def seq_after(cursor: str | None) -> int:
    """The ledger position a `next_cursor` stands for (0: from the start)."""
    if not cursor:
        return 0
    try:
        after = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError as exc:
        raise HTTPException(422, "invalid cursor: pass back next_cursor of the previous page unchanged") from exc
    if not 0 <= after < 2**63:
        raise HTTPException(422, "invalid cursor: pass back next_cursor of the previous page unchanged")
    return after


def next_cursor(page: list[asyncpg.Record], more: bool) -> str | None:
    return base64.urlsafe_b64encode(str(page[-1]["seq"]).encode()).decode() if more and page else None


@router.get("/summary", responses=responses(401))
async def summary(request: Request) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        rows = await conn.fetch(
            "SELECT rule, recipient_role, status, count(*) AS n, sum(amount_cny)::bigint AS cny FROM payouts "
            "GROUP BY rule, recipient_role, status ORDER BY 1, 2, 3"
        )
        declines = await conn.fetch("SELECT rule, reason_code, count(*) AS n FROM declines GROUP BY 1, 2 ORDER BY 1, 2")
        enterprises = await conn.fetchval("SELECT count(*) FROM enterprises")
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


@pages.get("/lookup", response_class=HTMLResponse)
async def lookup_page() -> str:
    return LOOKUP
