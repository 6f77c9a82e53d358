"""Contracts: create (idempotent on the buyer's reference), read one, amend (the read side of
pages and lists is `queries.py`)."""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, insert, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.models import Check
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
from app.events import hooks as events
from app.suppliers.models import Supplier
from app.suppliers.service import ensure_supplier

_CONTRACTS = Contract.__table__  # type: ignore[attr-defined]
_HOLDERS = ContractHolder.__table__  # type: ignore[attr-defined]
_SUPPLIERS = Supplier.__table__  # type: ignore[attr-defined]


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


def content_hash_for(data: ContractCreate) -> str:
    """The content hash `create_contract` stores for `data`: an importer compares it with a
    stored contract's to know, without writing, that there is nothing to amend."""
    ends_on = _resolve_end(data.notified_on, data.ends_on, data.duration_months)
    contract = Contract.model_construct(
        reference=data.reference,
        object=data.object,
        amount_ht=data.amount_ht,
        notified_on=data.notified_on,
        ends_on=ends_on,
        cpv_code=data.cpv_code,
        extra_requirements=data.extra_requirements,
        foreign_workers=data.foreign_workers,
    )
    return _content_hash(contract, _dedupe(data.holders))


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
                code_tiers=holder.code_tiers,
            )
        )
    await session.flush()


def new_contract(
    buyer_id: uuid.UUID, data: ContractCreate, *, threshold: Decimal
) -> tuple[Contract, list[HolderIn]]:
    """What a contract row is, before any write: `data` checked (threshold, dates, holders) and
    the row with its end and content hash, and its holders. `ValidationFailed` otherwise."""
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
    return contract, holders


def _supplier_key(holder: HolderIn) -> tuple[str | None, ...]:
    return (holder.siren,) if holder.siren else (holder.country, holder.foreign_id)


async def _suppliers_of(
    session: AsyncSession, holders: list[HolderIn]
) -> dict[tuple[str | None, ...], Supplier]:
    """The suppliers of `holders`, read in one query, the missing ones inserted in one statement
    (a concurrent insert of the same company is no error: it is read back), as `ensure_supplier`
    does one at a time (a name learnt fills an empty one)."""
    wanted = {_supplier_key(h): h for h in holders}
    sirens = [k[0] for k in wanted if len(k) == 1]
    foreign = [k for k in wanted if len(k) == 2]

    async def read() -> dict[tuple[str | None, ...], Supplier]:
        found: dict[tuple[str | None, ...], Supplier] = {}
        for i in range(0, len(sirens), 1000):
            query = select(Supplier).where(col(Supplier.siren).in_(sirens[i : i + 1000]))
            found |= {(s.siren,): s for s in (await session.exec(query)).all()}
        if foreign:
            query = select(Supplier).where(
                or_(
                    *(
                        and_(col(Supplier.country) == c, col(Supplier.foreign_id) == f)
                        for c, f in foreign
                    )
                )
            )
            found |= {(s.country, s.foreign_id): s for s in (await session.exec(query)).all()}
        return found

    found = await read()
    missing = [h for k, h in wanted.items() if k not in found]
    if missing:
        conn = await session.connection()
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        rows = [
            Supplier(
                siren=h.siren, foreign_id=h.foreign_id, country=h.country, name=h.name
            ).model_dump()
            for h in missing
        ]
        await conn.execute(insert(_SUPPLIERS).on_conflict_do_nothing(), rows)
        found = await read()
    for key, holder in wanted.items():
        supplier = found[key]
        if holder.name and not supplier.name:
            supplier.name = holder.name
            session.add(supplier)
    return found


async def insert_new_contracts(
    session: AsyncSession, new: list[tuple[Contract, list[HolderIn]]]
) -> None:
    """Write contracts from `new_contract` that no row holds yet, in a few statements whatever
    their number: their suppliers, the rows, their holders, one `contract.created` event each
    (numbered as if created one by one, in the list's order). An `IntegrityError` (a reference
    taken meanwhile) leaves the caller to roll back and create them one by one."""
    if not new:
        return
    await session.flush()  # buyers or suppliers just added: their rows first (foreign keys)
    suppliers = await _suppliers_of(session, [h for _, holders in new for h in holders])
    await session.flush()
    conn = await session.connection()
    await conn.execute(insert(_CONTRACTS), [c.model_dump() for c, _ in new])
    holder_rows_ = [
        {
            "contract_id": contract.id,
            "supplier_id": suppliers[_supplier_key(h)].id,
            "siret": h.siret,
            "social_regime": h.social_regime,
            "code_tiers": h.code_tiers,
        }
        for contract, holders in new
        for h in holders
    ]
    await conn.execute(insert(_HOLDERS), holder_rows_)
    await events.contracts_created(session, [c for c, _ in new])


async def create_contract(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    data: ContractCreate,
    *,
    threshold: Decimal,
    policy: CompliancePolicy | None = None,
) -> Saved:
    policy = policy or CompliancePolicy()
    contract, holders = new_contract(buyer_id, data, threshold=threshold)
    existing = await _by_reference(session, buyer_id, data.reference)
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(contract)
                await session.flush()
                await _set_holders(session, contract, holders)
                await events.contract_changed(session, contract, created=True)
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


# What an amendment may change (PATCH): the rest of the contract follows from these.
# - object, amount_ht (still at or above the threshold), cpv_code (null clears it),
#   extra_requirements, foreign_workers: any time;
# - ends_on or duration_months: any time (an avenant prolongs or shortens execution);
# - holders: any time (an avenant changes the holders; each keeps its own requirement history);
# - reference and notified_on: until a check has run for one of the holders under this buyer.
#   The checks already made were filed under that reference (the `object` of every API Entreprise
#   call) and served due dates computed from that notification (D8222-5 C. trav.: at the
#   conclusion, then every six months): changing either would rewrite the evidence trail.
FROZEN_ONCE_CHECKED = {"reference": "la référence", "notified_on": "la date de notification"}


async def _checks_ran(session: AsyncSession, contract: Contract) -> bool:
    holders = select(ContractHolder.supplier_id).where(ContractHolder.contract_id == contract.id)
    query = (
        select(Check.id)
        .where(Check.buyer_id == contract.buyer_id, col(Check.supplier_id).in_(holders))
        .limit(1)
    )
    return (await session.exec(query)).first() is not None


async def _refuse_frozen(session: AsyncSession, contract: Contract, data: ContractUpdate) -> None:
    changed = [
        field
        for field in FROZEN_ONCE_CHECKED
        if getattr(data, field) is not None and getattr(data, field) != getattr(contract, field)
    ]
    if not changed or not await _checks_ran(session, contract):
        return
    names = " et ".join(FROZEN_ONCE_CHECKED[f] for f in changed)
    raise ValidationFailed(
        f"On ne peut plus modifier {names} de ce contrat : des vérifications ont déjà été faites "
        "pour ses titulaires sur cette base et restent les preuves du dossier. Si le contrat a "
        "été mal saisi, enregistrez-le sous une nouvelle référence.",
        code="immutable_field",
        title="Champ non modifiable",
        errors=[
            field_error(f"/{f}", "Non modifiable après une vérification.", "immutable_field")
            for f in changed
        ],
    )


async def _change_reference(
    session: AsyncSession, contract: Contract, reference: str, changes: dict[str, Any]
) -> None:
    if reference == contract.reference:
        return
    if await _by_reference(session, contract.buyer_id, reference) is not None:
        raise Conflict(
            f"Un autre contrat de cet acheteur porte déjà la référence « {reference} ».",
            code="contract_reference_conflict",
            title="Référence déjà utilisée",
        )
    changes["reference"] = [contract.reference, reference]
    contract.reference = reference


def _change_dates(contract: Contract, data: ContractUpdate, changes: dict[str, Any]) -> None:
    given = data.model_fields_set
    notified_on = data.notified_on or contract.notified_on
    if "ends_on" in given or "duration_months" in given:
        ends_on = _resolve_end(notified_on, data.ends_on, data.duration_months)
        duration = data.duration_months
    elif notified_on != contract.notified_on:
        # The end follows a new notification when it was given as a duration.
        duration = contract.duration_months
        explicit_end = None if duration is not None else contract.ends_on
        ends_on = _resolve_end(notified_on, explicit_end, duration)
    else:
        return
    if notified_on != contract.notified_on:
        changes["notified_on"] = [contract.notified_on.isoformat(), notified_on.isoformat()]
    if ends_on != contract.ends_on:
        changes["ends_on"] = [contract.ends_on.isoformat(), ends_on.isoformat()]
    contract.notified_on, contract.ends_on = notified_on, ends_on
    contract.duration_months = duration


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
    """Apply an amendment (see FROZEN_ONCE_CHECKED for what may change) and record it."""
    contract = await get_contract(session, buyer_id, contract_id)
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    if data.amount_ht is not None:
        _check_amount(data.amount_ht, threshold)
    await _refuse_frozen(session, contract, data)
    if data.reference is not None:
        await _change_reference(session, contract, data.reference, changes)
    _change_dates(contract, data, changes)
    for field in ("object", "amount_ht", "cpv_code", "extra_requirements", "foreign_workers"):
        # null means "unchanged" for required fields; the optional CPV code is cleared by null.
        if (
            field in given
            and (getattr(data, field) is not None or field == "cpv_code")
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
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:  # a concurrent amendment or creation took the new reference
            raise Conflict(
                f"Un autre contrat de cet acheteur porte déjà la référence « {contract.reference} ».",
                code="contract_reference_conflict",
                title="Référence déjà utilisée",
            ) from None
        await events.contract_changed(session, contract, created=False, changes=changes)
    return await to_public(session, contract, policy=policy or CompliancePolicy())


async def put_contract(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    reference: str,
    data: ContractCreate,
    *,
    threshold: Decimal,
    by_key_prefix: str | None = None,
    policy: CompliancePolicy | None = None,
) -> Saved:
    """Create or replace the contract the buyer knows by `reference` (an ERP's sync loop):
    created as with POST, or replaced as a full amendment with PATCH (each change recorded,
    the same fields frozen once checked)."""
    if data.reference != reference.strip():
        raise ValidationFailed(
            f"La référence du corps (« {data.reference} ») diffère de celle du chemin "
            f"(« {reference} ») : une même référence aux deux endroits.",
            code="reference_mismatch",
            title="Références différentes",
            errors=[field_error("/reference", "Différente du chemin.", "reference_mismatch")],
        )
    existing = await _by_reference(session, buyer_id, data.reference)
    if existing is None:
        return await create_contract(session, buyer_id, data, threshold=threshold, policy=policy)
    replaced = ("object", "amount_ht", "notified_on", "cpv_code", "holders", "extra_requirements")
    fields: dict[str, Any] = {name: getattr(data, name) for name in (*replaced, "foreign_workers")}
    # The end as given: one of the two (both or neither is refused as with POST).
    end = {k: getattr(data, k) for k in ("ends_on", "duration_months") if getattr(data, k)}
    update = ContractUpdate.model_validate(fields | (end or dict.fromkeys(("ends_on",))))
    amended = await amend_contract(
        session,
        buyer_id,
        existing.id,
        update,
        threshold=threshold,
        by_key_prefix=by_key_prefix,
        policy=policy,
    )
    return Saved(amended, created=False)


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
            code_tiers=h.code_tiers,
        )
        for h, s in rows
    ]
