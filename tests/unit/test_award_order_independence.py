"""Order independence (guarantee G3): any permutation and duplication of a fact set, fed one
fact at a time through decide + reconcile, nets the same payouts as the whole set."""

import uuid
from collections import Counter
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.facts import Admission, Certification, EnterpriseFacts, Graduation, Listing, Transfer
from services.awards.ledger.domain.reconcile import LedgerPayout, reconcile
from services.awards.policy.domain.policy import THE_2015_PLAN
from shared.contract.enums import Board
from tests.support.ledger_model import applied

ENT = "91650100MA77000029"
OPERATORS = {"INC-A": "91650100MA7700010X", "INC-B": "91650100MA77000118"}
START = date(2014, 6, 1)

days = st.integers(min_value=0, max_value=5 * 365).map(lambda n: START + timedelta(days=n))
incubators = st.sampled_from(sorted(OPERATORS))


@st.composite
def fact_sets(draw: st.DrawFn) -> list[object]:
    n = iter(range(1, 1000))
    items: list[object] = []
    for _ in range(draw(st.integers(0, 3))):
        inc, admitted = draw(incubators), draw(days)
        items.append(Admission(uuid.UUID(int=next(n)), inc, admitted, OPERATORS[inc], inc))
        if draw(st.booleans()):
            items.append(Graduation(uuid.UUID(int=next(n)), inc, admitted + timedelta(days=draw(st.integers(0, 900)))))
    items += [Certification(uuid.UUID(int=next(n)), draw(days)) for _ in range(draw(st.integers(0, 2)))]
    items += [
        Listing(uuid.UUID(int=next(n)), draw(st.sampled_from(Board)), draw(days))
        for _ in range(draw(st.integers(0, 2)))
    ]
    items += [Transfer(uuid.UUID(int=next(n)), draw(days)) for _ in range(draw(st.integers(0, 2)))]
    return items


def as_facts(items: list[object]) -> EnterpriseFacts:
    def of(kind: type) -> frozenset:  # type: ignore[type-arg]
        return frozenset(i for i in items if isinstance(i, kind))

    return EnterpriseFacts(ENT, "企业", of(Admission), of(Graduation), of(Certification), of(Listing), of(Transfer))


def replay(stream: list[object]) -> Counter[tuple[str, str, str]]:
    """Feed facts one by one; return net CNY per (rule, role, recipient)."""
    ledger: list[LedgerPayout] = []
    declined: dict[tuple[object, uuid.UUID], str] = {}
    seen: list[object] = []
    for item in stream:
        if item in seen:
            continue  # the idempotent consumer drops a redelivered event
        seen.append(item)
        changes = reconcile(
            enterprise_uscc=ENT, decision=decide(as_facts(seen), THE_2015_PLAN), ledger=ledger, declined=declined
        )  # type: ignore[arg-type]
        ledger = applied(changes, ledger)
        assert len({p.payout_id for p in ledger}) == len(ledger), "payout ids never repeat"
        active = [(p.rule, p.recipient_role) for p in ledger if p.issued]
        assert len(active) == len(set(active)), "at most one active payout per rule and role"
        for d in changes.new_declines:
            declined[(d.rule, d.basis_event_id)] = d.reason
        for key in changes.cleared_declines:
            declined.pop(key)
    net: Counter[tuple[str, str, str]] = Counter()
    for p in ledger:
        if p.issued:
            net[(p.rule, p.recipient_role, p.recipient_uscc)] += p.amount_cny
    return net


@settings(max_examples=300, deadline=None)
@given(items=fact_sets(), data=st.data())
def test_any_order_and_duplication_nets_the_same_payouts(items: list[object], data: st.DataObject) -> None:
    expected: Counter[tuple[str, str, str]] = Counter()
    for p in decide(as_facts(items), THE_2015_PLAN).payouts:
        expected[(p.rule, p.recipient_role, p.recipient_uscc)] += p.amount_cny
    stream = data.draw(
        st.permutations(items + data.draw(st.lists(st.sampled_from(items), max_size=4)) if items else [])
    )
    assert replay(stream) == expected
