import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime
from app.identifiers import Siret, clean_text


class BuyerBase(SQLModel):
    siret: str = Field(max_length=14, unique=True, index=True)
    name: str = Field(max_length=200)


class Buyer(BuyerBase, table=True):
    """A public buyer: the tenant. Nothing of one buyer is visible to another."""

    __tablename__ = "buyers"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


_BUYER_CREATE_SCHEMA: dict[str, Any] = {
    "description": "Un acheteur public, par son SIRET.",
    "examples": [{"siret": "21750001600019", "name": "Ville de Paris"}],
}


class BuyerCreate(SQLModel):
    model_config = {"json_schema_extra": _BUYER_CREATE_SCHEMA}

    siret: Siret
    name: str = Field(min_length=1, max_length=200)

    _text = field_validator("name", mode="before")(clean_text)


class BuyerPublic(BuyerBase):
    id: uuid.UUID
    created_at: datetime


class BuyerToken(SQLModel, table=True):
    """A buyer's own API Entreprise token, sealed like an archived document (AES-256-GCM under a
    fresh data key wrapped by the archive's master key `key_id`): never stored in clear.

    `token_hash` (first 12 hex of its SHA-256) and `expires_at` (the JWT's `exp`) let the
    doctor and the logs name and age the token without unsealing it."""

    __tablename__ = "buyer_tokens"

    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", primary_key=True)
    sealed: bytes = Field(sa_type=sa.LargeBinary)
    key_id: str = Field(max_length=64)
    wrapped_key: bytes = Field(sa_type=sa.LargeBinary)
    token_hash: str = Field(max_length=12)
    expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
