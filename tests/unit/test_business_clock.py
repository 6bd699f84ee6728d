"""One business clock: the region's offices keep Beijing time, so 23:30 UTC is the next
day there — for an approval, a cancellation or a clawback alike."""

from datetime import UTC, date, datetime, timedelta, timezone

from services.awards.disbursement.adapters.payout_export import COLUMNS, _inert_row
from shared.contract.spreadsheet_safe import inert
from shared.process.clock import business_date


def test_the_business_date_turns_at_16_00_utc() -> None:
    assert business_date(datetime(2016, 10, 8, 15, 59, 59, tzinfo=UTC)) == date(2016, 10, 8)
    assert business_date(datetime(2016, 10, 8, 16, 0, tzinfo=UTC)) == date(2016, 10, 9)
    assert business_date(datetime(2016, 12, 31, 23, 30, tzinfo=UTC)) == date(2017, 1, 1)  # a clawback at 23:30 UTC
    urumqi = timezone(timedelta(hours=6))  # local solar time some offices use in speech
    assert business_date(datetime(2016, 10, 8, 22, 30, tzinfo=urumqi)) == date(2016, 10, 9)


def test_business_date_without_an_argument_is_now_in_the_region() -> None:
    before = business_date(datetime.now(UTC))
    now = business_date()
    assert now - before in (timedelta(0), timedelta(days=1))


def test_a_csv_cell_a_spreadsheet_would_run_is_written_as_inert_text() -> None:
    assert [inert(c) for c in ("=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "创业", 100_000, None)] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "创业",
        100_000,
        None,
    ]


def test_a_payout_row_is_made_inert_in_its_free_text_columns_only() -> None:
    row = {key: f"={key}" for key, _, _ in COLUMNS} | {"amount_cny": 100_000}
    made = dict(zip([key for key, _, _ in COLUMNS], _inert_row(row), strict=True))  # type: ignore[arg-type]
    assert {k for k, v in made.items() if isinstance(v, str) and v.startswith("'")} == {
        "recipient_name",
        "enterprise_name",
        "incubator_id",
        "explanation",
        "reversal_explanation",
    }
    assert made["amount_cny"] == 100_000
