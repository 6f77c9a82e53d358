"""Calendar months, the one implementation of the project (due dates, validity, end of execution,
retention periods all count in months)."""

import calendar
from datetime import date

__all__ = ["add_months", "months_between"]


def add_months(day: date, months: int) -> date:
    """Calendar months, end-of-month safe: 31 Aug + 6 months = 28 (or 29) Feb."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from `start`'s month to `end`'s month (days ignored)."""
    return (end.year - start.year) * 12 + end.month - start.month
