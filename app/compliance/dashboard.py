"""The dashboard's figures for one buyer: suppliers by overall status, what falls due over the
next twelve months, the most urgent gaps and the problems on Vigie's side. One query over the
buyer's active requirement rows; the grading is the rules' own (`overall_status`,
`grade_requirement`), so the dashboard never disagrees with the API."""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import BuyerToken
from app.common import utcnow
from app.compliance.evaluation import result_from_row, today_in_paris
from app.compliance.models import RequirementState
from app.compliance.rules import (
    CompliancePolicy,
    OverallStatus,
    RequirementResult,
    RequirementStatus,
    RequirementType,
    grade_requirement,
    overall_status,
)
from app.compliance.rules.calendar import add_months
from app.suppliers.models import Supplier

URGENT = 5
# The worst first; at equal grade, the gap that turns (or turned) non-compliant soonest.
_GRADE_ORDER = {
    OverallStatus.NON_COMPLIANT: 0,
    OverallStatus.AT_RISK: 1,
    OverallStatus.NOT_CHECKED: 2,
    OverallStatus.COMPLIANT: 3,
}


@dataclass(frozen=True)
class UrgentGap:
    siren: str | None
    supplier_key: str  # the SIREN, or the foreign id: what /fournisseurs/{…} takes
    supplier_name: str | None
    requirement: RequirementType
    status: RequirementStatus
    grade: OverallStatus
    non_compliant_on: date | None
    reason: str | None


@dataclass(frozen=True)
class Month:
    first_day: date
    checks_due: int
    certificates_expiring: int


@dataclass
class Dashboard:
    today: date
    by_status: dict[OverallStatus, int]
    months: list[Month]
    urgent: list[UrgentGap]
    failed_checks: int
    token_expires_at: date | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def suppliers(self) -> int:
        return sum(self.by_status.values())


def _supplier_key(supplier: Supplier) -> str:
    return supplier.siren or supplier.foreign_id or str(supplier.id)


async def buyer_dashboard(
    session: AsyncSession, buyer_id: uuid.UUID, *, policy: CompliancePolicy
) -> Dashboard:
    query = (
        select(RequirementState, Supplier)
        .join(Supplier, col(Supplier.id) == RequirementState.supplier_id)
        .where(RequirementState.buyer_id == buyer_id, col(RequirementState.active))
    )
    rows = list((await session.exec(query)).all())
    today = today_in_paris(utcnow())
    per_supplier: dict[uuid.UUID, list[RequirementResult]] = defaultdict(list)
    suppliers: dict[uuid.UUID, Supplier] = {}
    gaps: list[tuple[tuple[int, date, str], UrgentGap]] = []
    horizon = [add_months(today.replace(day=1), i) for i in range(13)]
    due: Counter[date] = Counter()
    expiring: Counter[date] = Counter()
    failed = 0
    for row, supplier in rows:
        result = result_from_row(row.status, row.reasons, row.valid_until, policy)
        per_supplier[supplier.id].append(result)
        suppliers[supplier.id] = supplier
        if row.alert:
            failed += 1
        if row.next_due_at is not None:
            day = today_in_paris(row.next_due_at)
            due[max(day, today).replace(day=1)] += 1
        if row.valid_until is not None and row.valid_until >= today:
            expiring[row.valid_until.replace(day=1)] += 1
        if row.status is None or result.status is RequirementStatus.VALID:
            continue
        grade = grade_requirement(result, today=today, policy=policy)
        if grade.status is OverallStatus.COMPLIANT:
            continue
        deadline = result.non_compliant_on or date.max
        reason = result.reasons[0].message if result.reasons else None
        gap = UrgentGap(
            siren=supplier.siren,
            supplier_key=_supplier_key(supplier),
            supplier_name=supplier.name,
            requirement=RequirementType(row.requirement),
            status=result.status,
            grade=grade.status,
            non_compliant_on=result.non_compliant_on,
            reason=reason,
        )
        gaps.append(((_GRADE_ORDER[grade.status], deadline, gap.supplier_key), gap))
    by_status: Counter[OverallStatus] = Counter(
        overall_status(results, today=today, policy=policy).status
        for results in per_supplier.values()
    )
    gaps.sort(key=lambda pair: pair[0])
    months = [Month(first, due.get(first, 0), expiring.get(first, 0)) for first in horizon[:12]]
    token = await session.get(BuyerToken, buyer_id)
    board = Dashboard(
        today=today,
        by_status={s: by_status.get(s, 0) for s in OverallStatus},
        months=months,
        urgent=[gap for _, gap in gaps[:URGENT]],
        failed_checks=failed,
        token_expires_at=today_in_paris(token.expires_at) if token and token.expires_at else None,
    )
    return board
