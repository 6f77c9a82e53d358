import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime


class Role(StrEnum):
    ADMIN = "admin"  # platform operator: manages buyers and keys
    OFFICER = "officer"  # procurement officer of one buyer
    ERP = "erp"  # ERP system of one buyer
    CONTRACTOR = "contractor"  # one supplier, through the portal


class ApiKey(SQLModel, table=True):
    """An API key: only its SHA-256 is stored; the prefix identifies it in lists and logs."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    prefix: str = Field(max_length=16, unique=True, index=True)
    key_hash: str = Field(max_length=64)
    role: str = Field(max_length=16)
    buyer_id: uuid.UUID | None = Field(default=None, foreign_key="buyers.id", index=True)
    supplier_id: uuid.UUID | None = Field(default=None, foreign_key="suppliers.id", index=True)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class ApiKeyPublic(SQLModel):
    prefix: str
    role: str
    buyer_id: uuid.UUID | None
    supplier_id: uuid.UUID | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
