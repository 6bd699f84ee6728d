"""Incubation stints from admissions and graduations, and the window rule (docs/contract/policy.md#award-rules)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from services.awards.ledger.domain.facts import Admission, Graduation


@dataclass(frozen=True, slots=True)
class Stint:
    admission: Admission
    graduated_on: date | None

    @property
    def incubator_id(self) -> str:
        return self.admission.incubator_id

    @property
    def admitted_on(self) -> date:
        return self.admission.admitted_on


def add_years(d: date, years: int) -> date:
    """Calendar years; 29 February lands on 28 February (2016-02-29 + 1 = 2017-02-28)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def build_stints(admissions: frozenset[Admission], graduations: frozenset[Graduation]) -> list[Stint]:
    """Each graduation closes the latest still-open admission to the same incubator that
    precedes it; sorting first makes the result independent of arrival order."""
    closed: dict[Admission, date] = {}
    by_incubator: dict[str, list[Admission]] = defaultdict(list)
    for a in sorted(admissions, key=lambda a: (a.admitted_on, a.event_id)):
        by_incubator[a.incubator_id].append(a)
    for g in sorted(graduations, key=lambda g: (g.graduated_on, g.event_id)):
        candidates = [a for a in by_incubator[g.incubator_id] if a not in closed and a.admitted_on <= g.graduated_on]
        if candidates:
            closed[candidates[-1]] = g.graduated_on
    return [Stint(a, closed.get(a)) for ss in by_incubator.values() for a in ss]


def window_end(stint: Stint, years: int) -> date | None:
    return None if stint.graduated_on is None else add_years(stint.graduated_on, years)


def qualifies(stint: Stint, on: date, years: int) -> bool:
    end = window_end(stint, years)
    return stint.admitted_on <= on and (end is None or on <= end)


def qualifying_stint(stints: list[Stint], on: date, years: int) -> Stint | None:
    """The qualifying stint with the latest admission (ties: the larger incubator id)."""
    matches = [s for s in stints if qualifies(s, on, years)]
    return max(matches, key=lambda s: (s.admitted_on, s.incubator_id, s.admission.event_id), default=None)


def latest_started_before(stints: list[Stint], on: date) -> Stint | None:
    started = [s for s in stints if s.admitted_on <= on]
    return max(started, key=lambda s: (s.admitted_on, s.incubator_id, s.admission.event_id), default=None)
