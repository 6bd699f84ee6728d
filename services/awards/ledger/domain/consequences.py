"""What the rules' changes ask of the rest of awards, announced rather than called: the
ledger does not know who pays, recalls or claws back. The handlers are in
services/awards/handlers.py. Pure."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.awards.ledger.domain.reconcile import Recovery, Reversal


@dataclass(frozen=True, slots=True)
class PayoutsReversed:
    """Payouts the rules reversed in this transaction, with their enterprise: one whose
    file has not left is cancelled, one released is recalled, one paid is clawed back."""

    reversals: tuple[tuple[str, Reversal], ...]


@dataclass(frozen=True, slots=True)
class PaidAwardsLowered:
    """Paid awards a version that allows recovery lowered: the difference is owed back."""

    recoveries: tuple[tuple[str, Recovery], ...]


Consequence = PayoutsReversed | PaidAwardsLowered
# Handles a transaction's consequences in that transaction; returns the messages to publish
# with it (connection, consequences) -> outgoing messages.
FollowUp = Callable[[Any, Sequence[Consequence]], Awaitable[list[Any]]]
