"""The reporting metrics (docs/contract/policy.md#targets) as pure definitions over business dates.

Every metric is kept as additive daily contributions `(metric, cohort, day) -> value`,
so "as of E" for year Y is a sum over `cohort = Y, day <= E`: arrival order never
matters, and a late fact only moves the contributions of its own enterprise.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

NEW_ENTERPRISES: Final = "new_enterprises"
JOBS: Final = "jobs"
REGION_BASES: Final = "region_bases"
SERVICE_PLATFORMS: Final = "service_platforms"
RESIDENT_ENTERPRISES: Final = "resident_enterprises"
RESIDENT_JOBS: Final = "resident_jobs"
COLLEGE_STUDENT_FOUNDERS: Final = "college_student_founders"
PREFECTURES_WITH_BASE: Final = "prefectures_with_base"

# Untargeted counters.
HIGH_TECH_CERTIFICATIONS: Final = "high_tech_certifications"
LISTINGS_XJEE: Final = "listings_xjee"
LISTINGS_NEEQ: Final = "listings_neeq"
BOARD_TRANSFERS: Final = "board_transfers"
GRADUATIONS: Final = "graduations"

LABELS_ZH: Final[dict[str, str]] = {
    NEW_ENTERPRISES: "新增小微企业",
    JOBS: "带动就业",
    REGION_BASES: "自治区小企业创业基地(孵化器)",
    SERVICE_PLATFORMS: "创业指导服务平台",
    RESIDENT_ENTERPRISES: "入住企业",
    RESIDENT_JOBS: "入住企业带动就业",
    COLLEGE_STUDENT_FOUNDERS: "大学生创业 (2015–2017)",
    PREFECTURES_WITH_BASE: "各地州市至少一个创业基地",
}
TARGETED: Final = tuple(LABELS_ZH)

# The college-student target covers the plan's whole period, not one year.
COLLEGE_PERIOD: Final = (date(2015, 1, 1), date(2017, 12, 31))

Contributions = dict[tuple[str, int, date], int]  # (metric, cohort, day) -> value, no zeros


@dataclass(frozen=True, slots=True)
class Report:
    """One employee-count report; registration is the first (rank 0)."""

    on: date
    employees: int
    rank: int
    tiebreak: str


def employment_steps(reports: list[Report]) -> list[tuple[date, int]]:
    """The employee count as a step function: (date, change) in date order. The latest
    report by business date wins, never the latest to arrive."""
    steps: list[tuple[date, int]] = []
    previous = 0
    for r in sorted(reports, key=lambda r: (r.on, r.rank, r.tiebreak)):
        if r.employees != previous:
            steps.append((r.on, r.employees - previous))
            previous = r.employees
    return steps


def enterprise_contributions(
    *,
    registered_on: date | None,
    reports: list[Report],
    admissions: list[date],
    founders: int = 0,
    dated_facts: Sequence[tuple[str, date]] = (),
) -> Contributions:
    """Everything one enterprise contributes, from the set of its facts.

    new_enterprises and college founders count on the registration date; jobs (cohort =
    registration year) counts the employee steps from the registration date on; resident
    metrics (cohort = each year with an admission) count from the first admission of that
    year on; certifications, listings, transfers and graduations count on their dates.
    """
    out: Contributions = {}

    def count(metric: str, cohort: int, on: date, value: int = 1) -> None:
        out[(metric, cohort, on)] = out.get((metric, cohort, on), 0) + value

    for metric, on in dated_facts:
        count(metric, on.year, on)
    if registered_on is not None:
        count(NEW_ENTERPRISES, registered_on.year, registered_on)
        count(COLLEGE_STUDENT_FOUNDERS, registered_on.year, registered_on, founders)
        steps = employment_steps(reports)
        for on, delta in steps:
            count(JOBS, registered_on.year, max(on, registered_on), delta)
        first_each_year = {a.year: a for a in sorted(admissions, reverse=True)}  # the earliest wins
        for year, first in sorted(first_each_year.items()):
            count(RESIDENT_ENTERPRISES, year, first)
            for on, delta in steps:
                count(RESIDENT_JOBS, year, max(on, first), delta)
    return {k: v for k, v in out.items() if v != 0}


def diff(old: Contributions, new: Contributions) -> Contributions:
    changes: Contributions = {}
    for key in old.keys() | new.keys():
        delta = new.get(key, 0) - old.get(key, 0)
        if delta:
            changes[key] = delta
    return changes
