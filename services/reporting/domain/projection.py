"""Reporting's projection, the pure part: what a batch of events adds to the stored rows,
and how an enterprise's contributions and the carriers move the daily counters.

Enterprise-scoped numbers are recomputed per touched enterprise from the set of its
stored facts (`metric_definitions.enterprise_contributions`); the difference from what it
contributed before is added to the counters, so neither arrival order nor a registration
arriving late changes the result.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.reporting.domain import metric_definitions as metrics
from shared.contract import incoming as in_
from shared.contract.divisions import prefecture_of

UNKNOWN_PREFECTURE = "000000"  # facts about an enterprise whose registration has not arrived
REGION = "*"  # the region-wide sum of every prefecture's counters, as read
CounterKey = tuple[str, int, str, date]  # metric, cohort, prefecture, day
# An enterprise's contributions: (metric, cohort, day) -> value
Entries = dict[tuple[str, int, date], int]

# Disbursement events: the flow each one is, and the day that dates it (a cancellation on
# its own day: past months stay as they were).
MoneyFlow = in_.PayoutApproved | in_.PayoutCancelled | in_.PayoutPaid | in_.ClawbackRaised | in_.ClawbackSettled
DISBURSEMENT_FLOWS: dict[type, Callable[[Any], tuple[str, date]]] = {
    in_.PayoutApproved: lambda e: ("approved", e.approved_on),
    in_.PayoutCancelled: lambda e: ("cancelled", e.cancelled_on),
    in_.PayoutPaid: lambda e: ("paid", e.paid_on),
    in_.ClawbackRaised: lambda e: ("clawed_back", e.raised_on),
    in_.ClawbackSettled: lambda e: ("recovered", e.settled_on),
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


def fold(events: Iterable[in_.Event]) -> Folded:
    """The rows `events` would add; types without a folder (AwardDeclined) add none."""
    f = Folded()
    for e in events:
        folder = FOLDERS.get(type(e))
        if folder is not None:
            folder(f, e)
    return f


def _enterprise(f: Folded, e: in_.EnterpriseRegistered) -> None:
    f.enterprises.append(
        (
            e.uscc,
            e.division_code,
            prefecture_of(e.division_code),
            e.registered_on,
            e.employees,
            e.college_student_founders,
            e.event_id,
        )
    )


def _employment(f: Folded, e: in_.EmploymentReported) -> None:
    f.employment_reports.append((e.event_id, e.uscc, e.reported_on, e.employees))


def _admission(f: Folded, e: in_.EnterpriseAdmitted) -> None:
    f.admissions.append((e.event_id, e.uscc, e.admitted_on))


def _graduation(f: Folded, e: in_.EnterpriseGraduated) -> None:
    f.enterprise_facts.append((e.event_id, e.uscc, metrics.GRADUATIONS, e.graduated_on))


def _certification(f: Folded, e: in_.HighTechCertified) -> None:
    f.enterprise_facts.append((e.event_id, e.uscc, metrics.HIGH_TECH_CERTIFICATIONS, e.certified_on))


def _listing(f: Folded, e: in_.ListedOnBoard) -> None:
    metric = metrics.LISTINGS_XJEE if e.board == "XJEE" else metrics.LISTINGS_NEEQ
    f.enterprise_facts.append((e.event_id, e.uscc, metric, e.listed_on))


def _transfer(f: Folded, e: in_.BoardTransferred) -> None:
    f.enterprise_facts.append((e.event_id, e.uscc, metrics.BOARD_TRANSFERS, e.transferred_on))


def _incubator(f: Folded, e: in_.IncubatorRegistered) -> None:
    pref = prefecture_of(e.division_code)
    f.carriers.append((e.incubator_id, "incubator", e.level, e.division_code, pref, e.recognized_on, e.event_id))


def _platform(f: Folded, e: in_.ServicePlatformRegistered) -> None:
    pref = prefecture_of(e.division_code)
    f.carriers.append((e.platform_id, "service_platform", e.level, e.division_code, pref, e.recognized_on, e.event_id))


def _payout_issued(f: Folded, e: in_.PayoutIssued) -> None:
    f.payouts_issued.append(
        (
            e.payout_id,
            e.enterprise_uscc,
            e.rule,
            e.recipient_role,
            e.amount_cny,
            e.basis_date,
            e.funding,
            e.top_up_of is not None,
        )
    )


def _payout_reversed(f: Folded, e: in_.PayoutReversed) -> None:
    f.payouts_reversed.append((e.payout_id, e.enterprise_uscc, e.rule, e.recipient_role, e.amount_cny))


def _disbursement_flow(f: Folded, e: MoneyFlow) -> None:
    if isinstance(e, in_.ClawbackRaised) and e.clawback_id.startswith(POLICY_RECOVERY):
        f.payout_recoveries.append((e.clawback_id, e.payout_id, e.amount_cny))
    kind, on = DISBURSEMENT_FLOWS[type(e)](e)
    f.disbursement_flows.append((e.event_id, kind, e.payout_id, e.enterprise_uscc, on, e.amount_cny))


# Reporting's handler table: each event type it counts, and what it adds.
FOLDERS: dict[type, Callable[[Folded, Any], None]] = {
    in_.EnterpriseRegistered: _enterprise,
    in_.EmploymentReported: _employment,
    in_.EnterpriseAdmitted: _admission,
    in_.EnterpriseGraduated: _graduation,
    in_.HighTechCertified: _certification,
    in_.ListedOnBoard: _listing,
    in_.BoardTransferred: _transfer,
    in_.IncubatorRegistered: _incubator,
    in_.ServicePlatformRegistered: _platform,
    in_.PayoutIssued: _payout_issued,
    in_.PayoutReversed: _payout_reversed,
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
    """(daily, monthly) increments per prefecture. The region's figure is the sum of every
    prefecture's at read time (a handful of rows per metric), not a row of its own that
    every increment would write twice."""
    daily: Counter[CounterKey] = Counter()
    monthly: Counter[CounterKey] = Counter()
    for (metric, cohort, pref, day), v in counters.items():
        if v:
            daily[(metric, cohort, pref, day)] = v
            monthly[(metric, cohort, pref, day.replace(day=1))] += v
    return daily, monthly
