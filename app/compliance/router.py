import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import Field
from sqlmodel import SQLModel

from app.compliance import service, views
from app.compliance.rules import RequirementStatus, RequirementType
from app.contracts.service import get_contract
from app.deps import BuyerCaller, SessionDep, after_commit, require_roles
from app.errors import ValidationFailed
from app.keys.models import ApiKey, Role
from app.pagination import Cursor
from app.runtime import Runtime
from app.suppliers.router import Siren
from app.suppliers.service import get_supplier_for_caller

router = APIRouter(tags=["compliance"])
SupplierReader = Annotated[ApiKey, Depends(require_roles(Role.OFFICER, Role.ERP, Role.CONTRACTOR))]
MAX_LOOKUP = 1000


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


@router.get("/v1/suppliers/{siren}/compliance", response_model=views.SupplierCompliance)
async def get_supplier_compliance(
    siren: Siren, caller: SupplierReader, session: SessionDep, rt: RuntimeDep
) -> views.SupplierCompliance:
    """The supplier's status under the caller's buyer, requirement by requirement, with reasons.

    A contractor key reads its own company, with each buyer's requirements (`buyer_siret`)."""
    supplier = await get_supplier_for_caller(
        session, siren, buyer_id=caller.buyer_id, supplier_id=caller.supplier_id
    )
    return await views.supplier_compliance(
        session, supplier, buyer_id=caller.buyer_id, policy=rt.policy
    )


@router.get("/v1/contracts/{contract_id}/compliance", response_model=views.ContractCompliance)
async def get_contract_compliance(
    contract_id: str, caller: BuyerCaller, session: SessionDep, rt: RuntimeDep
) -> views.ContractCompliance:
    """The contract's status: each holder against the contract's current due date."""
    import uuid

    assert caller.buyer_id is not None
    try:
        cid = uuid.UUID(contract_id)
    except ValueError:
        raise ValidationFailed("Identifiant de contrat invalide.", code="invalid_id") from None
    contract = await get_contract(session, caller.buyer_id, cid)
    return await views.contract_compliance(session, contract, policy=rt.policy)


_CSV_COLUMNS = ["siren", "name", "type", "status", "valid_until", "next_check_on", "reasons"]


@router.get(
    "/v1/gaps",
    response_model=views.GapPage,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV on request"}},
)
async def list_gaps(
    request: Request,
    caller: BuyerCaller,
    session: SessionDep,
    status_: Annotated[
        list[RequirementStatus] | None, Query(alias="status", description="Requirement statuses")
    ] = None,
    requirement: Annotated[RequirementType | None, Query(description="Requirement type")] = None,
    due_within: Annotated[
        int | None, Query(ge=0, le=3660, description="Expiring or due within N days")
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> views.GapPage | Response:
    """Every requirement of the caller's suppliers that is not `valid`, by pages.

    With `Accept: text/csv` the whole list comes as one CSV file (French reasons, `;`-joined)."""
    assert caller.buyer_id is not None
    as_csv = "text/csv" in request.headers.get("accept", "")
    rows = await views.list_gaps(
        session,
        caller.buyer_id,
        statuses=[s.value for s in status_] if status_ else None,
        requirement=requirement.value if requirement else None,
        due_within=due_within,
        after=cursor,
        limit=100_000 if as_csv else limit + 1,
    )
    if as_csv:
        return _csv([views.gap_public(r, s) for r, s in rows])
    items = [views.gap_public(r, s) for r, s in rows[:limit]]
    next_cursor = str(rows[limit - 1][0].id) if len(rows) > limit else None
    return views.GapPage(items=items, next_cursor=next_cursor)


def _csv(gaps: list[views.Gap]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for g in gaps:
        writer.writerow(
            [
                g.supplier.siren or "",
                g.supplier.name or "",
                g.type,
                g.status,
                g.valid_until or "",
                g.next_check_on or "",
                " ; ".join(r.message for r in g.reasons),
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ecarts.csv"'},
    )


class CheckAccepted(SQLModel):
    job_id: str | None
    already_running: bool
    detail: str


@router.post(
    "/v1/suppliers/{siren}/checks",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CheckAccepted,
)
async def recheck_supplier(
    siren: Siren, caller: BuyerCaller, session: SessionDep, rt: RuntimeDep
) -> CheckAccepted:
    """Check this supplier again now, for every requirement (idempotent while a check runs)."""
    assert caller.buyer_id is not None
    supplier = await get_supplier_for_caller(session, siren, buyer_id=caller.buyer_id)
    job_id, running = await service.request_recheck(session, rt, caller.buyer_id, supplier.id)
    if job_id is None:
        return CheckAccepted(
            job_id=None, already_running=False, detail="Aucun contrat en cours d'exécution."
        )
    buyer_id, supplier_id = caller.buyer_id, supplier.id

    async def enqueue() -> None:
        await service.enqueue_check(rt, job_id, buyer_id, supplier_id)

    after_commit(session, enqueue)
    detail = "Vérification déjà en cours." if running else "Vérification programmée."
    return CheckAccepted(job_id=job_id, already_running=running, detail=detail)


class LookupIn(SQLModel):
    sirens: list[str] = Field(min_length=1)


class LookupOut(SQLModel):
    results: list[dict[str, object]]


@router.post("/v1/compliance/lookup", response_model=LookupOut)
async def lookup(
    data: LookupIn, caller: BuyerCaller, session: SessionDep, rt: RuntimeDep
) -> LookupOut:
    """The status of up to 1,000 suppliers (by SIREN) in one call, e.g. before a payment run."""
    assert caller.buyer_id is not None
    if len(data.sirens) > MAX_LOOKUP:
        raise ValidationFailed(
            f"Au plus {MAX_LOOKUP} SIREN par appel ({len(data.sirens)} reçus) : découpez la liste.",
            code="too_many_sirens",
        )
    bad = [s for s in data.sirens if not (isinstance(s, str) and len(s) == 9 and s.isdigit())]
    if bad:
        raise ValidationFailed(f"SIREN invalide : {', '.join(bad[:5])}.", code="invalid_identifier")
    sirens = list(dict.fromkeys(data.sirens))
    return LookupOut(results=await views.lookup(session, caller.buyer_id, sirens, rt.policy))
