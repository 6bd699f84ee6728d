"""Awards' PostgreSQL for the access log: who read payment data (append-only). Written on
a connection of its own, in its own short transaction, never inside the read it records."""

from typing import Any

import asyncpg

from services.awards.audit.domain.audit import Actor


async def record(pool: asyncpg.Pool, actor: Actor, what: str, subject: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO access_log (actor, actor_name, roles, what, subject, request_id, client, path) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            actor.subject,
            actor.name,
            list(actor.roles),
            what,
            subject,
            actor.request_id,
            actor.client,
            actor.path,
        )


async def entries(pool: asyncpg.Pool, *, after: int, limit: int) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT seq, at, actor, actor_name, roles, what, subject, request_id, client, path FROM access_log "
            "WHERE seq > $1 ORDER BY seq LIMIT $2",
            after,
            limit,
        )
    return [{**dict(r), "at": r["at"].isoformat(), "roles": list(r["roles"])} for r in rows]
