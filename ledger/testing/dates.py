"""The user's calendar: where a run starts, and the calendar instants the clock aims at.

A rule that counts days of a year, or a month's length, is wrong only on
some dates: a 366-day denominator only for purchases in a leap year, an
"end of month" only where months end. Runs therefore start on such dates as
well as at `ledger.testing.clock.START` (hypothesis shrinks towards it), and
the clock aims at the month and year ends and leap days inside an order's
horizon, beside the durations its policy announces.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from ledger.testing.clock import START

__all__ = ["CALENDAR_STARTS", "calendar_instants", "start_instants"]

#: Starts that put a purchase next to the calendar's irregular days, START first
#: (a shrunk story starts there when the date does not matter): before and on a
#: leap day, at year ends (the one before a leap year among them), month ends
#: of 31, 30 and 28 days, and the last microsecond of a year.
CALENDAR_STARTS = (
    START,
    datetime(2028, 2, 27, 9, 0, tzinfo=UTC),
    datetime(2028, 2, 29, 0, 0, tzinfo=UTC),
    datetime(2027, 12, 31, 12, 0, tzinfo=UTC),
    datetime(2028, 1, 15, 9, 0, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    datetime(2027, 1, 31, 9, 0, tzinfo=UTC),
    datetime(2027, 2, 28, 12, 0, tzinfo=UTC),
    datetime(2026, 4, 30, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2028, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
EARLIEST = datetime(2024, 1, 1, tzinfo=UTC)
LATEST = datetime(2035, 12, 31, tzinfo=UTC)


def start_instants() -> st.SearchStrategy[datetime]:
    """Where a run's clock starts: one of `CALENDAR_STARTS` three times in four, else any
    instant of 2024–2035 (shrinking towards `START`)."""
    return _start()


@st.composite
def _start(draw: st.DrawFn) -> datetime:
    # An index states the odds (one_of leaves them to hypothesis) and shrinks to START.
    if draw(st.integers(0, 3)) < 3:
        return draw(st.sampled_from(CALENDAR_STARTS))
    anywhere = st.datetimes(
        min_value=EARLIEST.replace(tzinfo=None),
        max_value=LATEST.replace(tzinfo=None),
        timezones=st.just(UTC),
    )
    return draw(anywhere)


def calendar_instants(after: datetime, until: datetime) -> tuple[datetime, ...]:
    """The month starts (so month and year ends, 1 µs before) and leap days in ``(after, until]``.

    Midnight UTC, the ledger's calendar: credits are booked by UTC month.
    """
    found: list[datetime] = []
    year, month = after.year, after.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        first = datetime(year, month, 1, tzinfo=UTC)
        if first > until:
            break
        found.append(first)
    for year in range(after.year, until.year + 1):
        if calendar.isleap(year):
            leap_day = datetime(year, 2, 29, tzinfo=UTC)
            if after < leap_day <= until:
                found.append(leap_day)
    return tuple(sorted(found))


#: How far past an order's last announced boundary the calendar is aimed at.
HORIZON_PAST_BOUNDARIES = timedelta(days=1)
