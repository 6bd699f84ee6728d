"""Awards HTTP API (SPEC §4): one enterprise's awards, the payout list, a summary."""

import base64
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, HTTPException, Path, Query, Request

from shared.enums import Rule
from shared.http_errors import responses

router = APIRouter(prefix="/v1", tags=["awards"])


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


@router.get("/enterprises/{uscc}/awards", responses=responses(401, 404, 422))
async def enterprise_awards(request: Request, uscc: str = Path(pattern=r"^[0-9A-Z]{18}$")) -> dict[str, Any]:
    async with _pool(request).acquire() as conn:
        known = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM enterprises WHERE uscc = $1) OR EXISTS (SELECT 1 FROM facts WHERE uscc = $1)",
            uscc,
        )
        if not known:
            raise HTTPException(404, f"awards has never seen enterprise {uscc}")
        payouts = await conn.fetch("SELECT * FROM payouts WHERE enterprise_uscc = $1 ORDER BY seq", uscc)
        declines = await conn.fetch(
            "SELECT * FROM declines WHERE enterprise_uscc = $1 ORDER BY rule, basis_event_id", uscc
        )
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


@router.get("/payouts", responses=responses(401, 422))
async def list_payouts(
    request: Request,
    rule: Rule | None = None,
    status: Literal["issued", "reversed"] | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    cursor: str | None = Query(default=None, max_length=64),
) -> dict[str, Any]:
    after = 0
    if cursor:
        try:
            after = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except ValueError as exc:
            raise HTTPException(422, "invalid cursor: pass back next_cursor of the previous page unchanged") from exc
        if not 0 <= after < 2**63:
            raise HTTPException(422, "invalid cursor: pass back next_cursor of the previous page unchanged")
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
    next_cursor = base64.urlsafe_b64encode(str(page[-1]["seq"]).encode()).decode() if more and page else None
    return {"payouts": [_payout(r) for r in page], "next_cursor": next_cursor}


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
