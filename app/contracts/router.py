import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.compliance.scheduling import plan_contract_later
from app.contracts import service
from app.contracts.models import ContractCreate, ContractPage, ContractPublic, ContractUpdate
from app.deps import BuyerCaller, SessionDep, SettingsDep
from app.identifiers import OptionalSiren
from app.pagination import Cursor, Limit, next_cursor

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractPublic,
    responses={200: {"model": ContractPublic, "description": "Already known, unchanged"}},
)
async def create_contract(
    data: ContractCreate,
    caller: BuyerCaller,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ContractPublic:
    """Register a contract at or above the vigilance threshold, with its holders.

    Idempotent on the buyer's `reference`: posting the same contract again answers 200 with the
    existing one; the same reference with other content answers 409 (amend it with PATCH).
    """
    assert caller.buyer_id is not None
    saved = await service.create_contract(
        session, caller.buyer_id, data, threshold=settings.vigilance_threshold_ht
    )
    if not saved.created:
        response.status_code = status.HTTP_200_OK
    plan_contract_later(session, saved.contract.id)
    return saved.contract


@router.get("", response_model=ContractPage)
async def list_contracts(
    caller: BuyerCaller,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    reference: str | None = None,
    supplier: Annotated[OptionalSiren, Query(description="SIREN of a holder")] = None,
    active_on: Annotated[
        date | None, Query(description="Contracts in execution on this date")
    ] = None,
) -> ContractPage:
    """The caller's contracts, oldest first, by pages (`next_cursor`)."""
    assert caller.buyer_id is not None
    rows = await service.list_contracts(
        session,
        caller.buyer_id,
        after=cursor,
        limit=limit + 1,
        reference=reference,
        supplier_siren=supplier,
        active_on=active_on,
    )
    items = await service.to_public_many(session, rows[:limit])
    return ContractPage(items=items, next_cursor=next_cursor(rows, limit))


@router.get("/{contract_id}", response_model=ContractPublic)
async def get_contract(
    contract_id: uuid.UUID, caller: BuyerCaller, session: SessionDep
) -> ContractPublic:
    """One contract of the caller's buyer."""
    assert caller.buyer_id is not None
    contract = await service.get_contract(session, caller.buyer_id, contract_id)
    return await service.to_public(session, contract)


@router.patch("/{contract_id}", response_model=ContractPublic)
async def amend_contract(
    contract_id: uuid.UUID,
    data: ContractUpdate,
    caller: BuyerCaller,
    session: SessionDep,
    settings: SettingsDep,
) -> ContractPublic:
    """Record an amendment (avenant): amount, end of execution, holders. Each change is kept."""
    assert caller.buyer_id is not None
    amended = await service.amend_contract(
        session,
        caller.buyer_id,
        contract_id,
        data,
        threshold=settings.vigilance_threshold_ht,
        by_key_prefix=caller.prefix,
    )
    plan_contract_later(session, contract_id)
    return amended
