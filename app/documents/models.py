"""Archived documents and the hash-chained journal that vouches for them."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime


class DocumentBase(SQLModel):
    doc_type: str = Field(max_length=50)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    sha256: str = Field(max_length=64)
    size: int
    media_type: str = Field(max_length=100)
    # Where it came from: an API Entreprise endpoint and its X-Request-ID, or the uploading key.
    source_endpoint: str | None = Field(default=None, max_length=300)
    request_id: str | None = Field(default=None, max_length=100)
    uploaded_by: str | None = Field(default=None, max_length=16)
    obtained_at: datetime = Field(sa_type=AwareDateTime, index=True)
    valid_from: date | None = None
    valid_until: date | None = None
    security_code: str | None = Field(default=None, max_length=32)
    # Served by the built-in sandbox (invented data for development): never evidence elsewhere.
    sandbox: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Document(DocumentBase, table=True):
    """One piece of evidence, stored once per content and buyer; never edited through the API."""

    __tablename__ = "documents"
    __table_args__ = (sa.UniqueConstraint("buyer_id", "sha256", name="uq_documents_buyer_sha256"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    # The data key, wrapped by the master key `key_id` (rotation rewrites these two only).
    key_id: str = Field(max_length=64)
    wrapped_key: bytes = Field(sa_type=sa.LargeBinary)
    # Seq of the `document.archived` journal entry: a cut journal tail is detected from the rows.
    journal_seq: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class DocumentPublic(DocumentBase):
    id: uuid.UUID
    journal_seq: int
    created_at: datetime


class JournalEntry(SQLModel, table=True):
    """Append-only, hash-chained: `hash` covers seq, at, kind, subject, data and `prev_hash`."""

    __tablename__ = "journal_entries"

    seq: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=AwareDateTime)
    kind: str = Field(max_length=50, index=True)
    subject: str = Field(max_length=100, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class JournalEntryPublic(SQLModel):
    seq: int
    at: datetime
    kind: str
    subject: str
    data: dict[str, Any]
    prev_hash: str
    hash: str
