"""What each status change of the other packages becomes in the feed: one small function per
event type, called where the change is stored (same transaction). `data` always names the
supplier (SIREN or foreign id) when there is one, the old and new status and the reasons."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import Buyer, BuyerToken
from app.compliance.evaluation import reason_to_json, result_from_row
from app.compliance.models import RequirementState
from app.compliance.rules import CompliancePolicy, OverallResult, OverallStatus, overall_status
from app.contracts.models import Contract
from app.documents.journal import append_journal
from app.documents.models import Document
from app.events.models import EventType
from app.events.service import record_event, record_events, supplier_identity
from app.suppliers.models import Supplier

KIND_SUPPLIER_STATUS_CHANGED = "supplier.status_changed"


async def _supplier(session: AsyncSession, supplier_id: uuid.UUID) -> dict[str, Any]:
    return supplier_identity(await session.get(Supplier, supplier_id))


def overall_of(
    rows: Sequence[RequirementState], policy: CompliancePolicy, today: date
) -> OverallResult | None:
    """A supplier's status under one buyer from its stored requirement rows, as the read side
    computes it (the live requirements, or the history once every contract ended)."""
    stored = [r for r in rows if r.status is not None]  # a row just created has no status yet
    if not stored:
        return None
    live = [r for r in stored if r.active] or stored
    results = [result_from_row(r.status, r.reasons, r.valid_until, policy) for r in live]
    return overall_status(results, today=today, policy=policy)


def evaluated_on(rows: Sequence[RequirementState], today: date) -> date:
    """The day the rows' statuses were last computed (a deadline may have passed since)."""
    days = [r.evaluated_on for r in rows if r.evaluated_on is not None]
    return min(days) if days else today


async def requirement_status_changed(
    session: AsyncSession,
    row: RequirementState,
    new_status: str,
    reasons: list[dict[str, Any]],
    why: str | None,
    at: datetime,
) -> None:
    await record_event(
        session,
        row.buyer_id,
        EventType.REQUIREMENT_STATUS_CHANGED,
        {
            "supplier": await _supplier(session, row.supplier_id),
            "requirement": str(row.requirement),
            "old_status": str(row.status) if row.status is not None else None,
            "new_status": str(new_status),
            "reasons": reasons,
            "why": why,
            "valid_until": row.valid_until.isoformat() if row.valid_until else None,
            "document_id": str(row.document_id) if row.document_id else None,
        },
        at=at,
    )


async def supplier_status_changed(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    supplier_id: uuid.UUID,
    before: OverallResult | None,
    after: OverallResult | None,
    at: datetime,
) -> bool:
    """One event when the supplier's overall status under the buyer moved (a requirement, or a
    grace period that ran out)."""
    if after is None or (before is not None and before.status == after.status):
        return False
    if before is None and after.status is OverallStatus.NOT_CHECKED:
        return False  # a new holder, not checked yet: no change worth telling
    old = before.status.value if before is not None else None
    # Mirrored in the hash-chained journal like a requirement's change; and the journal's lock
    # comes before the buyer's event number everywhere in the engine (no deadlock between two
    # checks, or a check and the planning pass, of the same buyer).
    await append_journal(
        session,
        KIND_SUPPLIER_STATUS_CHANGED,
        f"supplier:{supplier_id}",
        {
            "buyer_id": str(buyer_id),
            "supplier_id": str(supplier_id),
            "old": old,
            "new": after.status.value,
            "reason_codes": [r.code for r in after.reasons],
        },
    )
    await record_event(
        session,
        buyer_id,
        EventType.SUPPLIER_STATUS_CHANGED,
        {
            "supplier": await _supplier(session, supplier_id),
            "old_status": old,
            "new_status": after.status.value,
            "reasons": [reason_to_json(r) for r in after.reasons],
            "non_compliant_on": (
                after.non_compliant_on.isoformat() if after.non_compliant_on else None
            ),
        },
        at=at,
    )
    return True


async def document_archived(session: AsyncSession, doc: Document) -> None:
    await record_event(
        session,
        doc.buyer_id,
        EventType.DOCUMENT_ARCHIVED,
        {
            "supplier": await _supplier(session, doc.supplier_id),
            "document_id": str(doc.id),
            "doc_type": doc.doc_type,
            "sha256": doc.sha256,
            "valid_from": doc.valid_from.isoformat() if doc.valid_from else None,
            "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
            "source_endpoint": doc.source_endpoint,
            "uploaded_by": doc.uploaded_by,
        },
        at=doc.obtained_at,
    )


async def contract_changed(
    session: AsyncSession,
    contract: Contract,
    *,
    created: bool,
    changes: dict[str, Any] | None = None,
) -> None:
    """`contract.created`, or `contract.updated` with its changes (`[before, after]` per field)."""
    data = _contract_data(contract)
    if not created:
        data["changes"] = changes or {}
    kind = EventType.CONTRACT_CREATED if created else EventType.CONTRACT_UPDATED
    await record_event(session, contract.buyer_id, kind, data)


def _contract_data(contract: Contract) -> dict[str, Any]:
    return {
        "contract_id": str(contract.id),
        "reference": contract.reference,
        "amount_ht": f"{contract.amount_ht:.2f}",
        "notified_on": contract.notified_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(),
    }


async def contracts_created(session: AsyncSession, contracts: Sequence[Contract]) -> None:
    """`contract.created` for each of `contracts` (an import's batch), as `contract_changed`
    records them one by one: numbered per buyer in the list's order."""
    by_buyer: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for contract in contracts:
        by_buyer.setdefault(contract.buyer_id, []).append(_contract_data(contract))
    for buyer_id, datas in by_buyer.items():
        await record_events(session, buyer_id, EventType.CONTRACT_CREATED, datas)


async def platform_token_expiring(session: AsyncSession, facts: dict[str, Any]) -> int:
    """`token.expiring` for every buyer whose checks use the platform's token (those with a
    token of their own do not depend on it); `facts` names the token by its hash, never it."""
    own = select(BuyerToken.buyer_id)
    buyers = select(Buyer.id).where(col(Buyer.id).not_in(own)).order_by(col(Buyer.id))
    ids = list((await session.exec(buyers)).all())
    for buyer_id in ids:
        await record_event(session, buyer_id, EventType.TOKEN_EXPIRING, {"token": facts})
    return len(ids)
