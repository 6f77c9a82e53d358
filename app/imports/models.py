"""An import: the uploaded file (kept until its job has run: never lost after the 202), its state
and its report."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime, StrEnumType


class ImportState(StrEnum):
    QUEUED = "queued"  # stored, its job sent after the commit
    RUNNING = "running"
    COMPLETED = "completed"  # the report says what became of each record
    FAILED = "failed"  # the file could not be read to its end (`error` says why)


class ImportFormat(StrEnum):
    DECP = "decp"
    CSV = "csv"


class ImportRun(SQLModel, table=True):
    """One uploaded file and what became of it. `buyer_id` is the importing key's buyer (None for
    an admin key, which may create unknown buyers); the content is dropped once the job is done."""

    __tablename__ = "imports"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID | None = Field(default=None, foreign_key="buyers.id", index=True)
    by_key_prefix: str | None = Field(default=None, max_length=16)
    filename: str = Field(max_length=255)
    format: ImportFormat = Field(sa_type=StrEnumType(ImportFormat, 8))
    dry_run: bool = False
    create_buyers: bool = False
    # The vigilance threshold in force when the file was received (R8222-1 C. trav.).
    threshold_ht: str = Field(max_length=20)
    state: ImportState = Field(default=ImportState.QUEUED, sa_type=StrEnumType(ImportState, 16))
    size: int
    sha256: str = Field(max_length=64)
    content: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    started_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


# --- API schemas -------------------------------------------------------------------------------


class ImportLine(SQLModel):
    record: str = Field(description="The record: `<buyer SIRET>/<id>` (DECP) or `line N` (CSV)")
    outcome: str = Field(description="created, updated, unchanged or skipped")
    code: str | None = Field(
        default=None,
        description="Why it was skipped (or, for a kept record, what was dropped from it)",
    )
    message: str | None = Field(default=None, description="The reason, in French")


class ImportReport(SQLModel):
    records: int
    created: int
    updated: int
    unchanged: int
    skipped: dict[str, int] = Field(description="Skipped records by code")
    lines: list[ImportLine]


class ImportPublic(SQLModel):
    id: uuid.UUID
    state: ImportState
    filename: str
    format: ImportFormat
    dry_run: bool
    size: int
    sha256: str
    report: ImportReport | None = Field(description="Once completed (or failed midway)")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
