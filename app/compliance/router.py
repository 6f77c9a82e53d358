"""The compliance API: a supplier's and a contract's status, the gaps, a re-check on demand and
the bulk lookup. Handlers only read the caller and hand over to `queries` and `scheduling`."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.compliance import exports, queries, requests, scheduling
from app.compliance.rules import RequirementStatus, RequirementType
from app.compliance.schemas import (
    MAX_LOOKUP,
    CheckAccepted,
    ContractCompliance,
    GapPage,
    LookupIn,
    LookupOut,
    RequestIn,
    RequestPublic,
    SupplierCompliance,
)
from app.contracts.service import get_contract
from app.deps import (
    BuyerCaller,
    ComplianceDep,
    KnownQueryOnly,
    ReadSessionDep,
    SessionDep,
    require_roles,
)
from app.errors import ServiceUnavailable, ValidationFailed
from app.identifiers import SupplierId, parse_supplier_key
from app.keys.models import ApiKey, Role
from app.pagination import Cursor
from app.suppliers.service import get_supplier_for_caller

router = APIRouter(tags=["compliance"])
SupplierReader = Annotated[ApiKey, Depends(require_roles(Role.OFFICER, Role.ERP, Role.CONTRACTOR))]


@router.get("/v1/suppliers/{siren}/compliance", response_model=SupplierCompliance)
async def get_supplier_compliance(
    siren: SupplierId, caller: SupplierReader, session: ReadSessionDep, compliance: ComplianceDep
) -> Response:
    """The supplier's status under the caller's buyer, requirement by requirement, with reasons.

    A contractor key reads its own company, with each buyer's requirements (`buyer_siret`)."""
    document = await queries.supplier_compliance_for_caller(
        session,
        parse_supplier_key(siren),
        buyer_id=caller.buyer_id,
        supplier_id=caller.supplier_id,
        policy=compliance.policy,
    )
    return _json(document)


def _json(document: object) -> Response:
    """A hot read's answer: its document rendered once (the shape is `response_model`'s)."""
    return Response(queries.render_json(document), media_type="application/json")


@router.get("/v1/contracts/{contract_id}/compliance", response_model=ContractCompliance)
async def get_contract_compliance(
    contract_id: str, caller: BuyerCaller, session: ReadSessionDep, compliance: ComplianceDep
) -> ContractCompliance:
    """The contract's status: each holder against the contract's current due date."""
    assert caller.buyer_id is not None
    try:
        cid = uuid.UUID(contract_id)
    except ValueError:
        raise ValidationFailed("Identifiant de contrat invalide.", code="invalid_id") from None
    contract = await get_contract(session, caller.buyer_id, cid)
    return await queries.contract_compliance(session, contract, policy=compliance.policy)


@router.get(
    "/v1/gaps",
    response_model=GapPage,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV on request"}},
)
async def list_gaps(
    request: Request,
    caller: BuyerCaller,
    _known: KnownQueryOnly,
    session: ReadSessionDep,
    compliance: ComplianceDep,
    status_: Annotated[
        list[RequirementStatus] | None, Query(alias="status", description="Requirement statuses")
    ] = None,
    requirement: Annotated[RequirementType | None, Query(description="Requirement type")] = None,
    due_within: Annotated[
        int | None, Query(ge=0, le=3660, description="Expiring or due within N days")
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: the whole list as one file")
    ] = "json",
) -> GapPage | Response:
    """Every requirement of the caller's suppliers that is not `valid`, by pages.

    With `?format=csv` or `Accept: text/csv` the whole list streams as one CSV file for a French
    spreadsheet (`;` separator, UTF-8 with BOM, French headers, contracts and dates).
    """
    assert caller.buyer_id is not None
    filters = queries.GapFilters(
        statuses=[s.value for s in status_] if status_ else None,
        requirement=requirement.value if requirement else None,
        due_within=due_within,
    )
    if format == "csv" or "text/csv" in request.headers.get("accept", ""):
        lines = exports.stream_gaps_csv(request.app.state.sessionmaker, caller.buyer_id, filters)
        return StreamingResponse(
            lines,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{exports.CSV_FILENAME}"'},
        )
    rows = await queries.list_gaps(session, caller.buyer_id, filters, after=cursor, limit=limit + 1)
    items = [queries.gap_public(r, s, compliance.policy) for r, s in rows[:limit]]
    next_cursor = str(rows[limit - 1][0].id) if len(rows) > limit else None
    return GapPage(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/suppliers/{siren}/checks",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CheckAccepted,
)
async def recheck_supplier(
    siren: SupplierId, caller: BuyerCaller, session: SessionDep, compliance: ComplianceDep
) -> CheckAccepted:
    """Check this supplier again now, for every requirement (idempotent while a check runs).

    503 `queue_unavailable` (with `Retry-After`) while the job queue is unreachable: this route's
    only effect is to queue the check."""
    assert caller.buyer_id is not None
    supplier = await get_supplier_for_caller(session, siren, buyer_id=caller.buyer_id)
    if not await compliance.jobs.ready():
        raise ServiceUnavailable(
            "La file des vérifications est momentanément indisponible : réessayez dans une "
            "minute. Les vérifications prévues ne sont pas perdues.",
            code="queue_unavailable",
            headers={"Retry-After": "60"},
        )
    job_id, running = await scheduling.request_recheck(
        session, compliance, caller.buyer_id, supplier.id
    )
    if job_id is None:
        return CheckAccepted(
            job_id=None, already_running=False, detail="Aucun contrat en cours d'exécution."
        )
    detail = "Vérification déjà en cours." if running else "Vérification programmée."
    return CheckAccepted(job_id=job_id, already_running=running, detail=detail)


@router.post(
    "/v1/suppliers/{siren}/requests",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestPublic,
)
async def record_request(
    siren: SupplierId,
    caller: BuyerCaller,
    session: SessionDep,
    data: Annotated[RequestIn | None, Body()] = None,
) -> RequestPublic:
    """Record that the contractor was asked for its documents (e-mail, printed link, or an
    officer's note; an empty body is a note). The grace period of each missing document runs
    from its first request."""
    assert caller.buyer_id is not None
    data = data or RequestIn()
    supplier = await get_supplier_for_caller(session, siren, buyer_id=caller.buyer_id)
    saved = await requests.record_request(
        session,
        caller.buyer_id,
        supplier.id,
        channel=data.channel,
        by=f"key:{caller.prefix}",
        note=data.note,
        requirements=data.requirements,
    )
    return RequestPublic.model_validate(saved, from_attributes=True)


@router.get("/v1/suppliers/{siren}/requests", response_model=list[RequestPublic])
async def list_requests(
    siren: SupplierId, caller: BuyerCaller, session: SessionDep
) -> list[RequestPublic]:
    """Every recorded request to this contractor, oldest first."""
    assert caller.buyer_id is not None
    supplier = await get_supplier_for_caller(session, siren, buyer_id=caller.buyer_id)
    rows = await requests.list_requests(session, caller.buyer_id, supplier.id)
    return [RequestPublic.model_validate(r, from_attributes=True) for r in rows]


@router.post("/v1/compliance/lookup", response_model=LookupOut)
async def lookup(
    data: LookupIn, caller: BuyerCaller, session: ReadSessionDep, compliance: ComplianceDep
) -> Response:
    """The status of up to 1,000 suppliers (by SIREN) in one call, e.g. before a payment run.

    A SIREN that is not valid is answered in its own result with `code: invalid_identifier`;
    the rest of the batch is answered normally."""
    assert caller.buyer_id is not None
    if len(data.sirens) > MAX_LOOKUP:
        raise ValidationFailed(
            f"Au plus {MAX_LOOKUP} SIREN par appel ({len(data.sirens)} reçus) : découpez la liste.",
            code="too_many_sirens",
        )
    sirens = list(dict.fromkeys(data.sirens))
    results = await queries.lookup_documents(session, caller.buyer_id, sirens, compliance.policy)
    return _json({"results": results})
