"""Awards' PostgreSQL for disbursement: approvals, payment batches, cancellations and
recalls (what the bank says: the treasury's `bank_books.py`). Every function runs in the
caller's transaction."""

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from services.awards.disbursement.adapters.owed_sql import OWED_FROM, owed_where
from services.awards.disbursement.domain.disbursement import Stage, stage_of
from services.awards.disbursement.domain.owed_filter import Matching, OwedFilter


async def lock_owed_matching(conn: asyncpg.Connection, f: OwedFilter) -> tuple[Matching, list[uuid.UUID]]:
    """Lock the owed payouts matching `f` (in payout order, as `lock_payouts` does) and say
    how many they are and what they total, as they are now that no one else can move them."""
    where, args = owed_where(f)
    rows = await conn.fetch(
        f"SELECT p.payout_id, p.amount_cny {OWED_FROM} WHERE {where} ORDER BY p.payout_id FOR UPDATE OF p", *args
    )
    return Matching(len(rows), sum(r["amount_cny"] for r in rows)), [r["payout_id"] for r in rows]


async def lock_payouts(conn: asyncpg.Connection, payout_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, asyncpg.Record]:
    """The payouts with their disbursement state, locked (the rules' reversal locks the
    same payout row first, so an approval or a payment and a reversal take turns)."""
    # Lock, then read in a second statement: a locking read that waited re-checks only the
    # locked row, so its joined disbursement would be what it was before the wait.
    await conn.execute(
        "SELECT 1 FROM payouts WHERE payout_id = ANY($1::uuid[]) ORDER BY payout_id FOR UPDATE", list(payout_ids)
    )
    rows = await conn.fetch(
        "SELECT p.payout_id, p.enterprise_uscc, p.rule, p.recipient_role, p.recipient_uscc, p.recipient_name, "
        "p.amount_cny, p.status, d.state, d.batch_id, d.paid_reference, d.reversal_reason, d.returned_reference, "
        "b.approved_by AS batch_approved_by "
        "FROM payouts p LEFT JOIN disbursements d USING (payout_id) LEFT JOIN payment_batches b USING (batch_id) "
        "WHERE p.payout_id = ANY($1::uuid[])",
        list(payout_ids),
    )
    return {r["payout_id"]: r for r in rows}


def stage(r: asyncpg.Record) -> Stage:
    return stage_of(r["status"], r["state"])


async def mark_approved(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], approver: str) -> None:
    await conn.executemany(
        "INSERT INTO disbursements (payout_id, state, amount_cny, approved_by) VALUES ($1, 'approved', $2, $3)",
        [(r["payout_id"], r["amount_cny"], approver) for r in rows],
    )


async def take_approved(
    conn: asyncpg.Connection, batch_id: uuid.UUID, limit: int, only: Sequence[uuid.UUID] | None, funding: str
) -> list[asyncpg.Record]:
    """Move up to `limit` approved payouts paid from `funding`'s budget (of `only`, when
    given) into the batch; a payout lands in one batch only (concurrent preparers skip
    each other's rows, not wait)."""
    taken: list[asyncpg.Record] = await conn.fetch(
        "WITH taken AS (SELECT d.payout_id FROM disbursements d JOIN payouts p USING (payout_id) "
        "WHERE d.state = 'approved' AND p.funding = $4 AND ($3::uuid[] IS NULL OR d.payout_id = ANY($3::uuid[])) "
        "ORDER BY d.approved_at, d.payout_id LIMIT $2 FOR UPDATE OF d SKIP LOCKED) "
        "UPDATE disbursements d SET state = 'batched', batch_id = $1 FROM taken, payouts p "
        "WHERE d.payout_id = taken.payout_id AND p.payout_id = d.payout_id "
        "RETURNING d.payout_id, p.recipient_uscc, p.recipient_name, p.enterprise_uscc, p.rule, p.recipient_role, "
        "d.amount_cny, p.funding",
        batch_id,
        limit,
        None if only is None else list(only),
        funding,
    )
    return taken


BATCH_COLUMNS = (
    "batch_id, funding, prepared_by, prepared_at, approved_by, approved_at, voided_by, voided_at, payouts, total_cny, "
    "csv_sha256, xlsx_sha256"
)


async def store_batch(
    conn: asyncpg.Connection,
    *,
    batch_id: uuid.UUID,
    funding: str,
    prepared_by: str,
    payouts: int,
    total_cny: int,
    files: dict[str, tuple[bytes, str]],
) -> asyncpg.Record:
    """The batch's row (BATCH_COLUMNS), its files and their hashes stored with it."""
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO payment_batches (batch_id, prepared_by, payouts, total_cny, csv, csv_sha256, xlsx, xlsx_sha256, "
        f"funding) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {BATCH_COLUMNS}",
        batch_id,
        prepared_by,
        payouts,
        total_cny,
        *files["csv"],
        *files["xlsx"],
        funding,
    )
    return row


async def batch(conn: asyncpg.Connection, batch_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {BATCH_COLUMNS} FROM payment_batches WHERE batch_id = $1{' FOR UPDATE' if lock else ''}", batch_id
    )


async def mark_released(conn: asyncpg.Connection, batch_id: uuid.UUID, approver: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE payment_batches SET approved_by = $2, approved_at = clock_timestamp() WHERE batch_id = $1 "
        f"RETURNING {BATCH_COLUMNS}",
        batch_id,
        approver,
    )
    return row


async def batch_file(conn: asyncpg.Connection, batch_id: uuid.UUID, kind: str) -> tuple[bytes, str] | None:
    column = {"csv": "csv", "xlsx": "xlsx"}[kind]
    row = await conn.fetchrow(
        f"SELECT {column} AS content, {column}_sha256 AS sha256 FROM payment_batches WHERE batch_id = $1", batch_id
    )
    return None if row is None else (bytes(row["content"]), row["sha256"])


async def states_of(conn: asyncpg.Connection, payout_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, asyncpg.Record]:
    """Disbursement state, and whether its batch was released, of payouts the rules just
    reversed (their rows are locked by the reversal's UPDATE, so no approval or payment
    moves them meanwhile)."""
    rows = await conn.fetch(
        "SELECT d.payout_id, d.state, d.batch_id, b.approved_by IS NOT NULL AS released "
        "FROM disbursements d LEFT JOIN payment_batches b USING (batch_id) "
        "WHERE d.payout_id = ANY($1::uuid[]) FOR UPDATE OF d",
        list(payout_ids),
    )
    return {r["payout_id"]: r for r in rows}


async def mark_cancelled(conn: asyncpg.Connection, cancelled: Sequence[tuple[uuid.UUID, str]]) -> None:
    """(payout, reason): reversed before its file left."""
    await conn.executemany(
        "UPDATE disbursements SET state = 'cancelled', cancelled_at = clock_timestamp(), reversal_reason = $2 "
        "WHERE payout_id = $1 AND state IN ('approved', 'batched')",
        cancelled,
    )


async def mark_recall_requested(conn: asyncpg.Connection, recalled: Sequence[tuple[uuid.UUID, str]]) -> None:
    """(payout, reason): reversed after its batch was released."""
    await conn.executemany(
        "UPDATE disbursements SET state = 'recall_requested', recall_requested_at = clock_timestamp(), "
        "reversal_reason = $2 WHERE payout_id = $1 AND state = 'batched'",
        recalled,
    )


async def recalled_predecessors(conn: asyncpg.Connection, payout_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of `payout_ids`, those whose enterprise, rule, recipient role and funding have
    another payout waiting for the bank's answer to a recall (a prefecture's recall holds
    no payout of the region's, nor the other way round)."""
    rows = await conn.fetch(
        "SELECT p.payout_id FROM payouts p JOIN payouts o ON o.enterprise_uscc = p.enterprise_uscc "
        "AND o.rule = p.rule AND o.recipient_role = p.recipient_role AND o.funding = p.funding "
        "AND o.payout_id <> p.payout_id "
        "JOIN disbursements d ON d.payout_id = o.payout_id AND d.state = 'recall_requested' "
        "WHERE p.payout_id = ANY($1::uuid[])",
        list(payout_ids),
    )
    return {r["payout_id"] for r in rows}


async def reversed_lines(conn: asyncpg.Connection, batch_id: uuid.UUID) -> list[uuid.UUID]:
    """Lines of a batch reversed since it was prepared."""
    rows = await conn.fetch(
        "SELECT payout_id FROM disbursements WHERE batch_id = $1 AND state = 'cancelled' ORDER BY payout_id", batch_id
    )
    return [r["payout_id"] for r in rows]


async def mark_voided(conn: asyncpg.Connection, batch_id: uuid.UUID, who: str) -> tuple[asyncpg.Record, int]:
    """Void an unreleased batch; its lines still batched go back to approved. Returns the
    batch's row and how many lines went back."""
    back = await conn.fetch(
        "UPDATE disbursements SET state = 'approved', batch_id = NULL WHERE batch_id = $1 AND state = 'batched' "
        "RETURNING payout_id",
        batch_id,
    )
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE payment_batches SET voided_by = $2, voided_at = clock_timestamp() WHERE batch_id = $1 "
        f"RETURNING {BATCH_COLUMNS}",
        batch_id,
        who,
    )
    return row, len(back)


async def raise_clawbacks(
    conn: asyncpg.Connection, clawbacks: Sequence[tuple[str, uuid.UUID, str, int, str, date]]
) -> set[str]:
    """Insert (clawback, payout, recipient, CNY, reason, raised_on); return the clawbacks
    that are new (a redelivered reversal raises none)."""
    if not clawbacks:
        return set()
    rows = await conn.fetch(
        "INSERT INTO clawbacks (clawback_id, payout_id, recipient_uscc, amount_cny, reason_code, raised_on) "
        "SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::date[]) "
        "ON CONFLICT (clawback_id) DO NOTHING RETURNING clawback_id",
        *(list(c) for c in zip(*clawbacks, strict=True)),
    )
    return {r["clawback_id"] for r in rows}
