"""Uploaded documents awaiting or past an officer's review, and the invitations that let a
supplier's contact into the portal."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime


class UploadStatus(StrEnum):
    UNDER_REVIEW = "under_review"  # waits for an officer of the buyer
    ACCEPTED = "accepted"  # the officer accepted it: it is the requirement's evidence
    REJECTED = "rejected"  # refused by Vigie's own checks (automatic) or by the officer


class Upload(SQLModel, table=True):
    """One buyer's copy of one uploaded file (file once, answer everyone: a submission sent to
    three buyers is three rows, one document archived under each buyer, reviewed separately)."""

    __tablename__ = "uploads"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    submission_id: uuid.UUID = Field(index=True)  # the same for every buyer's copy of one file
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    requirement: str = Field(max_length=32)
    document_id: uuid.UUID = Field(foreign_key="documents.id", index=True)
    status: str = Field(max_length=16, index=True)
    reason: str | None = Field(default=None, max_length=1000)  # Vigie's or the officer's
    automatic: bool = False  # the reason comes from Vigie's checks, not from an officer
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    extracted: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    issued_on: date | None = None
    valid_until: date | None = None
    security_code: str | None = Field(default=None, max_length=32)
    code_verified: bool | None = None  # None: not verified (not configured, or no answer)
    file_name: str | None = Field(default=None, max_length=200)  # shown, never used as a path
    uploaded_by: str = Field(max_length=254)  # a contact's e-mail, or an API key's prefix
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    reviewed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    reviewed_by: str | None = Field(default=None, max_length=254)


class ContractorInvitation(SQLModel, table=True):
    """A buyer invited a supplier's contact to the portal: the contact sees that buyer's requests
    to this supplier (and those of every other buyer that invited it), nothing else."""

    __tablename__ = "contractor_invitations"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "buyer_id", name="uq_contractor_invitations_user_buyer"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    invited_by: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ReminderSending(SQLModel, table=True):
    """One reminder digest sent to a contact (at most one a day): what it named, so a gap or
    an expiry is announced once."""

    __tablename__ = "reminder_sendings"
    __table_args__ = (sa.UniqueConstraint("user_id", "sent_on", name="uq_reminder_sendings_day"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    sent_on: date
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    legal: bool = False  # it carried a request for documents (no unsubscribe from those)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ReminderOptOut(SQLModel, table=True):
    """A contact who asked for no more courtesy reminders (expiry notices); the requests for
    missing documents still reach it."""

    __tablename__ = "reminder_opt_outs"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
