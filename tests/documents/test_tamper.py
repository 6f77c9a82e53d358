"""Every kind of tampering named in the issue is detected by `verify_archive`, by its kind."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db import SessionMaker, unit_of_work
from app.documents.archive import Archive, blob_name
from app.documents.journal import Head, get_head
from app.documents.models import Document
from app.documents.verify import Report, verify_archive
from app.suppliers.models import Supplier
from tests.documents.conftest import Parties, fake_pdf, put_document, sql, unlock_journal


async def _seed(doc_sm: SessionMaker, archive: Archive, parties: Parties, n: int = 3) -> list:
    async with unit_of_work(doc_sm) as session:
        return [await put_document(session, archive, parties, fake_pdf(i)) for i in range(n)]


def _path(archive: Archive, doc: Document) -> Path:
    return archive.storage.path(blob_name(doc.id))  # type: ignore[attr-defined]


async def _verify(doc_sm: SessionMaker, archive: Archive, anchor: Head | None = None) -> Report:
    async with unit_of_work(doc_sm) as session:
        return await verify_archive(session, archive, anchor=anchor)


@pytest.fixture
async def docs(doc_sm, archive, parties) -> list[Document]:
    docs = await _seed(doc_sm, archive, parties)
    assert (await _verify(doc_sm, archive)).ok
    return docs


async def test_flipped_byte_in_blob(doc_sm, archive, docs) -> None:
    path = _path(archive, docs[1])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    report = await _verify(doc_sm, archive)
    assert [(p.kind, p.subject) for p in report.problems] == [
        ("blob_tampered", f"document:{docs[1].id}")
    ]


async def test_swapped_blobs(doc_sm, archive, docs) -> None:
    a, b = _path(archive, docs[0]), _path(archive, docs[2])
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    report = await _verify(doc_sm, archive)
    assert sorted(p.subject for p in report.problems if p.kind == "blob_tampered") == sorted(
        [f"document:{docs[0].id}", f"document:{docs[2].id}"]
    )


async def test_deleted_blob(doc_sm, archive, docs) -> None:
    _path(archive, docs[0]).unlink()
    report = await _verify(doc_sm, archive)
    assert report.kinds() == {"missing_blob"} and not report.ok


async def test_truncated_blob(doc_sm, archive, docs) -> None:
    path = _path(archive, docs[0])
    path.write_bytes(path.read_bytes()[:100])
    assert (await _verify(doc_sm, archive)).kinds() == {"blob_tampered"}


async def _update_row(doc_sm: SessionMaker, doc: Document, **values: object) -> None:
    table = Document.__table__  # type: ignore[attr-defined]
    async with unit_of_work(doc_sm) as session:
        conn = await session.connection()
        await conn.execute(sa.update(table).where(table.c.id == doc.id).values(**values))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("valid_until", date(2099, 12, 31)),
        ("security_code", "FORGEDFORGEDFOR"),
        ("source_endpoint", "/upload"),
        ("obtained_at", datetime(2020, 1, 1, tzinfo=UTC)),
        ("supplier_id", None),
    ],
)
async def test_edited_row(doc_sm, archive, docs, parties, column: str, value: object) -> None:
    if column == "supplier_id":  # re-attribute the evidence to another company
        async with unit_of_work(doc_sm) as session:
            other = Supplier(name="Autre")
            session.add(other)
        value = other.id
    await _update_row(doc_sm, docs[1], **{column: value})
    report = await _verify(doc_sm, archive)
    assert report.kinds() == {"row_altered"}


async def test_edited_row_hash(doc_sm, archive, docs) -> None:
    await _update_row(doc_sm, docs[1], sha256="0" * 64)
    assert {"row_altered", "blob_tampered"} <= (await _verify(doc_sm, archive)).kinds()


async def test_deleted_row(doc_sm, archive, docs) -> None:
    table = Document.__table__  # type: ignore[attr-defined]
    async with unit_of_work(doc_sm) as session:
        conn = await session.connection()
        await conn.execute(sa.delete(table).where(table.c.id == docs[0].id))
    assert (await _verify(doc_sm, archive)).kinds() == {"orphan_blob", "missing_document"}


async def test_edited_journal_entry(doc_sm, archive, docs) -> None:
    async with unit_of_work(doc_sm) as session:
        await unlock_journal(session)
        await sql(session, "UPDATE journal_entries SET subject = 'document:other' WHERE seq = 2")
    report = await _verify(doc_sm, archive)
    assert "journal_entry_altered" in report.kinds()


async def test_rewritten_journal_entry_with_recomputed_hash(doc_sm, archive, docs) -> None:
    # An attacker who recomputes the edited entry's hash still breaks the next link.
    from app.documents.journal import entry_hash
    from app.documents.models import JournalEntry

    async with unit_of_work(doc_sm) as session:
        entry = await session.get(JournalEntry, 2)
        assert entry is not None
        forged = entry_hash(
            2, entry.at, entry.kind, entry.subject, {"forged": True}, entry.prev_hash
        )
        await unlock_journal(session)
        await sql(
            session,
            "UPDATE journal_entries SET data = :d, hash = :h WHERE seq = 2",
            d='{"forged":true}',
            h=forged,
        )
    report = await _verify(doc_sm, archive)
    assert "journal_broken_link" in report.kinds() and "row_altered" in report.kinds()


async def test_deleted_journal_entry(doc_sm, archive, docs) -> None:
    async with unit_of_work(doc_sm) as session:
        await unlock_journal(session)
        await sql(session, "DELETE FROM journal_entries WHERE seq = 2")
    report = await _verify(doc_sm, archive)
    assert {"journal_gap", "journal_broken_link", "journal_missing_entry"} <= report.kinds()


async def test_truncated_journal_detected_from_rows(doc_sm, archive, docs) -> None:
    async with unit_of_work(doc_sm) as session:
        await unlock_journal(session)
        await sql(session, "DELETE FROM journal_entries WHERE seq >= 3")
    report = await _verify(doc_sm, archive)
    assert report.kinds() == {"journal_truncated"}
    assert report.head is not None and report.head.startswith("2:")


async def test_truncated_journal_detected_by_anchor(doc_sm, archive, docs) -> None:
    from app.documents.journal import append_journal

    async with unit_of_work(doc_sm) as session:  # a tail no document row points at
        await append_journal(session, "document.downloaded", f"document:{docs[0].id}", {})
        anchor = await get_head(session)
    assert (await _verify(doc_sm, archive, anchor)).ok
    async with unit_of_work(doc_sm) as session:
        await unlock_journal(session)
        await sql(session, "DELETE FROM journal_entries WHERE seq = :s", s=anchor.seq)
    assert (await _verify(doc_sm, archive)).ok  # invisible without the anchor…
    assert (await _verify(doc_sm, archive, anchor)).kinds() == {"journal_truncated"}  # …not with


async def test_rewritten_history_detected_by_anchor(doc_sm, archive, docs) -> None:
    async with unit_of_work(doc_sm) as session:
        anchor = await get_head(session)
    forged = Head(anchor.seq, "f" * 64)
    assert (await _verify(doc_sm, archive, forged)).kinds() == {"anchor_mismatch"}
