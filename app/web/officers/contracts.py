"""`/contrats` and `/contrats/{id}`: the buyer's contracts, their holders and statuses, and the
compliance dossier (ZIP) of a contract."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.compliance.queries import contract_compliance
from app.compliance.rules import OverallStatus
from app.contracts.models import Contract
from app.contracts.queries import ContractFilters, list_amendments, list_page
from app.deps import SessionDep
from app.documents.service import build_dossier
from app.errors import NotFound
from app.web.sessions import OfficerPage
from app.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


async def _contract(session: SessionDep, viewer: OfficerPage, contract_id: uuid.UUID) -> Contract:
    contract = await session.get(Contract, contract_id)
    if contract is None or viewer.buyer is None or contract.buyer_id != viewer.buyer.id:
        raise NotFound("Aucun marché à cette adresse parmi les vôtres.", code="contract_not_found")
    return contract


@router.get("/contrats")
async def contracts_page(
    request: Request,
    viewer: OfficerPage,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    statut: Annotated[OverallStatus | None, Query()] = None,
    apres: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    assert viewer.buyer is not None
    filters = ContractFilters(
        search=q.strip() or None, statuses=frozenset({statut}) if statut else frozenset()
    )
    policy = request.app.state.compliance.policy
    rows = await list_page(
        session, viewer.buyer.id, filters, after=apres, limit=PAGE_SIZE, policy=policy
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        request,
        "officers/contrats.html",
        {
            "contracts": rows,
            "q": q.strip(),
            "statut": statut.value if statut else "",
            "statuses": list(OverallStatus),
            "next_after": rows[-1].id if more else None,
            "first_page": apres is None,
        },
    )


@router.get("/contrats/{contract_id}")
async def contract_page(
    request: Request, contract_id: uuid.UUID, viewer: OfficerPage, session: SessionDep
) -> Response:
    contract = await _contract(session, viewer, contract_id)
    policy = request.app.state.compliance.policy
    compliance = await contract_compliance(session, contract, policy=policy)
    amendments = await list_amendments(session, contract.id, after=None, limit=50)
    return render(
        request,
        "officers/contrat.html",
        {"contract": contract, "compliance": compliance, "amendments": amendments},
    )


@router.get("/contrats/{contract_id}/dossier")
async def contract_dossier(
    request: Request, contract_id: uuid.UUID, viewer: OfficerPage, session: SessionDep
) -> Response:
    """The same journaled dossier as `GET /v1/contracts/{id}/dossier`, for the signed-in officer."""
    contract = await _contract(session, viewer, contract_id)
    settings = request.app.state.settings
    dossier = await build_dossier(
        session,
        request.app.state.archive,
        viewer.reader,
        contract.id,
        tolerance_days=settings.compliance.tolerance_days,
        request_id=getattr(request.state, "request_id", None),
    )
    return Response(
        dossier.content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{dossier.filename}"',
            "Cache-Control": "private, no-store",
        },
    )
