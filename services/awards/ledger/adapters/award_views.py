"""Reads of the award ledger for its HTTP API and lookup page."""

from typing import Any

import asyncpg
import orjson

from services.awards.ledger.adapters.ledger import FACT_COLUMNS, fact_of


async def is_known(conn: asyncpg.Connection, uscc: str) -> bool:
    """Has awards seen this enterprise at all (its registration or any fact)?"""
    known: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM enterprises WHERE uscc = $1) OR EXISTS (SELECT 1 FROM facts WHERE uscc = $1)",
        uscc,
    )
    return known


async def payouts_of(conn: asyncpg.Connection, uscc: str) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM payouts WHERE enterprise_uscc = $1 ORDER BY seq", uscc))


async def declines_of(conn: asyncpg.Connection, uscc: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch("SELECT * FROM declines WHERE enterprise_uscc = $1 ORDER BY rule, basis_event_id", uscc)
    )


async def find_enterprises(conn: asyncpg.Connection, text: str, limit: int) -> list[asyncpg.Record]:
    """Enterprises whose code starts with or contains `text`, or whose name contains it
    (literally: strpos, no pattern characters); code prefixes first, then name prefixes."""
    return list(
        await conn.fetch(
            "SELECT uscc, name, division_code, registered_on FROM enterprises "
            "WHERE strpos(uscc, upper($1)) > 0 OR strpos(lower(name), lower($1)) > 0 "
            "ORDER BY starts_with(uscc, upper($1)) DESC, starts_with(lower(name), lower($1)) DESC, name, uscc "
            "LIMIT $2",
            text,
            limit,
        )
    )


async def registration_of(conn: asyncpg.Connection, uscc: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM enterprises WHERE uscc = $1", uscc)


async def facts_of(conn: asyncpg.Connection, uscc: str) -> list[tuple[asyncpg.Record, dict[str, Any], object]]:
    """Each stored fact: (its row, its data as sent, the rules' view of it)."""
    rows = await conn.fetch(f"SELECT {FACT_COLUMNS}, f.data FROM facts f WHERE uscc = $1", uscc)
    return [(r, orjson.loads(r["data"]), fact_of(r)) for r in rows]


async def payouts_page(
    conn: asyncpg.Connection, *, after: int, rule: str | None, status: str | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` payouts after ledger position `after`, oldest first."""
    return list(
        await conn.fetch(
            "SELECT * FROM payouts WHERE seq > $1 AND ($2::text IS NULL OR rule = $2) "
            "AND ($3::text IS NULL OR status = $3) ORDER BY seq LIMIT $4",
            after,
            rule,
            status,
            limit,
        )
    )


async def summary_rows(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], list[asyncpg.Record], int]:
    """(payouts by rule x role x status, declines by rule x reason, enterprises seen)."""
    rows = await conn.fetch(
        "SELECT rule, recipient_role, status, count(*) AS n, sum(amount_cny)::bigint AS cny FROM payouts "
        "GROUP BY rule, recipient_role, status ORDER BY 1, 2, 3"
    )
    declines = await conn.fetch("SELECT rule, reason_code, count(*) AS n FROM declines GROUP BY 1, 2 ORDER BY 1, 2")
    enterprises: int = await conn.fetchval("SELECT count(*) FROM enterprises")
    return list(rows), list(declines), enterprises
