"""Due dates: notification, then every six calendar months, end-of-month safe (D8222-5 C. trav.)."""

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.compliance.rules import (
    add_months,
    contract_ended,
    current_due_date,
    due_dates,
    next_due_date,
)

D = date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2027, 8, 31), 6, D(2028, 2, 29)),  # leap year
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2026, 3, 31), 6, D(2026, 9, 30)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 10, 31), 6, D(2027, 4, 30)),
        (D(2026, 8, 30), 6, D(2027, 2, 28)),
        (D(2027, 8, 30), 6, D(2028, 2, 29)),
        (D(2027, 8, 29), 6, D(2028, 2, 29)),
        (D(2026, 8, 29), 6, D(2027, 2, 28)),
        (D(2028, 2, 29), 6, D(2028, 8, 29)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
        (D(2026, 2, 28), 6, D(2026, 8, 28)),  # not snapped to month end
        (D(2026, 7, 15), 6, D(2027, 1, 15)),  # year rollover
        (D(2026, 12, 31), 0, D(2026, 12, 31)),
        (D(2026, 1, 15), -1, D(2025, 12, 15)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2400, 12, 31)), st.integers(-1200, 1200))
def test_add_months_properties(day: date, months: int) -> None:
    result = add_months(day, months)
    # Lands in the right month…
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    # …on the same day, or the last day of a shorter month.
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(day.day, last)


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2400, 12, 31)), st.integers(0, 600))
def test_add_months_is_monotonic(day: date, months: int) -> None:
    assert add_months(day, months) <= add_months(day, months + 1)
    if months:
        assert add_months(day, months) > day


def test_due_dates_are_computed_from_notification_not_chained() -> None:
    dates = due_dates(D(2026, 8, 31), D(2028, 12, 31))
    assert dates == [
        D(2026, 8, 31),
        D(2027, 2, 28),
        D(2027, 8, 31),  # chaining would give 28 Aug
        D(2028, 2, 29),  # leap year
        D(2028, 8, 31),
    ]


def test_due_dates_month_end_31_march() -> None:
    assert due_dates(D(2026, 3, 31), D(2027, 12, 31)) == [
        D(2026, 3, 31),
        D(2026, 9, 30),
        D(2027, 3, 31),
        D(2027, 9, 30),
    ]


def test_due_dates_from_29_february() -> None:
    assert due_dates(D(2028, 2, 29), D(2030, 1, 1)) == [
        D(2028, 2, 29),
        D(2028, 8, 29),
        D(2029, 2, 28),
        D(2029, 8, 29),
    ]


def test_due_on_the_end_day_is_not_due() -> None:
    # Twelve months computed as notification + 12 months: no check on the last day.
    assert due_dates(D(2026, 1, 15), D(2027, 1, 15)) == [D(2026, 1, 15), D(2026, 7, 15)]
    # One day longer: the third check is due.
    assert due_dates(D(2026, 1, 15), D(2027, 1, 16))[-1] == D(2027, 1, 15)


def test_notification_is_always_due() -> None:
    assert due_dates(D(2026, 5, 4), D(2026, 5, 4)) == [D(2026, 5, 4)]
    assert due_dates(D(2026, 5, 4), D(2026, 6, 1)) == [D(2026, 5, 4)]


def test_end_before_notification_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        due_dates(D(2026, 5, 4), D(2026, 5, 3))
    with pytest.raises(ValueError):
        next_due_date(D(2026, 5, 4), D(2026, 5, 3), D(2026, 5, 4))
    with pytest.raises(ValueError):
        current_due_date(D(2026, 5, 4), D(2026, 5, 3), D(2026, 5, 4))


def test_due_dates_up_to_today_for_catch_up() -> None:
    notified, ends = D(2025, 1, 10), D(2030, 1, 1)
    assert due_dates(notified, ends, today=D(2026, 3, 1)) == [
        D(2025, 1, 10),
        D(2025, 7, 10),
        D(2026, 1, 10),
    ]
    assert due_dates(notified, ends, today=D(2026, 1, 10))[-1] == D(2026, 1, 10)
    assert due_dates(notified, ends, today=D(2025, 1, 9)) == []


def test_open_ended_contract_needs_today() -> None:
    with pytest.raises(ValueError, match="today"):
        due_dates(D(2026, 1, 1), None)
    assert due_dates(D(2026, 1, 1), None, today=D(2027, 1, 1)) == [
        D(2026, 1, 1),
        D(2026, 7, 1),
        D(2027, 1, 1),
    ]
    assert next_due_date(D(2026, 1, 1), None, D(2040, 1, 1)) == D(2040, 7, 1)


def test_amendment_extending_the_end_extends_the_schedule() -> None:
    notified = D(2026, 8, 31)
    before = due_dates(notified, D(2027, 6, 30))
    after = due_dates(notified, D(2028, 6, 30))
    assert before == [D(2026, 8, 31), D(2027, 2, 28)]
    assert after[: len(before)] == before  # the past does not move
    assert after[len(before) :] == [D(2027, 8, 31), D(2028, 2, 29)]
    assert next_due_date(notified, D(2027, 6, 30), D(2027, 2, 28)) is None
    assert next_due_date(notified, D(2028, 6, 30), D(2027, 2, 28)) == D(2027, 8, 31)


def test_amendment_shortening_the_end_drops_later_dates() -> None:
    notified = D(2026, 1, 31)
    assert due_dates(notified, D(2028, 1, 1)) == [
        D(2026, 1, 31),
        D(2026, 7, 31),
        D(2027, 1, 31),
        D(2027, 7, 31),
    ]
    assert due_dates(notified, D(2027, 1, 31)) == [D(2026, 1, 31), D(2026, 7, 31)]
    assert next_due_date(notified, D(2027, 1, 31), D(2026, 7, 31)) is None


def test_next_due_date() -> None:
    notified, ends = D(2026, 8, 31), D(2029, 1, 1)
    assert next_due_date(notified, ends, D(2026, 1, 1)) == D(2026, 8, 31)  # before notification
    assert next_due_date(notified, ends, D(2026, 8, 30)) == D(2026, 8, 31)
    assert next_due_date(notified, ends, D(2026, 8, 31)) == D(2027, 2, 28)  # strictly after
    assert next_due_date(notified, ends, D(2027, 2, 27)) == D(2027, 2, 28)
    assert next_due_date(notified, ends, D(2027, 2, 28)) == D(2027, 8, 31)
    assert next_due_date(notified, ends, D(2028, 3, 1)) == D(2028, 8, 31)


def test_ended_contract_has_no_next_due_date() -> None:
    notified, ends = D(2024, 1, 1), D(2025, 1, 1)
    assert next_due_date(notified, ends, D(2024, 7, 1)) is None
    assert next_due_date(notified, ends, D(2025, 1, 1)) is None
    assert next_due_date(notified, ends, D(2031, 5, 5)) is None
    assert contract_ended(ends, D(2025, 1, 2))
    assert not contract_ended(ends, D(2025, 1, 1))  # still in execution on its last day
    assert not contract_ended(None, D(2099, 1, 1))


def test_current_due_date() -> None:
    notified, ends = D(2026, 8, 31), D(2028, 12, 31)
    assert current_due_date(notified, ends, D(2026, 8, 30)) is None
    assert current_due_date(notified, ends, D(2026, 8, 31)) == D(2026, 8, 31)
    assert current_due_date(notified, ends, D(2027, 2, 27)) == D(2026, 8, 31)
    assert current_due_date(notified, ends, D(2027, 2, 28)) == D(2027, 2, 28)
    assert current_due_date(notified, ends, D(2028, 3, 1)) == D(2028, 2, 29)


def test_current_due_date_after_the_end_is_the_last_one() -> None:
    notified, ends = D(2020, 3, 31), D(2021, 3, 31)
    assert current_due_date(notified, ends, D(2021, 3, 31)) == D(2020, 9, 30)
    assert current_due_date(notified, ends, D(2026, 6, 1)) == D(2020, 9, 30)
    same_day = D(2026, 5, 4)
    assert current_due_date(same_day, same_day, D(2027, 1, 1)) == same_day


dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31))


@given(dates, st.integers(0, 4000), st.integers(0, 5000))
def test_schedule_properties(notified: date, length: int, offset: int) -> None:
    ends = notified + timedelta(days=length)
    today = notified + timedelta(days=offset - 200)
    schedule = due_dates(notified, ends)
    assert schedule[0] == notified
    assert schedule == sorted(set(schedule))
    assert all(day < ends for day in schedule[1:])
    assert schedule == [add_months(notified, 6 * k) for k in range(len(schedule))]
    # The date after the last one is past the end.
    assert add_months(notified, 6 * len(schedule)) >= ends
    # next/current agree with the full list.
    upcoming = [day for day in schedule if day > today]
    assert next_due_date(notified, ends, today) == (upcoming[0] if upcoming else None)
    passed = [day for day in schedule if day <= today]
    assert current_due_date(notified, ends, today) == (passed[-1] if passed else None)
    assert due_dates(notified, ends, today=today) == passed


@given(dates, st.integers(0, 3000), st.integers(1, 3000))
def test_extending_never_removes_a_due_date(notified: date, length: int, extra: int) -> None:
    ends = notified + timedelta(days=length)
    shorter = due_dates(notified, ends)
    longer = due_dates(notified, ends + timedelta(days=extra))
    assert longer[: len(shorter)] == shorter
