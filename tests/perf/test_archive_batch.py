"""`archive_documents`: a batch keeps every guarantee of `archive_document` (one row per content
and buyer, blobs readable, the journal chained entry by entry and verified), with one journal
lock and one head read for the batch."""

import itertools
import uuid
from datetime import date

from sqlmodel import func, select

from app.common import utcnow
from app.db import unit_of_work
from app.documents import journal
from app.documents.archive import ToArchive, archive_documents, blob_name, read_content
from app.documents.models import Document, JournalEntry
from app.documents.verify import verify_archive
from tests.documents.conftest import fake_pdf, put_document


def _item(parties, content: bytes) -> ToArchive:  # type: ignore[no-untyped-def]
    return ToArchive(
        content=content,
        media_type="application/pdf",
        doc_type="attestation_urssaf",
        supplier_id=parties.supplier_id,
        buyer_id=parties.buyer_id,
        source_endpoint="/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
        request_id=str(uuid.uuid4()),
        uploaded_by=None,
        obtained_at=utcnow(),
        valid_from=date(2026, 11, 1),
        valid_until=date(2027, 4, 30),
        security_code="ABCDEFGHIJKLMNO",
    )


async def test_a_batch_is_archived_like_one_by_one(doc_sm, archive, parties, monkeypatch):  # type: ignore[no-untyped-def]
    async with unit_of_work(doc_sm) as session:
        before = await put_document(session, archive, parties, fake_pdf(0))
    heads = []
    real_get_head = journal.get_head

    async def counted(session):  # type: ignore[no-untyped-def]
        heads.append(1)
        return await real_get_head(session)

    monkeypatch.setattr(journal, "get_head", counted)
    contents = [fake_pdf(i) for i in range(1, 9)]
    # fake_pdf(0) again (archived before) and fake_pdf(3) twice in the batch: no new row
    batch = [_item(parties, c) for c in [*contents, fake_pdf(0), fake_pdf(3)]]
    async with unit_of_work(doc_sm) as session:
        docs = await archive_documents(session, archive, batch)
    assert len(heads) == 1  # one head read for the batch
    assert docs[8].id == before.id and docs[9].id == docs[2].id
    assert len({d.id for d in docs}) == 9
    async with unit_of_work(doc_sm) as session:
        count = (await session.exec(select(func.count()).select_from(Document))).one()
        entries = (await session.exec(select(JournalEntry).order_by(JournalEntry.seq))).all()
        for doc, content in zip(docs, [*contents, fake_pdf(0), fake_pdf(3)], strict=True):
            row = await session.get(Document, doc.id)
            assert row is not None and await read_content(archive, row) == content
        report = await verify_archive(session, archive)
    assert count == 9
    assert [e.seq for e in entries] == list(range(1, 10))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert {d.journal_seq for d in docs[:8]} == set(range(2, 10))
    assert report.ok, report.problems
    assert sorted(await archive.storage.list()) == sorted(blob_name(d.id) for d in docs[:9])


async def test_a_failed_batch_leaves_no_row(doc_sm, archive, parties):  # type: ignore[no-untyped-def]
    class Crash(Exception):
        pass

    try:
        async with unit_of_work(doc_sm) as session:
            await archive_documents(
                session, archive, [_item(parties, fake_pdf(i)) for i in range(3)]
            )
            raise Crash
    except Crash:
        pass
    async with unit_of_work(doc_sm) as session:
        assert (await session.exec(select(func.count()).select_from(Document))).one() == 0
        assert (await session.exec(select(func.count()).select_from(JournalEntry))).one() == 0
