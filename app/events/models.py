"""The event feed and its webhooks: events (one per status change, numbered per buyer), the
buyers' endpoints (secrets sealed under the archive keys), their deliveries, and the
Idempotency-Key records of the API."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime, StrEnumType


class EventType(StrEnum):
    SUPPLIER_STATUS_CHANGED = "supplier.status_changed"
    REQUIREMENT_STATUS_CHANGED = "requirement.status_changed"
    DOCUMENT_ARCHIVED = "document.archived"
    UPLOAD_SUBMITTED = "upload.submitted"  # the contractor portal (later)
    UPLOAD_REVIEWED = "upload.reviewed"  # the contractor portal (later)
    CONTRACT_CREATED = "contract.created"
    CONTRACT_UPDATED = "contract.updated"
    IMPORT_COMPLETED = "import.completed"
    TOKEN_EXPIRING = "token.expiring"
    WEBHOOK_DISABLED = "webhook.disabled"  # an endpoint failed for five days: the officer is told


class EventSequence(SQLModel, table=True):
    """The last event number of each buyer. Taking the next one locks this row until the
    transaction ends, so a buyer's events commit in number order: a cursor never skips an
    event committed late (a rolled-back transaction gives its number back)."""

    __tablename__ = "event_sequences"

    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", primary_key=True)
    last_seq: int = Field(default=0, sa_type=sa.BigInteger)


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (sa.UniqueConstraint("buyer_id", "seq", name="uq_events_buyer_seq"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id")
    seq: int = Field(sa_type=sa.BigInteger)
    type: str = Field(max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class WebhookEndpoint(SQLModel, table=True):
    """A buyer's webhook. The signing secret is sealed (AES-GCM under the archive's master keys,
    bound to the endpoint's id); during a rotation the previous one signs too until
    `previous_until`."""

    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=300)
    sealed: bytes
    key_id: str = Field(max_length=64)
    wrapped_key: bytes
    previous_sealed: bytes | None = None
    previous_key_id: str | None = Field(default=None, max_length=64)
    previous_wrapped_key: bytes | None = None
    previous_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    failing_since: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_by: str | None = Field(default=None, max_length=16)  # key prefix
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # handed to the queue (lease_until guards it)
    DELIVERED = "delivered"
    FAILED = "failed"  # every retry used, or the endpoint was disabled


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint: at-least-once, the event id as `webhook-id`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoints.id", index=True)
    event_id: uuid.UUID = Field(foreign_key="events.id")
    state: DeliveryState = Field(
        default=DeliveryState.PENDING, sa_type=StrEnumType(DeliveryState, 16)
    )
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_type=AwareDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    # The attempts (at, status, error, duration in ms), the last ten.
    log: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """A POST made with an `Idempotency-Key`: its fingerprint while it runs, then its answer
    (replayed for 72 hours to the same API key with the same body)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    scope: str = Field(max_length=64)  # the API key's SHA-256 (its stored hash)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)  # SHA-256 of method, path, query and body
    done: bool = False
    status_code: int | None = None
    headers: list[list[str]] = Field(default_factory=list, sa_type=sa.JSON)
    body: bytes | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
