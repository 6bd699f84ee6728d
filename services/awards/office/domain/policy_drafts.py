"""Drafting a policy version and previewing what adopting it does to the ledger. Pure.

A draft is checked against the adopted versions before it is stored; its preview lists
every existing award whose amount it would change (with the disbursement stage it has
reached), counts the awards it would add, and is summed up by a digest, so adoption can
refuse when what the second person saw is no longer what adoption would write.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from services.awards.ledger.domain.reconcile import Changes, Key, LedgerPayout, key_of
from services.awards.policy.domain.policy import (
    MAX_AMOUNT_CNY,
    PLAN_START,
    REGION,
    ROLES,
    WINDOW_YEARS,
    WINDOWED_RULES,
    PolicyVersion,
    Versions,
    can_have_plan,
)
from shared.contract.enums import Rule

FieldError = tuple[str, str]  # (field, why)


def check_draft(v: PolicyVersion, adopted: Versions) -> list[FieldError]:
    """Why `v` cannot be drafted (or adopted) next to `adopted`; empty when it can."""
    errors = _where_and_when(v, adopted) + _amounts_and_windows(v)
    if v.jurisdiction == REGION:
        errors += _region_complete(v)
    elif v.window_years:
        errors.append(("window_years", "a prefecture's awards follow the region's decision: it sets no window"))
    return errors


def _where_and_when(v: PolicyVersion, adopted: Versions) -> list[FieldError]:
    errors: list[FieldError] = []
    if not can_have_plan(v.jurisdiction):
        errors.append(
            ("jurisdiction", f"{v.jurisdiction} is neither the region (650000) nor one of its 14 prefectures")
        )
    if v.effective_from < PLAN_START:
        errors.append(("effective_from", f"{v.effective_from} is before the plan's start on {PLAN_START}"))
    same_day = [a for a in adopted.by_jurisdiction.get(v.jurisdiction, ()) if a.effective_from == v.effective_from]
    if same_day:
        errors.append(
            (
                "effective_from",
                f"version {same_day[0].version_id} of {v.jurisdiction} already starts on {v.effective_from}",
            )
        )
    return errors


def _amounts_and_windows(v: PolicyVersion) -> list[FieldError]:
    errors: list[FieldError] = [
        (f"amounts_cny.{rule}.{role}", f"{cny} is outside 0 to {MAX_AMOUNT_CNY:,}")
        for (rule, role), cny in sorted(v.amounts.items())
        if not 0 <= cny <= MAX_AMOUNT_CNY
    ]
    for rule, years in sorted(v.window_years.items()):
        if rule not in WINDOWED_RULES:
            errors.append((f"window_years.{rule}", "this rule has no window of its own"))
        elif years not in WINDOW_YEARS:
            errors.append(
                (f"window_years.{rule}", f"{years} is outside {WINDOW_YEARS.start} to {WINDOW_YEARS.stop - 1}")
            )
    return errors


def _region_complete(v: PolicyVersion) -> list[FieldError]:
    """The region's version rates every award on its own: every amount and window is given."""
    missing = [f"amounts_cny.{rule}.{role}" for rule in Rule for role in ROLES if (rule, role) not in v.amounts]
    missing += [f"window_years.{rule}" for rule in WINDOWED_RULES if rule not in v.window_years]
    return [(name, "the region's version must give it") for name in missing]


@dataclass(frozen=True, slots=True)
class Affected:
    """An existing award whose amount the draft changes."""

    payout_id: uuid.UUID  # the award's payout (its top-ups count with it)
    enterprise_uscc: str
    rule: Rule
    recipient_role: str
    funding: str
    basis_date: date
    stage: str  # owed, approved, batched, released (its batch went to the bank) or paid
    old_cny: int
    new_cny: int
    refused: bool  # a decrease after the money left, not recoverable: adoption is refused while it stands


def affected_by(
    uscc: str, ledger: list[LedgerPayout], changes: Changes, stages: Mapping[uuid.UUID, str]
) -> tuple[list[Affected], list[int]]:
    """(existing awards whose amount `changes` move, the CNY of each award it adds)."""
    live: dict[Key, list[LedgerPayout]] = {}
    for p in ledger:
        if p.issued:
            live.setdefault(key_of(p), []).append(p)
    moved, added = _moves(changes)
    out: list[Affected] = []
    new: list[int] = []
    for key in sorted(moved.keys() | added.keys() | set(changes.kept)):
        rows = live.get(key, [])
        if not rows:
            new.append(added.get(key, 0))
            continue
        old = sum(p.held_cny for p in rows)
        kept = key in changes.kept
        now = old if kept else old + moved.get(key, 0) + added.get(key, 0)
        if now == old and not kept:
            continue  # the same amount on another basis: not rated differently
        base = next((p for p in rows if not p.top_up), rows[0])
        stage = stages.get(base.payout_id, "owed")
        out.append(Affected(base.payout_id, uscc, key[0], key[1].value, key[2], base.basis_date, stage, old, now, kept))
    return out, new


def _moves(changes: Changes) -> tuple[dict[Key, int], dict[Key, int]]:
    """(CNY each award loses to reversals and recoveries, CNY each gains by new payouts)."""
    moved: dict[Key, int] = {}
    for r in changes.reverse:
        moved[key_of(r.payout)] = moved.get(key_of(r.payout), 0) - r.payout.held_cny
    for c in changes.recover:
        moved[key_of(c.payout)] = moved.get(key_of(c.payout), 0) - c.amount_cny
    added: dict[Key, int] = {}
    for i in changes.issue:
        added[key_of(i.owed)] = added.get(key_of(i.owed), 0) + i.owed.amount_cny
    return moved, added


@dataclass(frozen=True, slots=True)
class PreviewSummary:
    affected: int
    raised: int
    raised_cny: int  # what the raises add
    lowered: int
    lowered_cny: int  # what the decreases take away (positive)
    refused: int
    new_awards: int
    new_awards_cny: int
    digest: str


def summarize(affected: Iterable[Affected], new_awards: Iterable[int]) -> PreviewSummary:
    rows = sorted(affected, key=lambda a: (a.enterprise_uscc, a.payout_id.hex))
    new = list(new_awards)
    h = hashlib.sha256()
    for a in rows:
        h.update(f"{a.payout_id}|{a.stage}|{a.old_cny}|{a.new_cny}|{a.refused}\n".encode())
    h.update(f"new|{len(new)}|{sum(new)}".encode())
    refused = [a for a in rows if a.refused]
    up = [a for a in rows if a.new_cny > a.old_cny]
    down = [a for a in rows if a.new_cny < a.old_cny]
    return PreviewSummary(
        affected=len(rows),
        raised=len(up),
        raised_cny=sum(a.new_cny - a.old_cny for a in up),
        lowered=len(down),
        lowered_cny=sum(a.old_cny - a.new_cny for a in down),
        refused=len(refused),
        new_awards=len(new),
        new_awards_cny=sum(new),
        digest=h.hexdigest(),
    )


def refusal(summary: PreviewSummary) -> str | None:
    """Why a version cannot be adopted as previewed, or None."""
    if summary.refused:
        return (
            f"{summary.refused} award(s) already released to the bank or paid would be lowered: a version never "
            "quietly lowers money that left. Draft it with allows_recovery to claw a paid difference back; a payment "
            "still on its way is decided once the bank has answered"
        )
    return None
