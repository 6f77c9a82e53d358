"""The compliance API's public shapes. Types, statuses and overall statuses are enums, so the
OpenAPI document lists their values (ERP clients generate code from it)."""

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import Field
from sqlmodel import SQLModel

from app.compliance.models import RequestChannel
from app.compliance.rules import OverallStatus, RequirementStatus, RequirementType


class ReasonPublic(SQLModel):
    """Why a status is what it is: the stable `code`, its French `label` and `message`, the day
    the situation began (`since`), the document or call behind it (`evidence`: a document id
    resolves with `GET /v1/documents/{id}`), and the text of law it applies (`article`)."""

    code: str
    label: str | None = None
    message: str
    since: date | None
    evidence: str | None
    requirement: RequirementType | None = None
    article: str | None = None


class RequirementPublic(SQLModel):
    type: RequirementType
    label: str | None = None  # the requirement in French
    status: RequirementStatus
    status_label: str | None = None
    non_compliant_on: date | None = None  # a gap becomes a non-compliance that day
    valid_until: date | None
    next_check_on: date | None
    document_id: uuid.UUID | None
    last_checked_at: datetime | None
    reasons: list[ReasonPublic]
    alert: str | None = None
    buyer_siret: str | None = None  # set for a contractor, who sees every buyer's needs


class SupplierRef(SQLModel):
    id: uuid.UUID
    siren: str | None
    name: str | None


class SupplierCompliance(SQLModel):
    supplier: SupplierRef
    status: OverallStatus
    status_label: str | None = None
    non_compliant_on: date | None = None  # when at_risk: the day it becomes non_compliant
    reasons: list[ReasonPublic]
    requirements: list[RequirementPublic]


class ContractCompliance(SQLModel):
    contract_id: uuid.UUID
    reference: str
    status: OverallStatus
    status_label: str | None = None
    non_compliant_on: date | None = None
    reasons: list[ReasonPublic]
    holders: list[SupplierCompliance]


class Gap(SQLModel):
    id: uuid.UUID
    supplier: SupplierRef
    type: RequirementType
    status: RequirementStatus
    status_label: str | None = None
    non_compliant_on: date | None = None
    valid_until: date | None
    next_check_on: date | None
    document_id: uuid.UUID | None
    reasons: list[ReasonPublic]


class GapPage(SQLModel):
    items: list[Gap]
    next_cursor: str | None


class CheckAccepted(SQLModel):
    job_id: str | None
    already_running: bool
    detail: str


MAX_LOOKUP = 1000


_LOOKUP_IN_SCHEMA: dict[str, Any] = {
    "description": "Les SIREN dont on veut la conformité, en une requête.",
    "examples": [{"sirens": ["347283780", "268773413"]}],
}


class LookupIn(SQLModel):
    model_config = {"json_schema_extra": _LOOKUP_IN_SCHEMA}

    sirens: list[str] = Field(min_length=1, description=f"At most {MAX_LOOKUP} SIRENs")


class LookupRequirement(SQLModel):
    type: RequirementType
    status: RequirementStatus
    valid_until: date | None


class LookupResult(SQLModel):
    """One SIREN of the batch: `found` with its status, not `found`, or refused on its own
    (`code: invalid_identifier`, `found: null`) while the rest of the batch is answered."""

    siren: str
    found: bool | None
    status: OverallStatus | None
    status_label: str | None = None
    non_compliant_on: date | None = None
    reasons: list[ReasonPublic]
    requirements: list[LookupRequirement]
    code: str | None = None
    detail: str | None = None


class LookupOut(SQLModel):
    results: list[LookupResult]


_REQUEST_IN_SCHEMA: dict[str, Any] = {
    "examples": [
        {
            "channel": "email",
            "note": "Relance du 2 mars",
            "requirements": ["urssaf_vigilance"],
        }
    ]
}


class RequestIn(SQLModel):
    """The contractor was asked for its documents (the grace period runs from this request)."""

    model_config = {"extra": "forbid", "json_schema_extra": _REQUEST_IN_SCHEMA}

    channel: RequestChannel = RequestChannel.NOTE
    note: str | None = Field(default=None, max_length=1000)
    requirements: list[RequirementType] = Field(
        default_factory=list, description="What was asked for; empty: everything not in order"
    )


class RequestPublic(SQLModel):
    id: uuid.UUID
    channel: RequestChannel
    by: str | None
    note: str | None
    requirements: list[RequirementType]
    at: datetime
