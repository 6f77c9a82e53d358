"""The contracts' read side: public shapes with their status, the filtered list, the amendments."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.compliance.rules import CompliancePolicy, OverallStatus
from app.contracts.models import (
    AmendmentPublic,
    Contract,
    ContractAmendment,
    ContractHolder,
    ContractPublic,
    HolderPublic,
)
from app.contracts.status import Holders, contract_statuses
from app.suppliers.models import Supplier

# Contracts read per query when the list is filtered by status (computed in Python, not in SQL).
SCAN_BATCH = 200


async def holder_rows(
    session: AsyncSession, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[ContractHolder, Supplier]]]:
    """contract id → its holders and their companies: one query, not one per contract."""
    query = (
        select(ContractHolder, Supplier)
        .join(Supplier, col(Supplier.id) == ContractHolder.supplier_id)
        .where(col(ContractHolder.contract_id).in_(contract_ids))
        .order_by(col(Supplier.id))
    )
    out: dict[uuid.UUID, list[tuple[ContractHolder, Supplier]]] = {}
    for holder, supplier in (await session.exec(query)).all():
        out.setdefault(holder.contract_id, []).append((holder, supplier))
    return out


def _public(contract: Contract, holders: Holders, status: OverallStatus) -> ContractPublic:
    return ContractPublic(
        **contract.model_dump(exclude={"buyer_id", "content_hash"}),
        holders=[
            HolderPublic(
                supplier_id=s.id,
                siren=s.siren,
                siret=h.siret,
                foreign_id=s.foreign_id,
                country=s.country,
                name=s.name,
                social_regime=h.social_regime if s.siren else None,
                code_tiers=h.code_tiers,
            )
            for h, s in holders.get(contract.id, [])
        ],
        status=status,
    )


async def to_public_many(
    session: AsyncSession, contracts: Sequence[Contract], *, policy: CompliancePolicy
) -> list[ContractPublic]:
    """Contracts of one buyer with their holders and status: two queries for the whole page."""
    if not contracts:
        return []
    holders = await holder_rows(session, [c.id for c in contracts])
    statuses = await contract_statuses(
        session, contracts[0].buyer_id, contracts, holders, policy=policy
    )
    return [_public(c, holders, statuses[c.id]) for c in contracts]


async def to_public(
    session: AsyncSession, contract: Contract, *, policy: CompliancePolicy
) -> ContractPublic:
    return (await to_public_many(session, [contract], policy=policy))[0]


@dataclass(frozen=True)
class ContractFilters:
    reference: str | None = None
    supplier_siren: str | None = None  # a holder's SIREN
    active_on: date | None = None  # in execution on that day
    statuses: frozenset[OverallStatus] = frozenset()  # empty: any
    code_tiers: str | None = None  # a holder's code in the buyer's ERP
    search: str | None = None  # in the reference or the object (case-insensitive; the pages)


async def list_contracts(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: ContractFilters,
    *,
    after: uuid.UUID | None = None,
    limit: int = 50,
) -> list[Contract]:
    """The buyer's contracts after the cursor, oldest first, filtered in SQL (not by status)."""
    query = select(Contract).where(Contract.buyer_id == buyer_id)
    if after is not None:
        query = query.where(Contract.id > after)
    if filters.reference is not None:
        query = query.where(Contract.reference == filters.reference)
    if filters.active_on is not None:
        day = filters.active_on
        query = query.where(Contract.notified_on <= day, Contract.ends_on >= day)
    if filters.supplier_siren is not None:
        holders = (
            select(ContractHolder.contract_id)
            .join(Supplier, col(Supplier.id) == ContractHolder.supplier_id)
            .where(Supplier.siren == filters.supplier_siren)
        )
        query = query.where(col(Contract.id).in_(holders))
    if filters.search:
        pattern = "%" + filters.search.replace("\\", "").replace("%", "").replace("_", "") + "%"
        query = query.where(
            or_(col(Contract.reference).ilike(pattern), col(Contract.object).ilike(pattern))
        )
    if filters.code_tiers is not None:
        coded = select(ContractHolder.contract_id).where(
            ContractHolder.code_tiers == filters.code_tiers
        )
        query = query.where(col(Contract.id).in_(coded))
    return list((await session.exec(query.order_by(col(Contract.id)).limit(limit))).all())


async def list_page(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    filters: ContractFilters,
    *,
    after: uuid.UUID | None,
    limit: int,
    policy: CompliancePolicy,
) -> list[ContractPublic]:
    """Up to `limit + 1` contracts after the cursor (the extra one says another page exists).

    Filtered by status, which is computed here and not in SQL: the contracts are read by batches
    of `SCAN_BATCH` from the cursor on (three queries per batch: contracts, holders, requirement
    rows) until `limit + 1` match or none is left. A status that few contracts have costs a scan
    of the buyer's contracts after the cursor; each page still starts where the last one ended.
    """
    if not filters.statuses:
        rows = await list_contracts(session, buyer_id, filters, after=after, limit=limit + 1)
        return await to_public_many(session, rows, policy=policy)
    found: list[ContractPublic] = []
    batch = max(SCAN_BATCH, limit + 1)
    while len(found) <= limit:
        rows = await list_contracts(session, buyer_id, filters, after=after, limit=batch)
        if not rows:
            break
        holders = await holder_rows(session, [c.id for c in rows])
        statuses = await contract_statuses(session, buyer_id, rows, holders, policy=policy)
        found += [
            _public(c, holders, statuses[c.id]) for c in rows if statuses[c.id] in filters.statuses
        ]
        if len(rows) < batch:
            break
        after = rows[-1].id
    return found[: limit + 1]


async def list_amendments(
    session: AsyncSession, contract_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[AmendmentPublic]:
    """A contract's amendments, oldest first (ids are time-ordered), up to `limit`."""
    query = select(ContractAmendment).where(ContractAmendment.contract_id == contract_id)
    if after is not None:
        query = query.where(ContractAmendment.id > after)
    rows = (await session.exec(query.order_by(col(ContractAmendment.id)).limit(limit))).all()
    return [
        AmendmentPublic(
            id=a.id, changes=a.changes, by_key_prefix=a.by_key_prefix, created_at=a.created_at
        )
        for a in rows
    ]
