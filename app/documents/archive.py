"""Archiving and reading evidence: the service functions the engine, the API and the CLI share."""

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.buyers.models import BuyerToken
from app.common import uuid7
from app.config import Settings
from app.documents.crypto import Keyring, associated_data, load_keyring, seal, unseal
from app.documents.journal import append_journal, append_journal_many, canonical_json, format_at
from app.documents.models import Document
from app.documents.storage import LocalStorage, Storage
from app.events import hooks as events
from app.events.models import WebhookEndpoint

KIND_ARCHIVED = "document.archived"
KIND_DOWNLOADED = "document.downloaded"
KIND_PURGED = "document.purged"
KIND_KEY_ROTATED = "archive.key_rotated"
KIND_DOSSIER = "dossier.exported"
JSON_MEDIA_TYPE = "application/json"


@dataclass
class Archive:
    """Blob storage plus master keys; built once per process."""

    storage: Storage
    keyring: Keyring

    @classmethod
    def from_settings(cls, settings: Settings) -> "Archive":
        return cls(LocalStorage(Path(settings.archive.dir)), load_keyring(settings))


def blob_name(document_id: uuid.UUID) -> str:
    # uuid7 starts with a timestamp: shard on the random tail to spread files over directories.
    return f"{document_id.hex[-2:]}/{document_id}.blob"


def subject_of(document_id: uuid.UUID) -> str:
    return f"document:{document_id}"


def canonical_json_document(payload: Any) -> bytes:
    """How a JSON answer (INSEE, Infogreffe, MSA) is archived: one byte string per content."""
    return canonical_json(payload)


def document_facts(doc: Document) -> dict[str, Any]:
    """The row's evidential metadata, as recorded in its archiving journal entry."""

    def d(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "document_id": str(doc.id),
        "doc_type": doc.doc_type,
        "supplier_id": str(doc.supplier_id),
        "buyer_id": str(doc.buyer_id),
        "sha256": doc.sha256,
        "size": doc.size,
        "media_type": doc.media_type,
        "source_endpoint": doc.source_endpoint,
        "request_id": doc.request_id,
        "uploaded_by": doc.uploaded_by,
        "obtained_at": format_at(doc.obtained_at),
        "valid_from": d(doc.valid_from),
        "valid_until": d(doc.valid_until),
        "security_code": doc.security_code,
    }


async def find_document(session: AsyncSession, buyer_id: uuid.UUID, sha256: str) -> Document | None:
    stmt = select(Document).where(Document.buyer_id == buyer_id, Document.sha256 == sha256)
    return (await session.exec(stmt)).first()


async def archive_document(
    session: AsyncSession,
    archive: Archive,
    *,
    content: bytes,
    media_type: str,
    doc_type: str,
    supplier_id: uuid.UUID,
    buyer_id: uuid.UUID,
    source_endpoint: str | None,
    request_id: str | None,
    uploaded_by: str | None,
    obtained_at: datetime,
    valid_from: date | None,
    valid_until: date | None,
    security_code: str | None,
    sandbox: bool = False,
) -> Document:
    """Encrypt and store `content`, then add its row and journal entry (flushed, not committed).

    Idempotent on (buyer, SHA-256): the same bytes archived twice return the first row. The blob
    is durable before the row exists, so a crash leaves at worst an orphan blob (reported by the
    reconciler), never a row without its blob.
    """
    sha256 = hashlib.sha256(content).hexdigest()
    existing = await find_document(session, buyer_id, sha256)
    if existing is not None:
        metrics.ARCHIVE_WRITES.labels("duplicate").inc()
        return existing

    doc_id = uuid7()
    sealed = seal(archive.keyring, content, associated_data(doc_id, sha256))
    name = blob_name(doc_id)
    await archive.storage.put(name, sealed.blob)

    doc = Document(
        id=doc_id,
        doc_type=doc_type,
        supplier_id=supplier_id,
        buyer_id=buyer_id,
        sha256=sha256,
        size=len(content),
        media_type=media_type,
        source_endpoint=source_endpoint,
        request_id=request_id,
        uploaded_by=uploaded_by,
        obtained_at=obtained_at,
        valid_from=valid_from,
        valid_until=valid_until,
        security_code=security_code,
        sandbox=sandbox,
        key_id=sealed.key_id,
        wrapped_key=sealed.wrapped_key,
        journal_seq=0,
    )
    if session.get_bind().dialect.name != "postgresql":
        # SQLite: one writer at a time, and pysqlite's savepoints would commit early. A racing
        # duplicate fails the unit of work; the job's retry then finds the row.
        return await _insert(session, doc)
    try:
        async with session.begin_nested():
            return await _insert(session, doc)
    except IntegrityError:
        # Another job archived the same bytes for this buyer first: keep theirs.
        await archive.storage.delete(name)
        existing = await find_document(session, buyer_id, sha256)
        if existing is None:
            raise
        return existing


async def _insert(session: AsyncSession, doc: Document) -> Document:
    entry = await append_journal(session, KIND_ARCHIVED, subject_of(doc.id), document_facts(doc))
    doc.journal_seq = entry.seq
    session.add(doc)
    await session.flush()
    metrics.ARCHIVE_WRITES.labels("new").inc()
    await events.document_archived(session, doc)
    return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class ToArchive:
    """One document of a batch: `archive_document`'s arguments."""

    content: bytes
    media_type: str
    doc_type: str
    supplier_id: uuid.UUID
    buyer_id: uuid.UUID
    source_endpoint: str | None
    request_id: str | None
    uploaded_by: str | None
    obtained_at: datetime
    valid_from: date | None
    valid_until: date | None
    security_code: str | None
    sandbox: bool = False


async def archive_documents(
    session: AsyncSession, archive: Archive, items: list[ToArchive]
) -> list[Document]:
    """`archive_document` for several documents at once, with the same guarantees: one
    duplicate check for the batch, the blobs written together (each fsynced before its rename,
    each directory once, all before any row exists), one journal batch (one lock, one head read,
    still chained entry by entry). Returns one row per item (the first row for a duplicate)."""
    digests = [hashlib.sha256(item.content).hexdigest() for item in items]
    keys = sorted({(item.buyer_id, d) for item, d in zip(items, digests, strict=True)})
    known: dict[tuple[uuid.UUID, str], Document] = {}
    for first in range(0, len(keys), 500):
        pairs = tuple_(col(Document.buyer_id), col(Document.sha256)).in_(keys[first : first + 500])
        for doc in (await session.exec(select(Document).where(pairs))).all():
            known[(doc.buyer_id, doc.sha256)] = doc
    fresh: list[Document] = []
    blobs: list[tuple[str, bytes]] = []
    for item, sha256 in zip(items, digests, strict=True):
        if (item.buyer_id, sha256) in known:
            metrics.ARCHIVE_WRITES.labels("duplicate").inc()
            continue
        doc_id = uuid7()
        sealed = seal(archive.keyring, item.content, associated_data(doc_id, sha256))
        blobs.append((blob_name(doc_id), sealed.blob))
        doc = Document(
            id=doc_id,
            doc_type=item.doc_type,
            supplier_id=item.supplier_id,
            buyer_id=item.buyer_id,
            sha256=sha256,
            size=len(item.content),
            media_type=item.media_type,
            source_endpoint=item.source_endpoint,
            request_id=item.request_id,
            uploaded_by=item.uploaded_by,
            obtained_at=item.obtained_at,
            valid_from=item.valid_from,
            valid_until=item.valid_until,
            security_code=item.security_code,
            sandbox=item.sandbox,
            key_id=sealed.key_id,
            wrapped_key=sealed.wrapped_key,
            journal_seq=0,
        )
        known[(item.buyer_id, sha256)] = doc  # the same bytes twice in the batch: one row
        fresh.append(doc)
    # The blobs are written while the rows are flushed: nothing is committed before both are
    # done (the caller commits after this returns), so a blob is still durable before its row
    # exists, and a failed write fails the unit of work.
    writing = asyncio.ensure_future(_put_all(archive.storage, blobs))
    try:
        if fresh and session.get_bind().dialect.name != "postgresql":
            await _insert_many(session, fresh)  # SQLite: see archive_document
        elif fresh:
            try:
                async with session.begin_nested():
                    await _insert_many(session, fresh)
            except IntegrityError:
                # Another job archived some of these bytes first: one by one, keeping theirs.
                await writing
                for name, _ in blobs:
                    await archive.storage.delete(name)
                return [await archive_document(session, archive, **_fields(i)) for i in items]
    finally:
        await writing
    return [known[(item.buyer_id, d)] for item, d in zip(items, digests, strict=True)]


async def _put_all(storage: Storage, blobs: list[tuple[str, bytes]]) -> None:
    put_many = getattr(storage, "put_many", None)
    if put_many is not None:
        await put_many(blobs)
        return
    for name, blob in blobs:
        await storage.put(name, blob)


def _fields(item: ToArchive) -> dict[str, Any]:
    return {name: getattr(item, name) for name in ToArchive.__slots__}


async def _insert_many(session: AsyncSession, docs: list[Document]) -> None:
    facts = [(KIND_ARCHIVED, subject_of(d.id), document_facts(d)) for d in docs]
    for doc, entry in zip(docs, await append_journal_many(session, facts), strict=True):
        doc.journal_seq = entry.seq
    session.add_all(docs)
    await session.flush()
    for doc in docs:
        metrics.ARCHIVE_WRITES.labels("new").inc()
        await events.document_archived(session, doc)


async def read_content(archive: Archive, doc: Document) -> bytes:
    """Decrypt the blob and check it is still the archived content (raises DecryptionFailed)."""
    blob = await archive.storage.get(blob_name(doc.id))
    aad = associated_data(doc.id, doc.sha256)
    return unseal(archive.keyring, blob, doc.wrapped_key, doc.key_id, aad)


async def rotate_keys(session: AsyncSession, archive: Archive, batch: int = 500) -> int:
    """Re-wrap every data key not under the current master key; blobs are untouched."""
    current = archive.keyring.current.kid
    count, previous = 0, set()
    while True:
        stmt = select(Document).where(col(Document.key_id) != current).limit(batch)
        docs = (await session.exec(stmt)).all()
        if not docs:
            break
        for doc in docs:
            previous.add(doc.key_id)
            doc.wrapped_key, doc.key_id = archive.keyring.rewrap(doc.wrapped_key, doc.key_id)
            session.add(doc)
        count += len(docs)
        await session.flush()
    # The buyers' own API Entreprise tokens are sealed under the same master keys.
    tokens = (await session.exec(select(BuyerToken).where(col(BuyerToken.key_id) != current))).all()
    for token in tokens:
        previous.add(token.key_id)
        token.wrapped_key, token.key_id = archive.keyring.rewrap(token.wrapped_key, token.key_id)
        session.add(token)
    # And the webhooks' signing secrets (the previous one too, during a rotation's overlap).
    endpoints = (await session.exec(select(WebhookEndpoint))).all()
    rewrapped = 0
    for endpoint in endpoints:
        if endpoint.key_id != current:
            previous.add(endpoint.key_id)
            endpoint.wrapped_key, endpoint.key_id = archive.keyring.rewrap(
                endpoint.wrapped_key, endpoint.key_id
            )
            rewrapped += 1
        if endpoint.previous_key_id not in (None, current) and endpoint.previous_wrapped_key:
            previous.add(endpoint.previous_key_id)
            endpoint.previous_wrapped_key, endpoint.previous_key_id = archive.keyring.rewrap(
                endpoint.previous_wrapped_key, endpoint.previous_key_id
            )
        session.add(endpoint)
    await session.flush()
    await append_journal(
        session,
        KIND_KEY_ROTATED,
        f"key:{current}",
        {
            "key_id": current,
            "previous_key_ids": sorted(previous),
            "documents": count,
            "buyer_tokens": len(tokens),
            "webhook_secrets": rewrapped,
        },
    )
    return count
