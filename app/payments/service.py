"""Payment checks: before paying an invoice, an ERP asks what the vigilance file says of its
supplier. The status comes from the compliance read side (`queries.lookup_documents`, the same
as `POST /v1/compliance/lookup`); this adds the advice, the legal basis, the evidence and the
contract it names. Advice only: nothing here blocks anything."""

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic_core import PydanticCustomError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.common import utcnow
from app.compliance import queries
from app.compliance.models import RequirementState
from app.compliance.rules import CompliancePolicy, OverallStatus
from app.contracts.models import Contract, ContractHolder
from app.identifiers import parse_supplier_key
from app.payments.schemas import NOTICE, Advice, PaymentAdvice, PaymentCheckItem, PaymentChecksOut
from app.suppliers.models import Supplier

VIGILANCE = "Code du travail, L8222-1 et D8222-5 : vigilance à la conclusion puis tous les six mois"
INJUNCTION = "Code du travail, L8222-6 : la personne publique enjoint au titulaire de régulariser"
PAYMENT_DEADLINE = "Code de la commande publique, R2192-10 : le délai de paiement de 30 jours court"
ADVICE_OF = {
    OverallStatus.COMPLIANT: Advice.OK,
    OverallStatus.NOT_CHECKED: Advice.WARNING,
    OverallStatus.AT_RISK: Advice.WARNING,
    OverallStatus.NON_COMPLIANT: Advice.HOLD_RECOMMENDED,
}


def _reason(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "label": None, "message": message, "since": None, "evidence": None}


async def _evidence(
    session: AsyncSession, buyer_id: uuid.UUID, supplier_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[uuid.UUID]], dict[uuid.UUID, datetime]]:
    """Each supplier's documents behind its live requirements, and its last check."""
    docs: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    last: dict[uuid.UUID, datetime] = {}
    if not supplier_ids:
        return docs, last
    query = select(
        RequirementState.supplier_id,
        RequirementState.document_id,
        RequirementState.last_checked_at,
        RequirementState.active,
    ).where(
        RequirementState.buyer_id == buyer_id, col(RequirementState.supplier_id).in_(supplier_ids)
    )
    for supplier_id, document_id, checked_at, active in (await session.exec(query)).all():
        if document_id is not None and active and document_id not in docs[supplier_id]:
            docs[supplier_id].append(document_id)
        if checked_at is not None and (supplier_id not in last or checked_at > last[supplier_id]):
            last[supplier_id] = checked_at
    return docs, last


async def _supplier_ids(session: AsyncSession, keys: dict[str, Any]) -> dict[str, uuid.UUID]:
    """The supplier row of each identifier as sent (SIREN, SIRET's company, foreign id)."""
    out: dict[str, uuid.UUID] = {}
    sirens = {k.siren: sent for sent, k in keys.items() if k.siren}
    if sirens:
        query = select(Supplier.id, Supplier.siren).where(col(Supplier.siren).in_(sorted(sirens)))
        by_siren = {siren: sid for sid, siren in (await session.exec(query)).all()}
        for sent, key in keys.items():
            if key.siren and key.siren in by_siren:
                out[sent] = by_siren[key.siren]
    for sent, key in keys.items():
        if key.is_foreign:
            foreign = select(Supplier.id).where(
                Supplier.country == key.country,
                col(Supplier.foreign_id).in_([key.text, key.national_id]),
            )
            found = (await session.exec(foreign)).first()
            if found is not None:
                out[sent] = found
    return out


async def _holders(
    session: AsyncSession, buyer_id: uuid.UUID, references: set[str]
) -> dict[str, set[uuid.UUID]]:
    """The holders of each named contract of the buyer (a reference absent: unknown)."""
    if not references:
        return {}
    query = (
        select(Contract.reference, ContractHolder.supplier_id)
        .join(ContractHolder, col(ContractHolder.contract_id) == Contract.id, isouter=True)
        .where(Contract.buyer_id == buyer_id, col(Contract.reference).in_(sorted(references)))
    )
    out: dict[str, set[uuid.UUID]] = defaultdict(set)
    for reference, supplier_id in (await session.exec(query)).all():
        out[reference].update({supplier_id} if supplier_id else set())
    return out


async def check_payments(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    items: list[PaymentCheckItem],
    policy: CompliancePolicy,
) -> PaymentChecksOut:
    now = utcnow()
    sent_of = [item.siren if item.siren is not None else item.siret or "" for item in items]
    unique = list(dict.fromkeys(sent_of))
    looked_up = await queries.lookup_documents(session, buyer_id, unique, policy)
    results = dict(zip(unique, looked_up, strict=True))
    keys: dict[str, Any] = {}
    for sent in unique:
        try:
            keys[sent] = parse_supplier_key(sent)
        except PydanticCustomError:
            continue
    suppliers = await _supplier_ids(session, keys)
    docs, last = await _evidence(session, buyer_id, sorted(set(suppliers.values())))
    references = {i.contract_reference for i in items if i.contract_reference}
    holders = await _holders(session, buyer_id, references)
    out = []
    for index, (item, sent) in enumerate(zip(items, sent_of, strict=True)):
        result = results[sent]
        supplier_id = suppliers.get(sent)
        reasons: list[dict[str, Any]] = []
        if result.get("code") == "invalid_identifier":
            advice, status = Advice.WARNING, None
            reasons.append(
                _reason("invalid_identifier", result.get("detail") or "Identifiant invalide.")
            )
        elif not result.get("found"):
            advice, status = Advice.WARNING, None
            reasons.append(
                _reason(
                    "supplier_not_followed",
                    "Vigie ne suit pas ce fournisseur pour cet acheteur : aucune pièce de "
                    "vigilance à montrer (enregistrez le contrat s'il atteint le seuil).",
                )
            )
        else:
            status = OverallStatus(result["status"])
            advice = ADVICE_OF[status]
            reasons.extend(_plain(r) for r in result.get("reasons", []))
        if item.contract_reference:
            known = holders.get(item.contract_reference)
            if known is None:
                reasons.append(
                    _reason(
                        "contract_not_found",
                        f"Aucun contrat de référence « {item.contract_reference} » chez cet "
                        "acheteur.",
                    )
                )
                advice = max(advice, Advice.WARNING, key=_rank)
            elif supplier_id is None or supplier_id not in known:
                reasons.append(
                    _reason(
                        "not_a_holder",
                        f"Ce fournisseur n'est pas titulaire du contrat « {item.contract_reference} ».",
                    )
                )
                advice = max(advice, Advice.WARNING, key=_rank)
        basis = [VIGILANCE, PAYMENT_DEADLINE]
        if advice is Advice.HOLD_RECOMMENDED:
            basis.insert(1, INJUNCTION)
        out.append(
            PaymentAdvice(
                index=index,
                siren=item.siren,
                siret=item.siret,
                contract_reference=item.contract_reference,
                invoice_reference=item.invoice_reference,
                amount=item.amount,
                advice=advice,
                status=status.value if status else None,
                reasons=reasons,
                legal_basis=basis,
                as_of=last.get(supplier_id) if supplier_id else None,
                evidence_document_ids=docs.get(supplier_id, []) if supplier_id else [],
            )
        )
    return PaymentChecksOut(notice=NOTICE, evaluated_at=now, items=out)


_RANKS = {Advice.OK: 0, Advice.WARNING: 1, Advice.HOLD_RECOMMENDED: 2}


def _rank(advice: Advice) -> int:
    return _RANKS[advice]


def _plain(reason: dict[str, Any]) -> dict[str, Any]:
    """A reason of the read side as JSON values (dates as ISO text, enums as their value)."""
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else getattr(v, "value", v))
        for k, v in reason.items()
    }
