"""One batch of canonical enterprise events: store, re-decide, reconcile, emit.

Everything happens in the caller's transaction: the stored facts (which are the dedup:
a redelivered fact inserts nothing and re-decides nothing), the ledger changes and the
outgoing award events (outbox) commit together or not at all.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from services.awards.ledger.adapters import ledger
from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.consequences import FollowUp, PaidAwardsLowered, PayoutsReversed
from services.awards.ledger.domain.reconcile import Changes, Recovery, Reversal, reconcile
from services.awards.ledger.service_layer.messages import award_message
from services.awards.policy.adapters.policy_versions import AdoptedCache
from shared.contract import incoming
from shared.contract.codec import OutgoingMessage
from shared.contract.events import AwardDeclined, PayoutIssued, PayoutReversed, derived_id
from shared.messaging import outbox, trace_context
from shared.messaging.trace_context import Headers
from shared.process import locks

SERVICE = "awards"
Fact = incoming.EnterpriseRegistered | ledger.RuleInput


async def take_facts(
    conn: asyncpg.Connection, events: Sequence[Fact], policy: AdoptedCache, follow_up: FollowUp
) -> None:
    """Store a batch's facts and re-decide the enterprises they concern."""
    # Only facts stored now re-decide an enterprise, and a re-decision of an unchanged
    # enterprise changes nothing anyway.
    affected = await ledger.store_facts(conn, incoming.unique_events(events))
    if affected:
        await decide_and_reconcile(conn, sorted(affected), policy, follow_up)


async def decide_and_reconcile(
    conn: asyncpg.Connection, usccs: list[str], policy: AdoptedCache, follow_up: FollowUp
) -> None:
    """Re-decide `usccs` under the adopted versions, read in this transaction; what the
    changes ask of disbursement is announced to `follow_up` in the same transaction."""
    versions = await policy.current(conn)
    await locks.hold_each(conn, SERVICE, usccs)  # replicas during a rebalance decide one at a time
    facts = await ledger.load_facts(conn, usccs)
    books = await ledger.load_ledger(conn, usccs)
    declined = await ledger.load_declines(conn, usccs)
    out: list[OutgoingMessage] = []
    reversed_: list[tuple[str, Reversal]] = []
    recovered: list[tuple[str, Recovery]] = []
    changed: list[tuple[str, Changes]] = []
    for uscc in usccs:
        with trace_context.step("awards decide", trace_context.of_key(uscc.encode())) as decided:
            decision = decide(facts[uscc], versions)
            changes = reconcile(enterprise_uscc=uscc, decision=decision, ledger=books[uscc], declined=declined[uscc])
            if changes.needs_stage:  # a version lowered an award: has its money left?
                changes = reconcile(
                    enterprise_uscc=uscc,
                    decision=decision,
                    ledger=books[uscc],
                    declined=declined[uscc],
                    money_left=await ledger.money_left(conn, [uscc]),
                )
            trace_context.describe(rule_outcomes, changes)
        if changes.empty:
            continue
        changed.append((uscc, changes))
        out += award_messages(uscc, changes, decided)
        reversed_ += [(uscc, r) for r in changes.reverse]
        recovered += [(uscc, r) for r in changes.recover]
    # One enterprise's changes touch only its own payouts and declines (money_left above
    # reads no other's), so the whole batch's are written together.
    await ledger.write_changes(conn, changed)
    # After the reversals' row locks: an approval or a payment of the same payout waits.
    out += await follow_up(conn, [PayoutsReversed(tuple(reversed_)), PaidAwardsLowered(tuple(recovered))])
    await outbox.enqueue(conn, out)


def rule_outcomes(changes: Changes) -> dict[str, list[str]]:
    """What a decision changed, for its span: rules, roles and reasons; no amount, no name."""
    return {
        "xj.issued": [f"{i.owed.rule}/{i.owed.recipient_role}" for i in changes.issue],
        "xj.reversed": [f"{r.payout.rule}/{r.payout.recipient_role}/{r.reason_code}" for r in changes.reverse],
        "xj.declined": [f"{d.rule}/{d.reason}" for d in changes.new_declines],
    }


def award_messages(uscc: str, changes: Changes, trace: Headers = ()) -> list[OutgoingMessage]:
    now = datetime.now(UTC)
    messages: list[tuple[uuid.UUID, str, PayoutIssued | PayoutReversed | AwardDeclined]] = []
    for r in changes.reverse:
        p = r.payout
        reversed_ = PayoutReversed(
            payout_id=p.payout_id,
            rule=p.rule,
            recipient_role=p.recipient_role,
            recipient_uscc=p.recipient_uscc,
            enterprise_uscc=uscc,
            amount_cny=p.amount_cny,
            reason_code=r.reason_code,
            explanation=r.explanation,
            basis_event_id=p.basis_event_id,
        )
        messages.append((derived_id("reversed", p.payout_id), "PayoutReversed", reversed_))
    for i in changes.issue:
        o = i.owed
        issued = PayoutIssued(
            payout_id=i.payout_id,
            rule=o.rule,
            recipient_role=o.recipient_role,
            recipient_uscc=o.recipient_uscc,
            recipient_name=o.recipient_name,
            enterprise_uscc=uscc,
            incubator_id=o.incubator_id,
            amount_cny=o.amount_cny,
            basis_event_id=o.basis_event_id,
            basis_date=o.basis_date,
            funding=o.funding,
            policy_version=o.policy_version,
            top_up_of=i.top_up_of,
        )
        messages.append((derived_id("issued", i.payout_id), "PayoutIssued", issued))
    for d in changes.new_declines:
        declined = AwardDeclined(
            rule=d.rule,
            enterprise_uscc=uscc,
            reason_code=d.reason,
            explanation=d.explanation,
            basis_event_id=d.basis_event_id,
        )
        messages.append((derived_id("declined", uscc, d.rule, d.basis_event_id, d.reason), "AwardDeclined", declined))
    return [
        award_message(event_id, event_type, data, uscc, now, trace=trace) for event_id, event_type, data in messages
    ]
