import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.contracts.models import Contract, ContractHolder, HolderIn
from app.errors import NotFound
from app.identifiers import SupplierKey, parse_supplier_key
from app.suppliers.models import Supplier, SupplierPublic


def _lookup(holder: HolderIn) -> SelectOfScalar[Supplier]:
    if holder.siren:
        return select(Supplier).where(Supplier.siren == holder.siren)
    return select(Supplier).where(
        Supplier.country == holder.country, Supplier.foreign_id == holder.foreign_id
    )


async def ensure_supplier(session: AsyncSession, holder: HolderIn) -> Supplier:
    """One supplier row per company across all buyers; safe against a concurrent insert."""
    supplier = (await session.exec(_lookup(holder))).first()
    if supplier is not None:
        if holder.name and not supplier.name:
            supplier.name = holder.name
            session.add(supplier)
        return supplier
    supplier = Supplier(
        siren=holder.siren, foreign_id=holder.foreign_id, country=holder.country, name=holder.name
    )
    try:
        async with session.begin_nested():
            session.add(supplier)
            await session.flush()
    except IntegrityError:
        supplier = (await session.exec(_lookup(holder))).one()
    return supplier


def supplier_scope(buyer_id: uuid.UUID) -> SelectOfScalar[uuid.UUID]:
    """Ids of the suppliers holding at least one of this buyer's contracts."""
    return (
        select(ContractHolder.supplier_id)
        .join(Contract, col(Contract.id) == ContractHolder.contract_id)
        .where(Contract.buyer_id == buyer_id)
    )


def supplier_by_key(key: "str | SupplierKey") -> SelectOfScalar[Supplier]:
    """The query for one supplier by SIREN/SIRET or country-prefixed foreign identifier."""
    key = key if isinstance(key, SupplierKey) else parse_supplier_key(key)
    if key.siren is not None:
        return select(Supplier).where(Supplier.siren == key.siren)
    return select(Supplier).where(
        Supplier.country == key.country,
        col(Supplier.foreign_id).in_([key.text, key.national_id]),
    )


async def get_supplier_for_caller(
    session: AsyncSession,
    key: "str | SupplierKey",
    *,
    buyer_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
) -> Supplier:
    """The supplier as seen by a buyer (it must hold one of its contracts) or by itself, named by
    its SIREN (or SIRET) or, for a foreign company, by its country-prefixed identifier."""
    key = key if isinstance(key, SupplierKey) else parse_supplier_key(key)
    query = supplier_by_key(key)
    if buyer_id is not None:
        query = query.where(col(Supplier.id).in_(supplier_scope(buyer_id)))
    elif supplier_id is not None:
        query = query.where(Supplier.id == supplier_id)
    supplier = (await session.exec(query)).first()
    if supplier is None:
        what = f"de SIREN {key.siren}" if key.siren else f"d'identifiant {key.text}"
        raise NotFound(f"Aucun fournisseur {what} parmi les vôtres.", code="supplier_not_found")
    return supplier


async def list_suppliers(
    session: AsyncSession, buyer_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[Supplier]:
    query = select(Supplier).where(col(Supplier.id).in_(supplier_scope(buyer_id)))
    if after is not None:
        query = query.where(Supplier.id > after)
    return list((await session.exec(query.order_by(col(Supplier.id)).limit(limit))).all())


def to_public(supplier: Supplier) -> SupplierPublic:
    return SupplierPublic(
        **supplier.model_dump(exclude={"created_at"}),
        kind="foreign" if supplier.is_foreign else "french",
        created_at=supplier.created_at,
    )
