"""What a call to API Entreprise produced, as data: callers branch on `Outcome.kind`, never on
exceptions (upstream trouble never leaks upward as an exception)."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"  # data (and document) obtained
    REFUSED = "refused"  # URSSAF entity_status.code == "refus_de_delivrance" (not up to date)
    UNAVAILABLE = "unavailable"  # not from this source: 404 outside perimeter, DGFIP not subject…
    UNKNOWN_ENTITY = "unknown_entity"  # the SIREN/SIRET does not exist at all (INSEE 404)
    PENDING = "pending"  # try again at retry_at: 409, 429, 502/504, timeouts, maintenance, breaker
    CONFIG_ERROR = "config_error"  # 401/403: token expired, missing right — alert, do not retry
    BUG = "bug"  # 422 or an answer that does not parse: fail loudly


@dataclass(frozen=True)
class FetchedDocument:
    content: bytes
    sha256: str
    media_type: str  # "application/pdf" for documents


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    endpoint: str  # stable operation name, e.g. "urssaf_attestation_vigilance"
    http_status: int | None
    error_code: str | None = None  # upstream errors[0].code, e.g. "04501"
    message: str | None = None  # upstream title/detail (French), for reasons
    retry_at: datetime | None = None
    request_id: str | None = None  # X-Request-ID
    data: BaseModel | None = None  # the typed pydantic model of `data`
    raw: dict[str, Any] | None = None  # the JSON body (archived as canonical JSON without a PDF)
    document: FetchedDocument | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    security_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.DELIVERED


@dataclass(frozen=True)
class CallRecord:
    """One HTTP call, for the `api_calls` audit table (kept 36 months). Never the token, never
    the payload: only what identifies the call (CGU API Entreprise, traceability)."""

    when: datetime
    endpoint: str
    recipient: str
    object: str
    http_status: int | None
    error_code: str | None
    request_id: str | None
    latency_ms: int
    cached: bool
    outcome: str | None = None
