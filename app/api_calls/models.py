import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.db import AwareDateTime


class ApiCall(SQLModel, table=True):
    """One call to API Entreprise, kept 36 months (CGU API Entreprise: traceability).

    Never the token, never the payload: only what identifies the call. `recipient` is the
    buyer's SIRET and `object` the reason given (contract reference or check id)."""

    __tablename__ = "api_calls"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    called_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    buyer_id: uuid.UUID | None = Field(default=None, foreign_key="buyers.id", index=True)
    endpoint: str = Field(max_length=80)
    recipient: str = Field(max_length=14)
    object: str = Field(max_length=50)
    http_status: int | None = None
    error_code: str | None = Field(default=None, max_length=20)
    request_id: str | None = Field(default=None, max_length=100)
    latency_ms: int
    cached: bool = False
    outcome: str | None = Field(default=None, max_length=20)
