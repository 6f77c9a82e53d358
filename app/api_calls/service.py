"""The API Entreprise call log: persist each `CallRecord`, purge past the retention period."""

import uuid
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api_calls.models import ApiCall
from app.buyers.models import Buyer
from app.common import utcnow
from app.compliance.rules.calendar import add_months
from app.db import SessionMaker, unit_of_work
from app.integrations.api_entreprise.outcomes import CallRecord

RETENTION_MONTHS = 36  # CGU API Entreprise: traces kept 36 months


def months_before(moment: datetime, months: int) -> datetime:
    """The same time of day `months` calendar months earlier (31 May - 3 months = 28 Feb)."""
    day = add_months(moment.date(), -months)
    return moment.replace(year=day.year, month=day.month, day=day.day)


async def add_call(
    session: AsyncSession, record: CallRecord, buyer_id: uuid.UUID | None
) -> ApiCall:
    row = ApiCall(
        called_at=record.when,
        buyer_id=buyer_id,
        endpoint=record.endpoint[:80],
        recipient=record.recipient[:14],
        object=record.object[:50],
        http_status=record.http_status,
        error_code=record.error_code[:20] if record.error_code else None,
        request_id=record.request_id[:100] if record.request_id else None,
        latency_ms=record.latency_ms,
        cached=record.cached,
        outcome=record.outcome,
    )
    session.add(row)
    await session.flush()
    return row


async def purge_calls(
    session: AsyncSession, *, months: int = RETENTION_MONTHS, now: datetime | None = None
) -> int:
    """Delete the calls older than `months` months; return how many went."""
    cutoff = months_before(now or utcnow(), months)
    result = await session.exec(delete(ApiCall).where(ApiCall.called_at < cutoff))  # type: ignore[arg-type]
    return int(result.rowcount or 0)


class ApiCallRecorder:
    """The `recorder` given to `ApiEntrepriseClient`: each call in its own short unit of work,
    so that the audit trail survives a check whose transaction rolls back.
    The buyer is found by its SIRET (the call's `recipient`)."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self.sessionmaker = sessionmaker
        self._buyers: dict[str, uuid.UUID | None] = {}

    async def __call__(self, record: CallRecord) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            buyer_id = await self._buyer_id(session, record.recipient)
            await add_call(session, record, buyer_id)

    async def _buyer_id(self, session: AsyncSession, siret: str) -> uuid.UUID | None:
        if siret not in self._buyers or self._buyers[siret] is None:
            found = await session.exec(select(Buyer.id).where(Buyer.siret == siret))
            self._buyers[siret] = found.one_or_none()
        return self._buyers[siret]
