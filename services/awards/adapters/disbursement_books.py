"""Awards' PostgreSQL for disbursement: approvals, payment batches, payments, clawbacks
and the append-only audit trail. Every function runs in the caller's transaction."""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.awards.domain.audit import Actor
from services.awards.domain.disbursement import Stage, Standing, stage_of


async def audit(conn: asyncpg.Connection, actor: Actor, entries: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
    """Append (action, subject, detail) rows; the table refuses updates and deletes."""
    if not entries:
        return
    await conn.executemany(
        "INSERT INTO audit_log (actor, actor_name, roles, action, subject, detail, request_id, client, method, path) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)",
        [
            (
                actor.subject,
                actor.name,
                list(actor.roles),
                action,
                subject,
                orjson.dumps(detail).decode(),
                actor.request_id,
                actor.client,
                actor.method,
                actor.path,
            )
            for action, subject, detail in entries
        ],
    )


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
        "p.amount_cny, p.status, d.state, d.batch_id, d.paid_reference, b.approved_by AS batch_approved_by, "
        "c.amount_cny AS clawback_cny, c.settled_reference "
        "FROM payouts p LEFT JOIN disbursements d USING (payout_id) LEFT JOIN payment_batches b USING (batch_id) "
        "LEFT JOIN clawbacks c USING (payout_id) WHERE p.payout_id = ANY($1::uuid[])",
        list(payout_ids),
    )
    return {r["payout_id"]: r for r in rows}


def stage(r: asyncpg.Record) -> Stage:
    return stage_of(r["status"], r["state"])


def standing(r: asyncpg.Record) -> Standing:
    return Standing(
        stage=stage(r),
        amount_cny=r["amount_cny"],
        released=r["batch_approved_by"] is not None,
        paid_reference=r["paid_reference"],
        clawback_cny=r["clawback_cny"],
        settled_reference=r["settled_reference"],
    )


async def mark_approved(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], approver: str) -> None:
    await conn.executemany(
        "INSERT INTO disbursements (payout_id, state, amount_cny, approved_by) VALUES ($1, 'approved', $2, $3)",
        [(r["payout_id"], r["amount_cny"], approver) for r in rows],
    )


async def take_approved(
    conn: asyncpg.Connection, batch_id: uuid.UUID, limit: int, only: Sequence[uuid.UUID] | None
) -> list[asyncpg.Record]:
    """Move up to `limit` approved payouts (of `only`, when given) into the batch; a payout
    lands in one batch only (concurrent preparers skip each other's rows, not wait)."""
    taken: list[asyncpg.Record] = await conn.fetch(
        "WITH taken AS (SELECT payout_id FROM disbursements WHERE state = 'approved' "
        "AND ($3::uuid[] IS NULL OR payout_id = ANY($3::uuid[])) "
        "ORDER BY approved_at, payout_id LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "UPDATE disbursements d SET state = 'batched', batch_id = $1 FROM taken, payouts p "
        "WHERE d.payout_id = taken.payout_id AND p.payout_id = d.payout_id "
        "RETURNING d.payout_id, p.recipient_uscc, p.recipient_name, p.enterprise_uscc, p.rule, p.recipient_role, "
        "d.amount_cny",
        batch_id,
        limit,
        None if only is None else list(only),
    )
    return taken


BATCH_COLUMNS = (
    "batch_id, prepared_by, prepared_at, approved_by, approved_at, payouts, total_cny, csv_sha256, xlsx_sha256"
)


async def store_batch(
    conn: asyncpg.Connection,
    *,
    batch_id: uuid.UUID,
    prepared_by: str,
    payouts: int,
    total_cny: int,
    files: dict[str, tuple[bytes, str]],
) -> asyncpg.Record:
    """The batch's row (BATCH_COLUMNS), its files and their hashes stored with it."""
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO payment_batches (batch_id, prepared_by, payouts, total_cny, csv, csv_sha256, xlsx, xlsx_sha256) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {BATCH_COLUMNS}",
        batch_id,
        prepared_by,
        payouts,
        total_cny,
        *files["csv"],
        *files["xlsx"],
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


async def mark_paid(conn: asyncpg.Connection, paid: Sequence[tuple[uuid.UUID, date, str]]) -> None:
    await conn.executemany(
        "UPDATE disbursements SET state = 'paid', paid_on = $2, paid_reference = $3 "
        "WHERE payout_id = $1 AND state = 'batched'",
        paid,
    )


async def mark_settled(conn: asyncpg.Connection, settled: Sequence[tuple[uuid.UUID, date, str]]) -> None:
    await conn.executemany(
        "UPDATE clawbacks SET settled_on = $2, settled_reference = $3 WHERE payout_id = $1 AND settled_on IS NULL",
        settled,
    )


async def states_of(conn: asyncpg.Connection, payout_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Disbursement states of payouts the rules just reversed (their rows are locked by
    the reversal's UPDATE, so no approval or payment moves them meanwhile)."""
    rows = await conn.fetch(
        "SELECT payout_id, state FROM disbursements WHERE payout_id = ANY($1::uuid[]) FOR UPDATE", list(payout_ids)
    )
    return {r["payout_id"]: r["state"] for r in rows}


async def mark_cancelled(conn: asyncpg.Connection, payout_ids: Sequence[uuid.UUID]) -> None:
    await conn.execute(
        "UPDATE disbursements SET state = 'cancelled', cancelled_at = clock_timestamp() "
        "WHERE payout_id = ANY($1::uuid[]) AND state IN ('approved', 'batched')",
        list(payout_ids),
    )


async def raise_clawbacks(
    conn: asyncpg.Connection, clawbacks: Sequence[tuple[uuid.UUID, str, int, str, date]]
) -> set[uuid.UUID]:
    """Insert (payout, recipient, amount, reason, raised_on); return the payouts whose
    clawback is new (a redelivered reversal raises none)."""
    if not clawbacks:
        return set()
    rows = await conn.fetch(
        "INSERT INTO clawbacks (payout_id, recipient_uscc, amount_cny, reason_code, raised_on) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::date[]) "
        "ON CONFLICT (payout_id) DO NOTHING RETURNING payout_id",
        *(list(c) for c in zip(*clawbacks, strict=True)),
    )
    return {r["payout_id"] for r in rows}
