"""Reads of the disbursement books for its HTTP API: batches, payouts by stage, a
recipient's position."""

import uuid

import asyncpg

from services.awards.disbursement.adapters.disbursement_books import BATCH_COLUMNS
from services.awards.disbursement.adapters.owed_sql import OWED, OWED_FROM, owed_where
from services.awards.disbursement.domain.disbursement import Stage
from services.awards.disbursement.domain.owed_filter import Matching, OwedFilter

_STAGE_SQL = {
    Stage.OWED: OWED,
    Stage.REVERSED: "p.status = 'reversed' AND d.state IS NULL",
    **{
        s: f"d.state = '{s.value}'"
        for s in (Stage.APPROVED, Stage.BATCHED, Stage.RECALL_REQUESTED, Stage.PAID, Stage.CANCELLED)
    },
}


async def owed_matching(conn: asyncpg.Connection, f: OwedFilter, *, after: int, limit: int) -> list[asyncpg.Record]:
    where, args = owed_where(f, first=3)
    return list(
        await conn.fetch(
            "SELECT p.seq, p.payout_id, p.enterprise_uscc, e.name AS enterprise_name, p.rule, p.recipient_role, "
            "p.recipient_uscc, p.recipient_name, p.amount_cny, p.basis_date, p.funding, p.policy_version, p.top_up_of "
            f"{OWED_FROM} WHERE p.seq > $1 AND {where} ORDER BY p.seq LIMIT $2",
            after,
            limit,
            *args,
        )
    )


async def owed_summary(conn: asyncpg.Connection, f: OwedFilter) -> Matching:
    where, args = owed_where(f)
    row = await conn.fetchrow(
        f"SELECT count(*) AS n, coalesce(sum(p.amount_cny), 0)::bigint AS cny {OWED_FROM} WHERE {where}", *args
    )
    assert row is not None
    return Matching(row["n"], row["cny"])


async def recent_batches(conn: asyncpg.Connection, limit: int = 200) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"SELECT {BATCH_COLUMNS} FROM payment_batches ORDER BY seq DESC LIMIT $1", limit))


async def batch_lines(conn: asyncpg.Connection, batch_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT payout_id, state, amount_cny, paid_on, paid_reference FROM disbursements "
            "WHERE batch_id = $1 ORDER BY payout_id",
            batch_id,
        )
    )


async def payouts_at_stage(conn: asyncpg.Connection, stage: Stage, *, after: int, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT p.seq, p.payout_id, p.enterprise_uscc, p.rule, p.recipient_role, p.recipient_uscc, "
            "p.recipient_name, p.amount_cny, p.basis_date, d.approved_by, d.batch_id, d.paid_on, "
            "coalesce((SELECT sum(c.amount_cny) FROM clawbacks c WHERE c.recipient_uscc = p.recipient_uscc "
            "AND c.settled_on IS NULL), 0)::bigint AS recipient_owes_cny "
            "FROM payouts p LEFT JOIN disbursements d USING (payout_id) "
            f"WHERE p.seq > $1 AND {_STAGE_SQL[stage]} ORDER BY p.seq LIMIT $2",
            after,
            limit,
        )
    )


async def position(conn: asyncpg.Connection, recipient_uscc: str) -> tuple[int, int, int, int]:
    """(paid, clawed back, recovered, held) CNY of one recipient: every bank payment (second
    debits included), every clawback, the settled ones, and settlements a second person
    has yet to confirm."""
    paid = await conn.fetchval(
        "SELECT coalesce(sum(b.amount_cny), 0)::bigint FROM bank_payments b JOIN payouts p USING (payout_id) "
        "WHERE p.recipient_uscc = $1",
        recipient_uscc,
    )
    row = await conn.fetchrow(
        "SELECT coalesce(sum(amount_cny), 0)::bigint AS clawed_back, "
        "coalesce(sum(amount_cny) FILTER (WHERE settled_on IS NOT NULL), 0)::bigint AS recovered, "
        "(SELECT coalesce(sum(h.amount_cny), 0)::bigint FROM held_bank_lines h JOIN clawbacks c USING (clawback_id) "
        " WHERE c.recipient_uscc = $1 AND h.decision IS NULL) AS held "
        "FROM clawbacks WHERE recipient_uscc = $1",
        recipient_uscc,
    )
    assert row is not None
    return paid, row["clawed_back"], row["recovered"], row["held"]
