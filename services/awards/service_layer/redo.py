"""What the office must redo after the books were restored to an earlier moment: the acts
the award log recorded that the books no longer show (services/awards/domain/redo.py)."""

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.awards.adapters import bank_books
from services.awards.domain.redo import Redo, to_redo

# The award events only people cause over HTTP: approvals and the bank's confirmations.
PEOPLES_ACTS = frozenset({"PayoutApproved", "PayoutPaid", "ClawbackSettled", "PayoutCancelled"})


async def redo_list(pool: asyncpg.Pool, logged: Sequence[dict[str, Any]]) -> list[Redo]:
    """`logged`: the award log's events of PEOPLES_ACTS, in order."""
    async with pool.acquire() as conn:
        books = await bank_books.books_now(conn)
    return to_redo(logged, books)
