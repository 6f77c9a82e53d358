"""The vigilance engine's tables: what is due (requirement states), what was done (checks), and
every status change (events). The database is the source of truth; Redis only carries work."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.compliance.rules import RequirementStatus, RequirementType
from app.db import AwareDateTime, StrEnumType


class RunState(StrEnum):
    IDLE = "idle"  # nothing in flight: due when next_due_at <= now
    QUEUED = "queued"  # claimed by a tick and handed to the queue (lease_until guards it)
    RUNNING = "running"  # a job is fetching it


class RequirementState(SQLModel, table=True):
    """One requirement of one supplier under one buyer: its latest status and its schedule.

    One row serves every contract of that buyer with that supplier (a check satisfies them all).
    """

    __tablename__ = "requirement_states"
    __table_args__ = (
        sa.UniqueConstraint(
            "buyer_id", "supplier_id", "requirement", name="uq_requirement_states_pair"
        ),
        sa.Index("ix_requirement_states_due", "run_state", "next_due_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    requirement: RequirementType = Field(sa_type=StrEnumType(RequirementType, 32))
    active: bool = True  # still required by a contract in execution
    # Latest evaluation (None: never checked).
    status: RequirementStatus | None = Field(
        default=None, sa_type=StrEnumType(RequirementStatus, 32), index=True
    )
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    valid_until: date | None = None
    document_id: uuid.UUID | None = Field(default=None, foreign_key="documents.id")
    evidence: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    alert: str | None = Field(default=None, max_length=300)  # config error / bug of the source
    evaluated_on: date | None = None  # the day `status` was computed (recomputed daily)
    # Schedule: the due date the next check serves, the last one served, and when to run.
    due_on: date | None = None
    served_due_on: date | None = None
    next_due_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    retry_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_checked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Run state: a lease, so a dead worker or a flushed Redis never loses a check.
    run_state: RunState = Field(default=RunState.IDLE, sa_type=StrEnumType(RunState, 16))
    lease_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    attempts: int = 0
    # The first recorded request to the contractor since this requirement last was in order
    # (the grace period runs from it); cleared when it is in order again.
    requested_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class Check(SQLModel, table=True):
    """One check per (buyer, supplier, requirement, due date); a retry updates it in place."""

    __tablename__ = "compliance_checks"
    __table_args__ = (
        sa.UniqueConstraint(
            "buyer_id", "supplier_id", "requirement", "due_on", name="uq_compliance_checks_due"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    requirement: RequirementType = Field(sa_type=StrEnumType(RequirementType, 32))
    due_on: date
    outcome: str = Field(max_length=32)  # delivered | refused | unavailable | pending | ...
    status: RequirementStatus | None = Field(
        default=None, sa_type=StrEnumType(RequirementStatus, 32)
    )
    done: bool = False  # False while the source is pending
    attempts: int = 0
    document_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    request_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    message: str | None = Field(default=None, max_length=500)
    started_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class StatusEvent(SQLModel, table=True):
    """A requirement's status changed (audit journal, later webhooks)."""

    __tablename__ = "compliance_events"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    requirement: RequirementType = Field(sa_type=StrEnumType(RequirementType, 32))
    old_status: RequirementStatus | None = Field(
        default=None, sa_type=StrEnumType(RequirementStatus, 32)
    )
    new_status: RequirementStatus = Field(sa_type=StrEnumType(RequirementStatus, 32))
    reason_codes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    why: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class RequestChannel(StrEnum):
    EMAIL = "email"  # an e-mail sent by Vigie (portal invitation, reminder)
    LINK = "link"  # a sign-in link printed and handed over
    NOTE = "note"  # an officer's note: asked by phone, letter, in person


class ComplianceRequest(SQLModel, table=True):
    """The contractor was asked for its documents: who asked, when, how. The grace period of a
    missing document runs from the first request of its gap (R8222-3 C. trav. gives the contractor
    time to answer), and every request appears in the dossier."""

    __tablename__ = "compliance_requests"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", index=True)
    # The requirements asked for (empty: every requirement not in order at that time).
    requirements: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    channel: RequestChannel = Field(sa_type=StrEnumType(RequestChannel, 16))
    by: str | None = Field(default=None, max_length=200)  # key prefix or user e-mail
    note: str | None = Field(default=None, max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
