"""Monthly trend points and the pace line."""

from datetime import date

from services.reporting.domain.progress import window
from services.reporting.domain.trends import month_ends, pace, target_period


def test_a_past_year_has_twelve_month_ends_with_the_milestones_among_them() -> None:
    ends = month_ends(window(2015, as_of=None, today=date(2026, 11, 29)))
    assert len(ends) == 12
    assert ends[1] == date(2015, 2, 28)
    assert ends[6] == date(2015, 7, 31) and ends[10] == date(2015, 11, 30)
    assert ends[-1] == date(2015, 12, 31)


def test_the_current_year_ends_today() -> None:
    ends = month_ends(window(2016, as_of=None, today=date(2016, 3, 15)))
    assert ends == [date(2016, 1, 31), date(2016, 2, 29), date(2016, 3, 15)]


def test_the_pace_line_runs_from_zero_on_new_year_to_the_target_on_new_years_eve() -> None:
    start, end = target_period("new_enterprises", 2015)
    assert (start, end) == (date(2015, 1, 1), date(2015, 12, 31))
    assert pace(3000, start, end, date(2015, 1, 1)) == 0.0
    assert pace(3000, start, end, date(2015, 12, 31)) == 3000.0
    assert pace(3640, start, end, date(2015, 7, 2)) == 1820.0  # day 182 of 364
    assert pace(None, start, end, date(2015, 7, 2)) is None


def test_the_college_student_line_spans_the_plans_three_years() -> None:
    start, end = target_period("college_student_founders", 2016)
    assert (start, end) == (date(2015, 1, 1), date(2017, 12, 31))
    assert pace(5000, start, end, date(2015, 12, 31)) == round(5000 * 364 / 1095, 1)
    assert pace(5000, start, end, date(2018, 6, 30)) == 5000.0
