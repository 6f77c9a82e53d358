"""Every table, imported once so that `SQLModel.metadata` is complete (alembic, tests)."""

from sqlmodel import SQLModel

from app.api_calls.models import ApiCall
from app.buyers.models import Buyer
from app.compliance.models import Check, ComplianceRequest, RequirementState, StatusEvent
from app.contracts.models import Contract, ContractAmendment, ContractHolder
from app.documents.models import Document, JournalEntry
from app.events.models import (
    Event,
    EventSequence,
    IdempotencyRecord,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.imports.models import ImportRun
from app.keys.models import ApiKey
from app.suppliers.models import Supplier
from app.uploads.models import ContractorInvitation, ReminderOptOut, ReminderSending, Upload
from app.users.models import AccessRequest, SignInLink, User, WebSession

metadata = SQLModel.metadata

__all__ = [
    "AccessRequest",
    "ApiCall",
    "ApiKey",
    "Buyer",
    "Check",
    "ComplianceRequest",
    "Contract",
    "ContractAmendment",
    "ContractHolder",
    "ContractorInvitation",
    "Document",
    "Event",
    "EventSequence",
    "IdempotencyRecord",
    "ImportRun",
    "JournalEntry",
    "ReminderOptOut",
    "ReminderSending",
    "RequirementState",
    "SignInLink",
    "StatusEvent",
    "Supplier",
    "Upload",
    "User",
    "WebSession",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
