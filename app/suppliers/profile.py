"""One supplier as an officer's page shows it (`/fournisseurs/{siren}`), for one buyer only:
the supplier named in the path, the documents behind its requirements, the buyer's contracts it
holds, and the timeline of its checks, status changes and requests to the contractor. Its
requirements and overall status come from `compliance.queries.supplier_compliance` (the API's)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance.evaluation import today_in_paris
from app.compliance.models import Check, ComplianceRequest, StatusEvent
from app.compliance.rules import RequirementType, format_date_fr, status_label_fr
from app.compliance.rules.codes import requirement_label_fr
from app.contracts.models import Contract, ContractHolder
from app.documents.models import Document
from app.errors import NotFound
from app.identifiers import SupplierKey, parse_supplier_key
from app.suppliers.models import Supplier
from app.suppliers.service import get_supplier_for_caller, supplier_scope


async def find_supplier(session: AsyncSession, buyer_id: uuid.UUID, key: str) -> Supplier:
    """The supplier named in a page's path, if it holds one of the buyer's contracts (else
    `NotFound`, the same whether it exists elsewhere or not)."""
    parsed: SupplierKey = parse_supplier_key(key)
    try:
        return await get_supplier_for_caller(session, parsed, buyer_id=buyer_id)
    except NotFound:
        if not parsed.is_foreign:
            raise
    # A foreign identifier recorded as typed (`hrb 12345`, country DE): the page's key is its
    # compact, upper-case form with the country prefix (`path_key`).
    compact = sa.func.upper(sa.func.replace(col(Supplier.foreign_id), " ", ""))
    query = select(Supplier).where(
        Supplier.country == parsed.country,
        compact.in_([parsed.text, parsed.national_id]),
        col(Supplier.id).in_(supplier_scope(buyer_id)),
    )
    supplier = (await session.exec(query)).first()
    if supplier is None:
        raise NotFound(
            f"Aucun fournisseur d'identifiant {parsed.text} parmi les vôtres.",
            code="supplier_not_found",
        )
    return supplier


async def documents_by_id(
    session: AsyncSession, buyer_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Document]:
    """The buyer's documents among `ids` (a requirement's proof, to link and describe)."""
    if not ids:
        return {}
    query = select(Document).where(Document.buyer_id == buyer_id, col(Document.id).in_(ids))
    return {doc.id: doc for doc in (await session.exec(query)).all()}


@dataclass
class HeldContract:
    id: uuid.UUID
    reference: str
    object: str
    amount_ht: Any
    notified_on: date
    ends_on: date
    siret: str | None
    phase: str  # upcoming | running | ended (execution, today)


async def held_contracts(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID
) -> list[HeldContract]:
    """The buyer's contracts this supplier holds: those in execution first, latest end first."""
    query = (
        select(Contract, ContractHolder.siret)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id)
        .where(Contract.buyer_id == buyer_id, ContractHolder.supplier_id == supplier_id)
        .order_by(col(Contract.ends_on).desc(), col(Contract.reference))
    )
    today = today_in_paris(utcnow())
    out = [
        HeldContract(
            c.id,
            c.reference,
            c.object,
            c.amount_ht,
            c.notified_on,
            c.ends_on,
            siret,
            "upcoming" if today < c.notified_on else "ended" if today > c.ends_on else "running",
        )
        for c, siret in (await session.exec(query)).all()
    ]
    out.sort(key=lambda c: c.phase != "running")  # stable: the date order stays in each group
    return out


class EntryKind(StrEnum):
    CHECK = "check"
    STATUS = "status"
    REQUEST = "request"


@dataclass
class TimelineEntry:
    at: datetime
    kind: EntryKind
    requirement: str | None  # the requirement in French, capitalised
    title: str
    detail: str | None = None
    status: str | None = None  # a requirement status code, shown as a badge


_OUTCOMES_FR = {
    "delivered": "document obtenu",
    "refused": "délivrance refusée par l'organisme",
    "unavailable": "document que la source ne délivre pas pour cette entreprise",
    "not_fetchable": "document à déposer par le titulaire (aucune source ne le délivre)",
    "unknown_entity": "entreprise inconnue de la source",
    "pending": "réponse de la source en attente",
    "config_error": "échec technique du côté de Vigie (jeton ou droits)",
    "bug": "réponse inexploitable de la source (problème technique)",
    "running": "en cours",
}
_CHANNELS_FR = {"email": "par courriel", "link": "par lien remis", "note": "note d'un agent"}


def _label(requirement: str | None) -> str | None:
    return (
        requirement_label_fr(RequirementType(requirement), capitalize=True) if requirement else None
    )


async def supplier_timeline(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_id: uuid.UUID, *, limit: int = 60
) -> list[TimelineEntry]:
    """Checks, status changes and requests to the contractor under this buyer, latest first."""
    pair = (buyer_id, supplier_id)
    checks = select(Check).where(Check.buyer_id == pair[0], Check.supplier_id == pair[1])
    events = select(StatusEvent).where(
        StatusEvent.buyer_id == pair[0], StatusEvent.supplier_id == pair[1]
    )
    requests = select(ComplianceRequest).where(
        ComplianceRequest.buyer_id == pair[0], ComplianceRequest.supplier_id == pair[1]
    )
    entries: list[TimelineEntry] = []
    for check in (
        await session.exec(checks.order_by(col(Check.started_at).desc()).limit(limit))
    ).all():
        outcome = _OUTCOMES_FR.get(check.outcome, check.outcome)
        entries.append(
            TimelineEntry(
                check.finished_at or check.started_at,
                EntryKind.CHECK,
                _label(check.requirement),
                f"Vérification de l'échéance du {format_date_fr(check.due_on)} : {outcome}",
                check.message,
                check.status.value if check.status else None,
            )
        )
    for event in (
        await session.exec(events.order_by(col(StatusEvent.at).desc()).limit(limit))
    ).all():
        before = status_label_fr(event.old_status) if event.old_status else "aucun"
        why = f" {event.why}" if event.why else ""
        entries.append(
            TimelineEntry(
                event.at,
                EntryKind.STATUS,
                _label(event.requirement),
                "Nouveau statut :",
                f"Auparavant : {before}.{why}",
                event.new_status.value,
            )
        )
    asked = (
        await session.exec(requests.order_by(col(ComplianceRequest.at).desc()).limit(limit))
    ).all()
    for request in asked:
        what = ", ".join(_label(r) or r for r in request.requirements) or "tout ce qui manque"
        channel = _CHANNELS_FR.get(request.channel.value, request.channel.value)
        entries.append(
            TimelineEntry(
                request.at,
                EntryKind.REQUEST,
                None,
                f"Titulaire sollicité ({channel}) : {what}",
                request.note,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
