"""Fixtures of the evidence archive: an archive in a temp dir, a buyer and a supplier, helpers."""

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer
from app.common import utcnow
from app.db import SessionMaker, make_engine, make_sessionmaker, unit_of_work
from app.documents.archive import Archive, archive_document
from app.documents.crypto import Keyring, new_master_key
from app.documents.models import Document
from app.documents.storage import LocalStorage
from app.migrate import upgrade
from app.suppliers.models import Supplier
from tests.conftest import create_pg_database, drop_pg_database


def fake_pdf(n: int, size: int = 4000) -> bytes:
    body = hashlib.sha256(str(n).encode()).hexdigest().encode() * (size // 64)
    return b"%PDF-1.4\n%attestation de vigilance " + str(n).encode() + b"\n" + body + b"\n%%EOF"


@pytest.fixture
async def doc_sm(
    sessionmaker: SessionMaker, real_commits: bool, tmp_path: Path
) -> AsyncIterator[SessionMaker]:
    """The archive tests' sessions. By default the test's rolled-back connection: the database
    is empty at the start (journal seq 1 is the test's own) and the tamper tests' dropped guards
    come back with the rollback. Tests marked `real_commits` get a database of their own:
    PostgreSQL when DATABASE_URL says so, else a SQLite file."""
    if not real_commits:
        yield sessionmaker
        return
    server = os.environ.get("DATABASE_URL", "")
    pg = server.startswith("postgres")
    if pg:
        url = await asyncio.to_thread(create_pg_database, server)
    else:
        url = f"sqlite:///{tmp_path / 'docs.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    await engine.dispose()
    if pg:
        await asyncio.to_thread(drop_pg_database, server, url)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(LocalStorage(tmp_path / "archive"), Keyring([new_master_key("k1")]))


@dataclass
class Parties:
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    siren: str


@pytest.fixture
async def parties(doc_sm: SessionMaker) -> Parties:
    siren = "552049447"
    async with unit_of_work(doc_sm) as session:
        buyer = Buyer(siret="21750001600019", name="Commune de Test")
        supplier = Supplier(siren=siren, name="BTP Test")
        session.add_all([buyer, supplier])
        await session.flush()
        return Parties(buyer.id, supplier.id, siren)


async def put_document(
    session: AsyncSession,
    archive: Archive,
    parties: Parties,
    content: bytes,
    *,
    obtained_at: datetime | None = None,
    doc_type: str = "attestation_urssaf",
) -> Document:
    return await archive_document(
        session,
        archive,
        content=content,
        media_type="application/pdf",
        doc_type=doc_type,
        supplier_id=parties.supplier_id,
        buyer_id=parties.buyer_id,
        source_endpoint="/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
        request_id=str(uuid.uuid4()),
        uploaded_by=None,
        obtained_at=obtained_at or utcnow(),
        valid_from=date(2026, 11, 1),
        valid_until=date(2027, 4, 30),
        security_code="ABCDEFGHIJKLMNO",
    )


async def unlock_journal(session: AsyncSession) -> None:
    """Drop the append-only guard, as an attacker with DBA rights would."""
    if session.get_bind().dialect.name == "postgresql":
        await sql(session, "ALTER TABLE journal_entries DISABLE TRIGGER USER")
    else:
        await sql(session, "DROP TRIGGER IF EXISTS journal_entries_no_update")
        await sql(session, "DROP TRIGGER IF EXISTS journal_entries_no_delete")


async def sql(session: AsyncSession, statement: str, **params: object) -> None:
    """Raw SQL behind the application's back (tamper simulations)."""
    await (await session.connection()).execute(text(statement), params)
