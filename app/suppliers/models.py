import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime


class SupplierBase(SQLModel):
    siren: str | None = Field(default=None, max_length=9, unique=True, index=True)
    foreign_id: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    name: str | None = Field(default=None, max_length=200)


class Supplier(SupplierBase, table=True):
    """A company, French (SIREN) or foreign (national id + country): one row across all buyers."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("country", "foreign_id", name="uq_suppliers_foreign"),)

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    # The head office's postal address on one line, from Sirene (diffusible units only), set by
    # the registration check; never typed in by a buyer.
    address: str | None = Field(default=None, max_length=300)

    @property
    def is_foreign(self) -> bool:
        return self.siren is None


class SupplierPublic(SupplierBase):
    id: uuid.UUID
    kind: str
    address: str | None = None
    created_at: datetime
