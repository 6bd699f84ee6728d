"""Reads of the audit trail for its HTTP API and its CSV export."""

import asyncpg

from services.awards.audit.domain.audit import AuditFilter
from shared.process.clock import BUSINESS_TZ


async def audit_entries(conn: asyncpg.Connection, f: AuditFilter, *, after: int, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT * FROM audit_log WHERE seq > $1 AND ($2::text IS NULL OR action = $2) "
            "AND ($3::text IS NULL OR subject = $3) AND ($4::text IS NULL OR actor = $4) "
            "AND ($5::date IS NULL OR at >= $5::date::timestamp AT TIME ZONE $7) "
            "AND ($6::date IS NULL OR at < ($6::date + 1)::timestamp AT TIME ZONE $7) ORDER BY seq LIMIT $8",
            after,
            f.action,
            f.subject,
            f.actor,
            f.on_or_after,
            f.on_or_before,
            BUSINESS_TZ.key,
            limit,
        )
    )
