"""Awards' append-only audit trail in PostgreSQL: appending rows (the table refuses
updates and deletes, and chains each row's hash to the one before), and checking the
chain. Every function runs in the caller's transaction."""

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from services.awards.audit.domain.audit import Actor


async def append(conn: asyncpg.Connection, actor: Actor, entries: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
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


CHANGED = "its content changed since it was written"
UNLINKED = "the row before it is gone or changed"


async def chain_breaks(conn: asyncpg.Connection) -> tuple[int, bytes | None, list[tuple[int, str]]]:
    """(rows, the head's hash, [(seq, what is wrong)]) of the audit trail's hash chain."""
    rows = await conn.fetch(
        "SELECT seq, prev_hash = expected_prev AS linked, row_hash = recomputed AS intact, row_hash FROM ("
        " SELECT seq, prev_hash, row_hash, audit_row_hash(prev_hash, a) AS recomputed,"
        " coalesce(lag(row_hash) OVER (ORDER BY seq), audit_chain_genesis()) AS expected_prev"
        " FROM audit_log a) chain ORDER BY seq"
    )
    breaks = [
        (
            r["seq"],
            "its content changed since it was written" if not r["intact"] else "the row before it is gone or changed",
        )
        for r in rows
        if not (r["linked"] and r["intact"])
    ]
    return len(rows), (bytes(rows[-1]["row_hash"]) if rows else None), breaks
