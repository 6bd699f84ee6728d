"""Awards' handler table, in one place: which handler takes each event type it consumes,
and each consequence the rules announce in their transaction."""

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import asyncpg

from services.awards.disbursement.service_layer import disbursement
from services.awards.ledger.adapters.ledger import RULE_INPUTS
from services.awards.ledger.domain.consequences import Consequence, PaidAwardsLowered, PayoutsReversed
from services.awards.ledger.entrypoints.consumer import EventsHandler
from services.awards.ledger.service_layer import rules
from services.awards.policy.adapters.policy_versions import AdoptedCache
from shared.contract import incoming
from shared.contract.codec import OutgoingMessage

# enterprise.events.v1: a registration (the enterprise's name) and every fact the rules
# read are stored, and the enterprises they concern re-decided, a batch at a time.
CONSUMED: dict[type[incoming.Event], Any] = dict.fromkeys(
    (incoming.EnterpriseRegistered, *RULE_INPUTS), rules.take_facts
)

ConsequenceHandler = Callable[[asyncpg.Connection, Any], Awaitable[list[OutgoingMessage]]]
FOLLOW_UPS: dict[type, ConsequenceHandler] = {
    PayoutsReversed: disbursement.after_reversals,  # cancel, recall or claw back
    PaidAwardsLowered: disbursement.recover_differences,  # owe the difference back
}


def bound(policy: AdoptedCache) -> dict[type[incoming.Event], EventsHandler]:
    """The consumed table with what its handlers need from the running service: one bound
    handler per handler, so a batch reaches each once, its events in the log's order (a
    registration before the facts that follow it)."""
    each = {h: partial(h, policy=policy, follow_up=follow_up) for h in dict.fromkeys(CONSUMED.values())}
    return {t: each[h] for t, h in CONSUMED.items()}


async def follow_up(conn: asyncpg.Connection, consequences: Sequence[Consequence]) -> list[OutgoingMessage]:
    """Each consequence through its handler, in the announcing transaction, in order."""
    out: list[OutgoingMessage] = []
    for c in consequences:
        out += await FOLLOW_UPS[type(c)](conn, c)
    return out
