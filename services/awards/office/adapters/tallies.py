"""The ledger's side of a what-if: live awards counted in PostgreSQL."""

import asyncpg

from services.awards.office.domain.what_if import Tally


async def ledger_tally(conn: asyncpg.Connection) -> Tally:
    """Live awards by funding x rule x recipient role x basis year (a top-up adds to its
    award's CNY, not to the count)."""
    rows = await conn.fetch(
        "SELECT funding, rule, recipient_role, extract(year FROM basis_date)::int AS y, "
        "count(*) FILTER (WHERE top_up_of IS NULL) AS n, sum(amount_cny - recovered_cny)::bigint AS cny "
        "FROM payouts WHERE status = 'issued' GROUP BY 1, 2, 3, 4"
    )
    return {(r["funding"], r["rule"], r["recipient_role"], r["y"]): [r["n"], r["cny"]] for r in rows}
