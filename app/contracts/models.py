import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.common import utcnow, uuid7
from app.compliance.rules import OverallStatus
from app.contracts.parsing import CONTRACT_REQUIREMENTS, parse_amount, parse_cpv
from app.db import AwareDateTime, StrEnumType
from app.identifiers import OptionalSiren, OptionalSiret, clean_text

Amount = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]


class SocialRegime(StrEnum):
    """Who issues a French holder's attestation de vigilance (D8222-5 1° C. trav.)."""

    GENERAL = "general"  # the URSSAF
    MSA = "msa"  # the Mutualité sociale agricole, for the agricultural regime (L243-15 CSS)


class Contract(SQLModel, table=True):
    """A contract of a buyer at or above the vigilance threshold (Code du travail R8222-1)."""

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("buyer_id", "reference", name="uq_contracts_buyer_reference"),
    )

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    buyer_id: uuid.UUID = Field(foreign_key="buyers.id", index=True)
    reference: str = Field(max_length=100)
    object: str = Field(max_length=1000)
    amount_ht: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    notified_on: date
    ends_on: date = Field(index=True)
    duration_months: int | None = None
    cpv_code: str | None = Field(default=None, max_length=10)
    extra_requirements: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The contractor employs foreign workers: the list of them (D8254-2 to D8254-5 C. trav.,
    # asked under R2143-8 C. commande publique) is a requirement, by upload.
    foreign_workers: bool = False
    content_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ContractHolder(SQLModel, table=True):
    """A holder (titulaire or co-contractor) of a contract; the SIRET is the establishment."""

    __tablename__ = "contract_holders"

    contract_id: uuid.UUID = Field(foreign_key="contracts.id", primary_key=True)
    supplier_id: uuid.UUID = Field(foreign_key="suppliers.id", primary_key=True, index=True)
    siret: str | None = Field(default=None, max_length=14)
    # `msa`: the MSA's attestation replaces the URSSAF's for this holder (agricultural regime).
    social_regime: SocialRegime = Field(
        default=SocialRegime.GENERAL, sa_type=StrEnumType(SocialRegime, 16)
    )
    # The supplier's code in the buyer's ERP ("code tiers"): public-sector ERPs know suppliers by
    # it, so it is kept where the supplier meets this buyer's contract, and searchable.
    code_tiers: str | None = Field(default=None, max_length=64, index=True)


class ContractAmendment(SQLModel, table=True):
    """An avenant: what changed, when, by which key. Kept for the evidence trail."""

    __tablename__ = "contract_amendments"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    contract_id: uuid.UUID = Field(foreign_key="contracts.id", index=True)
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    by_key_prefix: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


# --- API schemas -------------------------------------------------------------------------------


_HOLDER_IN_SCHEMA: dict[str, Any] = {
    "examples": [
        {"siret": "34728378028621", "code_tiers": "F00412"},
        {"foreign_id": "HRB12345", "country": "DE", "name": "Bau GmbH"},
    ]
}


class HolderIn(SQLModel):  # a typo in a field name is an error
    """`{"siret"}`, `{"siren"}` or, for a foreign company, `{"foreign_id", "country", "name"}`."""

    model_config = {"extra": "forbid", "json_schema_extra": _HOLDER_IN_SCHEMA}

    siret: OptionalSiret = None
    siren: OptionalSiren = None
    foreign_id: str | None = Field(default=None, min_length=1, max_length=64)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    name: str | None = Field(default=None, max_length=200)
    social_regime: SocialRegime = Field(
        default=SocialRegime.GENERAL,
        description="`msa`: agricultural regime, the MSA's attestation replaces the URSSAF's",
    )
    code_tiers: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The supplier's code in the buyer's ERP (code tiers), kept and searchable",
    )

    _text = field_validator("name", "code_tiers", mode="before")(clean_text)

    @model_validator(mode="after")
    def _one_identity(self) -> "HolderIn":
        french = bool(self.siret or self.siren)
        mismatch = bool(self.siret and self.siren and self.siret[:9] != self.siren)
        if french == bool(self.foreign_id) or mismatch:
            raise PydanticCustomError(
                "invalid_holder",
                "Un titulaire s'identifie soit par son SIRET (ou SIREN), soit, pour une entreprise "
                "étrangère, par foreign_id, country et name.",
            )
        if self.siret and self.siren is None:
            self.siren = self.siret[:9]
        if self.foreign_id:
            country = (self.country or "").upper()
            if not country.isalpha() or len(country) != 2 or country == "FR" or not self.name:
                raise PydanticCustomError(
                    "invalid_holder",
                    "Une entreprise étrangère demande foreign_id, un code pays ISO à deux lettres "
                    "(hors FR : une entreprise française s'identifie par son SIREN) et un nom.",
                )
            self.country = country
            # As addresses name it (`/v1/suppliers/DEHRB12345`): letters and digits, upper case
            # (`hrb 12345` typed in an ERP would otherwise be a supplier nobody can reach).
            self.foreign_id = re.sub(r"[^0-9A-Za-z]", "", self.foreign_id).upper()
            if not self.foreign_id:
                raise PydanticCustomError(
                    "invalid_holder",
                    "L'identifiant d'une entreprise étrangère doit contenir des lettres ou des "
                    "chiffres.",
                )
            if self.social_regime != SocialRegime.GENERAL:
                raise PydanticCustomError(
                    "invalid_holder",
                    "Le régime agricole (MSA) ne concerne que les entreprises françaises : une "
                    "entreprise étrangère justifie de sa couverture sociale dans son pays.",
                )
        return self

    def identity(self) -> tuple[str, ...]:
        if self.siren:
            return ("siren", self.siren, self.siret or "")
        return ("foreign", self.country or "", self.foreign_id or "")

    def content(self) -> tuple[str, ...]:
        """The identity, the regime when not the default and the ERP code when given: what an
        amendment compares and the content hash covers (defaults add nothing, so hashes of older
        contracts still hold)."""
        content = self.identity()
        if self.social_regime != SocialRegime.GENERAL:
            content = (*content, f"regime:{self.social_regime}")
        if self.code_tiers:
            content = (*content, f"code_tiers:{self.code_tiers}")
        return content


def _check_requirements(values: list[str]) -> list[str]:
    unknown = sorted(set(values) - CONTRACT_REQUIREMENTS)
    if unknown:
        raise PydanticCustomError(
            "invalid_requirement",
            "Exigence inconnue : {unknown}. Valeurs possibles : {allowed}.",
            {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(CONTRACT_REQUIREMENTS))},
        )
    return sorted(set(values))


_EXTRA_REQUIREMENTS = (
    "Certificates the contract asks for (never inferred): fntp_card, qualibat, rge, cnetp, cibtp, "
    "opqibi, probtp; `msa_vigilance`: the MSA's attestation instead of the URSSAF's for every "
    "French holder"
)
_FOREIGN_WORKERS = (
    "The contractor employs foreign workers: the list of them (D8254-2 to D8254-5 C. trav., "
    "R2143-8 C. commande publique) is required, by upload"
)


_CONTRACT_CREATE_SCHEMA: dict[str, Any] = {
    "description": "Un contrat notifié, au-dessus du seuil de vigilance (5 000 € HT), et "
    "ses titulaires.",
    "examples": [
        {
            "reference": "2026-TRAV-017",
            "object": "Réfection de la toiture de l'école Jules-Ferry",
            "amount_ht": "148500.00",
            "notified_on": "2026-03-02",
            "duration_months": 18,
            "holders": [{"siret": "34728378028621", "code_tiers": "F00412"}],
            "cpv_code": "45261000",
        }
    ],
}


class ContractCreate(SQLModel):
    model_config = {"extra": "forbid", "json_schema_extra": _CONTRACT_CREATE_SCHEMA}

    reference: str = Field(min_length=1, max_length=100)
    object: str = Field(min_length=1, max_length=1000)
    amount_ht: Amount
    notified_on: date
    ends_on: date | None = None
    duration_months: int | None = Field(default=None, ge=1, le=1200)
    holders: list[HolderIn] = Field(min_length=1, max_length=50)
    cpv_code: Annotated[str | None, BeforeValidator(parse_cpv)] = None
    extra_requirements: list[str] = Field(default_factory=list, description=_EXTRA_REQUIREMENTS)
    foreign_workers: bool = Field(default=False, description=_FOREIGN_WORKERS)

    _requirements = field_validator("extra_requirements")(_check_requirements)

    # Before the length checks: a blank reference is an empty one.
    _text = field_validator("reference", "object", mode="before")(clean_text)


_CONTRACT_UPDATE_SCHEMA: dict[str, Any] = {
    "examples": [{"amount_ht": "162000.00", "duration_months": 20}]
}


class ContractUpdate(SQLModel):
    """An amendment (avenant): only the fields given change; `null` leaves a field unchanged
    (except `cpv_code`, cleared by `null`). `reference` and `notified_on` change only until the
    first check of a holder: see `PATCH /v1/contracts/{id}`."""

    model_config = {"extra": "forbid", "json_schema_extra": _CONTRACT_UPDATE_SCHEMA}

    reference: str | None = Field(default=None, min_length=1, max_length=100)
    object: str | None = Field(default=None, min_length=1, max_length=1000)
    amount_ht: Amount | None = None
    notified_on: date | None = None
    ends_on: date | None = None
    duration_months: int | None = Field(default=None, ge=1, le=1200)
    holders: list[HolderIn] | None = Field(default=None, min_length=1, max_length=50)
    cpv_code: Annotated[str | None, BeforeValidator(parse_cpv)] = None
    extra_requirements: list[str] | None = Field(default=None, description=_EXTRA_REQUIREMENTS)
    foreign_workers: bool | None = Field(default=None, description=_FOREIGN_WORKERS)

    _requirements = field_validator("extra_requirements")(
        lambda v: None if v is None else _check_requirements(v)
    )

    _text = field_validator("reference", "object", mode="before")(clean_text)


class HolderPublic(SQLModel):
    supplier_id: uuid.UUID
    siren: str | None
    siret: str | None
    foreign_id: str | None
    country: str | None
    name: str | None
    social_regime: SocialRegime | None = Field(
        description="French holders only (null for a foreign one): `general` (URSSAF) or `msa`"
    )
    code_tiers: str | None = Field(
        default=None, description="The supplier's code in the buyer's ERP (code tiers)"
    )


class ContractPublic(SQLModel):
    id: uuid.UUID
    reference: str
    object: str
    amount_ht: Amount
    notified_on: date
    ends_on: date
    duration_months: int | None
    cpv_code: str | None
    extra_requirements: list[str]
    foreign_workers: bool
    holders: list[HolderPublic]
    status: OverallStatus = Field(
        description="The contract's compliance: its worst holder's, as in `GET "
        "/v1/contracts/{id}/compliance` (which gives the reasons)"
    )
    created_at: datetime
    updated_at: datetime


class ContractPage(SQLModel):
    items: list[ContractPublic]
    next_cursor: str | None


class AmendmentPublic(SQLModel):
    id: uuid.UUID
    changes: dict[str, Any] = Field(
        description="Each changed field: `[before, after]` (holders: their identities)"
    )
    by_key_prefix: str | None = Field(description="The API key that recorded it")
    created_at: datetime


class AmendmentPage(SQLModel):
    items: list[AmendmentPublic]
    next_cursor: str | None
