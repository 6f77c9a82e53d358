from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import SQLModel

from app.deps import BuyerCaller, KnownQueryOnly, SessionDep, require_roles
from app.identifiers import SupplierId
from app.keys.models import ApiKey, Role
from app.pagination import Cursor, Limit, next_cursor
from app.suppliers import service
from app.suppliers.models import SupplierPublic

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])

SupplierReader = Annotated[ApiKey, Depends(require_roles(Role.OFFICER, Role.ERP, Role.CONTRACTOR))]


class SupplierPage(SQLModel):
    items: list[SupplierPublic]
    next_cursor: str | None


@router.get("", response_model=SupplierPage)
async def list_suppliers(
    caller: BuyerCaller,
    _known: KnownQueryOnly,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> SupplierPage:
    """The suppliers holding at least one of the caller's contracts."""
    assert caller.buyer_id is not None
    rows = await service.list_suppliers(session, caller.buyer_id, after=cursor, limit=limit + 1)
    return SupplierPage(
        items=[service.to_public(s) for s in rows[:limit]], next_cursor=next_cursor(rows, limit)
    )


@router.get("/{siren}", response_model=SupplierPublic)
async def get_supplier(
    siren: SupplierId, caller: SupplierReader, session: SessionDep
) -> SupplierPublic:
    """A supplier of the caller's buyer (or, for a contractor key, its own company)."""
    supplier = await service.get_supplier_for_caller(
        session, siren, buyer_id=caller.buyer_id, supplier_id=caller.supplier_id
    )
    return service.to_public(supplier)
