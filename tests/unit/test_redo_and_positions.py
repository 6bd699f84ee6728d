"""After a restore: which people's acts the log recorded that the books lack (exactly,
once each), and where a consumer's books say each partition resumes."""

import uuid
from types import SimpleNamespace
from typing import Any

from services.awards.office.domain.redo import BooksNow, Redo, to_redo
from shared.messaging.consumer_positions import next_offsets

A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def event(event_id: str, kind: str, payout: uuid.UUID, **data: Any) -> dict[str, Any]:
    return {"event_id": event_id, "event_type": kind, "data": {"payout_id": str(payout), **data}}


def test_the_acts_the_books_lack_are_listed_once_in_the_logs_order() -> None:
    log = [
        event("1", "PayoutApproved", A, approved_by="alice", approved_on="2026-12-01"),
        event("2", "PayoutApproved", B, approved_by="alice", approved_on="2026-12-01"),
        event("2", "PayoutApproved", B, approved_by="alice", approved_on="2026-12-01"),  # sent twice
        event("3", "PayoutPaid", A, amount_cny=100_000, paid_on="2026-12-02", reference="BANK-1", batch_id="x"),
        event("4", "PayoutPaid", B, amount_cny=100_000, paid_on="2026-12-02", reference="BANK-2", batch_id="x"),
        event("5", "PayoutCancelled", C, returned_reference="RET-9"),
        event("6", "PayoutCancelled", C, returned_reference=None),  # the rules' cancellation: replayed, not redone
        event("7", "ClawbackSettled", A, amount_cny=50_000, settled_on="2026-12-03", reference="BACK-1"),
    ]
    books = BooksNow(
        approved=frozenset({A}), paid=frozenset({(A, "BANK-1")}), settled=frozenset(), returned=frozenset()
    )
    assert to_redo(log, books) == [
        Redo("approve", B, "approved by alice on 2026-12-01"),
        Redo("confirm", B, "paid 100000 CNY on 2026-12-02, bank reference BANK-2"),
        Redo("confirm", C, "returned by the bank, reference RET-9"),
        Redo("confirm", A, "recovered 50000 CNY on 2026-12-03, BACK-1"),
    ]
    everything = BooksNow(
        approved=frozenset({A, B}),
        paid=frozenset({(A, "BANK-1"), (B, "BANK-2")}),
        settled=frozenset({(A, "BACK-1")}),
        returned=frozenset({(C, "RET-9")}),
    )
    assert to_redo(log, everything) == []


def test_a_batch_moves_each_partition_to_the_offset_after_its_last_record() -> None:
    records = [SimpleNamespace(topic=t, partition=p, offset=o) for t, p, o in [("e", 0, 7), ("e", 0, 5), ("e", 1, 0)]]
    assert next_offsets(records) == {("e", 0): 8, ("e", 1): 1}


def test_an_adoption_the_books_lack_is_listed_to_redo_whatever_number_it_gets_again() -> None:
    from datetime import date

    from services.awards.policy.domain.adoptions import adoption_key_of
    from services.awards.policy.domain.policy import PLAN_2015, REGION, PolicyVersion, each_role
    from shared.contract.enums import Rule

    data = {
        "version_id": 4,
        "jurisdiction": "650000",
        "effective_from": "2016-01-01",
        "amounts_cny": {
            "HIGH_TECH_CERTIFICATION": {"operator": 150_000, "enterprise": 150_000},
            "EQUITY_LISTING": {"operator": 200_000, "enterprise": 200_000},
            "BOARD_TRANSFER": {"operator": 100_000, "enterprise": 100_000},
        },
        "window_years": {"HIGH_TECH_CERTIFICATION": 1, "EQUITY_LISTING": 2},
        "allows_recovery": False,
        "document": {"issuer": "自治区人民政府办公厅", "title": "调整通知", "issued_on": "2015-12-01"},
        "drafted_by": "dora",
        "adopted_by": "adam",
        "adopted_on": "2026-12-01",
    }
    log = [{"event_id": "9", "event_type": "PolicyVersionAdopted", "data": data}]
    empty = BooksNow(frozenset(), frozenset(), frozenset(), frozenset())
    assert to_redo(log, empty) == [
        Redo(
            "adopt",
            None,
            "policy version 4 of 650000 from 2016-01-01 (调整通知), drafted by dora, adopted by adam on 2026-12-01: "
            "draft it again and have another person adopt it",
        )
    ]
    # Adopted again under another number, with the same numbers: nothing to redo.
    again = PolicyVersion(
        2,
        REGION,
        date(2016, 1, 1),
        {**PLAN_2015.amounts, **each_role({Rule.HIGH_TECH_CERTIFICATION: 150_000})},
        dict(PLAN_2015.window_years),
    )
    assert (
        to_redo(log, BooksNow(frozenset(), frozenset(), frozenset(), frozenset(), frozenset({adoption_key_of(again)})))
        == []
    )
    # Adopted again with other numbers: still to redo.
    other = PolicyVersion(2, REGION, date(2016, 1, 1), PLAN_2015.amounts, dict(PLAN_2015.window_years))
    assert (
        len(
            to_redo(
                log, BooksNow(frozenset(), frozenset(), frozenset(), frozenset(), frozenset({adoption_key_of(other)}))
            )
        )
        == 1
    )
