"""The metric definitions of docs/contract/policy.md at their boundaries (pure)."""

from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting.domain.metric_definitions import (
    JOBS,
    RESIDENT_ENTERPRISES,
    RESIDENT_JOBS,
    Contributions,
    Report,
    diff,
    employment_steps,
    enterprise_contributions,
)
from services.reporting.domain.progress import milestone_date, period_of, window
from services.reporting.domain.projection import rollups
from shared.contract.divisions import is_prefecture, is_valid_on, prefecture_of

TODAY = date(2026, 11, 28)


def as_of(contributions: Contributions, metric: str, year: int, end: date) -> int:
    """The query the service runs, over plain values: cohort = year, day <= end."""
    return sum(v for (m, cohort, day), v in contributions.items() if m == metric and cohort == year and day <= end)


def test_window_defaults_and_milestones() -> None:
    assert window(2015, as_of=None, today=TODAY).end == date(2015, 12, 31)
    assert window(2026, as_of=None, today=TODAY).end == TODAY  # the current year runs to today
    assert window(2015, as_of=date(2016, 3, 1), today=TODAY).end == date(2015, 12, 31)
    assert milestone_date(2015, "mid_term") == date(2015, 7, 31)
    assert milestone_date(2015, "annual") == date(2015, 11, 30)
    with pytest.raises(ValueError, match="before the start of 2015"):
        window(2015, as_of=date(2014, 12, 31), today=TODAY)


def test_jobs_count_from_registration_and_follow_the_latest_report_by_business_date() -> None:
    reports = [
        Report(date(2015, 3, 1), 10, 0, "reg"),
        Report(date(2015, 9, 1), 25, 1, "b"),  # arrives first, dated later
        Report(date(2015, 6, 1), 15, 1, "a"),
    ]
    c = enterprise_contributions(registered_on=date(2015, 3, 1), reports=reports, admissions=[])
    assert as_of(c, JOBS, 2015, date(2015, 2, 28)) == 0  # not registered yet
    assert as_of(c, JOBS, 2015, date(2015, 3, 1)) == 10  # window edge: registered that day
    assert as_of(c, JOBS, 2015, date(2015, 5, 31)) == 10
    assert as_of(c, JOBS, 2015, date(2015, 6, 1)) == 15
    assert as_of(c, JOBS, 2015, date(2015, 12, 31)) == 25
    assert as_of(c, JOBS, 2016, date(2016, 12, 31)) == 0  # cohort is the registration year


def test_registration_on_31_december_counts_for_that_year_only() -> None:
    c = enterprise_contributions(
        registered_on=date(2015, 12, 31), reports=[Report(date(2015, 12, 31), 4, 0, "r")], admissions=[]
    )
    assert as_of(c, JOBS, 2015, date(2015, 12, 30)) == 0
    assert as_of(c, JOBS, 2015, date(2015, 12, 31)) == 4


def test_a_report_dated_before_registration_is_superseded_by_the_registration() -> None:
    reports = [Report(date(2015, 1, 5), 99, 1, "early"), Report(date(2015, 2, 1), 7, 0, "reg")]
    assert employment_steps(reports) == [(date(2015, 1, 5), 99), (date(2015, 2, 1), -92)]
    c = enterprise_contributions(registered_on=date(2015, 2, 1), reports=reports, admissions=[])
    assert as_of(c, JOBS, 2015, date(2015, 1, 31)) == 0
    assert as_of(c, JOBS, 2015, date(2015, 2, 1)) == 7


def test_resident_enterprises_and_jobs_from_the_first_admission_in_the_year() -> None:
    reports = [Report(date(2014, 5, 1), 8, 0, "reg"), Report(date(2015, 8, 1), 12, 1, "x")]
    admissions = [date(2015, 7, 1), date(2015, 10, 1), date(2016, 2, 1)]
    c = enterprise_contributions(registered_on=date(2014, 5, 1), reports=reports, admissions=admissions)
    assert as_of(c, RESIDENT_ENTERPRISES, 2015, date(2015, 6, 30)) == 0
    assert as_of(c, RESIDENT_ENTERPRISES, 2015, date(2015, 7, 1)) == 1
    assert as_of(c, RESIDENT_ENTERPRISES, 2015, date(2015, 12, 31)) == 1  # distinct enterprises
    assert as_of(c, RESIDENT_JOBS, 2015, date(2015, 7, 31)) == 8  # the mid-term check
    assert as_of(c, RESIDENT_JOBS, 2015, date(2015, 11, 30)) == 12  # the annual summary
    assert as_of(c, RESIDENT_ENTERPRISES, 2016, date(2016, 12, 31)) == 1
    assert as_of(c, JOBS, 2015, date(2015, 12, 31)) == 0  # registered in 2014: a 2014 enterprise


def test_college_student_period_runs_2015_to_2017() -> None:
    w2017 = window(2017, as_of=date(2017, 7, 31), today=TODAY)
    assert period_of("college_student_founders", w2017) == (date(2015, 1, 1), date(2017, 7, 31))
    w2018 = window(2018, as_of=None, today=TODAY)
    assert period_of("college_student_founders", w2018) == (date(2015, 1, 1), date(2017, 12, 31))
    assert period_of("new_enterprises", w2017) == (date(2017, 1, 1), date(2017, 7, 31))


def test_predecessor_division_codes_roll_up_to_the_same_prefecture() -> None:
    assert prefecture_of("652101") == prefecture_of("650402") == "650400"  # 吐鲁番地区 -> 吐鲁番市
    assert prefecture_of("652201") == prefecture_of("650502") == "650500"  # 哈密地区 -> 哈密市
    assert prefecture_of("659001") == "659001" and not is_prefecture("659001")
    assert is_valid_on("652100", date(2015, 2, 1)) and not is_valid_on("650400", date(2015, 2, 1))
    assert is_valid_on("650400", date(2015, 3, 1))
    assert is_valid_on("652200", date(2016, 6, 1)) and is_valid_on("650500", date(2016, 12, 1))
    assert not is_valid_on("110101", date(2015, 6, 1)) and not is_valid_on("650000", date(2015, 6, 1))


reports_st = st.lists(st.tuples(st.integers(0, 900), st.integers(0, 500)), min_size=0, max_size=5)


@settings(max_examples=200, deadline=None)
@given(reports=reports_st, admissions=st.lists(st.integers(0, 900), max_size=3), data=st.data())
def test_incremental_recompute_in_any_order_equals_the_whole(
    reports: list[tuple[int, int]], admissions: list[int], data: st.DataObject
) -> None:
    """What the projection does per event (recompute, diff, add) lands where a single
    computation over the whole set lands, for any arrival order and duplication."""
    base = date(2015, 1, 1)
    registered = base
    facts: list[tuple[str, int, int, str]] = [("reg", 0, 10, "reg")]
    facts += [("report", d, n, f"r{i}") for i, (d, n) in enumerate(reports)]
    facts += [("admit", d, 0, f"a{i}") for i, d in enumerate(admissions)]
    stream = data.draw(st.permutations(facts + data.draw(st.lists(st.sampled_from(facts), max_size=3))))

    def contributions(seen: list[tuple[str, int, int, str]]) -> Contributions:
        from datetime import timedelta

        has_reg = any(k == "reg" for k, *_ in seen)
        rs = [Report(base + timedelta(days=d), n, 0 if k == "reg" else 1, t) for k, d, n, t in seen if k != "admit"]
        adm = [base + timedelta(days=d) for k, d, _, _ in seen if k == "admit"]
        return enterprise_contributions(registered_on=registered if has_reg else None, reports=rs, admissions=adm)

    aggregate: Counter[tuple[str, int, date]] = Counter()
    seen: list[tuple[str, int, int, str]] = []
    current: Contributions = Counter()
    for fact in stream:
        if fact in seen:
            continue
        seen.append(fact)
        new = contributions(seen)
        aggregate.update(diff(current, new))
        current = new
    whole = contributions(facts)
    assert {k: v for k, v in aggregate.items() if v} == dict(whole)


def test_rollups_write_each_prefecture_once_and_no_region_row() -> None:
    counters: Counter[tuple[str, int, str, date]] = Counter(
        {
            ("jobs", 2015, "650100", date(2015, 5, 4)): 7,
            ("jobs", 2015, "650100", date(2015, 5, 20)): -2,
            ("jobs", 2015, "650400", date(2015, 5, 4)): 3,
            ("new_enterprises", 2015, "000000", date(2015, 6, 1)): 1,
            ("jobs", 2015, "650100", date(2015, 6, 1)): 0,  # moved and moved back: nothing to write
        }
    )
    daily, monthly = rollups(counters)
    assert daily == {
        ("jobs", 2015, "650100", date(2015, 5, 4)): 7,
        ("jobs", 2015, "650100", date(2015, 5, 20)): -2,
        ("jobs", 2015, "650400", date(2015, 5, 4)): 3,
        ("new_enterprises", 2015, "000000", date(2015, 6, 1)): 1,
    }
    assert monthly == {
        ("jobs", 2015, "650100", date(2015, 5, 1)): 5,
        ("jobs", 2015, "650400", date(2015, 5, 1)): 3,
        ("new_enterprises", 2015, "000000", date(2015, 6, 1)): 1,
    }
