from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import select

from app.contracts.models import Contract, ContractHolder
from app.db import unit_of_work
from app.documents.models import Document, JournalEntry
from app.documents.retention import delete_blobs, find_expired, purge_documents, years_after
from app.documents.verify import verify_archive
from tests.documents.conftest import fake_pdf, put_document

TODAY = date(2026, 11, 27)


def test_years_after_leap_day() -> None:
    assert years_after(date(2024, 2, 29), 5) == date(2029, 2, 28)


async def test_kept_while_a_contract_runs_then_retention(doc_sm, archive, parties) -> None:
    async with unit_of_work(doc_sm) as session:
        contract = Contract(
            buyer_id=parties.buyer_id,
            reference="M-2014-1",
            object="Travaux",
            amount_ht=Decimal("90000.00"),
            notified_on=date(2014, 6, 1),
            ends_on=date(2023, 6, 1),
            content_hash="0" * 64,
        )
        session.add(contract)
        await session.flush()
        session.add(ContractHolder(contract_id=contract.id, supplier_id=parties.supplier_id))
        covered = await put_document(
            session, archive, parties, fake_pdf(1), obtained_at=datetime(2015, 1, 5, tzinfo=UTC)
        )
        orphan = await put_document(
            session, archive, parties, fake_pdf(2), obtained_at=datetime(2013, 1, 5, tzinfo=UTC)
        )
        recent = await put_document(session, archive, parties, fake_pdf(3))

    async with unit_of_work(doc_sm) as session:
        expired = await find_expired(session, retention_years=5, tolerance_days=30, today=TODAY)
        # covered: contract ended 2023-06-01 → kept until 2028-06-01; the 2013 one is not covered.
        assert [e.document_id for e in expired] == [orphan.id]
        later = await find_expired(
            session, retention_years=5, tolerance_days=30, today=date(2028, 6, 2)
        )
        assert {e.document_id for e in later} == {covered.id, orphan.id}
        names = await purge_documents(session, expired)
    await delete_blobs(archive, names)

    async with unit_of_work(doc_sm) as session:
        remaining = {d.id for d in (await session.exec(select(Document))).all()}
        purged = (
            await session.exec(select(JournalEntry).where(JournalEntry.kind == "document.purged"))
        ).all()
        report = await verify_archive(session, archive)
    assert remaining == {covered.id, recent.id}
    assert [p.subject for p in purged] == [f"document:{orphan.id}"]
    assert report.ok, report.problems
