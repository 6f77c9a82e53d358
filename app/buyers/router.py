from fastapi import APIRouter, status

from app.buyers import service
from app.buyers.models import BuyerCreate, BuyerPublic
from app.deps import AdminCaller, SessionDep

router = APIRouter(prefix="/v1/buyers", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BuyerPublic)
async def create_buyer(data: BuyerCreate, caller: AdminCaller, session: SessionDep) -> BuyerPublic:
    """Register a public buyer (a tenant), identified by its SIRET."""
    buyer = await service.create_buyer(session, siret=data.siret, name=data.name)
    return BuyerPublic.model_validate(buyer, from_attributes=True)


@router.get("", response_model=list[BuyerPublic])
async def list_buyers(caller: AdminCaller, session: SessionDep) -> list[BuyerPublic]:
    """Every buyer of this instance."""
    return [
        BuyerPublic.model_validate(b, from_attributes=True)
        for b in await service.list_buyers(session)
    ]
