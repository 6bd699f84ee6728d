"""Awards' PostgreSQL: the facts per enterprise, the payout ledger and current declines."""

import asyncio
import typing
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import msgspec

from services.awards.ledger.domain.award_rules import BASIS_FACTS, STINT_FACT
from services.awards.ledger.domain.facts import (
    Admission,
    Certification,
    EnterpriseFacts,
    Graduation,
    Listing,
    Transfer,
    assemble,
)
from services.awards.ledger.domain.reconcile import Changes, LedgerPayout
from shared.contract import incoming
from shared.contract.divisions import prefecture_of
from shared.contract.enums import Board, RecipientRole, Rule
from shared.process.db import insert_rows

# Enterprise events the rules read; the rest (employment) is not stored here.
RuleInput = (
    incoming.EnterpriseAdmitted
    | incoming.EnterpriseGraduated
    | incoming.HighTechCertified
    | incoming.ListedOnBoard
    | incoming.BoardTransferred
)
RULE_INPUTS: tuple[type[RuleInput], ...] = typing.get_args(RuleInput)


async def store_facts(
    conn: asyncpg.Connection, events: Sequence[incoming.EnterpriseRegistered | RuleInput]
) -> set[str]:
    """Record new facts; return the enterprises whose awards must be re-decided: those
    with a fact or a registration (their name) stored now, not those seen before. A fact
    is kept as the JSON of its typed value (dates as YYYY-MM-DD), which FACT_COLUMNS reads."""
    registered = [e for e in events if isinstance(e, incoming.EnterpriseRegistered)]
    named = await insert_rows(
        conn,
        "enterprises",
        {"uscc": "text", "name": "text", "division_code": "text", "registered_on": "date"},
        [(e.uscc, e.name, e.division_code, e.registered_on) for e in registered],
        suffix="ON CONFLICT (uscc) DO NOTHING RETURNING uscc",
    )
    inputs = [e for e in events if isinstance(e, RULE_INPUTS)]
    stored = await insert_rows(
        conn,
        "facts",
        {"event_id": "uuid", "uscc": "text", "event_type": "text", "data": "jsonb"},
        [(e.event_id, e.uscc, type(e).__name__, msgspec.json.encode(e).decode()) for e in inputs],
        suffix="ON CONFLICT (event_id) DO NOTHING RETURNING uscc",
    )
    if named:
        # A registration can arrive after facts (another replica, a replay): the payouts
        # issued without the enterprise's name take it now, whatever the arrival order.
        await conn.execute(
            "UPDATE payouts p SET enterprise_name = e.name, recipient_name = CASE "
            "WHEN p.recipient_uscc = e.uscc AND p.recipient_name = '' THEN e.name ELSE p.recipient_name END "
            "FROM enterprises e WHERE e.uscc = ANY($1::text[]) AND p.enterprise_uscc = e.uscc "
            "AND p.enterprise_name IS NULL",
            [r["uscc"] for r in named],
        )
    return {r["uscc"] for r in stored} | {r["uscc"] for r in named}


# The rules' inputs as typed columns: PostgreSQL takes them out of the JSON (in C), so
# reading a fact costs no JSON parsing and no date parsing here.
FACT_COLUMNS = (
    "f.event_id, f.uscc, f.event_type, f.data->>'incubator_id' AS incubator_id, "
    "coalesce(f.data->>'admitted_on', f.data->>'graduated_on', f.data->>'certified_on', f.data->>'listed_on', "
    "f.data->>'transferred_on')::date AS on_date, f.data->>'operator_uscc' AS operator_uscc, "
    "f.data->>'operator_name' AS operator_name, f.data->>'board' AS board"
)


async def load_facts(conn: asyncpg.Connection, usccs: list[str]) -> dict[str, EnterpriseFacts]:
    registered = {
        r["uscc"]: (r["name"], prefecture_of(r["division_code"]))
        for r in await conn.fetch(
            "SELECT uscc, name, division_code FROM unnest($1::text[]) AS k(uscc) JOIN enterprises USING (uscc)", usccs
        )
    }
    parts: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for r in await conn.fetch(
        f"SELECT {FACT_COLUMNS} FROM unnest($1::text[]) AS k(uscc) JOIN facts f USING (uscc)", usccs
    ):
        parts[r["uscc"]][r["event_type"]].add(fact_of(r))
    out = {}
    for u in usccs:
        name, prefecture = registered.get(u, ("", None))
        out[u] = assemble(u, name, parts[u], prefecture)
    return out


def fact_of(r: asyncpg.Record) -> object:
    """A fact from a row of FACT_COLUMNS."""
    event_type = r["event_type"]
    if event_type == "EnterpriseAdmitted":
        return Admission(r["event_id"], r["incubator_id"], r["on_date"], r["operator_uscc"], r["operator_name"])
    if event_type == "EnterpriseGraduated":
        return Graduation(r["event_id"], r["incubator_id"], r["on_date"])
    if event_type == "HighTechCertified":
        return Certification(r["event_id"], r["on_date"])
    if event_type == "ListedOnBoard":
        return Listing(r["event_id"], Board(r["board"]), r["on_date"])
    return Transfer(r["event_id"], r["on_date"])


LEDGER_LOOKUP = (
    "SELECT * FROM unnest($1::text[]) AS k(enterprise_uscc) JOIN payouts USING (enterprise_uscc) ORDER BY seq"
)


async def load_ledger(conn: asyncpg.Connection, usccs: list[str]) -> dict[str, list[LedgerPayout]]:
    ledger: dict[str, list[LedgerPayout]] = defaultdict(list)
    for r in await conn.fetch(LEDGER_LOOKUP, usccs):
        ledger[r["enterprise_uscc"]].append(
            LedgerPayout(
                r["payout_id"],
                Rule(r["rule"]),
                RecipientRole(r["recipient_role"]),
                r["recipient_uscc"],
                r["incubator_id"],
                r["amount_cny"],
                r["basis_event_id"],
                r["basis_date"],
                r["status"] == "issued",
                r["funding"],
                r["top_up_of"] is not None,
                r["recovered_cny"],
            )
        )
    return ledger


async def money_left(conn: asyncpg.Connection, usccs: list[str]) -> dict[uuid.UUID, str]:
    """Live payouts of these enterprises whose money left: "released" (in a released batch)
    or "paid". A lower amount cannot simply reissue them."""
    return left_of(await stages_of(conn, usccs))


def left_of(stages: dict[uuid.UUID, str]) -> dict[uuid.UUID, str]:
    return {pid: stage for pid, stage in stages.items() if stage in ("released", "paid")}


async def mark_recovered(conn: asyncpg.Connection, recovered: Sequence[tuple[uuid.UUID, int]]) -> None:
    """(payout, CNY) a version that allows recovery claws back of a paid payout."""
    await conn.executemany(
        "UPDATE payouts SET recovered_cny = recovered_cny + $2 WHERE payout_id = $1 AND status = 'issued'", recovered
    )


async def stages_of(conn: asyncpg.Connection, usccs: list[str]) -> dict[uuid.UUID, str]:
    """The disbursement stage of each live payout of these enterprises that has one:
    approved, batched, released (its batch went to the bank) or paid; owed when absent."""
    rows = await conn.fetch(
        "SELECT p.payout_id, CASE WHEN d.state = 'batched' AND b.approved_by IS NOT NULL THEN 'released' "
        "ELSE d.state END AS stage FROM payouts p JOIN disbursements d USING (payout_id) "
        "LEFT JOIN payment_batches b USING (batch_id) WHERE p.enterprise_uscc = ANY($1::text[]) "
        "AND p.status = 'issued'",
        usccs,
    )
    return {r["payout_id"]: r["stage"] for r in rows}


async def load_declines(conn: asyncpg.Connection, usccs: list[str]) -> dict[str, dict[tuple[Rule, uuid.UUID], str]]:
    declined: dict[str, dict[tuple[Rule, uuid.UUID], str]] = defaultdict(dict)
    for r in await conn.fetch(
        "SELECT * FROM unnest($1::text[]) AS k(enterprise_uscc) JOIN declines USING (enterprise_uscc)", usccs
    ):
        declined[r["enterprise_uscc"]][(Rule(r["rule"]), r["basis_event_id"])] = r["reason_code"]
    return declined


async def write_changes(conn: asyncpg.Connection, changes: Sequence[tuple[str, Changes]]) -> None:
    """A batch's ledger changes, enterprise by enterprise, one statement per kind of change
    for the whole batch: a statement per enterprise was a round trip each."""
    # Reversals first: the partial unique index then admits the replacement payout.
    reversals = [(r.payout.payout_id, r.reason_code, r.explanation) for _, c in changes for r in c.reverse]
    if reversals:
        await conn.executemany(
            "UPDATE payouts SET status = 'reversed', reversal_reason = $2, reversal_explanation = $3 "
            "WHERE payout_id = $1 AND status = 'issued'",
            reversals,
        )
    issued = [
        (
            i.payout_id,
            uscc,
            i.owed.rule.value,
            i.owed.recipient_role.value,
            i.owed.recipient_uscc,
            i.owed.recipient_name,
            i.owed.incubator_id,
            i.owed.amount_cny,
            i.owed.basis_event_id,
            i.owed.basis_date,
            i.owed.explanation,
            i.owed.funding,
            i.owed.policy_version,
            i.top_up_of,
        )
        for uscc, c in changes
        for i in c.issue
    ]
    if issued:
        await conn.executemany(
            "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, recipient_uscc, recipient_name, "
            "incubator_id, amount_cny, basis_event_id, basis_date, explanation, status, funding, policy_version, "
            "top_up_of, enterprise_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'issued', $12, $13, "
            "$14, (SELECT name FROM enterprises WHERE uscc = $2))",
            issued,
        )
    declined = [
        (uscc, d.rule.value, d.basis_event_id, d.reason.value, d.explanation)
        for uscc, c in changes
        for d in c.new_declines
    ]
    if declined:
        await conn.executemany(
            "INSERT INTO declines VALUES ($1, $2, $3, $4, $5) ON CONFLICT (enterprise_uscc, rule, basis_event_id) "
            "DO UPDATE SET reason_code = excluded.reason_code, explanation = excluded.explanation",
            declined,
        )
    cleared = [(uscc, rule.value, basis) for uscc, c in changes for rule, basis in c.cleared_declines]
    if cleared:
        await conn.executemany(
            "DELETE FROM declines WHERE enterprise_uscc = $1 AND rule = $2 AND basis_event_id = $3", cleared
        )


# Enterprises some policy could pay (`award_rules.could_be_paid`): a stint and a
# certification or listing.
PAYABLE_ENTERPRISES = (
    "SELECT b.uscc FROM facts b WHERE b.event_type = ANY($1::text[]) "
    "AND EXISTS (SELECT 1 FROM facts a WHERE a.uscc = b.uscc AND a.event_type = $2)"
)
PAYABLE_ARGS = (list(BASIS_FACTS), STINT_FACT)


async def payable_facts(conn: asyncpg.Connection, *, batch: int = 1000) -> AsyncIterator[list[EnterpriseFacts]]:
    """The facts of every enterprise some policy could pay, in batches, read through a
    cursor (inside the caller's transaction) so a province's ledger never sits in memory.
    Without names: this is for tallies."""
    current: str | None = None
    prefecture: str | None = None
    parts: dict[str, set[Any]] = defaultdict(set)
    out: list[EnterpriseFacts] = []
    await conn.execute("SET LOCAL work_mem = '64MB'")  # the sort by enterprise stays in memory
    cursor = await conn.cursor(
        f"SELECT {FACT_COLUMNS}, e.division_code FROM facts f LEFT JOIN enterprises e USING (uscc) "
        f"WHERE f.uscc IN ({PAYABLE_ENTERPRISES}) ORDER BY f.uscc",
        *PAYABLE_ARGS,
    )
    rows = await cursor.fetch(5000)
    while rows:
        # The next rows are computed by PostgreSQL while these become facts here.
        ahead = asyncio.ensure_future(cursor.fetch(5000))
        await asyncio.sleep(0)
        for r in rows:
            if r["uscc"] != current:
                if current is not None:
                    out.append(assemble(current, "", parts, prefecture))
                    if len(out) >= batch:
                        yield out
                        out = []
                current, parts = r["uscc"], defaultdict(set)
                prefecture = prefecture_of(r["division_code"]) if r["division_code"] else None
            parts[r["event_type"]].add(fact_of(r))
        rows = await ahead
    if current is not None:
        out.append(assemble(current, "", parts, prefecture))
    if out:
        yield out


async def payable_enterprise_count(conn: asyncpg.Connection) -> int:
    n: int = await conn.fetchval(f"SELECT count(DISTINCT uscc) FROM ({PAYABLE_ENTERPRISES}) p", *PAYABLE_ARGS)
    return n
