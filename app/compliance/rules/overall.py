"""From requirement statuses to the status of a supplier under a contract, and of a contract.

DOMAIN.md lists the only causes of `non_compliant` (the red flags): an issuer's refusal (URSSAF
`refus_de_delivrance`, L243-15 CSS), a ceased or struck-off company (D8222-5 2° C. trav.), a
liquidation judiciaire (L2141-3 C. commande publique), an uploaded document rejected, and a
required document still missing after the grace period that runs from the recorded request to
the contractor. Everything else is at most `at_risk`: what a source cannot deliver (absence is
not guilt), what Vigie failed to check (its failures are its own), sector certificates (not in
the D8222-5 list), and gaps nobody has asked the contractor to fill yet.
"""

from collections.abc import Iterable
from datetime import date

from app.compliance.rules.codes import (
    BLOCKING_REASONS,
    WARNING_REASONS,
    OverallStatus,
    Reason,
    RequirementStatus,
)
from app.compliance.rules.requirements import SECTOR_TYPES, CompliancePolicy
from app.compliance.rules.results import (
    GAP_STATUSES,
    OverallResult,
    RequirementResult,
    becomes_non_compliant_on,
)

__all__ = ["combine_statuses", "grade_requirement", "overall_status"]

S = RequirementStatus
_AT_RISK_STATUSES = frozenset(
    {S.EXPIRING, S.AWAITING_UPLOAD, S.UNDER_REVIEW, S.UPSTREAM_PENDING, S.REFUSED, S.REJECTED}
    | GAP_STATUSES
)
_RANK = {
    OverallStatus.COMPLIANT: 0,
    OverallStatus.NOT_CHECKED: 1,
    OverallStatus.AT_RISK: 2,
    OverallStatus.NON_COMPLIANT: 3,
}


def grade_requirement(
    result: RequirementResult | tuple[RequirementStatus, list[Reason], date | None],
    *,
    today: date,
    policy: CompliancePolicy,
) -> OverallResult:
    """What one requirement makes of its supplier, with the day it becomes non-compliant.

    - a blocking fact (ceased, struck off, liquidation): `non_compliant`, whatever else;
    - `refused` or `rejected`: `non_compliant`, except a sector certificate (`at_risk`); a refusal
      stays one when a later check failed on Vigie's side (it was evidenced before);
    - `expired`/`missing`: `non_compliant` from `becomes_non_compliant_on` (grace after the
      recorded request), `at_risk` until then or when that day cannot come;
    - `expiring`, `awaiting_upload`, `under_review`, `upstream_pending`, or a warning (collective
      proceedings): `at_risk`;
    - `valid`: `compliant`, whatever information it carries (`document_expired_between_checks`,
      `check_failed`, a request).
    """
    result = RequirementResult(*result)
    codes = {r.code for r in result.reasons}
    sector = result.requirement in SECTOR_TYPES
    deadline = becomes_non_compliant_on(result, policy=policy)
    if codes & BLOCKING_REASONS or (result.status in (S.REFUSED, S.REJECTED) and not sector):
        return OverallResult(OverallStatus.NON_COMPLIANT, result.reasons)
    if deadline is not None and today >= deadline:
        return OverallResult(OverallStatus.NON_COMPLIANT, result.reasons)
    if result.status in _AT_RISK_STATUSES or codes & WARNING_REASONS:
        return OverallResult(OverallStatus.AT_RISK, result.reasons, deadline)
    return OverallResult(OverallStatus.COMPLIANT, result.reasons)


def overall_status(
    requirements: Iterable[RequirementResult | tuple[RequirementStatus, list[Reason], date | None]],
    *,
    today: date,
    policy: CompliancePolicy | None = None,
) -> OverallResult:
    """The status of a supplier under a contract, from the results of its requirements.

    Each requirement is graded (`grade_requirement`), then the worst wins (`combine_statuses`):
    `non_compliant` only for the red flags of DOMAIN.md; `compliant` when every requirement is
    `valid` without warning; `not_checked` when no requirement has been checked yet (or there is
    none). Once one has, a requirement still never checked is a gap like any other (at risk until
    the contractor has been asked and the grace period has run out).
    Results read back from storage work as well: the grading uses the status and the reasons only
    (the requirement, the request and the gap's start are in the reasons).
    Reasons: every requirement's, the worst first; a compliant supplier keeps only information
    (a document that ended between two due dates, a failed check). `non_compliant_on`: when
    `at_risk`, the first day a requirement becomes non-compliant if nothing changes.
    """
    policy = policy or CompliancePolicy()
    results = [RequirementResult(*item) for item in requirements]
    if not any(result.checked for result in results):
        reasons = [reason for result in results for reason in result.reasons]
        return OverallResult(OverallStatus.NOT_CHECKED, _unique(reasons))
    return combine_statuses(grade_requirement(r, today=today, policy=policy) for r in results)


def combine_statuses(
    results: Iterable[
        OverallResult
        | tuple[OverallStatus, list[Reason]]
        | tuple[OverallStatus, list[Reason], date | None]
    ],
) -> OverallResult:
    """Worst wins: a contract over its holders (non_compliant > at_risk > not_checked > compliant).

    Reasons are concatenated, the worst results' first, without duplicates. No result at all is
    `not_checked`. `non_compliant_on`: the earliest of the `at_risk` results', when the combined
    status is `at_risk`.
    """
    items = sorted(
        (OverallResult(OverallStatus(item[0]), list(item[1]), *item[2:3]) for item in results),
        key=lambda item: -_RANK[item.status],
    )
    if not items:
        return OverallResult(OverallStatus.NOT_CHECKED, [])
    worst = items[0].status
    reasons = _unique(reason for item in items for reason in item.reasons)
    deadlines = [
        item.non_compliant_on
        for item in items
        if item.status is OverallStatus.AT_RISK and item.non_compliant_on is not None
    ]
    deadline = min(deadlines) if worst is OverallStatus.AT_RISK and deadlines else None
    return OverallResult(worst, reasons, deadline)


def _unique(reasons: Iterable[Reason]) -> list[Reason]:
    return list(dict.fromkeys(reasons))
