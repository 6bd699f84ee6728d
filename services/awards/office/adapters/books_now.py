"""What the restored books show of people's acts, for the redo list."""

import asyncpg

from services.awards.office.domain.redo import BooksNow


async def books_now(conn: asyncpg.Connection) -> BooksNow:
    """What the books show of people's acts: approvals, and the bank's payments, settlements
    and returns by reference."""
    return BooksNow(
        approved=frozenset(r["payout_id"] for r in await conn.fetch("SELECT payout_id FROM disbursements")),
        paid=frozenset(
            (r["payout_id"], r["reference"]) for r in await conn.fetch("SELECT payout_id, reference FROM bank_payments")
        ),
        settled=frozenset(
            (r["payout_id"], r["settled_reference"])
            for r in await conn.fetch("SELECT payout_id, settled_reference FROM clawbacks WHERE settled_on IS NOT NULL")
        ),
        returned=frozenset(
            (r["payout_id"], r["returned_reference"])
            for r in await conn.fetch(
                "SELECT payout_id, returned_reference FROM disbursements WHERE returned_reference IS NOT NULL"
            )
        ),
    )
