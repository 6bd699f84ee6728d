"""Reporting's projection, the pure part: what a batch of events adds to the stored rows,
and how an enterprise's contributions and the carriers move the daily counters.

Enterprise-scoped numbers are recomputed per touched enterprise from the set of its
stored facts (`metric_definitions.enterprise_contributions`); the difference from what it
contributed before is added to the counters, so neither arrival order nor a registration
arriving late changes the result.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.reporting.domain import metric_definitions as metrics
from shared.contract.codec import Delivered
from shared.contract.divisions import prefecture_of

UNKNOWN_PREFECTURE = "000000"  # facts about an enterprise whose registration has not arrived
REGION = "*"  # the region-wide counter row beside the per-prefecture rows
CounterKey = tuple[str, int, str, date]  # metric, cohort, prefecture, day
# An enterprise's contributions: (metric, cohort, day) -> value
Entries = dict[tuple[str, int, date], int]

_DATED_FACTS: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "EnterpriseGraduated": (lambda d: metrics.GRADUATIONS, "graduated_on"),
    "HighTechCertified": (lambda d: metrics.HIGH_TECH_CERTIFICATIONS, "certified_on"),
    "BoardTransferred": (lambda d: metrics.BOARD_TRANSFERS, "transferred_on"),
    "ListedOnBoard": (
        lambda d: metrics.LISTINGS_XJEE if d["board"] == "XJEE" else metrics.LISTINGS_NEEQ,
        "listed_on",
    ),
}

# Disbursement events: the flow each one is, and the field that dates it.
DISBURSEMENT_FLOWS = {
    "PayoutApproved": ("approved", "approved_on"),
    "PayoutCancelled": ("cancelled", "cancelled_on"),  # on its own day: past months stay as they were
    "PayoutPaid": ("paid", "paid_on"),
    "ClawbackRaised": ("clawed_back", "raised_on"),
    "ClawbackSettled": ("recovered", "settled_on"),
}


# A clawback a policy version raised on a paid award it lowered (awards' reconcile.Recovery).
POLICY_RECOVERY = "amended:"


@dataclass
class Folded:
    """A batch's events as rows of the reporting tables (each table's columns in order)."""

    enterprises: list[tuple[Any, ...]] = field(default_factory=list)
    employment_reports: list[tuple[Any, ...]] = field(default_factory=list)
    admissions: list[tuple[Any, ...]] = field(default_factory=list)
    enterprise_facts: list[tuple[Any, ...]] = field(default_factory=list)
    carriers: list[tuple[Any, ...]] = field(default_factory=list)
    payouts_issued: list[tuple[Any, ...]] = field(default_factory=list)
    payouts_reversed: list[tuple[Any, ...]] = field(default_factory=list)
    payout_recoveries: list[tuple[Any, ...]] = field(default_factory=list)
    disbursement_flows: list[tuple[Any, ...]] = field(default_factory=list)


def fold(events: Iterable[Delivered]) -> Folded:
    """The rows `events` would add; AwardDeclined and unknown types add none."""
    f = Folded()
    for e in events:
        folder = FOLDERS.get(e.event_type)
        if folder is not None:
            folder(f, e)
    return f


_day = date.fromisoformat


def _enterprise(f: Folded, e: Delivered) -> None:
    d = e.data
    f.enterprises.append(
        (
            d["uscc"],
            d["division_code"],
            prefecture_of(d["division_code"]),
            _day(d["registered_on"]),
            d["employees"],
            d.get("college_student_founders", 0),
            e.event_id,
        )
    )


def _employment(f: Folded, e: Delivered) -> None:
    f.employment_reports.append((e.event_id, e.data["uscc"], _day(e.data["reported_on"]), e.data["employees"]))


def _admission(f: Folded, e: Delivered) -> None:
    f.admissions.append((e.event_id, e.data["uscc"], _day(e.data["admitted_on"])))


def _dated_fact(f: Folded, e: Delivered) -> None:
    metric_of, on = _DATED_FACTS[e.event_type]
    f.enterprise_facts.append((e.event_id, e.data["uscc"], metric_of(e.data), _day(e.data[on])))


def _carrier(f: Folded, e: Delivered) -> None:
    d = e.data
    kind = "incubator" if e.event_type == "IncubatorRegistered" else "service_platform"
    carrier_id = d["incubator_id"] if kind == "incubator" else d["platform_id"]
    pref, recognized = prefecture_of(d["division_code"]), _day(d["recognized_on"])
    f.carriers.append((carrier_id, kind, d["level"], d["division_code"], pref, recognized, e.event_id))


def _payout_issued(f: Folded, e: Delivered) -> None:
    d = e.data
    f.payouts_issued.append(
        (
            d["payout_id"],
            d["enterprise_uscc"],
            d["rule"],
            d["recipient_role"],
            d["amount_cny"],
            _day(d["basis_date"]),
            d.get("funding", "650000"),
            d.get("top_up_of") is not None,
        )
    )


def _payout_reversed(f: Folded, e: Delivered) -> None:
    d = e.data
    f.payouts_reversed.append((d["payout_id"], d["enterprise_uscc"], d["rule"], d["recipient_role"], d["amount_cny"]))


def _disbursement_flow(f: Folded, e: Delivered) -> None:
    d, t = e.data, e.event_type
    if t == "ClawbackRaised" and d["clawback_id"].startswith(POLICY_RECOVERY):
        f.payout_recoveries.append((d["clawback_id"], uuid.UUID(d["payout_id"]), d["amount_cny"]))
    kind, on = DISBURSEMENT_FLOWS[t]
    f.disbursement_flows.append(
        (e.event_id, kind, uuid.UUID(d["payout_id"]), d["enterprise_uscc"], _day(d[on]), d["amount_cny"])
    )


# Reporting's handler table: each event type it counts, and what it adds.
FOLDERS: dict[str, Callable[[Folded, Delivered], None]] = {
    "EnterpriseRegistered": _enterprise,
    "EmploymentReported": _employment,
    "EnterpriseAdmitted": _admission,
    "IncubatorRegistered": _carrier,
    "ServicePlatformRegistered": _carrier,
    "PayoutIssued": _payout_issued,
    "PayoutReversed": _payout_reversed,
    **dict.fromkeys(_DATED_FACTS, _dated_fact),
    **dict.fromkeys(DISBURSEMENT_FLOWS, _disbursement_flow),
}


@dataclass(frozen=True, slots=True)
class NewCarrier:
    kind: str  # incubator | service_platform
    level: str
    prefecture: str
    recognized_on: date


def carrier_counts(carriers: Iterable[NewCarrier]) -> Counter[CounterKey]:
    """Newly stored carriers: a service platform, or a region-level incubator base, counts
    once on the day it was recognised."""
    counters: Counter[CounterKey] = Counter()
    for c in carriers:
        on = c.recognized_on
        if c.kind == "service_platform":
            counters[(metrics.SERVICE_PLATFORMS, on.year, c.prefecture, on)] += 1
        elif c.level == "region":
            counters[(metrics.REGION_BASES, on.year, c.prefecture, on)] += 1
    return counters


def move(counters: Counter[CounterKey], *, before: tuple[str, Entries] | None, prefecture: str, after: Entries) -> bool:
    """Move an enterprise's contributions from `before` (prefecture, entries) to `after` in
    `prefecture`, adding the difference to `counters`; False when nothing changed."""
    old_pref, old = before or (prefecture, {})
    if old_pref == prefecture and old == after:
        return False
    for (metric, cohort, day), v in old.items():
        counters[(metric, cohort, old_pref, day)] -= v
    for (metric, cohort, day), v in after.items():
        counters[(metric, cohort, prefecture, day)] += v
    return True


def rollups(counters: Counter[CounterKey]) -> tuple[Counter[CounterKey], Counter[CounterKey]]:
    """(daily, monthly) increments, per prefecture and region-wide (REGION)."""
    daily: Counter[CounterKey] = Counter()
    monthly: Counter[CounterKey] = Counter()
    for (metric, cohort, pref, day), v in counters.items():
        if v:
            for p in (pref, REGION):
                daily[(metric, cohort, p, day)] += v
                monthly[(metric, cohort, p, day.replace(day=1))] += v
    return daily, monthly
