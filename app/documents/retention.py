"""Retention: a document is kept while a contract it covered runs, then `retention_years`.

A document *covered* a contract when it belongs to the contract's buyer, concerns one of its
holders and was obtained within the contract's period (notification minus the compliance
tolerance, up to the end date). The row and its journal entry go first; the blob is deleted
after the commit, so a failure leaves an orphan blob (reported), never a row without its blob.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.contracts.models import Contract, ContractHolder
from app.documents.archive import KIND_PURGED, Archive, blob_name, subject_of
from app.documents.journal import append_journal
from app.documents.models import Document


@dataclass(frozen=True)
class Expired:
    document_id: uuid.UUID
    sha256: str
    doc_type: str
    obtained_at: datetime
    kept_until: date


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def period_of(contract: Contract, tolerance_days: int) -> tuple[date, date]:
    return contract.notified_on - timedelta(days=tolerance_days), contract.ends_on


async def covering_contracts(
    session: AsyncSession, doc: Document, tolerance_days: int
) -> list[Contract]:
    stmt = (
        select(Contract)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .where(Contract.buyer_id == doc.buyer_id, ContractHolder.supplier_id == doc.supplier_id)
    )
    day = doc.obtained_at.date()
    contracts = (await session.exec(stmt)).all()
    return [c for c in contracts if period_of(c, tolerance_days)[0] <= day <= c.ends_on]


async def find_expired(
    session: AsyncSession, *, retention_years: int, tolerance_days: int, today: date | None = None
) -> list[Expired]:
    today = today or utcnow().date()
    # A covering contract ends on or after obtained_at, so younger documents cannot be due.
    cutoff = datetime.combine(years_after(today, -retention_years), time.min, tzinfo=UTC)
    stmt = select(Document).where(Document.obtained_at < cutoff).order_by(col(Document.id))
    out = []
    for doc in (await session.exec(stmt)).all():
        ends = [c.ends_on for c in await covering_contracts(session, doc, tolerance_days)]
        last = max([doc.obtained_at.date(), *ends])
        kept_until = years_after(last, retention_years)
        if kept_until < today:
            out.append(Expired(doc.id, doc.sha256, doc.doc_type, doc.obtained_at, kept_until))
    return out


async def purge_documents(
    session: AsyncSession, expired: list[Expired], *, reason: str = "retention"
) -> list[str]:
    """Delete the rows and journal each purge; return the blob names to delete after commit."""
    names = []
    for item in expired:
        doc = await session.get(Document, item.document_id)
        if doc is None:
            continue
        await session.delete(doc)
        await append_journal(
            session,
            KIND_PURGED,
            subject_of(item.document_id),
            {
                "sha256": item.sha256,
                "doc_type": item.doc_type,
                "reason": reason,
                "kept_until": item.kept_until.isoformat(),
            },
        )
        names.append(blob_name(item.document_id))
    await session.flush()
    return names


async def delete_blobs(archive: Archive, names: list[str]) -> None:
    for name in names:
        await archive.storage.delete(name)
