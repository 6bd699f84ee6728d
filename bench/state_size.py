"""What the stack's PostgreSQL state costs per million intake events, table by table:
the figures that say whether a 100-million-event history fits one database."""

import asyncpg

_SIZES = """
SELECT n.nspname AS schema, c.relname AS tbl, pg_total_relation_size(c.oid) AS total,
       pg_indexes_size(c.oid) AS indexes, s.n_live_tup AS live, s.n_dead_tup AS dead
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind = 'r' AND n.nspname IN ('registration', 'awards', 'reporting')
ORDER BY total DESC
"""


async def print_state_sizes(dsn: str, *, intake_events: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(_SIZES)
    finally:
        await conn.close()
    per_million = 1e6 / max(intake_events, 1) / (1 << 20)
    print(f"== PostgreSQL state after {intake_events:,} intake events (MB per million events, tables >= 1 MB)")
    print(f"  {'table':<36} {'MB/M events':>11} {'of it index':>11} {'live rows':>10} {'dead':>8}")
    total = 0.0
    for r in rows:
        total += r["total"] * per_million
        if r["total"] >= 1 << 20:
            print(
                f"  {r['schema'] + '.' + r['tbl']:<36} {r['total'] * per_million:11.1f} "
                f"{r['indexes'] * per_million:11.1f} {r['live'] or 0:10,d} {r['dead'] or 0:8,d}"
            )
    print(f"  {'all three schemas':<36} {total:11.1f}")
