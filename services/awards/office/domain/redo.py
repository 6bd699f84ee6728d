"""After a restore to an earlier moment the rules' side catches up from the log, but what
only people did over HTTP — approvals, the bank's confirmations, policy adoptions — is
gone from the books.
The log still says it happened (the award events the outbox had published): each such act
the restored books do not show is the office's to redo, and this says which."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.awards.policy.domain.adoptions import AdoptionKey, logged_adoption


@dataclass(frozen=True, slots=True)
class BooksNow:
    """What the restored books show: approved payouts, bank payments, settlements, returns."""

    approved: frozenset[uuid.UUID]
    paid: frozenset[tuple[uuid.UUID, str]]  # (payout, the bank's reference)
    settled: frozenset[tuple[uuid.UUID, str]]
    returned: frozenset[tuple[uuid.UUID, str]]
    adopted: frozenset[AdoptionKey] = field(default_factory=frozenset)  # policy versions


@dataclass(frozen=True, slots=True)
class Redo:
    act: str  # "approve", "confirm" or "adopt": the page, the file or the version to redo
    payout_id: uuid.UUID | None  # None for an adoption
    said: str  # what the log recorded, in a sentence


def to_redo(events: Iterable[Mapping[str, Any]], books: BooksNow) -> list[Redo]:
    """Each act in `events` (award events as published, duplicates included) that `books`
    do not show, once, in the log's order."""
    seen: set[str] = set()
    out: list[Redo] = []
    for e in events:
        if e["event_id"] in seen:
            continue
        seen.add(e["event_id"])
        d, kind = e["data"], e["event_type"]
        if kind == "PolicyVersionAdopted":
            logged = logged_adoption(d)
            if logged.key not in books.adopted:
                out.append(Redo("adopt", None, logged.said + ": draft it again and have another person adopt it"))
            continue
        pid = uuid.UUID(d["payout_id"])
        if kind == "PayoutApproved" and pid not in books.approved:
            out.append(Redo("approve", pid, f"approved by {d['approved_by']} on {d['approved_on']}"))
        elif kind == "PayoutPaid" and (pid, d["reference"]) not in books.paid:
            said = f"paid {d['amount_cny']} CNY on {d['paid_on']}, bank reference {d['reference']}"
            out.append(Redo("confirm", pid, said))
        elif kind == "ClawbackSettled" and (pid, d["reference"]) not in books.settled:
            out.append(Redo("confirm", pid, f"recovered {d['amount_cny']} CNY on {d['settled_on']}, {d['reference']}"))
        elif (
            kind == "PayoutCancelled"
            and d.get("returned_reference")
            and (pid, d["returned_reference"]) not in books.returned
        ):
            out.append(Redo("confirm", pid, f"returned by the bank, reference {d['returned_reference']}"))
    return out
