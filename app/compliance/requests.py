"""Requests to the contractor: the recorded proof that it was asked for its documents.

The grace period of a missing or expired document runs from the day the contractor was asked
(DOMAIN.md: "a required document still missing after the grace period that runs from the recorded
request"), so a supplier is never `non_compliant` for a document nobody asked for. Each request is
kept (who, when, how) in `compliance_requests`, mirrored in the archive's journal, and stamps
`requested_on` on the requirements it covers that are not in order and not yet asked for.
"""

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.evaluation import today_in_paris
from app.compliance.models import ComplianceRequest, RequestChannel, RequirementState
from app.compliance.rules import RequirementStatus, RequirementType
from app.documents.journal import append_journal

KIND_REQUEST_RECORDED = "compliance.request_recorded"
IN_ORDER = frozenset({RequirementStatus.VALID})


async def record_request(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    supplier_id: uuid.UUID,
    *,
    channel: RequestChannel,
    by: str | None,
    note: str | None = None,
    requirements: list[RequirementType] | None = None,
    now: datetime | None = None,
) -> ComplianceRequest:
    """Record that the contractor was asked; start the grace period of what it was asked for."""
    now = now or utcnow()
    request = ComplianceRequest(
        buyer_id=buyer_id,
        supplier_id=supplier_id,
        requirements=[r.value for r in requirements or []],
        channel=channel,
        by=by,
        note=note,
        at=now,
    )
    session.add(request)
    query = select(RequirementState).where(
        RequirementState.buyer_id == buyer_id,
        RequirementState.supplier_id == supplier_id,
        col(RequirementState.active),
    )
    if requirements:
        query = query.where(col(RequirementState.requirement).in_(requirements))
    for row in (await session.exec(query)).all():
        if row.requested_on is None and row.status not in IN_ORDER:
            row.requested_on = today_in_paris(now)
            session.add(row)
    await session.flush()
    await append_journal(
        session,
        KIND_REQUEST_RECORDED,
        f"supplier:{supplier_id}",
        {
            "buyer_id": str(buyer_id),
            "supplier_id": str(supplier_id),
            "request_id": str(request.id),
            "channel": channel.value,
            "by": by,
            "requirements": request.requirements,
            "at": now.isoformat(),
        },
    )
    return request


async def list_requests(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> list[ComplianceRequest]:
    query = select(ComplianceRequest).where(
        ComplianceRequest.buyer_id == buyer_id, ComplianceRequest.supplier_id == supplier_id
    )
    return list((await session.exec(query.order_by(col(ComplianceRequest.at)))).all())
