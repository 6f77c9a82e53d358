import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.compliance.rules import OverallStatus
from app.compliance.scheduling import plan_contract_later
from app.contracts import queries, service
from app.contracts.models import (
    AmendmentPage,
    ContractCreate,
    ContractPage,
    ContractPublic,
    ContractUpdate,
)
from app.deps import BuyerCaller, ComplianceDep, KnownQueryOnly, SessionDep, SettingsDep
from app.identifiers import OptionalSiren
from app.pagination import Cursor, Limit, next_cursor

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


# --- a filter the API does not know is an error, never silently ignored ------------------------


# --- routes ------------------------------------------------------------------------------------


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
    compliance: ComplianceDep,
    response: Response,
) -> ContractPublic:
    """Register a contract at or above the vigilance threshold, with its holders.

    Idempotent on the buyer's `reference`: posting the same contract again answers 200 with the
    existing one; the same reference with other content answers 409 (amend it with PATCH).
    A holder of the agricultural regime is flagged `social_regime: "msa"`; `foreign_workers: true`
    makes the list of foreign employees a requirement.
    """
    assert caller.buyer_id is not None
    saved = await service.create_contract(
        session,
        caller.buyer_id,
        data,
        threshold=settings.vigilance_threshold_ht,
        policy=compliance.policy,
    )
    if not saved.created:
        response.status_code = status.HTTP_200_OK
    plan_contract_later(session, saved.contract.id)
    return saved.contract


@router.put(
    "/by-ref/{reference}",
    response_model=ContractPublic,
    responses={201: {"model": ContractPublic, "description": "Created"}},
)
async def put_contract_by_reference(
    reference: Annotated[str, Path(min_length=1, max_length=100)],
    data: ContractCreate,
    caller: BuyerCaller,
    session: SessionDep,
    settings: SettingsDep,
    compliance: ComplianceDep,
    response: Response,
) -> ContractPublic:
    """Create or replace the contract the buyer knows by its own `reference` (an ERP's sync
    loop): 201 when created, 200 when it existed (replaced as a full amendment, each change
    recorded as with PATCH; `reference` and `notified_on` frozen once a holder was checked).
    The body is the contract as with POST; its `reference` must be the path's."""
    assert caller.buyer_id is not None
    saved = await service.put_contract(
        session,
        caller.buyer_id,
        reference,
        data,
        threshold=settings.vigilance_threshold_ht,
        by_key_prefix=caller.prefix,
        policy=compliance.policy,
    )
    response.status_code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
    plan_contract_later(session, saved.contract.id)
    return saved.contract


@router.get("", response_model=ContractPage)
async def list_contracts(
    caller: BuyerCaller,
    session: SessionDep,
    compliance: ComplianceDep,
    _known: KnownQueryOnly,
    cursor: Cursor = None,
    limit: Limit = 50,
    reference: str | None = None,
    supplier: Annotated[OptionalSiren, Query(description="SIREN of a holder")] = None,
    active_on: Annotated[
        date | None, Query(description="Contracts in execution on this date")
    ] = None,
    status_: Annotated[
        list[OverallStatus] | None,
        Query(alias="status", description="Overall statuses (repeatable: `?status=a&status=b`)"),
    ] = None,
    code_tiers: Annotated[
        str | None,
        Query(max_length=64, description="A holder's supplier code in the buyer's ERP"),
    ] = None,
) -> ContractPage:
    """The caller's contracts, oldest first, by pages (`next_cursor`), each with its `status`.

    An unknown query parameter is a 422 (`unknown_parameter`), never ignored. The `status`
    filter is computed, not stored: the contracts are read by batches of 200 after the cursor
    until the page is full, so a status few contracts have costs a scan of the buyer's contracts
    (about three queries per 200 contracts); the other filters narrow that scan first.
    """
    assert caller.buyer_id is not None
    filters = queries.ContractFilters(
        reference=reference,
        supplier_siren=supplier,
        active_on=active_on,
        statuses=frozenset(status_ or ()),
        code_tiers=code_tiers,
    )
    items = await queries.list_page(
        session, caller.buyer_id, filters, after=cursor, limit=limit, policy=compliance.policy
    )
    return ContractPage(items=items[:limit], next_cursor=next_cursor(items, limit))


@router.get("/{contract_id}", response_model=ContractPublic)
async def get_contract(
    contract_id: uuid.UUID, caller: BuyerCaller, session: SessionDep, compliance: ComplianceDep
) -> ContractPublic:
    """One contract of the caller's buyer, with its overall `status`."""
    assert caller.buyer_id is not None
    contract = await service.get_contract(session, caller.buyer_id, contract_id)
    return await queries.to_public(session, contract, policy=compliance.policy)


@router.patch("/{contract_id}", response_model=ContractPublic)
async def amend_contract(
    contract_id: uuid.UUID,
    data: ContractUpdate,
    caller: BuyerCaller,
    session: SessionDep,
    settings: SettingsDep,
    compliance: ComplianceDep,
) -> ContractPublic:
    """Record an amendment (avenant): only the fields given change, and each change is kept
    (`GET /v1/contracts/{id}/amendments`).

    - `object`, `amount_ht` (still at or above the threshold), `cpv_code` (`null` clears it),
      `extra_requirements`, `foreign_workers`: changeable at any time;
    - `ends_on` or `duration_months` (one of them), `holders`: changeable at any time;
    - `reference` and `notified_on`: changeable until a check has run for one of the holders;
      afterwards a different value is a 422 `immutable_field` (the checks made were filed under
      that reference and served due dates counted from that notification: they stay as made).
      A new `notified_on` moves the end of execution when it was given as a duration.
    `null` leaves a field unchanged. A reference already used by another contract is a 409.
    """
    assert caller.buyer_id is not None
    amended = await service.amend_contract(
        session,
        caller.buyer_id,
        contract_id,
        data,
        threshold=settings.vigilance_threshold_ht,
        by_key_prefix=caller.prefix,
        policy=compliance.policy,
    )
    plan_contract_later(session, contract_id)
    return amended


@router.get("/{contract_id}/amendments", response_model=AmendmentPage)
async def list_amendments(
    contract_id: uuid.UUID,
    caller: BuyerCaller,
    session: SessionDep,
    _known: KnownQueryOnly,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AmendmentPage:
    """The contract's amendments, oldest first, by pages (`next_cursor`): each one's `changes`
    (`[before, after]` per field), the key that recorded it and when."""
    assert caller.buyer_id is not None
    contract = await service.get_contract(session, caller.buyer_id, contract_id)
    items = await queries.list_amendments(session, contract.id, after=cursor, limit=limit + 1)
    return AmendmentPage(items=items[:limit], next_cursor=next_cursor(items, limit))
