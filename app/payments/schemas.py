"""The shapes of `POST /v1/payment-checks`."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_ITEMS = 1000
NOTICE = (
    "Avis, pas une décision : la loi ne donne pas à l'acheteur le droit de suspendre un paiement "
    "pour ce motif, et les délais de paiement courent (R2192-10 du Code de la commande publique). "
    "Face à un manquement, l'acheteur public enjoint au titulaire de régulariser (L8222-6 du Code "
    "du travail) et garde la trace de sa vigilance."
)


class Advice(StrEnum):
    OK = "ok"
    WARNING = "warning"
    HOLD_RECOMMENDED = "hold_recommended"


class PaymentCheckItem(BaseModel, extra="forbid"):
    """One invoice about to be paid: the supplier by `siren` or `siret` (or a foreign identifier
    prefixed with its country in `siren`), and what the ERP knows of it."""

    siren: str | None = Field(default=None, max_length=64, examples=["100000066"])
    siret: str | None = Field(default=None, max_length=64)
    contract_reference: str | None = Field(default=None, max_length=100)
    invoice_reference: str | None = Field(default=None, max_length=100)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)

    @model_validator(mode="after")
    def _one_identifier(self) -> "PaymentCheckItem":
        if (self.siren is None) == (self.siret is None):
            raise ValueError("siren ou siret : l'un des deux exactement")
        return self


class PaymentChecksIn(BaseModel):
    items: list[PaymentCheckItem] = Field(min_length=1, max_length=MAX_ITEMS)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "items": [
                    {
                        "siren": "100000066",
                        "contract_reference": "MARCHE-2026-001",
                        "invoice_reference": "FAC-0042",
                        "amount": "12000.00",
                    }
                ]
            }
        },
    )


class PaymentAdvice(BaseModel):
    """The advice for one item: `ok`, `warning` (a risk, or nothing to show), or
    `hold_recommended` (a red flag: refused attestation, ceased company, liquidation…)."""

    index: int
    siren: str | None
    siret: str | None
    contract_reference: str | None
    invoice_reference: str | None
    amount: Decimal | None
    advice: Advice
    status: str | None = Field(description="The supplier's overall status under the buyer")
    reasons: list[dict[str, Any]]
    legal_basis: list[str]
    as_of: datetime | None = Field(description="The last check behind this advice")
    evidence_document_ids: list[uuid.UUID]


class PaymentChecksOut(BaseModel):
    notice: str = Field(description="What this advice is, and what it is not")
    evaluated_at: datetime
    items: list[PaymentAdvice]
