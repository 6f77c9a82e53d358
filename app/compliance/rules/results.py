"""What the rules answer: a requirement's result, a supplier's overall result, and the day a gap
becomes a non-compliance (the grace period after the recorded request to the contractor)."""

from datetime import date, timedelta
from typing import NamedTuple

from app.compliance.rules.codes import (
    BLOCKING_REASONS,
    OverallStatus,
    Reason,
    ReasonCode,
    RequirementStatus,
    RequirementType,
)
from app.compliance.rules.requirements import SECTOR_TYPES, CompliancePolicy

__all__ = ["OverallResult", "RequirementResult", "becomes_non_compliant_on"]

_DATED_GAPS = frozenset(
    {ReasonCode.DOCUMENT_EXPIRED, ReasonCode.DOCUMENT_MISSING, ReasonCode.NOT_CHECKED}
)
GAP_STATUSES = frozenset({RequirementStatus.EXPIRED, RequirementStatus.MISSING})


class RequirementResult(NamedTuple):
    """`non_compliant_on`: the first day this gap counts as a non-compliance (in the future while
    the grace period runs, in the past once it has run out); None when waiting cannot make it one
    (see `becomes_non_compliant_on`). Fields are positional, new ones last with a default."""

    status: RequirementStatus
    reasons: list[Reason]
    valid_until: date | None
    non_compliant_on: date | None = None

    @property
    def since(self) -> date | None:
        """When an `expired`/`missing` gap began (the grace period never starts before it)."""
        return next((r.since for r in self.reasons if r.code in _DATED_GAPS), None)

    @property
    def checked(self) -> bool:
        return not any(r.code == ReasonCode.NOT_CHECKED for r in self.reasons)

    @property
    def requirement(self) -> RequirementType | None:
        """The requirement its reasons are about (None for a plainly valid result)."""
        return next((r.requirement for r in self.reasons if r.requirement is not None), None)

    @property
    def requested_on(self) -> date | None:
        """The recorded request to the contractor for this gap (its `request_sent` reason)."""
        return next((r.since for r in self.reasons if r.code == ReasonCode.REQUEST_SENT), None)


class OverallResult(NamedTuple):
    """`non_compliant_on`: when the status is `at_risk`, the first day one of its requirements
    becomes non-compliant if nothing changes; None otherwise (compliant, not checked, already
    non-compliant, or at risk for reasons that waiting does not worsen)."""

    status: OverallStatus
    reasons: list[Reason]
    non_compliant_on: date | None = None


def becomes_non_compliant_on(
    result: RequirementResult | tuple[RequirementStatus, list[Reason], date | None],
    *,
    policy: CompliancePolicy,
) -> date | None:
    """The first day an `expired`/`missing` requirement counts as non-compliant.

    The grace period (`policy.grace_days`) runs from the first recorded request to the contractor
    for the gap (the `request_sent` reason), and never before the gap itself began (its due date
    or first day of expiry): a request sent ahead of a due date (a reminder before the six-month
    check) gives the contractor the whole grace period after that date, so waiting never turns a
    due date into a non-compliance sooner than `grace_days` after it.
    None when waiting cannot make the requirement non-compliant: no recorded request (the buyer
    must first ask, DOMAIN.md), a failed check on Vigie's side (`check_failed`: not the supplier's
    doing), a sector certificate (never a cause of non-compliance), or a requirement that is not a
    gap or is already non-compliant for another cause (a refusal, a blocking fact).
    Derived from the status and reasons only, so a result read back from storage gives the same day.
    """
    result = RequirementResult(*result)
    codes = {r.code for r in result.reasons}
    requested = result.requested_on
    if (
        result.status not in GAP_STATUSES
        or requested is None
        or ReasonCode.CHECK_FAILED in codes
        or codes & BLOCKING_REASONS
        or result.requirement in SECTOR_TYPES
    ):
        return None
    start = max(requested, result.since or requested)
    return start + timedelta(days=policy.grace_days + 1)
