"""The evidence journal: append-only and hash-chained, so an edit or a deletion breaks the chain.

A chain alone cannot reveal a cut tail or a rewrite from scratch: export the head
(`vigie archive head`) and keep it outside Vigie; `vigie archive verify --anchor SEQ:HASH` checks
the chain still contains it. Document rows also carry the seq of their archiving entry.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.documents.models import JournalEntry

GENESIS_HASH = "0" * 64
# Arbitrary constant for pg_advisory_xact_lock: "vigie journal".
_PG_LOCK_ID = 0x76696769_6A726E6C & 0x7FFFFFFFFFFFFFFF


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per value, stable across backends."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def format_at(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite without AwareDateTime: stored as UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    seq: int, at: datetime, kind: str, subject: str, data: dict[str, Any], prev_hash: str
) -> str:
    payload = {
        "seq": seq,
        "at": format_at(at),
        "kind": kind,
        "subject": subject,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def compute_hash(entry: JournalEntry) -> str:
    return entry_hash(entry.seq, entry.at, entry.kind, entry.subject, entry.data, entry.prev_hash)


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def as_anchor(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, anchor: str) -> "Head":
        seq, sep, digest = anchor.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise ValueError("anchor must be SEQ:HASH (the output of `vigie archive head`)")
        return cls(int(seq), digest.lower())


async def _lock(session: AsyncSession) -> None:
    """Serialize appends until the caller commits, so two writers never read the same head.

    PostgreSQL: a transaction-level advisory lock. SQLite: its write lock is global; a write
    that matches no row takes it before the head is read (otherwise two transactions could read
    the same head; the primary key on seq would then fail the second rather than fork the chain).
    """
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    elif conn.dialect.name == "sqlite":
        await conn.execute(text("UPDATE journal_entries SET seq = seq WHERE 0"))


async def get_head(session: AsyncSession) -> Head:
    # Two columns, not the entry (its JSON decoded for nothing): read on every append.
    query = select(JournalEntry.seq, JournalEntry.hash).order_by(col(JournalEntry.seq).desc())
    row = (await session.exec(query.limit(1))).first()
    return Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)


async def append_journal(
    session: AsyncSession, kind: str, subject: str, data: dict[str, Any]
) -> JournalEntry:
    """Append one entry (flushed, not committed: it lands with the caller's unit of work)."""
    return (await append_journal_many(session, [(kind, subject, data)]))[0]


async def append_journal_many(
    session: AsyncSession, items: list[tuple[str, str, dict[str, Any]]]
) -> list[JournalEntry]:
    """Append entries in order, each chained to the one before: one lock and one head read for
    the whole batch (flushed, not committed: they land with the caller's unit of work)."""
    await _lock(session)
    head = await get_head(session)
    entries = []
    for kind, subject, data in items:
        data = json.loads(canonical_json(data))  # what the JSON column will give back
        seq, at = head.seq + 1, utcnow()
        entry = JournalEntry(
            seq=seq,
            at=at,
            kind=kind,
            subject=subject,
            data=data,
            prev_hash=head.hash,
            hash=entry_hash(seq, at, kind, subject, data, head.hash),
        )
        entries.append(entry)
        head = Head(seq, entry.hash)
    session.add_all(entries)
    await session.flush()
    return entries


async def iter_journal(session: AsyncSession, batch: int = 2000) -> AsyncIterator[JournalEntry]:
    """Every entry in seq order, in pages (the journal can be long)."""
    after = 0
    while True:
        stmt = (
            select(JournalEntry)
            .where(JournalEntry.seq > after)
            .order_by(col(JournalEntry.seq))
            .limit(batch)
        )
        rows = (await session.exec(stmt)).all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].seq


async def entries_for(session: AsyncSession, subjects: list[str]) -> list[JournalEntry]:
    if not subjects:
        return []
    stmt = (
        select(JournalEntry)
        .where(col(JournalEntry.subject).in_(subjects))
        .order_by(col(JournalEntry.seq))
    )
    return list((await session.exec(stmt)).all())
