"""Accounts, single-use sign-in links and server-side sessions. Links and session tokens are
random 256-bit secrets: only their SHA-256 is stored (a stolen database opens no session)."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime

LOCAL_ISSUER = "local"  # accounts signed in by e-mailed link (no identity provider)


class UserRole(StrEnum):
    OFFICER = "officer"  # a procurement officer of one buyer
    ADMIN = "admin"  # an officer who also manages the buyer's users and keys
    CONTRACTOR = "contractor"  # a supplier's contact (the portal)


class User(SQLModel, table=True):
    """A person. Keyed on (issuer, subject) for an identity provider (ProConnect's `sub` is
    specific to each provider), never on e-mail alone; local accounts have issuer `local`."""

    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    email: str = Field(max_length=254, index=True)  # lower-case
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=16)
    buyer_id: uuid.UUID | None = Field(default=None, foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID | None = Field(default=None, foreign_key="suppliers.id", index=True)
    issuer: str = Field(default=LOCAL_ISSUER, max_length=255)
    subject: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class SignInLink(SQLModel, table=True):
    """A single-use link, valid a short while. Opening it (GET) spends nothing: mail scanners
    open every link; only the POST of its confirmation page does."""

    __tablename__ = "sign_in_links"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser: revocable, with an idle and an absolute lifetime. `buyer_id` /
    `supplier_id` are what this session sees (an agent may belong to several buyers)."""

    __tablename__ = "web_sessions"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    buyer_id: uuid.UUID | None = Field(default=None, foreign_key="buyers.id")
    supplier_id: uuid.UUID | None = Field(default=None, foreign_key="suppliers.id")
    method: str = Field(max_length=16)  # link | proconnect
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)  # the absolute limit
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # The identity provider's id_token, needed for its logout (`id_token_hint`); not a secret
    # that opens anything by itself, and gone with the session.
    id_token: str | None = Field(default=None, sa_type=sa.Text)


class AccessStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class AccessRequest(SQLModel, table=True):
    """An agent's first ProConnect sign-in at a buyer (the establishment whose SIRET the
    identity provider sent): the buyer's admin approves or refuses it on `/parametres`. One per
    (buyer, issuer, subject); the account exists only once it is approved."""

    __tablename__ = "access_requests"
    __table_args__ = (
        sa.UniqueConstraint("buyer_id", "issuer", "subject", name="uq_access_requests_identity"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=254)
    name: str | None = Field(default=None, max_length=200)
    siret: str = Field(max_length=14)
    idp_id: str | None = Field(default=None, max_length=255)
    status: str = Field(default=AccessStatus.PENDING.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_attempt_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
