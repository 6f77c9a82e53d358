import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime
from app.identifiers import Siret


class BuyerBase(SQLModel):
    siret: str = Field(max_length=14, unique=True, index=True)
    name: str = Field(max_length=200)


class Buyer(BuyerBase, table=True):
    """A public buyer: the tenant. Nothing of one buyer is visible to another."""

    __tablename__ = "buyers"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class BuyerCreate(SQLModel):
    siret: Siret
    name: str = Field(min_length=1, max_length=200)


class BuyerPublic(BuyerBase):
    id: uuid.UUID
    created_at: datetime
