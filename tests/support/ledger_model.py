"""The payout ledger as the awards adapter writes it, kept in memory for pure tests."""

from collections.abc import Sequence
from dataclasses import replace

from services.awards.ledger.domain.reconcile import Changes, LedgerPayout


def applied(changes: Changes, before: Sequence[LedgerPayout] = ()) -> list[LedgerPayout]:
    """The ledger after `changes`: reversed payouts marked, issued ones (top-ups too) added,
    recoveries booked on their payout."""
    gone = {r.payout.payout_id for r in changes.reverse}
    recovered = {c.payout.payout_id: c.amount_cny for c in changes.recover}
    out = [
        replace(
            p,
            issued=p.issued and p.payout_id not in gone,
            recovered_cny=p.recovered_cny + recovered.get(p.payout_id, 0),
        )
        for p in before
    ]
    out += [
        LedgerPayout(
            i.payout_id,
            i.owed.rule,
            i.owed.recipient_role,
            i.owed.recipient_uscc,
            i.owed.incubator_id,
            i.owed.amount_cny,
            i.owed.basis_event_id,
            i.owed.basis_date,
            True,
            i.owed.funding,
            i.top_up_of is not None,
        )
        for i in changes.issue
    ]
    return out
