"""End-to-end integrity check of the archive: blobs, rows and the journal, against each other."""

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.documents.archive import (
    KIND_ARCHIVED,
    KIND_PURGED,
    Archive,
    blob_name,
    document_facts,
    read_content,
    subject_of,
)
from app.documents.crypto import DecryptionFailed, KeyringError
from app.documents.journal import GENESIS_HASH, Head, compute_hash, iter_journal
from app.documents.models import Document
from app.documents.storage import BlobNotFound


@dataclass
class Problem:
    kind: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}: {self.detail}"


@dataclass
class Report:
    documents: int = 0
    bytes: int = 0
    blobs: int = 0
    journal_entries: int = 0
    head: str | None = None
    anchor: str | None = None
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


async def _iter_documents(session: AsyncSession, batch: int = 500) -> AsyncIterator[Document]:
    after = uuid.UUID(int=0)
    while True:
        stmt = select(Document).where(Document.id > after).order_by(col(Document.id)).limit(batch)
        docs = (await session.exec(stmt)).all()
        if not docs:
            return
        for doc in docs:
            yield doc
        after = docs[-1].id


async def _walk_journal(
    session: AsyncSession, report: Report, anchor: Head | None, purged: set[str]
) -> dict[int, tuple[str, str, dict[str, Any]]]:
    """Check every link; return the archiving entries by seq (kind, subject, data)."""
    archived: dict[int, tuple[str, str, dict[str, Any]]] = {}
    expected_seq, prev_hash = 1, GENESIS_HASH
    anchor_seen = False
    async for entry in iter_journal(session):
        report.journal_entries += 1
        subject = f"journal#{entry.seq}"
        if entry.seq != expected_seq:
            report.problems.append(
                Problem("journal_gap", subject, f"entries {expected_seq}..{entry.seq - 1} missing")
            )
        if entry.prev_hash != prev_hash:
            report.problems.append(
                Problem("journal_broken_link", subject, "prev_hash differs from previous hash")
            )
        if compute_hash(entry) != entry.hash:
            report.problems.append(Problem("journal_entry_altered", subject, "hash mismatch"))
        if anchor and entry.seq == anchor.seq:
            anchor_seen = True
            if entry.hash != anchor.hash:
                report.problems.append(
                    Problem("anchor_mismatch", subject, "entry differs from the anchored head")
                )
        if entry.kind == KIND_ARCHIVED:
            archived[entry.seq] = (entry.kind, entry.subject, entry.data)
        elif entry.kind == KIND_PURGED:
            purged.add(entry.subject)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
        report.head = f"{entry.seq}:{entry.hash}"
    if anchor and not anchor_seen:
        report.problems.append(
            Problem(
                "journal_truncated",
                f"journal#{anchor.seq}",
                f"anchored entry missing (journal ends at {expected_seq - 1})",
            )
        )
    return archived


async def verify_archive(
    session: AsyncSession, archive: Archive, *, anchor: Head | None = None
) -> Report:
    """Decrypt and re-hash every blob; match rows, blobs and journal; walk the chain."""
    started = time.perf_counter()
    report = Report(anchor=anchor.as_anchor() if anchor else None)
    purged: set[str] = set()
    archived = await _walk_journal(session, report, anchor, purged)
    last_seq = int(report.head.split(":")[0]) if report.head else 0

    blobs = set(await archive.storage.list())
    report.blobs = len(blobs)
    expected: set[str] = set()
    seen_seqs: set[int] = set()
    async for doc in _iter_documents(session):
        report.documents += 1
        name = blob_name(doc.id)
        expected.add(name)
        seen_seqs.add(doc.journal_seq)
        subject = subject_of(doc.id)
        entry = archived.get(doc.journal_seq)
        if entry is None:
            kind = "journal_truncated" if doc.journal_seq > last_seq else "journal_missing_entry"
            report.problems.append(
                Problem(kind, subject, f"archiving entry #{doc.journal_seq} not in the journal")
            )
        elif entry[1] != subject or entry[2] != document_facts(doc):
            report.problems.append(
                Problem("row_altered", subject, "row differs from its archiving journal entry")
            )
        if name not in blobs:
            report.problems.append(Problem("missing_blob", subject, f"blob {name} not found"))
            continue
        try:
            content = await read_content(archive, doc)
        except BlobNotFound:
            report.problems.append(Problem("missing_blob", subject, f"blob {name} not found"))
            continue
        except (DecryptionFailed, KeyringError) as exc:
            report.problems.append(Problem("blob_tampered", subject, str(exc)))
            continue
        report.bytes += len(content)
        if hashlib.sha256(content).hexdigest() != doc.sha256 or len(content) != doc.size:
            report.problems.append(Problem("hash_mismatch", subject, "content hash or size"))
    for seq, (_kind, subject, _data) in sorted(archived.items()):
        if seq not in seen_seqs and subject not in purged:
            report.problems.append(
                Problem("missing_document", subject, f"archived at #{seq}, row gone, no purge")
            )
    for name in sorted(blobs - expected):
        report.problems.append(Problem("orphan_blob", name, "blob without a document row"))
    report.seconds = round(time.perf_counter() - started, 3)
    metrics.ARCHIVE_VERIFY.labels("ok" if report.ok else "problems").inc()
    return report


async def find_orphan_blobs(session: AsyncSession, archive: Archive) -> list[str]:
    """Blobs with no row: a crash between the blob write and the commit (safe to quarantine)."""
    ids = (await session.exec(select(Document.id))).all()
    known = {blob_name(i) for i in ids}
    return sorted(set(await archive.storage.list()) - known)
