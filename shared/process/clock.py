"""The region's business date: the offices keep Beijing time (Asia/Shanghai), so a fact,
an approval or a clawback at 23:30 UTC belongs to the next day there."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def business_date(at: datetime | None = None) -> date:
    """The date in the region's offices at `at` (an aware datetime; now when omitted)."""
    return (at or datetime.now(UTC)).astimezone(BUSINESS_TZ).date()
