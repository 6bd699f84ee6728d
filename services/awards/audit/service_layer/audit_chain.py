"""Verify the audit trail's hash chain (migration 0009): every row links to the one before
it and its hash matches its content."""

from dataclasses import dataclass

import asyncpg

from services.awards.audit.adapters import audit_trail
from shared.process.db import snapshot


@dataclass(frozen=True, slots=True)
class ChainReport:
    rows: int
    head: str | None  # the last row's hash (hex): record it elsewhere to detect a truncated tail
    breaks: list[tuple[int, str]]

    @property
    def intact(self) -> bool:
        return not self.breaks


async def verify(pool: asyncpg.Pool) -> ChainReport:
    async with snapshot(pool) as conn:
        rows, head, breaks = await audit_trail.chain_breaks(conn)
    return ChainReport(rows, head.hex() if head else None, breaks)
