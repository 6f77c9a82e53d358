"""The shapes of the event feed and the webhooks API."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventPublic(BaseModel):
    """One event: the same JSON in the feed and in a webhook's body (`id` = `webhook-id`)."""

    id: uuid.UUID
    cursor: str = Field(description="Its position in the buyer's feed (`after=` resumes here)")
    type: str
    timestamp: datetime
    data: dict[str, Any] = Field(
        description="`buyer_siret`; for a supplier: `supplier` (`siren` or `foreign_id` and "
        "`country`), `old_status`, `new_status`, `reasons`"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "01937a4e-5b1c-7d2e-9f00-1a2b3c4d5e6f",
                "cursor": "42",
                "type": "supplier.status_changed",
                "timestamp": "2026-11-30T08:15:00Z",
                "data": {
                    "buyer_siret": "21750001600019",
                    "supplier": {"siren": "100000066", "foreign_id": None, "country": None},
                    "old_status": "compliant",
                    "new_status": "non_compliant",
                    "reasons": [{"code": "urssaf_refused", "message": "…"}],
                },
            }
        }
    )


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str = Field(description="Give it as `after` next time (even when empty)")


_WEBHOOK_CREATE_SCHEMA: dict[str, Any] = {
    "description": "Un point de réception d'événements (Standard Webhooks) : son URL et "
    "les types d'événements voulus.",
    "examples": [
        {
            "url": "https://erp.exemple.fr/vigie",
            "events": ["supplier.status_changed", "contract.created"],
            "description": "ERP finances",
        }
    ],
}


class WebhookCreate(BaseModel, extra="forbid", json_schema_extra=_WEBHOOK_CREATE_SCHEMA):
    url: str = Field(min_length=1, max_length=2000, examples=["https://erp.exemple.fr/vigie"])
    events: list[str] = Field(min_length=1, max_length=20, examples=[["supplier.status_changed"]])
    description: str | None = Field(default=None, max_length=200)


_WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": "0193a1f2-7c3e-7d41-9a55-3b2f6c1d8e90",
    "url": "https://erp.exemple.fr/vigie",
    "events": ["supplier.status_changed", "contract.created"],
    "description": "ERP finances",
    "enabled": True,
    "disabled_reason": None,
    "failing_since": None,
    "previous_secret_valid_until": None,
    "created_at": "2026-11-29T08:00:00Z",
}


class WebhookPublic(
    BaseModel,
    json_schema_extra={
        "description": "Un webhook enregistré : son état, et depuis quand il échoue s'il échoue.",
        "examples": [_WEBHOOK_EXAMPLE],
    },
):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_valid_until: datetime | None
    created_at: datetime


class WebhookCreated(
    WebhookPublic,
    json_schema_extra={
        "description": "Le webhook créé, avec son secret de signature (montré une seule fois).",
        "examples": [{**_WEBHOOK_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
    },
):
    secret: str = Field(description="The signing secret (`whsec_…`): shown once, keep it")


class WebhookPage(BaseModel):
    items: list[WebhookPublic]


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret, shown once")
    previous_secret_valid_until: datetime = Field(
        description="Until then both secrets sign every message (`webhook-signature` carries two)"
    )


_REPLAY_REQUEST_SCHEMA: dict[str, Any] = {
    "description": "Rejouer vers ce webhook les événements depuis un instant.",
    "examples": [{"since": "2026-11-29T08:00:00Z"}],
}


class ReplayRequest(BaseModel, extra="forbid", json_schema_extra=_REPLAY_REQUEST_SCHEMA):
    since: datetime = Field(description="Events from this instant on (the feed keeps 30 days)")


class ReplayQueued(
    BaseModel,
    json_schema_extra={
        "description": "Le nombre d'événements remis en file pour ce webhook.",
        "examples": [{"queued": 42}],
    },
):
    queued: int


class TestDelivery(BaseModel):
    delivered: bool
    webhook_id: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    log: list[dict[str, Any]]
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None
