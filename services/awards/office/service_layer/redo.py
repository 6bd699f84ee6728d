"""What the office must redo after the books were restored to an earlier moment: the acts
the award log recorded that the books no longer show (services/awards/office/domain/redo.py)."""

import dataclasses
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.awards.office.adapters import books_now
from services.awards.office.domain.redo import Redo, to_redo
from services.awards.policy.adapters import policy_versions
from services.awards.policy.domain.adoptions import logged_adoption
from shared.process.db import unit_of_work

# The award events only people cause over HTTP: approvals, the bank's confirmations and
# policy adoptions.
PEOPLES_ACTS = frozenset({"PayoutApproved", "PayoutPaid", "ClawbackSettled", "PayoutCancelled", "PolicyVersionAdopted"})
ADOPTIONS = frozenset({"PolicyVersionAdopted"})


async def redo_list(pool: asyncpg.Pool, logged: Sequence[dict[str, Any]]) -> list[Redo]:
    """`logged`: the award log's events of PEOPLES_ACTS, in order."""
    async with pool.acquire() as conn:
        books = await books_now.books_now(conn)
        books = dataclasses.replace(books, adopted=await policy_versions.adoption_keys(conn))
    return to_redo(logged, books)


async def hold_for_log(pool: asyncpg.Pool, logged: Sequence[dict[str, Any]]) -> int:
    """After a restore: remember every adoption the award log records (`logged`: its
    PolicyVersionAdopted events), so decisions wait until the books hold them all again.
    Returns how many the books lack now."""
    adoptions = [logged_adoption(e["data"]) for e in logged if e["event_type"] in ADOPTIONS]
    async with unit_of_work(pool) as conn:
        return await policy_versions.record_logged(conn, adoptions)
