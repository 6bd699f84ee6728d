"""Fold a batch of canonical and award events into reporting's tables and counters, in
the caller's transaction (the consumer's batch, or a rebuild's)."""

from collections import Counter
from collections.abc import Sequence

import asyncpg

from services.reporting.adapters import projection_store as store
from services.reporting.domain.metric_definitions import enterprise_contributions
from services.reporting.domain.projection import (
    UNKNOWN_PREFECTURE,
    CounterKey,
    Entries,
    carrier_counts,
    fold,
    move,
    rollups,
)
from shared.contract.incoming import Event, unique_events
from shared.process import locks

SERVICE = "reporting"


async def project(conn: asyncpg.Connection, events: Sequence[Event]) -> None:
    """The stored rows are the dedup: an event already projected inserts nothing, so it
    touches no enterprise and counts no carrier; payout flags are idempotent."""
    touched, carriers = await store.store(conn, fold(unique_events(events)))
    counters = carrier_counts(carriers)
    if touched:
        await locks.hold_each(conn, SERVICE, touched)
        await _recompute(conn, counters, sorted(touched))
    await store.add_to_counters(conn, *rollups(counters))


async def _recompute(conn: asyncpg.Connection, counters: Counter[CounterKey], usccs: list[str]) -> None:
    """Bring the touched enterprises' stored contributions to what their facts say now,
    and add the difference to the counters."""
    rewritten: list[tuple[str, str, Entries]] = []
    emptied: list[str] = []
    for u, i in (await store.load_inputs(conn, usccs)).items():
        pref = i.prefecture or UNKNOWN_PREFECTURE
        after = enterprise_contributions(
            registered_on=i.registered_on,
            reports=i.reports,
            admissions=i.admissions,
            founders=i.founders,
            dated_facts=i.dated,
        )
        if not move(counters, before=i.before, prefecture=pref, after=after):
            continue
        if after:
            rewritten.append((u, pref, after))
        elif i.before is not None:
            emptied.append(u)
    # The enterprises are locked (hold_each): rows not there before cannot appear meanwhile.
    await store.save_contributions(conn, rewritten, emptied)
