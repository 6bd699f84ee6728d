"""Awards' PostgreSQL for what the bank says: the confirmation files as received, money
that left (one row per bank reference), clawbacks keyed by cause, returns, and the
treasury exceptions. Every function runs in the caller's transaction."""

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from services.awards.disbursement.adapters.disbursement_books import stage
from services.awards.treasury.domain.confirmations import Clawback, PayoutBook


async def books_of(conn: asyncpg.Connection, rows: dict[uuid.UUID, asyncpg.Record]) -> dict[uuid.UUID, PayoutBook]:
    """What the books say of each payout locked by `lock_payouts` (its rows)."""
    ids = list(rows)
    payments: dict[uuid.UUID, list[tuple[str, int]]] = {i: [] for i in ids}
    for r in await conn.fetch(
        "SELECT payout_id, reference, amount_cny FROM bank_payments WHERE payout_id = ANY($1::uuid[]) "
        "ORDER BY booked_at, reference",
        ids,
    ):
        payments[r["payout_id"]].append((r["reference"], r["amount_cny"]))
    clawbacks: dict[uuid.UUID, list[Clawback]] = {i: [] for i in ids}
    for r in await conn.fetch(
        "SELECT payout_id, clawback_id, amount_cny, reason_code, settled_reference FROM clawbacks "
        "WHERE payout_id = ANY($1::uuid[]) ORDER BY clawback_id",
        ids,
    ):
        clawbacks[r["payout_id"]].append(
            Clawback(r["clawback_id"], r["amount_cny"], r["reason_code"], r["settled_reference"])
        )
    holds = {
        (r["payout_id"], r["clawback_id"]): r["reference"]
        for r in await conn.fetch(
            "SELECT payout_id, clawback_id, reference FROM held_bank_lines "
            "WHERE payout_id = ANY($1::uuid[]) AND decision IS NULL",
            ids,
        )
    }
    for pid in ids:
        clawbacks[pid] = [
            dataclasses.replace(c, held_reference=holds.get((pid, c.clawback_id))) for c in clawbacks[pid]
        ]
    books = {}
    for pid, r in rows.items():
        first = r["paid_reference"]
        paid = sorted(payments[pid], key=lambda p: p[0] != first)  # the payment, then second debits
        reversed_ = r["reversal_reason"] or (None if r["status"] == "issued" else "REVERSED")
        books[pid] = PayoutBook(
            payout_id=pid,
            stage=stage(r),
            amount_cny=r["amount_cny"],
            released=r["batch_approved_by"] is not None,
            reversal_reason=reversed_,
            payments=tuple(paid),
            returned_reference=r["returned_reference"],
            clawbacks=tuple(clawbacks[pid]),
            held_return=holds.get((pid, None)),
        )
    return books


async def record_payments(
    conn: asyncpg.Connection, payments: Sequence[tuple[uuid.UUID, str, int, date, str, int, bool]]
) -> None:
    """(payout, reference, CNY, value date, file, line, first): money that left; a first
    payment also books its payout paid."""
    if not payments:
        return
    await conn.executemany(
        "INSERT INTO bank_payments (payout_id, reference, amount_cny, value_date, file_sha256, line) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [p[:6] for p in payments],
    )
    await conn.executemany(
        "UPDATE disbursements SET state = 'paid', paid_on = $2, paid_reference = $3 "
        "WHERE payout_id = $1 AND state IN ('batched', 'recall_requested')",
        [(pid, day, ref) for pid, ref, _, day, _, _, first in payments if first],
    )


async def mark_settled(conn: asyncpg.Connection, settled: Sequence[tuple[str, date, str]]) -> None:
    """(clawback, value date, bank reference)."""
    await conn.executemany(
        "UPDATE clawbacks SET settled_on = $2, settled_reference = $3 WHERE clawback_id = $1 AND settled_on IS NULL",
        settled,
    )


async def mark_returned(conn: asyncpg.Connection, returned: Sequence[tuple[uuid.UUID, str]]) -> None:
    """(payout, bank reference): the bank stopped a recalled payment."""
    await conn.executemany(
        "UPDATE disbursements SET state = 'cancelled', cancelled_at = clock_timestamp(), returned_reference = $2 "
        "WHERE payout_id = $1 AND state = 'recall_requested'",
        returned,
    )


async def keep_file(conn: asyncpg.Connection, sha256: str, content: bytes, who: str) -> None:
    """The confirmation file exactly as received; the same bytes again change nothing."""
    await conn.execute(
        "INSERT INTO confirmation_files (sha256, content, received_by) VALUES ($1, $2, $3) "
        "ON CONFLICT (sha256) DO NOTHING",
        sha256,
        content,
        who,
    )


async def file_content(conn: asyncpg.Connection, sha256: str) -> bytes | None:
    content = await conn.fetchval("SELECT content FROM confirmation_files WHERE sha256 = $1", sha256)
    return None if content is None else bytes(content)


HeldRow = tuple[str, int, str, uuid.UUID, str | None, int, date, str, str]


async def hold_lines(conn: asyncpg.Connection, rows: Sequence[HeldRow]) -> dict[int, int]:
    """(file, line, direction, payout, clawback, CNY, value date, reference, importer): lines
    a second person must confirm. A line of a file seen before holds nothing new. Returns
    {line: held_id} of those held now."""
    if not rows:
        return {}
    held = await conn.fetch(
        "INSERT INTO held_bank_lines (file_sha256, line, direction, payout_id, clawback_id, amount_cny, value_date, "
        "reference, imported_by) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::uuid[], $5::text[], "
        "$6::bigint[], $7::date[], $8::text[], $9::text[]) "
        "ON CONFLICT (file_sha256, line) DO NOTHING RETURNING line, held_id",
        *(list(c) for c in zip(*rows, strict=True)),
    )
    return {r["line"]: r["held_id"] for r in held}


HELD_STATUS = {
    "held": "decision IS NULL",
    "confirmed": "decision = 'confirmed'",
    "rejected": "decision = 'rejected'",
}


async def held_lines(conn: asyncpg.Connection, status: str | None, after: int, limit: int) -> list[asyncpg.Record]:
    where = HELD_STATUS[status] if status else "true"
    return list(
        await conn.fetch(
            f"SELECT * FROM held_bank_lines WHERE held_id > $1 AND {where} ORDER BY held_id LIMIT $2", after, limit
        )
    )


async def held_line_for_update(conn: asyncpg.Connection, held_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM held_bank_lines WHERE held_id = $1 FOR UPDATE", held_id)


async def decide_held_line(
    conn: asyncpg.Connection, held_id: int, decision: str, who: str, note: str | None
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE held_bank_lines SET decision = $2, decided_by = $3, decided_at = clock_timestamp(), note = $4 "
        "WHERE held_id = $1 RETURNING *",
        held_id,
        decision,
        who,
        note,
    )
    return row


async def count_held_lines(conn: asyncpg.Connection) -> int:
    n: int = await conn.fetchval("SELECT count(*) FROM held_bank_lines WHERE decision IS NULL")
    return n


ExceptionRow = tuple[str, int, str, uuid.UUID | None, str | None, int | None, int | None, str | None, str]


async def open_exceptions(conn: asyncpg.Connection, rows: Sequence[ExceptionRow]) -> int:
    """(file, line, reason, payout, direction, CNY, expected CNY, reference, message); a line
    of a file seen before opens nothing. Returns how many were opened now."""
    if not rows:
        return 0
    opened = await conn.fetch(
        "INSERT INTO treasury_exceptions (file_sha256, line, reason, payout_id, direction, amount_cny, "
        "expected_cny, reference, message) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::uuid[], "
        "$5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[]) "
        "ON CONFLICT (file_sha256, line) DO NOTHING RETURNING exception_id",
        *(list(c) for c in zip(*rows, strict=True)),
    )
    return len(opened)


EXCEPTION_STATUS = {
    "open": "resolved_by IS NULL",
    "resolved": "resolved_by IS NOT NULL AND confirmed_by IS NULL",
    "closed": "confirmed_by IS NOT NULL",
}


async def exceptions(conn: asyncpg.Connection, status: str | None, after: int, limit: int) -> list[asyncpg.Record]:
    where = EXCEPTION_STATUS[status] if status else "true"
    return list(
        await conn.fetch(
            f"SELECT * FROM treasury_exceptions WHERE exception_id > $1 AND {where} ORDER BY exception_id LIMIT $2",
            after,
            limit,
        )
    )


async def exception_for_update(conn: asyncpg.Connection, exception_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM treasury_exceptions WHERE exception_id = $1 FOR UPDATE", exception_id)


async def resolve_exception(conn: asyncpg.Connection, exception_id: int, who: str, note: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE treasury_exceptions SET resolved_by = $2, resolved_at = clock_timestamp(), resolution = $3 "
        "WHERE exception_id = $1 RETURNING *",
        exception_id,
        who,
        note,
    )
    return row


async def confirm_exception(conn: asyncpg.Connection, exception_id: int, who: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE treasury_exceptions SET confirmed_by = $2, confirmed_at = clock_timestamp() "
        "WHERE exception_id = $1 RETURNING *",
        exception_id,
        who,
    )
    return row


async def count_unclosed_exceptions(conn: asyncpg.Connection) -> int:
    n: int = await conn.fetchval("SELECT count(*) FROM treasury_exceptions WHERE confirmed_by IS NULL")
    return n
