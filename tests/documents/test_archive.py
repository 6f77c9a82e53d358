import asyncio
import hashlib
import os

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import func, select

from app.db import unit_of_work
from app.documents.archive import (
    Archive,
    blob_name,
    canonical_json_document,
    read_content,
    rotate_keys,
)
from app.documents.crypto import Keyring, new_master_key
from app.documents.journal import append_journal, compute_hash, get_head
from app.documents.models import Document, JournalEntry
from app.documents.verify import find_orphan_blobs, verify_archive
from tests.documents.conftest import fake_pdf, put_document, sql


async def test_archive_read_back_and_no_plaintext_on_disk(doc_sm, archive, parties) -> None:
    contents = [fake_pdf(i) for i in range(5)]
    async with unit_of_work(doc_sm) as session:
        docs = [await put_document(session, archive, parties, c) for c in contents]
    async with unit_of_work(doc_sm) as session:
        for doc, content in zip(docs, contents, strict=True):
            row = await session.get(Document, doc.id)
            assert row is not None and row.sha256 == hashlib.sha256(content).hexdigest()
            assert row.size == len(content) and row.key_id == "k1"
            assert await read_content(archive, row) == content
    for path in archive.storage.root.rglob("*"):  # type: ignore[attr-defined]
        if path.is_file():
            data = path.read_bytes()
            assert b"%PDF" not in data and b"attestation" not in data


async def test_same_content_same_buyer_is_stored_once(doc_sm, archive, parties) -> None:
    async with unit_of_work(doc_sm) as session:
        first = await put_document(session, archive, parties, fake_pdf(1))
    async with unit_of_work(doc_sm) as session:
        again = await put_document(session, archive, parties, fake_pdf(1))
        count = (await session.exec(select(func.count()).select_from(Document))).one()
    assert again.id == first.id and count == 1
    assert await archive.storage.list() == [blob_name(first.id)]


async def test_json_answers_are_canonical() -> None:
    a = canonical_json_document({"b": 1, "a": {"d": "é", "c": [1, 2]}})
    b = canonical_json_document({"a": {"c": [1, 2], "d": "é"}, "b": 1})
    assert a == b == '{"a":{"c":[1,2],"d":"é"},"b":1}'.encode()


async def test_crash_before_commit_leaves_orphan_blob_never_a_row(doc_sm, archive, parties):
    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        async with unit_of_work(doc_sm) as session:
            await put_document(session, archive, parties, fake_pdf(7))
            raise Crash  # the process dies between the blob write and the commit
    async with unit_of_work(doc_sm) as session:
        assert (await session.exec(select(Document))).all() == []
        orphans = await find_orphan_blobs(session, archive)
        report = await verify_archive(session, archive)
    assert len(orphans) == 1
    assert report.kinds() == {"orphan_blob"}


async def test_crash_during_blob_write_leaves_nothing(doc_sm, archive, parties, monkeypatch):
    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        async with unit_of_work(doc_sm) as session:
            await put_document(session, archive, parties, fake_pdf(8))
    monkeypatch.undo()
    async with unit_of_work(doc_sm) as session:
        assert (await session.exec(select(Document))).all() == []
        assert (await verify_archive(session, archive)).ok
    assert await archive.storage.list() == []


async def test_journal_chains_and_is_append_only(doc_sm) -> None:
    async with unit_of_work(doc_sm) as session:
        e1 = await append_journal(session, "check.status", "supplier:1", {"status": "ok"})
        e2 = await append_journal(session, "check.status", "supplier:1", {"status": "late"})
    assert (e1.seq, e2.seq) == (1, 2) and e2.prev_hash == e1.hash
    async with unit_of_work(doc_sm) as session:
        stored = await session.get(JournalEntry, 2)
        assert stored is not None and compute_hash(stored) == stored.hash
        assert (await get_head(session)).as_anchor() == f"2:{e2.hash}"
    for statement in ("UPDATE journal_entries SET kind = 'x'", "DELETE FROM journal_entries"):
        with pytest.raises((IntegrityError, DBAPIError)):
            async with unit_of_work(doc_sm) as session:
                await sql(session, statement)


async def test_rotate_then_verify_clean(doc_sm, archive, parties) -> None:
    contents = [fake_pdf(i) for i in range(4)]
    async with unit_of_work(doc_sm) as session:
        for c in contents:
            await put_document(session, archive, parties, c)
    blobs_before = {n: await archive.storage.get(n) for n in await archive.storage.list()}
    rotated = Archive(archive.storage, Keyring([new_master_key("k2"), *archive.keyring.keys]))
    async with unit_of_work(doc_sm) as session:
        assert await rotate_keys(session, rotated) == 4
    # Blobs untouched; the old key is no longer needed.
    assert {n: await archive.storage.get(n) for n in blobs_before} == blobs_before
    only_new = Archive(archive.storage, Keyring([rotated.keyring.current]))
    async with unit_of_work(doc_sm) as session:
        report = await verify_archive(session, only_new)
        kinds = [e.kind for e in (await session.exec(select(JournalEntry))).all()]
    assert report.ok, report.problems
    assert report.documents == 4 and report.bytes == sum(map(len, contents))
    assert kinds[-1] == "archive.key_rotated"


@pytest.mark.real_commits  # eight connections race for the journal's head
async def test_concurrent_appends_never_fork_the_chain(doc_sm, archive) -> None:
    async def writer(n: int) -> None:
        async with unit_of_work(doc_sm) as session:
            for i in range(3):
                await append_journal(session, "check.status", f"supplier:{n}", {"i": i})

    await asyncio.gather(*(writer(n) for n in range(8)))
    async with unit_of_work(doc_sm) as session:
        report = await verify_archive(session, archive)
        per_writer = [
            [e.subject for e in (await session.exec(select(JournalEntry))).all()][k : k + 3]
            for k in range(0, 24, 3)
        ]
    assert report.ok and report.journal_entries == 24, report.problems
    # Each unit of work held the lock until its commit: its three entries are consecutive.
    assert all(len(set(chunk)) == 1 for chunk in per_writer)


async def test_rotate_rewraps_the_buyers_tokens_too(doc_sm, archive, parties) -> None:
    from app.buyers.tokens import set_token, token_for

    async with unit_of_work(doc_sm) as session:
        await set_token(session, archive.keyring, parties.buyer_id, "buyer-own-token-0123456789")
    rotated = Archive(archive.storage, Keyring([new_master_key("k2"), *archive.keyring.keys]))
    async with unit_of_work(doc_sm) as session:
        await rotate_keys(session, rotated)
    only_new = Keyring([rotated.keyring.current])  # the old master key retired
    async with unit_of_work(doc_sm) as session:
        token = await token_for(session, only_new, parties.buyer_id)
    assert token is not None and token.get_secret_value() == "buyer-own-token-0123456789"
