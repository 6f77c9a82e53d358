"""When a holder must be checked: at notification, then every six months until execution ends.

L8222-1 C. trav. asks for the check "lors de la conclusion" and "périodiquement jusqu'à la fin de
son exécution"; D8222-5 (French holder) and D8222-7 (foreign holder) fix the period at six months.

Every due date is computed from the notification date, `add_months(notified_on, 6 * k)`, never by
chaining (31 Aug → 28 Feb → 31 Aug, not 31 Aug → 28 Feb → 28 Aug). An amendment that moves
`ends_on` simply changes the bound, so the schedule follows without any state of its own.

Decision on the last day: a due date that falls on or after `ends_on` is not due. The contract is
still in execution on `ends_on`, but a check on its last day protects nothing that the previous
check did not (it covered the six months up to that day), and contracts whose end is computed as
notification + N×6 months would otherwise get a pointless check on their last day. The notification
date itself is always due, even for a contract that starts and ends on the same day.
"""

from datetime import date, timedelta

from app.compliance.rules.calendar import add_months, months_between

__all__ = [
    "CHECK_PERIOD_MONTHS",
    "add_months",
    "contract_ended",
    "current_due_date",
    "due_dates",
    "next_due_date",
]

CHECK_PERIOD_MONTHS = 6  # D8222-5 / D8222-7 C. trav.: "tous les six mois"


def _due(notified_on: date, k: int) -> date:
    return add_months(notified_on, CHECK_PERIOD_MONTHS * k)


def _check_bounds(notified_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < notified_on:
        raise ValueError(f"ends_on {ends_on} is before notified_on {notified_on}")


def _is_due(notified_on: date, ends_on: date | None, day: date) -> bool:
    return day == notified_on or ends_on is None or day < ends_on


def _first_index_after(notified_on: date, day: date) -> int:
    """A k such that every due date of index < k is on or before `day` (a safe start)."""
    months = months_between(notified_on, day)
    return max(0, months // CHECK_PERIOD_MONTHS - 1)


def due_dates(notified_on: date, ends_on: date | None, *, today: date | None = None) -> list[date]:
    """Every due date of a contract, in order.

    `ends_on=None` means the end is unknown (open-ended): then `today` is required and bounds the
    list. With `today`, only the dates on or before it are returned (the checks that should have
    happened by now, so that a check missed while the service was down is caught up).
    """
    _check_bounds(notified_on, ends_on)
    if ends_on is None and today is None:
        raise ValueError("an open-ended contract needs `today` to bound its schedule")
    dates: list[date] = []
    k = 0
    while True:
        day = _due(notified_on, k)
        if not _is_due(notified_on, ends_on, day) or (today is not None and day > today):
            return dates
        dates.append(day)
        k += 1


def next_due_date(notified_on: date, ends_on: date | None, after: date) -> date | None:
    """The first due date strictly after `after`, or None when the contract ends before it."""
    _check_bounds(notified_on, ends_on)
    k = _first_index_after(notified_on, after)
    while (day := _due(notified_on, k)) <= after:
        k += 1
    return day if _is_due(notified_on, ends_on, day) else None


def current_due_date(notified_on: date, ends_on: date | None, today: date) -> date | None:
    """The latest due date on or before `today` (the one the evidence must satisfy now).

    None before notification. After the end of the contract it stays the last due date: the
    contract keeps the status of its last check (its history), it is only no longer checked.
    """
    _check_bounds(notified_on, ends_on)
    if today < notified_on:
        return None
    if ends_on is not None and today >= ends_on:
        # Due dates are strictly before the end (the notification date excepted).
        today = max(notified_on, ends_on - timedelta(days=1))
    k = _first_index_after(notified_on, today)
    current = _due(notified_on, k)  # on or before today by construction
    while True:
        following = _due(notified_on, k + 1)
        if following > today or not _is_due(notified_on, ends_on, following):
            return current
        current, k = following, k + 1


def contract_ended(ends_on: date | None, today: date) -> bool:
    """True once execution is over (the day after `ends_on`): no more checks, history kept."""
    return ends_on is not None and today > ends_on
