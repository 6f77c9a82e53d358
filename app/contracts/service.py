"""Contracts: create (idempotent on the buyer's reference), read one, amend (the read side of
pages and lists is `queries.py`)."""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.rules import CompliancePolicy
from app.compliance.rules.calendar import add_months
from app.contracts.models import (
    Contract,
    ContractAmendment,
    ContractCreate,
    ContractHolder,
    ContractPublic,
    ContractUpdate,
    HolderIn,
)
from app.contracts.queries import holder_rows, to_public
from app.errors import Conflict, NotFound, ValidationFailed, field_error
from app.suppliers.service import ensure_supplier


@dataclass(frozen=True)
class Saved:
    contract: ContractPublic
    created: bool


# Plausible dates for a contract under way: a typo such as 0026 or 9999 is an error, not a
# schedule of thousands of six-monthly checks (and 9999 + duration would overflow).
EARLIEST_DATE, LATEST_DATE = date(1990, 1, 1), date(2199, 12, 31)


def end_of_execution(notified_on: date, duration_months: int) -> date:
    """A 12-month contract notified on 15 Jan ends on 14 Jan of the next year."""
    return add_months(notified_on, duration_months) - timedelta(days=1)


def _check_amount(amount: Decimal, threshold: Decimal) -> None:
    if amount < threshold:
        raise ValidationFailed(
            f"Le montant de {amount:.2f} € HT est sous le seuil de vigilance de {threshold:.2f} € HT "
            "(Code du travail, R8222-1) : Vigie ne suit que les contrats au-dessus.",
            code="below_vigilance_threshold",
            title="Contrat sous le seuil de vigilance",
            errors=[
                field_error(
                    "/amount_ht", "Montant sous le seuil de vigilance.", "below_vigilance_threshold"
                )
            ],
        )


def _resolve_end(notified_on: date, ends_on: date | None, duration: int | None) -> date:
    if (ends_on is None) == (duration is None):
        raise ValidationFailed(
            "Indiquez soit la date de fin d'exécution (ends_on), soit la durée en mois "
            "(duration_months), l'une des deux et pas les deux.",
            code="invalid_dates",
            errors=[
                field_error("/ends_on", "ends_on ou duration_months, un seul.", "invalid_dates")
            ],
        )
    for pointer, day, label in (
        ("/notified_on", notified_on, "notification"),
        ("/ends_on", ends_on, "fin"),
    ):
        if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValidationFailed(
                f"La date de {label} ({day.isoformat()}) n'est pas plausible : attendue entre "
                f"{EARLIEST_DATE:%Y} et {LATEST_DATE:%Y}.",
                code="invalid_dates",
                errors=[field_error(pointer, "Date hors de la plage plausible.", "invalid_dates")],
            )
    end = ends_on if ends_on is not None else end_of_execution(notified_on, duration or 0)
    if end < notified_on:
        raise ValidationFailed(
            f"La fin d'exécution ({end:%d/%m/%Y}) précède la notification ({notified_on:%d/%m/%Y}).",
            code="invalid_dates",
            errors=[field_error("/ends_on", "Fin antérieure à la notification.", "invalid_dates")],
        )
    return end


def _content_hash(contract: Contract, holders: list[HolderIn]) -> str:
    content: dict[str, Any] = {
        "reference": contract.reference,
        "object": contract.object,
        "amount_ht": f"{contract.amount_ht:.2f}",
        "notified_on": contract.notified_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(),
        "cpv_code": contract.cpv_code,
        "extra_requirements": sorted(contract.extra_requirements),
        "holders": sorted(h.content() for h in holders),
    }
    # Flags enter the hash only when set: hashes of contracts stored before them still match.
    if contract.foreign_workers:
        content["foreign_workers"] = True
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _dedupe(holders: list[HolderIn]) -> list[HolderIn]:
    seen: dict[tuple[str, ...], HolderIn] = {}
    for holder in holders:
        key = ("siren", holder.siren) if holder.siren else holder.identity()
        if key in seen:
            raise ValidationFailed(
                "Le même titulaire figure deux fois dans la liste.",
                code="invalid_holder",
                errors=[field_error("/holders", "Titulaire en double.", "invalid_holder")],
            )
        seen[key] = holder
    return list(seen.values())


async def _set_holders(session: AsyncSession, contract: Contract, holders: list[HolderIn]) -> None:
    await session.exec(delete(ContractHolder).where(col(ContractHolder.contract_id) == contract.id))
    for holder in holders:
        supplier = await ensure_supplier(session, holder)
        session.add(
            ContractHolder(
                contract_id=contract.id,
                supplier_id=supplier.id,
                siret=holder.siret,
                social_regime=holder.social_regime,
            )
        )
    await session.flush()


async def create_contract(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    data: ContractCreate,
    *,
    threshold: Decimal,
    policy: CompliancePolicy | None = None,
) -> Saved:
    policy = policy or CompliancePolicy()
    _check_amount(data.amount_ht, threshold)
    ends_on = _resolve_end(data.notified_on, data.ends_on, data.duration_months)
    holders = _dedupe(data.holders)
    contract = Contract(
        buyer_id=buyer_id,
        reference=data.reference,
        object=data.object,
        amount_ht=data.amount_ht,
        notified_on=data.notified_on,
        ends_on=ends_on,
        duration_months=data.duration_months,
        cpv_code=data.cpv_code,
        extra_requirements=data.extra_requirements,
        foreign_workers=data.foreign_workers,
        content_hash="",
    )
    contract.content_hash = _content_hash(contract, holders)
    existing = await _by_reference(session, buyer_id, data.reference)
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(contract)
                await session.flush()
                await _set_holders(session, contract, holders)
            return Saved(await to_public(session, contract, policy=policy), created=True)
        except IntegrityError:  # a concurrent post of the same reference won the race
            existing = await _by_reference(session, buyer_id, data.reference)
            if existing is None:
                raise
    if existing.content_hash != contract.content_hash:
        raise Conflict(
            f"Un contrat de référence « {data.reference} » existe déjà avec un autre contenu. "
            f"Pour l'amender, utilisez PATCH /v1/contracts/{existing.id}.",
            code="contract_reference_conflict",
            title="Référence déjà utilisée",
        )
    return Saved(await to_public(session, existing, policy=policy), created=False)


async def _by_reference(
    session: AsyncSession, buyer_id: uuid.UUID, reference: str
) -> Contract | None:
    query = select(Contract).where(Contract.buyer_id == buyer_id, Contract.reference == reference)
    return (await session.exec(query)).first()


async def get_contract(
    session: AsyncSession, buyer_id: uuid.UUID, contract_id: uuid.UUID
) -> Contract:
    contract = await session.get(Contract, contract_id)
    if contract is None or contract.buyer_id != buyer_id:  # another tenant's: 404, never 403
        raise NotFound("Aucun contrat avec cet identifiant.", code="contract_not_found")
    return contract


async def amend_contract(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    contract_id: uuid.UUID,
    data: ContractUpdate,
    *,
    threshold: Decimal,
    by_key_prefix: str | None = None,
    policy: CompliancePolicy | None = None,
) -> ContractPublic:
    contract = await get_contract(session, buyer_id, contract_id)
    given = data.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "amount_ht" in given and data.amount_ht is not None:
        _check_amount(data.amount_ht, threshold)
    if "ends_on" in given or "duration_months" in given:
        ends_on = _resolve_end(contract.notified_on, data.ends_on, data.duration_months)
        if ends_on != contract.ends_on:
            changes["ends_on"] = [contract.ends_on.isoformat(), ends_on.isoformat()]
        contract.ends_on, contract.duration_months = ends_on, data.duration_months
    for field in ("object", "amount_ht", "cpv_code", "extra_requirements", "foreign_workers"):
        # null means "unchanged" for required fields; the optional CPV code is cleared by null.
        if (
            field in given
            and (given[field] is not None or field == "cpv_code")
            and getattr(contract, field) != getattr(data, field)
        ):
            changes[field] = [_plain(getattr(contract, field)), _plain(getattr(data, field))]
            setattr(contract, field, getattr(data, field))
    holders = await _holders_in(session, contract)
    if data.holders is not None:
        new_holders = _dedupe(data.holders)
        if sorted(h.content() for h in new_holders) != sorted(h.content() for h in holders):
            changes["holders"] = [
                [list(h.content()) for h in holders],
                [list(h.content()) for h in new_holders],
            ]
            await _set_holders(session, contract, new_holders)
            holders = new_holders
    if changes:
        contract.updated_at = utcnow()
        contract.content_hash = _content_hash(contract, holders)
        session.add(contract)
        session.add(
            ContractAmendment(contract_id=contract.id, changes=changes, by_key_prefix=by_key_prefix)
        )
        await session.flush()
    return await to_public(session, contract, policy=policy or CompliancePolicy())


def _plain(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


async def _holders_in(session: AsyncSession, contract: Contract) -> list[HolderIn]:
    rows = (await holder_rows(session, [contract.id])).get(contract.id, [])
    return [
        HolderIn.model_construct(
            siren=s.siren,
            siret=h.siret,
            foreign_id=s.foreign_id,
            country=s.country,
            name=s.name,
            social_regime=h.social_regime,
        )
        for h, s in rows
    ]
